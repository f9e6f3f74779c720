"""Experiment configs: an ``eval/configs/NAME.toml`` file read into frozen dataclasses.

:func:`load_config` checks the whole file before anything is loaded or run, and reports
every problem it finds in one :class:`~summ.errors.ConfigError` (unknown keys, metrics,
engines, missing files, duplicate names...), so a researcher fixes a config in one pass
instead of one failed run per typo. :mod:`summ.experiment` runs what this module describes.

Relative paths in a config are relative to the config file, so ``summ run`` gives the same
result from any working directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summ.errors import ConfigError
from summ.metrics import ALL_METRICS, COMET_METRICS, LEVELS, METRICS
from summ.translate import ENGINES, BatchConfig, DecodeConfig


DATASET_TYPES = ("ntrex128", "parallel", "articles")
SIGNIFICANCE_METHODS = ("bs", "ar")
#: Prefix of a tiny test model in ``model = "tiny:marian"``.
TINY_PREFIX = "tiny:"

# Names become file names and table rows: keep them to characters every filesystem and
# LaTeX (after escaping) handle.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class SystemConfig:
    """One translation system: a model behind an engine with its settings.

    Attributes:
        name: row name in tables and file name of its outputs.
        model: what the config says (hub id, path or ``tiny:FAMILY``); for paths, the
            absolute path. Recorded as written so published scores can be matched to it.
        engine: ``"hf"`` or ``"ct2"``.
        revision: hub branch, tag or commit; ``None`` = the default branch, resolved to a
            commit in the manifest.
        device: ``auto``, ``cpu``, ``cuda``, ...; ``auto`` because a config should run on
            a laptop and on a GPU box unchanged.
        decode: generation settings (defaults live in :class:`~summ.translate.DecodeConfig`).
        batch: batching settings (defaults live in :class:`~summ.translate.BatchConfig`).
        options: engine options passed through (``dtype``, ``compute_type``, ``src_lang``...).
    """

    name: str
    model: str
    engine: str = "hf"
    revision: str | None = None
    device: str = "auto"
    decode: DecodeConfig = DecodeConfig()
    batch: BatchConfig = BatchConfig()
    options: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset to translate.

    Attributes:
        name: folder name under ``outputs/`` and table heading.
        type: ``ntrex128`` (built in, via :func:`summ.data.load_ntrex128`), ``parallel``
            (source and reference files, optional document ids) or ``articles`` (a folder of
            ``.txt`` files or a JSONL file; no references, so outputs only).
        documents: keep only the first N documents (articles: the first N articles); ``None``
            = all. Quick runs and tests use it; the manifest and report say so.
        root: ``ntrex128`` only: folder holding ``ntrex128/`` (default :func:`summ.data.data_dir`,
            i.e. ``SUMM_DATA_DIR``).
        src: ``parallel``: source file.
        refs: ``parallel``: reference files, each line-aligned with ``src``.
        doc_ids: ``parallel``: optional document id per line (enables document-level scores).
        path: ``articles``: folder of ``.txt`` files or a ``.jsonl`` file.
        test_set: identifier used to find published scores (``eval/published.csv``); NTREX-128
            is ``ntrex128``; a FLORES copy would say ``flores200-devtest``. ``None``: no
            published score can match.
        encoding: encoding of every file of the dataset.
    """

    name: str
    type: str
    documents: int | None = None
    root: Path | None = None
    src: Path | None = None
    refs: tuple[Path, ...] = ()
    doc_ids: Path | None = None
    path: Path | None = None
    test_set: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class SignificanceConfig:
    """Paired significance tests of each system against the baseline (corpus level).

    Attributes:
        methods: ``bs`` (paired bootstrap: p-values and 95% CIs) and/or ``ar`` (approximate
            randomisation: p-values only). Bootstrap by default: it is what gives the CIs the
            report shows.
        n_samples: resamples (bs) / trials (ar); ``None`` = sacrebleu's defaults (1000 / 10000),
            the numbers its CLI uses, so results match ``sacrebleu --paired-bs``.
        seed: RNG seed, recorded in every signature; fixed so reruns give identical p-values.
        metrics: metrics to test; ``None`` = the experiment's metrics (COMET excluded: sacrebleu
            cannot resample it).
    """

    methods: tuple[str, ...] = ("bs",)
    n_samples: int | None = None
    seed: int = 12345
    metrics: tuple[str, ...] | None = None


SUMMARY_INPUTS = ("translation", "source")


@dataclass(frozen=True)
class StrategyConfig:
    """One summary strategy, a dimension of the experiment (``[[summaries]]``).

    Attributes:
        name: folder and table name.
        strategy: a strategy of :mod:`summ.summarise` (``lead``, ``textrank``, ``abstractive``,
            ``translate-then-summarise``, ``summarise-then-translate``, ``direct``).
        input: what is summarised. ``translation``: each system's English output (the
            systems are a dimension; with references, each summary is scored against the same
            strategy's summary of the human reference translation, i.e. how far translation
            errors change the summary). ``source``: the Arabic documents, with the strategy's
            own translator if it has one (outputs only: NTREX has no reference summaries).
            Default: ``translation`` for the monolingual strategies (lead, textrank,
            abstractive), ``source`` for the cross-lingual ones.
        model: summarisation model (hub id, path or ``tiny:FAMILY``); ``None`` = the strategy's
            default in :mod:`summ.summarise`.
        translator: translation model of a ``source`` pipeline strategy; ``None`` = its default.
        systems: systems whose translations are summarised (``translation``); empty = all.
        datasets: datasets it runs on; empty = all.
        options: other :class:`summ.summarise.SummaryConfig` fields (``sentences``,
            ``max_tokens``, ``beam_size``, ``device``...).
    """

    name: str
    strategy: str
    input: str = "translation"
    model: str | None = None
    translator: str | None = None
    systems: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    options: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment, validated.

    Attributes:
        name: run name (default: the config file's stem).
        path: the config file.
        output: results folder (default ``<config dir>/../results/<name>``, i.e.
            ``eval/results/NAME`` for a config in ``eval/configs``).
        systems: translation systems, in table order.
        datasets: datasets, in table order.
        baseline: system every other is tested against (default: the first system).
        metrics: sacrebleu metrics (default :data:`summ.metrics.METRICS`: BLEU, chrF,
            chrF++, TER, the four that need nothing beyond sacrebleu).
        levels: score levels (default all three: corpus for tables, document for
            distributions, sentence for length analysis).
        significance: paired tests.
        cache: translation cache (default ``<output>/cache.sqlite``: a results folder then
            resumes on its own and can be moved with its cache).
        published: CSV of published scores to set beside this run's (matched rows are copied
            into the manifest; default ``<config dir>/../published.csv`` when it exists).
        summaries: summary strategies (may be empty).
        description: free text shown in the report.
        overrides: what the command line changed (``model``, ``documents``, ...), recorded.
    """

    name: str
    path: Path
    output: Path
    systems: tuple[SystemConfig, ...]
    datasets: tuple[DatasetConfig, ...]
    baseline: str | None = None
    metrics: tuple[str, ...] = METRICS
    levels: tuple[str, ...] = LEVELS
    significance: SignificanceConfig = SignificanceConfig()
    cache: Path | None = None
    published: Path | None = None
    summaries: tuple[StrategyConfig, ...] = ()
    description: str = ""
    overrides: dict = field(default_factory=dict, hash=False)

    @property
    def cache_path(self) -> Path:
        return self.cache if self.cache is not None else self.output / "cache.sqlite"


class _Problems:
    """Collects every configuration problem so that one error lists them all."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            error = ConfigError(f"{self.where}: {n} problem{'s' if n > 1 else ''}: " + "; ".join(self.items))
            error.problems = list(self.items)  # for callers that want them one by one
            raise error


_TOP_KEYS = {"name", "description", "baseline", "metrics", "levels", "output", "cache", "published",
             "significance", "defaults", "systems", "datasets", "summaries"}
_SYSTEM_KEYS = {"name", "model", "engine", "revision", "device", "options", "decode", "batch"}
_DEFAULT_KEYS = _SYSTEM_KEYS - {"name", "model"}
_DATASET_KEYS = {"name", "type", "documents", "root", "src", "refs", "doc_ids", "path", "test_set", "encoding"}
_SIGNIFICANCE_KEYS = {"methods", "n_samples", "seed", "metrics"}
_SUMMARY_KEYS = {"name", "strategy", "input", "model", "translator", "systems", "datasets", "options"}


def _unknown(table: dict, allowed: set[str], where: str, problems: _Problems) -> None:
    for key in sorted(set(table) - allowed):
        problems.add(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _as_str_list(value: Any, where: str, problems: _Problems) -> tuple[str, ...] | None:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(f"{where} must be a list of strings, e.g. [\"bleu\", \"chrf\"]")
        return None
    return tuple(value)


def _path(value: Any, base: Path, where: str, problems: _Problems) -> Path | None:
    """A path from the config: ``~`` and ``$VARS`` expanded, relative to the config's folder."""
    if not isinstance(value, str) or not value:
        problems.add(f"{where} must be a path string")
        return None
    expanded = os.path.expandvars(os.path.expanduser(value))
    path = Path(expanded)
    return path if path.is_absolute() else (base / path).resolve()


def _dataclass_from(cls, table: Any, base_obj, where: str, problems: _Problems):
    """``dataclasses.replace(base_obj, **table)`` with unknown keys and wrong types reported."""
    if not isinstance(table, dict):
        problems.add(f"{where} must be a table")
        return base_obj
    fields = {f.name: f for f in dataclasses.fields(cls)}
    good = {}
    for key, value in table.items():
        if key not in fields:
            problems.add(f"{where}: unknown key {key!r} (allowed: {', '.join(fields)})")
            continue
        current = getattr(base_obj, key)
        # Decode and batch settings are all counts or ratios: the default's type says which
        # (a None default, such as max_new_tokens, stands for a count).
        is_ratio = isinstance(current, float)
        if isinstance(value, bool) or not isinstance(value, (int, float) if is_ratio else int):
            problems.add(f"{where}.{key} must be {'a number' if is_ratio else 'an integer'}, not {value!r}")
            continue
        if value < 0:
            problems.add(f"{where}.{key} must not be negative, got {value!r}")
            continue
        good[key] = value
    try:
        return dataclasses.replace(base_obj, **good)
    except (TypeError, ValueError) as exc:  # a dataclass __post_init__ may reject a value
        problems.add(f"{where}: {exc}")
        return base_obj


def _choices(raw: dict, key: str, what: str, allowed: Sequence[str], default: tuple[str, ...],
             problems: _Problems) -> tuple[str, ...]:
    """``raw[key]`` as a list of known, distinct names (``default`` when absent or unusable)."""
    if key not in raw:
        return default
    values = _as_str_list(raw[key], key, problems) or default
    for v in values:
        if v not in allowed:
            problems.add(f"unknown {what} {v!r} (choose from {', '.join(allowed)})")
    for v in sorted({v for v in values if values.count(v) > 1}):
        problems.add(f"{what} {v!r} listed twice")
    return values


def _check_name(name: Any, where: str, problems: _Problems) -> str | None:
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(f"{where}: name {name!r} must be letters, digits and . _ + - (it becomes a file name)")
        return None
    return name


def _model_problem(model: str, base: Path) -> tuple[str, str | None]:
    """(model as resolved for the run, problem or None); hub ids cannot be checked offline."""
    if model.startswith(TINY_PREFIX):
        from summ.testing import FAMILIES  # a constant only; no model is built while validating

        family = model[len(TINY_PREFIX):]
        if family not in FAMILIES:
            return model, f"unknown tiny model family {family!r} (choose {', '.join(FAMILIES)})"
        return model, None
    expanded = os.path.expandvars(os.path.expanduser(model))
    candidate = Path(expanded) if Path(expanded).is_absolute() else base / expanded
    if candidate.is_dir():
        return str(candidate.resolve()), None
    # The same rule as the HF loader: these can only be paths, so a missing one is an error now.
    if model.startswith((".", "/", "~", "$")) or model.count("/") > 1 or Path(expanded).is_absolute():
        return model, f"model directory {candidate} does not exist"
    return model, None  # a hub id: checked when the system loads (failure recorded, run goes on)


def load_config(
    path: str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    model: str | None = None,
    documents: int | None = None,
    device: str | None = None,
    systems: Sequence[str] | None = None,
) -> ExperimentConfig:
    """Read and validate an experiment config; nothing is loaded or run.

    Args:
        path: the TOML file.
        output: results folder, replacing the config's (relative to the working directory).
        model: replaces the model of every system (the README's main job on a tiny model:
            ``--model DIR``); relative to the working directory.
        documents: keep at most the first N documents of every dataset.
        device: replaces every system's device.
        systems: run only these systems (by name); the baseline is kept if it exists.

    Returns:
        The validated config.

    Raises:
        ConfigError: listing every problem found (unknown keys, metrics, engines, levels,
            missing model folders and data files, duplicate names, a baseline that is not a
            system...), not just the first.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    base = path.resolve().parent
    problems = _Problems(path)
    _unknown(raw, _TOP_KEYS, "top level", problems)

    name = raw.get("name", path.stem)
    name = _check_name(name, "top level", problems) or path.stem
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.add("description must be a string")
        description = ""

    metrics = _choices(raw, "metrics", "metric", ALL_METRICS, METRICS, problems)
    if "metrics" in raw:
        _check_metric_requirements(metrics, problems)
    levels = _choices(raw, "levels", "level", LEVELS, LEVELS, problems)
    if "corpus" not in levels:
        problems.add("levels must include 'corpus' (the tables report corpus scores)")

    significance = _parse_significance(raw.get("significance", {}), metrics, problems)
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.add("[defaults] must be a table")
        defaults = {}
    _unknown(defaults, _DEFAULT_KEYS, "[defaults]", problems)

    system_list = raw.get("systems", [])
    if not isinstance(system_list, list) or not system_list:
        problems.add("no systems: add at least one [[systems]] table with name and model")
        system_list = []
    # Defaults are parsed once (one message per problem), then each system overrides them.
    base_decode = _dataclass_from(DecodeConfig, defaults.get("decode", {}), DecodeConfig(), "[defaults.decode]", problems)
    base_batch = _dataclass_from(BatchConfig, defaults.get("batch", {}), BatchConfig(), "[defaults.batch]", problems)
    parsed_systems = [_parse_system(i, s, defaults, base_decode, base_batch, base, problems)
                      for i, s in enumerate(system_list)]
    parsed_systems = [s for s in parsed_systems if s is not None]
    if model is not None:
        # Typed by the user: relative to the working directory, not to the config file.
        resolved, problem = _model_problem(model, Path.cwd())
        if problem:
            problems.add(f"--model: {problem}")
        parsed_systems = [dataclasses.replace(s, model=resolved) for s in parsed_systems]
    if device is not None:
        parsed_systems = [dataclasses.replace(s, device=device) for s in parsed_systems]
    _duplicates([s.name for s in parsed_systems], "system", problems)

    baseline = raw.get("baseline")
    names = [s.name for s in parsed_systems]
    if baseline is not None and baseline not in names:
        problems.add(f"baseline {baseline!r} is not a system (systems: {', '.join(names) or 'none'})")
    if baseline is None and names:
        baseline = names[0]
    if systems is not None:
        unknown = [s for s in systems if s not in names]
        if unknown:
            problems.add(f"--systems: unknown system(s) {', '.join(unknown)} (systems: {', '.join(names)})")
        keep = set(systems) | ({baseline} if baseline else set())
        parsed_systems = [s for s in parsed_systems if s.name in keep]

    dataset_list = raw.get("datasets", [])
    if not isinstance(dataset_list, list) or not dataset_list:
        problems.add("no datasets: add at least one [[datasets]] table with name and type")
        dataset_list = []
    parsed_datasets = [_parse_dataset(i, d, base, problems) for i, d in enumerate(dataset_list)]
    parsed_datasets = [d for d in parsed_datasets if d is not None]
    if documents is not None:
        if not isinstance(documents, int) or documents < 1:
            problems.add(f"--documents must be a positive integer, not {documents!r}")
        else:
            parsed_datasets = [
                dataclasses.replace(d, documents=documents if d.documents is None else min(d.documents, documents))
                for d in parsed_datasets
            ]
    _duplicates([d.name for d in parsed_datasets], "dataset", problems)

    summary_list = raw.get("summaries", [])
    if not isinstance(summary_list, list):
        problems.add("summaries must be [[summaries]] tables")
        summary_list = []
    parsed_summaries = [_parse_summary(i, s, names, [d.name for d in parsed_datasets], base, problems)
                        for i, s in enumerate(summary_list)]
    parsed_summaries = [s for s in parsed_summaries if s is not None]
    _duplicates([s.name for s in parsed_summaries], "summary", problems)

    out = None
    if output is not None:
        out = Path(output).expanduser().resolve()
    elif "output" in raw:
        out = _path(raw["output"], base, "output", problems)
    out = out or (base.parent / "results" / name).resolve()
    cache = _path(raw["cache"], base, "cache", problems) if "cache" in raw else None
    published = None
    if "published" in raw:
        published = _path(raw["published"], base, "published", problems)
        if published is not None and not published.is_file():
            problems.add(f"published: no such file {published}")
    elif (base.parent / "published.csv").is_file():
        published = (base.parent / "published.csv").resolve()

    problems.raise_if_any()
    overrides = {k: v for k, v in {"output": str(output) if output is not None else None, "model": model,
                                   "documents": documents, "device": device,
                                   "systems": list(systems) if systems is not None else None}.items() if v is not None}
    return ExperimentConfig(
        name=name, path=path.resolve(), output=out, systems=tuple(parsed_systems), datasets=tuple(parsed_datasets),
        baseline=baseline, metrics=tuple(metrics), levels=tuple(levels), significance=significance, cache=cache,
        published=published, summaries=tuple(parsed_summaries), description=description, overrides=overrides,
    )


def _duplicates(names: list[str], what: str, problems: _Problems) -> None:
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.add(f"two {what}s are named {n!r}")


def _check_metric_requirements(metrics: Sequence[str], problems: _Problems) -> None:
    """Optional metrics whose requirements can be checked now rather than after hours of decoding."""
    from summ.comet import find_python, missing_message
    from summ.metrics import spm_model_path

    for m in metrics:
        if m.startswith("spbleu-"):
            tokenizer = m.removeprefix("spbleu-")
            if not os.path.isfile(spm_model_path(tokenizer)):
                problems.add(f"metric {m!r} needs the SentencePiece model {spm_model_path(tokenizer)}, which is missing")
        if m in COMET_METRICS and find_python() is None:
            problems.add(f"metric {m!r} needs the COMET environment: {missing_message()}")


def _parse_significance(table: Any, metrics: Sequence[str], problems: _Problems) -> SignificanceConfig:
    default = SignificanceConfig()
    if not isinstance(table, dict):
        problems.add("[significance] must be a table")
        return default
    _unknown(table, _SIGNIFICANCE_KEYS, "[significance]", problems)
    methods = default.methods
    if "methods" in table:
        methods = _as_str_list(table["methods"], "significance.methods", problems) or default.methods
        for m in methods:
            if m not in SIGNIFICANCE_METHODS:
                problems.add(f"unknown significance method {m!r} (bs = paired bootstrap, ar = approximate randomisation)")
    n_samples = table.get("n_samples", default.n_samples)
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1):
        problems.add(f"significance.n_samples must be a positive integer, not {n_samples!r}")
        n_samples = default.n_samples
    seed = table.get("seed", default.seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 1:
        # 0 is refused by summ.metrics.compare (sacrebleu reads it as "unseeded").
        problems.add(f"significance.seed must be a positive integer, not {seed!r}")
        seed = default.seed
    sig_metrics = None
    if "metrics" in table:
        sig_metrics = _as_str_list(table["metrics"], "significance.metrics", problems)
        for m in sig_metrics or ():
            if m not in metrics:
                problems.add(f"significance metric {m!r} is not one of the experiment's metrics")
            if m in COMET_METRICS:
                problems.add(f"significance cannot test {m} "
                             "(sacrebleu resamples its own metrics only)")
    return SignificanceConfig(methods=tuple(methods), n_samples=n_samples, seed=seed, metrics=sig_metrics)


def _parse_system(i: int, table: Any, defaults: dict, base_decode: DecodeConfig, base_batch: BatchConfig,
                  base: Path, problems: _Problems) -> SystemConfig | None:
    where = f"systems[{i}]"
    if not isinstance(table, dict):
        problems.add(f"{where} must be a table")
        return None
    if "name" in table and isinstance(table["name"], str):
        where = f"systems[{i}] ({table['name']})"
    _unknown(table, _SYSTEM_KEYS, where, problems)
    name = _check_name(table.get("name"), where, problems)
    model = table.get("model")
    if not isinstance(model, str) or not model:
        problems.add(f"{where}: model is required (hub id, local directory or tiny:FAMILY)")
        model = None
    else:
        model, problem = _model_problem(model, base)
        if problem:
            problems.add(f"{where}: {problem}")
    merged = {**{k: v for k, v in defaults.items() if k in _DEFAULT_KEYS}, **table}
    engine = merged.get("engine", SystemConfig.engine)
    if engine not in ENGINES:
        problems.add(f"{where}: unknown engine {engine!r} (choose {', '.join(ENGINES)})")
    revision = merged.get("revision")
    if revision is not None and not isinstance(revision, str):
        problems.add(f"{where}: revision must be a string")
    device = merged.get("device", SystemConfig.device)
    if not isinstance(device, str):
        problems.add(f"{where}: device must be a string")
    decode, batch = base_decode, base_batch
    if "decode" in table:
        decode = _dataclass_from(DecodeConfig, table["decode"], decode, f"{where}.decode", problems)
    if "batch" in table:
        batch = _dataclass_from(BatchConfig, table["batch"], batch, f"{where}.batch", problems)
    options = {**defaults.get("options", {}), **table.get("options", {})} \
        if isinstance(defaults.get("options", {}), dict) and isinstance(table.get("options", {}), dict) else None
    if options is None:
        problems.add(f"{where}: options must be a table, e.g. options = {{ compute_type = \"int8\" }}")
        options = {}
    if name is None or model is None:
        return None
    return SystemConfig(name=name, model=model, engine=engine, revision=revision, device=device,
                        decode=decode, batch=batch, options=options)


def _parse_dataset(i: int, table: Any, base: Path, problems: _Problems) -> DatasetConfig | None:
    where = f"datasets[{i}]"
    if not isinstance(table, dict):
        problems.add(f"{where} must be a table")
        return None
    kind = table.get("type")
    name = table.get("name", kind)
    if isinstance(name, str):
        where = f"datasets[{i}] ({name})"
    _unknown(table, _DATASET_KEYS, where, problems)
    name = _check_name(name, where, problems)
    if kind not in DATASET_TYPES:
        problems.add(f"{where}: unknown type {kind!r} (choose {', '.join(DATASET_TYPES)})")
        return None
    documents = table.get("documents")
    if documents is not None and (isinstance(documents, bool) or not isinstance(documents, int) or documents < 1):
        problems.add(f"{where}: documents must be a positive integer, not {documents!r}")
        documents = None
    encoding = table.get("encoding", DatasetConfig.encoding)
    test_set = table.get("test_set", "ntrex128" if kind == "ntrex128" else None)
    fields: dict[str, Any] = {}
    required = {"ntrex128": (), "parallel": ("src", "refs"), "articles": ("path",)}[kind]
    allowed = {"ntrex128": {"root"}, "parallel": {"src", "refs", "doc_ids"}, "articles": {"path"}}[kind]
    for key in ("root", "src", "refs", "doc_ids", "path"):
        if key in table and key not in allowed:
            problems.add(f"{where}: {key!r} does not apply to type {kind!r}")
    for key in required:
        if key not in table:
            problems.add(f"{where}: type {kind!r} needs {key!r}")
    for key in ("root", "src", "doc_ids", "path"):
        if key in table and key in allowed:
            p = _path(table[key], base, f"{where}.{key}", problems)
            if p is not None and not p.exists():
                problems.add(f"{where}: {key} {p} does not exist")
            fields[key] = p
    if "refs" in table and "refs" in allowed:
        refs = table["refs"]
        refs = [refs] if isinstance(refs, str) else refs
        paths = []
        for j, r in enumerate(refs if isinstance(refs, list) else [None]):
            p = _path(r, base, f"{where}.refs[{j}]", problems)
            if p is not None and not p.is_file():
                problems.add(f"{where}: reference file {p} does not exist")
            if p is not None:
                paths.append(p)
        fields["refs"] = tuple(paths)
    if kind == "ntrex128":
        from summ.data import NTREX, data_dir

        folder = (fields.get("root") or data_dir()) / NTREX.name
        missing = [f.name for f in NTREX.files if not (folder / f.name).is_file()]
        if missing:
            problems.add(f"{where}: NTREX-128 file(s) missing in {folder}: {', '.join(missing)} "
                         f"(run `summ data fetch ntrex128` or set SUMM_DATA_DIR)")
    if name is None:
        return None
    return DatasetConfig(name=name, type=kind, documents=documents, test_set=test_set, encoding=encoding, **fields)


def _parse_summary(i: int, table: Any, systems: list[str], datasets: list[str], base: Path,
                   problems: _Problems) -> StrategyConfig | None:
    where = f"summaries[{i}]"
    if not isinstance(table, dict):
        problems.add(f"{where} must be a table")
        return None
    if isinstance(table.get("name"), str):
        where = f"summaries[{i}] ({table['name']})"
    _unknown(table, _SUMMARY_KEYS, where, problems)
    name = _check_name(table.get("name"), where, problems)
    from summ.summarise import MONOLINGUAL, STRATEGIES, SummaryConfig  # light: imports no model library

    strategy = table.get("strategy")
    if strategy not in STRATEGIES:
        problems.add(f"{where}: unknown strategy {strategy!r} (choose {', '.join(STRATEGIES)})")
        return None
    default_input = "translation" if strategy in MONOLINGUAL else "source"
    kind = table.get("input", default_input)
    if kind not in SUMMARY_INPUTS:
        problems.add(f"{where}: input must be 'translation' (each system's output) or 'source' (the Arabic), not {kind!r}")
        return None
    if kind == "translation" and strategy not in MONOLINGUAL:
        problems.add(f"{where}: {strategy} takes the Arabic source; use input = \"source\" "
                     f"(or lead, textrank, abstractive on the translations)")
    models = {}
    for key in ("model", "translator"):
        value = table.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.add(f"{where}: {key} must be a string")
            continue
        value, problem = _model_problem(value, base)
        if problem:
            problems.add(f"{where}: {key}: {problem}")
        models[key] = value
    if "translator" in models and kind == "translation":
        problems.add(f"{where}: a translator applies to input = \"source\"; the translations come from the systems")
    sys_names = _as_str_list(table.get("systems", []), f"{where}.systems", problems) or ()
    for s in sys_names:
        if s not in systems:
            problems.add(f"{where}: system {s!r} is not defined")
    ds_names = _as_str_list(table.get("datasets", []), f"{where}.datasets", problems) or ()
    for d in ds_names:
        if d not in datasets:
            problems.add(f"{where}: dataset {d!r} is not defined")
    options = table.get("options", {})
    if not isinstance(options, dict):
        problems.add(f"{where}: options must be a table, e.g. options = {{ sentences = 3 }}")
        options = {}
    reserved = sorted(set(options) & {"strategy", "lang", "model", "translator", "cache"})
    if reserved:
        problems.add(f"{where}: options may not set {', '.join(reserved)} (the experiment sets them)")
        options = {k: v for k, v in options.items() if k not in reserved}
    if "translate_decode" in options:  # a TOML table: checked like [defaults.decode]
        options = {**options, "translate_decode": _dataclass_from(
            DecodeConfig, options["translate_decode"], DecodeConfig(), f"{where}.options.translate_decode", problems)}
    try:
        # The summariser's own validation, now rather than after the translations ran.
        SummaryConfig(strategy=strategy, lang="en" if kind == "translation" else "ar", **models, **options)
    except ConfigError as exc:
        problems.add(f"{where}: {exc}")
    except TypeError as exc:  # an option that is not a SummaryConfig field
        known = ", ".join(f.name for f in dataclasses.fields(SummaryConfig)
                          if f.name not in ("strategy", "lang", "model", "translator", "cache"))
        problems.add(f"{where}: bad option ({exc}); options are {known}")
    if name is None:
        return None
    return StrategyConfig(name=name, strategy=strategy, input=kind, model=models.get("model"),
                          translator=models.get("translator"), systems=sys_names, datasets=ds_names, options=options)
