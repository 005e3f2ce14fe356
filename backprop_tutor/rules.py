"""Forward and backward rules for every node of an expression, written once against an Algebra."""
from __future__ import annotations

import sympy as sp

from . import layers, tensorops
from .algebra import Algebra, ShapeError, T, describe
from .expr import BinOp, Call, Index, Name, Neg, Num, Transpose, names_in
from .indexing import join, unjoin, window
from .layers import LAYERS
from .ops import ELEMENTWISE, JOINS, LOSSES, WHOLE


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
    if isinstance(node, Index):
        a = forward(node.operand, A, env)
        return A.take(a, window(node.at, a.shape, node.operand.id))
    if isinstance(node, BinOp):
        a, b = forward(node.left, A, env), forward(node.right, A, env)
        return {"+": A.add, "-": A.sub, "*": A.mul, "/": A.div, "@": A.matmul, "**": A.pow}[node.op](a, b)
    if isinstance(node, Call):
        fused = fused_loss(node)
        if fused:
            inner, t = _fused_operands(node, A, env)
            return A.sigmoid_bce(inner, t) if fused == "bce" else A.softmax_cross_entropy(inner, t)
        f = node.func
        if f in JOINS:
            return join(A, f, [forward(a, A, env) for a in node.args])
        if f in LAYERS and layers.spelled_out(node) is not None:
            return forward(layers.spelled_out(node), A, env)
        if f in LAYERS:
            return layers.forward(node, A, [forward(a, A, env) for a in node.args[:LAYERS[f].operands]])
        _check_arity(f, node.args)
        args = [forward(a, A, env) for a in node.args]
        if f in ELEMENTWISE:
            return A.apply(f, args[0], *_constants(node, args, 1))
        if f == "sum":
            return A.total(args[0])
        if f == "mean":
            return A.mul(A.const(sp.Rational(1, _size(args[0]))), A.total(args[0]))
        if f in WHOLE or f == "softmax":
            return tensorops.forward(f, A, args)
        y, t = _loss_operands(f, A, args[:2])
        return A.loss(f, y, t, *_constants(node, args, 2))
    raise TypeError(f"unknown syntax node {node!r}")


def backward(node, A: Algebra, env: dict, delta: T, acc: dict, need=None) -> None:
    """Add ∂L/∂name for every name in the expression to acc, given delta = ∂L/∂(expression).

    With `need`, only names in it are reached: a part of the expression that uses none of them
    is not differentiated at all (an input's local derivative may not even exist there).
    """
    if need is not None and not _reaches(node, need):
        return
    if isinstance(node, Num):
        return
    if isinstance(node, Name):
        acc[node.id] = A.add(acc[node.id], delta) if node.id in acc else delta
        return
    if isinstance(node, Neg):
        return backward(node.operand, A, env, A.neg(delta), acc, need)
    if isinstance(node, Transpose):
        return backward(node.operand, A, env, A.transpose(delta), acc, need)
    if isinstance(node, Index):  # δ scattered back into the slots read, 0 elsewhere
        a = forward(node.operand, A, env)
        return backward(node.operand, A, env, A.place(delta, window(node.at, a.shape, node.operand.id), a.shape),
                        acc, need)

    def into(child, delta_of_child):
        """Pass a delta down to a child, computing it only when the child reaches a needed name
        (a constant such as the 2 of w ** 2 has no derivative to compute)."""
        if names_in(child) and (need is None or _reaches(child, need)):
            backward(child, A, env, delta_of_child(), acc, need)

    if isinstance(node, BinOp):
        return _backward_binop(node, A, env, delta, into)
    f = node.func
    fused = fused_loss(node)
    if fused:
        return _backward_fused(fused, node, A, env, delta, into)
    if f in LAYERS and layers.spelled_out(node) is not None:
        return backward(layers.spelled_out(node), A, env, delta, acc, need)
    args = [forward(a, A, env) for a in node.args]
    if f in JOINS:  # each part's δ is the slots of δ it fills
        for part, delta_of_part in zip(node.args, unjoin(A, f, args, delta)):
            into(part, delta_of_part)
        return
    if f in LAYERS:
        operands = args[:LAYERS[f].operands]
        for i, arg in enumerate(node.args[:len(operands)]):
            into(arg, lambda i=i: layers.gradient(node, A, operands, delta, i))
        return
    if f in ELEMENTWISE:
        return into(node.args[0], lambda: A.mul(delta, A.apply_prime(f, args[0], *_constants(node, args, 1))))
    if f == "sum":
        return into(node.args[0], lambda: A.lift(delta, args[0].shape))
    if f == "mean":
        scaled = A.mul(A.const(sp.Rational(1, _size(args[0]))), delta)
        return into(node.args[0], lambda: A.lift(scaled, args[0].shape))
    if f in WHOLE or f == "softmax":
        slopes = tensorops.backward(f, A, args, delta)
        for child, arg, slope in zip(node.args, args, slopes):
            into(child, lambda: _unbroadcast(A, slope(), arg.shape))
        return
    y, t = _loss_operands(f, A, args[:2])
    params = _constants(node, args, 2)
    into(node.args[0], lambda: _unbroadcast(A, A.mul(delta, LOSSES[f].gradient(A, y, t, _size(y), *params)),
                                            args[0].shape))
    into(node.args[1], lambda: _unbroadcast(A, A.mul(delta, _target_gradient(f, A, y, t, params)), args[1].shape))


def _backward_binop(node, A, env, delta, into):
    op = node.op
    if op in "+-":  # only the operands' shapes are needed: each worked out only for a child that is reached
        into(node.left, lambda: _unbroadcast(A, delta, forward(node.left, A, env).shape))
        into(node.right, lambda: _unbroadcast(A, delta if op == "+" else A.neg(delta), forward(node.right, A, env).shape))
        return
    a, b = forward(node.left, A, env), forward(node.right, A, env)
    if op == "*":
        into(node.left, lambda: _unbroadcast(A, A.mul(delta, b), a.shape))
        into(node.right, lambda: _unbroadcast(A, A.mul(a, delta), b.shape))
    elif op == "/":
        into(node.left, lambda: _unbroadcast(A, A.div(delta, b), a.shape))
        into(node.right, lambda: _unbroadcast(A, A.neg(A.div(A.mul(delta, a), A.mul(b, b))), b.shape))
    elif op == "**":
        into(node.left, lambda: _unbroadcast(A, A.mul(delta, _power_slope(A, a, b)), a.shape))
        into(node.right, lambda: _unbroadcast(A, A.mul(delta, A.mul(A.pow(a, b), A.apply("log", a))), b.shape))
    elif op == "@":
        sa, sb = a.shape, b.shape
        if len(sa) == 1 and len(sb) == 1:
            into(node.left, lambda: A.mul(delta, b))
            into(node.right, lambda: A.mul(delta, a))
        elif len(sa) == 1:  # x @ W
            into(node.left, lambda: A.matmul(b, delta))
            into(node.right, lambda: A.outer(a, delta))
        else:
            into(node.left, lambda: A.outer(delta, b) if len(sb) == 1 else A.matmul(delta, A.transpose(b)))
            into(node.right, lambda: A.matmul(A.transpose(a), delta))


def _power_slope(A, a, k):
    """∂(a ** k)/∂a; a constant exponent with k − 1 worked out, as a sheet writes 2(y − t)."""
    if k.shape != () or not isinstance(k.x, sp.Number):
        return A.power_slope(a, k)
    if k.x == 0:  # a ** 0 is 1 everywhere, even at a = 0
        return A.lift(A.const(0), a.shape)
    k_minus_1 = k.x - 1
    return A.mul(k, a if k_minus_1 == 1 else A.pow(a, A.const(k_minus_1))) if k_minus_1 != 0 else k


def fused_loss(node) -> str | None:
    """'bce' for bce(sigmoid(z), t) and 'cross_entropy' for cross_entropy(softmax(s), t): the
    loss and its function differentiated as one, which is both simpler and free of cancellation."""
    if not (isinstance(node, Call) and len(node.args) == 2):
        return None
    inner = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(node.func)
    first = node.args[0]
    if inner and isinstance(first, Call) and first.func == inner and len(first.args) == 1:
        return node.func
    return None


def _fused_operands(node, A, env):
    """z (or s) and the target of a fused loss, the target spread over z's shape if a scalar."""
    inner = forward(node.args[0].args[0], A, env)
    t = forward(node.args[1], A, env)
    if node.func == "cross_entropy" and len(inner.shape) != 1:
        raise ShapeError("softmax needs a vector")
    return _loss_operands(node.func, A, [inner, t])


def _backward_fused(f, node, A, env, delta, into):
    """bce(σ(z), t): ∂L/∂z = σ(z) − t, ∂L/∂t = −z; cross_entropy(softmax(s), t):
    ∂L/∂s = softmax(s)·Σt − t (p − t for targets summing to 1), ∂L/∂t = −log softmax(s)."""
    z_node, t_node = node.args[0].args[0], node.args[1]
    z, t = _fused_operands(node, A, env)
    z_shape, t_shape = forward(z_node, A, env).shape, forward(t_node, A, env).shape
    if f == "bce":
        into(z_node, lambda: _unbroadcast(A, A.mul(delta, A.sigmoid_bce_slope(z, t)), z_shape))
        into(t_node, lambda: _unbroadcast(A, A.mul(delta, A.neg(z)), t_shape))
    else:
        into(z_node, lambda: A.mul(delta, A.softmax_cross_entropy_slope(z, t)))
        into(t_node, lambda: _unbroadcast(A, A.mul(delta, A.neg_log_softmax(z)), t_shape))


def _target_gradient(f, A, y, t, params=()):
    if f == "cross_entropy":
        return A.neg(A.apply("log", y))
    if f == "bce":
        return A.neg(A.sub(A.apply("log", y), A.apply("log", A.sub(A.const(1), y))))
    if LOSSES[f].target_gradient:
        return LOSSES[f].target_gradient(A, y, t, _size(y))
    return A.neg(LOSSES[f].gradient(A, y, t, _size(y), *params))


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
            raise ShapeError(f"{f} needs output and target of the same shape, "
                             f"not {describe(y.shape)} and {describe(t.shape)}")
    return y, t


def _check_arity(f, args):
    if f in WHOLE:
        wants = WHOLE[f].arity
    elif f in LOSSES:
        wants = (2 + len(LOSSES[f].params),)
    else:
        wants = (1 + len(ELEMENTWISE[f].params) if f in ELEMENTWISE else 1,)
    if len(args) not in wants:
        want = " or ".join(map(str, wants))
        raise ShapeError(f"{f} takes {want} argument{'s' if wants[-1] > 1 else ''}, not {len(args)}")


def _constants(node, args: list, first: int) -> list:
    """The constant arguments of a call from position `first` on (the a of leaky_relu(z, a), the delta
    of huber): numbers, never names, each a scalar."""
    f = node.func
    names = ELEMENTWISE[f].params if f in ELEMENTWISE else LOSSES[f].params
    for name, child, value in zip(names, node.args[first:], args[first:]):
        if names_in(child):
            raise ShapeError(f"the {name} of {f} must be a number, not an expression of names")
        if value.shape != ():
            raise ShapeError(f"the {name} of {f} must be a single number, not {describe(value.shape)}")
    return args[first:]


def _size(a: T) -> int:
    n = 1
    for d in a.shape:
        n *= d
    return n


def _reaches(node, need) -> bool:
    """Whether an expression uses any of the names in need."""
    return any(name in need for name in names_in(node))
