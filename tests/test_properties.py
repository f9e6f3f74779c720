"""Property-based tests (hypothesis): segmentation, splitting, line files and the pipeline.

Each property is checked on generated inputs built from the characters that matter here
(every stop, closer, opener and clause mark of the rule table, bidi marks, tatweel, BOM,
every line break and space, CR/CRLF, HTML, Arabic with diacritics, Latin, digits) mixed with
arbitrary Unicode. Example counts are set per test (``EXAMPLES``) so that the whole file runs
in well under a minute; ``database=None`` keeps hypothesis from writing a ``.hypothesis``
folder into the checkout. A failure prints the smallest input hypothesis found, and
``@reproduce_failure`` data to replay it.
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from summ import segment as seg
from summ.cache import Cache
from summ.data import read_lines
from summ.testing import EchoEngine
from summ.engines.base import BatchConfig, DecodeConfig
from summ.files import translate_file
from summ.translate import PipelineTranslator

# Examples per property: enough to find the bugs these properties were written against
# (each was checked by breaking the code on purpose), few enough for a fast suite.
EXAMPLES = {"segment": 300, "split": 60, "translate_file": 40, "pipeline": 60}


def _settings(name: str):
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

ARABIC_WORDS = ["قال", "الرئيس", "مُحَمَّدٌ", "كتــاب", "وزير", "الخارجية", "٣٫٥", "١٬٠٠٠", "د.", "ق.م.",
                "\ufefb", "\ufe91\ufeee", "إنَّ", "في", "المدينة"]  # fmt: skip
LATIN_WORDS = ["Smith", "said", "the", "IBM", "e", "x", "Mr.", "Dr.", "U.S.", "e.g.", "J.", "no.",
               "https://a.example/x.y?z=1", "a.b@example.com", "3.5", "1,000", "2023", "7"]  # fmt: skip
MARKS = list(seg.SENTENCE_STOPS + seg.CLOSING_MARKS + seg.OPENING_MARKS + seg.CLAUSE_MARKS) + [
    "...",
    ". . .",
    "?!",
    "؟!",
    "-",
    "–",
]
CONTROLS = list(seg.BIDI_CONTROLS + seg.TATWEEL + seg.BOM)
BREAKS = list(seg.LINE_BREAKS + seg.PARAGRAPH_BREAKS) + ["\r", "\r\n", "\n\n", "\n \n", "\n\n\n"]
SPACES = list(seg.SPACES) + [" ", "  "]
HTML = [
    "<p>",
    "</p>",
    "<br/>",
    "<b>",
    "</b>",
    "&amp;",
    "&#1575;",
    "&nbsp;",
    "&am",
    "<unk>",
    "<2en>",
]

atoms = st.sampled_from(ARABIC_WORDS + LATIN_WORDS + MARKS + CONTROLS + BREAKS + SPACES + HTML)
# Mostly the atoms above; now and then any Unicode at all (surrogates excluded: not UTF-8).
texts = st.lists(
    st.one_of(atoms, atoms, atoms, st.text(st.characters(exclude_categories=("Cs",)), max_size=3)),
    max_size=40,
).map("".join)


# --------------------------------------------------------------------------------------------
# segment -> rebuild
# --------------------------------------------------------------------------------------------


@_settings("segment")
@given(texts)
def test_segment_then_rebuild_is_normalise(text: str) -> None:
    segments = seg.segment(text)
    clean = seg.normalise(text)
    assert seg.rebuild(segments) == clean
    assert seg.segment(clean, normalised=True) == segments
    assert all(s.text and s.text == s.text.strip() and "\n" not in s.text for s in segments)
    # Every sentence of a line is one of that line's split_sentences, in order.
    lines = [line for paragraph in clean.split("\n\n") for line in paragraph.split("\n")]
    assert [s.text for s in segments] == [x for line in lines for x in seg.split_sentences(line)]


# --------------------------------------------------------------------------------------------
# split_to_fit under a real tokenizer
# --------------------------------------------------------------------------------------------

# Words (letters with their marks, never a mark after whitespace: a source with one there
# gives a piece that starts with it whatever the splitter does) and the glue between them.
split_words = st.sampled_from(
    ARABIC_WORDS
    + LATIN_WORDS
    + ["بَبَبَبَبَبَبَبَ", "مُسْتَشْفًى", "الْمُتَّحِدَةُ", "abcdefghijklmnopqrstuvwxyz" * 2]
)
split_glue = st.sampled_from([" ", " ", "  ", "، ", ", ", "; ", ". ", "؟ ", "\t", "", "-"])
split_texts = st.lists(st.tuples(split_words, split_glue), min_size=1, max_size=60).map(
    lambda parts: "".join(w + g for w, g in parts)
)


def _clusters(text: str) -> list[str]:
    """Letters with the combining marks that follow them (what a piece may not cut apart)."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        elif not ch.isspace():
            out.append(ch)
    return out


@pytest.fixture(scope="module")
def tokenizers(tiny_models):
    from transformers import AutoTokenizer

    return {f: AutoTokenizer.from_pretrained(tiny_models[f]) for f in ("marian", "nllb", "t5")}


@pytest.mark.parametrize("family", ["marian", "nllb", "t5"])
def test_split_to_fit_with_a_real_tokenizer(tokenizers, family: str) -> None:
    tok = tokenizers[family]

    def count(text: str) -> int:
        return len(tok(text).input_ids)

    @_settings("split")
    @given(split_texts, st.integers(min_value=3, max_value=40))
    def check(text: str, limit: int) -> None:
        # A limit below one letter-with-marks is the documented ValueError, not a split.
        if any(count(c) > limit for c in _clusters(text)):
            return
        pieces = seg.split_to_fit(text, count, limit)
        assert "".join(pieces) == text
        assert all(count(p.strip()) <= limit for p in pieces), [
            (p, count(p.strip())) for p in pieces
        ]
        assert not any(p and unicodedata.category(p[0]).startswith("M") for p in pieces), pieces
        if count(text.strip()) <= limit:
            assert pieces == [text]
        else:
            assert len(pieces) > 1

    check()


# --------------------------------------------------------------------------------------------
# translate_file: one line out per line in, across chunks
# --------------------------------------------------------------------------------------------

file_lines = st.lists(
    st.one_of(
        st.just(""),
        st.sampled_from([" ", "\t", "  \t ", "\xa0", "\u200f", "\ufeff"]),  # blank once normalised
        st.lists(
            st.sampled_from(ARABIC_WORDS + LATIN_WORDS + MARKS + SPACES), min_size=1, max_size=12
        ).map("".join),
        # Very long: far beyond the echo engine's input limit, so it is split into pieces.
        st.integers(min_value=40, max_value=120).map(
            lambda n: " ".join(f"كلمة{i % 7}" for i in range(n))
        ),
    ),
    max_size=25,
).flatmap(
    lambda lines: (
        st.lists(st.sampled_from(lines), max_size=10).map(lambda dup: lines + dup)
        if lines
        else st.just(lines)
    )
)  # the same lines again: duplicates across chunks


@_settings("translate_file")
@given(file_lines, st.integers(min_value=1, max_value=6), st.integers(min_value=8, max_value=24))
def test_translate_file_keeps_every_line_in_place(
    lines: list[str], chunk_lines: int, max_input: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out, segs = Path(tmp) / "in.txt", Path(tmp) / "out.txt", Path(tmp) / "segs.jsonl"
        src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        translator = PipelineTranslator(
            EchoEngine(max_input_tokens=max_input), decode=DecodeConfig(beam_size=1)
        )
        summary = translate_file(translator, src, out, segments=segs, chunk_lines=chunk_lines)
        hyps = read_lines(out)
        records = [json.loads(x) for x in read_lines(segs)]
    assert len(hyps) == len(lines)
    # The echo engine gives each segment back: each output line is its own normalised input.
    assert hyps == [seg.normalise(line).replace("\n", " ") for line in lines]
    by_line: dict[int, list[dict]] = {}
    for r in records:
        by_line.setdefault(r["line"], []).append(r)
    assert sorted(by_line) == [n for n, line in enumerate(lines, start=1) if seg.normalise(line)]
    for n, rs in by_line.items():
        assert [r["segment"] for r in rs] == list(range(len(rs)))
        assert [r["source"] for r in rs] == [s.text for s in seg.segment(lines[n - 1])]
        assert all("".join(p["source"] for p in r["pieces"]) == r["source"] for r in rs)
    assert summary.segments == len(records)


# --------------------------------------------------------------------------------------------
# PipelineTranslator: batching, limits, failure and resume
# --------------------------------------------------------------------------------------------


class FailingEcho(EchoEngine):
    """An echo engine whose ``fail_at``-th call to ``generate`` raises (0-based); ``None``: never.

    ``calls`` records the successful calls only: what was generated.
    """

    def __init__(self, fail_at: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fail_at = fail_at
        self.attempts = 0

    def generate(self, batch, max_new_tokens):
        self.attempts += 1
        if self.fail_at is not None and self.attempts - 1 == self.fail_at:
            raise RuntimeError("injected failure")
        return super().generate(batch, max_new_tokens)


pipeline_words = st.sampled_from(ARABIC_WORDS + LATIN_WORDS + ["،", ","])
segment_lists = st.lists(
    st.one_of(
        st.lists(pipeline_words, min_size=1, max_size=30).map(" ".join),
        # Many short segments share one output cap, so batches fill up to their limits.
        st.lists(pipeline_words, min_size=1, max_size=3).map(" ".join),
        st.sampled_from(["", "  "]),
    ),
    min_size=1,
    max_size=40,
).flatmap(lambda xs: st.lists(st.sampled_from(xs), max_size=10).map(lambda dup: xs + dup))

batch_configs = st.builds(
    BatchConfig,
    batch_tokens=st.integers(min_value=1, max_value=300),
    max_batch_size=st.integers(min_value=1, max_value=9),
    max_input_tokens=st.one_of(st.none(), st.integers(min_value=6, max_value=32)),
    commit_every=st.integers(min_value=1, max_value=12),
)


@_settings("pipeline")
@given(segment_lists, batch_configs, st.integers(min_value=0, max_value=12))
def test_pipeline_batches_limits_and_resume(
    segments: list[str], batch: BatchConfig, fail_at: int
) -> None:
    greedy = DecodeConfig(beam_size=1)
    engine_limit = 32
    expected = [" ".join(s.split()) for s in segments]
    plain = FailingEcho(max_input_tokens=engine_limit)
    uninterrupted = PipelineTranslator(plain, decode=greedy, batch=batch).translate_segments(
        segments
    )
    assert uninterrupted.translations == expected
    # The engine never gets more than the input limit, nor a batch over the budget (a batch
    # of one may exceed it: a segment is never dropped for being long).
    limit = min(engine_limit, batch.max_input_tokens or engine_limit)
    for ids_batch, _cap in plain.calls:
        assert all(len(ids) <= limit for ids in ids_batch)
        assert len(ids_batch) <= batch.max_batch_size
        assert (
            len(ids_batch) == 1 or len(ids_batch) * max(map(len, ids_batch)) <= batch.batch_tokens
        )
    generated = [tuple(ids) for ids_batch, _ in plain.calls for ids in ids_batch]
    assert len(generated) == len(set(generated)) == uninterrupted.stats.translated

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache.sqlite"
        first = FailingEcho(fail_at=fail_at, max_input_tokens=engine_limit)
        failed = fail_at < len(plain.calls)
        with Cache(cache) as store:
            try:
                PipelineTranslator(
                    first, decode=greedy, batch=batch, cache=store
                ).translate_segments(segments)
            except RuntimeError as exc:
                assert failed and "injected failure" in str(exc)
            else:
                assert not failed
        second = FailingEcho(max_input_tokens=engine_limit)
        with Cache(cache) as store:
            resumed = PipelineTranslator(
                second, decode=greedy, batch=batch, cache=store
            ).translate_segments(segments)
    assert resumed.translations == uninterrupted.translations
    assert [r.flags for r in resumed.records] == [r.flags for r in uninterrupted.records]
    # Each distinct piece generated once over both runs: what the first finished came cached.
    assert sorted(_piece_texts(first) + _piece_texts(second)) == sorted(_piece_texts(plain))
    assert resumed.stats.cache_hits == len(_piece_texts(first))
    assert resumed.stats.translated == len(_piece_texts(second))


def _piece_texts(engine: EchoEngine) -> list[str]:
    return [engine.text(ids) for ids_batch, _ in engine.calls for ids in ids_batch]
