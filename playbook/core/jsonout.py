"""JSON that every parser accepts: RFC 8259 has no NaN or Infinity, so govkit never writes them.

Every JSON document govkit prints or publishes (run reports, the monitor snapshot, reviews, whois,
policy decisions) goes through `dumps` (or `encode`, for a value already made finite): a figure
that is not finite (an undefined ratio, an overflowed statistic) becomes `null`, which is how the
README documents a figure that is not available, and `allow_nan=False` makes any other such value
an error instead of invalid output.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any, digits: int | None = None) -> Any:
    """`value` with every float that is NaN or infinite replaced by None, at any depth; with
    `digits`, every other float rounded to that many significant digits."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value if digits is None else float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: finite(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item, digits) for item in value]
    return value


def dumps(
    value: Any, *, indent: int | None = None, compact: bool = False, digits: int | None = None
) -> str:
    """Strict JSON text of `value` (`compact`: no spaces, for large published files; `digits`:
    floats rounded to that many significant digits)."""
    return encode(finite(value, digits), indent=indent, compact=compact)


def encode(value: Any, *, indent: int | None = None, compact: bool = False) -> str:
    """`dumps` without the walk, for a value whose floats are already finite (and rounded): a
    float that is not finite is a ValueError here, never invalid output."""
    separators = (",", ":") if compact else None
    return json.dumps(value, indent=indent, separators=separators, allow_nan=False)


def loads_strict(text: str) -> Any:
    """JSON as a person or an agent sent it, read strictly: NaN and Infinity (not JSON, and a
    NaN would pass every comparison) and a key given twice (which one would count?) are
    ValueErrors, as is any syntax error (`json.JSONDecodeError`)."""
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for key, value in pairs:
        if key in facts:
            raise ValueError(f"the key {key!r} is given twice")
        facts[key] = value
    return facts
