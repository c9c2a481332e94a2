"""smalltree's ports of SciPy's Ward linkage, pdist and maxclust cut give SciPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from cppthemes.cluster import smalltree, themes
from cppthemes.config import ThemesConfig


def _points(rng: np.random.Generator, trial: int) -> np.ndarray:
    n, d = int(rng.integers(2, 60)), int(rng.integers(1, 390))
    x = rng.standard_normal((n, d))
    if trial % 3 == 0:  # unit rows, as the themes' code centres are
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    if trial % 5 == 0 and n > 3:  # duplicated codes: zero distances, tied merges
        x[1], x[3] = x[0], x[2]
    if trial % 7 == 0:  # coarse values: many equal distances
        x = np.round(x, 1)
    return x


def test_distances_and_trees_are_scipys_to_the_bit() -> None:
    rng = np.random.default_rng(11)
    for trial in range(100):
        x = _points(rng, trial)
        assert np.array_equal(smalltree.pdist_euclidean(x), pdist(x))
        assert np.array_equal(smalltree.ward_linkage(x), linkage(x, method="ward"))


def test_maxclust_cuts_are_scipys_for_every_count() -> None:
    rng = np.random.default_rng(5)
    for trial in range(50):
        x = _points(rng, trial)
        tree = linkage(x, method="ward")
        for t in range(1, len(x) + 2):
            expected = fcluster(tree, t=t, criterion="maxclust")
            got = smalltree.fcluster_maxclust(tree, t)
            assert np.array_equal(got, expected), (len(x), t)


def test_two_points_and_bad_input() -> None:
    x = np.array([[0.0, 1.0], [2.0, 0.5]])
    assert np.array_equal(smalltree.ward_linkage(x), linkage(x, method="ward"))
    for t in (1, 2, 3):
        assert np.array_equal(
            smalltree.fcluster_maxclust(linkage(x, method="ward"), t),
            fcluster(linkage(x, method="ward"), t=t, criterion="maxclust"),
        )
    with pytest.raises(ValueError):
        smalltree.ward_linkage(np.array([[0.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError):
        smalltree.ward_linkage(np.ones((1, 3)))


def test_themes_use_the_port_up_to_the_limit_and_scipy_beyond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 16))
    cfg = ThemesConfig()
    small = themes.cut_tree(themes.theme_linkage(x), len(x), cfg, x, [1] * len(x))
    monkeypatch.setattr(themes, "SMALL_TREE", 1)  # SciPy's own routines for every tree
    tree = themes.theme_linkage(x)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.array_equal(tree, linkage(unit, method="ward"))
    assert np.array_equal(themes.cut_tree(tree, len(x), cfg, x, [1] * len(x)), small)
