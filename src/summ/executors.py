"""Where the pipeline runs: in this process (``local``), or on a Ray cluster (``ray``).

The Ray executor is not a second pipeline: each Ray actor loads one translator
(:func:`summ.translate.load_translator`) or one :class:`summ.summary.Summariser` and calls
the method a local run calls (``translate_documents`` or ``summarise``) on one *shard*, a run
of consecutive documents. This module adds the work split, the resume and the reassembly::

    documents ──► shards of ``batch_size`` consecutive documents (one Ray Data row each)
      actor: key = sha256(settings digest, the shard's documents); the digest covers all
             that decides an output (engine model id, revision, name and settings, decode,
             input limit, HTML mode, options, a hash of the summ code that makes outputs)
        └─ STORE/KIND-KEY.jsonl exists ──► read it ("reused")
        └─ otherwise compute it, write it once (summ.data.atomic_write) ("computed")
    driver: rows back by shard index ──► documents in input order, RunStats summed

The shard store replaces the SQLite cache on a cluster (a shared SQLite file is unsafe on
network file systems). A shard file is JSON Lines: a header (format, kind, key, settings,
:class:`~summ.translate.RunStats`, worker) and one line per document, written whole or not
at all, so a kill leaves only finished shards and a rerun recomputes the others; a changed
setting or document changes the key. The store must be a folder every node can read and write.

Failures: a dead actor is restarted by Ray and its shard retried ``max_task_retries`` times
(then reported lost); a shard whose engine raises is not retried (it would raise again).
Either way the other shards finish and are stored, and :class:`ShardsFailedError` names the
failed ones, which a rerun computes.

Ray is imported only when a Ray executor runs (``pip install "summ[ray]"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import logging
import os
import re
import socket
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summ.engines.base import (
    ENGINES,
    BatchConfig,
    DecodeConfig,
    field_problems,
    raise_problems,
    register_engine,
)
from summ.errors import ConfigError, SummError, require

if TYPE_CHECKING:
    from ray.data import Dataset

    from summ.summary import Summary, SummaryConfig
    from summ.translate import DocumentsResult, RunStats

logger = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")

#: Version of the shard file layout; part of every key, so a new layout never reads an old one.
SHARD_FORMAT = 1

#: Folder of finished shards inside a results folder (``summ run``).
SHARDS_DIR = "shards"

# The modules whose code turns documents into outputs: a change in any of them changes the
# settings digest, so shards made by other code are recomputed rather than trusted.
_CODE_MODULES = ("summ.segment", "summ.translate", "summ.summary")
_CODE_PACKAGES = ("summ.engines",)


# --------------------------------------------------------------------------------------
# Configuration.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutorConfig:
    """Where a run executes (``[executor]`` in an experiment config, ``--executor`` flags).

    The defaults are the single-process run every result so far was made with; the Ray
    fields apply to ``kind = "ray"`` only.
    """

    # "local": this process (the SQLite cache resumes it). "ray": Ray Data actors.
    kind: str = "local"
    # Ray cluster to join ("auto", "ray://host:10001", "host:6379"). None: $RAY_ADDRESS if
    # set, else a Ray started on this machine for this run.
    address: str | None = None
    # Actors, each holding one loaded model: one per GPU, or per group of CPU cores.
    actors: int = 1
    # One CPU each: the engines are fastest single-threaded with one actor per core (Ray sets
    # OMP_NUM_THREADS to this number).
    cpus_per_actor: float = 1.0
    # 1 for a GPU per actor (Ray then needs an explicit batch size, which summ always gives).
    gpus_per_actor: float = 0.0
    # Documents per shard (the unit of work, retry and resume): enough that length-sorted
    # batches fill up (BatchConfig.max_batch_size is 64), few enough that a kill loses little.
    batch_size: int = 64
    # Tries of a shard after its actor died (see _map_options). Ray Data's default, infinite,
    # loops forever on an input that kills its actor; 0 would also lose a shard merely sent to
    # an actor while it restarted (measured: Ray 2.60).
    max_task_retries: int = 3
    # Folder of finished shards (shared by all nodes). None: the results folder's shards/
    # for `summ run`, $SUMM_SHARDS or the user cache for `summ translate`.
    shards: str | None = None

    def __post_init__(self) -> None:
        # The same rule tables as DecodeConfig: one error for a config, the CLI and Python.
        problems = [] if self.kind in EXECUTORS else [
            f"kind must be one of {', '.join(EXECUTORS)}, got {self.kind!r}"]
        problems += field_problems(self, {
            "address": (str, bool, "a Ray address such as auto or host:6379", True),
            "actors": (int, lambda v: v >= 1, "an integer >= 1", False),
            "cpus_per_actor": (float, lambda v: 0 <= v < float("inf"), "a number >= 0", False),
            "gpus_per_actor": (float, lambda v: 0 <= v < float("inf"), "a number >= 0", False),
            "batch_size": (int, lambda v: v >= 1, "an integer >= 1", False),
            "max_task_retries": (int, lambda v: v >= 1, "an integer >= 1", False),
            "shards": (str, bool, "a folder path", True),
        })
        raise_problems("executor", problems)


def default_shards_dir() -> Path:
    """``$SUMM_SHARDS``, else ``shards`` in summ's user cache folder (one machine only: on a
    cluster, give a folder every node mounts)."""
    from summ.data import user_cache_dir

    value = os.environ.get("SUMM_SHARDS")
    return Path(value).expanduser() if value else user_cache_dir("shards")


# --------------------------------------------------------------------------------------
# Shard keys and files.
# --------------------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> str:
    # The cache's rule (summ.cache): sorted keys, anything unusual as its text.
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


def code_fingerprint() -> str:
    """A hash of the summ source files that decide outputs (see ``_CODE_MODULES``)."""
    files: list[Path] = []
    for name in _CODE_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    for name in _CODE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                files.extend(sorted(Path(folder).glob("*.py")))
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.name}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def shard_key(settings_digest: str, documents: Sequence[str]) -> str:
    """The content key of one shard: its settings and its documents, in order."""
    return _digest(settings_digest + "\n" + json.dumps(list(documents), ensure_ascii=False))


def shard_path(store: str | os.PathLike, kind: str, key: str) -> Path:
    """Where the shard of ``kind`` (``translate`` or ``summary``) with ``key`` is stored."""
    return Path(store) / f"{kind}-{key}.jsonl"


def read_shard(text: str) -> tuple[dict, list[dict]]:
    """``(header, documents)`` of a shard file's text.

    Raises:
        ValueError: not a shard of :data:`SHARD_FORMAT`, or its line count is not the
            header's document count.
    """
    lines = text.splitlines()
    if not lines:
        raise ValueError("empty shard")
    header = json.loads(lines[0])
    if header.get("format") != SHARD_FORMAT:
        raise ValueError(f"shard format {header.get('format')!r}, expected {SHARD_FORMAT}")
    documents = [json.loads(line) for line in lines[1:]]
    if len(documents) != header.get("documents"):
        raise ValueError(f"shard holds {len(documents)} documents, its header says "
                         f"{header.get('documents')}")
    return header, documents


def _shard_text(header: dict, documents: list[dict]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in [header, *documents])


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _engine_key(engine: Any) -> dict:
    """What the cache keys an engine by (summ.translate's key parts, from public fields)."""
    return {"model": engine.model_id, "revision": engine.revision, "engine": engine.name,
            "settings": engine.settings()}


# --------------------------------------------------------------------------------------
# Jobs: what an actor loads and runs on one shard.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslateJob:
    """``load_translator``'s arguments, and ``translate_documents``'s (``html``).

    ``engine_target`` is the engine registry's entry, sent along so that an engine
    registered in the driver (:func:`summ.engines.base.register_engine`) loads on the
    workers too, provided its module is importable there.
    """

    model: str
    engine: str = "hf"
    engine_target: str = ""
    device: str = "auto"
    revision: str | None = None
    decode: DecodeConfig = DecodeConfig()
    batch: BatchConfig = BatchConfig()
    options: dict = field(default_factory=dict, hash=False)
    html: str = "strip"
    kind = "translate"

    def load(self) -> Any:
        from summ.translate import load_translator

        _register(self.engine, self.engine_target)
        # No SQLite cache on the actors: the shard store is the cluster's resume, and a
        # shared SQLite file is exactly what network file systems corrupt.
        return load_translator(self.model, self.engine, device=self.device,
                               revision=self.revision, decode=self.decode, batch=self.batch,
                               cache=None, progress=False, **self.options)

    def settings(self, translator: Any) -> dict:
        return {"kind": self.kind, "engine_name": self.engine, "options": self.options,
                **_engine_key(translator.engine), "decode": asdict(translator.decode),
                "limit": translator.limit, "html": self.html}

    def run(self, translator: Any, documents: list[str]) -> tuple[dict, list[dict]]:
        """The shard's header fields and one JSON object per document."""
        result = translator.translate_documents(documents, html=self.html)
        docs = [{"text": text, "segments": [asdict(s) for s in segments],
                 "records": [_record_dict(r) for r in records]}
                for text, segments, records in zip(result.texts, result.segments, result.records)]
        engine = translator.engine
        info = {"model_id": engine.model_id, "revision": engine.revision,
                "engine_name": engine.name, "settings": engine.settings()}
        return {"stats": asdict(result.stats), "engine": info}, docs


@dataclass(frozen=True)
class SummaryJob:
    """A :class:`summ.summary.SummaryConfig` (model ids resolved, no cache), for the actors."""

    config: SummaryConfig
    engine_target: str = ""
    kind = "summary"

    def load(self) -> Any:
        from summ.summary import Summariser

        _register(self.config.engine, self.engine_target)
        summariser = Summariser(self.config)
        # Loaded now, not on the first shard: the settings digest needs the engines.
        if self.config.summary_model is not None:
            summariser.pipeline()
        if summariser.translates:
            summariser.translator()
        return summariser

    def settings(self, summariser: Any) -> dict:
        found: dict[str, Any] = {"kind": self.kind, "config": asdict(self.config)}
        if self.config.summary_model is not None:
            pipe = summariser.pipeline()
            found["summariser"] = {**_engine_key(pipe.engine), "decode": asdict(pipe.decode),
                                   "limit": pipe.limit}
        if summariser.translates:
            translator = summariser.translator()
            found["translator"] = {**_engine_key(translator.engine),
                                   "decode": asdict(translator.decode), "limit": translator.limit}
        return found

    def run(self, summariser: Any, documents: list[str]) -> tuple[dict, list[dict]]:
        summaries = summariser.summarise(documents)
        info = {}
        if self.config.summary_model is not None:
            info["summary_revision"] = summariser.pipeline().engine.revision
        if summariser.translates:
            info["translation_revision"] = summariser.translator().engine.revision
        return {"engine": info}, [s.as_dict() for s in summaries]


def _register(engine: str, target: str) -> None:
    if target and ENGINES.get(engine) != target:
        register_engine(engine, target)


def _record_dict(record: Any) -> dict:
    # SegmentRecord.as_dict leaves out `cached` (a fact about one run); the shard keeps it so
    # that the records come back exactly as the actor made them.
    return {**record.as_dict(), "pieces": [asdict(p) for p in record.pieces]}


# --------------------------------------------------------------------------------------
# The actor.
# --------------------------------------------------------------------------------------


class ShardWorker:
    """A Ray Data callable class: one loaded model, one shard per row.

    Rows are ``{"shard": index, "documents": JSON list of texts}``; each becomes
    ``{"shard", "status", "payload", "error"}`` with status ``computed``, ``reused`` or
    ``failed`` and the shard file's text as payload. An exception from the pipeline fails
    only its shard (logged with its traceback on the worker); a dying actor is Ray's to retry.
    ``store`` is the shard folder; ``None`` keeps nothing (every shard is computed).
    """

    def __init__(self, job: TranslateJob | SummaryJob, store: str | None) -> None:
        self.job = job
        self.store = store
        self.runner = job.load()
        self.settings = {"format": SHARD_FORMAT, "code": code_fingerprint(),
                         **job.settings(self.runner)}
        self.settings_digest = _digest(_canonical(self.settings))

    def shard(self, documents: list[str]) -> tuple[str, str]:
        """``(status, shard text)`` for one shard: read from the store, else computed (what
        the pipeline raises propagates)."""
        key = shard_key(self.settings_digest, documents)
        path = shard_path(self.store, self.job.kind, key) if self.store is not None else None
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                header, _ = read_shard(text)
                if header.get("key") == key:
                    return "reused", text
                logger.warning("%s holds key %s, not %s: recomputing it", path,
                               header.get("key"), key)
            except ValueError as exc:
                logger.warning("%s is not a readable shard (%s): recomputing it", path, exc)
        started, wall_start = time.perf_counter(), time.time()
        fields, docs = self.job.run(self.runner, documents)
        header = {"format": SHARD_FORMAT, "kind": self.job.kind, "key": key,
                  "settings_digest": self.settings_digest, "documents": len(docs), **fields,
                  "settings": self.settings,
                  "worker": {"host": socket.gethostname(), "pid": os.getpid(),
                             "start_time": round(wall_start, 3),
                             "seconds": round(time.perf_counter() - started, 3),
                             "peak_rss_mb": _peak_rss_mb(),
                             "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
        text = _shard_text(header, docs)
        if path is not None:
            from summ.data import atomic_write

            with atomic_write(path) as fh:
                fh.write(text)
        return "computed", text

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        out: dict[str, list] = {"shard": [], "status": [], "payload": [], "error": []}
        for index, documents in zip(batch["shard"], batch["documents"]):
            try:
                status, text, error = *self.shard(json.loads(documents)), ""
            # Any exception: one shard's failure (a bad input, a bug in an engine) must not cost
            # the other shards their run; it is reported with its documents by the driver.
            except Exception as exc:  # noqa: BLE001
                logger.exception("shard %d failed", int(index))
                status, text, error = "failed", "", _one_line(exc)
            out["shard"].append(int(index))
            out["status"].append(status)
            out["payload"].append(text)
            out["error"].append(error)
        return {"shard": np.array(out["shard"], dtype=np.int64),
                **{k: np.array(v, dtype=object) for k, v in out.items() if k != "shard"}}


class DocumentWorker(ShardWorker):
    """:class:`ShardWorker` over a Ray ``Dataset`` of documents: each batch is one shard.

    The batch gains ``translation`` (the English document) and ``segments`` (JSON: one
    object per segment, as ``summ translate --segments`` writes them). A failure raises, so
    Ray Data fails the dataset loudly (finished shards stay in the store for a rerun).
    """

    def __init__(self, job: TranslateJob, store: str | None, column: str) -> None:
        super().__init__(job, store)
        self.column = column

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        from summ.files import segment_objects

        documents = [str(d) for d in batch[self.column]]
        _, text = self.shard(documents)
        _, docs = read_shard(text)
        result = _documents_result(docs, _stats(None))
        return {**batch,
                "translation": np.array(result.texts, dtype=object),
                "segments": np.array([json.dumps(segment_objects(r, {}), ensure_ascii=False)
                                      for r in result.records], dtype=object)}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, SummError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------------------
# The driver.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedShard:
    """A shard with no result: its position, its documents (0-based, inclusive), why."""

    index: int
    first: int
    last: int
    error: str

    def line(self) -> str:
        if self.first == self.last:
            docs = f"document {self.first + 1}"
        else:
            docs = f"documents {self.first + 1}-{self.last + 1}"
        return f"shard {self.index} ({docs}): {self.error}"


class ShardsFailedError(SummError):
    """Some shards failed; the others are stored, and a rerun computes only the failed ones."""

    def __init__(self, failed: list[FailedShard], total: int, store: str | None) -> None:
        self.failed = failed
        kept = f"the other {total - len(failed)} are stored in {store}" if store else \
            f"the other {total - len(failed)} finished (no shard store: a rerun redoes them)"
        shown = "; ".join(f.line() for f in failed[:3])
        more = f"; and {len(failed) - 3} more (listed above)" if len(failed) > 3 else ""
        super().__init__(f"{len(failed)} of {total} shards failed, so their documents have no "
                         f"output ({kept}; a rerun computes only the failed ones): {shown}{more}")


@dataclass
class ShardRun:
    """What one Ray run of a job gave: per shard, its header and documents (input order)."""

    headers: list[dict]
    documents: list[list[dict]]
    computed: int
    reused: int
    store: str | None
    wall_s: float

    @property
    def shards(self) -> int:
        return len(self.headers)

    def line(self) -> str:
        where = f" in {self.store}" if self.store else ""
        return (f"{self.shards} shards: {self.computed} computed, {self.reused} reused{where}, "
                f"{self.wall_s:.1f} s on Ray")


def connect(address: str | None = None) -> Any:
    """Ray, connected: the running session if there is one, else ``address``, else
    ``$RAY_ADDRESS``, else a Ray started here (no dashboard).

    Raises:
        MissingDependencyError: Ray is not installed.
    """
    require("ray.data", extra="ray")  # Ray Data too: `pip install ray` alone lacks it
    ray = require("ray", extra="ray")
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        if address is None:
            options["include_dashboard"] = False  # a local run needs no web UI
        ray.init(address=address, **options)
        logger.info("Ray %s: %s", ray.__version__, address or "started on this machine")
    return ray


def _map_options(executor: ExecutorConfig, shards: int | None = None) -> dict:
    """``map_batches`` arguments for an actor pool of ``executor``."""
    import ray.data

    actors = executor.actors if shards is None else max(1, min(executor.actors, shards))
    options: dict[str, Any] = {
        # One task in flight per actor: a slow shard never holds queued ones hostage (shards
        # are seconds to minutes of work, so the dispatch gap costs nothing measurable).
        "compute": ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        "num_cpus": executor.cpus_per_actor,
        # Restarts unlimited, tries per shard limited: a fixed-size pool whose actors have all
        # used up a finite max_restarts is never refilled, and the job then waits forever
        # (measured: Ray 2.60, one actor, max_restarts=1, a shard that kills it twice). Deaths
        # stay finite: at most max_task_retries + 1 per shard.
        "max_restarts": -1,
        "max_task_retries": executor.max_task_retries,
    }
    if executor.gpus_per_actor:
        options["num_gpus"] = executor.gpus_per_actor
    return options


def _map_batches(dataset: Any, worker: type, kwargs: dict, batch_size: int, options: dict) -> Any:
    with warnings.catch_warnings():
        # Ray 2.60 deprecates **ray_remote_args, yet max_restarts and max_task_retries have no
        # named parameter there; pyproject pins ray below 2.64, which removes them.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return dataset.map_batches(worker, fn_constructor_kwargs=kwargs, batch_size=batch_size,
                                   **options)


# How a worker's summ error appears in the text of the Ray error that reports it.
_SUMM_ERROR = re.compile(r"summ\.errors\.(\w+): (.+)")


def _cause(exc: BaseException) -> BaseException:
    """The summ error inside a Ray exception (a worker's ModelNotFoundError...), if any.

    Ray keeps a task's exception as ``cause``; an actor whose ``__init__`` raised (the model
    could not load) is reported by an ActorDiedError that keeps only the text, from which the
    error is rebuilt, so that the user gets its one line and its exit code.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SummError):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    match = _SUMM_ERROR.search(str(exc))
    if match:
        from summ import errors

        cls = getattr(errors, match.group(1), None)
        if isinstance(cls, type) and issubclass(cls, SummError):
            return cls(match.group(2).strip())
    return exc


class RayExecutor:
    """Runs jobs shard by shard on Ray Data actors (``config.kind`` must be ``"ray"``).

    ``store`` is the shard folder (``None`` keeps nothing between runs); ``progress`` shows
    Ray Data's progress bars.
    """

    def __init__(self, config: ExecutorConfig, store: str | os.PathLike | None,
                 progress: bool = False) -> None:
        if config.kind != "ray":
            raise ConfigError(f"RayExecutor needs an executor of kind 'ray', not {config.kind!r}")
        self.config = config
        self.store = None if store is None else str(Path(store).expanduser().resolve())
        self.progress = progress

    def run(self, job: TranslateJob | SummaryJob, documents: Sequence[str]) -> ShardRun:
        """Every shard of ``documents`` through ``job``, in input order.

        Raises:
            ShardsFailedError: some shards failed (the others are stored).
            SummError: the job failed as a whole (e.g. the model cannot be loaded).
        """
        if isinstance(documents, str):
            raise TypeError("run takes a list of documents, not a string")
        documents = list(documents)
        started = time.perf_counter()
        size = self.config.batch_size
        spans = [(start, min(start + size, len(documents)))
                 for start in range(0, len(documents), size)]
        if not spans:
            return ShardRun([], [], 0, 0, self.store, 0.0)
        ray = connect(self.config.address)
        if self.store is not None:
            Path(self.store).mkdir(parents=True, exist_ok=True)
        rows = [{"shard": i, "documents": json.dumps(documents[a:b], ensure_ascii=False)}
                for i, (a, b) in enumerate(spans)]
        # One row per block, so that each row is dispatched (and retried) on its own.
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        context = dataset.context
        context.enable_progress_bars = self.progress
        # A shard whose actor died more often than allowed must not abort the others: its row
        # goes missing and is reported below, with its documents.
        context.max_errored_blocks = -1
        mapped = _map_batches(dataset, ShardWorker, {"job": job, "store": self.store}, 1,
                              _map_options(self.config, len(rows)))
        results: dict[int, dict] = {}
        try:
            for row in mapped.iter_rows():
                results[int(row["shard"])] = row
        except Exception as exc:  # a Ray failure of the whole job: its summ cause if it has one
            cause = _cause(exc)
            if cause is not exc:
                raise cause from None
            raise SummError(f"the Ray job failed: {_one_line(exc)}") from exc
        headers, docs, failed = [], [], []
        counts = {"computed": 0, "reused": 0}
        for i, (a, b) in enumerate(spans):
            row = results.get(i)
            if row is None:
                error = (f"lost: its actor died more than max_task_retries="
                         f"{self.config.max_task_retries} times (Ray's log above says why)")
                failed.append(FailedShard(i, a, b - 1, error))
                continue
            if row["status"] == "failed":
                failed.append(FailedShard(i, a, b - 1, str(row["error"])))
                continue
            header, shard_docs = read_shard(str(row["payload"]))
            if len(shard_docs) != b - a:  # a shard must never shift the documents after it
                raise SummError(f"shard {i} returned {len(shard_docs)} documents for {b - a}")
            counts[str(row["status"])] += 1
            headers.append({**header, "status": row["status"]})
            docs.append(shard_docs)
        for f in failed:
            logger.warning("shard failed: %s", f.line())
        if failed:
            raise ShardsFailedError(failed, len(spans), self.store)
        run = ShardRun(headers, docs, counts["computed"], counts["reused"], self.store,
                       time.perf_counter() - started)
        logger.info("%s", run.line())
        return run


# --------------------------------------------------------------------------------------
# What the rest of summ calls: a translator and a summariser that run on Ray.
# --------------------------------------------------------------------------------------


def _stats(header: dict | None) -> RunStats:
    from summ.translate import RunStats

    if header is None:
        return RunStats()
    stats = RunStats(**header["stats"])
    if header.get("status") == "reused":
        # As a local rerun counts its SQLite hits: every piece came from a finished shard,
        # nothing was generated in this run.
        stats.cache_hits += stats.translated
        stats.translated = stats.output_tokens = 0
        stats.seconds = stats.engine_seconds = 0.0
    return stats


def _documents_result(docs: list[dict], stats: RunStats) -> DocumentsResult:
    from summ.segment import Segment
    from summ.translate import DocumentsResult, Piece, SegmentRecord

    texts, segments, records = [], [], []
    for doc in docs:
        texts.append(doc["text"])
        segments.append([Segment(**s) for s in doc["segments"]])
        records.append([
            SegmentRecord(r["source"], r["translation"], r["source_tokens"],
                          tuple(Piece(**p) for p in r["pieces"]), tuple(r["flags"]))
            for r in doc["records"]])
    return DocumentsResult(texts, segments, records, stats)


class RayTranslator:
    """``translate_documents`` on a Ray cluster, with the results a local
    :class:`~summ.translate.PipelineTranslator` gives (same texts, records and counts).

    Args:
        model: hub id or local folder (``tiny:`` ids are resolved by the caller).
        store: the shard folder; ``None`` keeps nothing between runs.
        device, revision, decode, batch, **options: as :func:`summ.translate.load_translator`.
        progress: Ray Data's progress bars.

    After a call, :attr:`last_run` holds the shard counts and :attr:`engine_info` the
    loaded engine's model id, revision, name and settings, as the actors reported them.
    """

    def __init__(self, model: str, engine: str = "hf", *, executor: ExecutorConfig,
                 store: str | os.PathLike | None, device: str = "auto",
                 revision: str | None = None, decode: DecodeConfig = DecodeConfig(),
                 batch: BatchConfig = BatchConfig(), progress: bool = False,
                 **options: Any) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.job = TranslateJob(model=model, engine=engine, engine_target=ENGINES[engine],
                                device=device, revision=revision, decode=decode, batch=batch,
                                options=dict(options))
        self.executor = RayExecutor(executor, store, progress)
        self.cache = None  # what callers that close a local translator's cache look for
        self.last_run: ShardRun | None = None
        self.engine_info: dict | None = None

    def translate_documents(self, documents: Sequence[str], *,
                            html: str = "strip") -> DocumentsResult:
        """Translate articles shard by shard, as
        :meth:`summ.translate.PipelineTranslator.translate_documents` does in one process.

        Raises:
            TypeError: ``documents`` is a string.
            ShardsFailedError: some shards failed (the others are stored).
        """
        if isinstance(documents, str):
            raise TypeError("translate_documents takes a list of documents, not a string")
        from summ.translate import RunStats

        run = self.executor.run(dataclasses.replace(self.job, html=html), documents)
        self.last_run = run
        stats = RunStats()
        flat: list[dict] = []
        for header, docs in zip(run.headers, run.documents):
            stats.add(_stats(header))
            flat.extend(docs)
            self.engine_info = self.engine_info or header["engine"]
        # Actor-seconds summed above; the run's own duration is the wall clock.
        stats.seconds = run.wall_s
        return _documents_result(flat, stats)


class RaySummariser:
    """:meth:`summ.summary.Summariser.summarise` on a Ray cluster, shard by shard.

    ``config`` has its model ids resolved; ``store`` and ``progress`` as :class:`RayExecutor`.
    """

    def __init__(self, config: SummaryConfig, *, executor: ExecutorConfig,
                 store: str | os.PathLike | None, progress: bool = False) -> None:
        # No SQLite cache on the actors (see TranslateJob.load); left out of the job, the
        # cache path (inside the results folder) cannot make two runs' shard keys differ.
        self.config = config
        self.job = SummaryJob(dataclasses.replace(config, cache=None),
                              ENGINES.get(config.engine, ""))
        self.executor = RayExecutor(executor, store, progress)
        self.last_run: ShardRun | None = None
        self.revisions: dict = {}

    def close(self) -> None:
        """Nothing to close here: each actor's summariser lives and ends with its actor."""

    def summarise(self, documents: list[str]) -> list[Summary]:
        """One summary per document, in order (:meth:`summ.summary.Summariser.summarise`).

        Raises:
            TypeError: ``documents`` is a string.
            ShardsFailedError: some shards failed (the others are stored).
        """
        from summ.summary import Summary

        if isinstance(documents, str):
            raise TypeError("summarise takes a list of documents, not a string")
        run = self.executor.run(self.job, documents)
        self.last_run = run
        out = []
        for header, docs in zip(run.headers, run.documents):
            self.revisions = self.revisions or header["engine"]
            out.extend(Summary(**{**d, "flags": tuple(d["flags"])}) for d in docs)
        return out


def uses_model(config: SummaryConfig) -> bool:
    """Whether a summary strategy runs a model (and so goes to the executor): lead and
    textrank without a translator are a few milliseconds of numpy and stay local."""
    return config.summary_model is not None or config.translation_model is not None


def translate_dataset(
    dataset: Dataset,
    model: str,
    engine: str = "hf",
    *,
    column: str = "text",
    executor: ExecutorConfig = ExecutorConfig(kind="ray"),
    store: str | os.PathLike | None = None,
    device: str = "auto",
    revision: str | None = None,
    decode: DecodeConfig = DecodeConfig(),
    batch: BatchConfig = BatchConfig(),
    html: str = "strip",
    **options: Any,
) -> Dataset:
    """A Ray ``Dataset`` of documents with their translations (lazy, as Ray Data is).

    Each batch of ``executor.batch_size`` rows is one shard through the same
    ``translate_documents`` as a local run; rows keep their columns and gain
    ``translation`` and ``segments`` (JSON, one object per segment). With a ``store``,
    finished batches are kept and a rerun over the same blocks reuses them (the key is the
    batch's content, so a different blocking recomputes but is never wrong). For
    order-preserving results read it with ``DataContext.execution_options.preserve_order``.

    Args:
        dataset: rows with a ``column`` of document texts.
        executor: actors, resources and batch size (``kind`` ``"ray"``).
        store: the shard folder; ``None`` keeps nothing.
        device, revision, decode, batch, **options: as :func:`summ.translate.load_translator`.

    Raises:
        ConfigError: an unknown engine or a non-Ray executor.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if executor.kind != "ray":
        raise ConfigError("translate_dataset needs an executor of kind 'ray', "
                          f"not {executor.kind!r}")
    from summ.engines.base import resolve_model

    job = TranslateJob(model=resolve_model(model), engine=engine, engine_target=ENGINES[engine],
                       device=device, revision=revision, decode=decode, batch=batch,
                       options=dict(options), html=html)
    kept = None if store is None else str(Path(store).expanduser().resolve())
    if kept is not None:
        Path(kept).mkdir(parents=True, exist_ok=True)
    return _map_batches(dataset, DocumentWorker, {"job": job, "store": kept, "column": column},
                        executor.batch_size, _map_options(executor))
