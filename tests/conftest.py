"""Shared fixtures: a deterministic fake embedder, tiny hand-written transcripts, the offline
guard, and the runs of data/sample that the session shares (fake model and real model)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import ipaddress
import json
import os
import pickle
import re
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from filelock import FileLock

if TYPE_CHECKING:
    from cppthemes.config import Config
    from cppthemes.records import Result

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
# Fuzz tests draw examples(n) inputs each: n in CI, n * CPPTHEMES_FUZZ_SCALE in the long runs
# of scripts/fuzz.py.
FUZZ_SCALE = float(os.environ.get("CPPTHEMES_FUZZ_SCALE", "1"))


def examples(n: int) -> int:
    """How many examples a fuzz test draws (scaled for long runs)."""
    return max(1, int(n * FUZZ_SCALE))


class FakeEmbedder:
    """Bag of hashed words: texts that share words get similar vectors; no model, no network."""

    model_id = "fake-hash-64"
    fingerprint = "fake-hash-64-v1"
    max_tokens = 256

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{4,}", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[row, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] = out[row] / norm
            else:  # no word to hash: a fixed vector for this text, wherever it sits in a batch
                h = int(hashlib.md5(text.encode()).hexdigest(), 16)
                out[row, h % self.dim] = 1.0
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def use_fake_model(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], object] = FakeEmbedder
) -> None:
    """Register ``make`` in ``EMBEDDERS`` for the packaged model's names: every run that
    would load the packaged model gets the fake instead, through the one registry."""
    from cppthemes.embed.embedder import PACKAGED_NAMES
    from cppthemes.embed.models import EMBEDDERS

    for name in PACKAGED_NAMES:
        monkeypatch.setitem(EMBEDDERS, name, lambda cfg, on_note=None: make())


FAKE_MODEL_SCRIPT = (
    "from cppthemes.embed.embedder import PACKAGED_NAMES\n"
    "from cppthemes.embed.models import EMBEDDERS\n"
    "from tests.conftest import FakeEmbedder\n"
    "EMBEDDERS.update(dict.fromkeys(PACKAGED_NAMES, lambda cfg, on_note=None: FakeEmbedder()))\n"
)  # the same registration, for tests that run cppthemes in a fresh process


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Runs embed with one fake embedder (returned), registered through ``EMBEDDERS``."""
    fake = FakeEmbedder()
    use_fake_model(monkeypatch, lambda: fake)
    return fake


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder for what the session makes once, seen by every pytest-xdist worker.

    Serially: the session's own ``mktemp(name)``. Under xdist (the README's test command runs
    on every core) each worker is a session of its own, with its basetemp ``popen-gwN`` inside
    one folder per pytest run; ``name`` there is shared by the workers of this run and by no
    other run (the pattern of xdist's docs, "Making session-scoped fixtures execute only
    once"). What is made in it is made under ``made_once``'s lock.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return tmp_path_factory.mktemp(name)
    folder = tmp_path_factory.getbasetemp().parent / name
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def made_once(done: Path) -> Iterator[bool]:
    """Hold ``done``'s lock; yield True if the caller must make the thing (then ``done`` is
    written when the block ends without an error), False if another worker made it already.

    A failed make writes no ``done``: the next worker to ask makes it again and fails the
    same way, so each worker's tests see the error rather than a half-made folder.
    """
    with FileLock(str(done) + ".lock"):
        if done.exists():
            yield False
            return
        yield True
        done.write_text("made\n", encoding="utf-8")


@pytest.fixture(scope="session")
def real_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user cache for every integration test of the session (of every xdist worker).

    The packaged model's automatic ONNX export (about 10 s) and its vectors of data/sample
    (the slow part of a real run) are then made once, by whichever integration test runs
    first, and shared by the rest. Two workers using it at once is two cppthemes processes
    on one cache, which the product allows (the export is renamed into place, one rename
    wins; the vector cache is sqlite with a 30 s busy timeout).
    """
    return shared_folder(tmp_path_factory, "real-model-cache")


@pytest.fixture(autouse=True)
def _integration_uses_shared_cache(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _isolated_cache: None
) -> None:
    # After _isolated_cache (a dependency), so the shared cache is what the test sees.
    if request.node.get_closest_marker("integration") is not None:
        cache = request.getfixturevalue("real_model_cache")
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))


class NetworkBlocked(OSError):
    """Raised by the offline guard when code under test tries to reach another machine."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # AF_UNIX path (a pipe to a local process)
    host = address[0] if isinstance(address, tuple) and address else ""
    if host in ("localhost", "", None):
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name: resolving it would already be a lookup on the network
    # 0.0.0.0 / :: name this machine (a local server's bind address), never another one.
    return ip.is_loopback or ip.is_unspecified


@contextlib.contextmanager
def blocked_network() -> Iterator[list[object]]:
    """Connecting to any non-loopback address fails loudly while this is open.

    The attempts are recorded as well (yielded), in case a library swallows the error and
    falls back silently. Used by the autouse ``offline`` fixture for every test, and by the
    session's shared runs (``sample_runs``, ``real_sample_run``), which start before any test.
    """
    attempts: list[object] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: object) -> None:
        if not _is_loopback(address):
            attempts.append(address)
            raise NetworkBlocked(f"test blocked a connection to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        # connect() on a UDP socket sends nothing (dask uses it to learn the local IP);
        # only stream connections are guarded.
        if self.type != socket.SOCK_DGRAM:
            guard(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        try:  # a literal IP address is parsed, not looked up: no traffic
            ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            guard((host, 0))
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield attempts


@pytest.fixture(autouse=True)
def offline() -> Iterator[list[object]]:
    """Every test runs offline: connecting to any non-loopback address fails loudly.

    Autouse, so the whole suite (CLI runs with the fake embedder and the integration run with
    the real packaged model) proves that cppthemes never opens a connection.
    """
    with blocked_network() as attempts:
        yield attempts
    assert not attempts, f"test tried to reach the network: {attempts}"


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures are set up before any test's own ``_isolated_cache``:
    they get a user cache of this session's too, never the developer's real one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("session-xdg-cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never write to the developer's real cache from a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(scope="session")
def fake_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user cache for a module's fake-model runs of the same transcripts (opt-in).

    A run fills the user cache with the transcripts' sentences, counted terms (spaCy) and
    vectors; a test's own cold cache (``_isolated_cache``) makes every run count them again.
    Modules whose tests are about decisions, not caches (test_refine: one run, then a refine
    per edit, as an analyst's cache would be warm) share this one through
    ``use_fake_model_cache``. Tests of the caches themselves keep their own cold one.
    """
    return tmp_path_factory.mktemp("fake-model-cache")


def use_fake_model_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Point the user cache at ``cache`` (``fake_model_cache``) for the rest of a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))


TOPICS = {
    "garden": [
        "I water the tomatoes in the garden every morning before work",
        "The garden soil needs compost so the tomatoes and beans grow well",
        "Weeding the garden beds and planting beans takes all my weekend",
        "We grow tomatoes, beans and herbs in the garden behind the house",
    ],
    "trains": [
        "The train to the city was late again because of the signals",
        "I take the early train and the platform is always crowded",
        "Train tickets got expensive and the trains are often cancelled",
        "The signals failed so every train on the line was delayed",
    ],
    "cooking": [
        "I cook soup with onions and garlic in a big pot on sundays",
        "The recipe says to fry the onions before adding garlic to the pot",
        "Cooking dinner for the kids means a lot of pasta and soup",
        "My soup recipe uses garlic, onions and a slow simmering pot",
    ],
}


def write_corpus(folder: Path, n_files: int = 3, manifest: bool = True) -> Path:
    """A small corpus: each file has a facilitator, three participants, all three topics."""
    folder.mkdir(parents=True, exist_ok=True)
    speakers = ["Anna", "Ben", "Cara"]
    for f in range(n_files):
        lines = ["Facilitator: Thanks for coming. Tell me about your week."]
        for t, (topic, sentences) in enumerate(TOPICS.items()):
            lines.append(f"Facilitator: What about {topic}?")
            for s, sentence in enumerate(sentences):
                speaker = speakers[(f + t + s) % 3]
                lines.append(f"{speaker}: {sentence}, file {f}.")
                if s == 1:
                    lines.append(f"{speakers[(s + 1) % 3]}: Mm-hmm.")
        (folder / f"group{f + 1}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if manifest:
        rows = ["file,wave"] + [f"group{f + 1}.txt,{1 + f % 2}" for f in range(n_files)]
        (folder / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


# --- Runs shared by the session ----------------------------------------------------------------
# A run of data/sample takes seconds (the real model: tens of seconds); dozens of tests only read
# one. Each is made once, on first use, and handed out read-only: a Result as a deep copy, a run
# folder as a path that tests read and never write into (``copy_to`` gives a test its own copy).
# At the end of the session every shared folder is checked byte for byte against what was
# written, so a test that changed one fails instead of passing its change on to others.


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class SharedRun:
    """A run folder made once for the session, and what its command printed."""

    out: Path
    output: str

    def copy_to(self, target: Path) -> Path:
        """A test's own copy of the folder, to edit, refine or write into."""
        shutil.copytree(self.out, target)
        return target


class SharedRuns:
    """Shared run folders, remembered with their digests, checked unchanged at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[object, SharedRun] = {}
        self._digests: dict[Path, dict[str, str]] = {}

    def get(self, key: object, make: Callable[[Path], str]) -> SharedRun:
        """The run for ``key``, made by ``make(out)`` (which returns the printed output) once
        for the whole pytest run: the first xdist worker to ask makes it, the others wait on
        its lock and read it. The digest is the maker's, taken before any test saw the
        folder, so every worker's end-of-session check compares against what was written."""
        if key not in self._made:
            out = self.root / f"run-{hashlib.sha256(repr(key).encode()).hexdigest()[:12]}"
            saved = out.with_name(out.name + ".json")
            with made_once(out.with_name(out.name + ".done")) as first:
                if first:
                    with blocked_network() as attempts:
                        output = make(out)
                    assert not attempts, f"a shared run tried to reach the network: {attempts}"
                    made = {"output": output, "digest": folder_digest(out)}
                    saved.write_text(json.dumps(made), encoding="utf-8")
            made = json.loads(saved.read_text(encoding="utf-8"))
            self._made[key] = SharedRun(out, made["output"])
            self._digests[out] = made["digest"]
        return self._made[key]

    def changed(self) -> list[str]:
        """Shared folders whose files are not what was written (a test wrote into one)."""
        return [str(out) for out, digest in self._digests.items() if folder_digest(out) != digest]


class SampleRuns:
    """data/sample through the whole pipeline with the fake embedder, once per settings.

    ``result(*overrides)``: ``pipeline.run`` with ``load_config(None, overrides)`` (a deep copy,
    so no test sees another's changes); ``folder(*overrides)``: that result written by
    ``write_run``; ``cli(*args)``: ``cppthemes run data/sample --out RUN -q *args`` through
    typer's CliRunner with the fake model and a user cache of its own (as cold as a test's).
    """

    def __init__(self, shared: SharedRuns) -> None:
        self._shared = shared
        self._results: dict[tuple[str, ...], tuple[Config, Result]] = {}

    def _run(self, overrides: tuple[str, ...]) -> tuple[Config, Result]:
        if overrides not in self._results:
            from cppthemes.config import load_config
            from cppthemes.pipeline import run

            cfg = load_config(None, list(overrides))
            name = f"result-{hashlib.sha256(repr(overrides).encode()).hexdigest()[:12]}.pickle"
            saved = self._shared.root / name  # the Result, for the other xdist workers
            with made_once(saved.with_name(name + ".done")) as first:
                if first:
                    with blocked_network() as attempts:
                        result = run([SAMPLE], cfg, embedder=FakeEmbedder())
                    assert not attempts, attempts
                    saved.write_bytes(pickle.dumps(result))
            self._results[overrides] = (cfg, pickle.loads(saved.read_bytes()))
        return self._results[overrides]

    def result(self, *overrides: str) -> Result:
        return copy.deepcopy(self._run(overrides)[1])

    def folder(self, *overrides: str) -> SharedRun:
        def make(out: Path) -> str:
            from cppthemes.runfolder import write_run

            cfg, result = self._run(overrides)
            write_run(result, cfg, out, [str(SAMPLE)])
            return ""

        return self._shared.get(("write_run", overrides), make)

    def cli(self, *args: str) -> SharedRun:
        def make(out: Path) -> str:
            from typer.testing import CliRunner

            from cppthemes.cli.app import app

            with pytest.MonkeyPatch.context() as mp:
                use_fake_model(mp)
                mp.setenv("XDG_CACHE_HOME", str(out.parent / f"{out.name}-cache"))
                done = CliRunner().invoke(app, ["run", str(SAMPLE), "--out", str(out), "-q", *args])
            assert done.exit_code == 0, done.output
            return done.output

        return self._shared.get(("cli", args), make)


@pytest.fixture(scope="session")
def _shared_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRuns]:
    shared = SharedRuns(shared_folder(tmp_path_factory, "shared-runs"))
    yield shared
    changed = shared.changed()
    assert not changed, f"a test wrote into a shared run folder (use copy_to): {changed}"


@pytest.fixture(scope="session")
def sample_runs(_shared_runs: SharedRuns) -> SampleRuns:
    """data/sample with the fake embedder, each settings run once for the session."""
    return SampleRuns(_shared_runs)


@pytest.fixture(scope="session")
def real_sample_run(real_model_cache: Path, _shared_runs: SharedRuns) -> SharedRun:
    """``cppthemes run data/sample --out RUN -q`` with the real packaged model, once.

    The integration tests that only read a default run's outputs share it (the model's
    automatic ONNX export and its vectors of data/sample land in the shared user cache).
    """

    def make(out: Path) -> str:
        from typer.testing import CliRunner

        from cppthemes.cli.app import app

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("XDG_CACHE_HOME", str(real_model_cache))
            done = CliRunner().invoke(app, ["run", str(SAMPLE), "--out", str(out), "-q"])
        assert done.exit_code == 0, done.output
        return done.output

    return _shared_runs.get("real", make)
