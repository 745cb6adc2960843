"""make book drops the execution cache when the course code changed since it was made (a page's cache key
is its own cells only, so otherwise a page would keep outputs of older `ftcourse` code)."""
import shutil

from ftcourse.build_book import code_stamp, drop_stale_cache


def make_tree(tmp_path):
    (tmp_path / "ftcourse").mkdir()
    (tmp_path / "ftcourse" / "quiz.py").write_text("ANSWER = 1\n")
    (tmp_path / "requirements.txt").write_text("torch==2.13.0\n")
    (tmp_path / "solutions").mkdir(exist_ok=True)
    (tmp_path / "solutions" / "lab1.ipynb").write_text("{}")
    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    (cache / "global.db").write_text("executed pages")
    (cache / "course-code.stamp").write_text(code_stamp(tmp_path))  # as a finished build leaves it
    return cache


def test_a_cache_made_with_the_same_code_is_kept(tmp_path):
    cache = make_tree(tmp_path)
    drop_stale_cache(tmp_path)
    assert (cache / "global.db").exists()


def test_changed_course_code_or_pins_drop_the_cache(tmp_path):
    for changed in ("ftcourse/quiz.py", "requirements.txt", "solutions/lab1.ipynb"):
        cache = make_tree(tmp_path)
        (tmp_path / changed).write_text("changed\n")
        drop_stale_cache(tmp_path)
        assert not cache.exists(), changed
        shutil.rmtree(tmp_path / "ftcourse")
        shutil.rmtree(tmp_path / "solutions")


def test_a_cache_without_a_stamp_is_dropped(tmp_path):
    cache = make_tree(tmp_path)
    (cache / "course-code.stamp").unlink()
    drop_stale_cache(tmp_path)
    assert not cache.exists()
