"""The Hugging Face transformers engine: any seq2seq model ``AutoModelForSeq2SeqLM`` loads.

Loading order for a model id: a local directory; else the local Hugging Face cache (no
network); else the hub, after a 5-second reachability probe, so that an offline machine gets
a one-line error at once instead of minutes of retries.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from summ.engines.families import Codec, CodecEngine, fingerprint, make_codec
from summ.engines.vocab import (
    TargetVocabulary,
    build_target_vocabulary,
    check_tokenizer,
    check_vocabulary,
    scripts_for,
    tokenizer_specials,
)
from summ.errors import ConfigError, ModelNotFoundError
from summ.translate import DecodeConfig, Generation

logger = logging.getLogger(__name__)

_PROBE_TIMEOUT_S = 5.0

# Files from which AutoTokenizer can build a tokenizer (any one suffices).
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "source.spm", "sentencepiece.bpe.model",
                    "sentencepiece.model", "tokenizer.model")


def hub_reachable(timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face hub (or ``HF_ENDPOINT``) accepts a TCP connection."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def not_found(model: str, why: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"cannot load model {model!r}: {why}. On an offline machine, download it elsewhere "
        f"(huggingface-cli download {model} --local-dir DIR) and pass --model DIR"
    )


def load_tokenizer(model: str, src: str, **kwargs):
    """``AutoTokenizer.from_pretrained(src)`` for ``model``, as both engines load it.

    Raises:
        ModelNotFoundError: the source has no tokenizer files (transformers raises a bare
            ``TypeError`` for a hub repository without them).
    """
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(src, **kwargs)
    except TypeError as exc:
        raise ModelNotFoundError(f"cannot load model {model!r}: no tokenizer could be built from it ({exc})") from exc


def require_tokenizer_files(path: Path, model: str) -> None:
    """Fail clearly when a model folder has no tokenizer (AutoTokenizer raises a bare TypeError).

    Raises:
        ModelNotFoundError: none of the files a tokenizer is built from is in ``path``.
    """
    if any((path / name).is_file() for name in _TOKENIZER_FILES):
        return
    if any(path.glob("*.model")) or any(path.glob("*.spm")):
        return
    raise ModelNotFoundError(
        f"cannot load model {model!r}: the folder has no tokenizer files (one of {', '.join(_TOKENIZER_FILES)}); "
        f"save the tokenizer beside the weights (tokenizer.save_pretrained(DIR)) and try again"
    )



def load_pretrained(model: str, revision: str | None, loader):
    """Call ``loader(source, local_files_only=..., revision=...)`` with the loading order above.

    Returns ``(result, revision)``; ``revision`` is the resolved commit hash for hub models
    and a content fingerprint for local folders.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        require_tokenizer_files(path, model)
        return loader(str(path), local_files_only=True, revision=None), fingerprint(path)
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise not_found(model, "no such directory")
    try:
        result = loader(model, local_files_only=True, revision=revision)
    except OSError:
        if not hub_reachable():
            raise not_found(model, "it is not a local directory, not in the Hugging Face cache, and the hub is unreachable") from None
        try:
            result = loader(model, local_files_only=False, revision=revision)
        except OSError as exc:
            raise not_found(model, f"the hub refused it ({str(exc).splitlines()[0]})") from None
    return result, hub_commit(model, revision)


def hub_commit(model: str, revision: str | None) -> str:
    """The commit a hub model was loaded from, read from the local Hugging Face cache.

    transformers 5 no longer records it on the config (``_commit_hash`` is gone); the cache
    keeps each revision's files under ``snapshots/<commit>/``. Falls back to the requested
    revision (or ``"unknown"``) when the cache layout says nothing.
    """
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(model, "config.json", revision=revision)
    if isinstance(path, str):
        match = re.search(r"/snapshots/([0-9a-f]{40})/", Path(path).as_posix())
        if match:
            return match.group(1)
    return revision or "unknown"


def pick_device(device: str = "auto") -> str:
    """``auto`` → cuda, then mps, then cpu; anything else is passed through."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str, family: str):
    """``auto`` → float32 on CPU; bfloat16 (else float16) on GPU.

    T5-family models overflow in float16 (their activations exceed its range), so they get
    bfloat16 where the GPU has it and float32 otherwise.
    """
    import torch

    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype != "auto":
        if dtype not in names:
            raise ConfigError(f"unknown dtype {dtype!r}; choose auto, {', '.join(names)}")
        return names[dtype]
    if device.startswith("cpu"):
        return torch.float32
    bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    if bf16:
        return torch.bfloat16
    if family in {"madlad", "t5", "mt5", "crosssum"}:
        return torch.float32
    return torch.float16


@dataclass
class HFEngine(CodecEngine):
    """A loaded transformers model behind the :class:`summ.translate.Engine` protocol."""

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
    def load(
        cls,
        model: str,
        *,
        decode: DecodeConfig = DecodeConfig(),
        device: str = "auto",
        revision: str | None = None,
        dtype: str = "auto",
        src_lang: str = "ar",
        tgt_lang: str = "en",
        trust_remote_code: bool = False,
        threads: int | None = None,
        vocabulary: str = "full",
    ) -> HFEngine:
        """Load tokenizer and model (by hub id or local path) for ``src_lang`` → ``tgt_lang``.

        Args:
            model: hub id or local directory.
            decode: generation settings applied to every call.
            device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
            revision: hub branch, tag or commit.
            dtype: ``auto``, ``float32``, ``float16``, ``bfloat16``.
            src_lang: ISO 639-1 code of the source (mapped per family).
            tgt_lang: ISO 639-1 code of the output.
            trust_remote_code: never needed by the supported families; off unless asked.
            threads: torch intra-op threads (default: torch's choice).
            vocabulary: ``full`` (default), or ``target-script``: only tokens written in
                ``tgt_lang``'s scripts may be emitted (:mod:`summ.engines.vocab`), scored as
                CTranslate2's restricted output layer scores them, so that float32 greedy
                outputs equal the CTranslate2 engine's with the same option.

        Raises:
            ConfigError: an unknown ``vocabulary``, or a target language or tokenizer the
                target-script rule has no reading for.
        """
        import torch
        from transformers import AutoModelForSeq2SeqLM, GenerationConfig

        if check_vocabulary(vocabulary) == "target-script":
            scripts_for(tgt_lang)  # fails before the model loads
        if threads:
            torch.set_num_threads(threads)
        common = {"trust_remote_code": trust_remote_code}
        tokenizer, resolved = load_pretrained(model, revision, lambda src, **kw: load_tokenizer(model, src, **kw, **common))
        device = pick_device(device)
        net, _ = load_pretrained(
            model, revision, lambda src, **kw: AutoModelForSeq2SeqLM.from_pretrained(src, **kw, **common)
        )
        config = net.config
        # transformers builds a generation_config for every seq2seq model it loads (from
        # generation_config.json, else from the model config).
        gen = net.generation_config if net.generation_config is not None else GenerationConfig.from_model_config(config)
        codec = make_codec(config, tokenizer, gen, src_lang=src_lang, tgt_lang=tgt_lang)
        torch_dtype = pick_dtype(dtype, device, codec.family)
        net = net.to(device=device, dtype=torch_dtype).eval()
        logger.info("loaded %s (%s, revision %s) on %s as %s", model, codec.family, resolved, device, torch_dtype)
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
        d = self.decode
        gen = self.generation_config
        beams = d.beam_size if d.beam_size is not None else (gen.num_beams or 1)
        kwargs = {
            "num_beams": beams,
            "do_sample": False,
            "num_return_sequences": 1,
            # The pipeline sets the length; the model's max_length (NLLB: 200) must not apply.
            "max_length": None,
            "max_new_tokens": max_new_tokens,
            "min_new_tokens": d.min_new_tokens or None,
            # A model's own floor (distilbart-cnn: 56) cannot exceed the cap asked for; without
            # this, transformers warns and the cap wins anyway.
            "min_length": min(gen.min_length or 0, max_new_tokens),
            # Marian configs force </s> at the last position, hiding that an output was cut;
            # off, so a capped output is reported as capped (and CTranslate2 behaves the same).
            "forced_eos_token_id": None,
            "repetition_penalty": d.repetition_penalty if d.repetition_penalty is not None else gen.repetition_penalty,
            "no_repeat_ngram_size": d.no_repeat_ngram_size if d.no_repeat_ngram_size is not None else gen.no_repeat_ngram_size,
            "bad_words_ids": gen.bad_words_ids,
            "decoder_start_token_id": self.codec.decoder_start_token_id,
        }
        if beams > 1:
            # Neither set (e.g. mT5 XL-Sum's generation_config): transformers' own default, 1.0.
            # An explicit None would override that default and crash beam search.
            kwargs["length_penalty"] = next((x for x in (d.length_penalty, gen.length_penalty) if x is not None), 1.0)
            kwargs["early_stopping"] = d.early_stopping if d.early_stopping is not None else gen.early_stopping
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
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=self.device)
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=self.device)
        kwargs = self._generate_kwargs(max_new_tokens + len(self.codec.target_prefix))
        if self._restrict is not None:
            kwargs["logits_processor"] = self._restrict
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        results = []
        for row in out.tolist():
            ids, ended = self.codec.strip_output(row)
            results.append(Generation(self.codec.decode(ids), len(ids), hit_cap=not ended))
        return results


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
