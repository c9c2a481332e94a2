"""Reports people read: report.md and report.html, rendered from one shared context."""

from cppthemes.report.html import render_html
from cppthemes.report.markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
