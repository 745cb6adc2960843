"""Which version of the course code a lab notebook was generated with, and how to get that version.

`make labs` stamps each notebook with the digest of the code it imports (`ftcourse/*.py` and the
smoke profile's data). In Colab the setup cell clones the repository (or updates a clone left by an
earlier run) and calls `checkout_matching(repo, digest)`: if the clone's code has another digest (a
notebook saved to Drive weeks ago, say), it checks out the newest commit whose code has the notebook's
digest, so notebook and code always match. This works as long as the history of `main` is never
rewritten. `python -m ftcourse.version` prints the digest of a checkout.

Why a digest and not a tag or a commit: a notebook cannot carry the hash of the commit that
contains it, and tags would need a release for every change of a course that is edited weekly.
A digest is known when the notebook is generated, a test keeps every notebook's stamp equal to the
code next to it, and any commit with that code is found in the clone's history.

Standard library only: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import subprocess
import sys
from pathlib import Path

from .errors import LabError
from .paths import REPO_ROOT

STAMPED = ("ftcourse/*.py", "data/synthetic_chat.jsonl")  # what a lab imports or reads
DIGEST_CHARS = 16


def _stamped(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) and path.count("/") == pattern.count("/") for pattern in STAMPED)


def digest(files: dict[str, bytes]) -> str:
    """The digest of {relative path: content} for the stamped paths among them."""
    h = hashlib.sha256()
    for path in sorted(p for p in files if _stamped(p)):
        h.update(path.encode() + b"\0" + str(len(files[path])).encode() + b"\0" + files[path])
    return h.hexdigest()[:DIGEST_CHARS]


def worktree_digest(root: Path = REPO_ROOT) -> str:
    files = {}
    for pattern in STAMPED:
        for path in root.glob(pattern):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return digest(files)


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True).stdout


def commit_digest(repo: Path, commit: str) -> str:
    """The digest of the stamped files as they are in `commit` (read from git, not the work tree)."""
    listing = _git(repo, "ls-tree", "-r", "--full-tree", commit).decode().splitlines()
    blobs = {}
    for line in listing:
        meta, path = line.split("\t", 1)
        if _stamped(path):
            blobs[path] = meta.split()[2]
    files = {path: _git(repo, "cat-file", "blob", sha) for path, sha in blobs.items()}
    return digest(files)


def checkout_matching(repo: Path, wanted: str) -> str:
    """Make the clone's code the version with digest `wanted`; returns the commit it is at.

    The clone needs its history (`git clone --filter=blob:none` fetches it without old file
    contents); only the commits that changed a stamped file are read.
    """
    head = _git(repo, "rev-parse", "HEAD").decode().strip()
    if worktree_digest(repo) == wanted:
        return head
    paths = sorted({pattern.split("/")[0] for pattern in STAMPED})
    for commit in _git(repo, "rev-list", "HEAD", "--", *paths).decode().split():
        if commit_digest(repo, commit) == wanted:
            _git(repo, "checkout", "-q", commit)
            # the course modules already imported are from the other version: read them again
            for name in [m for m in sys.modules if m == "ftcourse" or m.startswith("ftcourse.")]:
                del sys.modules[name]
            print(f"이 노트북을 만든 버전의 강의 코드로 맞췄습니다: 커밋 {commit[:10]} "
                  f"(checked out the course code this notebook was generated with)")
            return commit
    raise LabError(
        f"이 노트북을 만든 강의 코드(버전 {wanted})를 저장소에서 찾지 못했습니다. 강의 사이트의 "
        "'Open in Colab' 링크로 노트북을 새로 열어 처음부터 실행하세요.",
        f"No commit of the course repository has the code this notebook was generated with ({wanted}). "
        "Open the notebook again from the course site's Colab link.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the code digest of a checkout (what `make labs` stamps).")
    parser.add_argument("repo", nargs="?", type=Path, default=REPO_ROOT)
    print(worktree_digest(parser.parse_args(argv).repo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
