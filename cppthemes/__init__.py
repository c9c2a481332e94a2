"""cppthemes: candidate codes and themes from interview and focus-group transcripts, offline."""

# Written here, not read from the installed metadata: importlib.metadata and the email parser
# it pulls in cost every command 40-100 ms of start-up (issue 20). tests/test_version.py checks
# that this is the version pyproject.toml declares and pip installed.
__version__ = "0.1.0"

__all__ = ["__version__"]
