"""Forward and backward rules for every node of an expression, written once against an Algebra."""
from __future__ import annotations

import sympy as sp

from .algebra import Algebra, ShapeError, T
from .expr import BinOp, Call, Name, Neg, Num, Transpose
from .ops import ELEMENTWISE, LOSSES


def forward(node, A: Algebra, env: dict) -> T:
    """The value (or formula) of an expression, given the value (or symbol) of every name."""
    if isinstance(node, Num):
        return A.const(sp.Rational(node.value.numerator, node.value.denominator))
    if isinstance(node, Name):
        return env[node.id]
    if isinstance(node, Neg):
        return A.neg(forward(node.operand, A, env))
    if isinstance(node, Transpose):
        return A.transpose(forward(node.operand, A, env))
    if isinstance(node, BinOp):
        a, b = forward(node.left, A, env), forward(node.right, A, env)
        return {"+": A.add, "-": A.sub, "*": A.mul, "/": A.div, "@": A.matmul, "**": A.pow}[node.op](a, b)
    if isinstance(node, Call):
        f, args = node.func, [forward(a, A, env) for a in node.args]
        _check_arity(f, args)
        if f in ELEMENTWISE:
            return A.apply(f, args[0])
        if f == "sum":
            return A.total(args[0])
        if f == "mean":
            return A.mul(A.const(sp.Rational(1, _size(args[0]))), A.total(args[0]))
        if f == "softmax":
            if len(args[0].shape) != 1:
                raise ShapeError("softmax needs a vector")
            return A.softmax(args[0])
        y, t = _loss_operands(f, A, args)
        return A.loss(f, y, t)
    raise TypeError(f"unknown syntax node {node!r}")


def backward(node, A: Algebra, env: dict, delta: T, acc: dict) -> None:
    """Add ∂L/∂name for every name in the expression to acc, given delta = ∂L/∂(expression)."""
    if isinstance(node, Num):
        return
    if isinstance(node, Name):
        acc[node.id] = A.add(acc[node.id], delta) if node.id in acc else delta
        return
    if isinstance(node, Neg):
        return backward(node.operand, A, env, A.neg(delta), acc)
    if isinstance(node, Transpose):
        return backward(node.operand, A, env, A.transpose(delta), acc)
    if isinstance(node, BinOp):
        return _backward_binop(node, A, env, delta, acc)
    f = node.func
    args = [forward(a, A, env) for a in node.args]
    if f in ELEMENTWISE:
        return backward(node.args[0], A, env, A.mul(delta, A.apply_prime(f, args[0])), acc)
    if f == "sum":
        return backward(node.args[0], A, env, A.lift(delta, args[0].shape), acc)
    if f == "mean":
        scaled = A.mul(A.const(sp.Rational(1, _size(args[0]))), delta)
        return backward(node.args[0], A, env, A.lift(scaled, args[0].shape), acc)
    if f == "softmax":
        p = A.softmax(args[0])
        inner = A.sub(delta, A.lift(A.matmul(p, delta), p.shape))
        return backward(node.args[0], A, env, A.mul(p, inner), acc)
    if f == "cross_entropy" and isinstance(node.args[0], Call) and node.args[0].func == "softmax":
        return _backward_softmax_cross_entropy(node, A, env, delta, acc)
    y, t = _loss_operands(f, A, args)
    grad = LOSSES[f].gradient(A, y, t, _size(y))
    backward(node.args[0], A, env, _unbroadcast(A, A.mul(delta, grad), args[0].shape), acc)
    backward(node.args[1], A, env, _unbroadcast(A, A.mul(delta, _target_gradient(f, A, y, t, grad)),
                                                 args[1].shape), acc)


def _backward_binop(node, A, env, delta, acc):
    a, b = forward(node.left, A, env), forward(node.right, A, env)
    op = node.op
    if op in "+-":
        backward(node.left, A, env, _unbroadcast(A, delta, a.shape), acc)
        right = delta if op == "+" else A.neg(delta)
        backward(node.right, A, env, _unbroadcast(A, right, b.shape), acc)
    elif op == "*":
        backward(node.left, A, env, _unbroadcast(A, A.mul(delta, b), a.shape), acc)
        backward(node.right, A, env, _unbroadcast(A, A.mul(a, delta), b.shape), acc)
    elif op == "/":
        backward(node.left, A, env, _unbroadcast(A, A.div(delta, b), a.shape), acc)
        d_b = A.neg(A.div(A.mul(delta, a), A.mul(b, b)))
        backward(node.right, A, env, _unbroadcast(A, d_b, b.shape), acc)
    elif op == "**":
        if isinstance(b.x, sp.Number):  # a constant exponent: the power rule with k − 1 worked out
            k_minus_1 = b.x - 1
            power = a if k_minus_1 == 1 else A.pow(a, A.const(k_minus_1))
            local = A.mul(b, power) if k_minus_1 != 0 else b
        else:
            local = A.mul(b, A.pow(a, A.sub(b, A.const(1))))
        backward(node.left, A, env, A.mul(delta, local), acc)
        if _has_names(node.right):
            d_k = A.mul(delta, A.mul(A.pow(a, b), A.apply("log", a)))
            backward(node.right, A, env, _unbroadcast(A, d_k, ()), acc)
    elif op == "@":
        sa, sb = a.shape, b.shape
        if len(sa) == 1 and len(sb) == 1:
            backward(node.left, A, env, A.mul(delta, b), acc)
            backward(node.right, A, env, A.mul(delta, a), acc)
        elif len(sa) == 1:  # x @ W
            backward(node.left, A, env, A.matmul(b, delta), acc)
            backward(node.right, A, env, A.outer(a, delta), acc)
        else:
            d_a = A.outer(delta, b) if len(sb) == 1 else A.matmul(delta, A.transpose(b))
            backward(node.left, A, env, d_a, acc)
            backward(node.right, A, env, A.matmul(A.transpose(a), delta), acc)


def _backward_softmax_cross_entropy(node, A, env, delta, acc):
    """cross_entropy(softmax(s), t): ∂L/∂s = softmax(s)·Σt − t, which is p − t for targets summing to 1."""
    s_node, t_node = node.args[0].args[0], node.args[1]
    s, t = forward(s_node, A, env), forward(t_node, A, env)
    if len(s.shape) != 1:
        raise ShapeError("softmax needs a vector")
    p = A.softmax(s)
    t = _loss_operands("cross_entropy", A, [p, t])[1]
    grad = A.sub(A.mul(A.total(t), p), t)
    backward(s_node, A, env, A.mul(delta, grad), acc)
    backward(t_node, A, env, _unbroadcast(A, A.mul(delta, A.neg(A.apply("log", p))), t.shape), acc)


def _target_gradient(f, A, y, t, grad):
    if f == "cross_entropy":
        return A.neg(A.apply("log", y))
    if f == "bce":
        return A.neg(A.sub(A.apply("log", y), A.apply("log", A.sub(A.const(1), y))))
    return A.neg(grad)


def _unbroadcast(A, delta: T, shape: tuple) -> T:
    if delta.shape == shape:
        return delta
    if shape == ():
        return A.total(delta)
    return A.lift(delta, shape)


def _loss_operands(f, A, args):
    y, t = args
    if y.shape != t.shape:
        if t.shape == ():
            t = A.lift(t, y.shape)
        elif y.shape == () and t.shape == (1,):
            y = A.lift(y, t.shape)
        else:
            from .algebra import describe
            raise ShapeError(f"{f} needs output and target of the same shape, "
                             f"not {describe(y.shape)} and {describe(t.shape)}")
    return y, t


def _check_arity(f, args):
    want = 2 if f in LOSSES else 1
    if len(args) != want:
        raise ShapeError(f"{f} takes {want} argument{'s' if want > 1 else ''}, not {len(args)}")


def _size(a: T) -> int:
    n = 1
    for d in a.shape:
        n *= d
    return n


def _has_names(node) -> bool:
    from .expr import names_in
    return bool(names_in(node))
