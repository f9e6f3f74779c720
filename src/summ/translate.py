"""The translation pipeline: segments in, translations out, nothing cut, nothing lost.

Engines (``summ.engines.hf``, ``summ.engines.ct2``) only know how to encode text and run
``generate`` on a batch. Everything that decides *what* reaches the model lives here:

    measure each segment in model tokens
      → split any segment longer than the limit at the best boundary (never truncate)
      → look each piece up in the cache (identical pieces are translated once)
      → sort by length → batches by a token budget → generate → store in the cache
      → restore order → join pieces → flag anything suspicious

Every output that stopped at its length cap, every split, every non-Arabic source and every
repetitive output is counted in a :class:`RunSummary` that is logged and returned.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol, runtime_checkable

from summ import segment as seg
from summ.errors import ConfigError

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Configuration: one home for every default, with the reason next to it.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeConfig:
    """Generation settings; they are part of the cache key and of every run's manifest."""

    # opus-mt and NLLB are evaluated with beam search (4-5); greedy or CTranslate2's default
    # of 2 would silently change scores. None = the model's own generation_config value.
    beam_size: int | None = 4
    # 1.0 = no length preference; the models' cards do not ask for more.
    length_penalty: float | None = 1.0
    # 1.0 / 0 = off. Repetition controls change outputs; researchers turn them on knowingly.
    repetition_penalty: float | None = 1.0
    no_repeat_ngram_size: int | None = 0
    # Stop beam search once beam_size hypotheses have finished, as Marian-NMT, fairseq and
    # CTranslate2 do (the opus-mt and NLLB scores were produced that way). None = the model's
    # generation_config; HF's own default (False) keeps searching and differs from CTranslate2.
    early_stopping: bool | None = True
    # Summarisers need a floor; translation does not.
    min_new_tokens: int = 0
    # Output cap = ratio x source tokens + margin, rounded up to the next of 16, 24, 32, 48,
    # 64, 96, ... (segments in a batch share one cap, so caps come in few classes that most
    # segments share). A fixed cap (NLLB's 200, CTranslate2's 256) silently cuts long
    # outputs; this one grows with the input.
    length_ratio: float = 2.0
    length_margin: int = 16
    # Explicit output cap for generation that is not length-relative (summaries); overrides
    # the ratio rule when set.
    max_new_tokens: int | None = None

    def __post_init__(self) -> None:
        # Checked here, not where the values are used, so that the CLI, experiment configs and
        # Python callers all get the same one-line error before any model loads (a beam of 0
        # or a ratio of 0 would otherwise surface as a raw exception, or an empty output, deep
        # inside generate()). Each problem starts with its field name: summ.config prefixes
        # it with the location in the config file.
        inf = float("inf")  # also refuses NaN: every comparison with it is False
        rules = {  # field: (type, test, what the value must be, None allowed)
            "beam_size": (int, lambda v: v >= 1, "an integer >= 1", True),
            "length_penalty": (float, lambda v: -inf < v < inf, "a number", True),
            "repetition_penalty": (float, lambda v: 0 < v < inf, "a number > 0", True),
            "no_repeat_ngram_size": (int, lambda v: v >= 0, "an integer >= 0", True),
            "early_stopping": (bool, lambda v: True, "true or false", True),
            "min_new_tokens": (int, lambda v: v >= 0, "an integer >= 0", False),
            "length_ratio": (float, lambda v: 0 < v < inf, "a number > 0", False),
            "length_margin": (int, lambda v: v >= 0, "an integer >= 0", False),
            "max_new_tokens": (int, lambda v: v >= 1, "an integer >= 1", True),
        }
        problems = []
        for name, (kind, test, what, optional) in rules.items():
            value = getattr(self, name)
            if value is None and optional:
                continue
            # bool is an int subclass (True would pass as a beam of 1); an int is a fine float.
            types = (int, float) if kind is float else kind
            typed = isinstance(value, types) and isinstance(value, bool) == (kind is bool)
            if not typed or not test(value):
                none = " or None" if optional else ""
                problems.append(f"{name} must be {what}{none}, got {value!r}")
        if problems:
            error = ConfigError("DecodeConfig: " + "; ".join(problems))
            error.problems = problems
            raise error


@dataclass(frozen=True)
class BatchConfig:
    """How segments are grouped into model calls; affects speed, never output text."""

    # Padded source tokens per batch: 4096 keeps a 12+12-layer NLLB within a few GB and
    # fills both CPU cores with opus-mt-sized models (see eval/bench).
    batch_tokens: int = 4096
    # Upper bound on sentences per batch, whatever their length: beam search multiplies work.
    max_batch_size: int = 64
    # Split segments longer than this (in model tokens, special tokens included). None = the
    # model's input limit, lowered so that the output cap still fits the decoder's positions.
    max_input_tokens: int | None = None
    # Pieces translated between cache commits: a kill loses at most this much work.
    commit_every: int = 256

    def __post_init__(self) -> None:
        # The same rule as DecodeConfig's: one clear error here rather than an empty batch or
        # an endless loop later. Each problem starts with its field name.
        rules = {  # field: (smallest value, None allowed)
            "batch_tokens": (1, False),
            "max_batch_size": (1, False),
            "max_input_tokens": (1, True),
            "commit_every": (1, False),
        }
        problems = []
        for name, (low, optional) in rules.items():
            value = getattr(self, name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                none = " or None" if optional else ""
                problems.append(f"{name} must be an integer >= {low}{none}, got {value!r}")
        if problems:
            error = ConfigError("BatchConfig: " + "; ".join(problems))
            error.problems = problems
            raise error


# --------------------------------------------------------------------------------------
# What an engine provides.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generation:
    """One model output: its text, its length in tokens, and whether it stopped at the cap."""

    text: str
    n_tokens: int
    hit_cap: bool


@runtime_checkable
class Engine(Protocol):
    """A loaded seq2seq model behind one of the engines (``hf``, ``ct2``)."""

    model_id: str  # what the user passed (hub id or path)
    revision: str  # resolved commit hash, or a content fingerprint for local folders
    name: str  # engine name with its numeric type, e.g. "hf:float32", "ct2:int8"
    max_input_tokens: int  # input positions the model has
    max_output_tokens: int  # output positions the model has (content tokens)

    def settings(self) -> dict:
        """Everything besides the source text that determines an output (cache key, manifest)."""
        ...

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids as the model sees them (special and language tokens included)."""
        ...

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
        """Decode one batch of encoded sources; same length, same order."""
        ...


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
class SegmentRecord:
    """What happened to one input segment (written by ``--segments``)."""

    source: str
    translation: str
    source_tokens: int
    pieces: tuple[str, ...]  # the source as sent to the model: "".join(pieces) == source
    hit_cap: bool  # some piece's output stopped at its length cap
    flags: tuple[str, ...]  # "not-arabic", "repetition", "capped", "split", "empty-output"
    cached: bool  # every piece came from the cache


@dataclass
class RunSummary:
    """Counts for one run: logged at the end and stored in manifests."""

    segments: int = 0
    empty: int = 0
    pieces: int = 0
    split_segments: int = 0
    capped: int = 0
    not_arabic: int = 0
    repetition: int = 0
    empty_output: int = 0  # non-empty sources whose translation (or one of its pieces) came back empty
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

    def add(self, other: RunSummary) -> None:
        for name in asdict(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {**asdict(self), "segments_per_s": round(self.segments_per_s, 3), "tokens_per_s": round(self.tokens_per_s, 3)}

    def line(self) -> str:
        return (
            f"{self.segments} segments ({self.empty} empty), {self.pieces} pieces, {self.split_segments} split, "
            f"{self.capped} hit the length cap, {self.not_arabic} not Arabic, {self.repetition} repetitive, "
            f"{self.empty_output} came back empty; "
            f"{self.cache_hits} from cache, {self.translated} translated, "
            f"{self.segments_per_s:.1f} segments/s, {self.tokens_per_s:.0f} tokens/s"
        )


@dataclass(frozen=True)
class SegmentsResult:
    translations: list[str]
    records: list[SegmentRecord]
    summary: RunSummary


@dataclass(frozen=True)
class DocumentsResult:
    """Translated documents (paragraph structure rebuilt) with what happened to each segment."""

    texts: list[str]
    segments: list[list[seg.Segment]]  # per document, the source segments
    records: list[list[SegmentRecord]]  # per document, aligned with ``segments``
    summary: RunSummary


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
        length = dict(length_ratio=1.0, length_margin=0, max_new_tokens=None)  # any valid values
        if isinstance(built, DecodeConfig) and replace(built, **length) != replace(decode, **length):
            raise ConfigError(f"the pipeline's decode settings ({decode}) differ from those {engine.name} was "
                              f"loaded with ({built}) beyond the output length; load the engine with them")
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
        summary = RunSummary(segments=len(segments))
        stripped = [s.strip() for s in segments]
        nonempty = [i for i, s in enumerate(stripped) if s]
        summary.empty = len(segments) - len(nonempty)

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
                logger.info("segment %d (%d tokens) split into %d pieces of <= %d tokens", i, len(ids), len(pieces), self.limit)
            plan[i] = pieces
        summary.pieces = sum(len(p) for p in plan.values())
        summary.split_segments = sum(1 for p in plan.values() if len(p) > 1)
        summary.source_tokens = sum(token_counts.values())

        self._fill(list(units.values()), summary)

        translations: list[str] = []
        records: list[SegmentRecord] = []
        for i, source in enumerate(stripped):
            if i not in plan:
                translations.append("")
                records.append(SegmentRecord(source, "", 0, (), False, (), True))
                continue
            outs = [units[p.strip()].output for p in plan[i]]
            text = " ".join(o.text.strip() for o in outs if o.text.strip())
            capped = any(o.hit_cap for o in outs)
            flags = []
            if len(plan[i]) > 1:
                flags.append("split")
            if capped:
                flags.append("capped")
                summary.capped += 1
            if check_arabic and not seg.is_arabic(source):
                flags.append("not-arabic")
                summary.not_arabic += 1
            if is_repetitive(text):
                flags.append("repetition")
                summary.repetition += 1
            if not all(o.text.strip() for o in outs):
                # A model that emits only </s> or special tokens: the line stays aligned (blank
                # or shorter), so it must be flagged rather than pass as translated.
                flags.append("empty-output")
                summary.empty_output += 1
            translations.append(text)
            records.append(
                SegmentRecord(source, text, token_counts[i], tuple(plan[i]), capped, tuple(flags),
                              all(units[p.strip()].cached for p in plan[i]))
            )
        summary.seconds = time.perf_counter() - started
        return SegmentsResult(translations, records, summary)

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

    def _fill(self, units: list[_Unit], summary: RunSummary) -> None:
        """Give every unit an output: from the cache, else from the engine (then cache it)."""
        if self.cache is not None and units:
            found = self.cache.get_many(self._key_parts(), [u.text for u in units])
            for unit in units:
                if unit.text in found:
                    unit.output = found[unit.text]
                    unit.cached = True
        todo = [u for u in units if u.output is None]
        summary.cache_hits = len(units) - len(todo)
        summary.translated = len(todo)
        if not todo:
            return
        bar = _progress(len(todo), self.progress)
        pending: list[_Unit] = []
        try:
            for batch in self._batches(todo):
                cap = output_cap(len(batch[0].ids), self.decode, self.engine.max_output_tokens)
                t0 = time.perf_counter()
                outputs = self.engine.generate([u.ids for u in batch], cap)
                summary.engine_seconds += time.perf_counter() - t0
                if len(outputs) != len(batch):
                    raise RuntimeError(f"engine returned {len(outputs)} outputs for {len(batch)} inputs")
                for unit, out in zip(batch, outputs):
                    unit.output = out
                    summary.output_tokens += out.n_tokens
                pending.extend(batch)
                if self.cache is not None and len(pending) >= self.batch.commit_every:
                    self._store(pending)
                    pending = []
                if bar is not None:
                    bar.update(len(batch))
                    rate = summary.output_tokens / summary.engine_seconds if summary.engine_seconds else 0.0
                    bar.set_postfix(tok_s=f"{rate:.0f}")
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
        self.cache.put_many(self._key_parts(), [(u.text, u.output) for u in units])

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
        logger.debug("translated %d documents: %s", len(documents), result.summary.line())
        return DocumentsResult(texts, segmented, records, result.summary)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="seg", desc="translating", smoothing=0.1)


# --------------------------------------------------------------------------------------
# Public entry points.
# --------------------------------------------------------------------------------------

ENGINES = ("hf", "ct2")


def load_engine(model: str, engine: str = "hf", *, decode: DecodeConfig = DecodeConfig(), **options) -> Engine:
    """Load a model with the named engine (imported only now, so ``import summ`` stays light)."""
    if engine == "hf":
        from summ.engines.hf import HFEngine

        return HFEngine.load(model, decode=decode, **options)
    if engine == "ct2":
        from summ.engines.ct2 import CT2Engine

        # Callers that serve both engines (the summariser) pass the HF weight type; CTranslate2
        # chooses its own (compute_type), so only the neutral "auto" may pass through.
        dtype = options.pop("dtype", "auto")
        if dtype != "auto":
            raise ConfigError(f"dtype {dtype!r} applies to engine 'hf'; for 'ct2' use compute_type")
        return CT2Engine.load(model, decode=decode, **options)
    raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


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
        engine: ``"hf"`` (transformers) or ``"ct2"`` (CTranslate2).
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
    eng = load_engine(model, engine, decode=decode, device=device, revision=revision, **options)
    store = None
    if cache is not None:
        from summ.cache import Cache

        store = Cache(cache)
    return PipelineTranslator(eng, decode=decode, batch=batch, cache=store, progress=progress)


def translate_documents(translator: PipelineTranslator, documents: list[str], *, html: str = "strip") -> DocumentsResult:
    """Translate whole articles, preserving their paragraphs; see :class:`PipelineTranslator`."""
    return translator.translate_documents(documents, html=html)


# --------------------------------------------------------------------------------------
# Files: line-aligned text, directories of articles, JSONL. Streaming and atomic.
# --------------------------------------------------------------------------------------

# Lines translated per chunk of a line file: bounds memory (peak RSS does not grow with the
# corpus) while giving length sorting and batching enough material to work with.
CHUNK_LINES = 2000


def _record_json(record: SegmentRecord, where: dict, index: int) -> str:
    import json

    return json.dumps(
        {**where, "segment": index, "source": record.source, "translation": record.translation,
         "source_tokens": record.source_tokens, "split": len(record.pieces) > 1, "pieces": list(record.pieces),
         "hit_cap": record.hit_cap, "flags": list(record.flags), "cached": record.cached},
        ensure_ascii=False,
    )


class _AtomicText:
    """A text file written to ``PATH.partial`` and renamed over ``PATH`` only when complete.

    ``None`` writes to standard output instead (streamed, nothing to rename).
    """

    def __init__(self, path, *, stream=None) -> None:
        import sys
        from pathlib import Path

        self.path = Path(path) if path is not None else None
        self.tmp = self.path.with_name(self.path.name + ".partial") if self.path else None
        self.stream = stream or sys.stdout

    def __enter__(self):
        if self.path is None:
            return self.stream
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = self.tmp.open("w", encoding="utf-8", newline="\n")
        return self.fh

    def __exit__(self, exc_type, exc, tb) -> None:
        import os

        if self.path is None:
            self.stream.flush()
            return
        self.fh.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def translate_file(
    translator: PipelineTranslator,
    path,
    output=None,
    *,
    segments=None,
    encoding: str = "utf-8",
    html: str = "strip",
    chunk_lines: int = CHUNK_LINES,
) -> RunSummary:
    """Translate a text file line by line: exactly one output line per input line.

    A blank or whitespace-only line gives a blank line. The file is decoded once before any
    work, so an encoding error writes nothing; output goes to ``OUTPUT.partial`` and is
    renamed when complete. Finished segments are in the translator's cache, so a killed run
    resumes where it stopped.

    Args:
        translator: the loaded translator.
        path: input text file.
        output: output path; ``None`` streams to standard output.
        segments: optional JSONL path, one object per segment (see :class:`SegmentRecord`).
        encoding: input encoding (``cp1256`` for Windows Arabic).
        html: ``strip`` (tags removed, entities decoded) or ``keep``.
        chunk_lines: lines per chunk; memory is bounded by the chunk, not the file.
    """
    from summ.data import check_text_file, iter_lines

    n_lines = check_text_file(path, encoding)
    logger.info("%s: %d lines", path, n_lines)
    total = RunSummary()
    with _AtomicText(output) as out, _AtomicText(segments) if segments else _Null() as seg_out:
        chunk: list[str] = []
        first_line = 1

        def flush() -> None:
            nonlocal first_line
            result = translator.translate_documents(chunk, html=html)
            for offset, (text, records) in enumerate(zip(result.texts, result.records)):
                # A translation never contains a line break: one line in, one line out.
                out.write(text.replace("\n", " ") + "\n")
                if seg_out is not None:
                    for index, record in enumerate(records):
                        seg_out.write(_record_json(record, {"line": first_line + offset}, index) + "\n")
            total.add(result.summary)
            first_line += len(chunk)
            chunk.clear()

        for line in iter_lines(path, encoding):
            chunk.append(line)
            if len(chunk) >= chunk_lines:
                flush()
        if chunk:
            flush()
    return total


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def translate_articles(
    translator: PipelineTranslator,
    path,
    output_dir,
    *,
    segments=None,
    encoding: str = "utf-8",
    html: str = "strip",
) -> RunSummary:
    """Translate a directory of ``.txt`` articles or a JSONL file of ``{"id", "text"}`` records.

    A directory gives one English ``.txt`` per article in ``output_dir`` (same file names,
    paragraphs preserved); JSONL gives ``output_dir`` as a JSONL file with ``id`` and
    ``translation`` (``None``: standard output).
    """
    import json
    from pathlib import Path

    from summ.data import read_articles

    path = Path(path)
    if path.is_dir() and output_dir is None:  # before any work, not after translating everything
        raise ConfigError(f"{path} is a directory of articles: give --output DIR for the translations")
    docs = read_articles(path, encoding)  # decodes everything first: errors before any output
    result = translator.translate_documents([d.text for d in docs], html=html)
    if path.is_dir():
        for doc, text in zip(docs, result.texts):
            with _AtomicText(Path(output_dir) / f"{doc.id}.txt") as out:
                out.write(text + "\n")
    else:
        with _AtomicText(output_dir) as out:
            for doc, text in zip(docs, result.texts):
                out.write(json.dumps({"id": doc.id, "translation": text}, ensure_ascii=False) + "\n")
    if segments:
        with _AtomicText(segments) as seg_out:
            for doc, records in zip(docs, result.records):
                for index, record in enumerate(records):
                    seg_out.write(_record_json(record, {"document": doc.id}, index) + "\n")
    return result.summary
