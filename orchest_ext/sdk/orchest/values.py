"""Single values of a preview (a table's cells, an array's min and max) as short JSON values."""

from __future__ import annotations

import datetime
import math
from typing import Any

MAX_CELL_TEXT = 100
_MISSING_TYPES = ("NAType", "NaTType")
"""pandas' missing values: null in a preview."""


def json_safe(value: Any) -> Any:
    """``value`` as a JSON value: numbers (finite; others null), booleans, null, or text cut to
    ``MAX_CELL_TEXT`` characters."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if type(value).__name__ in _MISSING_TYPES:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value[:MAX_CELL_TEXT]))
    else:
        text = _short_str(value)
    return text[:MAX_CELL_TEXT]


def _short_str(value: Any) -> str:
    """``str(value)``, or its type's name when ``str`` fails."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"
