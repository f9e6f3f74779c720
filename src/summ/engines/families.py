"""What differs between model families, in one table both engines read.

A family decides how a source is encoded (language tokens, ``<2en>`` prefixes), which tokens
the output must start with, and how long inputs and outputs may be. The engines use the
Hugging Face tokenizer for all of it, so that the HF and CTranslate2 engines see identical
token ids (the basis of the equivalence test).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from summ.engines.base import Generation
from summ.errors import ConfigError

logger = logging.getLogger(__name__)

# How each family names Arabic and English. M2M100 uses ISO 639-1 (``__ar__`` tokens), NLLB
# FLORES-200 codes, MADLAD a ``<2xx>`` prefix on the source text.
LANG_CODES: dict[str, dict[str, str]] = {
    "m2m100": {"ar": "ar", "en": "en", "fr": "fr"},
    "nllb": {"ar": "arb_Arab", "en": "eng_Latn", "fr": "fra_Latn"},
    "madlad": {"ar": "<2ar>", "en": "<2en>", "fr": "<2fr>"},
    # CrossSum (mT5) picks the output language by the decoder's first token.
    "crosssum": {"ar": "arabic", "en": "english", "fr": "french"},
}

# Input limit where neither the config nor the tokenizer gives one (T5 has relative positions
# and no hard limit, but was trained on 512-token inputs).
_FALLBACK_LIMIT = 512


@dataclass(frozen=True)
class Codec:
    """Family-specific encoding and decoding around a Hugging Face tokenizer.

    Attributes:
        family: ``marian``, ``m2m100``, ``nllb``, ``madlad`` (T5), ``mt5``, ``crosssum``,
            ``bart``, ``pegasus`` or ``seq2seq`` (anything else ``AutoModelForSeq2SeqLM`` loads).
        source_prefix: text put before every source (``"<2en> "`` for MADLAD).
        target_prefix: token ids every output starts with after the decoder start (NLLB and
            M2M100 language tokens); they are forced, then removed from the output.
        decoder_start_token_id: the first decoder input.
        max_input_tokens: source positions, special tokens included.
        max_output_tokens: output positions available for content tokens.
        tgt_lang: the output language (for the pipeline's script check; not in
            :meth:`settings`, which the target prefix already determines).
    """

    tokenizer: object
    family: str
    source_prefix: str
    target_prefix: tuple[int, ...]
    decoder_start_token_id: int
    eos_token_id: int
    pad_token_id: int
    max_input_tokens: int
    max_output_tokens: int
    tgt_lang: str | None = None

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        # truncation=False: a model limit must never cut a source; the pipeline splits instead.
        out = self.tokenizer([self.source_prefix + t for t in texts], truncation=False,
                             add_special_tokens=True)
        return [list(ids) for ids in out["input_ids"]]

    def strip_output(self, ids: list[int]) -> tuple[list[int], bool]:
        """Content ids of one generated sequence and whether it ended with EOS.

        Drops the decoder start and forced target prefix, and cuts at the first EOS (the rest
        is padding from batching).
        """
        ids = list(ids)
        if ids and ids[0] == self.decoder_start_token_id:
            ids = ids[1:]
        n = len(self.target_prefix)
        if n and tuple(ids[:n]) == self.target_prefix:
            ids = ids[n:]
        if self.eos_token_id in ids:
            return ids[: ids.index(self.eos_token_id)], True
        # No EOS: the output ran to its cap (a finished row would hold EOS, then padding).
        return ids, False

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False).strip()

    def settings(self) -> dict:
        return {
            "family": self.family,
            "source_prefix": self.source_prefix,
            "target_prefix": list(self.target_prefix),
            "decoder_start": self.decoder_start_token_id,
        }


def detect_family(config, tokenizer) -> str:
    """The family of a loaded model from its config and tokenizer class."""
    model_type = getattr(config, "model_type", "")
    tok = type(tokenizer).__name__
    if model_type == "marian":
        return "marian"
    if model_type == "m2m_100":
        return "nllb" if tok.startswith("Nllb") else "m2m100"
    if model_type == "t5":
        return "madlad" if "<2en>" in tokenizer.get_vocab() else "t5"
    if model_type == "mt5":
        params = getattr(config, "task_specific_params", None) or {}
        return "crosssum" if "langid_map" in params else "mt5"
    if model_type in {"bart", "pegasus"}:
        return model_type
    return "seq2seq"


def _sane(n) -> int | None:
    # Tokenizers without a limit report 1e30.
    return int(n) if isinstance(n, int | float) and 0 < n < 1_000_000 else None


def make_codec(config, tokenizer, generation_config, *, src_lang: str = "ar",
               tgt_lang: str = "en") -> Codec:
    """Build the :class:`Codec` of a loaded model for ``src_lang`` → ``tgt_lang``.

    Raises:
        ConfigError: a language the model's family has no code for, or a code missing from
            the model's vocabulary.
    """
    family = detect_family(config, tokenizer)
    vocab = tokenizer.get_vocab()

    def code(lang: str, fam: str) -> str:
        try:
            return LANG_CODES[fam][lang]
        except KeyError:
            raise ConfigError(f"no {fam} language code for {lang!r}; known: "
                              f"{', '.join(LANG_CODES[fam])}") from None

    prefix_text = ""
    target_prefix: tuple[int, ...] = ()
    start = generation_config.decoder_start_token_id
    if start is None:
        start = config.decoder_start_token_id
    if family == "m2m100":
        tokenizer.src_lang = code(src_lang, family)
        target_prefix = (tokenizer.get_lang_id(code(tgt_lang, family)),)
    elif family == "nllb":
        tokenizer.src_lang = code(src_lang, family)
        target = code(tgt_lang, family)
        if target not in vocab:
            raise ConfigError(f"language token {target} is not in the tokenizer's vocabulary")
        target_prefix = (tokenizer.convert_tokens_to_ids(target),)
    elif family == "madlad":
        prefix_text = code(tgt_lang, family) + " "
    elif family == "crosssum":
        langid_map = config.task_specific_params["langid_map"]
        name = code(tgt_lang, family)
        # As in the CrossSum model card: the decoder starts with the target language's token.
        start = tokenizer.convert_tokens_to_ids(langid_map[name][1])
    elif family == "bart" and getattr(generation_config, "forced_bos_token_id", None) is not None:
        target_prefix = (generation_config.forced_bos_token_id,)

    positions = _sane(getattr(config, "max_position_embeddings", None))
    limits = [x for x in (positions, _sane(tokenizer.model_max_length)) if x]
    limit_in = min(limits) if limits else _FALLBACK_LIMIT
    limit_out = (positions or _FALLBACK_LIMIT) - 1 - len(target_prefix)  # -1: the decoder start
    return Codec(
        tokenizer=tokenizer,
        family=family,
        source_prefix=prefix_text,
        target_prefix=target_prefix,
        decoder_start_token_id=int(start),
        eos_token_id=int(generation_config.eos_token_id
                         if generation_config.eos_token_id is not None else config.eos_token_id),
        pad_token_id=int(config.pad_token_id),
        max_input_tokens=limit_in,
        max_output_tokens=limit_out,
        tgt_lang=tgt_lang,
    )


class CodecEngine:
    """What every engine takes straight from its :class:`Codec`: limits, encoding, decoding.

    Subclasses (dataclasses with a ``codec`` field) add ``name``, ``settings()`` and
    ``generate_ids()`` (or their own ``generate()``) to satisfy
    :class:`summ.engines.base.Engine`.
    """

    codec: Codec

    @property
    def max_input_tokens(self) -> int:
        return self.codec.max_input_tokens

    @property
    def max_output_tokens(self) -> int:
        return self.codec.max_output_tokens

    @property
    def tgt_lang(self) -> str | None:
        """The output language, for the pipeline's wrong-script check."""
        return self.codec.tgt_lang

    @property
    def family(self) -> str:
        return self.codec.family

    @property
    def own_max_new_tokens(self) -> int | None:
        """The output length the model ships with: its generation_config's ``max_length`` less
        the decoder start and any forced first token (BART's ``<s>``), which it counts."""
        gen = self.generation_config  # type: ignore[attr-defined]
        max_length = getattr(gen, "max_length", None)
        if not max_length:
            return None
        return max(int(max_length) - 1 - len(self.codec.target_prefix), 1)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.codec.encode(texts)

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
        """One :class:`Generation` per encoded source, in order, from ``generate_ids``;
        ``hit_cap`` when an output did not end with its stop token."""
        outputs = self.generate_ids(batch, max_new_tokens)  # type: ignore[attr-defined]
        return [Generation(self.codec.decode(ids), len(ids), hit_cap=not ended)
                for ids, ended in outputs]
