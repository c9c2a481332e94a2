"""Contract tests: every entry of every registry passes the same checks.

As scikit-learn's ``parametrize_with_checks`` runs each estimator through one battery, each
registry here (READERS, EMBEDDERS, CLUSTERERS, EXPORTS) is parametrised over all its entries,
so a new reader, embedder, clusterer or export is checked the moment it is registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from cppthemes.cluster.codes import CLUSTERERS, adjusted_rand_score
from cppthemes.config import ClusterConfig, Format, IngestConfig, load_config
from cppthemes.embed.embedder import PACKAGED_NAMES, Embedder
from cppthemes.embed.models import EMBEDDERS, check_model
from cppthemes.errors import InputError, ModelError
from cppthemes.export.registry import EXPORTS
from cppthemes.ingest import DEFAULT_SUFFIXES, READERS, SUFFIX_FORMATS, TEXT_FORMATS
from cppthemes.pipeline import run
from cppthemes.runfolder import FILES
from tests.conftest import SAMPLE, FakeEmbedder, SampleRuns
from tests.test_ingest_formats import FIXTURES, check_offsets

# -- READERS ----------------------------------------------------------------------------------

TURNS = [("Interviewer", "How was the first week?"), ("Ann", "Busy but the team helped.")]


def _sample_file(fmt: str, folder: Path) -> Path:
    """A two-turn transcript in ``fmt``: a fixture where there is one, else made here."""
    suffix = READERS[fmt].suffixes[0]
    path = folder / f"made{suffix}"
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        rows = ["Speaker" + sep + "Text", *(f"{who}{sep}{said}" for who, said in TURNS)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return path
    found = sorted(p for p in FIXTURES.iterdir() if SUFFIX_FORMATS.get(p.suffix) == fmt)
    if found:
        return found[0]
    if fmt == "docx":
        import docx

        document = docx.Document()
        for who, said in TURNS:
            document.add_paragraph(f"{who}: {said}")
        document.save(str(path))
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Speaker", "Text"])
        for row in TURNS:
            sheet.append(list(row))
        book.save(path)
    else:  # pragma: no cover - every text format has a fixture
        raise AssertionError(f"no sample for {fmt}")
    return path


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_reader_contract(fmt: str, tmp_path: Path) -> None:
    reader = READERS[fmt]
    assert reader.suffixes and all(s.startswith(".") and s == s.lower() for s in reader.suffixes)
    assert all(SUFFIX_FORMATS[s] == fmt for s in reader.suffixes)
    path = _sample_file(fmt, tmp_path)
    transcripts = reader(path, "t", path.name, {})
    assert transcripts and all(t.turns for t in transcripts)
    for t in transcripts:
        check_offsets(t)
        assert t.format == fmt and t.source.startswith(path.name)
    # A file that is not of the format: an InputError naming the file, never a traceback.
    bad = tmp_path / f"bad{reader.suffixes[0]}"
    bad.write_bytes(b"\x00\xff\x00 not a transcript \x00" * 3)
    with pytest.raises(InputError) as err:
        reader(bad, "bad", bad.name, {})
    assert str(bad) in str(err.value) or bad.name in str(err.value)


def test_readers_are_the_source_of_the_format_settings() -> None:
    assert set(get_args(Format)) == {"auto", *READERS}
    assert IngestConfig().suffixes == DEFAULT_SUFFIXES
    assert {name for name, r in READERS.items() if r.text} == TEXT_FORMATS
    default = (Path(__file__).parents[1] / "configs" / "default.toml").read_text()
    assert f"suffixes = {DEFAULT_SUFFIXES}".replace("'", '"') in default


def test_help_texts_name_every_registry_entry() -> None:
    """The CLI's help texts are static strings (the CLI starts without importing the
    readers or exporters); they must still name exactly what the registries hold."""
    import re

    from typer.testing import CliRunner

    from cppthemes.cli.app import app
    from cppthemes.export.registry import EXPORTS

    def named(command: str, option: str) -> set[str]:
        text = " ".join(
            CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}).output.split()
        )
        listed = re.sub(r"<[^>]*>", "", text.split(option, 1)[1]).split(".", 1)[0]
        return set(re.findall(r"[a-z0-9]+", listed.split(":", 1)[-1])) - {"or"}

    assert named("run", "--format") == set(READERS)
    assert named("export", "--to") == set(EXPORTS)


# -- EMBEDDERS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        # The packaged model's names make its automatic ONNX export: integration tests, so they
        # share the session's user cache (conftest.real_model_cache) and export it once.
        pytest.param(n, marks=pytest.mark.integration) if n in PACKAGED_NAMES else n
        for n in sorted(EMBEDDERS)
    ],
)
def test_embedder_contract(name: str) -> None:
    """Every registered name is accepted by the fast check and makes an embedder in
    milliseconds (weights load later), or fails with a ModelError that names the setting."""
    cfg = load_config(None, [f"embed.model={name!r}".replace("'", '"')]).embed
    try:
        check_model(cfg)
        embedder = EMBEDDERS[name](cfg, None)
    except ModelError as exc:  # e.g. the static model before `cppthemes model distill`
        assert "embed.model" in str(exc) or name in str(exc) or "install" in str(exc)
        return
    assert isinstance(embedder, Embedder)
    assert embedder.model_id and embedder.fingerprint and embedder.max_tokens > 0
    assert embedder.count_tokens("the team helped") > 0


def test_the_fake_embedder_registers_through_the_registry(fake_model: FakeEmbedder) -> None:
    cfg = load_config(None, ["cluster.stability_resamples=0"])
    result = run([SAMPLE], cfg)
    assert fake_model.calls and result.info.model.id == FakeEmbedder.model_id


# -- CLUSTERERS -------------------------------------------------------------------------------


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 4
    x = np.vstack([c + rng.normal(scale=0.05, size=(20, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.repeat(np.arange(3), 20)


@pytest.mark.parametrize("method", sorted(CLUSTERERS))
def test_clusterer_contract(method: str) -> None:
    """One label per row, -1 or 0..k-1, the same for the same seed, and three clear groups
    found as three."""
    x, truth = _blobs()
    cfg = ClusterConfig(method=method, min_size=3)  # type: ignore[arg-type]
    fit = CLUSTERERS[method]
    labels = np.asarray(fit(x, 3, cfg, 0))
    assert labels.shape == (len(x),) and labels.dtype.kind == "i"
    assert set(labels.tolist()) <= {-1, 0, 1, 2}
    assert np.array_equal(labels, np.asarray(fit(x, 3, cfg, 0)))
    assert adjusted_rand_score(truth, labels) > 0.9
    assert method in get_args(ClusterConfig.model_fields["method"].annotation)


# -- EXPORTS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_result(sample_runs: SampleRuns):  # type: ignore[no-untyped-def]
    return sample_runs.result("cluster.stability_resamples=0")  # shared (conftest)


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_export_contract(fmt: str, sample_result) -> None:  # type: ignore[no-untyped-def]
    """Files a run writes (names in FILES, no folders), never empty, the same bytes twice."""
    first = EXPORTS[fmt](sample_result)
    assert first and set(first) <= set(FILES)
    for name, content in first.items():
        assert "/" not in name and content
    assert EXPORTS[fmt](sample_result) == first
