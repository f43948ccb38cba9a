"""Refresh the outputs shown in README.md from the demo workspace (run after `make demo`).

Every ```text block of README.md holds ``$ command`` lines followed by their output. This
re-runs each command from the project root (COLUMNS=200, no colour) and puts its real output
back. Conventions kept: an output that starts with ``...`` shows only its tail, from the first
line that begins like the line after ``...`` (e.g. a table title); an output that ends with
``...`` shows only its first lines, up to the first line after the same number of table ends
(``└``) as before; a command whose output is an ``error:`` line keeps that hand-shortened line
(tests/cli/test_examples.py checks it).

    .venv/bin/python scripts/readme_outputs.py            # rewrite README.md
    .venv/bin/python scripts/readme_outputs.py --check    # exit 1 if an output changed
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def run(command: str) -> list[str]:
    argv = shlex.split(command)
    env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + (proc.stderr if proc.returncode not in (0, 1) else "")
    return [line.rstrip() for line in out.rstrip("\n").splitlines()]


def refresh(old: list[str], command: str) -> list[str]:
    if old and old[0].startswith("error:"):
        return old
    new = run(command)
    if old and old[0] == "...":
        head = old[1].split()[0] if len(old) > 1 and old[1].split() else ""
        start = next((i for i, line in enumerate(new) if head and line.startswith(head)), None)
        if start is None:
            raise SystemExit(f"cannot find {head!r} in the output of: {command}")
        return ["...", *new[start:]]
    if old and old[-1] == "...":
        tables = sum(1 for line in old if line.startswith("└"))
        seen = 0
        for end, line in enumerate(new):
            seen += line.startswith("└")
            if seen == tables:
                return [*new[:end + 1], "..."]
    return new


def main() -> int:
    text = README.read_text(encoding="utf-8")
    blocks = re.split(r"(```text\n.*?```)", text, flags=re.S)
    out = []
    for block in blocks:
        if not block.startswith("```text\n"):
            out.append(block)
            continue
        lines = block[len("```text\n"):-3].rstrip("\n").split("\n")
        result, i = [], 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise SystemExit(f"README text block line is not a command: {lines[i]!r}")
            cmd_lines = [lines[i]]
            while cmd_lines[-1].endswith("\\"):
                i += 1
                cmd_lines.append(lines[i])
            i += 1
            old = []
            while i < len(lines) and not lines[i].startswith("$ "):
                old.append(lines[i])
                i += 1
            command = " ".join(c.rstrip("\\").strip() for c in cmd_lines)[2:]
            result += cmd_lines + refresh(old, command)
        out.append("```text\n" + "\n".join(result) + "\n```")
    new_text = "".join(out)
    if "--check" in sys.argv:
        return int(new_text != text)
    README.write_text(new_text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
