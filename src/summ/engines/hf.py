"""The Hugging Face transformers engine: any seq2seq model ``AutoModelForSeq2SeqLM`` loads,
and decoder-only chat models through ``AutoModelForCausalLM`` (:class:`HFCausalEngine`),
found through :mod:`summ.engines.hub` exactly as the CTranslate2 engine finds them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from summ.engines.base import DecodeConfig, Generation, resolved_decode
from summ.engines.causal import CausalCodec, CausalEngineMixin, is_causal, make_causal_codec
from summ.engines.families import Codec, CodecEngine, make_codec
from summ.engines.hub import load_generation_config, load_pretrained, load_tokenizer
from summ.engines.vocab import (
    TargetVocabulary,
    build_target_vocabulary,
    check_tokenizer,
    check_vocabulary,
    scripts_for,
    tokenizer_specials,
)
from summ.errors import ConfigError

logger = logging.getLogger(__name__)


def pick_device(device: str = "auto") -> str:
    """``auto`` → cuda, then mps, then cpu; an explicit device must exist on this machine.

    Raises:
        ConfigError: ``cuda``/``mps`` asked for where torch sees none.
    """
    import torch

    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    kind, _, index = device.partition(":")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device} requested but torch sees no CUDA GPU; use "
                          "--device cpu")
    if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
        raise ConfigError(f"device {device} requested but torch sees {torch.cuda.device_count()} "
                          f"GPU(s)")
    if kind == "mps" and not mps:
        raise ConfigError(f"device {device} requested but MPS is not available; use --device cpu")
    if kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit()):
        raise ConfigError(f"unknown device {device!r}; choose auto, cpu, cuda, cuda:N or mps")
    return device


def pick_dtype(dtype: str, device: str, family: str):
    """``auto`` → float32 on CPU; bfloat16 (else float16) on GPU.

    T5-family and Gemma models overflow in float16 (their activations exceed its range), so
    they get bfloat16 where the GPU has it and float32 otherwise.
    """
    import torch

    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype != "auto":
        if dtype not in names:
            raise ConfigError(f"unknown dtype {dtype!r}; choose auto, {', '.join(names)}")
        return names[dtype]
    if device.startswith("cpu"):
        return torch.float32
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if family in {"madlad", "t5", "mt5", "crosssum", "gemma", "gemma2", "gemma3", "gemma3_text"}:
        return torch.float32
    return torch.float16


@dataclass
class HFEngine(CodecEngine):
    """A loaded transformers model behind the :class:`summ.engines.base.Engine` protocol."""

    model_id: str
    revision: str
    model: object
    codec: Codec
    generation_config: object
    device: str
    dtype: str
    decode: DecodeConfig
    # The tokens a target-script engine may emit (None: the full vocabulary).
    target_vocabulary: TargetVocabulary | None = None
    _restrict: object = None  # the LogitsProcessorList that enforces it

    @property
    def name(self) -> str:
        return f"hf:{self.dtype}"

    @classmethod
    def load(cls, model: str, *, decode: DecodeConfig = DecodeConfig(), device: str = "auto",
             revision: str | None = None, dtype: str = "auto", src_lang: str = "ar",
             tgt_lang: str = "en", trust_remote_code: bool = False, threads: int | None = None,
             vocabulary: str = "full", prompt=None, prompt_format: str | None = None,
             task: str = "translate") -> HFEngine | HFCausalEngine:
        """Load tokenizer and model (by hub id or local path) for ``src_lang`` → ``tgt_lang``.

        Args:
            device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
            dtype: ``auto``, ``float32``, ``float16``, ``bfloat16``.
            src_lang: ISO 639-1 code of the source (mapped per family).
            tgt_lang: ISO 639-1 code of the output.
            trust_remote_code: never needed by the supported families; off unless asked.
            threads: torch intra-op threads (default: torch's choice).
            vocabulary: ``full`` (default), or ``target-script``: only tokens written in
                ``tgt_lang``'s scripts may be emitted (:mod:`summ.engines.vocab`), scored as
                CTranslate2's restricted output layer scores them, so that float32 greedy
                outputs equal the CTranslate2 engine's with the same option.
            prompt: causal LMs only: a prompt name of :mod:`summ.prompts`, a template text
                with ``{source}``, or a :class:`summ.prompts.Prompt` (default: the model's).
            prompt_format: causal LMs only: ``chat`` or ``plain`` for a custom template text.
            task: causal LMs only: ``translate`` or ``summarise`` (the default prompt).

        Returns:
            An :class:`HFEngine`, or an :class:`HFCausalEngine` for a decoder-only model.

        Raises:
            ConfigError: a prompt option for a seq2seq model, target-script for a causal LM,
                a bad device or dtype, an unknown ``vocabulary``, or a target language or
                tokenizer the target-script rule has no reading for.
        """
        import torch
        from transformers import AutoConfig, AutoModelForSeq2SeqLM, GenerationConfig

        if check_vocabulary(vocabulary) == "target-script":
            scripts_for(tgt_lang)  # fails before the model loads
        if threads:
            torch.set_num_threads(threads)
        common = {"trust_remote_code": trust_remote_code}
        device = pick_device(device)
        tokenizer, resolved = load_tokenizer(model, revision, **common)
        config, _ = load_pretrained(
            model, revision, lambda src, **kw: AutoConfig.from_pretrained(src, **kw, **common))
        if is_causal(config):
            if vocabulary != "full":
                raise ConfigError("vocabulary='target-script' applies to seq2seq models, not to "
                                  "causal LMs")
            return HFCausalEngine.load_causal(
                model, tokenizer, config, resolved, decode=decode, device=device,
                revision=revision, dtype=dtype, src_lang=src_lang, tgt_lang=tgt_lang,
                common=common, prompt=prompt, prompt_format=prompt_format, task=task)
        if prompt is not None or prompt_format is not None or task != "translate":
            raise ConfigError(f"{model!r} is a seq2seq model ({config.model_type}): prompt, "
                              "prompt_format and task apply to causal language models only")
        net, _ = load_pretrained(
            model, revision,
            lambda src, **kw: AutoModelForSeq2SeqLM.from_pretrained(src, **kw, **common))
        config = net.config
        # transformers builds a generation_config for every seq2seq model it loads (from
        # generation_config.json, else from the model config).
        gen = net.generation_config
        if gen is None:
            gen = GenerationConfig.from_model_config(config)
        codec = make_codec(config, tokenizer, gen, src_lang=src_lang, tgt_lang=tgt_lang)
        torch_dtype = pick_dtype(dtype, device, codec.family)
        net = net.to(device=device, dtype=torch_dtype).eval()
        logger.info("loaded %s (%s, revision %s) on %s as %s", model, codec.family, resolved,
                    device, torch_dtype)
        dtype_name = str(torch_dtype).removeprefix("torch.")
        engine = cls(model, resolved, net, codec, gen, device, dtype_name, decode)
        if vocabulary == "target-script":
            check_tokenizer(tokenizer, model)
            size = net.get_output_embeddings().weight.shape[0]
            tokens = tokenizer.convert_ids_to_tokens(list(range(size)))
            engine.target_vocabulary = build_target_vocabulary(tokens, tgt_lang,
                                                               tokenizer_specials(tokenizer))
            engine._restrict = keep_only(engine.target_vocabulary.ids)
        return engine

    def settings(self) -> dict:
        import transformers

        return {
            **self.codec.settings(),
            **self._generate_kwargs(0),
            "model_min_length": self.generation_config.min_length,
            "device": self.device.split(":")[0],
            "transformers": transformers.__version__,
            # Which tokens may be emitted (setting, rule version, kept set): part of the cache key.
            **(self.target_vocabulary.settings() if self.target_vocabulary
               else {"vocabulary": "full"}),
        }

    def _generate_kwargs(self, max_new_tokens: int) -> dict:
        d = resolved_decode(self.decode, self.generation_config)
        kwargs = {
            "num_beams": d["beam_size"],
            "do_sample": False,
            "num_return_sequences": 1,
            # The pipeline sets the length; the model's max_length (NLLB: 200) must not apply.
            "max_length": None,
            "max_new_tokens": max_new_tokens,
            "min_new_tokens": d["min_new_tokens"] or None,
            # A model's own floor (distilbart-cnn: 56) cannot exceed the cap asked for; without
            # this, transformers warns and the cap wins anyway.
            "min_length": min(d["model_min_length"], max_new_tokens),
            # Marian configs force </s> at the last position, hiding that an output was cut;
            # off, so a capped output is reported as capped (and CTranslate2 behaves the same).
            "forced_eos_token_id": None,
            "repetition_penalty": d["repetition_penalty"],
            "no_repeat_ngram_size": d["no_repeat_ngram_size"],
            "bad_words_ids": self.generation_config.bad_words_ids,
            "decoder_start_token_id": self.codec.decoder_start_token_id,
        }
        if d["beam_size"] > 1:
            kwargs["length_penalty"] = d["length_penalty"]
            kwargs["early_stopping"] = d["early_stopping"]
        if self.codec.target_prefix:
            kwargs["forced_bos_token_id"] = self.codec.target_prefix[0]
        return kwargs

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
        import torch

        if not batch:
            return []
        width = max(len(ids) for ids in batch)
        pad = self.codec.pad_token_id
        # Right padding with an attention mask: what the tokenizer itself does for seq2seq.
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch],
                                 device=self.device)
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch],
                            device=self.device)
        kwargs = self._generate_kwargs(max_new_tokens + len(self.codec.target_prefix))
        if self._restrict is not None:
            kwargs["logits_processor"] = self._restrict
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        return [Generation(self.codec.decode(ids), len(ids), hit_cap=not ended)
                for ids, ended in map(self.codec.strip_output, out.tolist())]


def keep_only(ids) -> object:
    """A ``LogitsProcessorList`` that lets only ``ids`` be generated, scored as CTranslate2 does.

    Every other token gets ``-inf``, and the scores are renormalised over the kept ones
    (``log_softmax``): what CTranslate2's restricted output layer computes. In greedy search
    the renormalisation changes nothing (the argmax is the same); in beam search it makes HF
    rank hypotheses by the same scores as CTranslate2. transformers applies custom processors
    after its own (forced tokens, minimum length, bad words), so they still hold.
    """
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    kept = torch.tensor(sorted(ids), dtype=torch.long)

    class KeepTokens(LogitsProcessor):
        def __init__(self) -> None:
            self._masks: dict[tuple, torch.Tensor] = {}

        def __call__(self, input_ids, scores):
            key = (scores.shape[-1], scores.device, scores.dtype)
            mask = self._masks.get(key)
            if mask is None:
                mask = torch.full((scores.shape[-1],), float("-inf"), device=scores.device,
                                  dtype=scores.dtype)
                mask[kept[kept < scores.shape[-1]].to(scores.device)] = 0
                self._masks[key] = mask
            return torch.log_softmax(scores + mask, dim=-1)

    return LogitsProcessorList([KeepTokens()])


@dataclass
class HFCausalEngine(CausalEngineMixin):
    """A decoder-only chat model (Qwen2/2.5/3, Gemma 2/3, ...) behind the Engine protocol.

    Sources are prompted and stopped by its :class:`summ.engines.causal.CausalCodec`; batches
    are left-padded with an attention mask (what decoder-only generation needs: every row's
    answer starts right after its own prompt). Decoding is greedy or beam search per
    :class:`DecodeConfig`, never sampling, whatever the model's generation_config asks for
    (instruct models ship ``do_sample=True``).
    """

    model_id: str
    revision: str
    model: object
    codec: CausalCodec
    generation_config: object
    device: str
    dtype: str
    decode: DecodeConfig

    @property
    def name(self) -> str:
        return f"hf:{self.dtype}"

    @classmethod
    def load_causal(cls, model: str, tokenizer, config, resolved: str, *, decode: DecodeConfig,
                    device: str, revision: str | None, dtype: str, src_lang: str, tgt_lang: str,
                    common: dict, prompt=None, prompt_format: str | None = None,
                    task: str = "translate") -> HFCausalEngine:
        """Load the weights of a causal LM (its tokenizer and config read by HFEngine.load)."""
        from transformers import AutoModelForCausalLM

        gen = load_generation_config(model, resolved, config)
        codec = make_causal_codec(config, tokenizer, gen, model=model, prompt=prompt,
                                  prompt_format=prompt_format, src_lang=src_lang,
                                  tgt_lang=tgt_lang, task=task)
        torch_dtype = pick_dtype(dtype, device, codec.family)
        # Loaded in its final dtype: a 9B model must not pass through float32 on the way.
        net, _ = load_pretrained(model, revision, lambda src, **kw: (
            AutoModelForCausalLM.from_pretrained(src, dtype=torch_dtype, **kw, **common)))
        net = net.to(device=device).eval()
        logger.info("loaded %s (%s, causal, revision %s) on %s as %s", model, codec.family,
                    resolved, device, torch_dtype)
        name = str(torch_dtype).removeprefix("torch.")
        return cls(model, resolved, net, codec, gen, device, name, decode)

    def settings(self) -> dict:
        import transformers

        kwargs = self._generate_kwargs(0)
        return {
            **self.codec.settings(),
            **{k: v for k, v in kwargs.items() if k not in ("eos_token_id", "pad_token_id")},
            "device": self.device.split(":")[0],
            "transformers": transformers.__version__,
        }

    def _generate_kwargs(self, max_new_tokens: int) -> dict:
        d = resolved_decode(self.decode, self.generation_config)
        kwargs = {
            "num_beams": d["beam_size"],
            # Greedy or beam search, never sampling: instruct models' generation_config asks for
            # do_sample with a temperature, which would make every run give other outputs.
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "num_return_sequences": 1,
            "max_length": None,
            "max_new_tokens": max_new_tokens,
            "repetition_penalty": d["repetition_penalty"],
            "no_repeat_ngram_size": d["no_repeat_ngram_size"],
            "eos_token_id": list(self.codec.stop_ids),
            "pad_token_id": self.codec.pad_token_id,
        }
        # A floor above the cap stops at the cap (as CTranslate2 does) instead of a warning.
        floor = min(d["min_new_tokens"], max_new_tokens)
        if floor:
            kwargs["min_new_tokens"] = floor
        else:
            # A decoder-only model's min_length counts its prompt: meaningless here.
            kwargs["min_length"] = 0
        if d["beam_size"] > 1:
            kwargs["length_penalty"] = d["length_penalty"]
            kwargs["early_stopping"] = d["early_stopping"]
        return kwargs

    def generate_ids(self, batch: list[list[int]],
                     max_new_tokens: int) -> list[tuple[list[int], bool]]:
        """The answer ids of each prompt (stop token and padding removed) and whether it ended."""
        import torch

        if not batch:
            return []
        width = max(len(ids) for ids in batch)
        pad = self.codec.pad_token_id
        # Left padding: each answer continues its own prompt; the mask hides the padding
        # (and generate derives each row's positions from it).
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch],
                                 device=self.device)
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch],
                            device=self.device)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=mask,
                                      **self._generate_kwargs(max_new_tokens))
        return [self.codec.strip_output(row) for row in out[:, width:].tolist()]
