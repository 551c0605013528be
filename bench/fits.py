"""Least-squares fits with their spread, for verdicts that hold from run to run (pure: numbers in, numbers out).

A slope taken from two points moves with the noise of both; a slope fitted
over several counts, each measured several times, comes with a standard error
that says how far noise alone moves it. goals.py judges the scale goals with
these: a goal is crossed only by more than the noise the same run measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Point = Tuple[float, float]
SIGMAS = 2.0  # how many standard errors a difference must exceed to count as more than noise


@dataclass(frozen=True)
class Fit:
    """y = intercept + slope * x over N points; SLOPE_SE is None when the points give no spread."""

    slope: float
    intercept: float
    slope_se: Optional[float]
    n: int


def _sxx(xs: Sequence[float]) -> float:
    mean = sum(xs) / len(xs)
    return sum((x - mean) ** 2 for x in xs)


def line(points: Sequence[Point], sigma: Optional[float] = None) -> Fit:
    """The least-squares line through POINTS (at least two distinct x).

    The slope's standard error is SIGMA / sqrt(Sxx) with SIGMA the noise of one
    point; without SIGMA, the residuals' standard deviation (n - 2 degrees of
    freedom; None with two points)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    sxx = _sxx(xs)
    if sxx == 0:
        raise ValueError("a line needs at least two distinct x")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    if sigma is None and len(points) > 2:
        sigma = math.sqrt(sum((y - intercept - slope * x) ** 2 for x, y in points) / (len(points) - 2))
    return Fit(slope, intercept, None if sigma is None else sigma / math.sqrt(sxx), len(points))


def by_x(points: Iterable[Point]) -> Dict[float, List[float]]:
    """The y values of POINTS grouped by x, in ascending x."""
    groups: Dict[float, List[float]] = {}
    for x, y in sorted(points):
        groups.setdefault(x, []).append(y)
    return groups


def repeat_sd(points: Iterable[Point]) -> Tuple[Optional[float], int]:
    """The noise of one measurement from the repeats at each x (pooled standard deviation), and its
    degrees of freedom; (None, 0) when no x was measured twice. It does not depend on the shape of the
    curve, so a curve that is not a line does not pass for noise."""
    squares, dof = 0.0, 0
    for ys in by_x(points).values():
        if len(ys) > 1:
            mean = sum(ys) / len(ys)
            squares += sum((y - mean) ** 2 for y in ys)
            dof += len(ys) - 1
    return (math.sqrt(squares / dof), dof) if dof else (None, 0)


@dataclass(frozen=True)
class Linearity:
    """The per-unit cost fitted over the lower and the upper half of the counts, and the verdict."""

    lower_counts: Tuple[float, ...]
    upper_counts: Tuple[float, ...]
    lower: Fit
    upper: Fit
    overall: Fit
    sigma: float  # noise of one run, from the repeats
    dof: int
    excess: float  # upper slope - RATIO x (lower slope, at least half the overall one and the floor)
    error: float  # the standard error of that difference
    linear: bool  # excess <= SIGMAS x error


def linearity(points: Sequence[Point], ratio: float, floor: float) -> Optional[Linearity]:
    """Whether y grows linearly with x: the slope fitted over the upper half of the counts is at most RATIO x
    that over the lower half, beyond SIGMAS standard errors of the difference. None with fewer than 4 counts
    or no count measured twice.

    The lower slope counts as at least half the slope over all counts (and at least FLOOR): noise that pulls
    it towards zero or below cannot make a steady cost look like growth, while a cost that grows with the
    square of x steepens the upper slope far more than it lifts the overall one. With four counts the halves
    are the two lowest and the two highest; an odd count belongs to both."""
    groups = by_x(points)
    counts = list(groups)
    sigma, dof = repeat_sd(points)
    if len(counts) < 4 or sigma is None:
        return None
    lower_counts, upper_counts = counts[:(len(counts) + 1) // 2], counts[len(counts) // 2:]
    lower = line([p for p in points if p[0] in lower_counts], sigma)
    upper = line([p for p in points if p[0] in upper_counts], sigma)
    overall = line(points, sigma)
    excess = upper.slope - ratio * max(lower.slope, overall.slope / 2, floor)
    error = math.hypot(upper.slope_se, ratio * lower.slope_se)
    return Linearity(tuple(lower_counts), tuple(upper_counts), lower, upper, overall, sigma, dof,
                     excess, error, excess <= SIGMAS * error)
