"""Pure arithmetic: values and target checks in exact fractions, no database."""

from fractions import Fraction

from app.services.indicators.spec import Target


def exact(number: float | int) -> Fraction:
    """A reported or configured figure as an exact fraction of its decimal text (0.2 is 1/5)."""
    return Fraction(str(number)) if isinstance(number, float) else Fraction(number)


def share(numerator: int, denominator: int) -> Fraction | None:
    """numerator/denominator; None when there is nobody to divide by (never 0% by default)."""
    return None if denominator == 0 else Fraction(numerator, denominator)


def per_capita(count: int | Fraction, population: float | None, per: int) -> Fraction | None:
    """count per `per` inhabitants; None without a population figure."""
    if population is None or population <= 0:
        return None
    return Fraction(count * per) / exact(population)


def status(value: Fraction | None, target: Target | None) -> str:
    """met / not_met / no_data (spec revision 2: bands are floors).

    A floor is reached at `min` ('more than': strict, above it), and a value above `max` has reached it
    too (vượt chỉ tiêu); `max` is the level aimed for, never a ceiling. A cap (`direction: at_most`) is met
    at or below `max` (strictly below when strict).
    """
    if value is None or target is None:
        return "no_data"
    low, high = target.band
    if target.direction == "at_most":
        if high is None:
            return "met"
        return "met" if (value < exact(high) if target.strict else value <= exact(high)) else "not_met"
    if low is not None and (value <= exact(low) if target.strict else value < exact(low)):
        return "not_met"
    return "met"


def band_position(value: Fraction | None, target: Target | None) -> str | None:
    """Where the value lies against the band: below, within or above (None without a value or a target).

    `below` is short of `min` (at `min` too when strict), `above` is past `max`; for a cap the same words
    keep their plain sense (a value above its `max` is `above`, and not met).
    """
    if value is None or target is None:
        return None
    low, high = target.band
    if low is not None and (value <= exact(low) if target.strict and target.direction == "at_least" else value < exact(low)):
        return "below"
    if high is not None and (value >= exact(high) if target.strict and target.direction == "at_most" else value > exact(high)):
        return "above"
    return "within"


def as_number(value: Fraction | None, *, whole_as_int: bool = True) -> float | int | None:
    """The unrounded value for JSON: a float, or an integer when whole and `whole_as_int` (counts)."""
    if value is None:
        return None
    return int(value) if whole_as_int and value.denominator == 1 else float(value)
