"""Reports people read."""

from cppthemes.report.markdown import render_markdown

__all__ = ["render_markdown"]
