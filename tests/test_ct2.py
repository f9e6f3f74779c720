"""The CTranslate2 engine: same tokens as the HF engine, converted once, atomically, never truncating.

The tiny models of ``summ.testing`` tell their inputs apart (tests/test_tiny_models.py), so
token-for-token equality over 200 NTREX-128 sentences compares varied outputs, some stopped
by ``</s>`` and some by the cap; the tests check that this is so before they compare.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from summ.errors import ConfigError, ModelNotFoundError
from summ.engines.base import BatchConfig, DecodeConfig, load_engine
from summ.translate import PipelineTranslator

FAMILIES = ("marian", "m2m100", "nllb", "t5")
GREEDY = DecodeConfig(beam_size=1)
N_SENTENCES = 200
CAP = 24  # short caps keep the file fast; both stopping reasons still occur

@pytest.fixture(scope="session")
def tiny(tiny_models) -> dict[str, Path]:
    """The default tiny models (input-sensitive: tests/test_tiny_models.py), by family."""
    return tiny_models


@pytest.fixture(scope="session")
def ct2_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ct2-cache")


@pytest.fixture(scope="session")
def arabic(ntrex_dir) -> list[str]:
    lines = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def _ct2(path, cache, decode=GREEDY, **options):
    from summ.engines.ct2 import CT2Engine

    return CT2Engine.load(str(path), decode=decode, compute_type="float32", cache_dir=cache, **options)


def _hf(path, decode=GREEDY):
    from summ.engines.hf import HFEngine

    return HFEngine.load(str(path), decode=decode)


def _hf_ids(engine, batch: list[list[int]], cap: int) -> list[list[int]]:
    """Content ids of the HF engine's outputs (what HFEngine.generate decodes)."""
    import torch

    width = max(len(ids) for ids in batch)
    pad = engine.codec.pad_token_id
    inputs = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
    with torch.inference_mode():
        out = engine.model.generate(input_ids=inputs, attention_mask=mask,
                                    **engine._generate_kwargs(cap + len(engine.codec.target_prefix)))
    return [engine.codec.strip_output(row)[0] for row in out.tolist()]


def _ct2_ids(engine, batch: list[list[int]], cap: int) -> list[list[int]]:
    """Content ids of the CT2 engine's outputs (what CT2Engine.generate decodes)."""
    return [ids for ids, _ended in engine.generate_ids(batch, cap)]


def _batches(encoded: list[list[int]], size: int = 32) -> list[list[list[int]]]:
    # Length-sorted, as the pipeline makes them, so that padding is exercised but bounded.
    ordered = sorted(encoded, key=len, reverse=True)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


# --------------------------------------------------------------------------------------
# Equivalence with the HF engine.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_matches_hf(family, tiny, ct2_cache, arabic):
    hf = _hf(tiny[family])
    ct = _ct2(tiny[family], ct2_cache)
    sentences = arabic[:N_SENTENCES]
    encoded = hf.encode(sentences)
    assert ct.encode(sentences) == encoded  # one tokenizer, one set of ids

    hf_out, ct_out, hf_gens, ct_gens = [], [], [], []
    for batch in _batches(encoded):
        hf_out += _hf_ids(hf, batch, CAP)
        ct_out += _ct2_ids(ct, batch, CAP)
        hf_gens += hf.generate(batch, CAP)
        ct_gens += ct.generate(batch, CAP)

    # The comparison means something: outputs vary, and both stopping reasons occur.
    assert len({tuple(ids) for ids in hf_out}) >= 190
    capped = sum(g.hit_cap for g in hf_gens)
    assert 0 < capped < len(hf_gens)

    mismatches = [i for i, (a, b) in enumerate(zip(hf_out, ct_out)) if a != b]
    assert not mismatches, f"{len(mismatches)} outputs differ, first: {hf_out[mismatches[0]]} vs {ct_out[mismatches[0]]}"
    assert ct_gens == hf_gens  # texts, token counts and hit_cap
    assert all(g.n_tokens == len(ids) for g, ids in zip(ct_gens, ct_out))


@pytest.mark.parametrize("family", FAMILIES)
def test_beam_search_matches_hf_with_fairseq_stopping(family, tiny, ct2_cache, arabic):
    """Beam 4 runs; CTranslate2 stops when beam_size hypotheses have finished, which is HF's
    ``early_stopping=True`` (Marian's and fairseq's rule). Also guards the T5 fix: the stock
    conversion divides T5 logits by sqrt(d_model), which leaves greedy outputs alone but not beams."""
    beam = DecodeConfig(beam_size=4)
    hf = _hf(tiny[family], beam)
    ct = _ct2(tiny[family], ct2_cache, beam)
    encoded = hf.encode(arabic[:60])
    kwargs = hf._generate_kwargs
    hf._generate_kwargs = lambda n: {**kwargs(n), "early_stopping": True}
    same = total = 0
    for batch in _batches(encoded, 16):
        a, b = hf.generate(batch, CAP), ct.generate(batch, CAP)
        assert len(b) == len(batch)
        same += sum(x == y for x, y in zip(a, b))
        total += len(batch)
    assert ct.settings()["beam_size"] == 4
    assert same / total >= 0.95, f"beam outputs agree on {same}/{total}"


@pytest.mark.parametrize("family", ["t5", "m2m100", "nllb"])
def test_scores_match_hf(family, tiny, ct2_cache, arabic):
    """Log-probabilities, not just argmaxes, agree (catches any rescaled logits)."""
    import torch

    hf = _hf(tiny[family])
    ct = _ct2(tiny[family], ct2_cache)
    prefix = len(hf.codec.target_prefix)
    for ids in hf.encode(arabic[:3]):
        out = hf.model.generate(input_ids=torch.tensor([ids]), output_logits=True, return_dict_in_generate=True,
                                **hf._generate_kwargs(10 + prefix))
        tokens = out.sequences[0].tolist()[1:]
        logprobs = [torch.log_softmax(step[0], -1)[t].item() for step, t in zip(out.logits, tokens)][prefix:]
        result = ct.translator.translate_batch(
            [[ct.source_vocab[i] for i in ids]], target_prefix=[ct._prefix] if ct._prefix else None,
            beam_size=1, length_penalty=0, max_input_length=0, max_decoding_length=10 + prefix,
            min_decoding_length=0, return_end_token=True, return_scores=True,
        )[0]
        assert result.scores[0] == pytest.approx(sum(logprobs), abs=1e-3)


def test_long_input_is_not_truncated(tiny, ct2_cache, arabic):
    """A 1,100-token source reaches the model whole (CTranslate2's default cuts at 1024).

    T5 has relative positions, so it can take the whole source; the output must equal HF's.
    A copying model's first tokens come from the start of the source, which truncation keeps,
    so the teeth are in the scores: the whole source gives HF's log-probability, the cut one
    does not; and the engine asks CTranslate2 for the whole source.
    """
    import torch

    hf = _hf(tiny["t5"])
    ct = _ct2(tiny["t5"], ct2_cache)
    text, i = "", 0
    while len(ct.encode([text])[0]) < 1100:
        text, i = f"{text} {arabic[i]}".strip(), i + 1
    ids = ct.encode([text])[0]
    assert len(ids) > 1100

    class Recording:
        def __init__(self, translator) -> None:
            self.translator, self.calls = translator, []

        def translate_batch(self, *args, **kwargs):
            self.calls.append(kwargs)
            return self.translator.translate_batch(*args, **kwargs)

    ct.translator = Recording(ct.translator)
    assert ct.generate([ids], 16) == hf.generate([ids], 16)
    assert [c["max_input_length"] for c in ct.translator.calls] == [0]
    ct.translator = ct.translator.translator

    out = hf.model.generate(input_ids=torch.tensor([ids]), output_logits=True,
                            return_dict_in_generate=True, **hf._generate_kwargs(16))
    tokens = out.sequences[0].tolist()[1:]
    logprob = sum(torch.log_softmax(step[0], -1)[t].item() for step, t in zip(out.logits, tokens))

    def ct2_score(**limit) -> float:
        source = [[ct.source_vocab[j] for j in ids]]
        result = ct.translator.translate_batch(source, beam_size=1, length_penalty=0,
                                               max_decoding_length=16, min_decoding_length=0,
                                               return_end_token=True, return_scores=True, **limit)[0]
        hypothesis = [ct.target_ids[t] for t in result.hypotheses[0]]
        assert hypothesis == tokens[: len(hypothesis)]
        return result.scores[0]

    assert ct2_score(max_input_length=0) == pytest.approx(logprob, abs=1e-3)
    assert abs(ct2_score() - logprob) > 1e-3  # CTranslate2's default: the first 1024 tokens only


def test_inter_threads_give_the_same_outputs(tiny, ct2_cache, arabic):
    one = _ct2(tiny["marian"], ct2_cache)
    two = _ct2(tiny["marian"], ct2_cache, inter_threads=2, intra_threads=1)
    batch = one.encode(arabic[:40])
    assert two.generate(batch, CAP) == one.generate(batch, CAP)


def test_pipeline_end_to_end(tiny, ct2_cache, arabic, tmp_path):
    """load_engine(..., "ct2") through PipelineTranslator: same translations as the HF engine."""
    sentences = arabic[:60] + ["", arabic[0]]  # an empty segment and a duplicate
    batch = BatchConfig(batch_tokens=1024)
    decode = DecodeConfig(beam_size=1, max_new_tokens=CAP)
    ct = load_engine(str(tiny["nllb"]), "ct2", decode=decode, compute_type="float32", cache_dir=ct2_cache)
    hf = load_engine(str(tiny["nllb"]), "hf", decode=decode)
    ct_result = PipelineTranslator(ct, decode=decode, batch=batch).translate_segments(sentences)
    hf_result = PipelineTranslator(hf, decode=decode, batch=batch).translate_segments(sentences)
    assert ct_result.translations == hf_result.translations
    assert ct_result.translations[-2] == ""
    summary = ct_result.stats
    assert summary.output_tokens == hf_result.stats.output_tokens > 0
    assert summary.tokens_per_s > 0 and summary.capped == hf_result.stats.capped


# --------------------------------------------------------------------------------------
# Settings, names, errors.
# --------------------------------------------------------------------------------------


def test_name_and_settings(tiny, ct2_cache):
    import ctranslate2

    ct = _ct2(tiny["nllb"], ct2_cache, DecodeConfig(beam_size=4, length_penalty=0.8))
    assert ct.name == "ct2:float32"
    settings = ct.settings()
    assert settings["compute_type"] == "float32" and settings["ctranslate2"] == ctranslate2.__version__
    assert settings["beam_size"] == 4 and settings["length_penalty"] == 0.8
    assert settings["family"] == "nllb" and settings["target_prefix"] == list(ct.codec.target_prefix)
    assert settings["max_input_length"] == 0
    json.dumps(settings)  # part of the cache key: must serialise
    assert ct.max_input_tokens == 1024 and ct.max_output_tokens > 0


def test_vocabulary_map(tiny, ct2_cache, arabic, tmp_path):
    """A map that allows every word changes nothing; a narrow one restricts the outputs."""
    plain = _ct2(tiny["marian"], ct2_cache)
    words = [t for t in plain.target_ids if t != "<unk>"]
    full, narrow = tmp_path / "full.vmap", tmp_path / "narrow.vmap"
    full.write_text("\t" + " ".join(words) + "\n", encoding="utf-8")
    allowed = words[2:40]
    narrow.write_text("\t" + " ".join(allowed) + "\n", encoding="utf-8")
    batch = plain.encode(arabic[:20])
    wide = _ct2(tiny["marian"], ct2_cache, vmap=str(full))
    assert wide.use_vmap and wide.settings()["vmap"] and wide.settings()["vmap"] != plain.settings()["vmap"]
    assert wide.generate(batch, CAP) == plain.generate(batch, CAP)
    small = _ct2(tiny["marian"], ct2_cache, vmap=str(narrow))
    ids = {plain.target_ids[w] for w in allowed} | {0, 1}  # </s>, <unk> are always allowed
    assert all(set(out) <= ids for out in _ct2_ids(small, batch, CAP))
    with pytest.raises(ConfigError, match="does not exist"):
        _ct2(tiny["marian"], ct2_cache, vmap=str(tmp_path / "missing.vmap"))


def test_marian_pad_is_never_generated(tiny, ct2_cache):
    ct = _ct2(tiny["marian"], ct2_cache)
    pad = ct.codec.pad_token_id
    # HF forbids it with bad_words_ids; the converter removed it from the vocabulary.
    assert pad not in ct.target_ids.values() and len(ct.source_vocab) == pad


def test_an_id_outside_the_converted_vocabulary_is_an_error(tiny, ct2_cache):
    ct = _ct2(tiny["marian"], ct2_cache)
    # Marian's pad id is one past the converted vocabulary (see the test above).
    with pytest.raises(ValueError, match=f"token id {len(ct.source_vocab)} is outside"):
        ct.generate_ids([[5, 6], [5, len(ct.source_vocab)]], 4)
    with pytest.raises(ValueError, match="token id -1 is outside"):
        ct.generate_ids([[5, -1]], 4)


def test_int8_loads_and_is_named(tiny, ct2_cache, arabic):
    ct = load_engine(str(tiny["marian"]), "ct2", decode=GREEDY, compute_type="int8", cache_dir=ct2_cache)
    assert ct.name == "ct2:int8" and ct.settings()["compute_type"] == "int8"
    assert len(ct.generate(ct.encode(arabic[:4]), 8)) == 4


def test_auto_settings_on_cpu(tiny, ct2_cache, monkeypatch):
    from summ.engines.ct2 import CT2Engine, thread_layout

    engine = CT2Engine.load(str(tiny["marian"]), decode=GREEDY, cache_dir=ct2_cache)
    assert engine.name == "ct2:int8" and engine.device == "cpu"
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert thread_layout("cpu", 0, 0) == (4, 1)
    assert thread_layout("cpu", 2, 0) == (2, 2)
    assert thread_layout("cpu", 0, 4) == (1, 4)
    assert thread_layout("cuda", 0, 0) == (1, 1)
    with pytest.raises(ConfigError):
        thread_layout("cpu", -1, 0)


def test_loading_keeps_torch_threads(tiny, ct2_cache):
    """Creating a ctranslate2.Translator sets the OpenMP thread count torch reads; it is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _ct2(tiny["marian"], ct2_cache, inter_threads=2, intra_threads=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_floor_above_cap_stops_at_cap(tiny, ct2_cache, arabic):
    """As in HF: min_new_tokens above the cap gives capped outputs, not an error."""
    ct = _ct2(tiny["marian"], ct2_cache, DecodeConfig(beam_size=1, min_new_tokens=30))
    gens = ct.generate(ct.encode(arabic[:3]), 5)
    assert all(g.n_tokens == 5 and g.hit_cap for g in gens)


def test_unsupported_compute_type_and_device(tiny, ct2_cache):
    from summ.engines.ct2 import CT2Engine

    with pytest.raises(ConfigError, match="compute_type 'float16' is not supported on cpu"):
        CT2Engine.load(str(tiny["marian"]), compute_type="float16", device="cpu", cache_dir=ct2_cache)
    with pytest.raises(ConfigError, match="cpu or cuda"):
        load_engine(str(tiny["marian"]), "ct2", device="mps", cache_dir=ct2_cache)


def test_folder_without_tokenizer_fails_clearly(tiny, tmp_path):
    folder = tmp_path / "weights-only"
    folder.mkdir()
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(tiny["marian"] / name, folder / name)
    with pytest.raises(ModelNotFoundError, match="no tokenizer files") as err:
        load_engine(str(folder), "ct2", cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_unknown_hub_id_offline_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as err:
        load_engine("summ-tests/no-such-model", "ct2", cache_dir=tmp_path)
    assert "no-such-model" in str(err.value) and "\n" not in str(err.value)


def test_import_summ_does_not_import_ctranslate2():
    code = "import sys, summ, summ.translate; assert 'ctranslate2' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------
# The conversion cache.
# --------------------------------------------------------------------------------------


def test_conversion_is_reused(tiny, tmp_path):
    from summ.engines.ct2 import MARKER

    cache = tmp_path / "cache"
    first = _ct2(tiny["t5"], cache)
    assert first.converted
    marker = first.folder / MARKER
    stamp = marker.stat().st_mtime_ns
    second = _ct2(tiny["t5"], cache)
    assert not second.converted and second.folder == first.folder
    assert marker.stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [first.folder.name]  # nothing else left behind
    info = json.loads(marker.read_text(encoding="utf-8"))
    assert info["revision"] == first.revision and info["quantization"] == "float32"
    # Another weight type is another conversion, beside the first.
    third = load_engine(str(tiny["t5"]), "ct2", decode=GREEDY, compute_type="int8", cache_dir=cache)
    assert third.converted and third.folder != first.folder


def test_cache_dir_from_environment(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("SUMM_CT2_CACHE", str(tmp_path / "from-env"))
    from summ.engines.ct2 import CT2Engine

    engine = CT2Engine.load(str(tiny["marian"]), decode=GREEDY, compute_type="float32")
    assert engine.folder.parent == tmp_path / "from-env"


def test_killed_conversion_leaves_nothing_that_loads(tiny, tmp_path):
    """A temporary folder of a dead process (kill -9 mid-conversion) is ignored and removed."""
    from summ.engines import ct2 as mod

    cache = tmp_path / "cache"
    cache.mkdir()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)  # that process has exited
    engine = _ct2(tiny["marian"], cache)
    target = engine.folder
    shutil.rmtree(target)
    # What a killed conversion leaves: a temporary folder with a half-written model.
    half = cache / f"{mod._TMP_PREFIX}{target.name}--{mod.socket.gethostname()}--{dead_pid}--abc123"
    (half / "model").mkdir(parents=True)
    (half / "model" / "model.bin").write_bytes(b"\0" * 100)
    # And one still being written by a live process (ours): it must be left alone.
    live = cache / f"{mod._TMP_PREFIX}{target.name}--{mod.socket.gethostname()}--{os.getpid()}--def456"
    live.mkdir()

    again = _ct2(tiny["marian"], cache)
    assert again.converted and again.folder == target and mod.is_converted(target)
    assert not half.exists() and live.exists()
    assert len(again.generate(again.encode(["مرحبا بالعالم"]), 8)) == 1


def test_failed_conversion_leaves_no_target(tiny, tmp_path, monkeypatch):
    """An exception mid-conversion removes the temporary folder and creates no model folder."""
    from summ.engines import ct2 as mod

    class Exploding:
        def convert(self, out, **kwargs):
            Path(out).mkdir()
            (Path(out) / "model.bin").write_bytes(b"\0" * 10)
            raise KeyboardInterrupt

    monkeypatch.setattr(mod, "_converter", lambda *args: Exploding())
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        _ct2(tiny["marian"], cache)
    assert list(cache.iterdir()) == []


def test_folder_without_marker_is_converted_again(tiny, tmp_path):
    cache = tmp_path / "cache"
    engine = _ct2(tiny["nllb"], cache)
    (engine.folder / "summ-ct2.json").unlink()  # e.g. copied by hand, or by an older tool
    again = _ct2(tiny["nllb"], cache)
    assert again.converted and (again.folder / "summ-ct2.json").is_file()


def test_model_min_length_is_a_floor_in_both_engines(tiny, ct2_cache, arabic, tmp_path):
    """A generation_config min_length (distilbart-cnn: 56) holds on CTranslate2 as on HF."""
    path = tmp_path / "bart"
    shutil.copytree(tiny["bart"], path)
    gen_file = path / "generation_config.json"
    gen = json.loads(gen_file.read_text(encoding="utf-8"))
    floor = 8
    gen_file.write_text(json.dumps({**gen, "min_length": floor, "no_repeat_ngram_size": 0}), encoding="utf-8")
    hf, ct2 = _hf(path), _ct2(path, ct2_cache)  # greedy
    # Short sources (one word) that the model would end sooner than the floor, and whole lines.
    batch = hf.encode([line.split()[0] for line in arabic[:24]] + arabic[24:48])
    hf_out, ct2_out = _hf_ids(hf, batch, CAP), _ct2_ids(ct2, batch, CAP)
    assert ct2_out == hf_out
    lengths = [len(ids) for ids in hf_out]
    assert min(lengths) >= floor - 2 and min(lengths) < CAP  # the floor binds, and some outputs end
    # Without the floor the same short sources end earlier: the floor is what held them.
    no_floor = {**gen, "min_length": 0, "no_repeat_ngram_size": 0}
    gen_file.write_text(json.dumps(no_floor), encoding="utf-8")
    free = _hf_ids(_hf(path), batch[:24], CAP)
    assert min(len(ids) for ids in free) < floor - 2


def test_a_stopping_rule_ctranslate2_lacks_is_an_error(tiny, ct2_cache):
    with pytest.raises(ConfigError, match="early_stopping=False is not available"):
        _ct2(tiny["marian"], ct2_cache, DecodeConfig(beam_size=4, early_stopping=False))
    _ct2(tiny["marian"], ct2_cache, DecodeConfig(beam_size=1, early_stopping=False))  # greedy: no beams, no rule


# --------------------------------------------------------------------------------------
# The target-script vocabulary (summ.engines.vocab).
# --------------------------------------------------------------------------------------

TS = "target-script"


def _hf_ts_ids(engine, batch: list[list[int]], cap: int) -> list[list[int]]:
    """Like _hf_ids, with the engine's target-script restriction (what HFEngine.generate adds)."""
    import torch

    width = max(len(ids) for ids in batch)
    pad = engine.codec.pad_token_id
    inputs = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
    with torch.inference_mode():
        out = engine.model.generate(
            input_ids=inputs, attention_mask=mask, logits_processor=engine._restrict,
            **engine._generate_kwargs(cap + len(engine.codec.target_prefix)))
    return [engine.codec.strip_output(row)[0] for row in out.tolist()]


@pytest.mark.parametrize("family", FAMILIES)
def test_target_script_greedy_matches_hf(family, tiny, ct2_cache, arabic):
    """float32 greedy: the HF engine's restriction gives CTranslate2's tokens exactly; every
    output token is a kept one; and the restriction bites (full-vocabulary outputs differ)."""
    from transformers import AutoTokenizer

    from summ.engines.hf import HFEngine

    hf = HFEngine.load(str(tiny[family]), decode=GREEDY, vocabulary=TS)
    ct = _ct2(tiny[family], ct2_cache, vocabulary=TS)
    full = _ct2(tiny[family], ct2_cache)
    encoded = hf.encode(arabic[:96])
    hf_out, ct_out, full_out, hf_gens, ct_gens = [], [], [], [], []
    for batch in _batches(encoded):
        hf_out += _hf_ts_ids(hf, batch, CAP)
        ct_out += _ct2_ids(ct, batch, CAP)
        full_out += _ct2_ids(full, batch, CAP)
        hf_gens += hf.generate(batch, CAP)
        ct_gens += ct.generate(batch, CAP)
    assert len({tuple(ids) for ids in ct_out}) >= 20  # varied outputs
    mismatches = [i for i, (a, b) in enumerate(zip(hf_out, ct_out)) if a != b]
    assert not mismatches, (f"{len(mismatches)} outputs differ, first: "
                            f"{hf_out[mismatches[0]]} vs {ct_out[mismatches[0]]}")
    assert ct_gens == hf_gens
    hf_kept, ct_kept = set(hf.target_vocabulary.ids), set(ct.target_vocabulary.ids)
    assert all(set(ids) <= ct_kept and set(ids) <= hf_kept for ids in ct_out)
    # The full model does emit dropped tokens here, so the comparison above has teeth.
    assert any(not set(ids) <= ct_kept for ids in full_out)
    assert sum(a != b for a, b in zip(full_out, ct_out)) >= 10
    # Dropped tokens are the Arabic ones (by the tokenizer's own strings).
    tok = AutoTokenizer.from_pretrained(tiny[family])
    emitted = {t for ids in ct_out for t in tok.convert_ids_to_tokens(ids)}
    assert not any("\u0600" <= c <= "\u06ff" for t in emitted for c in t)


@pytest.mark.parametrize("family", ["marian", "nllb"])
def test_target_script_beam_matches_hf(family, tiny, ct2_cache, arabic):
    """Beam 4: HF renormalises over the kept tokens as CTranslate2's restricted softmax does,
    so both engines rank hypotheses alike (fairseq stopping rule on both sides, as above)."""
    from summ.engines.hf import HFEngine

    beam = DecodeConfig(beam_size=4)
    hf = HFEngine.load(str(tiny[family]), decode=beam, vocabulary=TS)
    ct = _ct2(tiny[family], ct2_cache, beam, vocabulary=TS)
    kwargs = hf._generate_kwargs
    hf._generate_kwargs = lambda n: {**kwargs(n), "early_stopping": True}
    same = total = 0
    for batch in _batches(hf.encode(arabic[:48]), 16):
        a, b = hf.generate(batch, CAP), ct.generate(batch, CAP)
        same += sum(x == y for x, y in zip(a, b))
        total += len(batch)
    assert same / total >= 0.95, f"beam outputs agree on {same}/{total}"


def test_target_script_settings_folder_and_marker(tiny, ct2_cache):
    from summ.engines.ct2 import MARKER, VMAP_FILE, conversion_key
    from summ.engines.vocab import RULE_VERSION

    full = _ct2(tiny["nllb"], ct2_cache)
    ts = _ct2(tiny["nllb"], ct2_cache, vocabulary=TS)
    assert ts.folder != full.folder and not (full.folder / VMAP_FILE).exists()
    marker = json.loads((ts.folder / MARKER).read_text(encoding="utf-8"))
    assert marker["vocabulary"]["rule"] == TS and marker["vocabulary"]["version"] == RULE_VERSION
    kept = len(ts.target_vocabulary.ids)
    assert marker["vocabulary"]["kept"] == kept < marker["vocabulary"]["of"]
    # The folder name hashes the rule version: a new rule is a new conversion.
    key = conversion_key(str(tiny["nllb"]), ts.revision, "float32", vocabulary=TS)
    assert key["vocabulary"]["version"] == RULE_VERSION and "vocabulary" not in conversion_key(
        str(tiny["nllb"]), ts.revision, "float32")
    settings, plain = ts.settings(), full.settings()
    assert settings["vocabulary"] == TS and settings["vocabulary_rule"] == RULE_VERSION
    assert settings["use_vmap"] is True and settings["vmap"] and plain["vocabulary"] == "full"
    assert plain["use_vmap"] is False and plain["vmap"] is None
    pipeline = PipelineTranslator(ts, decode=GREEDY)
    assert pipeline._key_parts()["settings"]["vocabulary_digest"] == ts.target_vocabulary.digest
    json.dumps(settings)
    # The map lists exactly the kept tokens, with an empty source.
    line = (ts.folder / VMAP_FILE).read_text(encoding="utf-8")
    listed = line[1:].split()
    assert line.startswith("\t")
    assert sorted(ts.target_ids[t] for t in listed) == list(ts.target_vocabulary.ids)
    # A target-script folder that lost its map is converted again, not loaded without it.
    (ts.folder / VMAP_FILE).unlink()
    again = _ct2(tiny["nllb"], ct2_cache, vocabulary=TS)
    assert again.converted and (again.folder / VMAP_FILE).is_file()


def test_target_script_errors(tiny, ct2_cache, tiny_models, tmp_path):
    words = tmp_path / "words.vmap"
    words.write_text("\t▁the\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="give one"):
        _ct2(tiny["marian"], ct2_cache, vmap=str(words), vocabulary=TS)
    with pytest.raises(ConfigError, match="unknown vocabulary"):
        _ct2(tiny["marian"], ct2_cache, vocabulary="latin")
    with pytest.raises(ConfigError, match="no script rule for target language 'ar'"):
        _ct2(tiny["nllb"], ct2_cache, vocabulary=TS, src_lang="en", tgt_lang="ar")
    with pytest.raises(ConfigError, match="byte-level BPE"):
        _ct2(tiny_models["bart"], tmp_path / "cache", vocabulary=TS)
