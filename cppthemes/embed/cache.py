"""The embedding cache: passage vectors on disk, checked, so reruns skip the model.

Keyed by the model's fingerprint and the SHA-256 of each text (see ``EmbeddingCache``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from cppthemes.errors import ModelError


class EmbeddingCache:
    """Vectors on disk in one SQLite file, keyed by model fingerprint + SHA-256 of the text.

    Each vector is stored with a SHA-256 of its bytes. A damaged entry (a flipped bit on disk,
    a torn write) fails that check, is deleted and counted in ``corrupt``, and the caller
    embeds the passage again: a bad cache entry costs time, never a wrong analysis. Each
    ``put`` is one committed transaction, so an interrupted run keeps every batch it finished.

    The cache is an optimisation: a folder that cannot be created or written (read-only, full,
    not permitted) turns it off for the rest of the run, and ``problem`` says why in one line
    for the caller to show once. The folder is created 0700 and the file 0600, like the run's
    outputs: the vectors are derived from sensitive text.
    """

    TABLE = "vectors_v2"  # v1 had no checksum; its rows are ignored, not trusted

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "embeddings.sqlite3"
        self.corrupt = 0
        self.problem: str | None = None  # set when the cache was turned off, and why

    @staticmethod
    def key(fingerprint: str, text: str) -> str:
        return hashlib.sha256(f"{fingerprint}\0{text}".encode()).hexdigest()

    @staticmethod
    def checksum(blob: bytes) -> str:
        return hashlib.sha256(blob).hexdigest()

    def _turn_off(self, exc: BaseException) -> None:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if self.problem is None:
            self.problem = (
                f"{self.path}: the embedding cache cannot be used ({reason}); this run "
                "embeds without it (give another folder with --cache-dir)"
            )

    def _damaged(self, exc: sqlite3.DatabaseError) -> ModelError:
        return ModelError(
            f"{self.path}: the embedding cache is damaged ({exc}); delete the file and "
            "rerun (it is rebuilt)"
        )

    def _connect(self) -> sqlite3.Connection | None:
        """A connection, or None once the cache is off (it was unusable)."""
        if self.problem is not None:
            return None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                # Created 0600 before SQLite opens it; its journal takes the same mode.
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, timeout=30)
        except (OSError, sqlite3.OperationalError) as exc:
            self._turn_off(exc)
            return None
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.TABLE} "
                "(key TEXT PRIMARY KEY, vec BLOB NOT NULL, sha256 TEXT NOT NULL)"
            )
        except sqlite3.OperationalError as exc:  # read-only, full, locked, cannot open
            conn.close()
            self._turn_off(exc)
            return None
        except sqlite3.DatabaseError as exc:  # not a database: the user should know
            conn.close()
            raise self._damaged(exc) from None
        return conn

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return dict(self.found(keys))

    def found(self, keys: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
        """The cached vectors among ``keys``, as they are read (never all held at once)."""
        bad: list[str] = []
        conn = self._connect()
        if conn is None:
            return
        try:
            with closing(conn):
                for start in range(0, len(keys), 500):
                    chunk = list(keys[start : start + 500])
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT key, vec, sha256 FROM {self.TABLE} WHERE key IN ({marks})",
                        chunk,
                    ).fetchall()
                    for key, blob, digest in rows:
                        if not isinstance(blob, bytes) or self.checksum(blob) != digest:
                            bad.append(key)
                            continue
                        yield key, np.frombuffer(blob, dtype=np.float32)
                if bad:
                    with conn:
                        conn.executemany(
                            f"DELETE FROM {self.TABLE} WHERE key = ?", [(k,) for k in bad]
                        )
        except sqlite3.OperationalError as exc:
            self._turn_off(exc)
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        self.corrupt += len(bad)

    def put(self, items: dict[str, np.ndarray]) -> None:
        rows = []
        for k, v in items.items():
            blob = np.asarray(v, dtype=np.float32).tobytes()
            rows.append((k, blob, self.checksum(blob)))
        conn = self._connect()
        if conn is None:
            return
        try:
            with closing(conn), conn:
                conn.executemany(
                    f"INSERT OR REPLACE INTO {self.TABLE} (key, vec, sha256) VALUES (?, ?, ?)",
                    rows,
                )
        except (OSError, sqlite3.OperationalError) as exc:  # full disk, read-only file
            self._turn_off(exc)
        except sqlite3.DatabaseError as exc:
            raise ModelError(f"{self.path}: cannot write the embedding cache ({exc})") from None
