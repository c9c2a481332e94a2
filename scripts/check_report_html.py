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


def check_report(html: Path, out_dir: Path, chromium: str | None = None) -> BrowserCheck:
    """Load ``html`` in headless chromium; screenshots go to ``out_dir``."""
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError("chromium not found (apt-get install -y chromium)")
    out_dir.mkdir(parents=True, exist_ok=True)
    check = BrowserCheck()
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

    with tempfile.TemporaryDirectory(prefix="cppthemes-chromium-") as profile:
        log_path = Path(profile) / "chromium.log"
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
        pipe = _Pipe(proc, cmd_write, res_read)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            pipe.send("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
            pipe.wait_for("Page.loadEventFired")
            facts = pipe.send(
                "Runtime.evaluate",
                {
                    "expression": """JSON.stringify({
                        title: document.title,
                        height: document.documentElement.scrollHeight,
                        images: document.images.length,
                        broken: Array.from(document.images)
                            .filter(i => !i.complete || i.naturalWidth === 0).length,
                        codes: document.querySelectorAll('article.code').length,
                        quotes: document.querySelectorAll('blockquote').length,
                        figures: Array.from(document.querySelectorAll('figure'))
                            .map(f => f.getBoundingClientRect().top + window.scrollY),
                    })""",
                    "returnByValue": True,
                },
                session=session,
            )["result"]["value"]
            check.facts = json.loads(facts)
            if check.facts["broken"]:
                check.problems.append(f"{check.facts['broken']} image(s) did not decode")
            shots = {"report-top.png": (0, min(check.facts["height"], 2400))}
            if check.facts["figures"]:
                top = max(0, int(check.facts["figures"][0]) - 60)
                shots["report-figures.png"] = (top, min(check.facts["height"] - top, 2000))
            for name, (y, height) in shots.items():
                data = pipe.send(
                    "Page.captureScreenshot",
                    {
                        "format": "png",
                        "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": y, "width": WIDTH, "height": height, "scale": 1},
                    },
                    session=session,
                )["data"]
                path = out_dir / name
                path.write_bytes(base64.b64decode(data))
                check.screenshots.append(path)
            check.problems.extend(_problems_from_events(pipe.events))
            with contextlib.suppress(RuntimeError, TimeoutError):
                pipe.send("Browser.close", timeout=10)
        finally:
            os.close(cmd_write)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(res_read)
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
    (out_dir / "chromium.log").write_text(log_text, encoding="utf-8")
    for line in log_text.splitlines():
        if "Uncaught" in line or "ERROR:CONSOLE" in line:
            check.problems.append(f"chromium log: {line.strip()[:200]}")
    return check


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
