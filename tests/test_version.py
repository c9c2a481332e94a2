"""The package's ``__version__`` is the one pyproject.toml declares and pip installed."""

import tomllib
from importlib.metadata import version
from pathlib import Path

import cppthemes

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_pyprojects() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert cppthemes.__version__ == declared["project"]["version"]


def test_version_is_the_installed_one() -> None:
    assert cppthemes.__version__ == version("cppthemes")
