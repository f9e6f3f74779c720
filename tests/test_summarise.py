"""Summarisation: extractive invariants, every strategy on tiny models, chunking, flags, analysis."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from summ.data import Document, load_ntrex128
from summ.errors import ConfigError, InputError, SummError
from summ.segment import SENTENCE_STOPS, normalise, segment
from summ.summary import STRATEGIES, Summariser, SummaryConfig, chunk_text, select_sentences, summarise, textrank_scores
from summ.metrics import evaluate_summaries, propagation, propagation_table
from summ.engines.base import DecodeConfig, Generation

# distilbart-shaped generation (min_length 56) under a 16-token cap makes transformers warn
# on every call; the cap is what these tests want.
pytestmark = pytest.mark.filterwarnings("ignore:Unfeasible length constraints")

# Translation settings that keep tiny-model tests fast: greedy, short outputs.
FAST_MT = DecodeConfig(beam_size=1, max_new_tokens=16)
# Summariser settings for tiny models: greedy, 16 new tokens.
FAST_SUM = dict(max_tokens=16, beam_size=1)

# Which tiny model stands in for each strategy's default.
TINY = {
    "abstractive": "mt5",
    "translate-then-summarise": "bart",
    "summarise-then-translate": "mt5",
    "direct": "mt5-crosssum",
    "llm": "qwen2",
}


def strategy_kwargs(strategy: str, tiny_models) -> dict:
    """summarise() options that run ``strategy`` on tiny models."""
    kwargs: dict = {}
    if strategy in TINY:
        kwargs.update(model=str(tiny_models[TINY[strategy]]), **FAST_SUM)
    if strategy.endswith("translate") or strategy.startswith("translate"):
        kwargs.update(translator=str(tiny_models["marian"]), translate_decode=FAST_MT)
    return kwargs


@pytest.fixture(scope="module")
def ntrex_docs(data_dir) -> list[str]:
    """20 NTREX-128 documents, Arabic side, one sentence per line."""
    corpus = load_ntrex128(data_dir).select_documents(20)
    return ["\n".join(corpus.src[i] for i in lines) for _, lines in corpus.documents()]


@pytest.fixture(scope="module")
def ntrex_english(data_dir) -> list[str]:
    corpus = load_ntrex128(data_dir).select_documents(20)
    return ["\n".join(corpus.refs[0][i] for i in lines) for _, lines in corpus.documents()]


# --------------------------------------------------------------------------------------------
# API shape
# --------------------------------------------------------------------------------------------


def test_import_does_not_load_model_libraries():
    code = (
        "import sys, summ.summary; "
        "bad = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_entry_point_is_the_function_even_after_the_module_was_imported():
    # The module is summ.summary, the function summ.summarise: importing the module never
    # rebinds the name (they used to clash and needed a binding trick).
    import importlib

    import summ

    module = importlib.import_module("summ.summary")
    from summ import summarise as public

    assert module.Summariser is Summariser
    assert summ.summarise is public is module.summarise
    assert public(["جملة أولى. جملة ثانية."], "lead", sentences=1)[0].sentences == ["جملة أولى."]


@pytest.mark.parametrize("call", [lambda d: summarise(d), lambda d: Summariser().summarise(d)])
def test_bare_string_is_a_type_error(call, seed_text):
    with pytest.raises(TypeError, match="list of documents"):
        call(seed_text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(strategy="magic"), "unknown strategy"),
        (dict(strategy="textrank", max_tokens=20), "sentences, not max_tokens"),
        (dict(strategy="lead", model="x"), "uses no model"),
        (dict(strategy="direct", lang="en"), "takes Arabic articles"),
        (dict(strategy="textrank", sentences=0), "sentences must be"),
        (dict(strategy="textrank", lang="fr"), "unknown lang"),
    ],
)
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SummaryConfig(**kwargs)


def test_unknown_option_is_rejected():
    with pytest.raises(ConfigError, match="unknown option"):
        summarise(["نص."], "lead", sentence=2)


def test_summary_as_dict_is_json(seed_text):
    (summary,) = summarise([seed_text], "textrank")
    data = json.loads(json.dumps(summary.as_dict(), ensure_ascii=False))
    assert data["sentences"] == summary.sentences and data["indices"] == summary.indices


# --------------------------------------------------------------------------------------------
# Extractive invariants
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["lead", "textrank"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_extractive_picks_k_source_sentences_in_order(strategy, k, seed_text):
    (summary,) = summarise([seed_text], strategy, sentences=k)
    source = [s.text for s in segment(seed_text)]
    assert len(summary.sentences) == k
    assert summary.indices == sorted(summary.indices)
    assert [source[i] for i in summary.indices] == summary.sentences
    assert summary.text == "\n".join(summary.sentences)
    assert summary.lang == "ar" and summary.flags == () and not summary.chunked


def test_lead_is_the_first_distinct_sentences(seed_text):
    # The seed page repeats its headline (sentence 2 == sentence 0): lead-3 skips the copy.
    source = [s.text for s in segment(seed_text)]
    assert source[0] == source[2]
    assert summarise([seed_text], "lead")[0].indices == [0, 1, 3]


def test_seed_article_textrank_three_sentences(seed_text):
    """What `summ summarise <seed> --strategy textrank --sentences 3` prints."""
    (summary,) = summarise([seed_text], "textrank", sentences=3)
    source = {s.text for s in segment(seed_text)}
    assert len(summary.sentences) == 3 and len(set(summary.sentences)) == 3
    assert all(s in source for s in summary.sentences)
    # The TextRank pick is not just the lead: the headline and dateline are not central.
    assert summary.indices != summarise([seed_text], "lead")[0].indices


@pytest.mark.parametrize("strategy", ["lead", "textrank"])
def test_short_article_gives_the_whole_article(strategy):
    text = "الجملة الأولى هنا. والجملة الثانية هناك."
    (summary,) = summarise([text], strategy, sentences=3)
    assert summary.sentences == [s.text for s in segment(text)] and summary.indices == [0, 1]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_article_gives_empty_summary(strategy, tiny_models):
    summaries = summarise(["", "  \n\n "], strategy, **strategy_kwargs(strategy, tiny_models))
    for summary in summaries:
        assert summary.text == "" and summary.sentences == [] and summary.flags == ("empty",)
        assert summary.chunks == 0


@pytest.mark.parametrize(
    "sentences",
    [
        [
            "The storm arrived at night.",
            "A flood covered the fields.",
            "Engineers inspected the harbour.",
            "The storm and flood damaged the harbour, bridge, railway and school.",
            "The bridge closed for repairs.",
            "Railway services stopped.",
            "The school opened late.",
        ],
        [
            "وصلت العاصفة ليلا.",
            "غمر فيضان الحقول.",
            "فحص مهندسون الميناء.",
            "ألحقت العاصفة والفيضان أضرارا بالميناء والجسر والسكة والمدرسة.",
            "أغلق الجسر للإصلاح.",
            "توقفت السكة تماما.",
            "فتحت المدرسة متأخرة.",
        ],
    ],
    ids=["en", "ar"],
)
def test_textrank_finds_the_central_sentence(sentences):
    # Sentence 3 shares a word with every other sentence; the others share nothing with each other.
    scores = textrank_scores(sentences)
    assert max(range(len(scores)), key=scores.__getitem__) == 3
    assert select_sentences(sentences, 1, "textrank") == [3]
    (summary,) = summarise([" ".join(sentences)], "textrank", sentences=1, lang="auto")
    assert summary.sentences == [sentences[3]]


def test_textrank_ties_go_to_the_earlier_sentence():
    unrelated = ["Alpha bravo.", "Charlie delta.", "Echo foxtrot.", "Golf hotel."]
    scores = textrank_scores(unrelated)
    assert scores == pytest.approx([0.25] * 4)
    assert select_sentences(unrelated, 2, "textrank") == [0, 1]


def test_textrank_is_deterministic(seed_text, ntrex_docs):
    first = summarise([seed_text, *ntrex_docs], "textrank")
    second = summarise([seed_text, *ntrex_docs], "textrank")
    assert [s.indices for s in first] == [s.indices for s in second]


@pytest.mark.parametrize("strategy", ["lead", "textrank"])
def test_extractive_on_ntrex_documents(strategy, ntrex_docs):
    summaries = summarise(ntrex_docs, strategy, sentences=3)
    assert len(summaries) == 20
    for doc, summary in zip(ntrex_docs, summaries):
        source = [s.text for s in segment(doc)]
        assert len(summary.sentences) == min(3, len(set(source)))
        assert [source[i] for i in summary.indices] == summary.sentences


def test_extractive_with_translator_is_aligned(seed_text, tiny_models):
    plain = summarise([seed_text], "textrank")[0]
    (summary,) = summarise([seed_text], "textrank", translator=str(tiny_models["marian"]), translate_decode=FAST_MT)
    assert summary.source_sentences == plain.sentences and summary.indices == plain.indices
    assert len(summary.sentences) == 3 and all(summary.sentences)
    assert summary.lang == "en" and summary.text == "\n".join(summary.sentences)
    # The tiny model copies its input: a long repetitive sentence comes back capped and
    # repetitive (both flags are kept), a short plain one with neither.
    docs = [" ".join(["في"] * 40) + ". وداعا.", "جملة قصيرة. وأخرى."]
    looping, plain_short = summarise(docs, "lead", sentences=1, translate_decode=FAST_MT,
                                     translator=str(tiny_models["marian"]))
    assert {"translation-capped", "translation-repetition"} <= set(looping.flags)
    assert not any(f.startswith("translation-") for f in plain_short.flags)


def test_extractive_translation_uses_the_given_translator(seed_text):
    class Upper:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def translate(self, segments: list[str]) -> list[str]:
            self.calls.append(list(segments))
            return [f"EN({s[:10]})" for s in segments]

    fake = Upper()
    summaries = summarise([seed_text, "جملة واحدة فقط."], "lead", sentences=2, translator=fake)
    # One call for all documents, and only the kept sentences are translated.
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 3
    assert summaries[1].sentences == ["EN(جملة واحدة)"]
    assert summaries[0].source_sentences == fake.calls[0][:2]
    assert all(s.lang == "en" for s in summaries)


def test_english_text_given_to_a_translator_is_flagged(seed_text):
    class Echo:
        def translate(self, segments: list[str]) -> list[str]:
            return list(segments)

    english = "The talks went well. Both sides agreed. A statement followed."
    arabic, other = summarise([seed_text, english], "lead", sentences=2, translator=Echo())
    assert "not-arabic" in other.flags and "not-arabic" not in arabic.flags
    assert other.sentences == ["The talks went well.", "Both sides agreed."]  # still summarised


def test_output_lang_counts_a_translator_object():
    class Echo:
        def translate(self, segments: list[str]) -> list[str]:
            return list(segments)

    config = SummaryConfig(strategy="lead", lang="ar")
    assert Summariser(config).output_lang == "ar"
    assert Summariser(config, translator=Echo()).output_lang == "en"
    assert Summariser(SummaryConfig(strategy="direct")).output_lang == "en"


# --------------------------------------------------------------------------------------------
# Every strategy on tiny models
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_on_seed_and_ntrex(strategy, tiny_models, seed_text, ntrex_docs):
    docs = [seed_text, *ntrex_docs]
    summaries = summarise(docs, strategy, **strategy_kwargs(strategy, tiny_models))
    assert len(summaries) == len(docs)
    expected_lang = "ar" if strategy in ("lead", "textrank", "abstractive") else "en"
    for summary in summaries:
        assert summary.strategy == strategy and summary.lang == expected_lang
        # A tiny LLM may end its answer at once: flagged, never silent.
        assert (summary.text.strip() and summary.sentences) or (
            strategy == "llm" and "empty-output" in summary.flags)
        assert "not-arabic" not in summary.flags and "empty" not in summary.flags
        if strategy in TINY:
            assert summary.indices is None
    if strategy in TINY:
        # The tiny models copy up to the 16-token cap: the long seed article's summary reaches
        # it (the flag seen off: test_capped_flag_is_on_only_where_the_cap_was_reached). A
        # tiny LLM may end its answer before (tests/test_llm.py sees both stopping reasons).
        assert "capped" in summaries[0].flags or strategy == "llm"
        if strategy == "summarise-then-translate":
            assert len(summary.source_sentences) == len(summary.sentences)
            assert summary.source_sentences == [s.text for s in segment(summary.intermediate)]
        if strategy == "translate-then-summarise":
            assert summary.intermediate and summary.source_sentences is None


# Not llm: a tiny chat model may end a long answer early (tests/test_llm.py sees both ends).
@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s in TINY and s != "llm"])
def test_capped_flag_is_on_only_where_the_cap_was_reached(strategy, tiny_models, seed_text):
    """The tiny models copy their input: a short document's summary ends before the 16-token
    cap, the long article's runs to it, and the flag says which is which."""
    kwargs = strategy_kwargs(strategy, tiny_models)
    short, long_ = summarise(["جملة قصيرة.", seed_text], strategy, **kwargs)
    assert "capped" not in short.flags and short.text
    assert "capped" in long_.flags


def test_model_defaults_apply_unless_overridden(tiny_models):
    """distilbart-cnn's generation_config (4 beams, length penalty 2.0, no 3-gram repeats,
    max_length 142) decides decoding when the user sets nothing."""
    config = SummaryConfig(strategy="abstractive", lang="en", model=str(tiny_models["bart"]))
    pipe = Summariser(config).pipeline()
    settings = pipe.engine.settings()
    assert (settings["num_beams"], settings["length_penalty"], settings["no_repeat_ngram_size"]) == (4, 2.0, 3)
    assert pipe.decode.max_new_tokens == 142 - 2  # less the decoder start and BART's forced <s>
    assert pipe.limit == pipe.engine.max_input_tokens  # no input room reserved for the output
    override = SummaryConfig(strategy="abstractive", lang="en", model=str(tiny_models["bart"]), beam_size=1,
                             no_repeat_ngram_size=0, max_tokens=20)
    pipe = Summariser(override).pipeline()
    assert (pipe.engine.settings()["num_beams"], pipe.engine.settings()["no_repeat_ngram_size"]) == (1, 0)
    assert pipe.decode.max_new_tokens == 20


def test_direct_starts_the_decoder_with_the_english_token(tiny_models):
    config = SummaryConfig(strategy="direct", model=str(tiny_models["mt5-crosssum"]), **FAST_SUM)
    engine = Summariser(config).pipeline().engine
    english = engine.codec.tokenizer.convert_tokens_to_ids("▁<extra_id_1>")
    assert engine.codec.decoder_start_token_id == english


def test_mt5_inputs_get_the_whitespace_handler(tiny_models):
    mt5 = Summariser(SummaryConfig(strategy="abstractive", model=str(tiny_models["mt5"]), **FAST_SUM))
    bart = Summariser(SummaryConfig(strategy="abstractive", lang="en", model=str(tiny_models["bart"]), **FAST_SUM))
    assert mt5._prepare(" a\n\nb  \n c ") == "a b c"
    assert bart._prepare(" a\n\nb ") == "a\n\nb"


def test_summaries_are_cached(tmp_path, tiny_models, seed_text, monkeypatch):
    from summ.cache import Cache
    from summ.engines.hf import HFEngine

    path = tmp_path / "cache.sqlite"
    options = dict(model=str(tiny_models["mt5-crosssum"]), cache=str(path), **FAST_SUM)
    first = summarise([seed_text], "direct", **options)
    with Cache(path) as cache:
        stored = len(cache)
    assert stored >= 1

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran: the summary was not taken from the cache")

    # The same summary again, with the model unable to run: it can only come from the cache.
    monkeypatch.setattr(HFEngine, "generate", no_model)
    assert summarise([seed_text], "direct", **options) == first
    with pytest.raises(AssertionError, match="not taken from the cache"):
        summarise(["جملة أخرى لم تلخص من قبل."], "direct", **options)


# --------------------------------------------------------------------------------------------
# Long inputs: chunked, never cut
# --------------------------------------------------------------------------------------------


def words(text: str) -> int:
    return len(text.split())


def long_paragraphs(n: int = 40) -> str:
    return "\n\n".join(
        f"Paragraph {p} begins here. " + " ".join(f"w{p}x{i}" for i in range(12)) + f". Paragraph {p} ends."
        for p in range(n)
    )


def test_chunks_of_a_single_long_sentence_cover_it():
    text = " ".join(f"كلمة{i}" for i in range(3000))  # 3,000 words, no sentence stop
    chunks = chunk_text(text, words, 100)
    assert len(chunks) >= 30
    assert "".join(chunks) == normalise(text)
    assert all(words(c) <= 100 for c in chunks)


def test_chunks_follow_paragraph_boundaries():
    text = long_paragraphs()  # 40 paragraphs of 20 words
    chunks = chunk_text(text, words, 50)
    assert "".join(chunks) == normalise(text)
    assert all(words(c) <= 50 for c in chunks)
    # Two whole paragraphs fit in 50 words, three do not: every chunk is two paragraphs.
    assert len(chunks) == 20 and all(c.rstrip().count("\n\n") == 1 for c in chunks)


def test_an_over_long_paragraph_is_cut_between_sentences():
    paragraph = " ".join(f"Sentence {i} has exactly six words." for i in range(50))
    text = "Short intro.\n\n" + paragraph + "\n\nShort outro."
    chunks = chunk_text(text, words, 20)
    assert "".join(chunks) == normalise(text)
    assert all(words(c) <= 20 for c in chunks)
    assert all(c.strip().endswith(".") for c in chunks)


def test_chunk_text_edge_cases():
    assert chunk_text("", words, 10) == []
    assert chunk_text("  short text  ", words, 10) == ["short text"]
    with pytest.raises(ValueError):
        chunk_text("a b", words, 0)


@dataclass
class EchoEngine:
    """A fake engine: one token per word (+ EOS); the 'summary' is the first few words.

    It records every input it generates from, so a test can check what the model saw.
    """

    summary_words: int = 4
    grow: bool = False  # return more words than it got: summaries that never shrink
    model_id: str = "echo"
    revision: str = "0"
    name: str = "fake"
    max_input_tokens: int = 40
    max_output_tokens: int = 100
    family: str = "echo"
    own_max_new_tokens: int | None = None
    seen: list[str] = field(default_factory=list)
    _texts: dict = field(default_factory=dict)
    _ids: dict = field(default_factory=dict)

    def settings(self) -> dict:
        return {"summary_words": self.summary_words}

    def encode(self, texts: list[str]) -> list[list[int]]:
        # One id per distinct word, in order of first sight: the same in every process (a
        # hash() % 1000 scheme depended on PYTHONHASHSEED and could give two words one id).
        out = []
        for text in texts:
            ids = [self._ids.setdefault(w, len(self._ids) + 2) for w in text.split()] + [1]
            self._texts[tuple(ids)] = text
            out.append(ids)
        return out

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
        results = []
        for ids in batch:
            text = self._texts[tuple(ids)]
            self.seen.append(text)
            words_in = text.split()
            out = words_in + ["more"] * 5 if self.grow else ["SUMMARY", *words_in[: self.summary_words - 1]]
            results.append(Generation(" ".join(out), len(out), hit_cap=False))
        return results


def test_the_model_sees_every_part_of_a_long_article():
    engine = EchoEngine()
    text = long_paragraphs(30)  # 600 words, limit 40 tokens
    config = SummaryConfig(strategy="abstractive", lang="en", model="echo")
    (summary,) = Summariser(config, engine=engine).summarise([text])
    assert summary.chunked and summary.chunks > 1 and summary.text.startswith("SUMMARY")
    first_round = [t for t in engine.seen if not t.startswith("SUMMARY")]
    assert len(first_round) == summary.chunks
    ordered = sorted(first_round, key=normalise(text).find)
    assert " ".join(ordered).split() == normalise(text).split()
    # Later rounds summarise the chunk summaries, until one input fits.
    assert any(t.startswith("SUMMARY") for t in engine.seen)


def test_summaries_that_do_not_shrink_fail_loudly():
    engine = EchoEngine(grow=True)
    config = SummaryConfig(strategy="abstractive", lang="en", model="echo")
    with pytest.raises(SummError, match="not shorter"):
        Summariser(config, engine=engine).summarise([long_paragraphs(10)])


def test_long_article_with_tiny_model_is_chunked(tiny_models, seed_text):
    no_stops = re.sub(f"[{re.escape(SENTENCE_STOPS)}]", " ", seed_text)
    single = " ".join((no_stops.split() * 10)[:3000])  # 3,000 words, one sentence
    assert len(segment(single)) == 1
    config = SummaryConfig(strategy="abstractive", model=str(tiny_models["mt5"]), **FAST_SUM)
    summariser = Summariser(config)
    long_summary, short_summary = summariser.summarise([single, "جملة قصيرة."])
    assert long_summary.chunked and long_summary.chunks > 1 and long_summary.text
    assert not short_summary.chunked and short_summary.chunks == 1
    # The many-paragraph seed article, forced through the chunked path by a small limit.
    (small,) = summarise([seed_text], "abstractive", model=str(tiny_models["mt5"]), max_input_tokens=64, **FAST_SUM)
    assert small.chunked and small.chunks > 5 and small.text


def test_chunked_input_matches_the_engine_token_counts(tiny_models, seed_text):
    summariser = Summariser(SummaryConfig(strategy="abstractive", model=str(tiny_models["mt5"]), **FAST_SUM))
    engine = summariser.pipeline().engine

    def count(text: str) -> int:
        return len(engine.encode([summariser._prepare(text)])[0])

    chunks = chunk_text(seed_text, count, 64)
    assert len(chunks) > 5 and "".join(chunks) == normalise(seed_text)
    assert all(count(c) <= 64 for c in chunks)


# --------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------

ENGLISH = "The president met his counterpart in Moscow. They discussed trade. Both sides praised the talks."


def test_non_arabic_article_is_flagged_and_still_summarised():
    (summary,) = summarise([ENGLISH], "textrank", sentences=2)
    assert "not-arabic" in summary.flags and len(summary.sentences) == 2
    (english,) = summarise([ENGLISH], "textrank", sentences=2, lang="en")
    assert english.flags == () and english.sentences == summary.sentences
    (auto,) = summarise([ENGLISH], "textrank", lang="auto")
    assert auto.flags == () and auto.lang == "en"


def test_cross_lingual_strategy_flags_non_arabic(tiny_models):
    (summary,) = summarise([ENGLISH], "direct", model=str(tiny_models["mt5-crosssum"]), **FAST_SUM)
    assert "not-arabic" in summary.flags and summary.text


# --------------------------------------------------------------------------------------------
# Evaluation and error propagation
# --------------------------------------------------------------------------------------------


def test_reference_ids_must_match_the_articles():
    articles = [Document(i, "نص الخبر الأول. ونص آخر.") for i in ("a", "b", "c")]
    summaries = summarise([a.text for a in articles], "lead", sentences=1)
    references = [Document(i, "", {"summary": "نص الخبر"}) for i in ("a", "c", "b")]
    with pytest.raises(InputError, match=r"same ids in a different order.*#2: expected 'b', got 'c'"):
        evaluate_summaries(articles, summaries, references, lang="ar")
    ok = [Document(i, "", {"summary": "نص الخبر الأول."}) for i in ("a", "b", "c")]
    scores = {s.metric: s.score for s in evaluate_summaries(articles, summaries, ok, lang="ar")}
    assert set(scores) == {"rouge1", "rouge2", "rougeLsum", "chrf"}
    assert scores["rouge1"] == pytest.approx(100.0)


def test_propagation_rows(ntrex_english):
    summariser = Summariser(SummaryConfig(strategy="textrank", lang="en"))
    # "MT" output: the reference with every fifth word dropped.
    mt = ["\n".join(" ".join(w for j, w in enumerate(line.split()) if j % 5 != 4) for line in doc.split("\n"))
          for doc in ntrex_english]
    rows = propagation(mt, ntrex_english, summariser, ids=[f"d{i}" for i in range(20)])
    assert [r.id for r in rows] == [f"d{i}" for i in range(20)]
    for row in rows:
        assert set(row.scores) == {"rouge1", "rouge2", "rougeLsum", "chrf"}
        assert all(0.0 <= v <= 100.0 for v in row.scores.values())
        assert row.signatures["chrf"].startswith("nrefs:1")
    assert any(row.scores["rouge1"] < 100 for row in rows)
    # Identical inputs give identical summaries: no error to propagate.
    same = propagation(ntrex_english[:3], ntrex_english[:3], summariser)
    assert all(v == pytest.approx(100.0) for row in same for v in row.scores.values())
    table = propagation_table(rows)
    assert table[0]["id"] == "d0" and set(table[0]) == {"id", "rouge1", "rouge2", "rougeLsum", "chrf"}


def test_propagation_rejects_a_cross_lingual_summariser_and_misaligned_input(tiny_models):
    with pytest.raises(ConfigError, match="propagation needs"):
        propagation(["a"], ["a"], Summariser(SummaryConfig(strategy="direct")))
    with pytest.raises(InputError, match="aligned"):
        propagation(["a", "b"], ["a"], Summariser(SummaryConfig(strategy="lead", lang="en")))


def test_model_strategies_run_on_ctranslate2(tiny_models, seed_text, tmp_path, monkeypatch):
    monkeypatch.setenv("SUMM_CT2_CACHE", str(tmp_path / "ct2"))
    kwargs = strategy_kwargs("translate-then-summarise", tiny_models)
    (summary,) = summarise([seed_text], "translate-then-summarise", engine="ct2", **kwargs)
    assert summary.lang == "en" and summary.text and summary.intermediate
    # CTranslate2 picks its own weight type (compute_type): an HF dtype is an error, not ignored.
    with pytest.raises(ConfigError, match="compute_type"):
        summarise([seed_text], "translate-then-summarise", engine="ct2", dtype="float16", **kwargs)
