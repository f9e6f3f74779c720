"""The translation pipeline: segments in, translations out, nothing cut, nothing lost.

Engines (``summ.engines.hf``, ``summ.engines.ct2``) only know how to encode text and run
``generate`` on a batch. Everything that decides *what* reaches the model lives here:

    measure each segment in model tokens
      → split any segment longer than the limit at the best boundary (never truncate)
      → look each piece up in the cache (identical pieces are translated once)
      → sort by length → batches by a token budget → generate → store in the cache
      → restore order → join pieces → flag anything suspicious

Every output that stopped at its length cap, every split, every non-Arabic source and every
repetitive output is counted in a :class:`RunStats` that is logged and returned.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from summ import segment as seg
from summ.engines.base import BatchConfig, DecodeConfig, Engine, Generation, load_engine
from summ.errors import ConfigError

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class SegmentRecord:
    """What happened to one input segment (written by ``--segments``)."""

    source: str
    translation: str
    source_tokens: int
    pieces: tuple[Piece, ...]  # more than one: the segment was split to fit the model
    flags: tuple[str, ...]  # "split", "capped", "not-arabic", "repetition", "empty-output"

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
                            "hit_cap": p.hit_cap} for p in self.pieces]}


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
            f"{self.empty_output} came back empty; {self.cache_hits} from cache, "
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
    """The longest source (in tokens) sent to the model in one piece."""
    limit = engine.max_input_tokens
    if decode.max_new_tokens is None:
        # Leave the decoder room for a full-length output of the longest piece.
        room = int((engine.max_output_tokens - decode.length_margin) / decode.length_ratio)
        limit = min(limit, max(room, 8))
    if batch.max_input_tokens is not None:
        if batch.max_input_tokens > engine.max_input_tokens:
            raise ConfigError(
                f"max_input_tokens={batch.max_input_tokens} exceeds the model's input limit of "
                f"{engine.max_input_tokens} tokens ({engine.model_id})"
            )
        limit = min(limit, batch.max_input_tokens)
    return limit


@dataclass
class _Unit:
    """A distinct piece of source text to translate (identical pieces share one unit)."""

    text: str
    ids: list[int]
    output: Generation | None = None
    cached: bool = False

    def piece(self, source: str) -> Piece:
        out = self.output
        return Piece(source, out.text, len(self.ids), out.n_tokens, out.hit_cap, self.cached)


class PipelineTranslator:
    """A :class:`Translator` that runs the full segment pipeline over an :class:`Engine`.

    Args:
        engine: the loaded model.
        decode: generation settings: the engine's own, except for the output length
            (``length_ratio``, ``length_margin``, ``max_new_tokens``); anything else is an error.
        batch: batching and splitting settings.
        cache: where finished pieces are stored; ``None`` keeps nothing between runs.
        progress: show a tqdm progress bar (segments/s and tokens/s).
    """

    def __init__(
        self,
        engine: Engine,
        decode: DecodeConfig = DecodeConfig(),
        batch: BatchConfig = BatchConfig(),
        cache=None,
        progress: bool = False,
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
        self.engine = engine
        self.decode = decode
        self.batch = batch
        self.cache = cache
        self.progress = progress
        self.limit = input_limit(engine, decode, batch)

    # The protocol -------------------------------------------------------------------

    def translate(self, segments: list[str]) -> list[str]:
        return self.translate_segments(segments).translations

    # Segments -----------------------------------------------------------------------

    def _count(self, text: str) -> int:
        return len(self.engine.encode([text])[0])

    def translate_segments(self, segments: Sequence[str], check_arabic: bool = True) -> SegmentsResult:
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
            pieces = tuple(units[p.strip()].piece(p) for p in plan[i])
            text = " ".join(p.translation.strip() for p in pieces if p.translation.strip())
            flags = self._flags(source, text, pieces, check_arabic)
            for flag, counter in (("capped", "capped"), ("not-arabic", "not_arabic"),
                                  ("repetition", "repetition"), ("empty-output", "empty_output")):
                if flag in flags:
                    setattr(stats, counter, getattr(stats, counter) + 1)
            translations.append(text)
            records.append(SegmentRecord(source, text, token_counts[i], pieces, flags))
        stats.seconds = time.perf_counter() - started
        return SegmentsResult(translations, records, stats)

    @staticmethod
    def _flags(source: str, text: str, pieces: tuple[Piece, ...], check_arabic: bool) -> tuple[str, ...]:
        flags = []
        if len(pieces) > 1:
            flags.append("split")
        if any(p.hit_cap for p in pieces):
            flags.append("capped")
        if check_arabic and not seg.is_arabic(source):
            flags.append("not-arabic")
        if is_repetitive(text):
            flags.append("repetition")
        if not all(p.translation.strip() for p in pieces):
            # A model that emits only </s> or special tokens: the line stays aligned (blank or
            # shorter), so it must be flagged rather than pass as translated.
            flags.append("empty-output")
        return tuple(flags)

    def _batches(self, todo: list[_Unit]) -> list[list[_Unit]]:
        """Length-sorted batches within the token budget, never mixing output caps."""
        todo = sorted(todo, key=lambda u: len(u.ids), reverse=True)  # longest first: OOM shows early
        model_out = self.engine.max_output_tokens
        batches: list[list[_Unit]] = []
        current: list[_Unit] = []
        for unit in todo:
            if current:
                width = len(current[0].ids)  # sorted: the first is the longest
                same_cap = output_cap(len(unit.ids), self.decode, model_out) == output_cap(width, self.decode, model_out)
                fits = (len(current) + 1) * width <= self.batch.batch_tokens and len(current) < self.batch.max_batch_size
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
                cap = output_cap(len(batch[0].ids), self.decode, self.engine.max_output_tokens)
                t0 = time.perf_counter()
                outputs = self.engine.generate([u.ids for u in batch], cap)
                stats.engine_seconds += time.perf_counter() - t0
                if len(outputs) != len(batch):
                    raise RuntimeError(f"engine returned {len(outputs)} outputs for {len(batch)} inputs")
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
        self.cache.put_many(self._key_parts(),
                            [(u.text, (u.output.text, u.output.n_tokens, u.output.hit_cap)) for u in units])

    # Documents ----------------------------------------------------------------------

    def translate_documents(self, documents: Sequence[str], *, html: str = "strip") -> DocumentsResult:
        """Normalise and segment each document, translate all segments together, rebuild each.

        Args:
            documents: article texts (paragraphs separated by blank lines).
            html: ``strip`` removes tags and decodes entities; ``keep`` leaves them.
        """
        if isinstance(documents, str):
            raise TypeError("translate_documents takes a list of documents, not a string")
        segmented = [seg.segment(seg.normalise(doc, html=html), normalised=True) for doc in documents]
        flat = [s.text for doc in segmented for s in doc]
        result = self.translate_segments(flat)
        texts, records, start = [], [], 0
        for doc in segmented:
            outs = result.translations[start : start + len(doc)]
            texts.append(seg.rebuild(doc, outs))
            records.append(result.records[start : start + len(doc)])
            start += len(doc)
        logger.debug("translated %d documents: %s", len(documents), result.stats.line())
        return DocumentsResult(texts, segmented, records, result.stats)


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
    **options,
) -> PipelineTranslator:
    """Load an Arabic→English translator by hub id or local path.

    Args:
        model: hub id (``Helsinki-NLP/opus-mt-ar-en``) or a local directory.
        engine: ``"hf"`` (transformers) or ``"ct2"`` (CTranslate2); see
            :data:`summ.engines.base.ENGINES`.
        device: ``"auto"`` (cuda, then mps, then cpu), or an explicit device.
        revision: hub branch, tag or commit; resolved to a commit for the cache and manifests.
        decode: generation settings.
        batch: batching and splitting settings.
        cache: path of an SQLite cache file; finished segments survive crashes and reruns.
        progress: show a progress bar.
        **options: engine options (``dtype``, ``src_lang``, ``tgt_lang``, ``compute_type`` ...).

    Returns:
        A translator whose ``translate(list[str]) -> list[str]`` never truncates.
    """
    store = None
    if cache is not None:  # opened first: a bad cache path fails before the model loads
        from summ.cache import Cache

        store = Cache(cache)
    eng = load_engine(model, engine, decode=decode, device=device, revision=revision, **options)
    return PipelineTranslator(eng, decode=decode, batch=batch, cache=store, progress=progress)


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
    if isinstance(documents, str):
        raise TypeError("translate_documents takes a list of documents, not a string")
    segmented = [seg.segment(seg.normalise(doc, html=html), normalised=True) for doc in documents]
    flat = [s.text for doc in segmented for s in doc]
    out = list(translator.translate(flat)) if flat else []
    if len(out) != len(flat):
        raise ConfigError(f"translator returned {len(out)} translations for {len(flat)} segments")
    texts, records, start = [], [], 0
    for doc in segmented:
        texts.append(seg.rebuild(doc, out[start : start + len(doc)]))
        records.append([SegmentRecord(s.text, t, 0, (), ()) for s, t in zip(doc, out[start : start + len(doc)])])
        start += len(doc)
    return DocumentsResult(texts, segmented, records, RunStats(segments=len(flat)))
