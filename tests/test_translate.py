"""The document pipeline on a fake engine: alignment, splitting, batching, caps, cache, flags."""

from __future__ import annotations

import pytest

from summ import segment as seg
from summ.cache import Cache
from summ.errors import ConfigError
from summ.testing import EchoEngine
from summ.engines.base import BatchConfig, DecodeConfig, Generation
from summ.translate import PipelineTranslator, Translator, input_limit, is_repetitive, output_cap

GREEDY = DecodeConfig(beam_size=1)


def make(max_in: int = 64, max_out: int = 256, decode: DecodeConfig = GREEDY, **batch) -> PipelineTranslator:
    return PipelineTranslator(EchoEngine(max_in, max_out), decode=decode, batch=BatchConfig(**batch))


def test_translator_protocol_same_length_and_order_empty_in_empty_out():
    tr = make()
    segments = ["مرحبا بكم", "", "   ", "جملة ثانية هنا", "مرحبا بكم"]
    out = tr.translate(segments)
    assert isinstance(tr, Translator)
    assert out == ["مرحبا بكم", "", "", "جملة ثانية هنا", "مرحبا بكم"]
    assert tr.translate([]) == []


def test_string_instead_of_list_is_rejected():
    with pytest.raises(TypeError):
        make().translate_segments("مرحبا")
    with pytest.raises(TypeError):
        make().translate_documents("مرحبا")


def test_identical_segments_are_translated_once():
    tr = make()
    result = tr.translate_segments(["أ ب", "ج د", "أ ب", "أ ب"])
    assert result.stats.translated == 2
    sent = [ids for batch, _ in tr.engine.calls for ids in batch]
    assert len(sent) == 2


@pytest.mark.parametrize("words", [70, 300, 3000])
def test_long_segment_is_split_never_truncated(words):
    tr = make(max_in=64)
    text = " ".join(f"كلمة{i}" for i in range(words))
    result = tr.translate_segments([text])
    record = result.records[0]
    # Every word reaches the model and comes back (the echo engine returns its input).
    assert result.translations[0] == text
    assert "".join(p.source for p in record.pieces) == text
    # EchoEngine counts words + one end token, so a piece holds at most limit - 1 words; with no
    # punctuation to prefer, split_to_fit fills each piece to that size and the last takes the rest.
    assert tr.limit == 64
    per_piece = tr.limit - 1
    assert len(record.pieces) == -(-words // per_piece)
    assert [len(p.source.split()) for p in record.pieces[:-1]] == [per_piece] * (len(record.pieces) - 1)
    assert len(record.pieces[-1].source.split()) == words - per_piece * (len(record.pieces) - 1)
    assert all(len(ids) <= tr.limit for batch, _ in tr.engine.calls for ids in batch)
    assert result.stats.split_segments == 1 and "split" in record.flags
    assert not record.hit_cap


def test_split_prefers_clause_punctuation():
    tr = make(max_in=12)
    first = " ".join(["أ"] * 8) + "،"
    second = " ".join(["ب"] * 8)
    result = tr.translate_segments([f"{first} {second}"])
    assert [p.source.strip() for p in result.records[0].pieces] == [first, second]


def test_input_limit_leaves_room_for_output_and_respects_user_limit():
    engine = EchoEngine(max_input_tokens=512, max_output_tokens=511)
    # Room for a full-length output: (511 - 16) / 2 = 247 source tokens.
    assert input_limit(engine, DecodeConfig(), BatchConfig()) == 247
    assert input_limit(engine, DecodeConfig(), BatchConfig(max_input_tokens=100)) == 100
    # An explicit output cap (summaries) does not shrink the input.
    assert input_limit(engine, DecodeConfig(max_new_tokens=60), BatchConfig()) == 512
    with pytest.raises(ConfigError, match="exceeds the model's input limit"):
        input_limit(engine, DecodeConfig(), BatchConfig(max_input_tokens=600))


@pytest.mark.parametrize(
    ("tokens", "ratio", "margin", "limit", "expected"),
    [(10, 2.0, 16, 1000, 48), (40, 2.0, 16, 1000, 96), (41, 2.0, 16, 1000, 128), (1, 2.0, 16, 1000, 24),
     (300, 2.0, 16, 200, 200), (7, 1.0, 0, 1000, 16), (200, 2.0, 16, 1000, 512), (0, 2.0, 0, 1000, 16)],
)
def test_output_cap_grows_with_input_in_few_classes(tokens, ratio, margin, limit, expected):
    assert output_cap(tokens, DecodeConfig(length_ratio=ratio, length_margin=margin), limit) == expected


def test_output_cap_classes_are_at_most_one_and_a_half_times_the_raw_cap():
    decode = DecodeConfig()
    caps = {output_cap(n, decode, 10**6) for n in range(1, 2000)}
    assert sorted(caps)[:8] == [24, 32, 48, 64, 96, 128, 192, 256]
    for n in range(1, 2000):
        raw = 2 * n + 16
        assert raw <= output_cap(n, decode, 10**6) <= 1.5 * raw


def test_capped_outputs_are_reported():
    # Output cap 16 for short inputs; a 20-word source does not fit in it.
    tr = make(max_in=64, decode=DecodeConfig(beam_size=1, length_ratio=0.1, length_margin=0))
    result = tr.translate_segments([" ".join(["كلمة"] * 20), "كلمة"])
    assert result.records[0].hit_cap and "capped" in result.records[0].flags
    assert not result.records[1].hit_cap
    assert result.stats.capped == 1


def test_batches_respect_token_budget_sorting_and_caps():
    tr = make(max_in=64, batch_tokens=40, max_batch_size=3)
    segments = [" ".join(["ك"] * n) for n in (1, 9, 2, 8, 3, 7, 4, 6, 5, 30)]
    out = tr.translate(segments)
    assert out == segments
    for batch, cap in tr.engine.calls:
        width = max(len(ids) for ids in batch)
        assert len(batch) <= 3 and len(batch) * width <= 40 or len(batch) == 1
        # All members share the cap computed from the batch's longest source.
        assert all(output_cap(len(ids), tr.decode, 256) == cap for ids in batch)
    lengths = [len(ids) for batch, _ in tr.engine.calls for ids in batch]
    assert lengths == sorted(lengths, reverse=True)


def test_flags_non_arabic_and_repetition_but_keep_alignment():
    tr = make()
    segments = ["مرحبا بالعالم", "This line is English.", "Une phrase française.", "نعم نعم نعم نعم نعم"]
    result = tr.translate_segments(segments)
    flags = [r.flags for r in result.records]
    assert "not-arabic" not in flags[0]
    assert "not-arabic" in flags[1] and "not-arabic" in flags[2]
    assert "repetition" in flags[3]
    assert result.translations == segments  # flagged, still translated, still aligned
    assert result.stats.not_arabic == 2 and result.stats.repetition == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("the the the the", True), ("a b a b a b a b", True), ("we went to the market and bought bread", False),
     ("in the city in the city in the city in the city", True), ("no no no", False)],
)
def test_is_repetitive(text, expected):
    assert is_repetitive(text) is expected


def test_documents_keep_paragraphs_and_lines(seed_text):
    tr = make()
    result = tr.translate_documents([seed_text, "", "سطر واحد"])
    # Echo engine: the rebuilt translation is the normalised source, structure included.
    assert result.texts[0] == seg.normalise(seed_text)
    assert result.texts[0].count("\n\n") == seg.normalise(seed_text).count("\n\n") > 5
    assert result.texts[1:] == ["", "سطر واحد"]
    assert [len(r) for r in result.records] == [len(s) for s in result.segments]


def test_cache_makes_second_run_free_and_keys_on_settings(tmp_path):
    path = tmp_path / "c.sqlite"
    segments = [f"جملة رقم {i}" for i in range(50)]
    first = PipelineTranslator(EchoEngine(), decode=GREEDY, cache=Cache(path)).translate_segments(segments)
    assert first.stats.translated == 50
    engine = EchoEngine()
    second = PipelineTranslator(engine, decode=GREEDY, cache=Cache(path)).translate_segments(segments)
    assert second.stats.translated == 0 and second.stats.cache_hits == 50
    assert engine.calls == []
    assert second.translations == first.translations
    assert all(r.cached for r in second.records)
    # Another beam size is another setting: nothing may come from the cache.
    beam = PipelineTranslator(EchoEngine(), decode=DecodeConfig(beam_size=4), cache=Cache(path)).translate_segments(segments)
    assert beam.stats.cache_hits == 0


def test_finished_batches_are_cached_when_a_later_batch_fails(tmp_path):
    class Failing(EchoEngine):
        def generate(self, batch, max_new_tokens):
            if len(self.calls) == 2:
                raise RuntimeError("out of memory")
            return super().generate(batch, max_new_tokens)

    path = tmp_path / "c.sqlite"
    segments = [" ".join(["ك"] * n) for n in range(1, 40)]
    engine = Failing()
    tr = PipelineTranslator(engine, decode=GREEDY, batch=BatchConfig(max_batch_size=5, commit_every=1000), cache=Cache(path))
    with pytest.raises(RuntimeError, match="out of memory"):
        tr.translate(segments)
    finished = sum(len(batch) for batch, _ in engine.calls)
    assert len(engine.calls) == 2 and 2 <= finished < len(segments)
    assert len(Cache(path)) == finished  # the two batches that finished, nothing else


def test_engine_returning_wrong_count_is_an_error():
    class Broken(EchoEngine):
        def generate(self, batch, max_new_tokens):
            return super().generate(batch, max_new_tokens)[:-1]

    with pytest.raises(RuntimeError, match="returned 1 outputs for 2 inputs"):
        PipelineTranslator(Broken(), decode=GREEDY).translate(["أ", "ب"])


def test_run_summary_counts(seed_text):
    tr = make(max_in=20)
    result = tr.translate_documents([seed_text])
    s = result.stats
    records = result.records[0]
    n = len(result.segments[0])
    assert s.segments == n == len(records)
    assert s.pieces >= n and s.split_segments > 0
    assert s.empty == sum(1 for r in records if not r.source)
    assert s.pieces == sum(len(r.pieces) for r in records)
    # No cache: every distinct piece is sent to the model once.
    assert s.cache_hits == 0 and s.translated == len({p.source.strip() for r in records for p in r.pieces})
    assert s.split_segments == sum(1 for r in records if len(r.pieces) > 1) == sum("split" in r.flags for r in records)
    assert s.capped == sum("capped" in r.flags for r in records)
    assert s.not_arabic == sum("not-arabic" in r.flags for r in records)
    assert s.repetition == sum("repetition" in r.flags for r in records)
    assert s.source_tokens == sum(r.source_tokens for r in records)
    assert "segments" in s.line() and s.as_dict()["segments"] == n


def test_an_empty_translation_of_real_text_is_flagged():
    class Silent(EchoEngine):
        """Emits only </s> for sources that mention 'صمت'."""

        def generate(self, batch, max_new_tokens):
            outs = super().generate(batch, max_new_tokens)
            return [Generation("" if "صمت" in o.text else o.text, o.n_tokens, o.hit_cap) for o in outs]

    tr = PipelineTranslator(Silent(), decode=GREEDY)
    result = tr.translate_segments(["جملة عادية", "صمت هنا", ""])
    assert result.translations == ["جملة عادية", "", ""]
    assert [("empty-output" in r.flags) for r in result.records] == [False, True, False]
    assert result.stats.empty_output == 1 and "1 came back empty" in result.stats.line()


def test_pipeline_settings_must_be_the_engines_beyond_the_length():
    engine = EchoEngine()
    engine.decode = DecodeConfig(beam_size=1)  # what a loaded HF/CT2 engine generates with
    PipelineTranslator(engine, decode=DecodeConfig(beam_size=1, max_new_tokens=8, length_ratio=1.0))
    with pytest.raises(ConfigError, match="differ from those echo was loaded with"):
        PipelineTranslator(engine, decode=DecodeConfig(beam_size=4))


def test_a_file_longer_than_one_chunk_keeps_every_line_in_place(ntrex_dir, tmp_path):
    """NTREX-128 twice over (3,994 lines): the default 2,000-line chunking really runs, and the
    lines and segment records on both sides of each chunk boundary stay in place."""
    import json

    from summ.data import read_lines
    from summ.files import CHUNK_LINES, translate_file

    lines = read_lines(ntrex_dir / "newstest2019-ref.arb.txt") * 2
    assert len(lines) > CHUNK_LINES
    src, out, segs = tmp_path / "in.txt", tmp_path / "out.txt", tmp_path / "segs.jsonl"
    src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    chunks = []
    tr = make()
    real = tr.translate_documents
    tr.translate_documents = lambda docs, **kw: (chunks.append(len(docs)), real(docs, **kw))[1]
    summary = translate_file(tr, src, out, segments=segs)
    assert chunks == [CHUNK_LINES, len(lines) - CHUNK_LINES]
    assert read_lines(out) == [seg.normalise(line).replace("\n", " ") for line in lines]
    records = [json.loads(x) for x in read_lines(segs)]
    assert summary.segments == len(records)
    for n in (CHUNK_LINES - 1, CHUNK_LINES, CHUNK_LINES + 1, CHUNK_LINES + 2, len(lines)):
        sources = [r["source"] for r in records if r["line"] == n]
        assert sources == [s.text for s in seg.segment(lines[n - 1])], n
