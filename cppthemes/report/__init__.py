"""Reports people read: report.md and report.html, rendered from one shared context.

The renderers are imported on first use (PEP 562): importing ``cppthemes.report.context``
(as the tables and ``cppthemes review`` do) then costs no Jinja.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cppthemes.report.html import render_html
    from cppthemes.report.markdown import render_markdown

__all__ = ["render_html", "render_markdown"]


def __getattr__(name: str) -> Any:
    if name == "render_html":
        from cppthemes.report.html import render_html

        return render_html
    if name == "render_markdown":
        from cppthemes.report.markdown import render_markdown

        return render_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
