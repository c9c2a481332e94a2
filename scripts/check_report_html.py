"""Open a report.html in a real headless browser, take screenshots, and report console errors.

Usage: ``python scripts/check_report_html.py RUN_DIR/report.html [--out artifacts/report-browser]``
Exit status 0 when the page loaded with no console errors, no uncaught exceptions, no failed
or network requests and every image decoded; 1 otherwise (each problem printed on stderr).

Debian's ``chromium`` is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
file descriptors 3 and 4, JSON messages ended by NUL), so no extra package and no port are
needed. Chromium's own log (``--enable-logging=stderr --v=0``) is scanned as well, for lines a
page's console writes there ("Uncaught", "ERROR:CONSOLE").
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--remote-debugging-pipe",
]
WIDTH = 1280
PHONE = 375
LOCAL_SCHEMES = ("file:", "data:", "about:", "chrome:", "devtools:")


def find_chromium() -> str | None:
    """The browser to use: $CHROMIUM, else chromium or chromium-browser on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class BrowserCheck:
    """What the browser saw: problems (empty = clean), screenshots written, page facts."""

    problems: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class _Pipe:
    """The DevTools protocol over chromium's pipe: send commands, collect events."""

    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:  # fmt: skip
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def _problems_from_events(events: list[dict[str, Any]]) -> list[str]:
    problems = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            problems.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"log error ({entry.get('source')}): {entry.get('text')}")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(LOCAL_SCHEMES):
                problems.append(f"network request: {url[:120]}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed to load a resource: {params.get('errorText')}")
    return problems


class _Page:
    """One page over the DevTools pipe: evaluate, click and type as a user, screenshot."""

    def __init__(self, pipe: _Pipe, session: str, out_dir: Path) -> None:
        self.pipe, self.session, self.out_dir = pipe, session, out_dir
        self.screenshots: list[Path] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.pipe.send(method, params, session=self.session)

    def js(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def resize(self, width: int, height: int, mobile: bool) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def load(self, html: Path) -> None:
        self.pipe.events = [e for e in self.pipe.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": html.resolve().as_uri()})
        self.pipe.wait_for("Page.loadEventFired")

    def click(self, selector: str) -> bool:
        """A real mouse click at the element's centre (scrolled into view first)."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if not box:
            return False
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )
        return True

    def type(self, selector: str, text: str) -> None:
        self.click(selector)
        self.send("Input.insertText", {"text": text})

    def shot(self, name: str, clip: tuple[int, int, int, int] | None = None) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            x, y, w, h = clip
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
        path = self.out_dir / name
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        self.screenshots.append(path)
        return path


FACTS = """JSON.stringify({
    title: document.title,
    height: document.documentElement.scrollHeight,
    images: document.images.length,
    broken: Array.from(document.images)
        .filter(i => !i.complete || i.naturalWidth === 0).length,
    codes: document.querySelectorAll('article.code[id]').length,
    quotes: document.querySelectorAll('blockquote').length,
    passages: document.querySelectorAll('li.passage').length,
    figures: Array.from(document.querySelectorAll('figure'))
        .map(f => f.getBoundingClientRect().top + window.scrollY),
})"""
# What the filters left visible: passages neither hidden nor inside a hidden code.
VISIBLE = """Array.from(document.querySelectorAll('li.passage'))
    .filter(e => !e.hidden && !e.closest('article').hidden)
    .map(e => ({code: e.dataset.code, theme: e.dataset.theme,
                groups: JSON.parse(e.dataset.groups),
                text: (e.querySelector('.text').textContent + ' ' +
                       Array.from(e.closest('article').querySelectorAll('h3, .keyphrases'))
                           .map(x => x.textContent).join(' ')).toLowerCase(),
                open: e.closest('details.passages').open}))"""
# Scroll to the first passage the filters left, so a screenshot shows the result.
SHOW_FIRST = """(() => { const e = Array.from(document.querySelectorAll('li.passage'))
    .find(e => !e.hidden && !e.closest('article').hidden);
    if (e) e.closest('article').scrollIntoView({block: 'start'}); return !!e; })()"""
# The rarest long word of the first passage: searching it must narrow the list.
RARE_WORD = """(() => {
    const texts = Array.from(document.querySelectorAll('li.passage .text'))
        .map(t => t.textContent.toLowerCase());
    const words = (texts[0] || '').match(/[a-z]{6,}/g) || [];
    const count = w => texts.filter(t => t.includes(w)).length;
    return words.sort((a, b) => count(a) - count(b))[0] || '';
})()"""
OVERFLOW = """(() => ({
    page: document.documentElement.scrollWidth, window: window.innerWidth,
    nav: Array.from(document.querySelectorAll('nav a'))
        .filter(a => a.getBoundingClientRect().right > window.innerWidth + 1).length,
}))()"""


def exercise(page: _Page, tag: str) -> tuple[dict[str, Any], list[str]]:
    """Click a heatmap cell, search, toggle filters and sort, as a user would; screenshots."""
    problems: list[str] = []
    facts: dict[str, Any] = {}
    width = page.js("window.innerWidth")
    size = page.js(OVERFLOW)
    facts["overflow"] = size
    if size["page"] > size["window"] + 1:
        problems.append(f"{tag}: page is {size['page']} px wide in a {size['window']} px window")
    if size["nav"]:
        problems.append(f"{tag}: {size['nav']} navigation link(s) run off the window")
    page.shot(f"report-{tag}-top.png")
    cell = page.js(
        "(() => { const a = Array.from(document.querySelectorAll('table.heat a[data-group]'))"
        ".find(a => +a.textContent > 0); if (!a) return null; a.id = 'picked-cell';"
        " return {code: a.dataset.code, group: a.dataset.group, n: +a.textContent}; })()"
    )
    if cell and page.click("#picked-cell"):
        shown = page.js(VISIBLE)
        facts["cell"] = {**cell, "shown": len(shown)}
        wrong = [p for p in shown if p["code"] != cell["code"] or cell["group"] not in p["groups"]]
        if len(shown) != cell["n"] or wrong or not all(p["open"] for p in shown):
            problems.append(f"{tag}: heatmap cell {cell} showed {len(shown)} passages")
        page.shot(f"report-{tag}-cell.png")
        page.click("#clear")
    total = len(page.js(VISIBLE))
    facts["total_visible"] = total
    word = page.js(RARE_WORD)
    if word:
        page.type("#search", word)
        shown = page.js(VISIBLE)
        facts["search"] = {"word": word, "shown": len(shown)}
        if not shown or any(word not in p["text"] for p in shown):
            problems.append(f"{tag}: search {word!r} left {len(shown)} of {total} passages")
        page.js(SHOW_FIRST)
        page.shot(f"report-{tag}-search.png")
        page.click("#clear")
    theme = page.js(
        "(b => b ? b.dataset.theme : null)(document.querySelector('button[data-theme]'))"
    )
    if theme and page.click(f"button[data-theme='{theme}']"):
        shown = page.js(VISIBLE)
        facts["theme"] = {"theme": theme, "shown": len(shown)}
        if not shown or any(p["theme"] != theme for p in shown) or len(shown) >= total:
            problems.append(f"{tag}: theme filter {theme} showed {len(shown)} of {total}")
        page.js(SHOW_FIRST)
        page.shot(f"report-{tag}-filter.png")
        page.click("#clear")
    page.click("#weak")
    weak = page.js(
        "Array.from(document.querySelectorAll('article.code[id]'))"
        ".filter(a => !a.hidden).map(a => a.dataset.flags)"
    )
    facts["weak_filter"] = weak
    if any("weak" not in flags.split() for flags in weak):
        problems.append(f"{tag}: the weak filter left codes that are not weak")
    page.click("#clear")
    facts["width"] = width
    return facts, problems


def _sorts(page: _Page) -> list[str]:
    """Click the code table's 'passages' heading: the column must come out ascending."""
    index = page.js(
        "Array.from(document.querySelectorAll('#code-table thead th'))"
        ".findIndex(th => th.textContent === 'passages')"
    )
    if index is None or index < 0 or not page.click(f"#code-table thead th:nth-child({index + 1})"):
        return ["no sortable 'passages' column in the code table"]
    values = page.js(
        f"Array.from(document.querySelectorAll('#code-table tbody tr'))"
        f".map(r => +r.cells[{index}].textContent)"
    )
    return [] if values == sorted(values) else [f"sorting by passages gave {values}"]


def check_report(
    html: Path, out_dir: Path, chromium: str | None = None, interact: bool = True
) -> BrowserCheck:
    """Load ``html`` in headless chromium; screenshots go to ``out_dir``.

    With ``interact``, also use the page at desktop width and at 375 px (phone): click a
    heatmap cell, search, toggle filters, sort; and load it once with scripts off.
    """
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError("chromium not found (apt-get install -y chromium)")
    out_dir.mkdir(parents=True, exist_ok=True)
    check = BrowserCheck()
    with _browser(browser) as (pipe, log_path):
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            pipe.send(f"{domain}.enable", session=session)
        page = _Page(pipe, session, out_dir)
        page.resize(WIDTH, 900, mobile=False)
        page.load(html)
        check.facts = json.loads(page.js(FACTS))
        if check.facts["broken"]:
            check.problems.append(f"{check.facts['broken']} image(s) did not decode")
        page.shot("report-top.png", (0, 0, WIDTH, min(check.facts["height"], 2400)))
        if check.facts["figures"]:
            top = max(0, int(check.facts["figures"][0]) - 60)
            page.shot("report-figures.png", (0, top, WIDTH, min(check.facts["height"] - top, 2000)))
        if interact:
            _interact(page, html, check)
        check.problems.extend(_problems_from_events(pipe.events))
        check.screenshots = page.screenshots
        with contextlib.suppress(RuntimeError, TimeoutError):
            pipe.send("Browser.close", timeout=10)
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    log_path.unlink()
    (out_dir / "chromium.log").write_text(log_text, encoding="utf-8")
    for line in log_text.splitlines():
        if "Uncaught" in line or "ERROR:CONSOLE" in line:
            check.problems.append(f"chromium log: {line.strip()[:200]}")
    return check


def _interact(page: _Page, html: Path, check: BrowserCheck) -> None:
    for tag, (width, height, mobile) in {
        "desktop": (WIDTH, 900, False), "phone": (PHONE, 812, True)
    }.items():  # fmt: skip
        page.resize(width, height, mobile)
        page.load(html)
        facts, problems = exercise(page, tag)
        check.facts[tag] = facts
        check.problems.extend(problems)
    page.resize(WIDTH, 900, mobile=False)
    check.problems.extend(_sorts(page))
    page.send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.load(html)
    noscript = page.js("document.querySelectorAll('li.passage').length")
    check.facts["noscript_passages"] = noscript
    if noscript != check.facts["passages"]:
        check.problems.append(f"with scripts off the page holds {noscript} passages")
    page.shot("report-noscript.png")
    page.send("Emulation.setScriptExecutionDisabled", {"value": False})


@contextlib.contextmanager
def _browser(browser: str) -> Iterator[tuple[_Pipe, Path]]:
    """Chromium on a DevTools pipe, in a fresh profile; closed (or killed) on the way out."""
    cmd_read, cmd_write = os.pipe()
    res_read, res_write = os.pipe()
    # Move the child's ends above 3 and 4 first, so placing them on 3 and 4 clobbers nothing.
    child_read = fcntl.fcntl(cmd_read, fcntl.F_DUPFD, 10)
    child_write = fcntl.fcntl(res_write, fcntl.F_DUPFD, 10)
    os.close(cmd_read)
    os.close(res_write)

    def wire_fds() -> None:  # runs in the child: DevTools reads fd 3, writes fd 4
        os.dup2(child_read, 3)
        os.dup2(child_write, 4)

    # The log lives outside the profile folder, which is gone once chromium has closed.
    handle, name = tempfile.mkstemp(prefix="cppthemes-chromium-", suffix=".log")
    os.close(handle)
    log_path = Path(name)
    with tempfile.TemporaryDirectory(prefix="cppthemes-chromium-") as profile:
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [browser, *FLAGS, f"--user-data-dir={profile}/profile", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(3, 4, child_read, child_write),
                preexec_fn=wire_fds,
            )
        os.close(child_read)
        os.close(child_write)
        try:
            yield _Pipe(proc, cmd_write, res_read), log_path
        finally:
            os.close(cmd_write)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(res_read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="report.html to open")
    parser.add_argument("--out", type=Path, default=Path("artifacts/report-browser"))
    args = parser.parse_args(argv)
    check = check_report(args.html, args.out)
    print(json.dumps(check.facts), file=sys.stderr)
    for path in check.screenshots:
        print(f"screenshot: {path}", file=sys.stderr)
    for problem in check.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if check.problems else 0


if __name__ == "__main__":
    sys.exit(main())
