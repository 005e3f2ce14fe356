"""Command-line values taken as typed, without typer building a pydantic validator for each parameter.

typer 0.29 converts every option and argument through a pydantic TypeAdapter, and importing pydantic
costs more than the arithmetic of a whole exercise sheet. A value that needs no conversion (a string
for a text option, a flag's True or False, plain digits within the option's bounds, nothing given)
is taken here as typer would take it; anything else (" 5", "1e3", a number out of range) goes to
typer's own conversion, so its messages are typer's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param

_DIGITS = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


@dataclass(frozen=True)
class _PlainFirst(RuntimeParam):
    """typer's conversion of one parameter: plain values directly, the rest by typer's own (built once)."""

    descriptor: TypeDescriptor
    full: list  # typer's conversion, once a value needs it

    def _coerce_value(self, value: Any, param, ctx) -> Any:
        taken = plain(value, self.annotation, self.parameter_info)
        if taken:
            return taken[0]
        if not self.full:
            self.full.append(build_runtime_param(self.descriptor))
        return self.full[0]._coerce_value(value, param=param, ctx=ctx)


def plain(value, annotation, info) -> tuple:
    """(what typer would make of `value` for a parameter of this type,) when that needs no conversion;
    () when it does."""
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return (list(value),) if isinstance(value, (list, tuple)) and all(type(v) is str for v in value) else ()
    if annotation is str or annotation is bool:
        return (value,) if type(value) is annotation else ()
    if annotation is int or annotation is float:
        if type(value) is str and (_DIGITS if annotation is int else _DECIMAL).fullmatch(value):
            number = annotation(value)
        elif type(value) is annotation or (annotation is float and type(value) is int):
            number = annotation(value)
        else:
            return ()
        if info.clamp or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return ()
        return (number,)
    return ()


def take_plain_values(params) -> None:
    """Give each typer parameter the plain-first conversion, before typer builds its own."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", False) is None:
            param._runtime_param = _PlainFirst(descriptor.parameter_info, descriptor.annotation, descriptor, [])
