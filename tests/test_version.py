"""ftcourse.version: a notebook's code digest, and finding the commit whose code has it."""
import subprocess
import sys

import pytest

from ftcourse import version
from ftcourse.errors import LabError


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path):
    """A repository with three commits: v1 of the course code, v2, then a change outside the stamp."""
    (tmp_path / "ftcourse").mkdir()
    (tmp_path / "data").mkdir()
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.org")
    git(tmp_path, "config", "user.name", "t")
    digests = []
    for text in ("v1", "v2"):
        (tmp_path / "ftcourse" / "steps.py").write_text(f"VERSION = '{text}'\n")
        (tmp_path / "data" / "synthetic_chat.jsonl").write_text(f'{{"v": "{text}"}}\n')
        git(tmp_path, "add", ".")
        git(tmp_path, "commit", "-q", "-m", text)
        digests.append(version.worktree_digest(tmp_path))
    (tmp_path / "README.md").write_text("not stamped\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "readme")
    return tmp_path, digests


def test_digest_covers_the_code_and_the_data_only(repo):
    root, (v1, v2) = repo
    assert v1 != v2 and version.worktree_digest(root) == v2  # README.md is not stamped
    (root / "ftcourse" / "sub").mkdir()
    (root / "ftcourse" / "sub" / "x.py").write_text("ignored = 1\n")  # only ftcourse/*.py
    assert version.worktree_digest(root) == v2
    assert version.commit_digest(root, "HEAD") == v2 and version.commit_digest(root, "HEAD~2") == v1


@pytest.fixture()
def course_modules_kept():
    """checkout_matching drops the imported `ftcourse` modules (in Colab they are the other version's);
    here they must come back, or later tests would hold classes (LabError) that the modules no longer raise."""
    kept = {name: module for name, module in sys.modules.items() if name == "ftcourse" or name.startswith("ftcourse.")}
    yield
    sys.modules.update(kept)


def test_checkout_matching_finds_the_notebooks_version(repo, capsys, course_modules_kept):
    root, (v1, v2) = repo
    head, first = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD~2")
    assert version.checkout_matching(root, v2) == head  # already there: nothing moves
    assert version.checkout_matching(root, v1) == first == git(root, "rev-parse", "HEAD")
    assert (root / "ftcourse" / "steps.py").read_text() == "VERSION = 'v1'\n"
    assert "커밋" in capsys.readouterr().out


def test_an_unknown_version_says_what_to_do(repo):
    root, _ = repo
    with pytest.raises(LabError) as err:
        version.checkout_matching(root, "0" * version.DIGEST_CHARS)
    assert "Open in Colab" in err.value.ko and "Colab link" in err.value.en


def test_every_lab_is_stamped_with_the_code_next_to_it():
    import nbformat

    from ftcourse.paths import REPO_ROOT

    digest = version.worktree_digest()
    for path in sorted([*REPO_ROOT.glob("labs/*.ipynb"), *REPO_ROOT.glob("solutions/*.ipynb")]):
        setup = next(c for c in nbformat.read(path, as_version=4).cells if c.get("id") == "lab-setup")
        assert f'COURSE_CODE = "{digest}"' in setup.source, f"{path.name}: stale stamp, run `make labs`"
