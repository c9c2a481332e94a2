"""SciPy's Ward linkage and ``maxclust`` cut for a few dozen points, without importing SciPy.

Themes group the codes' centres (a few dozen) with Ward's linkage and cut the tree into a
number of groups (cppthemes/cluster/themes.py). ``scipy.cluster.hierarchy`` does that in
microseconds, but importing it takes 0.6 s of every run on the 2-core machine (it pulls in
``scipy.spatial`` and ``scipy.linalg``): a third of a rerun's start-up. These are line-for-line
ports of the SciPy 1.17 routines the themes use, so the results are the same to the bit:

- ``pdist(x, "euclidean")``: each pair's squared differences summed left to right (SciPy's
  C++ loop; ``np.cumsum`` is that order, ``np.sum`` is not), then the square root;
- ``linkage(x, "ward")``: the nearest-neighbour chain (``_hierarchy.nn_chain``) with the
  Lance-Williams Ward update in the same operation order, a stable sort by height, then the
  union-find relabelling;
- ``fcluster(Z, t, "maxclust")``: the binary search over the nodes' heights and the flat
  cluster numbering of ``cluster_monocrit``.

tests/test_cluster_smalltree.py compares each with SciPy on random, tied and duplicated
points. Only for small inputs (the loops are Python): the passages' Ward trees stay SciPy's
(cppthemes/cluster/fastward.py).
"""

from __future__ import annotations

import math

import numpy as np

# Rows of pairs whose differences are summed at a time (bounded memory for many codes).
_PAIR_BLOCK = 4096


def pdist_euclidean(x: np.ndarray) -> np.ndarray:
    """Euclidean distances of all row pairs (condensed order), as SciPy's ``pdist`` sums."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    rows, cols = np.triu_indices(n, k=1)
    out = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), _PAIR_BLOCK):
        stop = start + _PAIR_BLOCK
        diff = x[rows[start:stop]] - x[cols[start:stop]]
        squares = diff * diff
        if squares.shape[1]:
            out[start:stop] = np.sqrt(np.cumsum(squares, axis=1)[:, -1])
        else:
            out[start:stop] = 0.0
    return out


def _index(n: int, i: int, j: int) -> int:
    """Position of pair (i, j), i != j, in condensed order."""
    if i > j:
        i, j = j, i
    return n * i - (i * (i + 1) // 2) + (j - i - 1)


def _ward_update(d_xi: float, d_yi: float, d_xy: float, nx: int, ny: int, ni: int) -> float:
    t = 1.0 / (nx + ny + ni)
    return math.sqrt(
        (ni + nx) * t * d_xi * d_xi + (ni + ny) * t * d_yi * d_yi - ni * t * d_xy * d_xy
    )


def ward_linkage(x: np.ndarray) -> np.ndarray:
    """``scipy.cluster.hierarchy.linkage(x, method="ward")`` for the rows of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("ward_linkage needs a 2-D matrix of observations")
    n = len(x)
    if n < 2:
        raise ValueError("ward_linkage needs at least two observations")
    if not np.all(np.isfinite(x)):
        raise ValueError("the observations must contain only finite values")
    dist = pdist_euclidean(x).tolist()
    size = [1] * n
    merges: list[tuple[float, float, float, float]] = []
    chain: list[int] = []
    for _ in range(n - 1):
        if not chain:
            chain.append(next(i for i in range(n) if size[i] > 0))
        while True:
            x_ = chain[-1]
            if len(chain) > 1:
                y = chain[-2]
                current = dist[_index(n, x_, y)]
            else:
                y, current = -1, math.inf
            for i in range(n):
                if size[i] == 0 or i == x_:
                    continue
                d = dist[_index(n, x_, i)]
                if d < current:
                    current, y = d, i
            if len(chain) > 1 and y == chain[-2]:
                break
            chain.append(y)
        del chain[-2:]
        a, b = (x_, y) if x_ < y else (y, x_)
        na, nb = size[a], size[b]
        merges.append((float(a), float(b), current, float(na + nb)))
        size[a], size[b] = 0, na + nb
        for i in range(n):
            if size[i] == 0 or i == b:
                continue
            dist[_index(n, i, b)] = _ward_update(
                dist[_index(n, i, a)], dist[_index(n, i, b)], current, na, nb, size[i]
            )
    z = np.array(merges, dtype=np.float64)
    z = z[np.argsort(z[:, 2], kind="mergesort")]
    _relabel(z, n)
    return z


def _relabel(z: np.ndarray, n: int) -> None:
    """SciPy's ``label``: merge ids as the nodes the sorted merges create (union-find)."""
    parent = list(range(2 * n - 1))
    sizes = [1] * (2 * n - 1)
    next_label = n

    def find(v: int) -> int:
        root = v
        while parent[root] != root:
            root = parent[root]
        while parent[v] != root:
            parent[v], v = root, parent[v]
        return root

    for i in range(n - 1):
        ra, rb = find(int(z[i, 0])), find(int(z[i, 1]))
        z[i, 0], z[i, 1] = (ra, rb) if ra < rb else (rb, ra)
        parent[ra] = parent[rb] = next_label
        sizes[next_label] = sizes[ra] + sizes[rb]
        z[i, 3] = sizes[next_label]
        next_label += 1


def _max_dists(z: np.ndarray, n: int) -> list[float]:
    """Each node's largest merge height in its subtree (SciPy's ``maxdists``)."""
    out = [0.0] * (n - 1)
    for i in range(n - 1):  # children are always earlier rows
        best = float(z[i, 2])
        for child in (int(z[i, 0]), int(z[i, 1])):
            if child >= n and out[child - n] > best:
                best = out[child - n]
        out[i] = best
    return out


def _count_clusters(z: np.ndarray, mc: list[float], n: int, thresh: float, most: int) -> int:
    """Flat clusters at ``thresh`` as SciPy's search counts them (stops past ``most``)."""
    visited = [False] * (2 * n - 1)
    stack = [2 * n - 2]
    count = 0
    while stack:
        root = stack[-1] - n
        left, right = int(z[root, 0]), int(z[root, 1])
        if mc[root] <= thresh:
            count += 1
            if count > most:
                return count
            stack.pop()
            visited[left] = visited[right] = True
            continue
        descended = False
        for child in (left, right):
            if visited[child]:
                continue
            visited[child] = True
            if child >= n:
                stack.append(child)
                descended = True
                break
            count += 1
            if count > most:
                return count
        if not descended:
            stack.pop()
    return count


def _monocrit(z: np.ndarray, mc: list[float], n: int, cutoff: float) -> np.ndarray:
    """SciPy's ``cluster_monocrit``: flat cluster numbers (from 1) in its traversal order."""
    labels = np.zeros(n, dtype=np.int32)
    visited = [False] * (2 * n - 1)
    stack = [2 * n - 2]
    n_cluster, leader = 0, -1
    while stack:
        root = stack[-1] - n
        left, right = int(z[root, 0]), int(z[root, 1])
        if leader == -1 and mc[root] <= cutoff:
            leader = root
            n_cluster += 1
        if left >= n and not visited[left]:
            visited[left] = True
            stack.append(left)
            continue
        if right >= n and not visited[right]:
            visited[right] = True
            stack.append(right)
            continue
        for leaf in (left, right):
            if leaf < n:
                if leader == -1:
                    n_cluster += 1
                labels[leaf] = n_cluster
        if leader == root:
            leader = -1
        stack.pop()
    return labels


def fcluster_maxclust(z: np.ndarray, t: int) -> np.ndarray:
    """``scipy.cluster.hierarchy.fcluster(z, t, criterion="maxclust")``."""
    z = np.asarray(z, dtype=np.float64)
    n = len(z) + 1
    if t >= n:  # SciPy: every point its own cluster, numbered in input order
        return np.arange(1, n + 1, dtype=np.int32)
    mc = _max_dists(z, n)
    lower, upper = -1, n - 2
    while upper - lower > 1:
        i = (lower + upper) >> 1
        if _count_clusters(z, mc, n, mc[i], int(t)) > int(t):
            lower = i
        else:
            upper = i
    return _monocrit(z, mc, n, mc[upper])
