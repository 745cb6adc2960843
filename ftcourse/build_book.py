"""Strict site build: `python -m ftcourse.build_book [BOOK_DIR]` (what `make book` runs).

Runs `jupyter-book build BOOK_DIR -W -n --keep-going`: any warning, broken reference or failing
chapter cell fails the build. On failure it prints each problem with the file it names.

Jupyter Book's execution cache keys a page by its own code cells only, so a page whose cells did not
change would keep outputs computed with older course code (`ftcourse`), labs or pins. The build therefore
drops the cache whenever one of PAGE_INPUTS changed since the cache was made.
"""
from __future__ import annotations

import hashlib
import re
import shutil
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


# What executed pages read besides their own cells: the course code, the labs (the rubric and the lesson
# plan are generated from them), the smoke data and the pins.
PAGE_INPUTS = ("ftcourse/*.py", "solutions/*.ipynb", "data/*.jsonl", "requirements.txt")


def code_stamp(book_dir: Path) -> str:
    """A digest of PAGE_INPUTS as they are now."""
    h = hashlib.sha256()
    for path in sorted(p for pattern in PAGE_INPUTS for p in book_dir.glob(pattern)):
        h.update(path.relative_to(book_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def drop_stale_cache(book_dir: Path) -> Path:
    """Empty the execution cache if it was made with other course code; returns the stamp file."""
    cache = book_dir / "_build" / ".jupyter_cache"
    stamp = cache / "course-code.stamp"  # inside the cache, so a restored cache carries its own stamp
    if cache.exists() and (not stamp.exists() or stamp.read_text() != code_stamp(book_dir)):
        print("book: the course code, labs, data or pins changed since the last build: every page runs again", flush=True)
        shutil.rmtree(cache)
    return stamp


def main(argv: list[str]) -> int:
    book_dir = Path(argv[0] if argv else ".").resolve()
    stamp = drop_stale_cache(book_dir)
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
    if stamp.parent.exists():
        stamp.write_text(code_stamp(book_dir))
    print(f"book: built. Open {book_dir / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
