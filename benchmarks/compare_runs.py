"""Compare run folders file by file: are a refactoring's outputs byte-identical to before?

    python benchmarks/compare_runs.py REFERENCE_DIR NEW_DIR [REFERENCE_DIR NEW_DIR ...]

Every file of the reference folder must exist in the new one with the same bytes, except
run.json, which is compared as JSON without ``timings_s`` (seconds differ from run to run).
Prints one line per differing file (for run.json, the keys that differ) and exits 1 if any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

IGNORED_KEYS = ("timings_s",)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def run_json_differences(old: Path, new: Path) -> list[str]:
    """Dotted keys whose values differ between two run.json files (timings left out)."""
    a = json.loads(old.read_text(encoding="utf-8"))
    b = json.loads(new.read_text(encoding="utf-8"))
    for key in IGNORED_KEYS:
        a.pop(key, None)
        b.pop(key, None)
    fa, fb = _flat(a), _flat(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k, "<absent>") != fb.get(k, "<absent>"))


def compare(old_dir: Path, new_dir: Path) -> list[str]:
    """One message per file of ``old_dir`` that ``new_dir`` lacks or holds differently."""
    problems = []
    for old in sorted(p for p in old_dir.iterdir() if p.is_file()):
        new = new_dir / old.name
        if not new.is_file():
            problems.append(f"{new}: missing")
        elif old.name == "run.json":
            keys = run_json_differences(old, new)
            if keys:
                problems.append(f"{new}: differs in {', '.join(keys)}")
        elif old.read_bytes() != new.read_bytes():
            problems.append(f"{new}: differs")
    extra = sorted(p.name for p in new_dir.iterdir() if not (old_dir / p.name).exists())
    if extra:
        problems.append(f"{new_dir}: new files {', '.join(extra)}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    for old, new in zip(argv[::2], argv[1::2], strict=True):
        problems += compare(Path(old), Path(new))
    for line in problems:
        print(line)
    if not problems:
        print("identical (run.json: but for timings)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
