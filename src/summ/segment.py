"""Paragraph and sentence splitting for Arabic and English, and the re-join that rebuilds it.

A document is cut into paragraphs (separated by a blank line), lines (each line break inside a
paragraph: headlines, bullet lines, verse) and sentences (inside a line, by the rule table
below). :func:`rebuild` joins sentences by one space, lines by ``\\n`` and paragraphs by
``\\n\\n``; the cut is lossless, ``rebuild(segment(t)) == normalise(t)``, so a translation
pipeline can swap each sentence for its translation and keep the layout. Every splitting
decision comes from the module-level constants of the *rule table* section, so the whole
policy can be read (and changed) in one place.

Sentence rule. A sentence ends after a run of ``SENTENCE_STOPS`` plus any ``CLOSING_MARKS``
when *all* of these hold:

1. whitespace follows (so ``3.5``, ``٣٫٥``, ``1,000``, URLs and e-mail addresses are never
   cut);
2. the next visible character is not a lowercase letter (``"Really?" she asked``,
   ``approx. five``). Arabic has no case, so this rule never blocks a cut in Arabic;
3. if the stop is a single ``.``, the word before it is not an abbreviation: a listed one
   (``ABBREVIATIONS``, case-sensitive), a single capital or Arabic letter (``J. Smith``,
   ``م. أحمد``) or single letters joined by dots (``U.S.``, ``a.m.``, ``ق.م.``). A single
   *non-Arabic* capital before a word in Arabic script is not an initial: ``على A. يبين`` (a
   grade "A", then a new sentence) is cut, since Arabic writes initials in Arabic letters;
4. both sides contain a letter or digit (a stray ``.`` or ``. . .`` joins the sentence before);
5. if the stop is an ellipsis (only ``.`` and ``…``, with two dots or one ``…``), the next
   letter, after any opening quote or bracket, is a capital: ``Wait... What happened?`` is
   cut, ``جدًا ... إنهم`` and ``Wait... 2019`` are not. So an ellipsis never ends an Arabic
   sentence: in the gold (UD Arabic-PUD and NTREX-128, ``eval/segmentation/results.md``) the
   words after a mid-line ellipsis continued the sentence in 5 of 6 cases, and no word list
   separates the sixth. A run holding ``!``, ``?`` or ``؟`` (``؟...``) is not an ellipsis;
6. if the closers after the stop include a quotation mark (``CLOSING_QUOTES``), the next one
   or two words (without diacritics and trailing punctuation) are not an Arabic speech tag
   (``SPEECH_TAGS_AR``): ``«سنعود قريبًا!» كما أضاف الوزير.`` is one sentence. English tags
   start with a lowercase word (rule 2).

Choices worth knowing (each trades a rare under-split for avoiding a common false split: a
too-long segment is only slower to translate, a false split cuts a sentence in half):

* An abbreviation never ends a sentence, even where the sentence does end
  (``... the West Coast of the U.S. As Rosa approaches`` stays one segment).
* ``؟``/``?``/``!`` inside a closing quote followed by whitespace ends the sentence unless
  rule 2 or 6 applies. Verbs of saying (``قال``, ``وأضاف``) are not speech tags: after a
  closing quotation in NTREX-128 they always begin a new gold line, and telling a tag from a
  new sentence would need syntax. The table holds circumstantial participles, which cannot
  open a sentence (``قائلا``, ``مضيفا``), and two attributions (``كما أضاف``, ``حسبما``) that
  in the gold always attribute the quotation they follow, hence only after a closing quote.
  ``وفقًا``/``بحسب``/``وفق`` ("according to") open new sentences in the gold: left out.
* ``؛`` (Arabic semicolon) never ends a sentence in the gold (every cut there was wrong), so
  it is in ``CLAUSE_MARKS``, a preferred cut of :func:`split_to_fit`, not a stop.
* A space *before* the stop (``في سوريا . وقال``) is common in Arabic: the stop belongs to the
  sentence before, and a closer that is never an opener may follow it after a space
  (``نعم . »``). Spaced dots (``. . .``) are single stops joined back by rule 4.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Segment", "normalise", "split_sentences", "segment", "rebuild", "split_to_fit",
           "arabic_ratio", "is_arabic"]

# --------------------------------------------------------------------------------------------
# The rule table
# --------------------------------------------------------------------------------------------

# Characters that end a sentence; a run of them ("...", "?!", "؟!") counts as one stop.
# Not "؛": the Arabic semicolon joins clauses (it is in CLAUSE_MARKS below).
SENTENCE_STOPS: str = ".!?؟…"

# Stop runs made only of these, with two dots or one "…", are ellipses (rule 5).
ELLIPSIS_MARKS: str = ".…"

# Closing quotes and brackets that may follow a stop and belong to the sentence it ends.
CLOSING_MARKS: str = "»\"”’')]›"

# The quotation marks among CLOSING_MARKS: after them, a speech tag continues the sentence.
CLOSING_QUOTES: str = "»\"”’'›"

# Closers that are never openers: only these may follow a stop after a space ("نعم . »"),
# because a '"' after a space is as likely to open the next quotation.
SPACED_CLOSING_MARKS: str = "»”’)]›"

# Opening quotes and brackets stripped from the front of a word before the abbreviation check,
# so "(Dr. Ali" and "«د. علي" are recognised.
OPENING_MARKS: str = "«\"“‘'([‹"

# Clause punctuation: where split_to_fit prefers to cut a segment that is too long.
CLAUSE_MARKS: str = "،,؛;:"

# Words that end with a dot that does not end the sentence (matched case-sensitively, so the
# word "no." still ends a sentence while "No. 5" does not).
ABBREVIATIONS_EN: frozenset[str] = frozenset(
    {
        # titles before names
        "Mr.", "Mrs.", "Ms.", "Messrs.", "Dr.", "Prof.", "St.", "Mt.", "Rev.", "Hon.",
        "Gen.", "Col.", "Lt.", "Capt.", "Sgt.", "Maj.", "Adm.", "Det.", "Gov.", "Sen.", "Sens.",
        "Rep.", "Reps.", "Pres.", "Jr.", "Sr.",
        # companies and places
        "Inc.", "Ltd.", "Co.", "Corp.", "Bros.", "Dept.", "Univ.", "Ave.", "Blvd.", "Rd.",
        # countries and Latin
        "U.S.", "U.K.", "U.N.", "E.U.", "e.g.", "i.e.", "etc.", "vs.", "v.", "cf.", "approx.",
        "ca.",
        # months that are abbreviated ("May" has no dot)
        "Jan.", "Feb.", "Mar.", "Apr.", "Jun.", "Jul.", "Aug.", "Sep.", "Sept.", "Oct.",
        "Nov.", "Dec.",
        # references and times
        "No.", "Nos.", "Art.", "Fig.", "Vol.", "p.", "pp.", "Ph.D.", "a.m.", "p.m.",
    }
)  # fmt: skip
ABBREVIATIONS_AR: frozenset[str] = frozenset(
    {
        "د.",  # دكتور, doctor
        "م.",  # مهندس, engineer (also ميلادي, AD)
        "أ.",  # أستاذ, professor
        "أ.د.",  # أستاذ دكتور, professor doctor
        "ق.م.",  # قبل الميلاد, BC
        "ه.",  # هجري, AH (also written هـ, whose tatweel normalise removes)
        "ص.",  # صفحة, page
        "ج.",  # جزء, volume
        "ص.ب.",  # صندوق بريد, P.O. box
    }
)
ABBREVIATIONS: frozenset[str] = ABBREVIATIONS_EN | ABBREVIATIONS_AR

# Arabic speech-tag openers (rule 6): after a closing quotation, these (one or two words,
# written without diacritics, so "قائلًا" and "قائلاً" match "قائلا") continue the sentence.
# In the gold (eval/segmentation/results.md) no entry began a new sentence there. مضيفا is
# قائلا's twin (a participle: "adding"); feminine forms are the same words.
SPEECH_TAGS_AR: frozenset[str] = frozenset(
    {
        "قائلا",  # saying (masculine), a circumstantial participle: ... "نعم" قائلا إن
        "قائلة",  # saying (feminine)
        "مضيفا",  # adding (masculine)
        "مضيفة",  # adding (feminine)
        "كما أضاف",  # as he added
        "كما أضافت",  # as she added
        "حسبما",  # as (reported by): "..." حسبما أفاد السيد
    }
)

# Initials not in the list: "J. Smith" (one capital letter), "م. أحمد" (one Arabic letter,
# which has no case), and letters joined by dots like "U.S.A." or "ق.م." (matched on the word
# without its final dot). Lowercase single letters are excluded: "plan b." is a word.
_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")

# normalise(): characters removed outright. Bidi controls change display order only; the BOM
# is an encoding artefact; tatweel (U+0640) is a stretching glyph with no linguistic content.
BOM: str = "\ufeff"
BIDI_CONTROLS: str = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
TATWEEL: str = "\u0640"

# Arabic presentation forms (contextual glyph shapes from legacy encodings and PDFs): the only
# characters NFKC is applied to, so "ﻻ" becomes "لا" while digits, ligatures like "ﬁ" and
# full-width forms elsewhere stay as written.
PRESENTATION_FORMS: tuple[tuple[int, int], ...] = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

# Diacritics removed by normalise(strip_diacritics=True): harakat and tanwin (U+064B–U+0652),
# other vowel marks (U+0656–U+065F), superscript alef (U+0670), Quranic annotation marks and
# extended harakat. U+0653–U+0655 (madda, hamza above/below) are kept: in decomposed text
# they are part of the letters آ أ إ, not optional vowels.
DIACRITICS: tuple[tuple[int, int], ...] = (
    (0x064B, 0x0652), (0x0656, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06DC), (0x06DF, 0x06E4),
    (0x06E7, 0x06E8), (0x06EA, 0x06ED), (0x08D3, 0x08E1), (0x08E3, 0x08FF),
)

# Every character str.isspace() accepts, sorted into line breaks and spaces, so that after
# normalise() the only whitespace left is " " and "\n" (the join characters rebuild uses).
LINE_BREAKS: str = "\n\x0b\x0c\x1c\x1d\x1e\x85\u2028"  # CR and CRLF are handled first
PARAGRAPH_BREAKS: str = "\u2029"
SPACES: str = (
    "\t \x1f\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)

# Arabic script blocks, for arabic_ratio(): Arabic, Supplement, Extended-A, Presentation Forms.
ARABIC_SCRIPT: tuple[tuple[int, int], ...] = (
    (0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF),
)

# The Arabic character table, the one every module reads (segmentation above, ROUGE in
# summ.metrics, Arabic detection for display in summ.display). It covers the blocks of
# ARABIC_SCRIPT; the newer Arabic Extended-B block (U+0870–U+089F) is not in it.
# ARABIC_LETTERS: every letter (Unicode category Lo) of those blocks; tatweel (U+0640) is a
# stretching glyph, not a letter, and is TATWEEL above.
ARABIC_LETTERS: tuple[tuple[int, int], ...] = (
    (0x0620, 0x063F), (0x0641, 0x064A), (0x066E, 0x066F), (0x0671, 0x06D3), (0x06D5, 0x06D5),
    (0x06EE, 0x06EF), (0x06FA, 0x06FC), (0x06FF, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08C8),
)
# Arabic-Indic and Extended (Persian/Urdu) Arabic-Indic digits; ASCII digits are not listed.
ARABIC_DIGITS: tuple[tuple[int, int], ...] = ((0x0660, 0x0669), (0x06F0, 0x06F9))
# Every mark written on or around Arabic letters: all combining marks (category Mn) of the
# blocks, plus the small waw and yeh (U+06E5–U+06E6), modifier letters written like marks.
# DIACRITICS above is this set less what normalise() keeps: the honorific signs and small high
# letters (U+0610–U+061A), U+06E5–U+06E6, U+08CA–U+08D2, and the combining madda and hamza
# (U+0653–U+0655), which in decomposed text are part of the letters آ أ إ. ROUGE, which applies
# NFKC first (composing those letters), removes all of them.
ARABIC_MARKS: tuple[tuple[int, int], ...] = (
    (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06DC), (0x06DF, 0x06E8),
    (0x06EA, 0x06ED), (0x08CA, 0x08E1), (0x08E3, 0x08FF),
)

# normalise(html="strip"): what each known HTML tag becomes. Block elements end a paragraph,
# <br> and list items end a line, table cells are separated by a space, inline elements
# vanish. Unknown names are left alone, so "<unk>", "<2en>" and "</s>" survive.
_BLOCK = "\n\n"
_LINE = "\n"
HTML_TAG_REPLACEMENTS: dict[str, str] = {
    **dict.fromkeys(
        "p div h1 h2 h3 h4 h5 h6 blockquote section article header footer aside nav main "
        "figure figcaption table thead tbody tfoot caption ul ol dl pre hr address html body "
        "head title form center".split(),
        _BLOCK,
    ),
    **dict.fromkeys("br li tr dt dd".split(), _LINE),
    **dict.fromkeys("td th".split(), " "),
    **dict.fromkeys(
        "a abbr b bdi bdo big cite code del dfn em font i img ins kbd label mark nobr q small "
        "span strike strong sub sup time tt u var wbr meta link".split(),
        "",
    ),
}

# split_to_fit(): a clause cut is preferred over a later word cut only if the piece it gives
# keeps at least this share of the longest piece a word cut gives, so one early comma does not
# produce a run of tiny pieces.
CLAUSE_MIN_SHARE: float = 0.5

# --------------------------------------------------------------------------------------------
# Compiled forms of the table
# --------------------------------------------------------------------------------------------


def _char_class(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _ranges_class(ranges: Sequence[tuple[int, int]]) -> str:
    return "[" + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges) + "]"


_ARABIC_SCRIPT_RE = re.compile(_ranges_class(ARABIC_SCRIPT))

# A stop run, then closers (directly, or after spaces for the unambiguous ones), then whitespace.
_STOP_RE = re.compile(
    rf"(?P<stop>{_char_class(SENTENCE_STOPS)}+)"
    rf"(?:{_char_class(CLOSING_MARKS)}|\s+{_char_class(SPACED_CLOSING_MARKS)})*"
    r"(?=\s)"
)
# Rule 6: a quotation mark among the closers that follow a stop.
_CLOSING_QUOTE_RE = re.compile(_char_class(CLOSING_QUOTES))
# Punctuation stripped from the end of a word before the speech-tag lookup ("قائلًا:").
_TAG_TRAILING = SENTENCE_STOPS + CLOSING_MARKS + CLAUSE_MARKS
# Where split_to_fit may cut after clause punctuation: the mark, closers, then whitespace.
_CLAUSE_RE = re.compile(rf"{_char_class(CLAUSE_MARKS)}{_char_class(CLOSING_MARKS)}*\s+")
_WHITESPACE_RE = re.compile(r"\s+")
_SPACE_RUN_RE = re.compile(" {2,}")
_PRESENTATION_RE = re.compile(_ranges_class(PRESENTATION_FORMS) + "+")
_DIACRITICS_RE = re.compile(_ranges_class(DIACRITICS) + "+")
_REMOVE_TABLE = dict.fromkeys(map(ord, BOM + BIDI_CONTROLS + TATWEEL))
_WHITESPACE_TABLE = {
    **dict.fromkeys(map(ord, SPACES), " "),
    **dict.fromkeys(map(ord, LINE_BREAKS), "\n"),
    **dict.fromkeys(map(ord, PARAGRAPH_BREAKS), "\n\n"),
}
_HTML_DROP_RE = re.compile(r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>",
                           re.DOTALL | re.IGNORECASE)
_HTML_TAG_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(?:\s[^<>]*)?/?>")
# Only entities closed by ";" are decoded: "AT&T" and "&copy 2020" in plain text stay as written.
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# normalise() repeats its pass until nothing changes (see there); real text settles in two
# passes, and this bound only guards against a bug turning into an endless loop.
_MAX_PASSES = 32


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def normalise(
    text: str, *, strip_diacritics: bool = False, html: Literal["strip", "keep"] = "strip"
) -> str:
    """Clean text conservatively, so that splitting and rebuilding work on a canonical form.

    Steps, in order:

    1. ``html="strip"``: comments, ``<script>``/``<style>`` elements and the tags of
       ``HTML_TAG_REPLACEMENTS`` are replaced (``<p>`` by a blank line, ``<br>`` by a line
       break, inline tags by nothing; unknown names like ``<unk>`` are kept), then entities
       closed by ``;`` are decoded (``&amp;`` → ``&``). ``html="keep"`` leaves markup as is.
    2. Arabic presentation forms, and only they, are NFKC normalised (``ﻻ`` → ``لا``).
    3. ``BOM``, ``BIDI_CONTROLS`` and ``TATWEEL`` are removed; with ``strip_diacritics=True``
       so are the ``DIACRITICS``.
    4. CRLF, CR and ``LINE_BREAKS`` become ``\\n`` (``PARAGRAPH_BREAKS`` a blank line) and
       ``SPACES`` become ``" "``; runs of spaces become one, lines and the text are stripped,
       and runs of blank lines become one blank line (a paragraph break).

    The pass is repeated until the text stops changing, which makes the function idempotent
    (``normalise(normalise(x)) == normalise(x)``) even when one step exposes work for an
    earlier one, e.g. a decoded ``&#x200F;`` or a bidi mark inside ``&am\\u200ep;``. The
    result has only ``" "`` and ``"\\n"`` as whitespace and never two blank lines in a row.

    Raises:
        ValueError: if ``html`` is neither ``"strip"`` nor ``"keep"``.
    """
    if html not in ("strip", "keep"):
        raise ValueError(f"html must be 'strip' or 'keep', not {html!r}")
    for _ in range(_MAX_PASSES):
        cleaned = _normalise_pass(text, strip_diacritics=strip_diacritics, html=html)
        if cleaned == text:
            break
        text = cleaned
    return text


def _normalise_pass(text: str, *, strip_diacritics: bool, html: str) -> str:
    if html == "strip":
        text = _strip_html(text)
    # NFKC before the removals: it can produce tatweel and diacritics (U+FE71 → "ـً").
    text = _PRESENTATION_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = text.translate(_REMOVE_TABLE)
    if strip_diacritics:
        text = _DIACRITICS_RE.sub("", text)
    return _normalise_whitespace(text)


def _strip_html(text: str) -> str:
    text = _HTML_DROP_RE.sub("", text)
    text = _HTML_TAG_RE.sub(_replace_tag, text)
    return _ENTITY_RE.sub(lambda m: _html.unescape(m.group()), text)


def _replace_tag(match: re.Match[str]) -> str:
    return HTML_TAG_REPLACEMENTS.get(match.group(1).lower(), match.group())


def _normalise_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_WHITESPACE_TABLE)
    out: list[str] = []
    for raw in text.split("\n"):
        line = _SPACE_RUN_RE.sub(" ", raw).strip(" ")
        # Keep at most one empty line in a row, and none at the start: a paragraph break.
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------


def split_sentences(line: str) -> list[str]:
    """Split one line into sentences by the rule table (the same rules for every language).

    Sentences are stripped substrings of ``line``, ``[]`` for a blank line; on a normalised
    line (single spaces, stripped) ``" ".join(split_sentences(line)) == line``.

    Raises:
        ValueError: if ``line`` contains ``"\\n"`` or ``"\\r"`` (use :func:`segment`).
    """
    if "\n" in line or "\r" in line:
        raise ValueError("split_sentences takes one line; use segment() for text with line breaks")
    return [line[start:end] for start, end in _sentence_spans(line)]


def _sentence_spans(line: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each sentence: stripped, non-empty, in order."""
    spans: list[tuple[int, int]] = []
    start = _skip_space(line, 0)
    for end in _sentence_ends(line):
        if end > start:
            spans.append((start, end))
            start = _skip_space(line, end)
    if start < len(line):
        spans.append((start, len(line.rstrip())))
    return _merge_punctuation_only(line, spans)


def _sentence_ends(line: str) -> list[int]:
    """Offsets just after each stop (and its closers) where a sentence ends."""
    ends: list[int] = []
    for match in _STOP_RE.finditer(line):
        following = _skip_space(line, match.end())
        if following == len(line):
            continue  # the line ends here anyway
        if line[following].islower():
            continue  # rule 2: a lowercase word continues the sentence
        stop = match.group("stop")
        if stop == "." and _dot_is_abbreviation(line, match.start(), following):
            continue  # rule 3
        if _is_ellipsis(stop) and not _next_letter_is_capital(line, following):
            continue  # rule 5
        closers = match.group()[len(stop) :]
        if _CLOSING_QUOTE_RE.search(closers) and _starts_speech_tag(line, following):
            continue  # rule 6
        ends.append(match.end())
    return ends


def _dot_is_abbreviation(line: str, dot: int, following: int) -> bool:
    """True if the ``.`` at ``dot`` ends an abbreviation or initial, not the sentence (rule 3)."""
    word = _word_before(line, dot)
    return _is_abbreviation(word) and not _is_latin_initial_before_arabic(word, line, following)


def _is_latin_initial_before_arabic(word: str, line: str, following: int) -> bool:
    """True for ``"A"`` in ``على A. يبين``: one non-Arabic capital, then Arabic script (rule 3)."""
    if len(word) != 1 or _ARABIC_SCRIPT_RE.match(word):
        return False
    return _ARABIC_SCRIPT_RE.match(line[following:].lstrip(OPENING_MARKS)) is not None


def _is_ellipsis(stop: str) -> bool:
    """True if a stop run is an ellipsis: only dots and ``…``, two dots or one ``…`` (rule 5)."""
    return stop.strip(ELLIPSIS_MARKS) == "" and (stop.count(".") >= 2 or "…" in stop)


def _next_letter_is_capital(line: str, following: int) -> bool:
    """True if the text at ``following``, after opening marks, starts with a capital letter."""
    return line[following:].lstrip(OPENING_MARKS)[:1].isupper()


def _starts_speech_tag(line: str, following: int) -> bool:
    """True if the one or two words at ``following`` are in ``SPEECH_TAGS_AR`` (rule 6)."""
    words = [
        _DIACRITICS_RE.sub("", word).rstrip(_TAG_TRAILING)
        for word in line[following:].split(maxsplit=2)[:2]
    ]
    return any(" ".join(words[:n]) in SPEECH_TAGS_AR for n in range(1, len(words) + 1))


def _word_before(line: str, index: int) -> str:
    """The run of non-space characters that ends at ``index``, without opening marks."""
    start = index
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    return line[start:index].lstrip(OPENING_MARKS)


def _is_abbreviation(word: str) -> bool:
    """True if ``word`` followed by ``"."`` is an abbreviation or initial (rule 3)."""
    if not word:
        return False  # "سوريا ." : a stop after a space ends the sentence before it
    if word + "." in ABBREVIATIONS:
        return True
    if len(word) == 1:
        return word.isalpha() and not word.islower()
    return _INITIALS_RE.fullmatch(word) is not None


def _merge_punctuation_only(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join spans with no letter or digit to a neighbour (rule 4): ". . ." is not a sentence."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        # A stray stop joins the sentence before; a leading one joins the first sentence.
        if merged and not (_has_content(line[start:end])
                           and _has_content(line[merged[-1][0] : merged[-1][1]])):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One sentence and where it sits in its document.

    Attributes:
        text: the sentence, stripped, never empty.
        paragraph: 0-based paragraph index in the document.
        line: 0-based line index within the paragraph.
        sentence: 0-based sentence index within the line.
    """

    text: str
    paragraph: int
    line: int
    sentence: int

    def __post_init__(self) -> None:
        if not self.text or self.text != self.text.strip():
            raise ValueError(f"Segment.text must be non-empty and stripped, got {self.text!r}")
        if min(self.paragraph, self.line, self.sentence) < 0:
            raise ValueError(f"Segment indices must be >= 0, got {self!r}")


def segment(text: str, *, normalised: bool = False) -> list[Segment]:
    """Cut a document into paragraphs, lines and sentences.

    Returns the sentences in document order (``[]`` for blank text), with
    ``rebuild(segment(t)) == normalise(t)``. ``normalised=True`` says ``text`` already went
    through :func:`normalise` (else it is normalised with the defaults); un-normalised text
    passed with ``True`` still segments safely, but :func:`rebuild` then gives back its
    normalised layout.
    """
    if not normalised:
        text = normalise(text)
    segments: list[Segment] = []
    for p, paragraph in enumerate(_paragraphs(text)):
        for n, line in enumerate(paragraph):
            segments.extend(Segment(s, p, n, i) for i, s in enumerate(split_sentences(line)))
    return segments


def _paragraphs(text: str) -> list[list[str]]:
    """Group the non-blank lines of ``text``; a blank line closes a paragraph."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def rebuild(segments: Sequence[Segment], texts: Sequence[str] | None = None) -> str:
    """Join segments back into a document: ``" "`` within a line, ``\\n`` between lines,
    ``\\n\\n`` between paragraphs.

    Args:
        segments: segments in document order, as :func:`segment` returns them (a subset is
            fine, e.g. the sentences a summary kept); none give ``""``.
        texts: replacement for each segment's text (e.g. its translation), same length and
            order; ``None`` uses the segments' own text.

    Raises:
        ValueError: if ``texts`` and ``segments`` differ in length, or the segments are not in
            strictly increasing (paragraph, line, sentence) order (e.g. still length-sorted).
    """
    if texts is None:
        texts = [s.text for s in segments]
    elif len(texts) != len(segments):
        raise ValueError(f"rebuild got {len(segments)} segments but {len(texts)} texts")
    parts: list[str] = []
    previous: Segment | None = None
    for seg, text in zip(segments, texts, strict=True):
        if previous is not None:
            parts.append(_separator(previous, seg))
        parts.append(text)
        previous = seg
    return "".join(parts)


def _separator(previous: Segment, current: Segment) -> str:
    before = (previous.paragraph, previous.line, previous.sentence)
    after = (current.paragraph, current.line, current.sentence)
    if after <= before:
        raise ValueError(f"segments out of document order: {before} then {after}; unsort them "
                         "first")
    if current.paragraph != previous.paragraph:
        return "\n\n"
    return "\n" if current.line != previous.line else " "


# --------------------------------------------------------------------------------------------
# Over-long segments
# --------------------------------------------------------------------------------------------


def split_to_fit(text: str, count_tokens: Callable[[str], int], limit: int) -> list[str]:
    """Cut a segment that is too long for a model into the fewest pieces that fit, greedily.

    Each piece is as long as possible. Where a piece ends is chosen in this order: after
    clause punctuation (``CLAUSE_MARKS``) or a sentence stop followed by whitespace, if that
    keeps at least ``CLAUSE_MIN_SHARE`` of the longest piece possible; else at whitespace;
    else (one "word" longer than the limit) between characters, avoiding the gap before a
    combining mark. Each piece keeps the whitespace that follows it, so
    ``"".join(pieces) == text``. Piece ends are found by galloping and binary search, which
    assumes ``count_tokens`` grows with the text: about ``4 * log2(words per piece)`` calls per
    piece. ``count_tokens`` is the model's length measure (e.g.
    ``lambda s: len(tok(s).input_ids)``); every piece has ``count_tokens(piece.strip()) <=
    limit``, and a text that already fits (or is blank) gives ``[text]``.

    Raises:
        ValueError: if ``limit < 1``, or a single character already counts more than ``limit``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not text.strip() or count_tokens(text.strip()) <= limit:
        return [text]
    word_ends = [m.end() for m in _WHITESPACE_RE.finditer(text)]
    clause_ends = sorted(
        {m.end() for m in _CLAUSE_RE.finditer(text)}
        | {_skip_space(text, end) for end in _sentence_ends(text)}
    )
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = _piece_end(text, start, count_tokens, limit, word_ends, clause_ends)
        pieces.append(text[start:end])
        start = end
    return pieces


def _piece_end(text: str, start: int, count_tokens: Callable[[str], int], limit: int,
               word_ends: list[int], clause_ends: list[int]) -> int:
    """Where the longest fitting piece that starts at ``start`` ends (``len(text)``: the rest)."""

    def fits(end: int) -> bool:
        return count_tokens(text[start:end].strip()) <= limit

    first = _skip_space(text, start)  # a piece must hold at least text[first]
    n = len(text)
    # Word cuts after `first` and before the end, then the end itself (the whole rest).
    lo, hi = bisect_right(word_ends, first), bisect_left(word_ends, n)
    found = _last_fitting(hi - lo + 1, lambda i: word_ends[lo + i] if lo + i < hi else n, fits)
    if found is not None:
        word_end = word_ends[lo + found] if lo + found < hi else n
        if word_end == n:
            return n
        return _prefer_clause(start, first, word_end, clause_ends, fits)
    # Not even the first word fits: cut inside it, between characters.
    word_stop = word_ends[lo] if lo < hi else n
    while word_stop > first and text[word_stop - 1].isspace():
        word_stop -= 1
    found = _last_fitting(word_stop - first - 1, lambda i: first + 1 + i, fits)
    if found is None:
        raise ValueError(f"cannot split to fit: the single character {text[first]!r} at offset "
                         f"{first} counts {count_tokens(text[first])} > limit {limit}")
    return _avoid_mark(text, first, first + 1 + found, fits)


def _prefer_clause(
    start: int, first: int, word_end: int, clause_ends: list[int], fits: Callable[[int], bool]
) -> int:
    """The last clause cut at or before ``word_end`` if it is long enough, else ``word_end``."""
    index = bisect_right(clause_ends, word_end) - 1
    if index < 0:
        return word_end
    clause_end = clause_ends[index]
    if clause_end <= first or clause_end - start < CLAUSE_MIN_SHARE * (word_end - start):
        return word_end
    # Shorter than a fitting piece, so it fits if the count is monotone; check, to be sure.
    return clause_end if clause_end == word_end or fits(clause_end) else word_end


def _avoid_mark(text: str, first: int, end: int, fits: Callable[[int], bool]) -> int:
    """Move a character cut back so that a combining mark stays with its base letter."""
    cut = end
    while cut > first + 1 and _is_mark(text[cut]):
        cut -= 1
    if cut != end and not _is_mark(text[cut]) and fits(cut):
        return cut
    return end


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def _last_fitting(size: int, position: Callable[[int], int],
                  fits: Callable[[int], bool]) -> int | None:
    """Largest ``i < size`` with ``fits(position(i))``, for ``fits`` true then false.

    Gallops (1, 2, 4, ...) from the start and then bisects, so the cost is
    ``O(log answer)`` calls and each call measures at most about twice the piece it returns.
    """
    if size <= 0 or not fits(position(0)):
        return None
    good, bad, step = 0, size, 1
    while good + step < size:
        if fits(position(good + step)):
            good += step
            step *= 2
        else:
            bad = good + step
            break
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(position(mid)):
            good = mid
        else:
            bad = mid
    return good


# --------------------------------------------------------------------------------------------
# Script detection
# --------------------------------------------------------------------------------------------


def arabic_ratio(text: str) -> float:
    """Share of letters (Unicode category ``L*``) in the ``ARABIC_SCRIPT`` blocks, in
    ``[0, 1]``; ``0.0`` when ``text`` has no letters."""
    # str.isalpha() is exactly "Unicode category L*"; counting with it and one regex is ~5x
    # faster than a per-character category lookup (this runs on every translated segment).
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return 0.0
    return sum(ch.isalpha() for ch in _ARABIC_SCRIPT_RE.findall(text)) / letters


def contains_arabic(text: str) -> bool:
    """True if ``text`` holds any character of the ``ARABIC_SCRIPT`` blocks (letters, marks,
    digits, punctuation, presentation forms); ``False`` for ``""``."""
    return _ARABIC_SCRIPT_RE.search(text) is not None


def is_arabic(text: str, threshold: float = 0.5) -> bool:
    """True if ``arabic_ratio(text) >= threshold``; ``False`` for text without letters.

    Raises:
        ValueError: if ``threshold`` is not in ``(0, 1]``.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return arabic_ratio(text) >= threshold
