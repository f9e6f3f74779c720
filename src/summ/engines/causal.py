"""Causal (decoder-only) language models as translators and summarisers, for both engines.

What an instruction-tuned LLM needs around it, shared by the HF and CTranslate2 engines (so
both feed the model identical token ids):

* **Prompt.** Each source is put into a :mod:`summ.prompts` template and, for ``chat`` ones,
  into the model's chat template (``apply_chat_template`` with the generation prompt).
  Qwen3's thinking mode is off (``enable_thinking=False``): a translation must not start
  with a reasoning block.
* **End of an answer.** Generation stops at the first EOS id or end-of-turn token
  (:data:`END_OF_TURN`) the vocabulary has; an output without one ran to its cap. The
  engines return only what was generated after the prompt, before its stop token.
* **Context.** Prompt, source and output share the model's window (``max_position_embeddings``,
  lowered to the tokenizer's ``model_max_length`` when smaller). The pipeline's input limit
  is the longest encoded prompt ``n`` with ``n + output_cap(n - prompt_tokens) <=
  context_tokens`` (:func:`summ.translate.input_limit`); longer sources are split.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from summ.engines.families import CodecEngine
from summ.errors import ConfigError
from summ.prompts import Prompt, resolve_prompt

logger = logging.getLogger(__name__)

#: Tokens that end an assistant turn in the chat formats summ supports (ChatML for Qwen,
#: Gemma's turns, Llama 3's); each one the vocabulary has is a stop token besides EOS.
END_OF_TURN: tuple[str, ...] = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|endoftext|>")

#: Extra variables given to every chat template. Qwen3 reasons in a ``<think>`` block unless
#: told not to; other templates ignore the variable.
TEMPLATE_KWARGS: dict[str, object] = {"enable_thinking": False}

# Context where neither the config nor the tokenizer gives one.
_FALLBACK_CONTEXT = 2048


def is_causal(config) -> bool:
    """Whether a model config is a decoder-only language model ``AutoModelForCausalLM`` loads."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    # BART and friends are in the causal-LM table too (their decoders alone); encoder-decoder
    # checkpoints are seq2seq models.
    if getattr(config, "is_encoder_decoder", False):
        return False
    return getattr(config, "model_type", "") in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


def _sane(n) -> int | None:
    # Tokenizers without a limit report 1e30.
    return int(n) if isinstance(n, int | float) and 0 < n < 10_000_000 else None


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]


@dataclass(frozen=True)
class CausalCodec:
    """Prompting, stopping and decoding of one causal LM around its Hugging Face tokenizer.

    Attributes:
        family: the config's ``model_type`` (``qwen2``, ``qwen3``, ``gemma2``, ``gemma3_text``...).
        prompt: the template every source is put into.
        src_lang: ISO 639-1 code of the sources (named in the prompt).
        tgt_lang: ISO 639-1 code of the outputs.
        stop_ids: ids that end an answer (EOS and end-of-turn tokens).
        pad_token_id: the id batches are (left-)padded with; never attended to.
        context_tokens: positions shared by prompt, source and output.
        prompt_tokens: tokens the template adds around a source (measured on a one-word
            source); the output cap is computed from the rest.
    """

    tokenizer: object
    family: str
    prompt: Prompt
    src_lang: str
    tgt_lang: str
    stop_ids: tuple[int, ...]
    pad_token_id: int
    context_tokens: int
    prompt_tokens: int = 0

    # Seq2seq codecs have these; the engines read them from either kind.
    target_prefix: tuple[int, ...] = ()

    @property
    def max_input_tokens(self) -> int:
        # At least one position must stay free for the answer.
        return self.context_tokens - 1

    @property
    def max_output_tokens(self) -> int:
        return self.context_tokens - self.prompt_tokens

    def render(self, texts: list[str]) -> list[str]:
        """The exact text each source becomes before tokenisation (chat template applied)."""
        filled = [self.prompt.fill(t, self.src_lang, self.tgt_lang) for t in texts]
        if self.prompt.format == "plain":
            return filled
        conversations = [[{"role": "user", "content": f}] for f in filled]
        return list(self.tokenizer.apply_chat_template(
            conversations, tokenize=False, add_generation_prompt=True, **TEMPLATE_KWARGS))

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        rendered = self.render(texts)
        # A chat template writes its own special tokens (Gemma's <bos>); a plain prompt gets
        # the tokenizer's. truncation=False: the pipeline splits what is too long, never cuts.
        special = self.prompt.format == "plain"
        out = self.tokenizer(rendered, add_special_tokens=special, truncation=False)
        return [list(ids) for ids in out["input_ids"]]

    def strip_output(self, ids: list[int]) -> tuple[list[int], bool]:
        """The answer's ids (generated ids only, prompt removed by the engine) and whether it
        ended with a stop token; the rest after the first stop token is padding."""
        ids = list(ids)
        for i, token in enumerate(ids):
            if token in self.stop_ids:
                return ids[:i], True
        return ids, False

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False).strip()

    def markers(self) -> tuple[str, ...]:
        """Prompt lines an echoing model repeats (for the ``prompt-echo`` check)."""
        return self.prompt.fixed_lines(self.src_lang, self.tgt_lang)

    def with_prompt(self, prompt: Prompt) -> CausalCodec:
        """The same model with another template (document-level translation)."""
        codec = replace(self, prompt=prompt, prompt_tokens=0)
        return replace(codec, prompt_tokens=codec.measure_overhead())

    def measure_overhead(self) -> int:
        word = "كلمة"
        own = len(self.tokenizer(word, add_special_tokens=False)["input_ids"])
        return max(len(self.encode([word])[0]) - own, 0)

    def settings(self) -> dict:
        chat = self.prompt.format == "chat"
        template = getattr(self.tokenizer, "chat_template", None) if chat else None
        return {
            "family": self.family,
            "kind": "causal",
            "prompt": self.prompt.as_dict(),
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            # The template is in the model's files (covered by its revision) unless a user
            # replaced it; its digest keys the cache either way.
            "chat_template": (hashlib.sha256(template.encode()).hexdigest()[:16]
                              if isinstance(template, str) else None),
            "template_kwargs": dict(TEMPLATE_KWARGS) if template else {},
            "stop_ids": list(self.stop_ids),
            "context_tokens": self.context_tokens,
        }


def stop_ids(config, tokenizer, generation_config) -> tuple[int, ...]:
    """EOS ids of the generation config, the config and the tokenizer, and every
    :data:`END_OF_TURN` token in the vocabulary: the first of them ends an answer."""
    found: list[int] = []
    for source in (generation_config, config, tokenizer):
        found += _ids(getattr(source, "eos_token_id", None))
    vocab = tokenizer.get_vocab()
    found += [vocab[t] for t in END_OF_TURN if t in vocab]
    return tuple(dict.fromkeys(found))


def make_causal_codec(config, tokenizer, generation_config, *, model: str, prompt=None,
                      prompt_format: str | None = None, src_lang: str = "ar",
                      tgt_lang: str = "en", task: str = "translate") -> CausalCodec:
    """Build the :class:`CausalCodec` of a loaded causal LM.

    Args:
        generation_config: the model's generation config (EOS ids).
        model: the model id or path (some models have their own default prompt).
        prompt: ``None`` (the default for ``task``), a name in :data:`summ.prompts.PROMPTS`,
            a template text with ``{source}``, or a :class:`summ.prompts.Prompt`.
        prompt_format: ``chat`` or ``plain`` for a custom template text.
        task: ``translate`` or ``summarise`` (which default template).

    Raises:
        ConfigError: a chat prompt for a tokenizer without a chat template, no stop token,
            no padding id, or a bad prompt.
    """
    chosen = resolve_prompt(prompt, task, model, prompt_format)
    if chosen.format == "chat" and not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"{model!r} has no chat template, so the chat prompt {chosen.name!r} "
                          'cannot be used; give a plain prompt (prompt = "gemmax2", or a text '
                          'with prompt_format = "plain")')
    stops = stop_ids(config, tokenizer, generation_config)
    if not stops:
        raise ConfigError(f"{model!r} names no EOS or end-of-turn token: its answers would "
                          "never end")
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = getattr(generation_config, "pad_token_id", None)
    if pad is None:
        # Padding is masked out (left padding with an attention mask), so any id serves.
        pad = stops[0]
    text_config = getattr(config, "text_config", config)
    positions = _sane(getattr(text_config, "max_position_embeddings", None))
    limits = [x for x in (positions, _sane(getattr(tokenizer, "model_max_length", None))) if x]
    context = min(limits) if limits else _FALLBACK_CONTEXT
    codec = CausalCodec(
        tokenizer=tokenizer,
        family=getattr(config, "model_type", "causal"),
        prompt=chosen,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        stop_ids=stops,
        pad_token_id=int(_ids(pad)[0]),
        context_tokens=context,
    )
    codec = replace(codec, prompt_tokens=codec.measure_overhead())
    logger.info("%s: causal LM (%s), prompt %s v%s, context %d tokens (%d used by the prompt)",
                model, codec.family, chosen.name, chosen.version, context, codec.prompt_tokens)
    return codec


class CausalEngineMixin(CodecEngine):
    """What both engines' causal classes share: limits, encoding and the prompt views.

    Subclasses are dataclasses with a ``codec`` field (a :class:`CausalCodec`).
    """

    codec: CausalCodec  # type: ignore[assignment]

    @property
    def context_tokens(self) -> int:
        return self.codec.context_tokens

    @property
    def prompt_tokens(self) -> int:
        return self.codec.prompt_tokens

    @property
    def prompt_markers(self) -> tuple[str, ...]:
        return self.codec.markers()

    @property
    def own_max_new_tokens(self) -> int | None:
        # Chat models answer up to their context; the caller sets a summary's length.
        gen = self.generation_config  # type: ignore[attr-defined]
        return getattr(gen, "max_new_tokens", None)

    def with_prompt(self, prompt: str | Prompt, task: str = "document"):
        """A view of this engine (same loaded model) that puts sources into ``prompt``."""
        chosen = resolve_prompt(prompt, task, self.model_id)  # type: ignore[attr-defined]
        return replace(self, codec=self.codec.with_prompt(chosen))  # type: ignore[type-var]
