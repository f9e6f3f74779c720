"""The HF engine and the tiny models, through the same loading path a researcher's run uses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from summ import segment as seg
from summ.data import read_lines
from summ.errors import ConfigError
from summ.engines.hub import fingerprint
from summ.engines.hf import HFEngine, pick_device, pick_dtype
from summ.errors import ModelNotFoundError
from summ.testing import build_tiny_model, corpus_lines
from summ.engines.base import DecodeConfig
from summ.files import translate_file
from summ.translate import PipelineTranslator

TRANSLATION_FAMILIES = ("marian", "m2m100", "nllb", "t5")
# Short caps (a quarter of the source, at least 16): the tiny models copy their input, so
# most outputs run to this cap and short ones stop with </s> before it.
FAST = DecodeConfig(beam_size=1, length_ratio=0.25, length_margin=0)

ENGLISH = "The president met the foreign minister on Monday; prices rose 3.5% in March."


@pytest.fixture(scope="module")
def engines(tiny_models):
    return {f: HFEngine.load(str(tiny_models[f]), decode=FAST) for f in TRANSLATION_FAMILIES}


@pytest.mark.parametrize("family", ["marian", "m2m100", "nllb", "t5", "bart", "mt5", "mt5-crosssum"])
def test_tiny_tokenizers_round_trip_without_unk(tiny_models, seed_text, family):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models[family])
    arabic = [s.text for s in seg.segment(seed_text)]
    texts = ([] if family == "bart" else arabic) + [ENGLISH, "Mr. Smith arrived in the U.S. on Friday."]
    for text in texts:
        ids = tok(text, add_special_tokens=False).input_ids
        assert tok.unk_token_id not in ids, (family, text)
        assert tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False) == text


def test_families_are_detected(engines):
    assert {f: e.codec.family for f, e in engines.items()} == {"marian": "marian", "m2m100": "m2m100", "nllb": "nllb", "t5": "madlad"}


def test_language_codes_and_prefixes(engines):
    nllb, m2m, t5 = engines["nllb"].codec, engines["m2m100"].codec, engines["t5"].codec
    tok = nllb.tokenizer
    ids = nllb.encode(["مرحبا"])[0]
    assert tok.convert_ids_to_tokens(ids[0]) == "arb_Arab" and ids[-1] == tok.eos_token_id
    assert nllb.target_prefix == (tok.convert_tokens_to_ids("eng_Latn"),)
    assert m2m.tokenizer.convert_ids_to_tokens(m2m.encode(["مرحبا"])[0][0]) == "__ar__"
    assert m2m.target_prefix == (m2m.tokenizer.get_lang_id("en"),)
    # As in the MADLAD model card: "<2en> " + text, tokenised as the tokenizer does it.
    assert "<2en>" in t5.tokenizer.convert_ids_to_tokens(t5.encode(["مرحبا"])[0][:2])
    assert engines["marian"].codec.target_prefix == ()


@pytest.mark.parametrize("family", TRANSLATION_FAMILIES)
def test_output_strips_language_tokens_and_reports_cap(engines, ntrex_dir, family):
    engine = engines[family]
    # Long sources (the copy mostly runs to the cap) and short ones (it stops with </s>).
    sources = sorted(read_lines(ntrex_dir / "newstest2019-ref.arb.txt")[:60], key=len)[-8:] + \
        ["التقى الرئيس", "مرحبا بكم", "وزير الخارجية"]
    outs = engine.generate(engine.encode(sources), 20)
    # Capped exactly when the cap is used up.
    assert all(o.hit_cap == (o.n_tokens == 20) for o in outs)
    assert any(o.hit_cap for o in outs) and any(not o.hit_cap for o in outs)
    for out in outs:
        # The forced target prefix (and the source language) is gone from the front; no
        # end-of-sentence or padding token survives decoding anywhere.
        assert not out.text.startswith(("eng_Latn", "__en__", "<2en>", "arb_Arab", "__ar__"))
        assert "</s>" not in out.text and "<pad>" not in out.text


def test_generation_length_is_not_capped_by_model_defaults(tiny_models):
    # NLLB's and M2M100's generation_config say max_length=200; the pipeline's cap wins. The
    # floor keeps the model from stopping on its own, so only a length limit can end it early.
    for family in ("nllb", "m2m100"):
        floor = DecodeConfig(beam_size=1, min_new_tokens=260)
        engine = HFEngine.load(str(tiny_models[family]), decode=floor)
        assert engine.generation_config.max_length == 200
        out = engine.generate(engine.encode(["مرحبا"]), 260)[0]
        assert out.n_tokens == 260 and out.hit_cap


def test_marian_forced_eos_is_off_so_a_cut_output_is_visible(engines, ntrex_dir):
    # The model's generation_config forces </s> at the last position; the engine must not.
    engine = engines["marian"]
    assert engine.generation_config.forced_eos_token_id == 0
    long_line = max(read_lines(ntrex_dir / "newstest2019-ref.arb.txt")[:50], key=len)
    out = engine.generate(engine.encode([long_line]), 12)[0]
    assert out.hit_cap and out.n_tokens == 12


@pytest.mark.parametrize("family", TRANSLATION_FAMILIES)
def test_batch_composition_does_not_change_outputs(engines, ntrex_dir, family):
    engine = engines[family]
    # Lines of very different lengths (much padding) and a few short ones that end early.
    lines = read_lines(ntrex_dir / "newstest2019-ref.arb.txt")[:12]
    lines += ["مرحبا", "التقى الرئيس وزير الخارجية"]
    ids = engine.encode(lines)
    alone = [engine.generate([x], 24)[0] for x in ids]
    together = engine.generate(ids, 24)
    assert together == alone
    # Outputs differ from line to line and both stopping reasons occur: a shifted or padded
    # line would show.
    assert len({g.text for g in together}) == len(lines)
    assert any(g.hit_cap for g in together) and not all(g.hit_cap for g in together)


@pytest.mark.parametrize("family", TRANSLATION_FAMILIES)
def test_ntrex_line_alignment(engines, ntrex_dir, tmp_path, family):
    """All 1,997 NTREX-128 lines, in chunks of 500: one output line per input line, each its own
    line's translation (also at chunk boundaries), each segment accounted for."""
    source = ntrex_dir / "newstest2019-ref.arb.txt"
    lines = read_lines(source)
    out, segs = tmp_path / "out.txt", tmp_path / "segments.jsonl"
    translator = PipelineTranslator(engines[family], decode=FAST)
    summary = translate_file(translator, source, out, segments=segs, chunk_lines=500)
    hyps = read_lines(out)
    assert len(hyps) == len(lines) == 1997
    assert len(set(hyps)) > 0.9 * len(set(lines))  # outputs differ: a shifted line would show
    # Lines on both sides of every chunk boundary, and a few others, translated on their own.
    sample = [0, 1, 498, 499, 500, 501, 999, 1000, 1499, 1500, 1996, 777, 1234]
    alone = translator.translate_documents([lines[i] for i in sample]).texts
    assert [hyps[i] for i in sample] == [t.replace("\n", " ") for t in alone]
    records = [json.loads(r) for r in read_lines(segs)]
    by_line: dict[int, list[dict]] = {}
    for r in records:
        by_line.setdefault(r["line"], []).append(r)
    assert sorted(by_line) == list(range(1, 1998))
    for n, line in enumerate(lines, start=1):
        rs = sorted(by_line[n], key=lambda r: r["segment"])
        assert " ".join(r["source"] for r in rs) == seg.normalise(line)
        assert all("".join(p["source"] for p in r["pieces"]) == r["source"] for r in rs)
        assert " ".join(r["translation"] for r in rs if r["translation"]) == hyps[n - 1]
    assert summary.segments == len(records) and summary.not_arabic < 10


def test_seed_article_structure(engines, seed_text):
    tr = PipelineTranslator(engines["nllb"], decode=FAST)
    result = tr.translate_documents([seed_text])
    source = seg.normalise(seed_text)
    english = result.texts[0]
    assert english.count("\n\n") == source.count("\n\n")
    assert english.count("\n") == source.count("\n")
    assert len(result.records[0]) == len(seg.segment(source)) == 17


def test_three_thousand_word_line_is_translated_in_full(engines, ntrex_dir):
    words = " ".join(read_lines(ntrex_dir / "newstest2019-ref.arb.txt")).replace(".", "").replace("،", "").split()
    text = " ".join(words[:3000])
    engine = engines["marian"]
    tr = PipelineTranslator(engine, decode=FAST)
    result = tr.translate_segments([text])
    record = result.records[0]
    assert "".join(p.source for p in record.pieces) == text
    assert len(record.pieces) > 10
    sizes = engine.encode([p.source.strip() for p in record.pieces])
    assert all(len(ids) <= tr.limit for ids in sizes)
    assert result.stats.translated == len(set(p.source.strip() for p in record.pieces))


def test_local_fingerprint_changes_with_weights(tiny_models, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(tiny_models["marian"], copy)
    assert fingerprint(copy) == fingerprint(tiny_models["marian"])
    with (copy / "config.json").open("a") as fh:
        fh.write(" ")
    assert fingerprint(copy) != fingerprint(tiny_models["marian"])


def test_missing_local_dir_and_offline_hub_id_give_one_line_errors(monkeypatch):
    with pytest.raises(ModelNotFoundError, match="no such directory"):
        HFEngine.load("./no/such/model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        HFEngine.load("Helsinki-NLP/opus-mt-xx-yy")
    message = str(info.value)
    assert "\n" not in message and "--model DIR" in message and "unreachable" in message


def test_devices_and_dtypes(monkeypatch):
    import torch

    # "auto" prefers cuda, then mps, then cpu, whatever hardware runs the test.
    mps = getattr(torch.backends, "mps", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: True)
        assert pick_device("auto") == "mps"
        monkeypatch.setattr(mps, "is_available", lambda: False)
    assert pick_device("auto") == "cpu"
    assert pick_device("cpu") == "cpu"
    # An explicit device that is not there is one clear error, not torch's AssertionError.
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == "cuda:1"
    with pytest.raises(ConfigError, match="sees 2 GPU"):
        pick_device("cuda:2")
    with pytest.raises(ConfigError, match="unknown device"):
        pick_device("tpu")
    assert pick_dtype("auto", "cpu", "marian") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert pick_dtype("auto", "cuda", "marian") == torch.float16
    assert pick_dtype("auto", "cuda", "madlad") == torch.float32  # T5 overflows in float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype("auto", "cuda", "madlad") == torch.bfloat16


def test_tiny_model_command_line(tmp_path, tiny_models):
    out = tmp_path / "m"
    subprocess.run([sys.executable, "-m", "summ.testing", "tiny-model", str(out), "--family", "nllb"], check=True)
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    # The build is deterministic, training included: the same family and seed, built again
    # (the session's model, built in-process), gives the same files, so cache keys built from
    # the fingerprint survive a rebuild.
    assert fingerprint(tiny_models["nllb"]) == fingerprint(out)
    # Another seed gives other weights, not just another marker file.
    other = build_tiny_model(tmp_path / "other", "nllb", seed=1)
    assert fingerprint(other) != fingerprint(out)
    assert (other / "model.safetensors").read_bytes() != (out / "model.safetensors").read_bytes()
    assert (other / "tokenizer.json").read_bytes() == (out / "tokenizer.json").read_bytes()


def test_corpus_has_both_scripts():
    lines = corpus_lines()
    assert any(seg.is_arabic(line) for line in lines) and any(line.isascii() for line in lines)


def test_hub_models_resolve_to_the_cached_commit(tmp_path, monkeypatch):
    """A hub id's revision is the commit folder it was loaded from, not "main"."""
    import huggingface_hub.constants as constants

    from summ.engines.hub import hub_commit

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--Helsinki-NLP--opus-mt-ar-en"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub_commit("Helsinki-NLP/opus-mt-ar-en", None) == commit
    assert hub_commit("Helsinki-NLP/opus-mt-ar-en", commit) == commit
    assert hub_commit("Helsinki-NLP/opus-mt-xx-yy", "v1") == "v1"  # not cached: what was asked for


def test_a_source_without_tokenizer_is_one_clear_error_in_both_engines(tiny_models, monkeypatch, tmp_path):
    """What transformers raises for a hub repository without tokenizer files (a bare TypeError)."""
    import transformers

    from summ.engines.ct2 import CT2Engine
    from summ.engines.hf import HFEngine

    def no_tokenizer(*args, **kwargs):
        raise TypeError("expected str, bytes or os.PathLike object, not NoneType")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_tokenizer)
    for load in (HFEngine.load, lambda m: CT2Engine.load(m, cache_dir=tmp_path)):
        with pytest.raises(ModelNotFoundError, match="no tokenizer could be built"):
            load(str(tiny_models["marian"]))
