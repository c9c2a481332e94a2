"""When a faster model counts as "equal" to the default: the rule, as computations (issue 20).

A faster variant of the packaged model (an int8 export) may replace the float default only when
its agreement with human labels is shown equal on every evaluation set. "Equal" here is two
tests on each set, both required, decided before comparing the variants:

1. **Not detectably different**: the 95% interval of a paired bootstrap of the AMI difference
   (variant minus default) over the labelled lines contains 0. Paired: each resample draws the
   same lines for both, so what the lines' own difficulty contributes cancels.
2. **Within the default's own noise**: the observed difference is no larger than the noise
   floor of the default pipeline on that set, the standard deviation of its AMI across refits
   on 80% resamples of the passages (what ``cluster.stability_resamples`` does).

Either alone is too weak: (1) is passed by any small set with a wide interval (absence of
evidence), (2) ignores how precisely a set measures. Together: a difference no larger than the
default's own wobble, and not one a bootstrap can tell from zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 500
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedDelta:
    """AMI of the variant minus the default's on the same lines, and its bootstrap interval."""

    delta: float
    low: float
    high: float
    resamples: int

    @property
    def contains_zero(self) -> bool:
        return self.low <= 0.0 <= self.high


@dataclass(frozen=True)
class Verdict:
    """Whether a variant is equal to the default on one set, and why."""

    paired: PairedDelta
    noise_floor: float

    @property
    def within_noise(self) -> bool:
        return abs(self.paired.delta) <= self.noise_floor

    @property
    def equal(self) -> bool:
        return self.paired.contains_zero and self.within_noise


def ami(truth: Sequence[str] | np.ndarray, found: Sequence[str] | np.ndarray) -> float:
    """Adjusted mutual information of two labelings of the same lines (scikit-learn's)."""
    from sklearn.metrics import adjusted_mutual_info_score

    return float(adjusted_mutual_info_score(list(truth), list(found)))


def paired_bootstrap(
    truth: Sequence[str],
    default: Sequence[str],
    variant: Sequence[str],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> PairedDelta:
    """AMI(variant) - AMI(default) over the labelled lines, with a percentile interval.

    ``truth`` is the gold label of each labelled line, ``default`` and ``variant`` the code
    each run gave that line (an uncoded line as its own marker, as ``evaluate.score`` does).
    """
    if not len(truth) == len(default) == len(variant):
        raise ValueError("truth, default and variant must have one entry per labelled line")
    if len(truth) < 2:
        raise ValueError("a bootstrap needs at least two labelled lines")
    t = np.asarray(truth, dtype=object)
    a = np.asarray(default, dtype=object)
    b = np.asarray(variant, dtype=object)
    delta = ami(t, b) - ami(t, a)
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for i in range(resamples):
        idx = rng.integers(0, len(t), len(t))
        draws[i] = ami(t[idx], b[idx]) - ami(t[idx], a[idx])
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return PairedDelta(round(delta, 4), round(float(low), 4), round(float(high), 4), resamples)


def noise_floor(amis: Sequence[float]) -> float:
    """The default pipeline's own noise on a set: the sample standard deviation of its AMI
    across refits on resamples (at least two)."""
    if len(amis) < 2:
        raise ValueError("a noise floor needs at least two refits")
    return round(float(np.std(np.asarray(amis, dtype=float), ddof=1)), 4)


def verdict(paired: PairedDelta, floor: float) -> Verdict:
    return Verdict(paired, floor)


def equal_on_every_set(verdicts: Sequence[Verdict]) -> bool:
    """The rule for making a variant the default: equal on every set, and at least one set."""
    return bool(verdicts) and all(v.equal for v in verdicts)
