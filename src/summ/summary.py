"""Summaries of Arabic (or English) articles, behind one function.

Strategies (``SummaryConfig.strategy``)::

    lead                       first k sentences of the article                 no weights
    textrank                   k most central sentences (TextRank, numpy)       no weights
    abstractive                a seq2seq summariser on the article as given     model
    translate-then-summarise   translate the article, summarise the English     translator + model
    summarise-then-translate   summarise the Arabic, translate the summary      model + translator
    direct                     cross-lingual summariser (CrossSum): ar in, en out   model
    llm                        an instruction-tuned LLM asked for a K-sentence      causal LM
                               English summary of the Arabic article (prompt "summarise")

``lead`` and ``textrank`` (the offline defaults) with a translator are the cheap
cross-lingual pipeline: select Arabic sentences, then translate only those
(``Summary.source_sentences`` holds the Arabic, aligned).

Every model runs through :class:`summ.translate.PipelineTranslator`, so device, dtype,
batching and the cache work as for translations. Articles longer than the summariser's input
are never cut: they are chunked on paragraph, line, then sentence boundaries
(:func:`chunk_text`), each chunk is summarised, and the joined chunk summaries are summarised
again until the text fits (``Summary.chunked``).

    >>> from summ.summary import summarise
    >>> [s.sentences for s in summarise(["جملة أولى. جملة ثانية."], "lead", sentences=1)]
    [['جملة أولى.']]

A :class:`Summariser` keeps its models loaded across calls; :func:`summarise` is the one-call
wrapper. Nothing here imports torch or transformers until a model-based strategy runs.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from summ import segment as seg
from summ.errors import ConfigError, SummError
from summ.engines.base import ENGINES, DecodeConfig, field_problems, raise_problems

if TYPE_CHECKING:
    from summ.engines.base import Engine
    from summ.translate import PipelineTranslator, Translator

logger = logging.getLogger(__name__)

__all__ = [
    "STRATEGIES",
    "Summary",
    "SummaryConfig",
    "Summariser",
    "summarise",
    "chunk_text",
    "textrank_scores",
    "select_sentences",
]

# --------------------------------------------------------------------------------------------
# Strategies and default models
# --------------------------------------------------------------------------------------------

EXTRACTIVE: tuple[str, ...] = ("lead", "textrank")
# Strategies whose input is the article itself in one language, summarised in that language.
MONOLINGUAL: tuple[str, ...] = (*EXTRACTIVE, "abstractive")
# Strategies whose input must be Arabic and whose output is English.
CROSS_LINGUAL: tuple[str, ...] = ("translate-then-summarise", "summarise-then-translate", "direct",
                                  "llm")
# Cross-lingual strategies with a translation step.
_TRANSLATING: tuple[str, ...] = ("translate-then-summarise", "summarise-then-translate")
STRATEGIES: tuple[str, ...] = (*MONOLINGUAL, *CROSS_LINGUAL)
LANGS: tuple[str, ...] = ("ar", "en", "auto")

#: Default Arabic→English translator (Marian, the project's translation baseline).
DEFAULT_TRANSLATOR = "Helsinki-NLP/opus-mt-ar-en"
#: English summariser: distilled BART on CNN/DailyMail, multi-sentence news summaries.
#: For one-sentence (XSum-style) summaries pass ``model="google/pegasus-xsum"``.
DEFAULT_EN_SUMMARISER = "sshleifer/distilbart-cnn-12-6"
#: Arabic summariser: mT5 fine-tuned on XL-Sum (BBC news in 45 languages, Arabic included).
DEFAULT_AR_SUMMARISER = "csebuetnlp/mT5_multilingual_XLSum"
#: Cross-lingual summariser: mT5 fine-tuned on CrossSum (any-to-any language pairs).
DEFAULT_CROSS_SUMMARISER = "csebuetnlp/mT5_m2m_crossSum"
#: Instruction-tuned LLM for the ``llm`` strategy: small enough for a CPU, Arabic among its
#: languages, Apache-2.0, no remote code.
DEFAULT_LLM_SUMMARISER = "Qwen/Qwen2.5-1.5B-Instruct"
#: ``llm`` summary cap per requested sentence when max_tokens is not given: an English news
#: sentence is 20-30 words, about 30-40 tokens; the cap must not cut the last sentence.
LLM_TOKENS_PER_SENTENCE = 48
#: Pipeline flags of an ``llm`` summary's generation that the Summary carries (the output
#: checks of summ.translate, and the chatter stripped from it).
_LLM_FLAGS = ("stripped", "wrong-script", "prompt-echo", "empty-output")

# Decoding the csebuetnlp model cards use in their generate() example (their checkpoints do
# not all carry these in generation_config.json); applied only where the user left a value
# unset, and only for these exact hub ids.
MODEL_CARD_SETTINGS: dict[str, dict[str, int]] = {
    DEFAULT_AR_SUMMARISER: {"beam_size": 4, "no_repeat_ngram_size": 2, "max_tokens": 84},
    DEFAULT_CROSS_SUMMARISER: {"beam_size": 4, "no_repeat_ngram_size": 2, "max_tokens": 84},
}

# Model families whose inputs get the csebuetnlp WHITESPACE_HANDLER (every run of whitespace,
# newlines included, becomes one space): XL-Sum and CrossSum were trained on such text.
_COLLAPSE_WHITESPACE_FAMILIES = frozenset({"mt5", "crosssum"})
_WHITESPACE_RUN = re.compile(r"\s+")

# Summary length when neither the user nor the model's generation_config gives one.
_FALLBACK_SUMMARY_TOKENS = 128

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryConfig:
    """Everything that decides a summary; the CLI reads its defaults from here.

    Fields left ``None`` fall back to the model's own ``generation_config`` (beam size, length
    penalty, n-gram blocking, ``min_length``), so e.g. distilbart-cnn runs with the settings its
    authors shipped (4 beams, length penalty 2.0, no 3-gram repeats, at least 56 tokens).
    """

    # TextRank needs no weights and, unlike lead-k, looks past the headline and dateline that
    # open scraped news pages: the best offline default.
    strategy: str = "textrank"
    # "ar" is what the project studies; "auto" detects per document.
    lang: str = "ar"
    # Extractive summary length, and the K of the llm prompt ("in K sentences"); 3 = lead-3.
    sentences: int = 3
    # Generation cap (new tokens). None = the model's own max_length, the length it was
    # trained for.
    max_tokens: int | None = None
    # Summariser (hub id or path). None = the strategy's DEFAULT_* model.
    model: str | None = None
    # Translator (hub id or path). None = DEFAULT_TRANSLATOR for the two pipeline strategies;
    # for lead/textrank None means "do not translate".
    translator: str | None = None
    # Engine, device and dtype for both models: the same choices as `summ translate`.
    engine: str = "hf"
    device: str = "auto"
    dtype: str = "auto"
    # Summariser decoding; None = the model's generation_config (see the class docstring).
    beam_size: int | None = None
    length_penalty: float | None = None
    no_repeat_ngram_size: int | None = None
    # Translation decoding: the translation defaults (beam 4, output grows with the input).
    translate_decode: DecodeConfig = DecodeConfig()
    # Largest summariser input before chunking. None = the model's input limit; smaller values
    # force the chunked path (tests, or models that degrade on long inputs).
    max_input_tokens: int | None = None
    # SQLite cache shared by both models (keys include model and settings). None = no cache.
    cache: str | None = None
    # Scraped pages repeat headlines (the seed article opens with its headline twice); a
    # summary should not say the same thing twice.
    skip_duplicates: bool = True
    # TextRank damping factor, as in Mihalcea & Tarau (2004) and PageRank.
    damping: float = 0.85
    # The llm prompt: a summ.prompts name or a template text with {source} (optionally
    # {sentences}, {tgt_name}). None = "summarise".
    prompt: str | None = None

    def __post_init__(self) -> None:
        # One rule per field, as in DecodeConfig (summ.engines.base.field_problems).
        inf = float("inf")  # also refuses NaN: every comparison with it is False
        choices = {"strategy": STRATEGIES, "lang": LANGS, "engine": ENGINES}
        rules = {  # field: (type, test, what the value must be, None allowed)
            "sentences": (int, lambda v: v >= 1, "an integer >= 1", False),
            "max_tokens": (int, lambda v: v >= 1, "an integer >= 1", True),
            "model": (str, bool, "a model id or path", True),
            "translator": (str, bool, "a model id or path", True),
            "device": (str, bool, "a device name", False),
            "dtype": (str, bool, "a dtype name", False),
            "beam_size": (int, lambda v: v >= 1, "an integer >= 1", True),
            "length_penalty": (float, lambda v: -inf < v < inf, "a number", True),
            "no_repeat_ngram_size": (int, lambda v: v >= 0, "an integer >= 0", True),
            "translate_decode": (DecodeConfig, bool, "a DecodeConfig", False),
            "max_input_tokens": (int, lambda v: v >= 8, "an integer >= 8", True),
            "cache": (str, bool, "a file path", True),
            # "false" from a config would read as True: only real booleans.
            "skip_duplicates": (bool, lambda v: True, "true or false", False),
            "damping": (float, lambda v: 0.0 < v < 1.0, "a number in (0, 1)", False),
        }
        problems = [f"unknown {name} {getattr(self, name)!r} (choose {', '.join(allowed)})"
                    for name, allowed in choices.items() if getattr(self, name) not in allowed]
        problems += field_problems(self, rules)
        if self.dtype != "auto" and self.engine != "hf":
            problems.append(f"dtype {self.dtype!r} applies to engine 'hf'; CTranslate2 chooses "
                            "its own weight type (compute_type)")
        if self.strategy in EXTRACTIVE:
            if self.max_tokens is not None:
                problems.append(f"{self.strategy} is extractive: its length is set by sentences, "
                                "not max_tokens")
            if self.model is not None:
                problems.append(f"{self.strategy} uses no model; did you mean strategy "
                                "'abstractive'?")
            if self.translator is not None and self.lang == "en":
                problems.append("a translator translates Arabic to English: it needs lang 'ar' or "
                                "'auto', not 'en'")
        if self.strategy == "abstractive":
            if self.translator is not None:
                problems.append("abstractive summarises in the input language; for a translated "
                                "summary use translate-then-summarise or summarise-then-translate")
            if self.model is None and self.lang == "auto":
                problems.append("abstractive with lang 'auto' needs an explicit model (the "
                                "default depends on lang)")
        if self.strategy in CROSS_LINGUAL and self.lang == "en":
            problems.append(f"{self.strategy} takes Arabic articles: lang must be 'ar' or 'auto', "
                            "not 'en'")
        if self.strategy in ("direct", "llm") and self.translator is not None:
            problems.append(f"{self.strategy} uses one cross-lingual model and no translator")
        if self.prompt is not None and self.strategy != "llm":
            problems.append(f"prompt applies to strategy 'llm', not {self.strategy!r}")
        if self.prompt is not None and not isinstance(self.prompt, str):
            problems.append(f"prompt must be a prompt name or a template text, "
                            f"got {self.prompt!r}")
        raise_problems("summary config", problems)

    @property
    def summary_model(self) -> str | None:
        """The summarisation model this config uses (``None`` for extractive strategies)."""
        if self.strategy in EXTRACTIVE:
            return None
        if self.model is not None:
            return self.model
        if self.strategy == "abstractive":
            return DEFAULT_EN_SUMMARISER if self.lang == "en" else DEFAULT_AR_SUMMARISER
        return {
            "translate-then-summarise": DEFAULT_EN_SUMMARISER,
            "summarise-then-translate": DEFAULT_AR_SUMMARISER,
            "direct": DEFAULT_CROSS_SUMMARISER,
            "llm": DEFAULT_LLM_SUMMARISER,
        }[self.strategy]

    @property
    def translation_model(self) -> str | None:
        """The translator this config uses (``None``: no translation step)."""
        if self.strategy in _TRANSLATING:
            return self.translator or DEFAULT_TRANSLATOR
        if self.strategy in EXTRACTIVE:
            return self.translator
        return None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One document's summary and how it was made.

    Attributes:
        text: extractive: one sentence per line (the layout ``rougeLsum`` expects); models:
            the generated text.
        lang: language of ``text`` (``"ar"`` or ``"en"``).
        indices: extractive: each selected sentence's position in ``segment(document)``,
            ascending; ``None`` for model strategies.
        source_sentences: the Arabic behind translated ``sentences``, aligned one to one
            (extractive with a translator, summarise-then-translate); else ``None``.
        intermediate: the article's translation (translate-then-summarise) or the Arabic
            summary (summarise-then-translate).
        chunked: the input was longer than the summariser's limit (chunk-summarise-join).
        chunks: chunks of the input at the first level (1: it fit; 0: empty document).
        flags: ``"empty"`` (no text), ``"not-arabic"`` (an Arabic strategy got non-Arabic
            text; still summarised), ``"capped"`` (the summariser stopped at its token cap),
            ``"repetition"`` (looping output), ``"translation-capped"``,
            ``"translation-repetition"`` (the same for the translation step); ``llm`` summaries
            also ``"stripped"``, ``"wrong-script"``, ``"prompt-echo"`` and ``"empty-output"``
            (the pipeline's output checks, see :data:`summ.translate.FLAGS`).
    """

    text: str
    sentences: list[str]
    strategy: str
    lang: str
    indices: list[int] | None = None
    source_sentences: list[str] | None = None
    intermediate: str | None = None
    chunked: bool = False
    chunks: int = 1
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for ``--output x.jsonl``)."""
        out = dataclasses.asdict(self)
        out["flags"] = list(self.flags)
        return out


# --------------------------------------------------------------------------------------------
# TextRank
# --------------------------------------------------------------------------------------------

# Function words that would otherwise make every sentence "similar" to every other one.
STOPWORDS_EN: frozenset[str] = frozenset(
    """a an the of to in on at for from by with and or but nor is are was were be been being
    it its this that these those as he she they we you i me him her them his their our your
    not no have has had do does did will would can could should may might must shall said
    says say about after before over into than then there here which who whom whose what when
    where why how also more most other some such only own same so very just up out if all any
    each both few one two new""".split()
)
STOPWORDS_AR: frozenset[str] = frozenset(
    """في من على الى إلى عن مع ان أن إن كان كانت يكون التي الذي الذين اللذين هذا هذه ذلك تلك
    هو هي هم هما نحن انا أنا ثم او أو لا لم لن ما قد وقد كما بين بعد قبل حتى عند كل أي اي
    وفي ومن وعلى وأن وان وإن وهو وهي وكان قال وقال وأضاف أضاف واضاف وأكد أكد وأشار أشار ذلك
    منذ خلال حول ضد دون غير لدى لها له لهم به بها فيه فيها منه منها عليه عليها إليه اليه
    يا بل لكن لقد إلا الا اذا إذا""".split()
)
STOPWORDS: frozenset[str] = STOPWORDS_EN | STOPWORDS_AR

# Arabic attaches the article and some prepositions to the word ("والرئيس" = "and the
# president"); these prefixes are removed when at least three letters remain, so that the two
# spellings of one word overlap. The bare conjunction "و" is not stripped: too many words
# start with that letter ("وزير", minister).
ARABIC_PREFIXES: tuple[str, ...] = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")
# Hamza-carrying alef forms are written interchangeably in news text.
_ALEF_RE = re.compile("[أإآ]")
_WORD_RE = re.compile(r"\w+")

# PageRank power iteration stops when the L1 change falls below this (scores sum to 1), or
# after _MAX_ITER steps; graphs of a few hundred sentences converge in well under 100.
_TOLERANCE = 1e-10
_MAX_ITER = 500
# Scores equal to this many decimals count as tied; ties go to the earlier sentence, so the
# ranking never depends on floating-point noise.
_TIE_DECIMALS = 12


def _content_words(sentence: str) -> set[str]:
    """The sentence's distinct content words, lightly normalised, for similarity."""
    text = seg.normalise(sentence, strip_diacritics=True, html="keep").lower()
    words: set[str] = set()
    for word in _WORD_RE.findall(_ALEF_RE.sub("ا", text)):
        if word in STOPWORDS or word.isdigit():
            continue
        for prefix in ARABIC_PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                word = word[len(prefix):]
                break
        if len(word) > 1 and word not in STOPWORDS:
            words.add(word)
    return words


def textrank_scores(sentences: Sequence[str], damping: float = 0.85) -> list[float]:
    """TextRank centrality of each sentence (Mihalcea & Tarau, 2004).

    Similarity is the paper's normalised word overlap ``|Si ∩ Sj| / (log |Si| + log |Sj|)``
    over distinct content words (stopwords removed, Arabic article prefixes stripped), the
    overlap itself when both sentences have a single word (denominator 0). Scores come from
    PageRank by power iteration on the row-normalised graph; a sentence sharing no word with
    any other spreads its weight evenly (the usual treatment of dangling nodes).

    Returns:
        One score per sentence, summing to 1; all equal when no two sentences share a word.
    """
    import numpy as np

    n = len(sentences)
    if n == 0:
        return []
    bags = [_content_words(s) for s in sentences]
    vocab = {w: i for i, w in enumerate(sorted(set().union(*bags)))}
    incidence = np.zeros((n, max(len(vocab), 1)))
    for row, bag in enumerate(bags):
        incidence[row, [vocab[w] for w in bag]] = 1.0
    overlap = incidence @ incidence.T
    logs = np.log(np.maximum(incidence.sum(axis=1), 1.0))
    denom = logs[:, None] + logs[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(denom > 0, overlap / np.where(denom > 0, denom, 1.0), overlap)
    np.fill_diagonal(weights, 0.0)
    out = weights.sum(axis=1)
    transition = np.where(out[:, None] > 0, weights / np.where(out > 0, out, 1.0)[:, None],
                          1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(_MAX_ITER):
        updated = (1.0 - damping) / n + damping * (transition.T @ scores)
        done = np.abs(updated - scores).sum() < _TOLERANCE
        scores = updated
        if done:
            break
    return [float(x) for x in scores / scores.sum()]


def select_sentences(
    sentences: Sequence[str], k: int, strategy: str = "textrank", *, skip_duplicates: bool = True,
    damping: float = 0.85
) -> list[int]:
    """Ascending indices of the ``k`` sentences an extractive strategy keeps (all if fewer).

    ``"lead"`` keeps the first ``k``, ``"textrank"`` the ``k`` highest TextRank scores (ties go
    to the earlier sentence); ``skip_duplicates`` ignores a sentence identical to an earlier one.

    Raises:
        ConfigError: unknown strategy or ``k < 1``.
    """
    if strategy not in EXTRACTIVE:
        raise ConfigError(f"select_sentences: strategy must be one of {', '.join(EXTRACTIVE)}, "
                          f"not {strategy!r}")
    if k < 1:
        raise ConfigError(f"select_sentences: k must be at least 1, got {k}")
    if skip_duplicates:
        first: dict[str, int] = {}  # each distinct sentence's first position, in order
        for i, sentence in enumerate(sentences):
            first.setdefault(sentence, i)
        candidates = list(first.values())
    else:
        candidates = list(range(len(sentences)))
    if len(candidates) <= k or strategy == "lead":
        return candidates[:k]
    scores = textrank_scores([sentences[i] for i in candidates], damping)
    ranked = sorted(range(len(candidates)), key=lambda j: (-round(scores[j], _TIE_DECIMALS), j))
    return sorted(candidates[j] for j in ranked[:k])


# --------------------------------------------------------------------------------------------
# Chunking long inputs
# --------------------------------------------------------------------------------------------

# Boundaries tried in order: paragraphs, then lines, then sentences; a single sentence that is
# still too long goes to segment.split_to_fit (clause, then word boundaries).
_LEVELS = ("paragraph", "line", "sentence")


def _units(body: str, level: int) -> list[str]:
    """``body`` cut at one level's boundaries; each piece keeps the separator after it."""
    if _LEVELS[level] == "sentence":
        parts, sep = seg.split_sentences(body), " "
    else:
        sep = "\n\n" if _LEVELS[level] == "paragraph" else "\n"
        parts = body.split(sep)
    return [p + sep for p in parts[:-1]] + parts[-1:]


def _chunk(text: str, count: Callable[[str], int], limit: int, level: int) -> list[str]:
    if count(text.strip()) <= limit:
        return [text]
    body = text.rstrip()
    tail = text[len(body):]
    if level == len(_LEVELS):
        pieces = seg.split_to_fit(body, count, limit)
    else:
        units = _units(body, level)
        if len(units) == 1:
            pieces = _chunk(body, count, limit, level + 1)
        else:
            pieces = []
            current = ""
            for unit in units:
                if current and count((current + unit).strip()) <= limit:
                    current += unit
                    continue
                if current:
                    pieces.append(current)
                sub = _chunk(unit, count, limit, level + 1)
                # The last piece of a split unit may still share a chunk with what follows.
                pieces.extend(sub[:-1])
                current = sub[-1]
            pieces.append(current)
    pieces[-1] += tail
    return pieces


def chunk_text(text: str, count_tokens: Callable[[str], int], limit: int) -> list[str]:
    """Cut a document into the chunks a summariser sees, each within its input limit.

    The normalised text (:func:`summ.segment.normalise`) is packed greedily: whole paragraphs
    while they fit; a paragraph too long alone is cut between lines, a line between sentences,
    a sentence still too long by :func:`summ.segment.split_to_fit`. Nothing is dropped: each
    chunk keeps the whitespace after it, so ``"".join(chunks) == normalise(text)``.

    Args:
        count_tokens: length of a text as the model sees it (special tokens included).
        limit: the largest count a chunk may have (checked on the stripped chunk).

    Returns:
        The chunks in order; ``[normalise(text)]`` if it fits, ``[]`` for blank text.

    Raises:
        ValueError: if ``limit < 1`` or a single character counts more than ``limit``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    text = seg.normalise(text)
    if not text:
        return []
    return _chunk(text, count_tokens, limit, 0)


# --------------------------------------------------------------------------------------------
# The summariser
# --------------------------------------------------------------------------------------------


@dataclass
class _Generated:
    """A model summary of one document, before it becomes a :class:`Summary`."""

    text: str = ""
    chunked: bool = False
    chunks: int = 0
    capped: bool = False
    repetition: bool = False
    checks: set[str] = field(default_factory=set)  # _LLM_FLAGS raised on any chunk

    def own_flags(self) -> list[str]:
        """``capped`` and ``repetition``, where they apply."""
        return [name for name, on in (("capped", self.capped), ("repetition", self.repetition))
                if on]


class Summariser:
    """Summarises lists of documents with one configuration; models load once, on first use.

    Args:
        engine: a loaded summarisation engine to use instead of ``config.summary_model``; it
            decodes with the settings it was loaded with (``config.beam_size`` and friends
            are not applied to it).
        translator: a loaded translator (a :class:`PipelineTranslator`, or any object with
            ``translate(list[str]) -> list[str]``) instead of ``config.translation_model``.

    Raises:
        ConfigError: a translator was given to a strategy that translates nothing.
    """

    def __init__(
        self,
        config: SummaryConfig | None = None,
        *,
        engine: Engine | None = None,
        translator: Translator | PipelineTranslator | None = None,
    ) -> None:
        self.config = config if config is not None else SummaryConfig()
        if translator is not None and self.config.strategy not in (*EXTRACTIVE, *_TRANSLATING):
            raise ConfigError(f"strategy {self.config.strategy!r} translates nothing; do not pass "
                              "a translator")
        if translator is not None and self.config.lang == "en":
            raise ConfigError("a translator translates Arabic to English: it needs lang 'ar' or "
                              "'auto', not 'en'")
        if engine is not None and self.config.strategy in EXTRACTIVE:
            raise ConfigError(f"strategy {self.config.strategy!r} uses no model; do not pass an "
                              "engine")
        self._engine = engine
        self._translator = translator
        self._pipeline: PipelineTranslator | None = None
        self._cache = None

    def close(self) -> None:
        """Close the cache file, if one is open (models are freed with the object)."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> Summariser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Loading ----------------------------------------------------------------------------

    def _store(self):
        if self.config.cache is not None and self._cache is None:
            from summ.cache import Cache

            self._cache = Cache(self.config.cache)
        return self._cache

    @property
    def translates(self) -> bool:
        """Whether this summariser has a translation step."""
        return self._translator is not None or self.config.translation_model is not None

    @property
    def output_lang(self) -> str:
        """Language of the summaries (``"auto"`` = the detected input language); a translator
        object given to the constructor makes an extractive summary English."""
        if self.config.strategy in CROSS_LINGUAL or self.translates:
            return "en"
        return self.config.lang

    def translator(self) -> Translator | PipelineTranslator:
        """The translator, loaded on first use."""
        if self._translator is None:
            from summ.engines.base import load_engine
            from summ.translate import PipelineTranslator

            model = self.config.translation_model
            if model is None:
                raise ConfigError(f"strategy {self.config.strategy!r} without a translator "
                                  "translates nothing")
            cfg = self.config
            engine = load_engine(model, cfg.engine, decode=cfg.translate_decode, device=cfg.device,
                                 **self._dtype())
            self._translator = PipelineTranslator(engine, decode=cfg.translate_decode,
                                                  cache=self._store())
        return self._translator

    def _dtype(self) -> dict:
        # CTranslate2 picks its own compute type; an HF dtype other than "auto" is checked by
        # SummaryConfig, so only the HF engine ever receives one.
        return {"dtype": self.config.dtype} if self.config.dtype != "auto" else {}

    def _summary_langs(self) -> tuple[str, str]:
        """(source, target) language codes for the summarisation engine."""
        cfg = self.config
        return {
            "translate-then-summarise": ("en", "en"),
            "summarise-then-translate": ("ar", "ar"),
            "direct": ("ar", "en"),
            "llm": ("ar", "en"),
        }.get(cfg.strategy, (cfg.lang if cfg.lang != "auto" else "ar",) * 2)

    def _decode(self, model: str, max_new_tokens: int | None) -> DecodeConfig:
        cfg = self.config
        card = MODEL_CARD_SETTINGS.get(model, {})
        pick = lambda value, name: value if value is not None else card.get(name)
        return DecodeConfig(
            beam_size=pick(cfg.beam_size, "beam_size"),
            length_penalty=cfg.length_penalty,
            repetition_penalty=None,
            no_repeat_ngram_size=pick(cfg.no_repeat_ngram_size, "no_repeat_ngram_size"),
            min_new_tokens=0,  # 0 = the model's min_length applies
            max_new_tokens=max_new_tokens,
        )

    def pipeline(self) -> PipelineTranslator:
        """The summarisation model behind the translation pipeline, loaded on first use.

        Its decode settings carry an explicit ``max_new_tokens`` (the summary length), so its
        input limit is the model's (or ``max_input_tokens``), no room reserved for the output.
        """
        if self._pipeline is None:
            from summ.engines.base import BatchConfig, load_engine
            from summ.translate import PipelineTranslator

            cfg = self.config
            model = cfg.summary_model
            engine = self._engine
            if engine is None:
                src, tgt = self._summary_langs()
                prompt = {}
                if cfg.strategy == "llm":
                    prompt = {"prompt": self._llm_prompt(model), "task": "summarise"}
                engine = load_engine(model, cfg.engine, decode=self._decode(model, cfg.max_tokens),
                                     device=cfg.device, src_lang=src, tgt_lang=tgt,
                                     **self._dtype(), **prompt)
                self._engine = engine
            elif cfg.strategy == "llm":
                # A loaded LLM (e.g. the translator's) summarises through a view with the
                # summary prompt; the same weights serve both.
                if not hasattr(engine, "with_prompt"):
                    raise ConfigError("strategy 'llm' needs a causal LM engine (one with prompts)")
                engine = engine.with_prompt(self._llm_prompt(engine.model_id), "summarise")
                self._engine = engine
            model_id = engine.model_id
            card_cap = MODEL_CARD_SETTINGS.get(model_id, {}).get("max_tokens")
            llm_cap = LLM_TOKENS_PER_SENTENCE * cfg.sentences if cfg.strategy == "llm" else None
            cap = (cfg.max_tokens or card_cap or llm_cap or engine.own_max_new_tokens
                   or _FALLBACK_SUMMARY_TOKENS)
            cap = min(cap, engine.max_output_tokens)
            decode = self._decode(model_id, cap)
            batch = BatchConfig(max_input_tokens=cfg.max_input_tokens or engine.max_input_tokens)
            self._pipeline = PipelineTranslator(engine, decode=decode, batch=batch,
                                                cache=self._store())
            logger.info("summariser %s: input limit %d tokens, summaries up to %d tokens",
                        model_id, self._pipeline.limit, cap)
        return self._pipeline

    def _llm_prompt(self, model: str):
        """The llm strategy's prompt with its summary length bound."""
        from summ.prompts import resolve_prompt

        prompt = resolve_prompt(self.config.prompt, "summarise", model)
        return prompt.bind(sentences=self.config.sentences)

    def _prepare(self, text: str) -> str:
        """The text as the summarisation model receives it."""
        if self.pipeline().engine.family in _COLLAPSE_WHITESPACE_FAMILIES:
            return _WHITESPACE_RUN.sub(" ", text.strip())
        return text.strip()

    # The entry point --------------------------------------------------------------------

    def summarise(self, documents: list[str]) -> list[Summary]:
        """One :class:`Summary` per article (paragraphs separated by blank lines), in order.

        Raises:
            TypeError: ``documents`` is a string, or holds something other than strings.
            ConfigError: inconsistent settings.
            SummError: a model cannot be loaded, or chunk summaries stop getting shorter.
        """
        if isinstance(documents, str):
            raise TypeError("summarise takes a list of documents, not a string; wrap one document "
                            "as [text]")
        documents = list(documents)
        for i, doc in enumerate(documents):
            if not isinstance(doc, str):
                raise TypeError(f"document {i} is {type(doc).__name__}, not a string")
        if not documents:
            return []
        flags = [self._input_flags(doc) for doc in documents]
        strategy = self.config.strategy
        if strategy in EXTRACTIVE:
            return self._extractive(documents, flags)
        if strategy == "translate-then-summarise":
            return self._translate_then_summarise(documents, flags)
        generated = self._generate(documents)
        if strategy == "summarise-then-translate":
            return self._summarise_then_translate(generated, flags)
        lang = self.output_lang
        return [
            self._model_summary(g, f, lang if lang != "auto" else _detect(doc))
            for g, f, doc in zip(generated, flags, documents)
        ]

    def _input_flags(self, document: str) -> list[str]:
        if not document.strip():
            return ["empty"]
        # A translator translates Arabic: English text given to one is flagged like any other.
        expects_arabic = (self.config.strategy in CROSS_LINGUAL or self.config.lang == "ar"
                          or self.translates)
        if expects_arabic and not seg.is_arabic(document):
            return ["not-arabic"]
        return []

    # Extractive ---------------------------------------------------------------------------

    def _extractive(self, documents: list[str], flags: list[list[str]]) -> list[Summary]:
        cfg = self.config
        picked: list[tuple[list[int], list[str]]] = []
        for doc in documents:
            texts = [s.text for s in seg.segment(doc)]
            idx = select_sentences(texts, cfg.sentences, cfg.strategy,
                                   skip_duplicates=cfg.skip_duplicates, damping=cfg.damping)
            picked.append((idx, [texts[i] for i in idx]))
        if not self.translates:
            return [
                Summary("\n".join(chosen), chosen, cfg.strategy,
                        cfg.lang if cfg.lang != "auto" else _detect(doc),
                        indices=idx, chunks=1 if chosen else 0, flags=tuple(f))
                for (idx, chosen), f, doc in zip(picked, flags, documents)
            ]
        # Translate only what was kept.
        translated = _translate_groups(self.translator(), [chosen for _, chosen in picked])
        return [
            Summary("\n".join(english), english, cfg.strategy, "en", indices=idx,
                    source_sentences=chosen, chunks=1 if chosen else 0, flags=tuple(f + extra))
            for (idx, chosen), f, (english, extra) in zip(picked, flags, translated)
        ]

    # Model strategies ---------------------------------------------------------------------

    def _generate(self, documents: list[str]) -> list[_Generated]:
        """Model summaries of ``documents``, chunking and recursing where they are too long.

        In rounds over all documents (one batched pipeline call each): a document that fits is
        summarised and done; one that does not is chunked, its chunks summarised, and the
        joined chunk summaries go to the next round.
        """
        pipe = self.pipeline()
        limit = pipe.limit

        def count(text: str) -> int:
            return len(pipe.engine.encode([self._prepare(text)])[0])

        results = [_Generated() for _ in documents]
        pending = {i: seg.normalise(doc) for i, doc in enumerate(documents) if doc.strip()}
        rounds = 0
        while pending:
            plan = {i: chunk_text(text, count, limit) for i, text in pending.items()}
            plan = {i: chunks for i, chunks in plan.items() if chunks}
            inputs = [self._prepare(c) for chunks in plan.values() for c in chunks]
            result = pipe.translate_segments(inputs, check_arabic=False)
            split = sum(1 for r in result.records if "split" in r.flags)
            if split:  # chunk_text measured with the same encoder, so this is a bug, not input
                raise SummError(f"{split} summariser input(s) exceeded the {limit}-token limit "
                                "after chunking")
            following: dict[int, str] = {}
            start = 0
            for i, chunks in plan.items():
                outputs = result.translations[start : start + len(chunks)]
                records = result.records[start : start + len(chunks)]
                start += len(chunks)
                res = results[i]
                res.capped |= any(r.hit_cap for r in records)
                res.repetition |= any("repetition" in r.flags for r in records)
                res.checks.update(f for r in records for f in r.flags if f in _LLM_FLAGS)
                if rounds == 0:
                    res.chunks = len(chunks)
                if len(chunks) == 1:
                    res.text = outputs[0]
                    continue
                res.chunked = True
                joined = "\n\n".join(o for o in outputs if o.strip())
                before, after = count(pending[i]), count(joined)
                logger.info("document %d: %d tokens > limit %d, round %d: %d chunks summarised "
                            "into %d tokens", i, before, limit, rounds + 1, len(chunks), after)
                if after >= before:
                    raise SummError(
                        f"document {i}: the summaries of its {len(chunks)} chunks ({after} "
                        f"tokens) are not shorter than the text they summarise ({before} "
                        "tokens), so summarising them again would not end; lower max_tokens "
                        "(summary length) or raise max_input_tokens"
                    )
                following[i] = joined
            pending = following
            rounds += 1
        return results

    def _model_summary(
        self, gen: _Generated, flags: list[str], lang: str, intermediate: str | None = None,
        more: Sequence[str] = ()
    ) -> Summary:
        own = gen.own_flags()
        if self.config.strategy == "llm":
            own += [f for f in _LLM_FLAGS if f in gen.checks]
        sentences = [s.text for s in seg.segment(gen.text)]
        return Summary(gen.text, sentences, self.config.strategy, lang, intermediate=intermediate,
                       chunked=gen.chunked, chunks=gen.chunks, flags=tuple([*flags, *own, *more]))

    def _translate_then_summarise(self, documents: list[str],
                                  flags: list[list[str]]) -> list[Summary]:
        from summ.translate import translate_documents

        result = translate_documents(self.translator(), documents)
        english = result.texts
        tflags = [_union(_translation_flags(r)) for r in result.records]
        generated = self._generate(english)
        return [
            self._model_summary(g, f, "en", intermediate=text, more=t)
            for g, f, text, t in zip(generated, flags, english, tflags)
        ]

    def _summarise_then_translate(self, generated: list[_Generated],
                                  flags: list[list[str]]) -> list[Summary]:
        arabic = [[s.text for s in seg.segment(g.text)] for g in generated]
        translated = _translate_groups(self.translator(), arabic)
        return [
            Summary(" ".join(english), english, self.config.strategy, "en",
                    source_sentences=sentences, intermediate=g.text, chunked=g.chunked,
                    chunks=g.chunks, flags=tuple(f + g.own_flags() + extra))
            for g, f, sentences, (english, extra) in zip(generated, flags, arabic, translated)
        ]


def _detect(text: str) -> str:
    return "ar" if seg.is_arabic(text) else "en"


def _translation_flags(records) -> list[tuple[str, ...]]:
    # Looping output usually runs into the cap too: both flags are kept.
    return [tuple(f"translation-{f}" for f in ("capped", "repetition") if f in r.flags)
            for r in records]


def _translate_groups(translator: Any,
                      groups: list[list[str]]) -> list[tuple[list[str], list[str]]]:
    """Each group's translations (aligned) and the translation flags raised on any of them;
    all groups in one call, so that batching works."""
    from summ.translate import PipelineTranslator

    flat = [s for group in groups for s in group]
    flags: list[tuple[str, ...]] = [()] * len(flat)
    if not flat:
        translations = []
    elif isinstance(translator, PipelineTranslator):
        result = translator.translate_segments(flat, check_arabic=False)
        translations, flags = list(result.translations), _translation_flags(result.records)
    else:
        translations = list(translator.translate(list(flat)))
        if len(translations) != len(flat):
            raise SummError(f"translator returned {len(translations)} translations for "
                            f"{len(flat)} sentences")
    out, start = [], 0
    for group in groups:
        end = start + len(group)
        out.append((translations[start:end], _union(flags[start:end])))
        start = end
    return out


def _union(flags: Sequence[tuple[str, ...]]) -> list[str]:
    """The flags raised on any of ``flags``, sorted."""
    return sorted({f for fs in flags for f in fs})


def summarise(
    documents: list[str],
    strategy: str = "textrank",
    *,
    lang: str = "ar",
    sentences: int = 3,
    max_tokens: int | None = None,
    model: str | None = None,
    translator: str | Translator | PipelineTranslator | None = None,
    **options: Any,
) -> list[Summary]:
    """Summarise documents in one call (loads models each time; reuse a :class:`Summariser`).

    Args:
        documents: article texts, a list even for one article.
        sentences: extractive summary length (ignored by model strategies).
        max_tokens: summary length cap in tokens for model strategies (``None``: the model's).
        model: summarisation model (hub id or path); ``None``: the strategy's default.
        translator: translation model id/path, or a loaded translator; for lead/textrank,
            ``None`` means the summary stays in the source language.
        **options: any other :class:`SummaryConfig` field (``device``, ``cache``, ...).

    Raises:
        TypeError: ``documents`` is a string.
        ConfigError: unknown strategy, option or inconsistent settings.
    """
    if isinstance(documents, str):
        raise TypeError("summarise takes a list of documents, not a string; wrap one document as "
                        "[text]")
    known = {f.name for f in dataclasses.fields(SummaryConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"summarise: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    loaded = None if translator is None or isinstance(translator, str) else translator
    config = SummaryConfig(strategy=strategy, lang=lang, sentences=sentences,
                           max_tokens=max_tokens, model=model,
                           translator=translator if isinstance(translator, str) else None,
                           **options)
    with Summariser(config, translator=loaded) as summariser:
        return summariser.summarise(documents)
