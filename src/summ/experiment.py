"""Experiments: systems × datasets (× summary strategies) → a results folder, and nothing else.

``summ run eval/configs/NAME.toml`` reads the config (:mod:`summ.config`, which checks all of
it before any model loads), translates each dataset with each system, scores what it wrote,
and records how in a results folder (outputs, segment records, scores, significance tests,
summaries, the manifest) written through :mod:`summ.results`. Computing is kept apart from
rendering (as in compare-mt): :mod:`summ.report` turns the stored numbers into tables and
plots without re-running or re-scoring anything. With ``[executor] kind = "ray"`` (or
``--executor ray``) systems and model summary strategies run on Ray actors
(:mod:`summ.executors`), shard by shard, resumable from ``RESULTS/shards``; the results
folder is the same as a local run's. A model is a hub id, a local directory, or
``tiny:FAMILY`` (a toy test model from :mod:`summ.testing`, built on first use in
``$SUMM_TINY_MODELS`` or ``~/.cache/summ/tiny-models``).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from summ.config import DatasetConfig, ExperimentConfig, SystemConfig, load_config
from summ.engines.base import resolve_model
from summ.errors import InputError, SummError
from summ.metrics import COMET_METRICS
from summ.results import (
    CONFIG,
    MANIFEST,
    REFERENCE_SUMMARIES,
    SOURCE_SUMMARIES,
    article_path,
    articles_path,
    hypothesis_path,
    prepare,
    read_published,
    safe_file_name,
    segments_path,
    summaries_path,
    write_bytes,
    write_json,
    write_jsonl,
    write_scores,
    write_significance,
    write_summary_scores,
    write_text,
)
# Rows are built here and written by summ.results, which owns their columns.
from summ.results import comparison_row as _comparison_row
from summ.results import score_row as _score_row

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# Constants: each has one home, here.
# --------------------------------------------------------------------------------------

#: Exit status of ``summ run`` when the run finished but some system failed: results are
#: written, but a table with a hole is not a finished experiment, so scripts must notice.
#: Distinct from the error codes (1-4) that mean "nothing was produced".
PARTIAL_FAILURE_EXIT_CODE = 5

# Versions recorded in every manifest (what can change a number).
_PACKAGES = ("summ", "torch", "transformers", "tokenizers", "sentencepiece", "ctranslate2",
             "sacrebleu", "rouge-score", "numpy")


# --------------------------------------------------------------------------------------
# Models.
# --------------------------------------------------------------------------------------


def is_tiny(model: str) -> bool:
    """A tiny test model (summ.testing marks their folders): its scores mean nothing."""
    return (Path(model) / "SUMM_TINY_MODEL").is_file()


# --------------------------------------------------------------------------------------
# Datasets.
# --------------------------------------------------------------------------------------


@dataclass
class LoadedDataset:
    """A dataset in memory: what is translated, what it is scored against, where it came from.

    Attributes:
        kind: ``parallel`` (line-aligned, with references) or ``articles`` (no references).
        sources: one source per line (parallel) or per article (articles).
        refs: reference streams (parallel) or ``None``.
        doc_ids: document id per line (parallel) or article ids (articles); ``None`` for a
            parallel corpus without ids.
        files: role -> path read.
        hashes: path -> sha256.
        total_documents: documents in the full dataset, before ``documents`` cut it.
    """

    config: DatasetConfig
    kind: str
    sources: list[str]
    refs: list[list[str]] | None
    doc_ids: list[str] | None
    files: dict[str, str]
    hashes: dict[str, str]
    total_documents: int

    @property
    def n_documents(self) -> int:
        if self.doc_ids is None:
            return len(self.sources)
        return len(dict.fromkeys(self.doc_ids))


def load_dataset(ds: DatasetConfig) -> LoadedDataset:
    """Read one configured dataset (hashes checked by the loaders), cut to ``documents``.

    Raises:
        InputError: a file is missing, undecodable, misaligned or altered.
    """
    from summ import data

    if ds.type in ("ntrex128", "parallel"):
        if ds.type == "ntrex128":
            corpus = data.load_ntrex128(ds.root)
        else:
            corpus = data.load_parallel(ds.src, list(ds.refs), doc_ids_path=ds.doc_ids,
                                        name=ds.name, encoding=ds.encoding)
        total = len(corpus.documents())
        if ds.documents is not None:
            corpus = corpus.select_documents(ds.documents)
        return LoadedDataset(ds, "parallel", list(corpus.src), [list(r) for r in corpus.refs],
                             None if corpus.doc_ids is None else list(corpus.doc_ids),
                             dict(corpus.files), dict(corpus.hashes), total)
    docs = data.read_articles(ds.path, ds.encoding)
    by_file: dict[str, list[str]] = {}
    for d in docs:
        by_file.setdefault(safe_file_name(d.id), []).append(d.id)
    clashes = [(name, ids) for name, ids in by_file.items() if len(ids) > 1]
    if clashes:
        name, ids = clashes[0]
        raise InputError(f"{ds.path}: article ids {', '.join(map(repr, ids))} would all be "
                         f"written to {name}.txt ({len(clashes)} such "
                         f"clash{'es' if len(clashes) > 1 else ''}); give them distinct ids")
    total = len(docs)
    if ds.documents is not None:
        docs = docs[: ds.documents]
    files = ({f"article:{d.id}": d.meta["path"] for d in docs} if ds.path.is_dir()
             else {"articles": str(ds.path)})
    hashes = {p: data.sha256_file(p) for p in files.values()}
    return LoadedDataset(ds, "articles", [d.text for d in docs], None, [d.id for d in docs], files,
                         hashes, total)


# --------------------------------------------------------------------------------------
# Running.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """What ``summ run`` needs to print and to choose its exit status.

    Attributes:
        path: the results folder.
        ok: systems that finished every dataset.
        failed: system -> its one-line error (the first failure).
        report: files the report step wrote (empty when it was skipped).
        wall_s: seconds the run took.
        failed_summaries: summary strategy -> its one-line error.
    """

    path: Path
    ok: tuple[str, ...]
    failed: dict[str, str]
    report: tuple[Path, ...] = ()
    wall_s: float = 0.0
    failed_summaries: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when everything ran, :data:`PARTIAL_FAILURE_EXIT_CODE` when a system or a summary
        strategy failed (the results are written either way)."""
        return PARTIAL_FAILURE_EXIT_CODE if self.failed or self.failed_summaries else 0


def run_experiment(config_path: str | os.PathLike, *, report: bool = True, progress: bool = False,
                   **overrides: Any) -> RunResult:
    """``summ run CONFIG``: validate, translate, score, record, report.

    Args:
        report: build tables and plots at the end (:func:`summ.report.build_report`).
        progress: show a progress bar per system and dataset.
        **overrides: the keyword arguments of :func:`summ.config.load_config` (``output``,
            ``model``, ``documents``, ``executor={"kind": "ray"}``...).

    Raises:
        ConfigError: the config is invalid (every problem listed), or the output folder is
            not a results folder.
        InputError: a dataset cannot be read.
    """
    return run(load_config(config_path, **overrides), report=report, progress=progress)


def run(config: ExperimentConfig, *, report: bool = True, progress: bool = False) -> RunResult:
    """Run a validated experiment; see :func:`run_experiment`.

    Each system is loaded once and translates every dataset; a system that fails to load or
    to translate (a hub id that does not exist, an engine that is not installed, running out
    of memory) is recorded with its one-line error and the others carry on.
    """
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = config.output
    # All data errors before any model loads, and before the previous results are cleared.
    datasets = [load_dataset(ds) for ds in config.datasets]
    prepare(out)
    write_bytes(out / CONFIG, config.path.read_bytes())
    manifest = _manifest_head(config, datasets, started_at)
    write_json(out / MANIFEST, {**manifest, "status": "running"})

    system_records: dict[str, dict] = {}
    outputs: dict[tuple[str, str], list[str]] = {}  # (dataset, system) -> line-aligned outputs
    for system in config.systems:
        record, produced = _run_system(system, datasets, config, progress)
        system_records[system.name] = record
        outputs.update(produced)

    scored = _score_all(config, datasets, outputs, out)
    significance = _significance_all(config, datasets, outputs, out)
    summaries = _run_summaries(config, datasets, outputs, out, progress)

    failed = {name: rec["error"] for name, rec in system_records.items() if rec["status"] != "ok"}
    failed_summaries = {name: rec["error"] for name, rec in summaries.items()
                        if rec["status"] != "ok"}
    ok = tuple(name for name, rec in system_records.items() if rec["status"] == "ok")
    wall = time.perf_counter() - started
    manifest.update({
        "status": "finished",
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(wall, 3),
        "systems": system_records,
        "signatures": scored,
        "significance": significance,
        "summaries": summaries,
        "failed": failed,
        "failed_summaries": failed_summaries,
    })
    write_json(out / MANIFEST, manifest)
    if failed or failed_summaries:
        # Once more at the end, where it is seen after hours of logs.
        strategies = (f", and summary strategies {', '.join(failed_summaries)}"
                      if failed_summaries else "")
        logger.warning("%d of %d systems failed (%s)%s; their errors are in %s", len(failed),
                       len(config.systems), ", ".join(failed) or "none", strategies,
                       out / MANIFEST)
    files: tuple[Path, ...] = ()
    if report:
        from summ.report import build_report

        files = tuple(build_report(out))
    logger.info("results in %s (%d ok, %d failed, %.1f s)", out, len(ok), len(failed), wall)
    return RunResult(out, ok, failed, files, wall, failed_summaries)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, SummError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _run_system(system: SystemConfig, datasets: list[LoadedDataset], config: ExperimentConfig,
                progress: bool) -> tuple[dict, dict[tuple[str, str], list[str]]]:
    """Load one system and translate every dataset; never raises for the system's own failures."""
    from summ.translate import load_translator

    on_ray = config.executor.kind == "ray"
    record: dict[str, Any] = {
        "model": system.model, "engine": system.engine, "requested_revision": system.revision,
        "device": system.device, "options": system.options,
        "decode": dataclasses.asdict(system.decode), "batch": dataclasses.asdict(system.batch),
        "status": "ok", "error": None, "datasets": {},
    }
    produced: dict[tuple[str, str], list[str]] = {}
    logger.info("system %s: loading %s (%s)", system.name, system.model, system.engine)
    t0 = time.perf_counter()
    translator = None
    try:
        load_as = resolve_model(system.model)
        record.update({"load_path": load_as, "tiny": is_tiny(load_as)})
        if on_ray:
            from summ.executors import RayTranslator

            # Nothing loads here: each actor loads the model, with these very arguments, at
            # the first dataset (which records the engine, see _record_ray).
            translator = RayTranslator(
                load_as, system.engine, executor=config.executor, store=config.shards_path,
                device=system.device, revision=system.revision, decode=system.decode,
                batch=system.batch, progress=progress, **system.options)
            record["executor"] = "ray"
        else:
            translator = load_translator(
                load_as, system.engine, device=system.device, revision=system.revision,
                decode=system.decode, batch=system.batch, cache=str(config.cache_path),
                progress=progress, **system.options)
            engine = translator.engine
            record.update({"model_id": engine.model_id, "revision": engine.revision,
                           "engine_name": engine.name, "settings": engine.settings(),
                           "load_s": round(time.perf_counter() - t0, 3)})
    # Any exception: whatever breaks one system's loading (missing model, engine not
    # installed, bad option, a bug in an engine) must not cost the other systems their run.
    except Exception as exc:  # noqa: BLE001
        logger.debug("system %s failed to load", system.name, exc_info=True)
        record.update({"status": "failed", "error": _one_line(exc), "failed_at": "load"})
        logger.warning("system %s failed to load: %s", system.name, record["error"])
        return record, produced
    try:
        for ds in datasets:
            try:
                lines, info = _translate_dataset(translator, system, ds, config.output)
            except Exception as exc:  # noqa: BLE001 - same reason as above, per dataset
                logger.debug("system %s failed on %s", system.name, ds.config.name, exc_info=True)
                error = _one_line(exc)
                record["datasets"][ds.config.name] = {"status": "failed", "error": error}
                if record["status"] == "ok":  # the first failure is the system's
                    record.update({"status": "failed", "error": error,
                                   "failed_at": ds.config.name})
                logger.warning("system %s failed on %s: %s", system.name, ds.config.name, error)
                continue
            if on_ray:
                _record_ray(record, info, translator)
            record["datasets"][ds.config.name] = info
            produced[(ds.config.name, system.name)] = lines
            logger.info("system %s on %s: %s", system.name, ds.config.name, info["line"])
    finally:
        _release(translator)
    return record, produced


def _record_ray(record: dict, info: dict, translator) -> None:
    """The engine as the actors loaded it (what a local run records at load), and the shards."""
    if "model_id" not in record and translator.engine_info is not None:
        engine = translator.engine_info
        record.update({"model_id": engine["model_id"], "revision": engine["revision"],
                       "engine_name": engine["engine_name"], "settings": engine["settings"]})
    run = translator.last_run
    info["shards"] = {"shards": run.shards, "computed": run.computed, "reused": run.reused,
                      "store": run.store}


def _release(translator) -> None:
    """Free a model before the next one loads: five large models do not fit together."""
    if translator is None:
        return
    if translator.cache is not None:
        translator.cache.close()
    del translator
    gc.collect()
    torch = sys.modules.get("torch")  # only if an engine already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _one_line_text(text: str) -> str:
    # A translation must stay on its line; a model that emits a line break would shift every
    # following line against the references.
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _translate_dataset(translator, system: SystemConfig, ds: LoadedDataset,
                       out: Path) -> tuple[list[str], dict]:
    """Translate a dataset, write its outputs and segment records; return the outputs."""
    result = translator.translate_documents(ds.sources)
    outputs: dict[str, str] = {}
    if ds.kind == "parallel":
        lines = [_one_line_text(t) for t in result.texts]
        hyp = hypothesis_path(out, ds.config.name, system.name)
        write_text(hyp, "".join(line + "\n" for line in lines))
        outputs["text"] = str(hyp.relative_to(out))
    else:
        lines = list(result.texts)
        article_dir = articles_path(out, ds.config.name, system.name)
        article_dir.mkdir(parents=True, exist_ok=True)
        for doc_id, text in zip(ds.doc_ids, lines):
            write_text(article_path(out, ds.config.name, system.name, doc_id), text + "\n")
        outputs["articles"] = str(article_dir.relative_to(out))
    seg_path = segments_path(out, ds.config.name, system.name)
    write_jsonl(seg_path, _segment_objects(ds, result))
    outputs["segments"] = str(seg_path.relative_to(out))
    stats = result.stats
    return lines, {"status": "ok", "summary": stats.as_dict(), "line": stats.line(),
                   "outputs": outputs}


def _segment_objects(ds: LoadedDataset, result) -> list[dict]:
    """One JSON object per source segment, in source order (:func:`summ.files.segment_objects`,
    with the line's document id and each segment's paragraph)."""
    from summ.files import segment_objects

    objs = []
    for i, (segments, records) in enumerate(zip(result.segments, result.records)):
        if ds.kind == "parallel":
            where = {"line": i + 1, "doc_id": None if ds.doc_ids is None else ds.doc_ids[i]}
        else:
            where = {"document": ds.doc_ids[i]}
        for segment, obj in zip(segments, segment_objects(records, where)):
            objs.append({**obj, "paragraph": segment.paragraph})
    return objs


# --------------------------------------------------------------------------------------
# Scoring.
# --------------------------------------------------------------------------------------


def _scored_datasets(config: ExperimentConfig, datasets: list[LoadedDataset],
                     outputs: dict[tuple[str, str], list[str]]):
    """Each parallel dataset with the systems that have outputs on it."""
    for ds in datasets:
        if ds.kind == "parallel":
            yield ds, [s.name for s in config.systems if (ds.config.name, s.name) in outputs]


def _score_all(config: ExperimentConfig, datasets: list[LoadedDataset], outputs: dict,
               out: Path) -> dict:
    """Write ``scores*.csv`` from the output files as written; return signatures per metric and
    level."""
    from summ.data import read_lines
    from summ.metrics import score

    rows: dict[str, list[dict]] = {level: [] for level in config.levels}
    signatures: dict[str, dict[str, str]] = {}
    comet = bool(set(COMET_METRICS) & set(config.metrics))  # COMET reads the sources too
    for ds, systems in _scored_datasets(config, datasets, outputs):
        ref_names = [ds.files.get(f"ref{i + 1}", f"ref{i + 1}") for i in range(len(ds.refs))]
        for system in systems:
            hyp_path = hypothesis_path(out, ds.config.name, system)
            # Score the file on disk: the numbers describe what was written.
            hyps = read_lines(hyp_path)
            for level in config.levels:
                if level == "document" and ds.doc_ids is None:
                    continue
                results = score(hyps, ds.refs, config.metrics, level=level,
                                doc_ids=ds.doc_ids if level == "document" else None,
                                srcs=ds.sources if comet else None, hyp_name=str(hyp_path),
                                ref_names=ref_names, **config.metric_settings.sacrebleu())
                for s in results:
                    rows[level].append(_score_row(ds.config.name, system, s))
                    signatures.setdefault(s.metric, {})[level] = s.signature
    for level, level_rows in rows.items():
        write_scores(out, level, level_rows)
    return signatures


def _significance_all(config: ExperimentConfig, datasets: list[LoadedDataset], outputs: dict,
                      out: Path) -> dict:
    """Paired tests against the baseline per dataset; writes ``significance.csv``."""
    from summ.data import read_lines
    from summ.metrics import compare

    sig = config.significance
    metrics = sig.metrics or tuple(m for m in config.metrics if m not in COMET_METRICS)
    rows: list[dict] = []
    notes: dict[str, str] = {}
    signatures: dict[str, str] = {}
    for ds, systems in _scored_datasets(config, datasets, outputs):
        if config.baseline not in systems:
            if len(config.systems) > 1:
                notes[ds.config.name] = (f"no significance tests: baseline {config.baseline!r} "
                                         "has no output")
            continue
        if len(systems) < 2 or not metrics:
            continue
        hyps = {s: read_lines(hypothesis_path(out, ds.config.name, s)) for s in systems}
        for method in sig.methods:
            comparisons = compare(hyps, ds.refs, config.baseline, metrics, method=method,
                                  n_samples=sig.n_samples, seed=sig.seed,
                                  **config.metric_settings.sacrebleu())
            for c in comparisons:
                rows.append(_comparison_row(ds.config.name, c))
                signatures[f"{c.metric}/{method}"] = c.signature
    write_significance(out, rows)
    return {"baseline": config.baseline, "methods": list(sig.methods), "n_samples": sig.n_samples,
            "seed": sig.seed, "metrics": list(metrics), "signatures": signatures, "notes": notes}


# --------------------------------------------------------------------------------------
# Summaries (a dimension of the experiment; see StrategyConfig).
# --------------------------------------------------------------------------------------


def _documents(ds: LoadedDataset, lines: list[str]) -> tuple[list[str], list[str]]:
    """``(ids, texts)``: the dataset's documents built from line-aligned ``lines`` (a document's
    lines become the lines of one paragraph), or the articles themselves."""
    if ds.kind == "articles":
        return list(ds.doc_ids), list(lines)
    if ds.doc_ids is None:
        return [str(i + 1) for i in range(len(lines))], list(lines)
    groups: dict[str, list[str]] = {}
    for doc, line in zip(ds.doc_ids, lines):
        groups.setdefault(doc, []).append(line)
    return list(groups), ["\n".join(g) for g in groups.values()]


def _save_summaries(out: Path, dataset: str, strategy: str, runs: dict, name: str, ids: list[str],
                    summaries) -> None:
    """Write one summary per document and record the file in the strategy's ``runs``."""
    path = summaries_path(out, dataset, strategy, name)
    write_jsonl(path, [{"id": doc_id, **s.as_dict()} for doc_id, s in zip(ids, summaries)])
    runs[name] = str(path.relative_to(out))


def _score_summaries(dataset: str, strategy: str, system: str, ids: list[str], hyps, refs,
                     rouge_stem: bool | None = None) -> dict[str, list[dict]]:
    """Summary-vs-summary scores: ROUGE (English tokeniser; Porter stemming unless
    ``[metric_settings.rouge] stem = false``) and chrF."""
    from summ.metrics import SUMMARY_METRICS, for_rouge, score_texts

    hyp, ref = [for_rouge(s) for s in hyps], [for_rouge(s) for s in refs]
    rows: dict[str, list[dict]] = {"corpus": [], "document": []}
    for level, metric_level in (("corpus", "corpus"), ("document", "sentence")):
        found = score_texts(hyp, ref, "en", SUMMARY_METRICS, metric_level,
                            hyp_name=f"{system} summaries",
                            ref_name="reference-translation summaries", rouge_stem=rouge_stem)
        for m in found:
            # Per summary = per document: name the item by its document id.
            item = None if m.item is None else ids[int(m.item)]
            row = _score_row(dataset, system, m, summary=strategy, level=level, item=item)
            rows[level].append(row)
    return rows


def _summariser_revisions(summariser) -> dict:
    """Resolved revisions and full settings (prompts included) of the models a summariser used
    (call only after it summarised: ``pipeline()`` and ``translator()`` load on first use and
    return the loaded ones after)."""
    from summ.translate import PipelineTranslator

    found = {}
    if summariser.config.summary_model is not None:
        engine = summariser.pipeline().engine
        found.update(summary_revision=engine.revision, summary_settings=engine.settings())
    translator = summariser.translator() if summariser.translates else None
    if isinstance(translator, PipelineTranslator):  # a plain Translator records nothing
        found.update(translation_revision=translator.engine.revision,
                     translation_settings=translator.engine.settings())
    return found


def _run_summaries(config: ExperimentConfig, datasets: list[LoadedDataset], outputs: dict,
                   out: Path, progress: bool = False) -> dict:
    """Run each ``[[summaries]]`` strategy; returns the manifest's section. A strategy that
    fails (its model cannot load, ...) is recorded and the others run."""
    if not config.summaries:
        return {}
    from summ.executors import RaySummariser, uses_model
    from summ.summary import Summariser
    from summ.summary import SummaryConfig as SummariseConfig

    rows: dict[str, list[dict]] = {"corpus": [], "document": []}
    section: dict[str, dict] = {}
    for strat in config.summaries:
        rec: dict[str, Any] = {"strategy": strat.strategy, "input": strat.input,
                               "model": strat.model, "translator": strat.translator,
                               "options": strat.options, "status": "ok", "error": None,
                               "runs": {}}
        section[strat.name] = rec
        summariser = None
        started = time.perf_counter()
        try:
            model = resolve_model(strat.model) if strat.model else None
            translator = resolve_model(strat.translator) if strat.translator else None
            summariser = Summariser(SummariseConfig(
                strategy=strat.strategy, lang="en" if strat.input == "translation" else "ar",
                model=model, translator=translator, cache=str(config.cache_path),
                **strat.options))
            if config.executor.kind == "ray" and uses_model(summariser.config):
                # Model strategies run on the actors; lead and textrank alone stay here.
                summariser = RaySummariser(summariser.config, executor=config.executor,
                                           store=config.shards_path, progress=progress)
            rec["summary_model"] = summariser.config.summary_model
            rec["translation_model"] = summariser.config.translation_model
            for ds in datasets:
                if strat.datasets and ds.config.name not in strat.datasets:
                    continue
                runs = rec["runs"].setdefault(ds.config.name, {})
                where = (out, ds.config.name, strat.name, runs)
                if strat.input == "source":
                    ids, docs = _documents(ds, ds.sources)
                    _save_summaries(*where, SOURCE_SUMMARIES, ids, summariser.summarise(docs))
                    continue
                refs = None
                if ds.refs is not None:
                    ids, ref_docs = _documents(ds, ds.refs[0])
                    refs = summariser.summarise(ref_docs)
                    _save_summaries(*where, REFERENCE_SUMMARIES, ids, refs)
                for system in config.systems:
                    key = (ds.config.name, system.name)
                    if (strat.systems and system.name not in strat.systems) or key not in outputs:
                        continue
                    ids, docs = _documents(ds, outputs[key])
                    summaries = summariser.summarise(docs)
                    _save_summaries(*where, system.name, ids, summaries)
                    if refs is not None:
                        stem = config.metric_settings.rouge_stem
                        found = _score_summaries(ds.config.name, strat.name, system.name, ids,
                                                 summaries, refs, stem)
                        for level, level_rows in found.items():
                            rows[level] += level_rows
            if any(rec["runs"].values()):
                rec.update(summariser.revisions if isinstance(summariser, RaySummariser)
                           else _summariser_revisions(summariser))
        # Any exception, for the reason given in _run_system: one strategy's failure must not
        # cost the others (or the translations already scored) their results.
        except Exception as exc:  # noqa: BLE001
            logger.debug("summary strategy %s failed", strat.name, exc_info=True)
            rec.update({"status": "failed", "error": _one_line(exc)})
            logger.warning("summary strategy %s failed: %s", strat.name, rec["error"])
        finally:
            if summariser is not None:
                summariser.close()  # it opened the cache; close it here
            del summariser
            gc.collect()
        rec["seconds"] = round(time.perf_counter() - started, 3)
    for level, level_rows in rows.items():
        write_summary_scores(out, level, level_rows)
    return section


# --------------------------------------------------------------------------------------
# Manifest.
# --------------------------------------------------------------------------------------


def package_versions() -> dict[str, str | None]:
    """Installed versions of everything that can change a number (``None``: not installed)."""
    found: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def machine_info() -> dict:
    """CPU, cores, GPU, OS and Python of this machine, for the manifest."""
    cpu = platform.processor() or platform.machine()
    try:
        # platform.processor() is empty on most Linux systems; the model name is in /proc.
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus: list[str] = []
    torch = sys.modules.get("torch")  # imported by the HF engine if any system used it
    if torch is not None and torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
                    if k in os.environ},
        "gpus": gpus, "os": platform.platform(), "python": platform.python_version(),
    }


def _manifest_head(config: ExperimentConfig, datasets: list[LoadedDataset],
                   started_at: str) -> dict:
    from summ.data import sha256_file

    return {
        "name": config.name,
        "description": config.description,
        "config": {"path": str(config.path), "sha256": sha256_file(config.path),
                   "overrides": config.overrides},
        "started": started_at,
        "versions": package_versions(),
        "machine": machine_info(),
        "baseline": config.baseline,
        "metrics": list(config.metrics),
        # The sacrebleu and ROUGE settings as configured (sacrebleu's defaults where empty);
        # the signatures in the score files show their effect too.
        "metric_settings": config.metric_settings.as_dict(),
        "levels": list(config.levels),
        "cache": str(config.cache_path),
        # Where the systems ran; a Ray run also names the folder its shards resume from.
        "executor": {**dataclasses.asdict(config.executor),
                     **({"shards": str(config.shards_path)}
                        if config.executor.kind == "ray" else {})},
        "system_order": [s.name for s in config.systems],
        "datasets": {
            ds.config.name: {
                "type": ds.config.type, "kind": ds.kind, "test_set": ds.config.test_set,
                "files": ds.files, "hashes": ds.hashes,
                "lines" if ds.kind == "parallel" else "articles": len(ds.sources),
                "documents": ds.n_documents, "total_documents": ds.total_documents,
                "documents_limit": ds.config.documents,
                "references": 0 if ds.refs is None else len(ds.refs),
            }
            for ds in datasets
        },
        "published": _published_rows(config),
    }


def _published_rows(config: ExperimentConfig) -> dict:
    """The published scores for this run's models (all test sets), copied into the manifest so
    that the report needs nothing outside the results folder."""
    if config.published is None:
        return {"file": None, "rows": []}
    from summ.data import sha256_file

    models = {s.model for s in config.systems}
    rows = [r for r in read_published(config.published) if r["model"] in models]
    return {"file": str(config.published), "sha256": sha256_file(config.published), "rows": rows}
