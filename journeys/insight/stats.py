"""The statistics of the dashboard: how sure a difference between two groups is. Pure functions, no database."""

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

# The 97.5th percentile of the standard normal distribution: a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of the proportion `successes / total` (`total` > 0).

    Unlike the textbook p ± z·√(p(1−p)/n) it stays within 0..1 and does not collapse to a point when
    `successes` is 0 or `total`, which small groups (a 10% holdout) make common:

        centre = (x + z²/2) / (n + z²)
        half   = z / (n + z²) · √(x(n − x)/n + z²/4)
    """
    if total <= 0:
        raise ValueError("A proportion needs at least one case.")
    if not 0 <= successes <= total:
        raise ValueError("Successes must be between 0 and the total.")
    z2 = z * z
    centre = (successes + z2 / 2) / (total + z2)
    half = z / (total + z2) * math.sqrt(successes * (total - successes) / total + z2 / 4)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Lift:
    """Treated rate − holdout rate with its 95% interval, as fractions (0.042 = 4.2 points)."""

    treated_rate: float
    holdout_rate: float
    difference: float
    low: float
    high: float

    @property
    def distinguishable(self) -> bool:
        """Whether the interval leaves out zero: the data tell the rule's effect apart from none."""
        return self.low > 0 or self.high < 0

    def describe(self) -> str:
        """ "+4.2 points (95% CI +1.0 to +7.4)", or that it cannot be told apart from no effect."""
        interval = _("95%% CI %(low)s to %(high)s") % {"low": points(self.low), "high": points(self.high)}
        if self.distinguishable:
            return _("%(lift)s points (%(interval)s)") % {"lift": points(self.difference), "interval": interval}
        return _("not distinguishable from no effect (%(lift)s points, %(interval)s)") % {
            "lift": points(self.difference),
            "interval": interval,
        }


def points(fraction: float) -> str:
    """A difference of proportions in percentage points with its sign: 0.0421 -> "+4.2", -0.01 -> "−1.0"."""
    value = round(fraction * 100, 1)
    if value == 0:
        return "0.0"
    return f"+{value:.1f}" if value > 0 else f"−{abs(value):.1f}"


def lift_interval(
    treated_successes: int, treated_total: int, holdout_successes: int, holdout_total: int, *, z: float = Z_95
) -> Lift | None:
    """Treated rate − holdout rate with Newcombe's hybrid score interval (his method 10); None when a group is empty.

    Newcombe (1998), "Interval estimation for the difference between independent proportions",
    Statistics in Medicine 17:873-890. With p1 = x1/n1 (treated), p2 = x2/n2 (holdout), their Wilson
    intervals (l1, u1) and (l2, u2), and d = p1 − p2:

        low  = d − √((p1 − l1)² + (u2 − p2)²)
        high = d + √((u1 − p1)² + (p2 − l2)²)

    Chosen over Wald's d ± z·√(p1(1−p1)/n1 + p2(1−p2)/n2) because a holdout group is small and its
    rates are often near 0 (few repeat purchases), where Wald's interval is too narrow or degenerate.
    """
    if treated_total <= 0 or holdout_total <= 0:
        return None
    p1, p2 = treated_successes / treated_total, holdout_successes / holdout_total
    l1, u1 = wilson_interval(treated_successes, treated_total, z=z)
    l2, u2 = wilson_interval(holdout_successes, holdout_total, z=z)
    d = p1 - p2
    return Lift(
        treated_rate=p1,
        holdout_rate=p2,
        difference=d,
        low=d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        high=d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )
