"""Tests for summ.segment: the rule table as tables of cases, normalisation, the lossless
rebuild on real data (seed article, NTREX-128) and random text, and split_to_fit."""

from __future__ import annotations

import ast
import inspect
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import summ.segment as seg_module
from summ.segment import (
    LINE_BREAKS,
    PARAGRAPH_BREAKS,
    SPACES,
    Segment,
    arabic_ratio,
    is_arabic,
    normalise,
    rebuild,
    segment,
    split_sentences,
    split_to_fit,
)

# --------------------------------------------------------------------------------------------
# Sentence splitting: (line, expected sentences)
# --------------------------------------------------------------------------------------------

ENGLISH_CASES = [
    ("He left. She stayed.", ["He left.", "She stayed."]),
    ("Is it? Yes! Good.", ["Is it?", "Yes!", "Good."]),
    ("Really?! No way.", ["Really?!", "No way."]),
    ('He said "Go!" Then he left.', ['He said "Go!"', "Then he left."]),
    ("He said ‘no.’ Then he left.", ["He said ‘no.’", "Then he left."]),
    ("He said “no.” Then he left.", ["He said “no.”", "Then he left."]),
    ("(This is an aside.) Next one.", ["(This is an aside.)", "Next one."]),
    ("[Note.] Next one.", ["[Note.]", "Next one."]),
    # a lowercase word after the quote continues the sentence
    ('"Really?" she asked. Yes.', ['"Really?" she asked.', "Yes."]),
    # numbers: no whitespace after the dot or comma
    ("It rose 3.5 percent. Then it fell.", ["It rose 3.5 percent.", "Then it fell."]),
    ("Sales hit 1,000 units. Good.", ["Sales hit 1,000 units.", "Good."]),
    ("Growth was 3. Then it fell.", ["Growth was 3.", "Then it fell."]),
    # abbreviations and initials
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("U.S. President Trump spoke. He left.", ["U.S. President Trump spoke.", "He left."]),
    ("Use fruit, e.g. Apples. Fine.", ["Use fruit, e.g. Apples.", "Fine."]),
    ("It is red, i.e. Ripe. Fine.", ["It is red, i.e. Ripe.", "Fine."]),
    ("Prof. Ali of Apple Inc. Spoke. Ok.", ["Prof. Ali of Apple Inc. Spoke.", "Ok."]),
    ("J. Smith came at 5 p.m. Friday. He left.", ["J. Smith came at 5 p.m. Friday.", "He left."]),
    ("He won No. 5 in Jan. Then he lost.", ["He won No. 5 in Jan. Then he lost."]),
    ("I said no. Then I left.", ["I said no.", "Then I left."]),  # case-sensitive: "no." is a word
    ("Roe v. Wade stands. Yes.", ["Roe v. Wade stands.", "Yes."]),
    ("(Dr. Ali) spoke. Yes.", ["(Dr. Ali) spoke.", "Yes."]),
    # URLs and e-mails
    ("See https://www.example.com/a.b?x=1 today. Thanks.", ["See https://www.example.com/a.b?x=1 today.", "Thanks."]),
    ("See https://www.example.com/a.b. Then go.", ["See https://www.example.com/a.b.", "Then go."]),
    ("Mail john.smith@example.com now. Ok.", ["Mail john.smith@example.com now.", "Ok."]),
    ("Mail john.smith@example.com. Ok.", ["Mail john.smith@example.com.", "Ok."]),
    # ellipses: a lowercase word continues, anything else starts a new sentence
    ("Wait... what happened?", ["Wait... what happened?"]),
    ("Wait... What happened?", ["Wait...", "What happened?"]),
    ("Wait… what happened?", ["Wait… what happened?"]),
    ("Wait… What happened?", ["Wait…", "What happened?"]),
    ("Wait . . . Then go.", ["Wait . . .", "Then go."]),
    ("Wait.... Then go.", ["Wait....", "Then go."]),
    # no whitespace after the stop: no split
    ("This is it.Then more.", ["This is it.Then more."]),
    ("Version 2.0.1 is out!Really", ["Version 2.0.1 is out!Really"]),
    # real NTREX-128 lines
    ("Mr. Merriweather said that St. Martin's did not replace him.", ["Mr. Merriweather said that St. Martin's did not replace him."]),
    ("They're nippers, very inquisitive ... they aren't out to hurt you.", ["They're nippers, very inquisitive ... they aren't out to hurt you."]),
    ("Are you ready?\" CNN reported.", ["Are you ready?\"", "CNN reported."]),
]  # fmt: skip

ARABIC_CASES = [
    ("هل أنت بخير؟ نعم.", ["هل أنت بخير؟", "نعم."]),
    ("أولاً؛ ثانياً.", ["أولاً؛ ثانياً."]),  # ؛ joins clauses: not a stop
    ("يا له من يوم! ثم عدنا.", ["يا له من يوم!", "ثم عدنا."]),
    ("ماذا؟! لا أصدق.", ["ماذا؟!", "لا أصدق."]),
    ("انتظر… ثم عاد.", ["انتظر… ثم عاد."]),  # an ellipsis never ends an Arabic sentence
    ("انتظر... ثم عاد.", ["انتظر... ثم عاد."]),
    # quotes and brackets after a stop stay with the sentence
    ("قال «هل أنت بخير؟» وابتسم.", ["قال «هل أنت بخير؟»", "وابتسم."]),
    ('وقال:"سعيد برؤيتكم". ثم غادر.', ['وقال:"سعيد برؤيتكم".', "ثم غادر."]),
    ('وقال "سعيد برؤيتكم." ثم غادر.', ['وقال "سعيد برؤيتكم."', "ثم غادر."]),
    ("(انظر أعلاه.) ثم تابع.", ["(انظر أعلاه.)", "ثم تابع."]),
    # a space before the stop (and before an unambiguous closer)
    ("في سوريا . وقال", ["في سوريا .", "وقال"]),
    ("قال «نعم . » ثم غادر", ["قال «نعم . »", "ثم غادر"]),
    ("هل أنت بخير ؟ نعم", ["هل أنت بخير ؟", "نعم"]),
    # numbers
    ("ارتفع بنسبة ٣٫٥ في المئة. ثم هبط.", ["ارتفع بنسبة ٣٫٥ في المئة.", "ثم هبط."]),
    ("ارتفع بنسبة 3.5 في المئة. ثم هبط.", ["ارتفع بنسبة 3.5 في المئة.", "ثم هبط."]),
    ("بلغ ١٬٠٠٠ دولار و1,000 يورو. ثم هبط.", ["بلغ ١٬٠٠٠ دولار و1,000 يورو.", "ثم هبط."]),
    # abbreviations
    ("قال د. محمد إن الوضع جيد. وأضاف", ["قال د. محمد إن الوضع جيد.", "وأضاف"]),
    ("التقى م. أحمد بالوزير. ثم غادر", ["التقى م. أحمد بالوزير.", "ثم غادر"]),
    ("«د. علي» وصل. ثم غادر", ["«د. علي» وصل.", "ثم غادر"]),
    ("بني عام 300 ق.م. وما زال قائماً.", ["بني عام 300 ق.م. وما زال قائماً."]),
    ("حاضر أ.د. سامي اليوم.", ["حاضر أ.د. سامي اليوم."]),
    # URLs and e-mails
    ("راجع https://www.example.com/a.b?x=1 للمزيد. شكراً", ["راجع https://www.example.com/a.b?x=1 للمزيد.", "شكراً"]),
    ("راسلنا على info@example.com. شكراً", ["راسلنا على info@example.com.", "شكراً"]),
    # no whitespace after the stop
    ("هل؟!ماذا حدث", ["هل؟!ماذا حدث"]),
    ("انتهى.ثم بدأ", ["انتهى.ثم بدأ"]),
    # real NTREX-128 lines
    ("إنهم صغار وفضوليون جدًا ... إنهم لا يهدفون إلى إيذائك.", ["إنهم صغار وفضوليون جدًا ... إنهم لا يهدفون إلى إيذائك."]),
    ("كافانو نفى أي ادعاءات متعلقة بالاعتداء الجنسي على د. كريستين بلاسي فورد في فترة المراهقة.", ["كافانو نفى أي ادعاءات متعلقة بالاعتداء الجنسي على د. كريستين بلاسي فورد في فترة المراهقة."]),
    ("فهل أنتم مستعدون؟ وذلك حسب تقرير وكالةسي ان ان الإخبارية.", ["فهل أنتم مستعدون؟", "وذلك حسب تقرير وكالةسي ان ان الإخبارية."]),
]  # fmt: skip

EDGE_CASES = [
    ("", []),
    ("   ", []),
    (". Hello. World", [". Hello.", "World"]),  # a stray stop joins the first sentence
    ("Hello. .", ["Hello. ."]),  # and a trailing one joins the last
    ("  Hello.   World.  ", ["Hello.", "World."]),  # un-normalised input: sentences are stripped
    ("...", ["..."]),
]


@pytest.mark.parametrize(("line", "expected"), ENGLISH_CASES + ARABIC_CASES + EDGE_CASES)
def test_split_sentences(line: str, expected: list[str]) -> None:
    assert split_sentences(line) == expected


@pytest.mark.parametrize(("line", "expected"), ENGLISH_CASES + ARABIC_CASES)
def test_split_sentences_is_lossless_on_a_normalised_line(line: str, expected: list[str]) -> None:
    assert normalise(line) == line  # the tables hold normalised lines
    assert " ".join(split_sentences(line)) == line


def test_split_sentences_rejects_line_breaks() -> None:
    with pytest.raises(ValueError, match="one line"):
        split_sentences("one.\nTwo.")


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

NORMALISE_CASES = [
    ("\ufeffنص", "نص"),
    ("a\r\nb\rc\n", "a\nb\nc"),
    ("\u200fمرحبا\u200e world\u202b!\u202c\u202a\u202d\u202e\u2066x\u2067\u2068\u2069\u061c", "مرحبا world!x"),
    ("كتــــاب", "كتاب"),
    ("\ufefb", "لا"),  # LAM-ALEF ligature, isolated form
    ("\ufe91\ufeee\ufe98\ufef4\ufee6", "بوتين"),  # contextual forms
    ("ﬁ ① ２ x²", "ﬁ ① ２ x²"),  # NFKC is applied to Arabic presentation forms only
    ("a\u00a0b\u2009c\u3000d\u202fe", "a b c d e"),
    ("a \t  b", "a b"),
    ("  a  \n\t b \n", "a\nb"),
    ("a\n \n\t\n\n\nb", "a\n\nb"),
    ("\n\n a \n\n", "a"),
    ("a\u2028b\u2029c\x85d", "a\nb\n\nc\nd"),
    ("مُحَمَّدٌ", "مُحَمَّدٌ"),  # diacritics kept by default
    # HTML
    ("<p>One</p><p>Two</p>", "One\n\nTwo"),
    ("<div>One</div>\n<div>Two</div>", "One\n\nTwo"),
    ("a<br/>b<br>c<BR />d", "a\nb\nc\nd"),
    ("<b>bold</b> &amp; <a href='https://x.org/?a=1&amp;b=2'>link</a>", "bold & link"),
    ("&#1575;&#x644;&quot;", 'ال"'),
    ("a&nbsp;b", "a b"),
    ("x<script>var a = '<p>';</script>y<style>p {}</style>z<!-- note -->!", "xyz!"),
    ("AT&T &copy 2020", "AT&T &copy 2020"),  # only entities closed by ';' are decoded
    ("<unk> </s> <2en> 3 < 5 > 2", "<unk> </s> <2en> 3 < 5 > 2"),  # not HTML tags
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISE_CASES)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مُحَمَّدٌ", "محمد"),
        ("الْعَرَبِيَّةُ", "العربية"),
        ("رَحْمٰن", "رحمن"),  # superscript alef
        ("أَإِآ", "أإآ"),  # hamza and madda letters are not diacritics
        ("\ufefb\u0651", "لا"),  # after NFKC
    ],
)
def test_normalise_strip_diacritics(text: str, expected: str) -> None:
    assert normalise(text, strip_diacritics=True) == expected


def test_normalise_html_keep_leaves_markup() -> None:
    text = "<p>One</p> &amp; <br>two"
    assert normalise(text, html="keep") == text
    assert normalise(text) == "One\n\n&\ntwo"


def test_normalise_rejects_unknown_html_mode() -> None:
    with pytest.raises(ValueError, match="html"):
        normalise("x", html="remove")  # type: ignore[arg-type]


def test_whitespace_tables_cover_every_unicode_space() -> None:
    # normalise() must leave only " " and "\n", the characters rebuild() joins with.
    handled = set(SPACES + LINE_BREAKS + PARAGRAPH_BREAKS + "\r")
    assert {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} <= handled


ADVERSARIAL = [
    "&am\u200ep;lt;",  # a removed bidi mark completes an entity
    "&amp;lt;p&amp;gt;x",  # entities that decode to entities that decode to a tag
    "&#x200F;a&#xFEFF;b&#1600;c&#xFEFB;&#13;&#10;d",  # entities that decode to removable characters
    "<p\u200e>x</p>",
    "\ufe71\ufe7c x \u0640",  # NFKC produces tatweel and spaces
    "a\u200e \u200e b",  # removing marks leaves a run of spaces
]


@pytest.mark.parametrize("text", [t for t, _ in NORMALISE_CASES] + ADVERSARIAL)
@pytest.mark.parametrize("options", [{}, {"strip_diacritics": True}, {"html": "keep"}])
def test_normalise_is_idempotent(text: str, options: dict) -> None:
    once = normalise(text, **options)
    assert normalise(once, **options) == once


# --------------------------------------------------------------------------------------------
# Segment and rebuild
# --------------------------------------------------------------------------------------------


def test_segment_structure() -> None:
    text = "Title\n\nFirst one. Second one.\nA new line\n\n\n\nLast paragraph!"
    assert segment(text) == [
        Segment("Title", 0, 0, 0),
        Segment("First one.", 1, 0, 0),
        Segment("Second one.", 1, 0, 1),
        Segment("A new line", 1, 1, 0),
        Segment("Last paragraph!", 2, 0, 0),
    ]


def test_segment_and_rebuild_of_empty_text() -> None:
    assert segment("") == []
    assert segment(" \n\n\t\n") == []
    assert rebuild([]) == ""


def test_segment_normalised_flag_skips_normalisation() -> None:
    text = "a\u0640b. C"
    assert [s.text for s in segment(text)] == ["ab.", "C"]
    assert [s.text for s in segment(text, normalised=True)] == ["a\u0640b.", "C"]


def test_rebuild_with_translations() -> None:
    segs = segment("أ. ب؟ ج\nد\n\nهـ")
    assert [s.text for s in segs] == ["أ. ب؟", "ج", "د", "ه"]  # "أ." is an initial
    assert rebuild(segs, ["A. B?", "C", "D", "E"]) == "A. B? C\nD\n\nE"


def test_rebuild_rejects_mismatched_lengths() -> None:
    segs = segment("One. Two.")
    with pytest.raises(ValueError, match="2 segments but 1 texts"):
        rebuild(segs, ["only one"])


def test_rebuild_rejects_segments_out_of_order() -> None:
    segs = segment("One. Two.\n\nThree.")
    with pytest.raises(ValueError, match="order"):
        rebuild(list(reversed(segs)))


def test_rebuild_of_a_subset_keeps_the_layout() -> None:
    segs = segment("One. Two.\n\nThree. Four.")
    assert rebuild([segs[0], segs[3]]) == "One.\n\nFour."


@pytest.mark.parametrize("kwargs", [{"text": ""}, {"text": " a"}, {"text": "a", "line": -1}])
def test_segment_dataclass_validates(kwargs: dict) -> None:
    fields = {"text": "a", "paragraph": 0, "line": 0, "sentence": 0, **kwargs}
    with pytest.raises(ValueError):
        Segment(**fields)


# --------------------------------------------------------------------------------------------
# The seed article: expectations read off the file by eye
# --------------------------------------------------------------------------------------------

HEADLINE = "بوتين مستقبلاً الأسد: علاقاتنا تتطور"


def test_seed_article_is_lossless(seed_text: str) -> None:
    assert rebuild(segment(seed_text)) == normalise(seed_text)


def test_seed_article_structure(seed_text: str) -> None:
    segs = segment(seed_text)
    # 14 blocks separated by blank lines: headline; date line + headline; 11 body paragraphs;
    # the headline repeated at the end. Paragraph 1 has two lines, paragraph 8 three sentences.
    assert max(s.paragraph for s in segs) + 1 == 14
    assert len(segs) == 14 + 1 + 2
    assert segs[0] == Segment(HEADLINE, 0, 0, 0)
    date_line = [s for s in segs if s.paragraph == 1]
    assert len(date_line) == 2
    assert date_line[0].text.startswith("• تاريخ النشر:")
    assert date_line[0].text.endswith("16 مارس 2023")
    assert date_line[1] == Segment(HEADLINE, 1, 1, 0)
    assert segs[-1] == Segment(HEADLINE, 13, 0, 0)


def test_seed_article_sentences(seed_text: str) -> None:
    by_paragraph: dict[int, list[str]] = {}
    for s in segment(seed_text):
        by_paragraph.setdefault(s.paragraph, []).append(s.text)
    # The space before the final stop stays with the sentence.
    assert by_paragraph[2] == [by_paragraph[2][0]] and by_paragraph[2][0].endswith("في سوريا .")
    # Quoted speech joined by "، مضيفاً :" is one sentence, ending after the closing '".'.
    (speech,) = by_paragraph[3]
    assert speech.startswith('وقال:"سعيد برؤيتكم') and speech.endswith('هذه المعاناة".')
    assert 'مضيفاً :" الشعب' in speech
    # "... الشعبين. وقالت في بيان إن" ... العالم". وأضافت ...": three sentences.
    first, quote, last = by_paragraph[8]
    assert first.startswith("من جانبها") and first.endswith("مصلحة الشعبين.")
    assert quote.startswith('وقالت في بيان إن" المحادثات') and quote.endswith('على مستوى العالم".')
    assert last.startswith("وأضافت أنه") and last.endswith("بين البلدين.")
    # Every other paragraph is one sentence on one line.
    assert all(len(v) == 1 for k, v in by_paragraph.items() if k not in (1, 8))


def test_seed_article_is_clean_after_normalisation(seed_text: str) -> None:
    texts = [s.text for s in segment(seed_text)]
    assert not any("\xa0" in t or "  " in t for t in texts)
    assert is_arabic(" ".join(texts))


# --------------------------------------------------------------------------------------------
# The lossless property on NTREX-128 and random text
# --------------------------------------------------------------------------------------------

NTREX_FILES = ["newstest2019-ref.arb.txt", "newstest2019-src.eng.txt"]


def _ntrex_lines(ntrex_dir: Path, name: str) -> list[str]:
    return (ntrex_dir / name).read_text(encoding="utf-8").rstrip("\n").split("\n")


@pytest.mark.parametrize("name", NTREX_FILES)
def test_ntrex_lines_are_lossless(ntrex_dir: Path, name: str) -> None:
    lines = _ntrex_lines(ntrex_dir, name)
    assert len(lines) == 1997
    for line in lines:
        clean = normalise(line)
        assert " ".join(split_sentences(clean)) == clean, line
        assert rebuild(segment(line)) == clean, line


@pytest.mark.parametrize("name", NTREX_FILES)
def test_ntrex_documents_are_lossless(ntrex_dir: Path, name: str) -> None:
    lines = _ntrex_lines(ntrex_dir, name)
    ids = _ntrex_lines(ntrex_dir, "DOCUMENT_IDS.tsv")
    documents: dict[str, list[str]] = {}
    for doc_id, line in zip(ids, lines, strict=True):
        documents.setdefault(doc_id, []).append(line)
    assert len(documents) == 123
    for doc_lines in documents.values():
        # One paragraph per NTREX line ...
        text = "\n\n".join(doc_lines)
        segs = segment(text)
        assert rebuild(segs) == normalise(text)
        assert max(s.paragraph for s in segs) + 1 == sum(1 for line in doc_lines if line.strip())
        # ... and paragraphs of three lines joined by spaces, with a line break inside.
        groups = [doc_lines[i : i + 3] for i in range(0, len(doc_lines), 3)]
        text = "\n\n".join(" ".join(g[:2]) + "\n" + " ".join(g[2:]) for g in groups)
        assert rebuild(segment(text)) == normalise(text)


_RANDOM_TOKENS = [
    # words
    "قال", "الرئيس", "مُحَمَّدٌ", "كتــاب", "Smith", "said", "the", "IBM", "e", "x", "3.5", "٣٫٥",
    "1,000", "2023", "Mr.", "Dr.", "U.S.", "e.g.", "د.", "ق.م.", "J.", "https://a.example/x.y?z=1",
    "a.b@example.com", "\ufefb", "\ufe91\ufeee",
    # punctuation
    ".", "!", "?", "؟", "؛", "…", "...", "،", ",", ";", ":", "«", "»", '"', "“", "”", "'", "’",
    "(", ")", "[", "]", "‹", "›", "-",
    # whitespace and controls
    " ", " ", " ", "  ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\xa0", "\u2009", "\u2028",
    "\u200f", "\u200e", "\u061c", "\ufeff", "\u0640",
    # markup
    "<p>", "</p>", "<br/>", "<b>", "&amp;", "&#1575;", "&nbsp;", "&am", "p;", "<unk>",
]  # fmt: skip


def _random_texts(count: int, seed: int = 20230315) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_RANDOM_TOKENS, k=rng.randint(0, 40))) for _ in range(count)]


@pytest.mark.parametrize("options", [{}, {"strip_diacritics": True}, {"html": "keep"}])
def test_random_text_normalise_properties(options: dict) -> None:
    for text in _random_texts(400):
        clean = normalise(text, **options)
        assert normalise(clean, **options) == clean, repr(text)
        assert not re.search(r"[^\S \n]|  |\n\n\n|^\s|\s$| \n|\n ", clean), repr(text)


def test_random_text_is_lossless() -> None:
    for text in _random_texts(1000):
        segs = segment(text)
        assert rebuild(segs) == normalise(text), repr(text)
        assert segment(normalise(text), normalised=True) == segs, repr(text)
        assert all(s.text and s.text == s.text.strip() for s in segs)
        positions = [(s.paragraph, s.line, s.sentence) for s in segs]
        assert positions == sorted(set(positions))


# --------------------------------------------------------------------------------------------
# split_to_fit
# --------------------------------------------------------------------------------------------


class Counter:
    """A token counter that records how often it was called."""

    def __init__(self, measure: Callable[[str], int]) -> None:
        self.measure = measure
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return self.measure(text)


def count_words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def long_line(ntrex_dir: Path) -> str:
    """3,000 words of NTREX English without punctuation, on one line."""
    text = (ntrex_dir / "newstest2019-src.eng.txt").read_text(encoding="utf-8")
    words = re.findall(r"[A-Za-z]+", text)
    assert len(words) >= 3000
    return " ".join(words[:3000])


@pytest.mark.parametrize(("measure", "limit"), [(count_words, 100), (len, 300), (count_words, 7)])
def test_split_to_fit_long_line(long_line: str, measure: Callable[[str], int], limit: int) -> None:
    counter = Counter(measure)
    pieces = split_to_fit(long_line, counter, limit)
    assert "".join(pieces) == long_line
    assert all(measure(p.strip()) <= limit for p in pieces)
    # Maximal: adding the next word to any piece but the last would exceed the limit.
    for piece, following in zip(pieces, pieces[1:]):
        assert piece.endswith(" ")  # cut at whitespace, which stays with the piece
        assert measure(piece + following.split()[0]) > limit
    if measure is count_words:
        assert len(pieces) == -(-3000 // limit)
    assert counter.calls < 40 * len(pieces)


def test_split_to_fit_arabic_line(ntrex_dir: Path) -> None:
    text = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8")
    words = re.findall(r"[\u0621-\u064a]+", text)
    line = " ".join(words[:3000])
    pieces = split_to_fit(line, len, 250)
    assert "".join(pieces) == line
    assert all(len(p.strip()) <= 250 for p in pieces)
    assert all(len(p + q.split()[0]) > 250 for p, q in zip(pieces, pieces[1:]))


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        # clause punctuation is preferred over a later whitespace cut ...
        ("aa bb cc, dd ee ff gg", 5, ["aa bb cc, ", "dd ee ff gg"]),
        ("أ ب ج، د هـ و ز", 5, ["أ ب ج، ", "د هـ و ز"]),
        ("aa bb cc; dd ee ff gg", 5, ["aa bb cc; ", "dd ee ff gg"]),
        # ؛ is no sentence stop, but still a clause cut for an over-long segment
        ("أ ب ج؛ د هـ و ز", 5, ["أ ب ج؛ ", "د هـ و ز"]),
        ("aa bb cc. Dd ee ff gg", 5, ["aa bb cc. ", "Dd ee ff gg"]),
        # ... unless it would leave less than half of what fits
        ("aa, bb cc dd ee ff gg", 5, ["aa, bb cc dd ee ", "ff gg"]),
        # and a comma without whitespace after it (1,000) is not clause punctuation
        ("aa bb 1,000 dd ee ff gg", 5, ["aa bb 1,000 dd ee ", "ff gg"]),
    ],
)
def test_split_to_fit_prefers_clause_punctuation(
    text: str, limit: int, expected: list[str]
) -> None:
    assert split_to_fit(text, count_words, limit) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcdefghij", 3, ["abc", "def", "ghi", "j"]),
        ("ab abcdefgh cd", 4, ["ab ", "abcd", "efgh ", "cd"]),
        ("  ab cd ef  ", 2, ["  ab ", "cd ", "ef  "]),  # outer whitespace stays with its piece
    ],
)
def test_split_to_fit_by_characters(text: str, limit: int, expected: list[str]) -> None:
    assert split_to_fit(text, len, limit) == expected


def test_split_to_fit_keeps_combining_marks_with_their_letter() -> None:
    text = "بَبَبَبَبَ"
    pieces = split_to_fit(text, len, 3)
    assert "".join(pieces) == text
    assert pieces == ["بَ"] * 5  # never "بَب" + "َ...": a piece may not start with a mark


def test_split_to_fit_returns_fitting_text_unchanged() -> None:
    counter = Counter(count_words)
    assert split_to_fit("  one two  ", counter, 2) == ["  one two  "]
    assert counter.calls == 1
    assert split_to_fit("   ", counter, 1) == ["   "]


def test_split_to_fit_with_counter_overhead() -> None:
    # A tokenizer that adds BOS/EOS: 2 + words.
    pieces = split_to_fit("a b c d e f", lambda s: 2 + count_words(s), 4)
    assert pieces == ["a b ", "c d ", "e f"]


def test_split_to_fit_errors() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_to_fit("a b", count_words, 0)
    with pytest.raises(ValueError, match="single character 'a'"):
        split_to_fit("a b", lambda s: 2 * len(s), 1)


# --------------------------------------------------------------------------------------------
# Script detection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("", 0.0),
        ("123 !! ٣٫٥", 0.0),  # digits and punctuation are not letters
        ("مرحبا", 1.0),
        ("abc مرحبا", 5 / 8),
        ("مُحَمَّد", 1.0),  # diacritics are marks, not letters
        ("\ufefb\u06a9\u0750\u08a0", 1.0),  # presentation forms, Persian, Supplement, Extended-A
        ("Привет", 0.0),
    ],
)
def test_arabic_ratio(text: str, ratio: float) -> None:
    assert arabic_ratio(text) == pytest.approx(ratio)


def test_is_arabic() -> None:
    assert is_arabic("قال الرئيس إن Apple")
    assert not is_arabic("The president said قال")
    assert is_arabic("ab مر", threshold=0.5)  # exactly half counts
    assert not is_arabic("")
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            is_arabic("x", threshold=bad)


# --------------------------------------------------------------------------------------------
# Module contract
# --------------------------------------------------------------------------------------------


def test_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(seg_module.__file__).read_text(encoding="utf-8"))
    imported: set[str] = {"__future__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "torch" not in imported and "transformers" not in imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_public_signatures() -> None:
    assert set(seg_module.__all__) == {
        "Segment", "normalise", "split_sentences", "segment", "rebuild", "split_to_fit", "arabic_ratio", "is_arabic",
    }  # fmt: skip
    params = inspect.signature(normalise).parameters
    assert [p.kind for p in params.values()][1:] == [inspect.Parameter.KEYWORD_ONLY] * 2
    assert params["html"].default == "strip" and params["strip_diacritics"].default is False
    normalised = inspect.signature(segment).parameters["normalised"]
    assert normalised.kind is inspect.Parameter.KEYWORD_ONLY and normalised.default is False
