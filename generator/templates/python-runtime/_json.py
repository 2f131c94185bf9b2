"""JSON as the API's answers and webhook events are read: strict (no NaN or Infinity, Python's
extension), and with a number beyond a double (1e400, a 5000-digit integer) found rather than
silently made inf or refused past Python's 4300-digit limit, the same as the TypeScript SDK.
Part of the Python SDK runtime: standard library only."""
from __future__ import annotations

import json
import math
import re
from typing import List, Optional, Tuple, Union

# A number literal that can overflow a double: a three-digit exponent, or 309 digits in a row (as
# the TypeScript SDK's wire.ts). Strings may match: it only decides whether the value is walked.
MAY_OVERFLOW = re.compile(r"[\d.][eE]\+?\d{3}|(?:^|\D)\d{309}")
MAY_OVERFLOW_BYTES = re.compile(MAY_OVERFLOW.pattern.encode())


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> object:
    """An integer as json reads it, except one beyond a double (±1.8e308), made inf as float()
    makes 1e400: int() would raise past Python's 4300-digit limit (and the body read as not JSON),
    or keep an exact value the TypeScript SDK reads as Infinity. beyond_double_at finds either."""
    if len(text) > 308 and math.isinf(float(text)):
        return float(text)
    return int(text)


def _literal_int(text: str) -> object:
    value = _parse_int(text)
    return text if isinstance(value, float) else value


def _literal_float(text: str) -> object:
    value = float(text)
    return text if math.isinf(value) else value


def loads(text: Union[str, bytes], literals: bool = False) -> object:
    """`text` parsed; raises ValueError (or RecursionError) where it is not JSON. A number beyond a
    double is inf (beyond_double_at finds it), or with `literals` its literal text as a string
    ("1e400"): kept as sent where the value is only shown, as in an error envelope's details."""
    may_overflow = MAY_OVERFLOW.search(text) if isinstance(text, str) else MAY_OVERFLOW_BYTES.search(text)
    if not may_overflow:
        return json.loads(text, parse_constant=_refuse_constant)
    if literals:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_literal_int, parse_float=_literal_float)
    return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)


def beyond_double_at(value: object) -> Optional[str]:
    """The path (`data.0.total`, or `(body)`) of the first number beyond a double, in document
    order. Iterative: the parsed value may nest as deep as the parser's own stack."""
    stack: List[Tuple[object, str]] = [(value, "")]
    while stack:
        current, path = stack.pop()
        if isinstance(current, float) and math.isinf(current):
            return path or "(body)"
        children = list(current.items()) if isinstance(current, dict) else list(enumerate(current)) if isinstance(current, list) else []
        for key, child in reversed(children):
            stack.append((child, f"{path}.{key}" if path else str(key)))
    return None
