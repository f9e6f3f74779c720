"""summ.metrics against the sacrebleu command line, hand-computed tables, and its error paths.

The CLI runs as a subprocess (`python -m sacrebleu`) on the same files the Python API scores,
so agreement means "a reader can reproduce our table with sacrebleu alone".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

from summ.data import read_lines
from summ.errors import ConfigError, InputError, MissingDependencyError
from summ.metrics import (
    ARABIC_TOKENIZER_VERSION,
    METRICS,
    ArabicRougeTokenizer,
    MetricScore,
    compare,
    rouge,
    score,
    spm_model_path,
)

from .sacrebleu_cli import (
    CLI_NAMES,
    cli_corpus,
    fmt,
    parse_paired_latex,
    parse_signatures,
    run_sacrebleu,
)

N_LINES = 200
N_RESAMPLES = 200  # small enough for a fast test, large enough for non-trivial p-values


# --------------------------------------------------------------------------- helpers


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def perturb(lines: list[str], variant: int) -> list[str]:
    """Deterministic damage: drop a first word, drop every 4th word, swap two words, ..."""
    out = []
    for i, line in enumerate(lines):
        w = line.split()
        if variant == 1:
            if i % 3 == 0:
                # A local swap rather than a reversal: long-distance shifts make TER slow.
                w = w[:1] + w[2:3] + w[1:2] + w[3:] if i % 2 else w[1:]
            elif i % 3 == 1:
                w = [x for j, x in enumerate(w) if j % 4 != 1]
        elif variant == 2:  # a second reference: a lightly edited paraphrase
            if i % 4 == 0:
                w = [x.lower() for x in w]
            elif i % 4 == 2 and len(w) > 3:
                w = w[:2] + w[3:]
        out.append(" ".join(w))
    return out


def close_variant(hyp: list[str], ref: list[str]) -> list[str]:
    """A system close to ``hyp``: a few lines fixed, a few made worse (p-values well above 0)."""
    out = []
    for i, (h, r) in enumerate(zip(hyp, ref)):
        if i % 25 == 7:
            h = r
        elif i % 25 == 19:
            words = h.split()
            h = " ".join(words[: max(1, len(words) * 2 // 3)])
        out.append(h)
    return out


# Tiny files with an empty hypothesis line, punctuation and a case difference.
TINY_REF = [
    "The cat sat on the mat.",
    "It is raining in Cairo today.",
    "Members of parliament met on Tuesday.",
    "No translation here.",
    "He said: \"we will win\".",
]
TINY_REF2 = [
    "A cat was sitting on the mat.",
    "Today it rains in Cairo.",
    "MPs met on Tuesday.",
    "There is no translation.",
    "He said that they would win.",
]
TINY_HYP = [
    "The cat sat on a mat.",
    "it is raining in cairo today",
    "Parliament members met Tuesday.",
    "",
    "He said: \"we will win\".",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory, data_dir: Path) -> dict[str, Path]:
    """Tiny and NTREX-based hypothesis/reference files, written once for the module."""
    d = tmp_path_factory.mktemp("metrics")
    ref = read_lines(data_dir / "ntrex128" / "newstest2019-src.eng.txt")[:N_LINES]
    hyp = perturb(ref, 1)
    return {
        "tiny.ref": write(d / "tiny.ref.txt", TINY_REF),
        "tiny.ref2": write(d / "tiny.ref2.txt", TINY_REF2),
        "tiny.hyp": write(d / "tiny.hyp.txt", TINY_HYP),
        "ntrex.ref": write(d / "ntrex.ref.txt", ref),
        "ntrex.ref2": write(d / "ntrex.ref2.txt", perturb(ref, 2)),
        "ntrex.hyp": write(d / "ntrex.hyp.txt", hyp),
        "ntrex.hyp2": write(d / "ntrex.hyp2.txt", close_variant(hyp, ref)),
        "ntrex.hyp3": write(d / "ntrex.hyp3.txt", perturb(hyp, 1)),
    }


# --------------------------------------------------------------------------- vs the CLI

@pytest.mark.parametrize("corpus", ["tiny", "ntrex"])
@pytest.mark.parametrize("nrefs", [1, 2])
def test_corpus_scores_and_signatures_equal_cli(files, corpus, nrefs):
    hyp_path = files[f"{corpus}.hyp"]
    ref_paths = [files[f"{corpus}.ref"], files[f"{corpus}.ref2"]][:nrefs]
    refs = [read_lines(p) for p in ref_paths]
    ours = {s.metric: s for s in score(read_lines(hyp_path), refs if nrefs > 1 else refs[0])}

    cli = cli_corpus(ref_paths, hyp_path, "-m", "bleu", "chrf", "ter")
    cli.update(cli_corpus(ref_paths, hyp_path, "-m", "chrf", "--chrf-word-order", "2"))
    assert set(ours) == set(METRICS)
    for name, s in ours.items():
        record = cli[CLI_NAMES[name]]
        assert fmt(s.score) == fmt(record["score"]), name
        assert s.signature == record["signature"], name
        assert f"nrefs:{nrefs}" in s.signature and f"version:{sacrebleu.__version__}" in s.signature
        assert s.n == len(read_lines(hyp_path)) and s.level == "corpus" and s.item is None


def test_bleu_details_equal_cli_verbose_line(files):
    ours = score(read_lines(files["ntrex.hyp"]), read_lines(files["ntrex.ref"]), ["bleu"])[0]
    verbose = cli_corpus([files["ntrex.ref"]], files["ntrex.hyp"], "-m", "bleu")["BLEU"]["verbose_score"]
    d = ours.details
    expected = "/".join(f"{p:.1f}" for p in d["precisions"])
    expected += f" (BP = {d['bp']:.3f} ratio = {d['ratio']:.3f} hyp_len = {d['sys_len']} ref_len = {d['ref_len']})"
    assert verbose == expected


@pytest.mark.parametrize("metric,cli_args", [("bleu", ["-m", "bleu"]), ("chrf", ["-m", "chrf"])])
def test_sentence_scores_equal_cli_sentence_level(files, metric, cli_args):
    hyps, refs = read_lines(files["ntrex.hyp"]), read_lines(files["ntrex.ref"])
    ours = score(hyps, refs, [metric], level="sentence")
    lines = run_sacrebleu(files["ntrex.ref"], "-i", files["ntrex.hyp"], *cli_args, "-sl", "-f", "text").splitlines()
    assert len(ours) == len(lines) == N_LINES
    for i, (s, line) in enumerate(zip(ours, lines)):
        head, value = re.match(r"^\S+?\|(\S+) = ([0-9.]+)", line).groups()
        assert (s.item, s.level, s.n) == (str(i), "sentence", 1)
        assert fmt(s.score) == value, i
        assert s.signature == head
    if metric == "bleu":
        # Sentence BLEU uses effective order (as `sacrebleu -sl` does); corpus BLEU does not.
        assert "eff:yes" in ours[0].signature


def test_spbleu_equals_cli_with_a_local_sentencepiece_model(files, tmp_path, monkeypatch):
    """spBLEU goes through sacrebleu's flores200 tokenizer; a tiny local model stands in offline."""
    import sentencepiece as spm
    from sacrebleu.tokenizers import tokenizer_spm

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path))
    target = Path(spm_model_path("flores200"))
    assert target.parent == tmp_path / "models"
    target.parent.mkdir()
    spm.SentencePieceTrainer.train(
        input=str(files["ntrex.ref"]), model_prefix=str(tmp_path / "tiny"), vocab_size=300, minloglevel=2
    )
    (tmp_path / "tiny.model").rename(target)

    hyps, refs = read_lines(files["ntrex.hyp"]), read_lines(files["ntrex.ref"])
    ours = score(hyps, refs, ["spbleu-flores200", "bleu"])
    cli = cli_corpus([files["ntrex.ref"]], files["ntrex.hyp"], "-m", "bleu", "-tok", "flores200",
                     env={"SACREBLEU": str(tmp_path)})["BLEU"]
    assert ours[0].metric == "spbleu-flores200"
    assert fmt(ours[0].score) == fmt(cli["score"])
    assert ours[0].signature == cli["signature"] and "tok:flores200" in ours[0].signature
    assert ours[0].score != ours[1].score  # really a different tokenisation than 13a


# --------------------------------------------------------------------------- hand-computed

# (hyps, refs, metric, expected score); BLEU's second case by hand: hypothesis "the cat sat on
# the mat" vs "the cat sat on a mat": 1-4-gram matches 5/6, 3/5, 2/4, 1/3, BP = 1 (6 = 6), so
# BLEU = 100 * (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = 100 * (1/12) ** 0.25 = 53.728...
HAND_TABLE = [
    (["the cat sat on the mat"], ["the cat sat on the mat"], "bleu", 100.0),
    (["the cat sat on the mat"], ["the cat sat on a mat"], "bleu", 100 * (1 / 12) ** 0.25),
    (["xyz qqq"], ["the cat sat on the mat"], "bleu", 0.0),
    (["the cat sat on the mat"], ["the cat sat on the mat"], "chrf", 100.0),
    (["xyz"], ["abc"], "chrf", 0.0),
    # TER: one substitution (a -> the) over a 6-word reference.
    (["the cat sat on the mat"], ["the cat sat on a mat"], "ter", 100 / 6),
    (["a b c"], ["a b c"], "ter", 0.0),
    # A 3-word hypothesis has no 4-gram: its 4-gram precision is 0, so corpus BLEU (no effective
    # order) is 0 even though every n-gram it has is right.
    (["the cat sat"], ["the cat sat on the mat"], "bleu", 0.0),
]


@pytest.mark.parametrize("hyps,refs,metric,expected", HAND_TABLE)
def test_hand_computed_table(hyps, refs, metric, expected):
    assert score(hyps, refs, [metric])[0].score == pytest.approx(expected, abs=1e-9)


def test_bleu_details_hand_computed():
    s = score(["the cat sat on the mat"], ["the cat sat on a mat"], ["bleu"])[0]
    assert s.details["counts"] == [5, 3, 2, 1]
    assert s.details["totals"] == [6, 5, 4, 3]
    assert s.details["precisions"] == pytest.approx([500 / 6, 60.0, 50.0, 100 / 3])
    assert (s.details["bp"], s.details["sys_len"], s.details["ref_len"]) == (1.0, 6, 6)


def test_sentence_bleu_uses_effective_order_and_differs_from_corpus_bleu():
    # Short line: no 4-gram, so corpus BLEU is 0 while sentence BLEU (effective order) is not.
    hyps, refs = ["the cat sat"], ["the cat sat on the mat"]
    sent = score(hyps, refs, ["bleu"], level="sentence")[0]
    assert score(hyps, refs, ["bleu"])[0].score == 0.0
    # Effective order: precisions 1, 1, 1 over orders 1..3; BP = exp(1 - 6/3).
    assert sent.score == pytest.approx(100 * 2.718281828459045 ** (1 - 6 / 3))


# --------------------------------------------------------------------------- input checks


def test_length_mismatch_names_both_counts_and_names():
    with pytest.raises(InputError) as err:
        score(["a", "b", "c"], ["a", "b"], hyp_name="hyp.txt", ref_names=["ref.en.txt"])
    assert str(err.value) == "hyp.txt has 3 lines but ref.en.txt has 2; they must be line-aligned"


def test_length_mismatch_in_second_reference_stream():
    with pytest.raises(InputError, match=r"hyp\.txt has 2 lines but r2\.txt has 1"):
        score(["a", "b"], [["a", "b"], ["a"]], hyp_name="hyp.txt", ref_names=["r1.txt", "r2.txt"])


@pytest.mark.parametrize(
    "hyps,refs,message",
    [
        (["a", "b"], ["a", ["b"]], "mix strings and lists"),
        ("a b", ["a b"], "must be a list of strings"),
        ([], [], "is empty"),
        (["a", None], ["a", "b"], "line 2 is NoneType"),
        (["a"], "a", "must be a list of strings or a list of reference streams"),
    ],
)
def test_bad_input_types_are_input_errors(hyps, refs, message):
    with pytest.raises(InputError, match=message):
        score(hyps, refs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"metrics": ["bleu", "meteor"]}, "unknown metric"),
        ({"metrics": "bleu"}, "not a string"),
        ({"metrics": ["bleu", "bleu"]}, "listed twice"),
        ({"level": "paragraph"}, "unknown level"),
        ({"level": "document"}, "needs doc_ids"),
        ({"doc_ids": ["d1", "d1"]}, "only used at level='document'"),
        ({"ref_names": ["a", "b"]}, "ref_names has 2 names"),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        score(["a b", "c d"], ["a b", "c d"], **kwargs)


def test_empty_hypothesis_lines_are_scored_not_dropped(files):
    hyps, refs = read_lines(files["tiny.hyp"]), read_lines(files["tiny.ref"])
    assert "" in hyps
    kept = {s.metric: s for s in score(hyps, refs)}
    pairs = [(h, r) for h, r in zip(hyps, refs) if h]
    dropped = {s.metric: s for s in score([h for h, _ in pairs], [r for _, r in pairs])}
    for name in METRICS:
        assert kept[name].n == len(hyps)
        assert kept[name].score != pytest.approx(dropped[name].score), name
    assert kept["bleu"].details["ref_len"] > dropped["bleu"].details["ref_len"]


# --------------------------------------------------------------------------- document level


def test_document_scores_equal_corpus_score_on_each_document(files):
    hyps, refs = read_lines(files["ntrex.hyp"]), read_lines(files["ntrex.ref"])
    # Interleaved ids on purpose: grouping must collect a document's lines wherever they are.
    doc_ids = [f"doc{(i // 30) % 4}" for i in range(len(hyps))]
    docs = score(hyps, refs, ["bleu", "chrf", "ter"], level="document", doc_ids=doc_ids)
    assert [(s.metric, s.item) for s in docs[:4]] == [("bleu", f"doc{k}") for k in range(4)]
    for s in docs:
        idx = [i for i, d in enumerate(doc_ids) if d == s.item]
        alone = score([hyps[i] for i in idx], [refs[i] for i in idx], [s.metric])[0]
        assert s.score == alone.score and s.n == len(idx) and s.level == "document"
        assert s.signature == alone.signature


def test_document_level_with_ntrex_document_ids(files, data_dir):
    ids = read_lines(data_dir / "ntrex128" / "DOCUMENT_IDS.tsv")[:N_LINES]
    hyps, refs = read_lines(files["ntrex.hyp"]), read_lines(files["ntrex.ref"])
    docs = score(hyps, refs, ["chrf"], level="document", doc_ids=ids)
    assert [s.item for s in docs] == list(dict.fromkeys(ids))
    assert sum(s.n for s in docs) == N_LINES


def test_doc_ids_of_the_wrong_length_are_an_input_error():
    with pytest.raises(InputError, match="doc_ids has 1 entries but hyp.txt has 2 lines"):
        score(["a", "b"], ["a", "b"], level="document", doc_ids=["d1"], hyp_name="hyp.txt")


def test_an_empty_document_id_is_an_error():
    with pytest.raises(InputError, match=r":2: empty document id"):
        score(["x", "y"], ["x", "y"], level="document", doc_ids=["a", ""])


# --------------------------------------------------------------------------- significance


@pytest.mark.parametrize("method", ["bs", "ar"])
@pytest.mark.parametrize("seed", [12345, 7])
def test_paired_tests_equal_cli(files, method, seed):
    env_before = os.environ.get("SACREBLEU_SEED")
    names = ["ntrex.hyp", "ntrex.hyp2", "ntrex.hyp3"]
    systems = {files[n].name: read_lines(files[n]) for n in names}
    refs = read_lines(files["ntrex.ref"])
    ours = compare(systems, refs, baseline=files["ntrex.hyp"].name, metrics=("bleu", "chrf", "ter"),
                   method=method, n_samples=N_RESAMPLES, seed=seed)
    text = run_sacrebleu(files["ntrex.ref"], "-i", *(files[n] for n in names), "-m", "bleu", "chrf", "ter",
                         f"--paired-{method}", f"--paired-{method}-n", str(N_RESAMPLES), "-f", "latex",
                         env={"SACREBLEU_SEED": str(seed)})
    cli = parse_paired_latex(text)
    sigs = parse_signatures(text)

    assert [c.system for c in ours] == [n for n in systems for _ in range(3)]
    for c in ours:
        col = ("bleu", "chrf", "ter").index(c.metric)
        numbers = cli[c.system][col]
        assert (c.method, c.n_samples, c.seed, c.baseline) == (method, N_RESAMPLES, seed, files["ntrex.hyp"].name)
        assert c.signature == sigs[col]
        assert f"seed:{seed}" in c.signature and f"{method}:{N_RESAMPLES}" in c.signature
        expected = [c.score]
        if method == "bs":
            expected += [c.mean, c.ci]
        else:
            assert c.mean is None and c.ci is None
        if c.system != c.baseline:
            expected.append(c.p_value)
            assert c.significant == (c.p_value < 0.05)
        else:
            assert c.p_value is None and not c.significant and c.delta == 0
        assert [fmt(x) for x in expected] == [fmt(x) for x in numbers], (c.system, c.metric)
    # The close variant is not significantly different on BLEU; the damaged one is.
    by = {(c.system, c.metric): c for c in ours}
    assert not by[(files["ntrex.hyp2"].name, "bleu")].significant
    assert by[(files["ntrex.hyp3"].name, "bleu")].significant
    assert os.environ.get("SACREBLEU_SEED") == env_before  # the seed is passed in, not left behind


def test_compare_default_samples_and_seed_is_used(files):
    systems = {"a": read_lines(files["ntrex.hyp"])[:50], "b": read_lines(files["ntrex.hyp2"])[:50]}
    refs = read_lines(files["ntrex.ref"])[:50]
    ar = compare(systems, refs, "a", metrics=("chrf",), method="ar", n_samples=None)
    assert ar[0].n_samples == 10000 and "ar:10000" in ar[0].signature
    one = compare(systems, refs, "a", metrics=("chrf",), n_samples=100, seed=1)
    again = compare(systems, refs, "a", metrics=("chrf",), n_samples=100, seed=1)
    other = compare(systems, refs, "a", metrics=("chrf",), n_samples=100, seed=2)
    assert one == again
    assert one[1].ci != other[1].ci


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"baseline": "zzz"}, ConfigError, "baseline 'zzz' is not one of the systems"),
        ({"method": "t-test"}, ConfigError, "unknown significance method"),
        ({"seed": 0}, ConfigError, "seed must be a positive integer"),
        ({"n_samples": 0}, ConfigError, "n_samples must be a positive integer"),
        ({"metrics": ("comet",)}, ConfigError, "unknown metric"),
        ({"systems": {"a": ["x y", "z"], "b": ["x y"]}}, InputError, "b has 1 lines but references has 2"),
    ],
)
def test_compare_errors(kwargs, error, message):
    args = {"systems": {"a": ["x y", "z"], "b": ["x z", "z"]}, "refs": ["x y", "z"], "baseline": "a"}
    with pytest.raises(error, match=message):
        compare(**{**args, **kwargs})


# --------------------------------------------------------------------------- ROUGE


def test_rouge_identical_arabic_is_100_where_stock_rouge_gives_0():
    from rouge_score import rouge_scorer

    text = "ذهب الرئيس إلى دمشق يوم الأربعاء.\nوقال إن المحادثات كانت مثمرة."
    ours = rouge([text], [text], lang="ar")
    assert [s.score for s in ours] == [100.0, 100.0, 100.0]
    stock = rouge_scorer.RougeScorer(["rouge1"]).score(text, text)["rouge1"].fmeasure
    assert stock == 0.0  # the trap this tokenizer exists for


def test_rouge_arabic_partial_overlap_hand_computed():
    # 3 of 4 unigrams shared; bigrams: 2 of 3 shared ("ذهب الولد", "الولد إلى").
    ours = {s.metric: s for s in rouge(["ذهب الولد إلى المدرسة"], ["ذهب الولد إلى البيت"], lang="ar",
                                       types=("rouge1", "rouge2", "rougeL"))}
    assert ours["rouge1"].score == pytest.approx(75.0)
    assert ours["rouge2"].score == pytest.approx(200 / 3)
    assert ours["rougeL"].score == pytest.approx(75.0)
    assert ours["rouge1"].details == pytest.approx({"precision": 75.0, "recall": 75.0})
    assert ours["rouge1"].signature == (
        f"rouge|nrefs:1|lang:ar|tok:{ARABIC_TOKENIZER_VERSION}|stem:no|version:rouge-score-0.1.2"
    )


@pytest.mark.parametrize(
    "text,tokens",
    [
        ("ذَهَبَ الوَلَدُ", ["ذهب", "الولد"]),  # diacritics removed
        ("مـــحـمد", ["محمد"]),  # tatweel removed
        ("قال:«نعم»،ثم؟رحل", ["قال", "نعم", "ثم", "رحل"]),  # Arabic punctuation splits
        ("عام ٢٠٢٣ و 2024 و ۱۴۰۲", ["عام", "٢٠٢٣", "و", "2024", "و", "۱۴۰۲"]),  # all digit kinds kept
        ("قناة BBC العربية", ["قناة", "bbc", "العربية"]),  # Latin kept, lowercased
        ("\ufefb", ["لا"]),  # presentation-form ligature folded by NFKC
        ("أحمد إلى آخر", ["أحمد", "إلى", "آخر"]),  # hamza forms kept as written (no normalisation)
        # v2 (summ-ar-v2) rules; v1 gave "و34", "ب300", "2019م" as single tokens, "m" + "ller",
        # and cut words at a ZWNJ or a bidi mark.
        ("قتل و34 وتبرع ب300 عام 2019م",
         ["قتل", "و", "34", "وتبرع", "ب", "300", "عام", "2019", "م"]),
        # Every letter kept, lowercased.
        ("قال Müller و Горбачёв", ["قال", "müller", "و", "горбачёв"]),
        ("عبد\u200cالله \u200fمحمد\u200e", ["عبدالله", "محمد"]),  # ZWNJ and bidi marks removed
        ("ب\u0654\u0670ت \u0610صلى", ["بت", "صلى"]),  # combining hamza, dagger alef, honorific sign
    ],
)
def test_arabic_tokenizer_rules(text, tokens):
    assert ArabicRougeTokenizer().tokenize(text) == tokens


def _chars(ranges):
    return [chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)]


def test_the_arabic_character_table_covers_unicode_and_rouge_and_display_use_it():
    import unicodedata

    from summ import display
    from summ import segment as seg

    letters, marks = set(_chars(seg.ARABIC_LETTERS)), set(_chars(seg.ARABIC_MARKS))
    presentation = set(_chars(seg.PRESENTATION_FORMS))
    for ch in _chars(seg.ARABIC_SCRIPT):
        if ch in presentation:
            continue
        category = unicodedata.category(ch)
        assert (category == "Lo") == (ch in letters), hex(ord(ch))
        if category == "Mn":
            assert ch in marks, hex(ord(ch))
    assert set(_chars(seg.DIACRITICS)) <= marks and seg.TATWEEL not in letters | marks
    assert {unicodedata.category(d) for d in _chars(seg.ARABIC_DIGITS)} == {"Nd"}
    tokenizer = ArabicRougeTokenizer()
    for ch in letters:  # every letter is a token (NFKC may rewrite a few compatibility letters)
        assert len(tokenizer.tokenize(ch)) == 1, hex(ord(ch))
    for ch in marks | {seg.TATWEEL}:  # every mark and tatweel vanishes inside a word
        assert tokenizer.tokenize(f"ب{ch}ت") == [unicodedata.normalize("NFKC", "بت")], hex(ord(ch))
    # display's Arabic detection is segment's table (block edges on both sides).
    for lo, hi in seg.ARABIC_SCRIPT:
        for cp in (lo - 1, lo, hi, hi + 1):
            assert display._has_arabic(f"x{chr(cp)}") == seg.contains_arabic(chr(cp))
    assert seg.contains_arabic("\u0600") and not seg.contains_arabic("abc")


def test_rouge_english_without_stemming():
    s = rouge(["the cat is running"], ["the cat runs"], lang="en", types=("rouge1",), stem=False)[0]
    assert s.score == pytest.approx(100 * 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3))  # the, cat
    assert "stem:no" in s.signature
    with pytest.raises(ConfigError, match="stem must be true, false or None"):
        rouge(["a"], ["a"], stem="yes")


def test_rouge_english_porter_stemming():
    # "running" and "runs" both stem to "run": unigrams the/cat/is/run vs the/cat/run -> P 3/4, R 3/3.
    s = rouge(["the cat is running"], ["the cat runs"], lang="en", types=("rouge1",))[0]
    assert s.score == pytest.approx(100 * 2 * (3 / 4) / (3 / 4 + 1))
    assert "stem:porter" in s.signature and "lang:en" in s.signature


def test_rougelsum_uses_newline_separated_sentences():
    hyp = "the cat sat on the mat.\nthe dog ran away."
    ref = "the dog ran away.\nthe cat sat on the mat."
    s = {x.metric: x.score for x in rouge([hyp], [ref], types=("rougeL", "rougeLsum"))}
    assert s["rougeLsum"] == pytest.approx(100.0)  # sentence order does not matter
    # One LCS over the whole text does: "the cat sat on the mat", 6 of 10 tokens each side -> F 60.
    assert s["rougeL"] == pytest.approx(60.0)


def test_rouge_levels_lengths_and_multiple_references():
    hyps = ["the cat sat", "a dog ran"]
    per_pair = rouge(hyps, ["the cat sat", "the cat sat"], types=("rouge1",), level="sentence")
    corpus = rouge(hyps, ["the cat sat", "the cat sat"], types=("rouge1",))[0]
    assert [s.item for s in per_pair] == ["0", "1"]
    assert corpus.score == pytest.approx(sum(s.score for s in per_pair) / 2)
    # With a second reference stream each pair takes its best reference.
    multi = rouge(hyps, [["the cat sat", "the cat sat"], ["xx", "a dog ran"]], types=("rouge1",))[0]
    assert multi.score == pytest.approx(100.0) and "nrefs:2" in multi.signature
    with pytest.raises(InputError, match="sys has 2 lines but references has 1"):
        rouge(hyps, ["the cat sat"], hyp_name="sys")
    with pytest.raises(ConfigError, match="unknown ROUGE language"):
        rouge(hyps, hyps, lang="fr")


# --------------------------------------------------------------------------- optional metrics


def test_spbleu_without_its_model_says_which_file_and_how_to_provide_it(tmp_path, monkeypatch):
    from sacrebleu.tokenizers import tokenizer_spm

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path))
    for name, tok, filename in [("spbleu-flores200", "flores200", "flores200sacrebleuspm"),
                                ("spbleu-flores101", "flores101", "sacrebleu_tokenizer_spm.model")]:
        with pytest.raises(MissingDependencyError) as err:
            score(["a b c"], ["a b c"], ["bleu", name])
        message = str(err.value)
        assert str(tmp_path / "models" / filename) in message
        assert tok in message and "SACREBLEU" in message and tokenizer_spm.SPM_MODELS[tok]["url"] in message
        assert "\n" not in message
    assert not (tmp_path / "models").exists()  # nothing was downloaded or created


# COMET and COMETKiwi: tests/test_comet.py (against comet-score on tiny checkpoints).


def test_module_docstring_example_runs():
    import doctest

    import summ.metrics

    result = doctest.testmod(summ.metrics)
    assert result.attempted >= 1 and result.failed == 0


def test_metric_score_is_frozen_and_import_does_not_load_torch():
    s = MetricScore("bleu", "corpus", None, 1.0, "sig", 1)
    with pytest.raises(AttributeError):
        s.score = 2.0  # type: ignore[misc]
    code = "import sys, summ.metrics; print('torch' in sys.modules, 'rouge_score' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
