"""Strict site build: `python -m ftcourse.build_book [BOOK_DIR]` (what `make book` runs).

Runs `jupyter-book build BOOK_DIR -W -n --keep-going`: any warning, broken reference or failing
chapter cell fails the build. On failure it prints each problem with the file it names.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROBLEM = re.compile(r"(WARNING|ERROR|CRITICAL|Error|Exception)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build(book_dir: Path) -> tuple[int, str]:
    """Build the site; returns the exit code and the full log."""
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(book_dir), "-W", "-n", "--keep-going"]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(book_dir), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=book_dir)
    return proc.returncode, ANSI.sub("", proc.stdout + proc.stderr)


def problems(log: str) -> list[str]:
    """The log lines that report a problem (Sphinx prefixes them with the file they concern)."""
    return [line for line in log.splitlines() if PROBLEM.search(line) and "[IPKernelApp]" not in line]


def main(argv: list[str]) -> int:
    book_dir = Path(argv[0] if argv else ".").resolve()
    print(f"book: building {book_dir} strictly (-W -n --keep-going)...", flush=True)
    code, log = build(book_dir)
    log_path = book_dir / "_build" / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(log, encoding="utf-8")
    if code != 0:
        print(f"book: the strict build FAILED (full log: {log_path}):", file=sys.stderr)
        for line in problems(log) or log.splitlines()[-20:]:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"book: built. Open {book_dir / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
