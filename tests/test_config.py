from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cppthemes.config import Config, load_config
from cppthemes.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_config_default_toml_equals_code_defaults() -> None:
    data = tomllib.loads((ROOT / "configs" / "default.toml").read_text(encoding="utf-8"))
    assert data == Config().model_dump()


def test_config_every_preset_validates() -> None:
    for path in (ROOT / "configs").glob("*.toml"):
        load_config(path)


def test_config_overrides_parse_values() -> None:
    cfg = load_config(
        None, ["cluster.n_codes=12", "embed.model=my/model", "segment.embed_context=false"]
    )
    assert cfg.cluster.n_codes == 12 and cfg.embed.model == "my/model"
    assert cfg.segment.embed_context is False


@pytest.mark.parametrize(
    "override, message",
    [
        ("cluster.min_sise=3", r"unknown setting 'cluster.min_sise' \(allowed: method, linkage"),
        ("clustr.n_codes=3", r"unknown section 'clustr'"),
        ("cluster.min_size=0", r"cluster.min_size=0: input should be greater than or equal to 1"),
        ("cluster.method=dbscan", r"cluster.method='dbscan'"),
        ("cluster.n_codes", r"expected key=value"),
        ("cluster.min_codes=90", r"min_codes=90 must be <= cluster.max_codes=60"),
    ],
)
def test_config_bad_values_name_key_and_value(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--deductive"], "codebook.deductive=true needs a framework"),
        (["--framework", "missing.yaml"], "missing.yaml: framework file not found"),
        (["--framework", "nosuch"], "codebook.framework='nosuch': no such framework"),
        (["--model", "nobody/no-such-model"], "embed.model='nobody/no-such-model'"),
        (["--set", "cluster.min_codes=9", "--set", "cluster.max_codes=3"], "must be <="),
    ],
)
def test_config_rules_across_settings_fail_before_anything_is_read(
    tmp_path: Path, args: list[str], says: str
) -> None:
    """The corpus does not exist: the setting's error comes first, so nothing was read (let
    alone embedded) before a bad setting stopped the run."""
    from typer.testing import CliRunner

    from cppthemes.cli.app import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "no-corpus"), "--out", str(out), *args])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], lines
    assert not out.exists()


def test_config_overrides_and_settings_are_dicts_of_dotted_keys() -> None:
    from cppthemes.config import parse_overrides

    assert parse_overrides(["cluster.n_codes=12", 'label.language="nb"', "x.y=bare"]) == {
        "cluster.n_codes": 12,
        "label.language": "nb",
        "x.y": "bare",
    }
    cfg = load_config(
        None,
        ["cluster.n_codes=12"],
        {"cluster.n_codes": 7, "ingest.columns": {"speaker": "Who", "text": "Said"}},
    )
    assert cfg.cluster.n_codes == 7 and cfg.ingest.columns == {"speaker": "Who", "text": "Said"}
    with pytest.raises(ConfigError, match="unknown section 'nope'"):
        load_config(None, settings={"nope.x": 1})


def test_config_one_facilitators_setting_and_the_old_label_key_still_loads(
    tmp_path: Path,
) -> None:
    # Names of people in ingest.facilitators; role labels in ingest.facilitator_labels; the
    # old [segment] facilitators (config files, run.json replayed by refine) moves there.
    assert "facilitators" not in Config().segment.model_dump()
    assert "interviewer" in Config().ingest.facilitator_labels
    old = tmp_path / "old.toml"
    old.write_text('[segment]\nfacilitators = ["Leder", "Intervjuer"]\nmin_words = 5\n')
    cfg = load_config(old)
    assert cfg.ingest.facilitator_labels == ["Leder", "Intervjuer"]
    assert cfg.segment.min_words == 5
    cfg = load_config(None, ['segment.facilitators=["Coach"]'])
    assert cfg.ingest.facilitator_labels == ["Coach"]
    cfg = load_config(None, ['ingest.facilitator_labels=["Coach"]', 'ingest.facilitators=["Ann"]'])
    assert cfg.ingest.facilitator_labels == ["Coach"] and cfg.ingest.facilitators == ["Ann"]


def test_config_facilitator_labels_decide_roles_end_to_end(tmp_path: Path) -> None:
    from cppthemes.ingest import load_corpus

    (tmp_path / "a.txt").write_text(
        "Coach: How did the first week go for you and your family?\n"
        "Maria: It went well, we walked to the park every morning before school.\n"
        "Coach: What made the mornings easier, do you think?\n"
        "Maria: Having breakfast ready the night before, and no phones at the table.\n",
        encoding="utf-8",
    )
    default = load_config(None, ["ingest.detect_facilitator=false"])
    (t,) = load_corpus([tmp_path], default.ingest).transcripts
    assert t.roles["Coach"] == "participant"
    labelled = load_config(
        None, ["ingest.detect_facilitator=false", 'ingest.facilitator_labels=["coach"]']
    )
    (t,) = load_corpus([tmp_path], labelled.ingest).transcripts
    assert t.roles == {"Coach": "facilitator", "Maria": "participant"}
    assert "ingest.facilitator_labels" in t.roles_evidence
