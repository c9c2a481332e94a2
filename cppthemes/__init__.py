"""cppthemes: candidate codes and themes from interview and focus-group transcripts, offline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cppthemes")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
