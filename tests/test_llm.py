"""Causal LLMs as translators and summarisers, with the guarantees of the NMT models.

Tiny Qwen2- and Gemma-2-shaped chat models (summ.testing: real tokenizer classes and chat
templates, input-sensitive random weights) go through the real engines, the pipeline, the
cache, the CLI and the ``llm`` summary strategy. Output checks are tested on crafted outputs
of a fake engine through the real pipeline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from summ import segment as seg
from summ.cache import Cache
from summ.cli import main
from summ.engines.base import BatchConfig, DecodeConfig, Generation, check_model, load_engine
from summ.errors import ConfigError
from summ.prompts import PROMPTS, Prompt, custom_prompt, default_prompt, resolve_prompt
from summ.testing import EchoEngine
from summ.translate import CLEANUPS, PipelineTranslator, clean_output, input_limit, output_cap, output_flags

from .conftest import SEED_ARTICLE

CAUSAL = ("qwen2", "gemma")
GREEDY = DecodeConfig(beam_size=1)
CAP = 24


@pytest.fixture(scope="session")
def arabic(ntrex_dir) -> list[str]:
    lines = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


@pytest.fixture(scope="session")
def english(ntrex_dir) -> list[str]:
    return (ntrex_dir / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def hf_engines(tiny_models):
    from summ.engines.hf import HFEngine

    return {f: HFEngine.load(str(tiny_models[f]), decode=GREEDY) for f in CAUSAL}


@pytest.fixture(scope="session")
def ct2_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ct2-llm")


def _ct2(path, cache, **options):
    from summ.engines.ct2 import CT2Engine

    return CT2Engine.load(
        str(path), decode=GREEDY, compute_type="float32", cache_dir=cache, **options
    )


# --------------------------------------------------------------------------------------
# Tiny models: real tokenizers of the family's class, with the family's chat template.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "cls"), [("qwen2", "Qwen2Tokenizer"), ("gemma", "GemmaTokenizer")]
)
def test_tiny_tokenizers_round_trip_without_unk(family, cls, tiny_models, arabic, english):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models[family])
    assert type(tok).__name__ == cls
    assert (tiny_models[family] / "chat_template.jinja").is_file()  # saved as the real models do
    for text in arabic[:100] + english[:100] + ["Mixed سطر with 2023 أرقام and ڤ 😀"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == text


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (
            "qwen2",
            (
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. "
                "You are a helpful assistant."
                "<|im_end|>\n<|im_start|>user\nمرحبا<|im_end|>\n<|im_start|>assistant\n"
            ),
        ),
        ("gemma", "<bos><start_of_turn>user\nمرحبا<end_of_turn>\n<start_of_turn>model\n"),
    ],
)
def test_tiny_chat_templates_write_the_real_formats(family, expected, tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models[family])
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": "مرحبا"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == expected
    # The turn markers are single special tokens, not text.
    ids = tok(rendered, add_special_tokens=False)["input_ids"]
    marker = "<|im_start|>" if family == "qwen2" else "<start_of_turn>"
    assert tok.convert_tokens_to_ids(marker) in ids


def test_tiny_ids_resolve():
    assert check_model("tiny:qwen2") is None and check_model("tiny:gemma") is None
    assert "unknown tiny model family" in check_model("tiny:llama")


@pytest.mark.parametrize("family", CAUSAL)
def test_outputs_depend_on_inputs_and_some_end_early(family, hf_engines, arabic):
    engine = hf_engines[family]
    outs = engine.generate(engine.encode(arabic[:60]), CAP)
    assert len({o.text for o in outs}) >= 50
    assert 0 < sum(o.hit_cap for o in outs) < len(outs)


# --------------------------------------------------------------------------------------
# The engines: prompt, stop tokens, context, no sampling; CT2 == HF.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "stops"),
    [("qwen2", ["<|im_end|>", "<|endoftext|>"]), ("gemma", ["<eos>", "<end_of_turn>"])],
)
def test_engine_prompts_with_the_chat_template_and_stops_at_end_of_turn(family, stops, hf_engines):
    engine = hf_engines[family]
    tok = engine.codec.tokenizer
    assert type(engine).__name__ == "HFCausalEngine"
    assert set(engine.codec.stop_ids) == set(tok.convert_tokens_to_ids(stops))
    assert engine.context_tokens == 1024
    source = "قال الرئيس إن الاجتماع سيعقد غداً."
    instruction = PROMPTS["translate"].fill(source, "ar", "en")
    assert instruction.startswith("Translate the following Arabic text into English.")
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
    )
    assert engine.encode([source]) == [tok(rendered, add_special_tokens=False)["input_ids"]]
    # The prompt overhead the output cap leaves out: the encoded prompt minus the source.
    own = len(tok(source, add_special_tokens=False)["input_ids"])
    assert abs(len(engine.encode([source])[0]) - own - engine.prompt_tokens) <= 1


def test_end_of_turn_stops_a_model_whose_configs_name_only_eos(tiny_models, tmp_path):
    """Base-model configs name only <eos>; a chat answer ends at <end_of_turn> all the same."""
    model = tmp_path / "gemma-eos-only"
    shutil.copytree(tiny_models["gemma"], model)
    for name in ("config.json", "generation_config.json"):
        data = json.loads((model / name).read_text())
        data["eos_token_id"] = 1
        (model / name).write_text(json.dumps(data))
    engine = load_engine(str(model), "hf", decode=GREEDY)
    end_of_turn = engine.codec.tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert set(engine.codec.stop_ids) == {1, end_of_turn}


def test_a_plain_prompt_is_raw_text_after_bos(hf_engines):
    engine = hf_engines["gemma"].with_prompt("gemmax2", "translate")
    tok = engine.codec.tokenizer
    ids = engine.encode(["مرحبا"])[0]
    assert (
        ids == tok("Translate this from Arabic to English:\nArabic: مرحبا\nEnglish:")["input_ids"]
    )
    assert ids[0] == tok.bos_token_id
    assert (
        engine.settings()["prompt"]["name"] == "gemmax2"
        and engine.settings()["chat_template"] is None
    )


def test_generation_never_samples_whatever_the_generation_config_says(hf_engines, arabic):
    import torch

    engine = hf_engines["qwen2"]
    assert engine.generation_config.do_sample is True  # the trap, as in Qwen2.5-Instruct
    batch = engine.encode(arabic[:8])
    torch.manual_seed(1)
    first = engine.generate(batch, CAP)
    torch.manual_seed(2)
    assert engine.generate(batch, CAP) == first
    assert (
        engine.settings()["do_sample"] is False and engine.settings()["repetition_penalty"] == 1.0
    )


@pytest.mark.parametrize("family", CAUSAL)
def test_ct2_float32_greedy_equals_hf_token_for_token(
    family, tiny_models, hf_engines, ct2_cache, arabic
):
    hf = hf_engines[family]
    ct = _ct2(tiny_models[family], ct2_cache)
    assert type(ct).__name__ == "CT2CausalEngine"
    encoded = hf.encode(arabic[:200])
    assert ct.encode(arabic[:200]) == encoded
    ordered = sorted(encoded, key=len, reverse=True)
    hf_ids, ct_ids, hf_gen, ct_gen = [], [], [], []
    for i in range(0, len(ordered), 32):
        batch = ordered[i : i + 32]
        hf_ids += hf.generate_ids(batch, CAP)
        ct_ids += ct.generate_ids(batch, CAP)
        hf_gen += hf.generate(batch, CAP)
        ct_gen += ct.generate(batch, CAP)
    assert len({tuple(ids) for ids, _ in hf_ids}) >= 150  # the comparison means something
    assert 0 < sum(not ended for _, ended in hf_ids) < len(hf_ids)
    mismatches = [i for i, (a, b) in enumerate(zip(hf_ids, ct_ids)) if a != b]
    assert not mismatches, (
        f"{len(mismatches)} differ, first {hf_ids[mismatches[0]]} vs {ct_ids[mismatches[0]]}"
    )
    assert ct_gen == hf_gen


def test_stock_gemma2_conversion_differs(
    tiny_models, hf_engines, ct2_cache, arabic, monkeypatch, tmp_path
):
    """The equality above has teeth: without summ's Gemma 2 fixes (query scale, logit
    soft-capping, RoPE base) CTranslate2 gives other outputs."""
    from summ.engines import ct2 as ct2_module

    fixed = ct2_module._fixed_loaders

    def without_gemma2():
        ct2t, fixes = fixed()
        fixes.pop("Gemma2Config")
        return ct2t, fixes

    monkeypatch.setattr(ct2_module, "_fixed_loaders", without_gemma2)
    stock = _ct2(tiny_models["gemma"], tmp_path)
    batch = hf_engines["gemma"].encode(arabic[:20])
    assert stock.generate_ids(batch, CAP) != hf_engines["gemma"].generate_ids(batch, CAP)


def test_ct2_causal_refuses_an_id_outside_its_vocabulary(tiny_models, ct2_cache):
    engine = _ct2(tiny_models["qwen2"], ct2_cache)
    with pytest.raises(ValueError, match="is outside the CTranslate2 vocabulary"):
        engine.generate_ids([[len(engine.vocab) + 3]], 4)


def test_ct2_conversion_is_cached_and_keyed_like_seq2seq(tiny_models, ct2_cache):
    from summ.engines.ct2 import conversion_dir, conversion_key, is_converted

    first = _ct2(tiny_models["qwen2"], ct2_cache)
    again = _ct2(tiny_models["qwen2"], ct2_cache)
    assert not again.converted and again.folder == first.folder and is_converted(first.folder)
    key = conversion_key(str(tiny_models["qwen2"]), first.revision, "float32")
    assert first.folder == conversion_dir(ct2_cache, str(tiny_models["qwen2"]), key)
    assert not list(ct2_cache.glob(".tmp-*"))  # atomic: no temporary folder left


def test_ct2_limits_context_to_a_sliding_window(tiny_models, tmp_path, caplog, arabic):
    """CTranslate2 does not reproduce Gemma 2's sliding window: inputs stay within it."""
    from summ.engines.hf import HFEngine

    model = tmp_path / "gemma-window"
    shutil.copytree(tiny_models["gemma"], model)
    config = json.loads((model / "config.json").read_text())
    config["sliding_window"] = 512
    (model / "config.json").write_text(json.dumps(config))
    ct = _ct2(model, tmp_path / "cache")
    hf = HFEngine.load(str(model), decode=GREEDY)
    assert ct.context_tokens == 512 and hf.context_tokens == 1024
    assert "sliding-window" in caplog.text
    batch = hf.encode(arabic[:16])  # all shorter than the window: both engines agree
    assert ct.generate_ids(batch, CAP) == hf.generate_ids(batch, CAP)


def test_prompt_options_are_errors_for_seq2seq_models(tiny_models):
    for engine in ("hf", "ct2"):
        with pytest.raises(ConfigError, match="causal language models only"):
            load_engine(str(tiny_models["marian"]), engine, decode=GREEDY, prompt="translate")


# --------------------------------------------------------------------------------------
# Prompts are data.
# --------------------------------------------------------------------------------------


def test_prompt_table_and_resolution():
    assert default_prompt("translate", "Qwen/Qwen2.5-1.5B-Instruct").name == "translate"
    assert default_prompt("translate", "ModelSpace/GemmaX2-28-2B-v0.1").name == "gemmax2"
    assert default_prompt("translate", "/models/gemmax2-28-9b/").name == "gemmax2"
    assert resolve_prompt("summarise", "summarise", "m").task == "summarise"
    custom = resolve_prompt("Arabic: {source}\nEnglish:", "translate", "m", "plain")
    assert (custom.name, custom.format) == ("custom", "plain")
    assert custom.version != custom_prompt("Arabic:  {source}\nEnglish:").version
    assert all(isinstance(p.version, int) for p in PROMPTS.values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-prompt", "unknown prompt"),
        ("Translate {source} into {language}", "unknown placeholder"),
        ("summarise", "is a summarise prompt"),
    ],
)
def test_bad_prompts_are_one_line_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        resolve_prompt(spec, "translate", "m")


def test_a_chat_prompt_needs_a_chat_template(tiny_models, tmp_path):
    model = tmp_path / "no-template"
    shutil.copytree(tiny_models["qwen2"], model)
    (model / "chat_template.jinja").unlink()
    with pytest.raises(ConfigError, match="has no chat template"):
        load_engine(str(model), "hf", decode=GREEDY)
    # A plain prompt works without one.
    engine = load_engine(str(model), "hf", decode=GREEDY, prompt="gemmax2")
    assert engine.settings()["prompt"]["format"] == "plain"


def test_prompts_enter_the_cache_key(tiny_models, tmp_path, arabic):
    path = tmp_path / "cache.sqlite"
    segments = arabic[:6]

    def run(**options) -> PipelineTranslator:
        engine = load_engine(str(tiny_models["qwen2"]), "hf", decode=GREEDY, **options)
        return PipelineTranslator(engine, decode=GREEDY, cache=Cache(path))

    first = run().translate_segments(segments)
    assert first.stats.translated == 6
    assert run().translate_segments(segments).stats.cache_hits == 6
    # Another template, or another text of a custom one, is another key.
    other = run(prompt="Translate to English:\n{source}").translate_segments(segments)
    assert other.stats.cache_hits == 0 and other.stats.translated == 6
    edited = run(prompt="Translate to English: \n{source}").translate_segments(segments)
    assert edited.stats.cache_hits == 0
    key = run()._key_parts()["settings"]["prompt"]
    assert key == PROMPTS["translate"].as_dict()


# --------------------------------------------------------------------------------------
# The pipeline: context rule, output checks, document level.
# --------------------------------------------------------------------------------------


class FakeLLM(EchoEngine):
    """A prompted engine: ``overhead`` prompt tokens before the source words, a shared
    context, and outputs looked up in ``outputs`` (source -> output; else the source)."""

    PROMPT = ("Translate", "the", "following", "Arabic", "text", "into", "English.")

    def __init__(
        self, outputs: dict[str, str] | None = None, context: int = 256, document: bool = False
    ):
        super().__init__(max_input_tokens=context - 1, max_output_tokens=context)
        self.outputs = outputs or {}
        self.context_tokens = context
        self.prompt_tokens = len(self.PROMPT)  # what the prompt adds to words + end token
        self.prompt_markers = ("Translate the following Arabic text into English.",)
        self.tgt_lang = "en"
        self.document = document
        self.model_id = "fake-llm"

    def settings(self) -> dict:
        return {"fake": True, "document": self.document}

    def with_prompt(self, prompt, task="document"):
        view = FakeLLM(self.outputs, self.context_tokens, document=True)
        view._words, view._ids, view.calls = self._words, self._ids, self.calls
        return view

    def encode(self, texts):
        lines = [" ".join(self.PROMPT) + " " + t.replace("\n", " ⏎ ") for t in texts]
        return super().encode(lines)

    def generate(self, batch, max_new_tokens):
        self.calls.append(([list(ids) for ids in batch], max_new_tokens))
        out = []
        for ids in batch:
            words = [self._ids[i] for i in ids[len(self.PROMPT) : -1]]
            source = " ".join(words).replace(" ⏎ ", "\n")
            text = self.outputs.get(source, source)
            out.append(Generation(text, len(text.split()), False))
        return out


def test_causal_input_limit_leaves_the_output_room_in_the_context():
    engine = FakeLLM(context=200)
    decode = DecodeConfig(beam_size=1)
    limit = input_limit(engine, decode, BatchConfig())
    overhead = engine.prompt_tokens

    def total(n):
        return n + output_cap(n - overhead, decode, engine.max_output_tokens)

    assert total(limit) <= 200 < total(limit + 1)
    # A fixed output cap (summaries): the context minus the cap.
    assert input_limit(engine, DecodeConfig(beam_size=1, max_new_tokens=50), BatchConfig()) == 150
    assert input_limit(engine, decode, BatchConfig(max_input_tokens=40)) == 40
    with pytest.raises(ConfigError, match="holds no source"):
        input_limit(engine, DecodeConfig(beam_size=1, max_new_tokens=195), BatchConfig())


def test_the_output_cap_of_a_prompted_source_leaves_the_prompt_out():
    tr = PipelineTranslator(FakeLLM(), decode=GREEDY)
    tr.translate(["كلمة " * 10])
    ((_batch, cap),) = tr.engine.calls
    assert cap == output_cap(11, GREEDY, tr.engine.max_output_tokens)  # 10 words + end token


SOURCE = "قال الرئيس إن الاجتماع سيعقد غداً في العاصمة."
GOOD = "The president said the meeting will be held tomorrow in the capital."


@pytest.mark.parametrize(
    ("output", "text", "flags"),
    [
        (GOOD, GOOD, ()),
        (f"Here is the translation:\n\n{GOOD}", GOOD, ("stripped",)),
        (f"Sure! Here's the English translation of the text:\n{GOOD}", GOOD, ("stripped",)),
        (f"Translation: {GOOD}", GOOD, ("stripped",)),
        (f"English: {GOOD}", GOOD, ("stripped",)),
        (f"```\n{GOOD}\n```", GOOD, ("stripped",)),
        (f"```text\n{GOOD}\n```", GOOD, ("stripped",)),
        (f"<think>\n\n</think>\n\n{GOOD}", GOOD, ("stripped",)),
        (f"{GOOD}\n\nNote: 'العاصمة' means the capital.", GOOD, ("stripped",)),
        (SOURCE, SOURCE, ("wrong-script",)),
        (f"{GOOD} " * 4, (f"{GOOD} " * 4).strip(), ("too-long",)),
        (f"Translate the following Arabic text into English. {GOOD}", None, ("prompt-echo",)),
        ("", "", ("empty-output",)),
    ],
)
def test_output_checks_on_crafted_outputs_through_the_pipeline(output, text, flags):
    tr = PipelineTranslator(FakeLLM({SOURCE: output}), decode=GREEDY)
    result = tr.translate_segments([SOURCE])
    record = result.records[0]
    assert record.flags == flags
    if text is not None:
        assert result.translations == [text]
    if "stripped" in flags:
        assert record.pieces[0].raw == output and record.as_dict()["pieces"][0]["raw"] == output
    else:
        assert record.pieces[0].raw is None and "raw" not in record.as_dict()["pieces"][0]
    counters = {
        "stripped": "stripped",
        "wrong-script": "wrong_script",
        "too-long": "too_long",
        "prompt-echo": "prompt_echo",
        "empty-output": "empty_output",
    }
    for flag, counter in counters.items():
        assert getattr(result.stats, counter) == (flag in flags)


def test_nmt_outputs_get_the_checks_but_no_stripping():
    class NMT(EchoEngine):
        tgt_lang = "en"

        def generate(self, batch, max_new_tokens):
            return [Generation(f"Translation: {GOOD}", 12, False) for _ in batch]

    result = PipelineTranslator(NMT(), decode=GREEDY).translate_segments([SOURCE, "جملة"])
    assert result.translations[0] == f"Translation: {GOOD}"  # an NMT output is never edited
    assert result.records[0].flags == ()
    assert result.records[1].flags == ("too-long",)  # 4 letters in, 80 out
    arabic_out = PipelineTranslator(EchoEngine(), decode=GREEDY)
    arabic_out.tgt_lang = "en"
    assert arabic_out.translate_segments([SOURCE]).records[0].flags == ("wrong-script",)


def test_the_thresholds_pass_every_ntrex_reference(arabic, ntrex_dir):
    """No human translation of NTREX-128 is flagged: the checks' thresholds sit above them."""
    ar = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()
    en = (ntrex_dir / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    assert len(ar) == len(en) == 1997
    flagged = [(a, e) for a, e in zip(ar, en) if output_flags(a, e, tgt_lang="en")]
    assert flagged == []
    # ... and Arabic outputs for an Arabic target are not either, English ones are.
    assert not any(output_flags(a, a, tgt_lang="ar") for a in ar[:200])
    assert all("wrong-script" in output_flags(e, e, tgt_lang="ar") for e in en[:200] if e.strip())


def test_cleanup_table_is_visible_and_named():
    assert [name for name, _p, _why in CLEANUPS] == [
        "think-block",
        "code-fence",
        "preamble",
        "trailing-note",
    ]
    assert clean_output("  The translation of this word is hard.  ") == (
        "The translation of this word is hard.",
        (),
    )


def test_document_level_maps_lines_back_or_falls_back_visibly():
    doc_ok = "السطر الأول هنا.\nالسطر الثاني هنا.\n\nفقرة ثانية."
    doc_bad = "سطر أ.\nسطر ب."
    engine = FakeLLM(
        {
            "السطر الأول هنا.\nالسطر الثاني هنا.\nفقرة ثانية.": (
                "First line.\nSecond line.\nSecond paragraph."
            ),
            # One line for two: must not be accepted.
            "سطر أ.\nسطر ب.": "Line a and line b merged.",
            "سطر أ.": "Line a.",
            "سطر ب.": "Line b.",
        }
    )
    tr = PipelineTranslator(engine, decode=GREEDY, level="document")
    result = tr.translate_documents([doc_ok, doc_bad])
    assert result.texts == ["First line.\nSecond line.\n\nSecond paragraph.", "Line a.\nLine b."]
    assert [r.source for r in result.records[0]] == [
        "السطر الأول هنا.",
        "السطر الثاني هنا.",
        "فقرة ثانية.",
    ]
    assert all("doc-fallback" not in r.flags for r in result.records[0])
    assert all("doc-fallback" in r.flags for r in result.records[1])
    assert result.stats.doc_fallback == 2 and result.stats.segments == 5
    # The windows went through the document view (its own cache key), the fallback not.
    assert tr._document.engine.document and not tr.engine.document


def test_document_level_needs_a_prompted_engine():
    with pytest.raises(ConfigError, match="needs a prompted model"):
        PipelineTranslator(EchoEngine(), decode=GREEDY, level="document")
    with pytest.raises(ConfigError, match="unknown translation level"):
        PipelineTranslator(FakeLLM(), decode=GREEDY, level="paragraph")


def test_long_blank_and_mixed_inputs_behave_as_for_nmt(hf_engines):
    engine = hf_engines["qwen2"]
    tr = PipelineTranslator(engine, decode=DecodeConfig(beam_size=1, max_new_tokens=8))
    long_line = " ".join(f"كلمة{i % 50}" for i in range(3000))
    inputs = ["", "   ", long_line, "The minister said مرحبا to everyone."]
    result = tr.translate_segments(inputs)
    assert len(result.translations) == 4 and result.translations[:2] == ["", ""]
    record = result.records[2]
    assert "split" in record.flags and len(record.pieces) > 1
    assert "".join(p.source for p in record.pieces) == long_line  # nothing dropped
    assert all(len(engine.encode([p.source.strip()])[0]) <= tr.limit for p in record.pieces)
    assert tr.limit + 8 <= engine.context_tokens
    assert "not-arabic" in result.records[3].flags


@pytest.mark.parametrize("commit_every", [1, 1000])
def test_resume_after_a_failed_batch_gives_the_uninterrupted_outputs(
    commit_every, tiny_models, tmp_path, arabic
):
    """Finished batches survive a failure, committed as they finish (1) or when the run
    stops (1000); the resumed run's outputs are the uninterrupted run's."""
    from summ.engines.hf import HFEngine

    segments = arabic[:24]
    batch = BatchConfig(max_batch_size=4, commit_every=commit_every)
    clean = PipelineTranslator(
        HFEngine.load(str(tiny_models["qwen2"]), decode=GREEDY), decode=GREEDY, batch=batch
    ).translate(segments)

    engine = HFEngine.load(str(tiny_models["qwen2"]), decode=GREEDY)
    real, calls = engine.generate, []

    def failing(ids, cap):
        calls.append(len(ids))
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(ids, cap)

    engine.generate = failing
    path = tmp_path / "cache.sqlite"
    with pytest.raises(RuntimeError, match="killed"):
        PipelineTranslator(engine, decode=GREEDY, batch=batch, cache=Cache(path)).translate(
            segments
        )
    finished = sum(calls[:2])
    assert len(calls) == 3 and 2 <= finished < len(segments)
    assert len(Cache(path)) == finished  # the two finished batches, nothing else
    resumed = PipelineTranslator(
        HFEngine.load(str(tiny_models["qwen2"]), decode=GREEDY),
        decode=GREEDY,
        batch=batch,
        cache=Cache(path),
    )
    result = resumed.translate_segments(segments)
    assert (
        result.stats.cache_hits == finished and result.stats.translated == len(segments) - finished
    )
    assert result.translations == clean


# --------------------------------------------------------------------------------------
# The CLI.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["hf", "ct2"])
def test_cli_translates_the_seed_article_line_aligned(
    engine, tiny_models, tmp_path, capsys, seed_text
):
    out, segments = tmp_path / "out.txt", tmp_path / "segments.jsonl"
    argv = [
        "translate",
        str(SEED_ARTICLE),
        "--model",
        str(tiny_models["qwen2"]),
        "--engine",
        engine,
        "--beam",
        "1",
        "-o",
        str(out),
        "--segments",
        str(segments),
        "--cache",
        str(tmp_path / "c.sqlite"),
        "--no-progress",
    ]
    if engine == "ct2":
        argv += ["--compute-type", "float32"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    source_lines, out_lines = (
        seed_text.split("\n"),
        out.read_text(encoding="utf-8").rstrip("\n").split("\n"),
    )
    assert len(out_lines) == len(source_lines)
    assert [bool(x.strip()) for x in out_lines] == [bool(x.strip()) for x in source_lines]
    assert "17 segments" in err and "in the wrong script" in err
    records = [json.loads(line) for line in segments.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 17 and {r["line"] for r in records} <= set(
        range(1, len(source_lines) + 1)
    )
    # Rerun: everything from the cache, same output.
    first = out.read_text(encoding="utf-8")
    assert main(argv) == 0
    assert "0 translated" in capsys.readouterr().err and out.read_text(encoding="utf-8") == first


def test_cli_article_folder_keeps_paragraphs_at_document_level(
    tiny_models, tmp_path, capsys, seed_text
):
    folder, out = tmp_path / "articles", tmp_path / "out"
    folder.mkdir()
    shutil.copy(SEED_ARTICLE, folder / SEED_ARTICLE.name)
    code = main(
        [
            "translate",
            str(folder),
            "--model",
            str(tiny_models["gemma"]),
            "--beam",
            "1",
            "--level",
            "document",
            "-o",
            str(out),
            "--no-cache",
            "--no-progress",
        ]
    )
    assert code == 0
    text = (out / SEED_ARTICLE.name).read_text(encoding="utf-8")
    assert text.count("\n\n") == seg.normalise(seed_text).count("\n\n")
    assert "document-level fallbacks" in capsys.readouterr().err


def test_cli_prompt_for_a_seq2seq_model_is_exit_2(tiny_models, capsys):
    code = main(
        [
            "translate",
            str(SEED_ARTICLE),
            "--model",
            str(tiny_models["marian"]),
            "--prompt",
            "translate",
            "--no-cache",
            "--no-progress",
        ]
    )
    assert code == 2 and "causal language models only" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# The llm summary strategy.
# --------------------------------------------------------------------------------------


def test_llm_summaries_chunk_long_articles_and_carry_the_checks(tiny_models, tmp_path, seed_text):
    from summ.data import Document
    from summ.summary import Summariser, SummaryConfig
    from summ.metrics import evaluate_summaries

    config = SummaryConfig(
        strategy="llm",
        model=str(tiny_models["qwen2"]),
        sentences=2,
        max_tokens=16,
        max_input_tokens=220,
        cache=str(tmp_path / "c.sqlite"),
    )
    with Summariser(config) as summariser:
        summaries = summariser.summarise([seed_text, "جملة قصيرة عن الطقس.", ""])
        engine = summariser.pipeline().engine
        settings = engine.settings()
    assert settings["prompt"]["name"] == "summarise" and settings["prompt"]["values"] == {
        "sentences": 2
    }
    assert "in 2 sentences" in engine.codec.render(["x"])[0]
    long, short, empty = summaries
    assert long.chunked and long.chunks > 1 and not short.chunked and short.chunks == 1
    assert empty.flags == ("empty",) and empty.text == ""
    assert long.lang == short.lang == "en" and long.strategy == "llm"
    assert "wrong-script" in long.flags  # random weights write Arabic letters too
    # Scored like the other strategies.
    docs = [Document("a", seed_text), Document("b", "جملة قصيرة عن الطقس.")]
    refs = [
        Document("a", "", meta={"summary": "Putin met Assad."}),
        Document("b", "", meta={"summary": "Weather."}),
    ]
    scores = evaluate_summaries(docs, summaries[:2], refs)
    assert {s.metric for s in scores} == {"rouge1", "rouge2", "rougeLsum", "chrf"}
    # A second run comes from the cache.
    with Summariser(config) as again:
        assert [s.text for s in again.summarise([seed_text])] == [long.text]


def test_cli_summarise_with_the_llm_strategy(tiny_models, tmp_path, capsys):
    out = tmp_path / "summary.jsonl"
    code = main(
        [
            "summarise",
            str(SEED_ARTICLE),
            "--strategy",
            "llm",
            "--model",
            str(tiny_models["qwen2"]),
            "--prompt",
            "Summarise in {sentences} sentences:\n{source}",
            "--sentences",
            "2",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["strategy"] == "llm" and record["lang"] == "en"
    code = main(["summarise", str(SEED_ARTICLE), "--strategy", "direct", "--prompt", "summarise"])
    assert code == 2 and "prompt applies to strategy 'llm'" in capsys.readouterr().err


def test_llm_strategy_options_are_checked():
    from summ.summary import SummaryConfig

    with pytest.raises(ConfigError, match="prompt applies to strategy 'llm'"):
        SummaryConfig(strategy="direct", prompt="summarise")
    with pytest.raises(ConfigError, match="llm uses one cross-lingual model and no translator"):
        SummaryConfig(strategy="llm", translator="x")
    assert SummaryConfig(strategy="llm").summary_model == "Qwen/Qwen2.5-1.5B-Instruct"
    with pytest.raises(ConfigError, match="is a translate prompt"):
        from summ.summary import Summariser

        Summariser(SummaryConfig(strategy="llm", prompt="translate"))._llm_prompt("m")


def test_prompt_dataclass_rejects_bad_templates():
    with pytest.raises(ConfigError, match="no {source}"):
        Prompt("x", 1, "translate", "chat", "Translate this")
    with pytest.raises(ConfigError, match="format"):
        Prompt("x", 1, "translate", "html", "{source}")
