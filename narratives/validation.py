"""Checks of configuration values, each raising an InputError that names the field and the value.

Settings dataclasses (passages, model, drift, detector) call these in ``__post_init__``, so each
part validates itself once, wherever it is built: from a config file, the CLI or Python. The
messages follow scikit-learn's: what the value must be, then what it was ("min_topic_size must
be an integer >= 2, got '5' (str)").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from narratives.errors import InputError


def _got(value: Any) -> str:
    return f"got {value!r} ({type(value).__name__})"


def check_int(
    value: Any, name: str, *, low: int | None = None, high: int | None = None, optional=False
) -> int | None:
    """``value`` as an int within [low, high]; ``None`` passes when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            f"{name} must be an integer{_bounds(low, high)}, {_got(value)}", field=name
        )
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(
            f"{name} must be an integer{_bounds(low, high)}, {_got(value)}", field=name
        )
    return value


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    optional: bool = False,
) -> float | None:
    """``value`` as a float within its bounds (open bounds exclude the end); ints are accepted."""
    if value is None and optional:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    if ok:
        ok = not (
            (low is not None and (value < low or (open_low and value == low)))
            or (high is not None and (value > high or (open_high and value == high)))
        )
    if not ok:
        bounds = _float_bounds(low, high, open_low, open_high)
        raise InputError(f"{name} must be a number{bounds}, {_got(value)}", field=name)
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool (true or false, not 0 or "yes")."""
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, {_got(value)}", field=name)
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value``, one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, {_got(value)}", field=name)
    return value


def check_str(value: Any, name: str, *, optional: bool = False) -> str | None:
    """``value`` as a non-empty string; ``None`` passes when ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty string, {_got(value)}", field=name)
    return value


def check_str_list(value: Any, name: str, *, min_items: int = 1) -> tuple[str, ...]:
    """``value`` as a tuple of non-empty strings, at least ``min_items`` of them."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a list of strings, {_got(value)}", field=name)
    items = tuple(value)
    if len(items) < min_items or not all(isinstance(v, str) and v.strip() for v in items):
        raise InputError(
            f"{name} must be a list of at least {min_items} non-empty strings, {_got(value)}",
            field=name,
        )
    return items


def check_int_pair(value: Any, name: str, *, low: int = 1) -> tuple[int, int]:
    """``value`` as ``(a, b)`` with ``low <= a <= b`` (an n-gram range, say)."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise InputError(f"{name} must be [min, max], {_got(value)}", field=name) from None
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b))
    if not ints or not low <= a <= b:
        raise InputError(
            f"{name} must be [min, max] with {low} <= min <= max, {_got(value)}", field=name
        )
    return int(a), int(b)


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _float_bounds(low, high, open_low: bool, open_high: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    if low is not None:
        return f" {'>' if open_low else '>='} {low}"
    if high is not None:
        return f" {'<' if open_high else '<='} {high}"
    return ""
