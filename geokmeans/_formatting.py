"""How distances and sizes are written for people: one form for the CLI, maps and tables.

>>> format_distance(950.4), format_distance(12_345.0), format_distance(float("nan"))
('950 m', '12.35 km', '-')
>>> format_size(1447530.0), format_size(2.5), format_size(1234.56)
('1,447,530', '2.5', '1,235')
>>> format_limits(38, float("nan"))
'38..'
"""

import math

__all__ = ["format_distance", "format_limits", "format_size"]


def format_distance(metres):
    """``metres`` as ``"950 m"`` below a kilometre, else ``"12.35 km"``; ``"-"`` if NaN."""
    metres = float(metres)
    if math.isnan(metres):
        return "-"
    return f"{metres / 1000:.2f} km" if abs(metres) >= 1000 else f"{metres:.0f} m"


def format_size(value):
    """A count or total weight with thousands separators: whole numbers and values of
    1,000 or more to the unit, smaller ones to 4 significant digits (in e-notation only
    below 0.0001); ``"-"`` if NaN."""
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == round(value) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.4g}" if abs(value) >= 1e-4 else f"{value:.1e}"


def format_limits(low, high):
    """Size limits as ``"38..42"``; a NaN maximum (none) as ``"38.."``."""
    high = float(high)
    return f"{format_size(low)}..{'' if math.isnan(high) else format_size(high)}"
