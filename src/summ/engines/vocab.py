"""Target-script vocabularies: decode an English output over the tokens English is written with.

A translation model scores its whole vocabulary at every decoding step, and most of a joint or
multilingual vocabulary can never occur in an English output: opus-mt-ar-en's 62,834 words hold
its Arabic pieces, NLLB's 256,206 the pieces of 200 languages. ``vocabulary="target-script"``
restricts the output layer to the tokens written in the target language's scripts. The set
comes from the tokenizer alone (no parallel data, no alignments), by the rule below:

1. the tokenizer's special tokens (``</s>``, ``<unk>``, ``<pad>``, language codes) are kept;
2. ids the tokenizer has no token for (fairseq's made-up filler words) are kept, as
   CTranslate2 names them ``madeupwordN``, which rule 4 keeps: both engines stay identical;
3. a byte-fallback piece ``<0xNN>`` (SentencePiece, e.g. MADLAD) is kept when byte ``NN``
   occurs in the UTF-8 encoding of some character the scripts allow: every ASCII byte the
   scripts allow, every continuation byte, and the lead bytes of the blocks that hold allowed
   characters (Latin-1, Latin Extended, general punctuation, symbols, emoji). Lead bytes that
   only begin other scripts' characters (Cyrillic ``<0xD0>``, CJK ``<0xE5>``...) go. Kept bytes
   can still chain into a character outside the rule: that is accepted, because byte pieces
   are how such models spell accented Latin letters and symbols missing from their pieces, and
   dropping them would make those unrepresentable;
4. any other token is kept when every character in it is allowed by :data:`TARGET_SCRIPTS`,
   except tokens holding whitespace (a CTranslate2 map cannot list them; SentencePiece
   pieces never contain any), which both engines leave out.

What changes: in greedy search an output differs from full-vocabulary decoding only where the
full model would have emitted a token outside the set; both engines renormalise the scores over
the kept tokens, so in beam search hypotheses can also be ranked differently. Measure the
identical-output rate on the real model before trusting it (``eval/bench/README.md``).

This module imports no other engine module, so that both engines can use it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from summ.errors import ConfigError

logger = logging.getLogger(__name__)

#: The ``vocabulary`` option of both engines.
VOCABULARIES = ("full", "target-script")

#: Bump when the rule changes what it keeps. It is part of the CTranslate2 conversion folder's
#: key and of every engine's settings (the translation cache key), so that nothing decoded
#: under an older rule is reused.
RULE_VERSION = 1

#: The Unicode scripts (the Script_Extensions property of UAX #24) a target language's tokens
#: may use. "Common" is what Unicode ties to no script: digits 0-9, ASCII and general
#: punctuation, currency and other symbols, spaces, and SentencePiece's word marker ▁ (U+2581);
#: "Inherited" are combining marks (the accent of e + U+0301). Letters come only from the named
#: script, with any accents (é, ß, ø, ł). Unicode itself ties the Arabic-Indic digits (٣), the
#: Arabic comma and question mark (، ؟) and the ideographic full stop (。) to their scripts,
#: so those go while 0-9 , ? . stay: the character data is Unicode's, not a hand-made list.
TARGET_SCRIPTS: dict[str, tuple[str, ...]] = {
    "en": ("Latin", "Common", "Inherited"),
    "fr": ("Latin", "Common", "Inherited"),
}

_BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")
_WHITESPACE = re.compile(r"\s")


def check_vocabulary(vocabulary: str) -> str:
    """Validate the ``vocabulary`` option.

    Raises:
        ConfigError: not one of :data:`VOCABULARIES`.
    """
    if vocabulary not in VOCABULARIES:
        raise ConfigError(f"unknown vocabulary {vocabulary!r}; choose one of "
                          f"{', '.join(VOCABULARIES)}")
    return vocabulary


def scripts_for(tgt_lang: str) -> tuple[str, ...]:
    """The scripts :data:`TARGET_SCRIPTS` allows for ``tgt_lang``.

    Raises:
        ConfigError: no rule for this target language.
    """
    try:
        return TARGET_SCRIPTS[tgt_lang]
    except KeyError:
        raise ConfigError(f"vocabulary 'target-script' has no script rule for target language "
                          f"{tgt_lang!r} (known: {', '.join(TARGET_SCRIPTS)}); use vocabulary "
                          "'full'") from None


@functools.lru_cache(maxsize=8)
def _pattern(scripts: tuple[str, ...]):
    # `regex` (a dependency of transformers) knows Script_Extensions; the stdlib `re` does not.
    import regex

    return regex.compile("[" + "".join(rf"\p{{scx={s}}}" for s in scripts) + "]*")


@functools.lru_cache(maxsize=8)
def allowed_bytes(scripts: tuple[str, ...]) -> frozenset[int]:
    """Bytes that occur in the UTF-8 encoding of some character ``scripts`` allow (rule 3)."""
    pattern = _pattern(scripts)
    found: set[int] = set()
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates have no UTF-8 encoding
            continue
        ch = chr(cp)
        if pattern.fullmatch(ch):
            found.update(ch.encode("utf-8"))
    return frozenset(found)


def keeps(token: str | None, scripts: tuple[str, ...], specials: Collection[str] = ()) -> bool:
    """Whether the rule (module docstring) keeps one vocabulary entry.

    Args:
        token: the vocabulary string (``None``: the tokenizer has no token for the id).
        scripts: allowed scripts, e.g. ``TARGET_SCRIPTS["en"]``.
    """
    if token is None or token in specials:
        return True
    byte = _BYTE_PIECE.fullmatch(token)
    if byte:
        return int(byte.group(1), 16) in allowed_bytes(scripts)
    if not token or _WHITESPACE.search(token):
        return False
    return _pattern(scripts).fullmatch(token) is not None


@dataclass(frozen=True)
class TargetVocabulary:
    """The tokens an engine may emit under ``vocabulary="target-script"``.

    Attributes:
        lang: target language (ISO 639-1) whose scripts decided.
        ids: kept token ids, ascending.
        total: size of the vocabulary they were drawn from.
    """

    lang: str
    ids: tuple[int, ...]
    total: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(",".join(map(str, self.ids)).encode()).hexdigest()[:16]

    def settings(self) -> dict:
        """What the cache key and the manifest record: the setting, the rule and the set."""
        return {
            "vocabulary": "target-script",
            "vocabulary_rule": RULE_VERSION,
            "vocabulary_lang": self.lang,
            "vocabulary_kept": len(self.ids),
            "vocabulary_digest": self.digest,
        }


def build_target_vocabulary(tokens: Sequence[str | None], tgt_lang: str,
                            specials: Collection[str] = ()) -> TargetVocabulary:
    """Apply the rule to a vocabulary given by id.

    Args:
        tokens: the token string of every id (``None`` where the tokenizer has none).
        specials: the tokenizer's special tokens (see :func:`tokenizer_specials`).

    Raises:
        ConfigError: no script rule for ``tgt_lang`` (:data:`TARGET_SCRIPTS`).
    """
    scripts = scripts_for(tgt_lang)
    specials = frozenset(specials)
    ids = tuple(i for i, token in enumerate(tokens) if keeps(token, scripts, specials))
    spaced = sum(1 for t in tokens if t and t not in specials and _WHITESPACE.search(t))
    if spaced:
        logger.warning("%d vocabulary entries contain whitespace and cannot be listed in a "
                       "vocabulary map: target-script decoding leaves them out", spaced)
    logger.info("target-script vocabulary for %s: %d of %d tokens kept", tgt_lang, len(ids),
                len(tokens))
    return TargetVocabulary(tgt_lang, ids, len(tokens))


def tokenizer_specials(tokenizer) -> set[str]:
    """Every special token of a Hugging Face tokenizer (rule 1), added ones included."""
    specials = set(getattr(tokenizer, "all_special_tokens", None) or [])
    for added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(added, "special", False):
            specials.add(str(added))
    return specials


def check_tokenizer(tokenizer, model: str) -> None:
    """Refuse byte-level BPE vocabularies (BART, GPT-2), which the rule cannot read.

    Their entries are bytes mapped to printable stand-ins (Arabic letters appear as ``Ø§``,
    Latin-1 characters), so judging the strings would keep Arabic pieces as Latin ones.

    Raises:
        ConfigError: the tokenizer decodes with byte-level BPE.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None) if backend is not None else None
    if decoder is not None and "ByteLevel" in repr(decoder):
        raise ConfigError(f"vocabulary 'target-script' reads SentencePiece-style vocabularies; "
                          f"{model!r} uses byte-level BPE, whose entries do not show their "
                          "script; use vocabulary 'full'")


def vmap_text(tokens: Sequence[str | None], vocabulary: TargetVocabulary) -> str:
    """A CTranslate2 vocabulary map whose one line, with an empty source, lists the kept tokens.

    CTranslate2 always adds ``<unk>``, the start and end tokens and any forced target prefix to
    the candidates, all of which the rule keeps anyway.
    """
    listed = [tokens[i] for i in vocabulary.ids if tokens[i] is not None]
    return "\t" + " ".join(listed) + "\n"


def read_vmap(text: str, token_ids: dict[str, int], tgt_lang: str) -> TargetVocabulary:
    """The :class:`TargetVocabulary` of a map written by :func:`vmap_text` (``text``), for
    ``tgt_lang``; ``token_ids`` maps the converted vocabulary's tokens to their ids.

    Raises:
        ConfigError: the map is not one line with an empty source, or names unknown tokens.
    """
    lines = text.split("\n")
    if len(lines) != 2 or lines[1] or not lines[0].startswith("\t"):
        raise ConfigError("the vocabulary map is not a target-script map (one line with an "
                          "empty source); delete the conversion folder to rebuild it")
    names = lines[0][1:].split(" ") if lines[0][1:] else []
    unknown = [t for t in names if t not in token_ids]
    if unknown:
        raise ConfigError(f"the vocabulary map names {len(unknown)} tokens the model does not "
                          f"have (first {unknown[0]!r}); delete the conversion folder to "
                          "rebuild it")
    return TargetVocabulary(tgt_lang, tuple(sorted({token_ids[t] for t in names})), len(token_ids))
