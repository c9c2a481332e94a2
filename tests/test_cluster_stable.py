"""Stability and folding (cppthemes/cluster/stable.py, ``cluster.fold_unstable``; issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.cluster import stable
from cppthemes.cluster.codes import cluster
from cppthemes.config import ClusterConfig
from cppthemes.records import Folded
from tests.conftest import SAMPLE, use_fake_model

ABSENT = stable.ABSENT


def blobs(sizes: list[int], dim: int = 16, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [np.eye(dim)[i] + noise * rng.standard_normal((n, dim)) for i, n in enumerate(sizes)]
    x = np.vstack(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def hennig(labels: np.ndarray, rows: np.ndarray) -> list[float]:
    """The clusterwise Jaccard bootstrap written out with sets (the reference)."""
    out = []
    for c in range(int(labels.max()) + 1):
        total = 0.0
        for row in rows:
            seen = set(np.flatnonzero(row > ABSENT).tolist())
            mine = {i for i in seen if labels[i] == c}
            best = 0.0
            for o in {int(row[i]) for i in mine if row[i] >= 0}:
                found = {i for i in seen if row[i] == o}
                best = max(best, len(mine & found) / len(mine | found))
            total += best
        out.append(total / len(rows))
    return out


def test_stability_is_hennigs_jaccard_on_the_passages_both_saw() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(-1, 5, size=80)
    rows = rng.integers(-1, 6, size=(4, 80))
    rows[rng.random((4, 80)) < 0.2] = ABSENT
    assert stable.stability(labels, rows) == pytest.approx(hennig(labels, rows))
    # Against itself a partition is perfectly stable; against nothing, not measured.
    assert stable.stability(labels, labels[None, :]) == pytest.approx([1.0] * 5)
    assert np.isnan(stable.stability(labels, rows[:0])).all()


def test_resamples_are_seeded_80_percent_and_share_one_pool_above_it() -> None:
    fit = lambda x, k, seed: np.arange(len(x)) % k  # noqa: E731
    small = stable.resample_fits(np.zeros((100, 2)), 3, fit, 4, seed=0)
    assert small.shape == (4, 100) and ((small > ABSENT).sum(axis=1) == 80).all()
    assert (small == stable.resample_fits(np.zeros((100, 2)), 3, fit, 4, seed=0)).all()
    big = stable.resample_fits(np.zeros((5000, 2)), 3, fit, 3, seed=1)
    seen = big > ABSENT
    assert (seen.sum(axis=1) == stable.STABILITY_MAX).all()
    # Every resample is drawn from one pool, so any two share most of their passages.
    assert seen.any(axis=0).sum() <= stable.STABILITY_POOL
    assert (seen[0] & seen[1]).sum() > 0.5 * stable.STABILITY_MAX


def test_fold_merges_a_split_that_does_not_come_back_and_records_it() -> None:
    # Three tight groups; one of them cut in two halves at random: the halves do not come
    # back on resamples, which put them together.
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 30)
    labels = truth.copy()
    labels[60:][rng.permutation(30) < 15] = 3
    rows = np.tile(truth, (6, 1))
    rows[rng.random((6, 90)) < 0.2] = ABSENT
    folded, folds, scores = stable.fold_unstable(labels, rows, threshold=0.5, floor=1)
    assert len(folds) == 1 and {folds[0].code, folds[0].into} == {2, 3}
    assert folds[0].stability < 0.5 and folds[0].similarity == pytest.approx(1.0)
    assert set(np.unique(folded)) == {0, 1, folds[0].into}
    assert sorted(folds[0].members) == sorted(np.flatnonzero(labels == folds[0].code).tolist())
    assert scores[folds[0].into] == pytest.approx(1.0)
    # A floor of four codes keeps the split (flagged, not folded).
    assert stable.fold_unstable(labels, rows, 0.5, floor=4)[1] == []


def test_fold_held_out_judges_with_resamples_that_did_not_decide() -> None:
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1], 40)
    rows = np.tile(truth, (6, 1))
    rows[rng.random((6, 80)) < 0.2] = ABSENT
    labels = truth.copy()
    labels[:40][rng.permutation(40) < 20] = 2
    out, folds, scores, judge = stable.fold_held_out(labels, rows, 0.5, floor=1)
    assert len(folds) == 1 and len(judge) == 3
    assert (judge == rows[1::2]).all()  # the judges were never folded towards the codes
    assert scores[out[0]] == pytest.approx(1.0)


def test_cluster_folds_unstable_codes_and_keeps_the_score_and_flag() -> None:
    x = blobs([30, 30, 30], seed=2, noise=0.08)
    cfg = ClusterConfig(n_codes=6, stability_resamples=6, min_codes=1, unstable_below=0.8)
    plain = cluster(x, cfg)
    assert plain.n_clusters == 6 and not plain.folded
    assert min(plain.stability) < 0.8  # halves of a blob do not come back whole
    folded = cluster(x, cfg.model_copy(update={"fold_unstable": True, "fold_floor": 0.0}))
    assert folded == cluster(x, cfg.model_copy(update={"fold_unstable": True, "fold_floor": 0.0}))
    assert folded.n_clusters < plain.n_clusters and folded.folded
    labels = np.array(folded.labels)
    for f in folded.folded:
        assert isinstance(f, Folded) and 0 <= f.into < folded.n_clusters
        assert (labels[list(f.members)] == f.into).all()
    assert len(folded.stability) == folded.n_clusters
    assert np.mean(folded.stability) > np.mean(plain.stability)
    assert folded.params["folded_groups"] == len(folded.folded)


def test_cluster_fold_floor_and_stable_data_fold_nothing() -> None:
    x = blobs([25, 25, 25, 25], seed=5)
    cfg = ClusterConfig(n_codes=4, stability_resamples=4, fold_unstable=True)
    assert cluster(x, cfg).folded == ()  # every code comes back: nothing to fold
    noisy = blobs([40, 40], seed=3, noise=0.3)
    floored = cluster(
        noisy, ClusterConfig(n_codes=8, stability_resamples=4, fold_unstable=True, fold_floor=0.75)
    )
    assert floored.n_clusters >= 6  # never below fold_floor x the requested codes


def test_cluster_fold_with_seeds_and_excluded_passages_maps_positions() -> None:
    x = blobs([20, 30, 30], seed=7, noise=0.08)
    seeds = x[:1]
    exclude = np.zeros(len(x), dtype=bool)
    exclude[25] = True
    cfg = ClusterConfig(
        n_codes=6, stability_resamples=4, fold_unstable=True, fold_floor=0.0, min_codes=1
    )
    a = cluster(x, cfg, seeds=seeds, exclude=exclude)
    labels = np.array(a.labels)
    assert labels[25] == -1 and a.params["seeded_codes"] == 1
    for f in a.folded:
        assert f.into >= 1 and (labels[list(f.members)] == f.into).all()


def test_folds_info_names_codes_and_passages() -> None:
    info = stable.folds_info(
        [Folded(into=1, members=(0, 2), stability=0.3, together=0.8)],
        ["p0", "p1", "p2"],
        ["C01", "C02"],
    )
    assert info == [
        {"into": "C02", "passages": 2, "stability": 0.3, "together": 0.8,
         "passage_ids": ["p0", "p2"]}
    ]  # fmt: skip


def test_run_with_folding_records_the_folds_in_run_json_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_model(monkeypatch)
    out = tmp_path / "run"
    args = ["run", str(SAMPLE), "--out", str(out), "--set", "cluster.fold_unstable=true"]
    args += ["--set", "cluster.fold_floor=0", "--set", "cluster.stability_resamples=4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    stab = json.loads((out / "run.json").read_text())["stability"]
    assert stab["fold_unstable"] is True
    assert stab["folded"], "the fake embedder's sample run has codes that do not come back"
    codes = set(json.loads((out / "run.json").read_text())["codebook"]["codes"])
    passages = {
        json.loads(line)["id"]
        for line in (out / "passages.jsonl").read_text().splitlines()
        if line.strip()
    }
    for fold in stab["folded"]:
        assert fold["into"] in codes and set(fold["passage_ids"]) <= passages
        assert fold["passages"] == len(fold["passage_ids"]) and fold["stability"] < 0.5
    report = (out / "report.md").read_text()
    assert "did not come back as codes of their own folded in" in report
    assert "did not come back" in (out / "report.html").read_text()
