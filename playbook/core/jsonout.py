"""JSON that every parser accepts: RFC 8259 has no NaN or Infinity, so govkit never writes them.

Every JSON document govkit prints or publishes (run reports, the monitor snapshot, reviews, whois,
policy decisions) goes through `dumps`: a figure that is not finite (an undefined ratio, an
overflowed statistic) becomes `null`, which is how the README documents a figure that is not
available, and `allow_nan=False` makes any other such value an error instead of invalid output.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every float that is NaN or infinite replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, *, indent: int | None = None, compact: bool = False) -> str:
    """Strict JSON text of `value` (`compact`: no spaces, for large published files)."""
    separators = (",", ":") if compact else None
    return json.dumps(finite(value), indent=indent, separators=separators, allow_nan=False)
