"""summ.display: the side-by-side view, tables, and Arabic labels for matplotlib."""

from __future__ import annotations

import re

import pytest

from summ import display
from summ.display import (
    arabic_font,
    arabic_label,
    bar_chart,
    markdown,
    shape_arabic,
    side_by_side,
    table,
)

AR = "وقال الرئيس: «هل أنتم بخير؟» ثم غادر."
EN = 'The president said: "Are you well?" then left.'


def _cells(html: str) -> list[str]:
    """Every body cell, tag and content."""
    return re.findall(r"<td[^>]*>.*?</td>", html, flags=re.S)


def _rule(html: str, selector: str) -> str:
    """The CSS properties the view's style block gives ``selector`` (e.g. ``td.rtl``)."""
    return re.search(rf"#T_\w+ {re.escape(selector)} \{{([^}}]*)\}}", html).group(1)


# --------------------------------------------------------------------------- side_by_side


def test_arabic_cells_are_rtl_and_english_cells_ltr() -> None:
    view = side_by_side([AR], [EN], ["reference"], headers=["source", "output", "reference"])
    html = view.to_html()
    ar_cell, en_cell, ref_cell = _cells(html)
    assert 'class="data row0 col0 rtl"' in ar_cell and '<span dir="rtl" lang="ar">' in ar_cell
    for cell in (en_cell, ref_cell):
        assert " ltr" in cell and '<span dir="ltr" lang="en">' in cell
    rtl, ltr = _rule(html, "td.rtl"), _rule(html, "td.ltr")
    assert "direction: rtl" in rtl and "text-align: right" in rtl
    assert "direction: ltr" in ltr and "text-align: left" in ltr


def test_explicit_langs_override_the_guess() -> None:
    # Untranslated Arabic in an English output column stays in an LTR column: the column's
    # language is what the user says it is.
    ar_cell, en_cell = _cells(side_by_side([AR], [AR], langs=["ar", "en"]).to_html())
    assert 'dir="rtl"' in ar_cell and " rtl" in ar_cell
    assert 'dir="ltr"' in en_cell and " ltr" in en_cell


def test_guessed_headers_name_the_languages() -> None:
    html = side_by_side([AR], [EN]).to_html()
    assert ">Arabic</th>" in html and ">English</th>" in html
    assert "text-align: right" in _rule(html, "th.col0")  # the Arabic column's header too


def test_content_is_html_escaped() -> None:
    html = side_by_side(["<script>alert('x')</script> نص"], ["a & b <b>bold</b>"],
                        caption="<i>caption</i>", index=["<doc>"],
                        headers=["<h>", "out"]).to_html()
    assert "<script>" not in html and "<b>bold" not in html and "<i>" not in html and "<doc>" not in html
    assert "&lt;script&gt;" in html and "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in html
    assert ">&lt;h&gt;</th>" in html


def test_mismatched_lengths_name_every_column() -> None:
    with pytest.raises(ValueError, match=r"'source' has 2, 'output' has 1 rows"):
        side_by_side([AR, AR], [EN], headers=["source", "output"])
    with pytest.raises(ValueError, match=r"index has 3"):
        side_by_side([AR], [EN], index=["a", "b", "c"])
    with pytest.raises(ValueError, match="2 columns but 1 headers"):
        side_by_side([AR], [EN], headers=["only one"])


def test_mismatched_lengths_are_caught_when_headers_repeat() -> None:
    # hyp and ref both default to the header "English": keyed by header, one count hid the other.
    with pytest.raises(ValueError, match=r"column 1 \('English'\) has 1, column 2 \('English'\) has 2 rows"):
        side_by_side(["one"], ["x", "y"])
    with pytest.raises(ValueError, match=r"column 1 \('English'\) has 2, column 2 \('English'\) has 1, "
                                         r"column 3 \('English'\) has 2 rows"):
        side_by_side(["a", "b"], ["x"], ["y", "z"])
    with pytest.raises(ValueError, match=r"column 1 \('same'\) has 2, column 2 \('same'\) has 1, 'other' has 1 rows"):
        side_by_side(["a", "b"], ["x"], ["y"], headers=["same", "same", "other"])
    html = side_by_side(["a", "b"], ["x", "y"]).to_html()
    assert html.count("<tr") == 3 and html.count(">English</th>") == 2  # header + two rows


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(TypeError, match="not a bare string"):
        side_by_side(AR, [EN])


def test_long_text_wraps_inside_fixed_columns() -> None:
    # The second column is one 1200-character unbroken token.
    html = side_by_side(["كلمة " * 500], ["word" * 300]).to_html()
    table = _rule(html, "")
    assert "table-layout: fixed" in table and "width: 100%" in table
    cell = _rule(html, "td")
    assert "white-space: pre-wrap" in cell and "overflow-wrap: anywhere" in cell
    assert all(" rtl" in c or " ltr" in c for c in _cells(html))


def test_index_scores_and_missing_values() -> None:
    import pandas as pd

    view = side_by_side(pd.Series([AR, None]), [EN, float("nan")], [12.345, pd.NA],
                        headers=["source", "output", "chrF"], index=["bbc.1 #3", "bbc.1 #4"])
    html = view.to_html()
    assert ">12.3</span></td>" in html and ">bbc.1 #3</td>" in html
    assert view.data.values.tolist() == [["bbc.1 #3", AR, EN, "12.3"],
                                         ["bbc.1 #4", "–", "–", "–"]]


def test_save_writes_a_utf8_page(tmp_path) -> None:
    path = tmp_path / "x.html"
    side_by_side([AR], [EN], caption="seed").to_html(path, doctype_html=True)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and AR in page


def test_views_of_one_notebook_have_distinct_ids() -> None:
    # Each view's CSS is scoped to its table id: two views with one id would restyle each other.
    first, second = side_by_side([AR], [EN]).to_html(), side_by_side([AR], [EN]).to_html()
    ids = [re.search(r'id="(T_\w+)"', html).group(1) for html in (first, second)]
    assert ids[0] != ids[1]


# --------------------------------------------------------------------------- table, markdown


def test_table_formats_and_directs_cells() -> None:
    view = table([{"outlet": "bbc", "chrF": 51.234, "note": None}, {"outlet": "الجزيرة", "chrF": 7, "note": "x"}],
                 caption="by outlet")
    html = view.to_html()
    assert ">51.2</td>" in html and ">7</td>" in html and ">–</span></td>" in html
    numbers = [c for c in _cells(html) if " number" in c]
    assert len(numbers) == 2 and "text-align: right" in _rule(html, "td.number")
    arabic = [c for c in _cells(html) if " rtl" in c]
    assert len(arabic) == 1 and "الجزيرة" in arabic[0] and 'lang="ar"' in arabic[0]
    assert "<caption>by outlet</caption>" in html
    assert view.data.values.tolist() == [["bbc", "51.2", "–"], ["الجزيرة", "7", "x"]]


def test_table_of_one_record_is_vertical() -> None:
    html = table({"segments": 17, "capped": 0}).to_html()
    assert re.findall(r"<th[^>]*>([^<]*)</th>", html) == ["field", "value"]
    assert ">segments</span></td>" in html and ">17</td>" in html


def test_table_shows_a_frames_index_and_lists() -> None:
    import pandas as pd

    frame = pd.DataFrame({"system": ["a", "b"], "chrf": [1.25, 2.0], "flags": [["capped"], []]})
    pivot = frame.set_index("system")
    view = table(pivot, digits=2)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", view.to_html()) == ["system", "chrf", "flags"]
    assert view.data.values.tolist() == [["a", "1.25", "capped"], ["b", "2.00", ""]]
    filtered = pivot.reset_index().iloc[[1]]  # row numbers are not data
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table(filtered).to_html())
    assert headers == ["system", "chrf", "flags"]


def test_markdown_is_rendered_as_markdown() -> None:
    md = markdown("| a |\n|---|\n| 1 |")
    assert md._repr_markdown_().startswith("| a |") and repr(md) == md.text


# --------------------------------------------------------------------------- Arabic in matplotlib


def test_shape_arabic_joins_letters_and_reverses_to_visual_order() -> None:
    shaped = shape_arabic("بوتين")
    # Presentation forms (joined glyphs), in visual order: the last letter (noon) comes first.
    assert all("\ufe70" <= ch <= "\ufeff" for ch in shaped)
    assert shaped[0] == "\ufee6"  # final noon
    assert shaped[-1] == "\ufe91"  # initial beh
    assert len(shaped) == 5


def test_shape_arabic_leaves_english_and_numbers_unchanged() -> None:
    for text in ("chrF by outlet", "3.5 (n=12)", ""):
        assert shape_arabic(text) is text


def test_shape_arabic_keeps_mixed_text_readable() -> None:
    shaped = shape_arabic("bbc: بوتين")
    assert shaped.startswith("bbc: ") and "\ufe91" in shaped


def test_arabic_label_shapes_only_when_matplotlib_cannot(monkeypatch) -> None:
    monkeypatch.setattr(display, "matplotlib_shapes_text", lambda: True)
    assert arabic_label("بوتين") == "بوتين"  # libraqm shapes it; shaping twice would reverse it
    monkeypatch.setattr(display, "matplotlib_shapes_text", lambda: False)
    assert arabic_label("بوتين") == shape_arabic("بوتين")
    assert arabic_label("English") == "English"


def test_an_arabic_font_is_found() -> None:
    # matplotlib bundles DejaVu Sans, which has Arabic (and its presentation forms).
    assert arabic_font() is not None


def test_bar_chart_with_arabic_labels_renders_png() -> None:
    plot = bar_chart(["الأمم المتحدة", "bbc"], [3.0, 1.5], title="كلمات", xlabel="count")
    png = plot._repr_png_()
    assert png.startswith(b"\x89PNG")
    ticks = plot.figure.axes[0].get_yticklabels()
    assert [t.get_text() for t in ticks] == [arabic_label("الأمم المتحدة"), "bbc"]
    assert ticks[0].get_fontfamily()[0] == arabic_font()
    with pytest.raises(ValueError, match="2 labels but 1 values"):
        bar_chart(["a", "b"], [1.0])


def test_an_arabic_font_is_found_whatever_the_font_cache_order(monkeypatch) -> None:
    """matplotlib's font list comes in the order its cache was built; a family's first entry
    can be a face without Arabic (DejaVu Sans Bold Oblique), which must not hide the family."""
    from matplotlib import font_manager

    entries = font_manager.fontManager.ttflist
    faceless = sorted(entries, key=lambda e: (e.style == "normal", -abs(e.weight - 400)
                                              if isinstance(e.weight, int) else 0))
    monkeypatch.setattr(font_manager.fontManager, "ttflist", faceless)
    display.arabic_font.cache_clear()
    try:
        assert arabic_font() is not None
    finally:
        display.arabic_font.cache_clear()
