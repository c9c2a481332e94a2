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
