"""ftcourse.reading: what counts as a word a student reads, and the lecture-length guard."""
import pytest

from ftcourse import reading

PAGE = """---
jupytext: {}
---
# 제목 하나

본문 네 어절입니다 {glue:text}`n`개.

```{code-cell} ipython3
x = "코드는 세지 않습니다"
```

:::{admonition} 더 깊이
:class: dropdown
상자 안의 세 어절.
:::

$$
a + b
$$

````{solution-start} ex
````
해답은 세지 않습니다.
````{solution-end}
````
"""


def test_words_split_into_main_line_and_deep_boxes():
    # "# 제목 하나" = 3, "본문 네 어절입니다 X개." = 4; the box holds 4; code, maths, options, solutions: 0
    assert reading.reading_words(PAGE) == (7, 4)


def test_no_front_matter_is_fine():
    assert reading.reading_words("한 줄 세 어절") == (4, 0)


def test_every_chapter_fits_a_lecture():
    for page in ("intro", "ch1_peft", "ch2_lora", "ch3_quant", "ch4_merging", "recipe"):
        main_min, all_min = reading.reading_minutes(page)
        assert 1 <= main_min <= all_min, (page, main_min, all_min)


def test_a_page_too_long_for_a_lecture_fails(tmp_path, monkeypatch):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "long.md").write_text("어절 " * (reading.READING_WPM * 41), encoding="utf-8")
    monkeypatch.setattr(reading, "REPO_ROOT", tmp_path)
    with pytest.raises(ValueError, match="41 min"):
        reading.reading_minutes("long")
