"""The equality rule a faster model must pass to become the default (cppthemes/embed/agreement)."""

from __future__ import annotations

import numpy as np
import pytest

from cppthemes.embed import agreement


def _labels(n: int, k: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"g{v}" for v in rng.integers(0, k, n)]


def test_agreement_identical_runs_differ_by_exactly_zero() -> None:
    truth = _labels(300, 6, 1)
    found = [t.replace("g", "c") for t in truth]
    found[::7] = ["c0"] * len(found[::7])
    paired = agreement.paired_bootstrap(truth, found, found, resamples=50)
    assert paired.delta == 0.0 and paired.low == 0.0 and paired.high == 0.0
    assert paired.contains_zero


def test_agreement_a_clearly_worse_variant_is_not_equal() -> None:
    truth = _labels(400, 5, 2)
    good = [t.replace("g", "c") for t in truth]  # the gold labels themselves: AMI 1
    bad = _labels(400, 5, 3)  # unrelated: AMI about 0
    paired = agreement.paired_bootstrap(truth, good, bad, resamples=100)
    assert paired.delta < -0.9
    assert paired.high < 0  # the interval excludes 0
    v = agreement.verdict(paired, agreement.noise_floor([0.5, 0.52, 0.48]))
    assert not v.equal and not v.within_noise


def test_agreement_delta_is_the_ami_difference_and_interval_brackets_it() -> None:
    truth = _labels(500, 4, 4)
    rng = np.random.default_rng(5)
    a = [t if rng.random() < 0.7 else "noise" for t in truth]
    b = [t if rng.random() < 0.6 else "noise" for t in truth]
    paired = agreement.paired_bootstrap(truth, a, b, resamples=200, seed=7)
    expected = agreement.ami(truth, b) - agreement.ami(truth, a)
    assert paired.delta == pytest.approx(expected, abs=1e-4)
    assert paired.low <= paired.delta <= paired.high
    # Seeded: the same call gives the same interval.
    assert agreement.paired_bootstrap(truth, a, b, resamples=200, seed=7) == paired


def test_agreement_needs_both_tests() -> None:
    inside = agreement.PairedDelta(delta=0.01, low=-0.02, high=0.04, resamples=10)
    outside = agreement.PairedDelta(delta=0.03, low=0.01, high=0.05, resamples=10)
    assert agreement.verdict(inside, 0.02).equal
    # Interval contains 0 but the difference is larger than the default's own noise.
    assert not agreement.verdict(inside, 0.005).equal
    # Within the noise floor, but the bootstrap tells it from zero.
    assert not agreement.verdict(outside, 0.05).equal
    assert agreement.equal_on_every_set([agreement.verdict(inside, 0.02)] * 3)
    assert not agreement.equal_on_every_set(
        [agreement.verdict(inside, 0.02), agreement.verdict(inside, 0.005)]
    )
    assert not agreement.equal_on_every_set([])  # no set measured proves nothing


def test_agreement_noise_floor_is_the_sample_standard_deviation() -> None:
    assert agreement.noise_floor([0.30, 0.32, 0.34]) == pytest.approx(0.02, abs=1e-4)
    assert agreement.noise_floor([0.3, 0.3]) == 0.0
    with pytest.raises(ValueError):
        agreement.noise_floor([0.3])


def test_agreement_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError):
        agreement.paired_bootstrap(["a", "b"], ["x"], ["x", "y"])
    with pytest.raises(ValueError):
        agreement.paired_bootstrap(["a"], ["x"], ["y"])
