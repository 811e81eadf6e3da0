"""Pure arithmetic: values and target checks in exact fractions, no database."""

from fractions import Fraction

from app.services.indicators.spec import Target


def exact(number: float | int) -> Fraction:
    """A reported or configured figure as an exact fraction of its decimal text (0.2 is 1/5)."""
    return Fraction(str(number)) if isinstance(number, float) else Fraction(number)


def share(numerator: int, denominator: int) -> Fraction | None:
    """numerator/denominator; None when there is nobody to divide by (never 0% by default)."""
    return None if denominator == 0 else Fraction(numerator, denominator)


def per_capita(count: int, population: float | None, per: int) -> Fraction | None:
    """count per `per` inhabitants; None without a population figure."""
    if population is None or population <= 0:
        return None
    return Fraction(count * per) / exact(population)


def status(value: Fraction | None, target: Target | None) -> str:
    """met / not_met / no_data: min <= value <= max, strict where the text says 'more than'."""
    if value is None or target is None:
        return "no_data"
    low, high = target.band
    if low is not None and (value <= exact(low) if target.strict else value < exact(low)):
        return "not_met"
    if high is not None and value > exact(high):
        return "not_met"
    return "met"


def as_number(value: Fraction | None, *, whole_as_int: bool = True) -> float | int | None:
    """The unrounded value for JSON: a float, or an integer when whole and `whole_as_int` (counts)."""
    if value is None:
        return None
    return int(value) if whole_as_int and value.denominator == 1 else float(value)
