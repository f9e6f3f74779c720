"""Notebook views: Arabic beside English in the right direction, tables, images and plots.

Everything here returns an object a notebook shows by itself (no IPython needed):
:func:`side_by_side` (aligned columns) and :func:`table` (records or a DataFrame) as a pandas
``Styler``, whose Arabic cells are right to left by CSS and carry ``dir="rtl" lang="ar"``
(English ``dir="ltr" lang="en"``), wrap long text and HTML-escape every string;
:func:`markdown` and :func:`image` for stored Markdown and plots; :func:`bar_chart`,
:func:`histogram` and :func:`line_chart`, matplotlib figures (on :func:`figure`) whose Arabic
labels are joined, right to left and in a font with Arabic glyphs (:func:`arabic_font`).

matplotlib before 3.11 draws characters one by one, left to right, in isolated forms, so
Arabic must be *shaped* (``arabic_reshaper``) and put in *visual order* (``python-bidi``)
first: :func:`shape_arabic`. From 3.11, libraqm does both, and pre-shaped text would be
reversed twice; :func:`arabic_label` picks the right one for the installed matplotlib.

pandas, matplotlib, ``arabic_reshaper`` and ``python-bidi`` are imported only when used.
"""

from __future__ import annotations

import functools
import html
import io
import itertools
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summ.segment import arabic_ratio

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "is_rtl",
    "Markdown",
    "Image",
    "Plot",
    "side_by_side",
    "table",
    "markdown",
    "image",
    "figure",
    "shape_arabic",
    "arabic_label",
    "matplotlib_shapes_text",
    "arabic_font",
    "bar_chart",
    "histogram",
    "line_chart",
]

# --------------------------------------------------------------------------------------------
# Direction and styling
# --------------------------------------------------------------------------------------------

#: Language codes written right to left (ISO 639-1/3 and the NLLB-style script-suffixed forms
#: are reduced to their first part before the lookup).
RTL_LANGS: frozenset[str] = frozenset(
    {"ar", "arb", "ary", "arz", "apc", "fa", "pes", "ur", "ps", "he", "yi", "ckb", "dv", "syr"}
)

#: A cell counts as Arabic when at least this share of its letters is Arabic script; the same
#: threshold the translation pipeline uses for its ``not-arabic`` flag.
ARABIC_THRESHOLD = 0.5

# CSS of the views, by selector under the table's id. pre-wrap keeps paragraph breaks.
# side_by_side: a fixed layout with overflow-wrap:anywhere wraps long sentences and URLs inside
# their column instead of widening the table. table() sizes columns to their content, where
# "anywhere" would shrink a column to one letter: break-word breaks only a word too long for a
# line of its own, and headers stay on one line.
_CELL = ("border: 1px solid #d0d7de; padding: 6px 10px; vertical-align: top; "
         "white-space: pre-wrap; word-break: normal; ")
_HEAD = "background: #f6f8fa; font-weight: 600; "
# Naskh fonts are what Arabic readers expect for running text; the list ends in fonts most
# systems have, so a cell never falls back to boxes.
_RTL = ("direction: rtl; text-align: right; font-family: 'Noto Naskh Arabic', 'Amiri', "
        "'Scheherazade New', 'Noto Sans Arabic', 'Arial', 'DejaVu Sans', sans-serif; "
        "font-size: 1.1em; line-height: 1.8;")
_STYLES = [
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600; "
                                     "padding: 4px 0;"},
    {"selector": "td.rtl", "props": _RTL},
    {"selector": "td.ltr", "props": "direction: ltr; text-align: left; line-height: 1.5;"},
    {"selector": "td.number", "props": "direction: ltr; text-align: right; "
                                       "font-variant-numeric: tabular-nums;"},
    {"selector": "td.label", "props": "color: #57606a; font-size: 0.9em; text-align: left;"},
]
_SIDE_BY_SIDE = [
    {"selector": "", "props": "border-collapse: collapse; table-layout: fixed; width: 100%; "
                              "margin: 0.5em 0;"},
    {"selector": "td, th", "props": _CELL + "overflow-wrap: anywhere;"},
    {"selector": "th", "props": _HEAD + "text-align: left;"},
]
_TABLE = [
    {"selector": "", "props": "border-collapse: collapse; margin: 0.5em 0; max-width: 100%;"},
    {"selector": "td, th", "props": _CELL + "overflow-wrap: break-word;"},
    {"selector": "th", "props": _HEAD + "text-align: left; white-space: nowrap;"},
]
# Distinct table ids (and so CSS scopes) for the views of one notebook, the same on every run.
_IDS = itertools.count()


def _base_lang(lang: str) -> str:
    return lang.replace("-", "_").split("_")[0].lower()


def is_rtl(lang: str) -> bool:
    """Whether text in ``lang`` (``"ar"``, ``"arb_Arab"``, ``"en"``...) is written right to
    left."""
    return _base_lang(lang) in RTL_LANGS


def _guess_lang(texts: Sequence[str]) -> str:
    """``"ar"`` if most non-empty texts are Arabic script, else ``"en"``."""
    filled = [t for t in texts if t.strip()]
    if not filled:
        return "en"
    arabic = sum(arabic_ratio(t) >= ARABIC_THRESHOLD for t in filled)
    # A tie goes to Arabic: an Arabic source column with lines full of Latin names, acronyms or
    # markup is the usual mixed case; English outputs are rarely half Arabic.
    return "ar" if arabic * 2 >= len(filled) else "en"


def _text(value: Any, digits: int) -> str:
    """How a value is written in a cell: floats rounded, None as a dash, sequences joined."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_text(v, digits) for v in value)
    return str(value)


def _plain(values: Any) -> pd.Series:
    """``values`` as Python objects, every missing value (NaN, NA, NaT) as None."""
    import pandas as pd

    column = pd.Series(list(values), dtype=object)
    return column.where(column.notna(), None)


def _span(text: str, lang: str) -> str:
    # The cell's CSS sets its direction; dir and lang on the text itself tell the browser (and
    # screen readers, and font fallback) what it is, where Styler puts no attributes on a td.
    if not lang:
        return text
    direction = "rtl" if is_rtl(lang) else "ltr"
    return f'<span dir="{direction}" lang="{html.escape(lang)}">{text}</span>'


def _view(cells: pd.DataFrame, langs: pd.DataFrame, headers: Sequence[str], styles: list,
          css_class: str, caption: str | None, classes: pd.DataFrame | None = None) -> Styler:
    """A Styler of text ``cells`` (positional columns, so headers may repeat) whose cells get
    the direction of their language in ``langs`` (``""``: a number)."""
    styler = cells.style.set_uuid(f"summ{next(_IDS)}").hide(axis="index")
    for col in cells.columns:  # one formatter per language of the column
        for lang in dict.fromkeys(langs[col]):
            rows = langs.index[langs[col] == lang]
            styler.format(functools.partial(_span, lang=lang), subset=(rows, [col]), escape="html")
    if classes is None:
        classes = langs.map(lambda lang: "rtl" if is_rtl(lang) else "ltr" if lang else "number")
    styler.set_td_classes(classes)
    styler.relabel_index([html.escape(str(h)) for h in headers], axis="columns")
    styler.set_table_styles(styles + _STYLES).set_table_attributes(f'class="{css_class}"')
    return styler.set_caption(html.escape(caption)) if caption else styler


# --------------------------------------------------------------------------------------------
# Displayable objects
# --------------------------------------------------------------------------------------------
class Markdown:
    """Markdown text that notebooks render (``_repr_markdown_``); prints as itself."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


class Image:
    """A PNG or SVG file shown in a notebook (``_repr_png_`` / ``_repr_svg_``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".png", ".svg"):
            raise ValueError(f"{self.path}: only .png and .svg images can be shown")
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such image")

    def _repr_png_(self) -> bytes | None:
        return self.path.read_bytes() if self.path.suffix.lower() == ".png" else None

    def _repr_svg_(self) -> str | None:
        svg = self.path.suffix.lower() == ".svg"
        return self.path.read_text(encoding="utf-8") if svg else None

    def __repr__(self) -> str:
        return f"<image {self.path.name}>"


class Plot:
    """A matplotlib figure that notebooks show as PNG; :meth:`save` writes PNG or SVG.

    Attributes:
        figure: the :class:`matplotlib.figure.Figure` (adjust it freely before showing).
    """

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    def png(self, dpi: int = 100) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def save(self, path: str | os.PathLike, dpi: int = 100) -> Path:
        """Save as ``.png`` or ``.svg`` (by suffix); parents are created."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure.savefig(path, dpi=dpi,
                            metadata={"Software": None} if path.suffix == ".png" else None)
        return path

    def __repr__(self) -> str:
        title = self.figure.get_suptitle() if hasattr(self.figure, "get_suptitle") else ""
        return f"<plot: {title or 'untitled'}>"


# --------------------------------------------------------------------------------------------
# Side by side and tables
# --------------------------------------------------------------------------------------------


def side_by_side(
    *columns: Sequence[Any],
    headers: Sequence[str] | None = None,
    langs: Sequence[str] | None = None,
    index: Sequence[Any] | None = None,
    caption: str | None = None,
    digits: int = 1,
) -> Styler:
    """Aligned texts in columns: e.g. Arabic source, English output and English reference.

    Args:
        *columns: one sequence (list, Series) per column, all of the same length (row i of
            every column belongs together); non-strings (scores, flags) are written as text.
        headers: a title per column (default ``"Arabic"``/``"English"`` from the language).
        langs: a language code per column (``"ar"``, ``"en"``...), deciding its cells'
            direction; default ``"ar"`` for a column mostly in Arabic script, else ``"en"``.
        index: a label per row (``"bbc.381790 #3"``), shown in a first, narrow column.
        digits: decimals of float values.

    Returns:
        A pandas ``Styler`` (``.data`` holds the texts, ``.to_html(path, doctype_html=True)``
        writes a page).

    Raises:
        ValueError: no columns, or columns (headers, langs, index) of different lengths.
        TypeError: a column is a bare string.
    """
    import pandas as pd

    if not columns:
        raise ValueError("side_by_side needs at least one column")
    if any(isinstance(c, str) for c in columns):
        raise TypeError("side_by_side takes sequences of texts, not a bare string; "
                        "wrap one text as [text]")
    cols = [[_text(v, digits) for v in _plain(c)] for c in columns]
    langs = list(langs) if langs is not None else [_guess_lang(c) for c in cols]
    headers = list(headers) if headers is not None else \
        [_LANG_NAMES.get(_base_lang(lang), lang) for lang in langs]
    for what, values in (("headers", headers), ("langs", langs)):
        if len(values) != len(cols):
            raise ValueError(f"side_by_side: {len(cols)} columns but {len(values)} {what}")
    # Keyed by position where a header repeats (hyp and ref both default to "English"), so
    # no column's count overwrites another's and every mismatch is reported.
    lengths = {f"{h!r}" if headers.count(h) == 1 else f"column {i + 1} ({h!r})": len(c)
               for i, (h, c) in enumerate(zip(headers, cols))}
    if index is not None:
        lengths["index"] = len(index)
    if len(set(lengths.values())) > 1:
        listing = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"side_by_side: columns must be aligned row for row, but {listing} rows")
    if index is not None:
        cols = [[_text(v, digits) for v in _plain(index)], *cols]
        langs, headers = ["", *langs], ["", *headers]
    cells = pd.DataFrame(dict(enumerate(cols)), columns=range(len(cols)))
    cell_langs = pd.DataFrame({j: [lang] * len(cells) for j, lang in enumerate(langs)},
                              columns=cells.columns)
    classes = cell_langs.map(lambda lang: "rtl" if is_rtl(lang) else "ltr")
    # Column widths follow content: a column of sentences gets far more room than one of
    # scores or flags, so the texts being compared are not squeezed by the numbers beside them.
    caps = [_INDEX_WEIGHT if index is not None and j == 0 else _TEXT_WEIGHT
            for j in range(len(cols))]
    weights = [_width_weight([h, *c], cap) for h, c, cap in zip(headers, cols, caps)]
    styles = [{"selector": f"th.col{j}", "props": f"width: {100 * w / sum(weights):.2f}%;"
               + (" text-align: right;" if is_rtl(lang) else "")}
              for j, (w, lang) in enumerate(zip(weights, langs))]
    if index is not None:
        classes[0] = "label"
    return _view(cells, cell_langs, headers, _SIDE_BY_SIDE + styles, "summ-side-by-side", caption,
                 classes)


# Relative column widths of side_by_side: a column's longest text in characters, between a
# floor (room for a header word) and a cap (beyond it, a text column wraps anyway).
_MIN_WEIGHT = 6
_TEXT_WEIGHT = 50
_INDEX_WEIGHT = 16


def _width_weight(texts: Sequence[str], cap: int) -> int:
    longest = max((len(t) for t in texts), default=0)
    return min(max(longest, _MIN_WEIGHT), cap)


_LANG_NAMES = {"ar": "Arabic", "en": "English", "fa": "Persian", "ur": "Urdu", "he": "Hebrew",
               "fr": "French"}


def table(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    columns: Sequence[str] | None = None,
    *,
    caption: str | None = None,
    digits: int = 1,
) -> Styler:
    """A DataFrame or records as an HTML table; one dict is a two-column ``field | value`` table.

    Cells whose text is mostly Arabic script are right to left; numbers are right-aligned;
    everything else is left to right. Floats get ``digits`` decimals; missing values are a
    dash; lists are joined with commas.

    Args:
        rows: a DataFrame (a named index is shown as columns, e.g. a pivot's or a group-by's),
            records (``[{"outlet": "bbc", "documents": 7}, ...]``), or one record.
        columns: which columns, in which order (default: all, records' keys in order of
            first appearance).

    Returns:
        A pandas ``Styler`` (``.data`` holds the texts).
    """
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        # A named index (a pivot's, a group-by's) is data; an unnamed one (row numbers left by
        # filtering) is not.
        frame = rows.reset_index() if any(n is not None for n in rows.index.names) else rows
        # Multi-level column labels (a pivot of several values) as one header each.
        frame = frame.rename(columns=lambda c: " ".join(map(str, c)) if isinstance(c, tuple)
                             else c)
    elif isinstance(rows, Mapping):
        frame = pd.DataFrame({"field": list(rows), "value": list(rows.values())}, dtype=object)
    else:
        frame = pd.DataFrame(list(rows), dtype=object)  # object: 7 stays 7, not 7.0
    if columns is not None:
        frame = frame.reindex(columns=list(columns))
    values = pd.DataFrame({j: _plain(frame.iloc[:, j]) for j in range(frame.shape[1])},
                          columns=range(frame.shape[1]))
    cells = values.map(lambda v: _text(v, digits))
    langs = values.map(lambda v: "" if isinstance(v, numbers.Number) and not isinstance(v, bool)
                       else "ar" if isinstance(v, str) and arabic_ratio(v) >= ARABIC_THRESHOLD
                       else "en")
    return _view(cells, langs, list(frame.columns), _TABLE, "summ-table", caption)


def markdown(text: str) -> Markdown:
    """Markdown (e.g. :func:`summ.report.corpus_markdown` tables) rendered by the notebook."""
    return Markdown(text)


def image(path: str | os.PathLike) -> Image:
    """A stored PNG or SVG (e.g. a plot ``summ report`` wrote) shown in the notebook."""
    return Image(path)


# --------------------------------------------------------------------------------------------
# Arabic in matplotlib
# --------------------------------------------------------------------------------------------

#: Fonts tried for Arabic labels, best first: Naskh is the usual style for running Arabic
#: text; DejaVu Sans (bundled with matplotlib) has Arabic too, so a label never shows boxes.
ARABIC_FONTS: tuple[str, ...] = (
    "Noto Naskh Arabic",
    "Noto Sans Arabic",
    "Amiri",
    "Scheherazade New",
    "Noto Sans Arabic UI",
    "DejaVu Sans",
)


def _has_arabic(text: str) -> bool:
    # The one Arabic character table (summ.segment.ARABIC_SCRIPT), not a copy of its ranges.
    from summ.segment import contains_arabic

    return contains_arabic(text)


def shape_arabic(text: str) -> str:
    """Arabic joined into its contextual letter forms and put in visual (left-to-right) order.

    For renderers that draw characters one by one from left to right without shaping
    (matplotlib before 3.11, PIL without libraqm); the result is in Arabic Presentation
    Forms. Text without Arabic letters is returned unchanged. For matplotlib use
    :func:`arabic_label`: it knows whether shaping is needed.

    Raises:
        MissingDependencyError: ``arabic-reshaper`` or ``python-bidi`` is not installed.
    """
    if not _has_arabic(text):
        return text
    from summ.errors import require

    reshaper = require("arabic_reshaper", "arabic-reshaper")
    bidi = require("bidi.algorithm", "python-bidi")
    return bidi.get_display(reshaper.reshape(text))


@functools.lru_cache(maxsize=1)
def matplotlib_shapes_text() -> bool:
    """Whether the installed matplotlib shapes and reorders complex scripts itself (libraqm,
    3.11+)."""
    try:
        from matplotlib import ft2font
    except ImportError:
        return False
    return bool(getattr(ft2font, "__libraqm_version__", None))


def arabic_label(text: str) -> str:
    """``text`` ready to be a matplotlib label: shaped by :func:`shape_arabic` when matplotlib
    cannot shape Arabic itself, unchanged when it can (shaping twice would reverse it)."""
    return text if matplotlib_shapes_text() else shape_arabic(text)


def _weight_gap(weight: int | str) -> int:
    """How far a font weight is from regular (400); named weights count as far."""
    return abs(weight - 400) if isinstance(weight, int) else 1000


@functools.lru_cache(maxsize=1)
def arabic_font() -> str | None:
    """The first installed font of :data:`ARABIC_FONTS` that has the glyphs Arabic labels need.

    Without libraqm, labels are drawn from Arabic Presentation Forms, so the font must have
    those code points (many modern Arabic fonts only have the base letters and rely on
    shaping). ``None`` when no candidate is installed: matplotlib's default is used.
    """
    try:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font
    except ImportError:
        return None
    needed = [0x0628, 0x0644]  # beh, lam
    if not matplotlib_shapes_text():
        needed += [0xFE91, 0xFEDF, 0xFEFB]  # initial beh, initial lam, lam-alef ligature
    # The upright regular file of each family: the list's order depends on how matplotlib's
    # font cache was built, and a family's first entry may be a bold oblique face without
    # Arabic (DejaVu Sans's is).
    files: dict[str, str] = {}
    for entry in sorted(font_manager.fontManager.ttflist,
                        key=lambda e: (e.style != "normal", _weight_gap(e.weight), e.fname)):
        files.setdefault(entry.name, entry.fname)
    if not any(name in files for name in ARABIC_FONTS[:-1]):
        # matplotlib's font list is a cache built once per matplotlib version, so a font
        # installed afterwards (apt-get install fonts-noto-core) is missing from it: look for
        # the candidates' files among the system fonts and register them.
        stems = {name.replace(" ", "").lower(): name for name in ARABIC_FONTS}
        for path in font_manager.findSystemFonts():
            stem = Path(path).stem.split("-")[0].lower()
            regular = Path(path).stem.lower().endswith("regular")
            if stem in stems and stems[stem] not in files and regular:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
                files[stems[stem]] = path
    for name in ARABIC_FONTS:
        path = files.get(name)
        if path is None:
            continue
        try:
            charmap = FT2Font(path).get_charmap()
        except (OSError, RuntimeError, ValueError):  # unreadable font file: try the next
            continue
        if all(cp in charmap for cp in needed):
            return name
    return None


def _style_label(artist: Any) -> None:
    """Give a text artist holding Arabic the Arabic font (Latin parts fall back to DejaVu Sans)."""
    font = arabic_font()
    if font is not None and _has_arabic(artist.get_text()):
        artist.set_fontfamily([font, "DejaVu Sans"])


def _clip(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def figure(width: float, height: float):
    """A bare matplotlib ``Figure`` of ``width`` × ``height`` inches (100 dpi) on an Agg canvas.

    No pyplot: no global figure list, no GUI backend, and nothing changed in the user's own
    matplotlib state (the plot helpers here and ``summ.report`` draw on it).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


# Titles longer than this wrap. The title is centred on the figure, not on the axes: long
# y-tick labels (Arabic sentences) narrow the axes, and an axes title wider than its axes is
# cut off at the figure's edge.
_TITLE_CHARS = 70


def _titles(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    import textwrap

    title = "\n".join(textwrap.wrap(title, _TITLE_CHARS)) if len(title) > _TITLE_CHARS else title
    setters = ((ax.figure.suptitle, title), (ax.set_xlabel, xlabel), (ax.set_ylabel, ylabel))
    for setter, text in setters:
        if text:
            _style_label(setter("\n".join(arabic_label(line) for line in text.split("\n"))))


def _legend(ax: Any) -> None:
    """A small legend whose Arabic entries are styled like every other Arabic label."""
    for text in ax.legend(fontsize="small").get_texts():
        _style_label(text)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    horizontal: bool = True,
    max_label_chars: int | None = 48,
    annotate: bool = True,
    digits: int = 1,
    width: float = 7.0,
) -> Plot:
    """Bars with (possibly Arabic) category labels, first label at the top (horizontal) or left.

    Args:
        labels: category names (Arabic allowed, as in ``title``, ``xlabel`` and ``ylabel``).
        horizontal: horizontal bars (long labels read best on the y axis).
        max_label_chars: longer labels are cut with "…"; ``None`` keeps them whole.
        annotate: write each value (with ``digits`` decimals) at the end of its bar.
        width: figure width in inches.

    Raises:
        ValueError: labels and values differ in length.
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels but {len(values)} values")
    shown = [arabic_label(_clip(str(lab), max_label_chars)) for lab in labels]
    n = len(shown)
    fig = figure(width, max(2.2, 0.38 * n + 1.3) if horizontal else 3.8)
    ax = fig.add_subplot()
    positions = list(range(n))
    if horizontal:
        bars = ax.barh(positions, values, color="#4c72b0")
        ax.set_yticks(positions, shown)
        ax.invert_yaxis()  # the first label on top, as in a table
        ticks = ax.get_yticklabels()
    else:
        bars = ax.bar(positions, values, color="#4c72b0")
        ax.set_xticks(positions, shown, rotation=30 if n > 6 else 0,
                      ha="right" if n > 6 else "center")
        ticks = ax.get_xticklabels()
    for tick in ticks:
        _style_label(tick)
    if annotate:
        ax.bar_label(bars, labels=[_text(float(v), digits) for v in values], padding=3,
                     fontsize="small")
    if len(values) and min(values) >= 0:
        # Start the value axis at zero (matplotlib centres an all-zero axis on zero), with room
        # for the annotations after the longest bar.
        top = max(values) * (1.15 if annotate else 1.05) or 1.0
        if horizontal:
            ax.set_xlim(0, top)
        else:
            ax.set_ylim(0, top)
    elif annotate:
        ax.margins(**({"x": 0.12} if horizontal else {"y": 0.12}))
    _titles(ax, title, xlabel, ylabel)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    fig.tight_layout()
    return Plot(fig)


def histogram(
    groups: Mapping[str, Sequence[float]],
    *,
    bins: int = 20,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "count",
    width: float = 7.0,
) -> Plot:
    """Overlaid histograms of several groups on shared bins (e.g. Arabic vs English lengths).

    Args:
        groups: legend label → values.
        bins: number of equal-width bins over the range of all values.
    """
    values = [v for vs in groups.values() for v in vs]
    fig = figure(width, 3.6)
    ax = fig.add_subplot()
    if values:
        lo, hi = min(values), max(values)
        edges = ([lo + (hi - lo) * i / bins for i in range(bins + 1)] if hi > lo
                 else [lo - 0.5, lo + 0.5])
        for name, vs in groups.items():
            ax.hist(list(vs), bins=edges, alpha=0.55, label=arabic_label(name))
        _legend(ax)
    _titles(ax, title, xlabel, ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return Plot(fig)


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    width: float = 7.0,
) -> Plot:
    """One line per series over categorical x positions; ``None`` values leave a gap.

    Raises:
        ValueError: a series is not as long as ``x_labels``.
    """
    for name, ys in series.items():
        if len(ys) != len(x_labels):
            raise ValueError(f"line_chart: series {name!r} has {len(ys)} values for "
                             f"{len(x_labels)} x labels")
    fig = figure(width, 3.8)
    ax = fig.add_subplot()
    for name, ys in series.items():
        xs = [i for i, y in enumerate(ys) if y is not None]
        ax.plot(xs, [ys[i] for i in xs], marker="o", label=arabic_label(name))
    ax.set_xticks(range(len(x_labels)), [arabic_label(str(x)) for x in x_labels])
    for tick in ax.get_xticklabels():
        _style_label(tick)
    if series:
        _legend(ax)
    _titles(ax, title, xlabel, ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return Plot(fig)
