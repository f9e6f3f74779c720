"""The translation pipeline: segments in, translations out, nothing cut, nothing lost.

Engines (``summ.engines.hf``, ``summ.engines.ct2``) only know how to encode text and run
``generate`` on a batch. Everything that decides *what* reaches the model lives here:

    measure each segment in model tokens
      → split any segment longer than the limit at the best boundary (never truncate)
      → look each piece up in the cache (identical pieces are translated once)
      → sort by length → batches by a token budget → generate → store in the cache
      → restore order → join pieces → strip known chatter (prompted models)
      → flag anything suspicious

Every split, every output that stopped at its cap, every non-Arabic source, every
repetitive output and every output that fails a check (:func:`output_flags`) is counted in a
:class:`RunStats` that is logged and returned.

Causal LMs (``summ.engines.causal``) run through the same steps, except that their input
limit leaves room in the shared context (:func:`input_limit`), their output cap ignores the
prompt (``engine.prompt_tokens``), the :data:`CLEANUPS` chatter is stripped from their outputs
(the raw output stays in the cache and the records), and ``level="document"`` translates
several lines per prompt (:meth:`PipelineTranslator.translate_documents`).
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol, TypeVar, runtime_checkable

from summ import segment as seg
from summ.engines.base import BatchConfig, DecodeConfig, Engine, Generation, load_engine
from summ.errors import ConfigError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@runtime_checkable
class Translator(Protocol):
    """Anything that turns a list of segments into a list of translations, aligned."""

    def translate(self, segments: list[str]) -> list[str]:
        """Same length, same order; an empty string translates to an empty string."""
        ...


# --------------------------------------------------------------------------------------
# Results.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One piece of a segment as sent to the model, and what came back."""

    source: str  # the piece, whitespace after it kept: "".join(pieces) == segment
    translation: str
    source_tokens: int
    output_tokens: int
    hit_cap: bool  # the output stopped at its length cap
    cached: bool  # it came from the cache
    raw: str | None = None  # the model's output before CLEANUPS, when they changed it


@dataclass(frozen=True)
class SegmentRecord:
    """What happened to one input segment (written by ``--segments``)."""

    source: str
    translation: str
    source_tokens: int
    pieces: tuple[Piece, ...]  # more than one: the segment was split to fit the model
    flags: tuple[str, ...]  # keys of FLAGS

    @property
    def hit_cap(self) -> bool:
        return any(p.hit_cap for p in self.pieces)

    @property
    def cached(self) -> bool:
        return all(p.cached for p in self.pieces)

    def as_dict(self) -> dict:
        """JSON-ready, without ``cached`` (a fact about one run, not about the output)."""
        return {"source": self.source, "translation": self.translation,
                "source_tokens": self.source_tokens, "hit_cap": self.hit_cap,
                "flags": list(self.flags),
                "pieces": [{"source": p.source, "translation": p.translation,
                            "source_tokens": p.source_tokens, "output_tokens": p.output_tokens,
                            "hit_cap": p.hit_cap, **({"raw": p.raw} if p.raw is not None else {})}
                           for p in self.pieces]}


@dataclass
class RunStats:
    """Counts of one run (segments, splits, flags, cache use, speed): logged and stored."""

    segments: int = 0
    empty: int = 0
    pieces: int = 0
    split_segments: int = 0
    capped: int = 0
    not_arabic: int = 0
    repetition: int = 0
    empty_output: int = 0  # non-empty sources whose translation (or a piece of it) came back empty
    wrong_script: int = 0  # outputs not in the target language's script
    too_long: int = 0  # outputs much longer than their source (TOO_LONG_RATIO)
    prompt_echo: int = 0  # outputs that repeat the prompt's instructions
    stripped: int = 0  # outputs from which CLEANUPS removed chatter
    doc_fallback: int = 0  # lines translated sentence by sentence after a document-level miss
    cache_hits: int = 0
    translated: int = 0  # pieces sent to the model (after cache and de-duplication)
    source_tokens: int = 0
    output_tokens: int = 0  # tokens generated in this run (cache hits excluded)
    seconds: float = 0.0
    engine_seconds: float = 0.0

    @property
    def segments_per_s(self) -> float:
        return self.segments / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        """Generated target tokens per second of model time."""
        return self.output_tokens / self.engine_seconds if self.engine_seconds else 0.0

    def add(self, other: RunStats) -> None:
        for name in asdict(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {**asdict(self), "segments_per_s": round(self.segments_per_s, 3),
                "tokens_per_s": round(self.tokens_per_s, 3)}

    def line(self) -> str:
        return (
            f"{self.segments} segments ({self.empty} empty), {self.pieces} pieces, "
            f"{self.split_segments} split, {self.capped} hit the length cap, "
            f"{self.not_arabic} not Arabic, {self.repetition} repetitive, "
            f"{self.empty_output} came back empty, {self.wrong_script} in the wrong script, "
            f"{self.too_long} too long, {self.prompt_echo} echo the prompt, "
            f"{self.stripped} stripped of chatter, {self.doc_fallback} document-level fallbacks; "
            f"{self.cache_hits} from cache, "
            f"{self.translated} translated, {self.segments_per_s:.1f} segments/s, "
            f"{self.tokens_per_s:.0f} tokens/s"
        )


@dataclass(frozen=True)
class SegmentsResult:
    translations: list[str]
    records: list[SegmentRecord]
    stats: RunStats


@dataclass(frozen=True)
class DocumentsResult:
    """Translated documents (paragraph structure rebuilt) with what happened to each segment."""

    texts: list[str]
    segments: list[list[seg.Segment]]  # per document, the source segments
    records: list[list[SegmentRecord]]  # per document, aligned with ``segments``
    stats: RunStats


# --------------------------------------------------------------------------------------
# Flags.
# --------------------------------------------------------------------------------------

_REPEAT = re.compile(r"(\b\w+(?:\W+\w+){0,3}?)(?:\W+\1\b){3,}", re.UNICODE)


#: Every flag a segment record can carry, and what it means.
FLAGS: dict[str, str] = {
    "split": "the source was longer than the input limit and was translated in pieces",
    "capped": "an output stopped at its length cap",
    "not-arabic": "the source is not Arabic",
    "repetition": "a word or phrase repeats four or more times in a row",
    "empty-output": "a non-empty source (or a piece of it) came back empty",
    "wrong-script": "the output is not in the target language's script (WRONG_SCRIPT_SHARE)",
    "too-long": "the output is much longer than its source (TOO_LONG_RATIO, TOO_LONG_SLACK)",
    "prompt-echo": "the output repeats a line of the prompt's instructions",
    "stripped": "chatter (CLEANUPS) was removed from a prompted model's output",
    "doc-fallback": "document-level output did not map back line by line; translated by sentence",
}

# Output checks, run on every engine's output (an NMT model that outputs Arabic is as wrong
# as an LLM that does). Thresholds, checked against NTREX-128's human translations by
# tests/test_llm.py (none of its 1,997 reference pairs is flagged):
#: An output in a Latin-script language is in the wrong script when more than this share of
#: its letters are Arabic (a name left in Arabic script stays below it).
WRONG_SCRIPT_SHARE = 0.2
#: ... and one in Arabic when less than half its letters are Arabic.
ARABIC_SCRIPT_SHARE = 0.5
#: An output is too long when it has more than TOO_LONG_RATIO x the source's characters plus
#: TOO_LONG_SLACK (English runs about as long as its Arabic source; the slack keeps short
#: lines, a number or a name, from being flagged).
TOO_LONG_RATIO = 3.0
TOO_LONG_SLACK = 20

#: Chatter instruction-tuned models put around an answer: (name, pattern, why). Applied in
#: order to prompted models' outputs only (an NMT model's "Translation: ..." is a
#: translation); a group named ``keep`` is what remains of the match. The raw output stays in
#: the cache and in the segment record (``raw``), and the record is flagged ``stripped``.
CLEANUPS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("think-block", re.compile(r"\A\s*<think>.*?</think>\s*", re.DOTALL),
     "a reasoning block (Qwen3), even an empty one"),
    ("code-fence", re.compile(r"\A\s*```[^\n`]*\n(?P<keep>.*?)\n?```\s*\Z", re.DOTALL),
     "the whole answer in a code block"),
    ("preamble", re.compile(
        r"\A\s*(?:(?:sure|certainly|of course|okay|ok)\b[!.,]*\s*)?"
        r"(?:here(?:'s|\s+is)\s+(?:the\s+|a\s+|your\s+|my\s+)?(?:[\w-]+\s+){0,3}?"
        r"(?:translation|summary)(?:\s+(?:of|in|into)\s+[^:\n]{0,80})?"
        r"|(?:the\s+)?(?:english\s+)?(?:translation|summary)|english)\s*:\s*", re.IGNORECASE),
     "an announcement: 'Here is the translation:', 'Sure! ...:', 'Translation:', 'English:'"),
    ("trailing-note", re.compile(
        r"\n\s*\n\s*\(?(?:note|notes|explanation|translator's note)\b[^\n]*?:.*\Z",
        re.DOTALL | re.IGNORECASE),
     "a note or explanation after a blank line"),
)


def clean_output(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` without the :data:`CLEANUPS` chatter, and the names of the rules that applied."""
    applied = []
    text = text.strip()
    for name, pattern, _why in CLEANUPS:
        match = pattern.search(text)
        if match is None:
            continue
        kept = match.group("keep") if "keep" in pattern.groupindex else ""
        cleaned = (text[: match.start()] + kept + text[match.end():]).strip()
        if cleaned != text:
            applied.append(name)
            text = cleaned
    return text, tuple(applied)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def output_flags(source: str, text: str, *, tgt_lang: str | None = None,
                 markers: Sequence[str] = ()) -> list[str]:
    """The output checks of one translation: ``wrong-script``, ``too-long``, ``prompt-echo``.

    Args:
        tgt_lang: the output language; ``None`` (an engine that does not say) skips the script
            check.
        markers: lines of the prompt's instructions (prompted models); an output containing
            one (case and spacing ignored) echoes the prompt.
    """
    flags = []
    if tgt_lang is not None and any(ch.isalpha() for ch in text):
        share = seg.arabic_ratio(text)
        if share < ARABIC_SCRIPT_SHARE if tgt_lang == "ar" else share > WRONG_SCRIPT_SHARE:
            flags.append("wrong-script")
    if len(text) > TOO_LONG_RATIO * len(source) + TOO_LONG_SLACK:
        flags.append("too-long")
    if markers and any(_normal(m) in _normal(text) for m in markers):
        flags.append("prompt-echo")
    return flags


def is_repetitive(text: str) -> bool:
    """True when a word or a phrase of up to four words repeats four or more times in a row.

    opus-mt models hallucinate such loops on noisy or mixed-language input; they are flagged,
    not removed, so that the researcher decides.
    """
    return bool(_REPEAT.search(text))


# --------------------------------------------------------------------------------------
# The pipeline.
# --------------------------------------------------------------------------------------


def output_cap(source_tokens: int, decode: DecodeConfig, model_limit: int) -> int:
    """Max new tokens for a source of this length: grows with the input, never above the model.

    The cap depends on the segment alone, never on its batch neighbours, so a resumed run
    (other batches) gives the same outputs as an uninterrupted one.
    """
    if decode.max_new_tokens is not None:
        return min(decode.max_new_tokens, model_limit)
    raw = decode.length_ratio * source_tokens + decode.length_margin
    cap = 16
    while cap < raw:  # 16, 24, 32, 48, 64, 96, ...: at most 1.5x the raw cap
        cap = cap * 3 // 2 if cap & (cap - 1) == 0 else cap * 4 // 3
    return min(cap, model_limit)


def input_limit(engine: Engine, decode: DecodeConfig, batch: BatchConfig) -> int:
    """The longest source (in tokens) sent to the model in one piece.

    Seq2seq models: the encoder's positions, lowered so that a full-length output of the
    longest piece fits the decoder's. Causal LMs (``engine.context_tokens`` set) share one
    window, so the limit is the longest encoded prompt ``n`` with
    ``n + output_cap(n - engine.prompt_tokens) <= context_tokens``. Either way
    ``BatchConfig.max_input_tokens`` can only lower it.

    Raises:
        ConfigError: ``max_input_tokens`` above the model's limit, or a context too small for
            the prompt and one output.
    """
    context = getattr(engine, "context_tokens", None)
    if context is not None:
        return _causal_limit(engine, context, decode, batch)
    limit = engine.max_input_tokens
    if decode.max_new_tokens is None:
        # Leave the decoder room for a full-length output of the longest piece.
        room = int((engine.max_output_tokens - decode.length_margin) / decode.length_ratio)
        limit = min(limit, max(room, 8))
    return _user_limit(limit, engine, batch)


def _user_limit(limit: int, engine: Engine, batch: BatchConfig) -> int:
    """``limit``, lowered to the user's ``max_input_tokens``, which may not exceed the model's."""
    if batch.max_input_tokens is not None:
        if batch.max_input_tokens > engine.max_input_tokens:
            raise ConfigError(
                f"max_input_tokens={batch.max_input_tokens} exceeds the model's input limit of "
                f"{engine.max_input_tokens} tokens ({engine.model_id})"
            )
        limit = min(limit, batch.max_input_tokens)
    return limit


def _causal_limit(engine: Engine, context: int, decode: DecodeConfig, batch: BatchConfig) -> int:
    overhead = getattr(engine, "prompt_tokens", 0)

    def fits(n: int) -> bool:
        return n + output_cap(max(n - overhead, 0), decode, engine.max_output_tokens) <= context

    # n + cap(n) grows with n: the largest n that fits, by bisection.
    low, high = overhead, engine.max_input_tokens
    if not fits(low + 1):
        raise ConfigError(f"{engine.model_id}: its {context}-token context holds no source "
                          f"beside its {overhead}-token prompt and the output cap; lower "
                          "max_new_tokens or use a shorter prompt")
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return _user_limit(low, engine, batch)


@dataclass
class _Unit:
    """A distinct piece of source text to translate (identical pieces share one unit)."""

    text: str
    ids: list[int]
    output: Generation | None = None
    cached: bool = False

    def piece(self, source: str, clean: bool = False) -> Piece:
        out = self.output
        if clean:
            text, applied = clean_output(out.text)
            if applied:
                return Piece(source, text, len(self.ids), out.n_tokens, out.hit_cap, self.cached,
                             raw=out.text)
        return Piece(source, out.text, len(self.ids), out.n_tokens, out.hit_cap, self.cached)


class PipelineTranslator:
    """A :class:`Translator` that runs the full segment pipeline over an :class:`Engine`.

    Args:
        decode: generation settings: the engine's own, except for the output length
            (``length_ratio``, ``length_margin``, ``max_new_tokens``); anything else is an error.
        cache: where finished pieces are stored; ``None`` keeps nothing between runs.
        progress: show a tqdm progress bar (segments/s and tokens/s).
        level: ``sentence`` (one segment per model input) or ``document`` (causal LMs only:
            several lines per prompt, see :meth:`translate_documents`).
        document_prompt: the document-level prompt (a :mod:`summ.prompts` name, a template
            text or a Prompt; default ``translate-document``).

    Raises:
        ConfigError: decode settings other than the engine's, an unknown level, or
            document level for an engine without prompts.
    """

    def __init__(
        self,
        engine: Engine,
        decode: DecodeConfig = DecodeConfig(),
        batch: BatchConfig = BatchConfig(),
        cache=None,
        progress: bool = False,
        level: str = "sentence",
        document_prompt=None,
    ) -> None:
        # The engine generates with the settings it was loaded with; the pipeline's own copy sets
        # the length cap and the cache key. Any other difference would file outputs of one
        # setting under another's key.
        built = getattr(engine, "decode", None)
        length = ("length_ratio", "length_margin", "max_new_tokens")

        def beyond_length(d: DecodeConfig) -> dict:
            return {k: v for k, v in asdict(d).items() if k not in length}

        if isinstance(built, DecodeConfig) and beyond_length(built) != beyond_length(decode):
            raise ConfigError(f"the pipeline's decode settings ({decode}) differ from those "
                              f"{engine.name} was loaded with ({built}) beyond the output "
                              "length; load the engine with them")
        if level not in LEVELS:
            raise ConfigError(f"unknown translation level {level!r}; choose {', '.join(LEVELS)}")
        wants_prompt = level == "document" or document_prompt is not None
        if wants_prompt and not hasattr(engine, "with_prompt"):
            raise ConfigError(f"document-level translation needs a prompted model (a causal LM); "
                              f"{engine.model_id} is not one")
        self.engine = engine
        self.decode = decode
        self.batch = batch
        self.cache = cache
        self.progress = progress
        self.level = level
        self.limit = input_limit(engine, decode, batch)
        # Prompted models (causal LMs) get their chatter stripped and the prompt-echo check.
        self.markers: tuple[str, ...] = tuple(getattr(engine, "prompt_markers", ()) or ())
        self.prompted = bool(self.markers) or getattr(engine, "context_tokens", None) is not None
        self.tgt_lang: str | None = getattr(engine, "tgt_lang", None)
        # Tokens the prompt adds: the output cap is computed from the source alone.
        self.overhead: int = getattr(engine, "prompt_tokens", 0) or 0
        self._document: PipelineTranslator | None = None
        if level == "document":
            chosen = document_prompt if document_prompt is not None else "translate-document"
            view = engine.with_prompt(chosen, "document")
            self._document = PipelineTranslator(view, decode=decode, batch=batch, cache=cache,
                                                progress=progress)

    # The protocol -------------------------------------------------------------------

    def translate(self, segments: list[str]) -> list[str]:
        return self.translate_segments(segments).translations

    # Segments -----------------------------------------------------------------------

    def _count(self, text: str) -> int:
        return len(self.engine.encode([text])[0])

    def translate_segments(self, segments: Sequence[str],
                           check_arabic: bool = True) -> SegmentsResult:
        """Translate sentence-level segments; see the module docstring for the steps."""
        if isinstance(segments, str):
            raise TypeError("translate_segments takes a list of strings, not a string")
        started = time.perf_counter()
        stats = RunStats(segments=len(segments))
        stripped = [s.strip() for s in segments]
        nonempty = [i for i, s in enumerate(stripped) if s]
        stats.empty = len(segments) - len(nonempty)

        encoded = self.engine.encode([stripped[i] for i in nonempty]) if nonempty else []
        token_counts = dict(zip(nonempty, (len(e) for e in encoded)))
        units: dict[str, _Unit] = {}
        plan: dict[int, list[str]] = {}  # segment index -> its pieces, whitespace kept
        for i, ids in zip(nonempty, encoded):
            text = stripped[i]
            if len(ids) <= self.limit:
                pieces = [text]
                units.setdefault(text, _Unit(text, ids))
            else:
                pieces = seg.split_to_fit(text, self._count, self.limit)
                keys = [p.strip() for p in pieces]
                for key, piece_ids in zip(keys, self.engine.encode(keys)):
                    units.setdefault(key, _Unit(key, piece_ids))
                logger.info("segment %d (%d tokens) split into %d pieces of <= %d tokens",
                            i, len(ids), len(pieces), self.limit)
            plan[i] = pieces
        stats.pieces = sum(len(p) for p in plan.values())
        stats.split_segments = sum(1 for p in plan.values() if len(p) > 1)
        stats.source_tokens = sum(token_counts.values())

        self._fill(list(units.values()), stats)

        translations: list[str] = []
        records: list[SegmentRecord] = []
        for i, source in enumerate(stripped):
            if i not in plan:
                translations.append("")
                records.append(SegmentRecord(source, "", 0, (), ()))
                continue
            pieces = tuple(units[p.strip()].piece(p, clean=self.prompted) for p in plan[i])
            text = " ".join(p.translation.strip() for p in pieces if p.translation.strip())
            flags = self._flags(source, text, pieces, check_arabic)
            _count_flags(stats, flags)
            translations.append(text)
            records.append(SegmentRecord(source, text, token_counts[i], pieces, flags))
        stats.seconds = time.perf_counter() - started
        return SegmentsResult(translations, records, stats)

    def _flags(self, source: str, text: str, pieces: tuple[Piece, ...],
               check_arabic: bool) -> tuple[str, ...]:
        checks = (
            ("split", len(pieces) > 1),
            ("capped", any(p.hit_cap for p in pieces)),
            ("not-arabic", check_arabic and not seg.is_arabic(source)),
            ("repetition", is_repetitive(text)),
            # A model that emits only </s> or special tokens: the line stays aligned (blank or
            # shorter), so it must be flagged rather than pass as translated.
            ("empty-output", not all(p.translation.strip() for p in pieces)),
            ("stripped", any(p.raw is not None for p in pieces)),
        )
        flags = [name for name, failed in checks if failed]
        flags += output_flags(source, text, tgt_lang=self.tgt_lang, markers=self.markers)
        return tuple(flags)

    def cap(self, n_ids: int) -> int:
        """The output cap of a piece of ``n_ids`` encoded tokens (prompt excluded for LLMs)."""
        source = max(n_ids - self.overhead, 0)
        return output_cap(source, self.decode, self.engine.max_output_tokens)

    def _batches(self, todo: list[_Unit]) -> list[list[_Unit]]:
        """Length-sorted batches within the token budget, never mixing output caps."""
        # Longest first: an out-of-memory batch shows early.
        todo = sorted(todo, key=lambda u: len(u.ids), reverse=True)
        batches: list[list[_Unit]] = []
        current: list[_Unit] = []
        for unit in todo:
            if current:
                width = len(current[0].ids)  # sorted: the first is the longest
                same_cap = self.cap(len(unit.ids)) == self.cap(width)
                fits = ((len(current) + 1) * width <= self.batch.batch_tokens
                        and len(current) < self.batch.max_batch_size)
                if not (same_cap and fits):
                    batches.append(current)
                    current = []
            current.append(unit)
        if current:
            batches.append(current)
        return batches

    def _fill(self, units: list[_Unit], stats: RunStats) -> None:
        """Give every unit an output: from the cache, else from the engine (then cache it)."""
        if self.cache is not None and units:
            found = self.cache.get_many(self._key_parts(), [u.text for u in units])
            for unit in units:
                if unit.text in found:
                    unit.output = Generation(*found[unit.text])
                    unit.cached = True
        todo = [u for u in units if u.output is None]
        stats.cache_hits = len(units) - len(todo)
        stats.translated = len(todo)
        if not todo:
            return
        bar = _progress(len(todo), self.progress)
        pending: list[_Unit] = []
        try:
            for batch in self._batches(todo):
                cap = self.cap(len(batch[0].ids))
                t0 = time.perf_counter()
                outputs = self.engine.generate([u.ids for u in batch], cap)
                stats.engine_seconds += time.perf_counter() - t0
                if len(outputs) != len(batch):
                    raise RuntimeError(f"engine returned {len(outputs)} outputs for {len(batch)} "
                                       "inputs")
                for unit, out in zip(batch, outputs):
                    unit.output = out
                    stats.output_tokens += out.n_tokens
                pending.extend(batch)
                if self.cache is not None and len(pending) >= self.batch.commit_every:
                    self._store(pending)
                    pending = []
                if bar is not None:
                    bar.update(len(batch))
                    bar.set_postfix(tok_s=f"{stats.tokens_per_s:.0f}")
        finally:
            # Whatever finished is kept, even when a later batch fails or the run is interrupted.
            if self.cache is not None and pending:
                self._store([u for u in pending if u.output is not None])
            if bar is not None:
                bar.close()

    def _key_parts(self) -> dict:
        return {
            "model": self.engine.model_id,
            "revision": self.engine.revision,
            "engine": self.engine.name,
            "settings": {**self.engine.settings(), "decode": asdict(self.decode)},
        }

    def _store(self, units: list[_Unit]) -> None:
        entries = [(u.text, (u.output.text, u.output.n_tokens, u.output.hit_cap)) for u in units]
        self.cache.put_many(self._key_parts(), entries)

    # Documents ----------------------------------------------------------------------

    def translate_documents(self, documents: Sequence[str], *,
                            html: str = "strip") -> DocumentsResult:
        """Normalise and segment each document, translate all segments together, rebuild each.

        At ``level="document"`` the unit is the line: consecutive lines of a document are
        packed into one prompt (a window, the lines joined by newlines) while prompt, lines and
        output cap fit the context, and the model is asked for as many lines back. The answer's
        non-blank lines are the window's translations, one to one, *only* when their number
        matches; otherwise (and for a line too long for a window of its own) the lines are
        translated sentence by sentence as at ``level="sentence"`` and flagged ``doc-fallback``
        (counted in ``RunStats.doc_fallback``). Lines are never merged or shifted. The records
        of mapped lines have the line as ``source``, the window as piece.

        ``html``: ``strip`` removes tags and decodes entities; ``keep`` leaves them.
        """
        segmented = _segmented(documents, html)
        if self._document is not None:
            return self._document_level(segmented)
        result = self.translate_segments([s.text for doc in segmented for s in doc])
        outs = _per_document(segmented, result.translations)
        texts = [seg.rebuild(doc, out) for doc, out in zip(segmented, outs)]
        records = _per_document(segmented, result.records)
        logger.debug("translated %d documents: %s", len(documents), result.stats.line())
        return DocumentsResult(texts, segmented, records, result.stats)

    def _document_level(self, segmented: list[list[seg.Segment]]) -> DocumentsResult:
        """Document-level translation of segmented documents (see :meth:`translate_documents`)."""
        started = time.perf_counter()
        doc = self._document
        assert doc is not None
        windows: list[list[list[seg.Segment]]] = []  # window -> its lines -> their segments
        owner: list[int] = []  # window -> document index
        for d, segments in enumerate(segmented):
            lines = [list(line) for _, line in
                     itertools.groupby(segments, key=lambda s: (s.paragraph, s.line))]
            current: list[list[seg.Segment]] = []
            for line in lines:
                if current and doc._count(_window_text(current + [line])) > doc.limit:
                    windows.append(current)
                    owner.append(d)
                    current = []
                current.append(line)
            if current:
                windows.append(current)
                owner.append(d)
        texts = [_window_text(w) for w in windows]
        fits = [doc._count(t) <= doc.limit for t in texts]
        sent = [t for t, ok in zip(texts, fits) if ok]
        result = doc.translate_segments(sent, check_arabic=False)
        window_records = iter(result.records)
        stats = RunStats()
        stats.add(result.stats)
        # window -> its record and (line, translation) pairs
        mapped: dict[int, tuple[SegmentRecord, list[tuple[str, str]]]] = {}
        for w, ok in enumerate(fits):
            if not ok:
                logger.info("a line of %d+ tokens is too long for one document-level prompt: "
                            "translated sentence by sentence", doc.limit)
                continue
            record = next(window_records)
            sources = [_line_text(line) for line in windows[w]]
            answer = [x.strip() for x in record.translation.split("\n") if x.strip()]
            if len(answer) == len(sources):
                mapped[w] = record, list(zip(sources, answer))
            else:
                logger.warning("document-level answer has %d lines for %d source lines: those "
                               "lines are translated sentence by sentence (doc-fallback)",
                               len(answer), len(sources))
        fallback = [s.text for w, lines in enumerate(windows) if w not in mapped
                    for line in lines for s in line]
        fb = self.translate_segments(fallback)
        stats.add(fb.stats)
        fb_records = iter(fb.records)
        out_segments: list[list[seg.Segment]] = [[] for _ in segmented]
        out_records: list[list[SegmentRecord]] = [[] for _ in segmented]
        for w, lines in enumerate(windows):
            d = owner[w]
            if w in mapped:
                record, pairs = mapped[w]
                for line, (source, text) in zip(lines, pairs):
                    out_segments[d].append(seg.Segment(source, line[0].paragraph, line[0].line, 0))
                    flags = self._line_flags(source, text, record)
                    out_records[d].append(SegmentRecord(source, text, record.source_tokens,
                                                        record.pieces, flags))
            else:
                for line in lines:
                    for s in line:
                        r = next(fb_records)
                        out_segments[d].append(s)
                        out_records[d].append(replace(r, flags=(*r.flags, "doc-fallback")))
        # The counters describe the records returned (lines and fallback sentences), not the
        # windows: recounted from their flags.
        flat = [r for records in out_records for r in records]
        for name in _COUNTERS.values():
            setattr(stats, name, 0)
        for r in flat:
            _count_flags(stats, r.flags, split=True)
        stats.doc_fallback = sum("doc-fallback" in r.flags for r in flat)
        stats.segments, stats.empty = len(flat), 0
        stats.pieces = len(mapped) + fb.stats.pieces
        stats.seconds = time.perf_counter() - started
        texts_out = [seg.rebuild(segs, [r.translation for r in recs])
                     for segs, recs in zip(out_segments, out_records)]
        return DocumentsResult(texts_out, out_segments, out_records, stats)

    def _line_flags(self, source: str, text: str, window: SegmentRecord) -> tuple[str, ...]:
        """Flags of one line of a mapped window: the window's own, then the line's checks."""
        flags = [f for f in ("capped", "stripped", "prompt-echo") if f in window.flags]
        if not seg.is_arabic(source):
            flags.append("not-arabic")
        if is_repetitive(text):
            flags.append("repetition")
        flags += [f for f in output_flags(source, text, tgt_lang=self.tgt_lang) if f not in flags]
        return tuple(flags)


#: Translation levels: one segment per model input, or several lines per prompt.
LEVELS: tuple[str, ...] = ("sentence", "document")

_COUNTERS = {"split": "split_segments", "capped": "capped", "not-arabic": "not_arabic",
             "repetition": "repetition", "empty-output": "empty_output",
             "wrong-script": "wrong_script", "too-long": "too_long", "prompt-echo": "prompt_echo",
             "stripped": "stripped"}


def _count_flags(stats: RunStats, flags: Sequence[str], split: bool = False) -> None:
    """Add one record's flags to the counters (``split`` too when asked: translate_segments
    counts splits where it makes them)."""
    for flag in flags:
        counter = _COUNTERS.get(flag)
        if counter is not None and (split or flag != "split"):
            setattr(stats, counter, getattr(stats, counter) + 1)


def _segmented(documents: Sequence[str], html: str) -> list[list[seg.Segment]]:
    if isinstance(documents, str):
        raise TypeError("translate_documents takes a list of documents, not a string")
    return [seg.segment(seg.normalise(doc, html=html), normalised=True) for doc in documents]


def _per_document(segmented: list[list[seg.Segment]], flat: Sequence[_T]) -> list[list[_T]]:
    """``flat`` (one item per segment of all documents) cut back into documents."""
    out, start = [], 0
    for doc in segmented:
        out.append(list(flat[start : start + len(doc)]))
        start += len(doc)
    return out


def _line_text(line: list[seg.Segment]) -> str:
    return " ".join(s.text for s in line)


def _window_text(lines: list[list[seg.Segment]]) -> str:
    return "\n".join(_line_text(line) for line in lines)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="seg", desc="translating", smoothing=0.1)


# --------------------------------------------------------------------------------------
# Public entry points.
# --------------------------------------------------------------------------------------

def load_translator(
    model: str,
    engine: str = "hf",
    *,
    device: str = "auto",
    revision: str | None = None,
    decode: DecodeConfig = DecodeConfig(),
    batch: BatchConfig = BatchConfig(),
    cache: str | None = None,
    progress: bool = False,
    level: str = "sentence",
    document_prompt=None,
    **options,
) -> PipelineTranslator:
    """Load an Arabic→English translator by hub id or local path.

    Args:
        model: hub id (``Helsinki-NLP/opus-mt-ar-en``) or a local directory.
        engine: ``"hf"`` (transformers) or ``"ct2"`` (CTranslate2); see
            :data:`summ.engines.base.ENGINES`.
        device: ``"auto"`` (cuda, then mps, then cpu), or an explicit device.
        revision: hub branch, tag or commit; resolved to a commit for the cache and manifests.
        cache: path of an SQLite cache file; finished segments survive crashes and reruns.
        level, document_prompt: as :class:`PipelineTranslator`.
        **options: engine options (``dtype``, ``src_lang``, ``tgt_lang``, ``compute_type``;
            for causal LMs ``prompt``, a :mod:`summ.prompts` name or a template text with
            ``{source}``, and ``prompt_format`` ...).

    Returns:
        A translator whose ``translate(list[str]) -> list[str]`` never truncates.

    Raises:
        ConfigError: an unknown level, or a prompt option for a model without prompts.
    """
    if level not in LEVELS:  # before the model loads
        raise ConfigError(f"unknown translation level {level!r}; choose {', '.join(LEVELS)}")
    store = None
    if cache is not None:  # opened first: a bad cache path fails before the model loads
        from summ.cache import Cache

        store = Cache(cache)
    eng = load_engine(model, engine, decode=decode, device=device, revision=revision, **options)
    return PipelineTranslator(eng, decode=decode, batch=batch, cache=store, progress=progress,
                              level=level, document_prompt=document_prompt)


def translate_documents(translator: Translator, documents: Sequence[str], *,
                        html: str = "strip") -> DocumentsResult:
    """Translate whole articles with any :class:`Translator`, preserving their paragraphs.

    A :class:`PipelineTranslator` reports what happened to each segment; another translator
    (anything with ``translate(list[str])``) gets the same segmentation and rebuild, with
    records that hold only sources and translations.

    Raises:
        TypeError: ``documents`` is a string.
        ConfigError: the translator returned a different number of translations.
    """
    if isinstance(translator, PipelineTranslator):
        return translator.translate_documents(documents, html=html)
    segmented = _segmented(documents, html)
    flat = [s.text for doc in segmented for s in doc]
    out = list(translator.translate(flat)) if flat else []
    if len(out) != len(flat):
        raise ConfigError(f"translator returned {len(out)} translations for {len(flat)} segments")
    outs = _per_document(segmented, out)
    texts = [seg.rebuild(doc, o) for doc, o in zip(segmented, outs)]
    records = [[SegmentRecord(s.text, t, 0, (), ()) for s, t in zip(doc, o)]
               for doc, o in zip(segmented, outs)]
    return DocumentsResult(texts, segmented, records, RunStats(segments=len(flat)))
