"""Experiment configs: an ``eval/configs/NAME.toml`` file read into frozen dataclasses.

:func:`load_config` checks the whole file before anything is loaded or run and reports every
problem in one :class:`~summ.errors.ConfigError`, so a config is fixed in one pass, not one
failed run per typo; :mod:`summ.experiment` runs it. Each table's shape is a pydantic model;
``decode``, ``batch`` and summary ``options`` are checked by the library's own dataclasses
(a config, the CLI and Python callers obey the same rules); what spans tables (names, the
baseline, files, devices) is checked after. Relative paths are relative to the config file,
so ``summ run`` gives the same result from any working directory.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from summ.engines.base import ENGINES, BatchConfig, DecodeConfig, check_model
from summ.engines.vocab import VOCABULARIES
from summ.errors import ConfigError, InputError
from summ.executors import SHARDS_DIR, ExecutorConfig
from summ.metrics import ALL_METRICS, COMET_METRICS, DEFAULT_SEED, LEVELS, METRICS
from summ.summary import EXTRACTIVE, MONOLINGUAL, STRATEGIES, SummaryConfig

DATASET_TYPES = ("ntrex128", "parallel", "articles")
SIGNIFICANCE_METHODS = ("bs", "ar")

# Names become file names and table rows: keep them to characters every filesystem and
# LaTeX (after escaping) handle.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class SystemConfig:
    """One translation system: a model behind an engine with its settings.

    Attributes:
        name: row name in tables and file name of its outputs.
        model: what the config says (hub id, path or ``tiny:FAMILY``; a path made absolute),
            recorded as written so published scores can be matched to it.
        revision: hub branch, tag or commit; ``None`` = the default branch, resolved to a
            commit in the manifest.
        device: ``auto`` by default, so a config runs unchanged on a laptop and a GPU box.
        options: engine options passed through (``dtype``, ``compute_type``, ``src_lang``,
            ``vocabulary``...).
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
        documents: keep only the first N documents (or articles); ``None`` = all. The manifest
            and report say so.
        root: ``ntrex128`` only: folder holding ``ntrex128/`` (default :func:`summ.data.data_dir`,
            i.e. ``SUMM_DATA_DIR``).
        src: ``parallel``: source file; ``refs``: reference files, line-aligned with it;
            ``doc_ids``: optional document id per line (enables document-level scores).
        path: ``articles``: folder of ``.txt`` files or a ``.jsonl`` file.
        test_set: matches published scores (``eval/published.csv``): ``ntrex128``,
            ``flores200-devtest``...; ``None``: no published score can match.
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
        methods: ``bs`` (paired bootstrap: p-values and 95% CIs, the default: the report shows
            its CIs) and/or ``ar`` (approximate randomisation: p-values only).
        n_samples: resamples (bs) / trials (ar); ``None`` = sacrebleu's defaults (1000 / 10000),
            so results match ``sacrebleu --paired-bs``.
        seed: RNG seed, recorded in every signature; fixed so reruns give identical p-values.
        metrics: metrics to test; ``None`` = the experiment's metrics (COMET excluded: sacrebleu
            cannot resample it).
    """

    methods: tuple[str, ...] = ("bs",)
    n_samples: int | None = None
    seed: int = DEFAULT_SEED
    metrics: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MetricSettings:
    """``[metric_settings.bleu]``, ``.chrf``, ``.ter`` and ``.rouge`` of an experiment.

    Attributes:
        bleu: keyword arguments of ``sacrebleu.BLEU`` (``tokenize``, ``lowercase``, ...; checked
            by :func:`summ.metrics.check_metric_settings`); empty = sacrebleu's defaults. Same
            for ``chrf`` (``sacrebleu.CHRF``, also for ``chrf++``) and ``ter``.
        rouge_stem: stemming of summary ROUGE (``[metric_settings.rouge] stem``); ``None`` =
            the language's default (English: Porter; Arabic: none, ``true`` = XL-Sum's).
    """

    bleu: dict = field(default_factory=dict, hash=False)
    chrf: dict = field(default_factory=dict, hash=False)
    ter: dict = field(default_factory=dict, hash=False)
    rouge_stem: bool | None = None

    def sacrebleu(self) -> dict[str, dict]:
        """The ``bleu``, ``chrf`` and ``ter`` keyword arguments of score() and compare()."""
        return {"bleu": dict(self.bleu), "chrf": dict(self.chrf), "ter": dict(self.ter)}

    def as_dict(self) -> dict:
        """Everything, as the manifest records it."""
        return {**self.sacrebleu(), "rouge": {"stem": self.rouge_stem}}


SUMMARY_INPUTS = ("translation", "source")


@dataclass(frozen=True)
class StrategyConfig:
    """One summary strategy, a dimension of the experiment (``[[summaries]]``).

    Attributes:
        name: folder and table name.
        strategy: a strategy of :mod:`summ.summary` (``lead``, ``textrank``, ``direct``...).
        input: ``translation``: each system's English output, scored (with references)
            against the same strategy's summary of the reference translation, i.e. how far
            translation errors change the summary. ``source``: the Arabic documents, with the
            strategy's own translator if any (outputs only). Default: ``translation`` for the
            monolingual strategies (lead, textrank, abstractive), else ``source``.
        model: summarisation model; ``None`` = the strategy's default in :mod:`summ.summary`.
        translator: translation model of a ``source`` pipeline strategy; ``None`` = its default.
        systems: systems whose translations are summarised; ``datasets``: where it runs;
            empty = all.
        options: other :class:`summ.summary.SummaryConfig` fields (``sentences``, ``device``...).
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
        output: results folder (default ``<config dir>/../results/<name>``, i.e.
            ``eval/results/NAME`` for a config in ``eval/configs``).
        systems, datasets: in table order.
        baseline: system every other is tested against (default: the first system).
        metrics: default :data:`summ.metrics.METRICS` (the four that need only sacrebleu).
        levels: default all three: corpus for tables, document for distributions, sentence for
            length analysis.
        cache: translation cache (default ``<output>/cache.sqlite``: a results folder then
            resumes on its own and can be moved with its cache).
        published: CSV of published scores to set beside this run's (matched rows are copied
            into the manifest; default ``<config dir>/../published.csv`` when it exists).
        description: free text shown in the report.
        overrides: what the command line changed (``model``, ``documents``, ...), recorded.
        executor: where systems and model summaries run (``[executor]``): this process, or
            Ray actors (:class:`summ.executors.ExecutorConfig`); ``shards`` is absolute.
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
    metric_settings: MetricSettings = MetricSettings()
    description: str = ""
    overrides: dict = field(default_factory=dict, hash=False)
    executor: ExecutorConfig = ExecutorConfig()

    @property
    def cache_path(self) -> Path:
        return self.cache if self.cache is not None else self.output / "cache.sqlite"

    @property
    def shards_path(self) -> Path:
        """Finished shards of a Ray run (default ``<output>/shards``: resumes with the folder)."""
        shards = self.executor.shards
        return Path(shards) if shards is not None else self.output / SHARDS_DIR


# --------------------------------------------------------------------------------------
# The shape of each table, declared as a pydantic model.
# --------------------------------------------------------------------------------------


def _one_of(allowed: Sequence[str], what: str) -> Any:
    """A string that must be one of ``allowed`` (the message names them all)."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (choose {', '.join(allowed)})")
        return value

    return Annotated[str, AfterValidator(check)]


def _distinct(allowed: Sequence[str], what: str) -> Any:
    """A list of distinct names, each one of ``allowed``."""

    def check(values: list[str]) -> list[str]:
        twice = sorted({v for v in values if values.count(v) > 1})
        problems = [f"unknown {what} {v!r} (choose {', '.join(allowed)})"
                    for v in values if v not in allowed]
        problems += [f"{what} {v!r} listed twice" for v in twice]
        if problems:
            raise ValueError("; ".join(problems))
        return values

    return Annotated[list[str], AfterValidator(check)]


def _file_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"name {value!r} must be letters, digits and . _ + - "
                         f"(it becomes a file name)")
    return value


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r} (try utf-8 or cp1256)") from None
    return value


Name = Annotated[str, AfterValidator(_file_name)]
Text = Annotated[str, Field(min_length=1)]  # model ids, paths, devices: "" is never meant
Count = Annotated[int, Field(ge=1)]


class _Table(BaseModel):
    # TOML values come typed, so strict: "3" is not a number and true is not 1.
    model_config = ConfigDict(extra="forbid", strict=True)


class _SystemSettings(_Table):  # [defaults], and what each [[systems]] table may override
    engine: _one_of(ENGINES, "engine") | None = None
    revision: Text | None = None
    device: Text | None = None
    options: dict[str, Any] = {}
    decode: dict[str, Any] = {}  # checked by DecodeConfig itself
    batch: dict[str, Any] = {}  # checked by BatchConfig itself


class _System(_SystemSettings):
    name: Name
    model: Text = Field(description="hub id, local directory or tiny:FAMILY")


class _Significance(_Table):
    methods: _distinct(SIGNIFICANCE_METHODS, "significance method") | None = None
    n_samples: Count | None = None
    seed: Count | None = None  # 0 is refused by metrics.compare: sacrebleu reads it as "unseeded"
    metrics: list[str] | None = None


class _Dataset(_Table):
    type: str
    name: Name | None = None
    documents: Count | None = None
    test_set: Text | None = None
    encoding: Annotated[str, AfterValidator(_encoding)] | None = None


class _Ntrex(_Dataset):
    root: Text | None = None


class _Parallel(_Dataset):
    src: Text = Field(description="the source file")
    # One file or a list of them; one is read as a list of one.
    refs: Annotated[list[Text], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = \
        Field(description="reference files, line-aligned with src")
    doc_ids: Text | None = None


class _Articles(_Dataset):
    path: Text = Field(description="a folder of .txt files or a .jsonl file")


_DATASETS: dict[str, type[_Dataset]] = dict(zip(DATASET_TYPES, (_Ntrex, _Parallel, _Articles)))


class _Summary(_Table):
    name: Name
    strategy: _one_of(STRATEGIES, "strategy")
    input: _one_of(SUMMARY_INPUTS, "input") | None = None
    model: Text | None = None
    translator: Text | None = None
    systems: list[str] = []
    datasets: list[str] = []
    options: dict[str, Any] = {}  # checked by SummaryConfig itself


class _Experiment(_Table):
    name: Name | None = None
    description: str = ""
    baseline: str | None = None
    metrics: _distinct(ALL_METRICS, "metric") | None = None
    levels: _distinct(LEVELS, "level") | None = None
    output: Text | None = None
    cache: Text | None = None
    published: Text | None = None
    significance: _Significance = _Significance()
    metric_settings: dict[str, Any] = {}  # checked against sacrebleu's own signatures
    executor: dict[str, Any] = {}  # checked by ExecutorConfig itself
    defaults: _SystemSettings = _SystemSettings()
    systems: list[Any] = []  # items are validated one by one: their index goes into messages
    datasets: list[Any] = []
    summaries: list[Any] = []


# What a value must be, by pydantic error type, in TOML's words rather than Python's.
_MUST_BE = {"string_type": "a string", "int_type": "an integer", "float_type": "a number",
            "bool_type": "true or false", "list_type": "a list", "dict_type": "a table",
            "model_type": "a table", "string_too_short": "a non-empty string",
            "greater_than_equal": "an integer >= {ge}"}


def _location(where: str, loc: Sequence[str | int]) -> str:
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else part
    return where or "top level"


def _problem(model: type[BaseModel], where: str, error: dict) -> str:
    """One pydantic error as one line, located like ``systems[2].decode``."""
    loc, kind = error["loc"], error["type"]
    if kind in ("extra_forbidden", "missing"):
        table = model
        for part in loc[:-1]:  # [significance] and [defaults] are models of their own
            table = table.model_fields[part].annotation
        at = _location(where, loc[:-1])
        if kind == "missing":
            hint = table.model_fields[loc[-1]].description
            return f"{at}: {loc[-1]} is required" + (f" ({hint})" if hint else "")
        return f"{at}: unknown key {loc[-1]!r} (allowed: {', '.join(sorted(table.model_fields))})"
    if kind == "value_error":  # from one of the validators above, in its own words
        return f"{_location(where, loc)}: {error['ctx']['error']}"
    if kind in _MUST_BE:
        what = _MUST_BE[kind].format(**error.get("ctx", {}))
        return f"{_location(where, loc)} must be {what}, got {error['input']!r}"
    return f"{_location(where, loc)}: {error['msg']}"


def _validate(model: type[BaseModel], data: Any, where: str, problems: list[str]) -> Any:
    """``data`` as ``model``, every problem in it added to ``problems``.

    A table with problems is validated again without its bad keys, so that the rest of it
    still takes part in the checks across tables (names, baseline, references): one problem
    must neither hide another nor fake one (a system with a bad engine is still a system).
    None if even that fails: a required key is bad, or ``data`` is not a table.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems.extend(_problem(model, where, e) for e in errors)
    if not isinstance(data, dict):
        return None
    bad = {e["loc"][0] for e in errors if e["loc"]}
    try:
        return model.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        return None


# --------------------------------------------------------------------------------------
# Checks beyond one table's shape, and the tables into dataclasses.
# --------------------------------------------------------------------------------------


def _settings(base: Any, table: Any, where: str, problems: list[str]) -> Any:
    """``base`` (a DecodeConfig or BatchConfig) with ``table``'s values, checked by its class.

    The rules live in the dataclass's ``__post_init__``, so a config, the CLI and Python
    callers refuse the same values; each of its problems starts with the field's name.
    """
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table, got {table!r}")
        return base
    allowed = sorted(f.name for f in dataclasses.fields(base))
    for key in sorted(set(table) - set(allowed)):
        problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
    try:
        return dataclasses.replace(base, **{k: v for k, v in table.items() if k in allowed})
    except ConfigError as exc:
        problems.extend(f"{where}.{p}" for p in getattr(exc, "problems", [str(exc)]))
        return base


def _path(value: str, base: Path) -> Path:
    """A path from the config: ``~`` and ``$VARS`` expanded, relative to the config's folder."""
    path = Path(os.path.expandvars(os.path.expanduser(value)))
    return path if path.is_absolute() else (base / path).resolve()


def _model_problem(model: str, base: Path) -> tuple[str, str | None]:
    """(model as resolved for the run, problem or None); hub ids cannot be checked offline."""
    try:
        problem = check_model(model)  # prefixed ids (tiny:FAMILY), checked without building
    except ConfigError as exc:
        return model, str(exc)
    if problem is not None or ":" in model.split("/")[0]:
        return model, problem
    expanded = os.path.expandvars(os.path.expanduser(model))
    candidate = Path(expanded) if Path(expanded).is_absolute() else base / expanded
    if candidate.is_dir():
        return str(candidate.resolve()), None
    # The same rule as the HF loader: these can only be paths, so a missing one is an error now.
    if (model.startswith((".", "/", "~", "$")) or model.count("/") > 1
            or Path(expanded).is_absolute()):
        return model, f"model directory {candidate} does not exist"
    return model, None  # a hub id: checked when the system loads (failure recorded, run goes on)


def _device_problem(engine: str, device: str) -> str | None:
    """Why ``engine`` cannot run on ``device`` on this machine, or None.

    A GPU is asked of the engine's own library (torch or ctranslate2), imported only then:
    ``auto`` and ``cpu`` need no import, and other devices fail or run when the model loads.
    """
    kind, _, index = device.partition(":")
    if engine == "ct2" and kind not in ("auto", "cpu", "cuda"):
        return f"CTranslate2 runs on auto, cpu or cuda[:N], not {device!r} (use engine \"hf\")"
    if kind == "mps" and engine == "hf":
        import torch

        available = torch.backends.mps.is_available()
        return None if available else "mps requested but no Apple GPU is visible"
    if kind != "cuda":
        return None
    if index and not index.isdigit():
        return f"{device!r} is not a device (cuda or cuda:N)"
    if engine == "ct2":
        import ctranslate2

        count = ctranslate2.get_cuda_device_count()
    else:
        import torch

        count = torch.cuda.device_count()
    if count == 0:
        return "cuda requested but no CUDA GPU is visible"
    if int(index or 0) >= count:
        return f"{device} requested but only {count} CUDA GPU(s) are visible"
    return None


def _check_metric_requirements(metrics: Sequence[str], problems: list[str]) -> None:
    """Optional metrics whose requirements can be checked now, not after hours of decoding."""
    from summ.comet import find_python, missing_message
    from summ.metrics import spm_model_path

    for m in metrics:
        spm = spm_model_path(m.removeprefix("spbleu-")) if m.startswith("spbleu-") else None
        if spm is not None and not os.path.isfile(spm):
            problems.append(f"metric {m!r} needs the SentencePiece model {spm}, which is missing")
        if m in COMET_METRICS and find_python() is None:
            problems.append(f"metric {m!r} needs the COMET environment: {missing_message()}")


def _executor(table: dict[str, Any], given: Mapping[str, Any] | None, base: Path,
              problems: list[str]) -> tuple[ExecutorConfig, dict[str, Any]]:
    """``[executor]`` with the command line's values over it, checked by ExecutorConfig;
    also returns the command line's values that were given."""
    table = dict(table)
    if isinstance(table.get("shards"), str):
        table["shards"] = str(_path(table["shards"], base))
    given = {k: v for k, v in (given or {}).items() if v is not None}
    if isinstance(given.get("shards"), (str, os.PathLike)):  # typed: relative to the cwd
        given["shards"] = str(Path(given["shards"]).expanduser().resolve())
    config = _settings(ExecutorConfig(), {**table, **given}, "executor", problems)
    ray_only = sorted(k for k in given if k != "kind")
    if ray_only and config.kind != "ray":
        # Given and then ignored would be silent: say which kind they need.
        problems.append(f"executor: {', '.join(ray_only)} (from the command line) apply to "
                        f"kind 'ray', not {config.kind!r}: add --executor ray or set "
                        f"[executor] kind = \"ray\"")
    return config, given


def _duplicates(names: list[str], what: str, problems: list[str]) -> None:
    twice = sorted({n for n in names if names.count(n) > 1})
    problems.extend(f"two {what}s are named {n!r}" for n in twice)


def _significance(sig: _Significance, metrics: Sequence[str],
                  problems: list[str]) -> SignificanceConfig:
    for m in sig.metrics or ():
        if m not in metrics:
            problems.append(f"significance.metrics: {m!r} is not one of the experiment's metrics")
        if m in COMET_METRICS:
            problems.append(f"significance.metrics: sacrebleu cannot resample {m} "
                            "(only its own metrics)")
    default = SignificanceConfig()
    return SignificanceConfig(
        methods=tuple(sig.methods or default.methods), n_samples=sig.n_samples,
        seed=sig.seed or default.seed, metrics=None if sig.metrics is None else tuple(sig.metrics))


def _system(i: int, table: Any, defaults: _SystemSettings, decode: DecodeConfig,
            batch: BatchConfig, base: Path, problems: list[str]) -> SystemConfig | None:
    """``[[systems]]`` table ``i`` over ``[defaults]``; None if it cannot name a system."""
    where = f"systems[{i}]"
    s = _validate(_System, table, where, problems)
    if s is None:
        return None
    model, problem = _model_problem(s.model, base)
    if problem:
        problems.append(f"{where}.model: {problem}")
    # The system's own value, else [defaults]'s, else (left out) SystemConfig's default.
    own = {k: getattr(s, k) if getattr(s, k) is not None else getattr(defaults, k)
           for k in ("engine", "revision", "device")}
    options = {**defaults.options, **s.options}
    # Checked here, not at load time: a typo would otherwise cost a run a system after others ran.
    if options.get("vocabulary", VOCABULARIES[0]) not in VOCABULARIES:
        problems.append(f"{where}.options.vocabulary must be one of {', '.join(VOCABULARIES)}, "
                        f"got {options['vocabulary']!r}")
    return SystemConfig(name=s.name, model=model, **{k: v for k, v in own.items() if v},
                        options=options,
                        decode=_settings(decode, s.decode, f"{where}.decode", problems),
                        batch=_settings(batch, s.batch, f"{where}.batch", problems))


# The fix for an undecodable dataset file under `summ run`, which has no --encoding flag.
_ENCODING_FIX = 'set encoding = "cp1256" in its [[datasets]] table'


def _dataset(i: int, table: Any, base: Path, problems: list[str]) -> DatasetConfig | None:
    """``[[datasets]]`` table ``i``, its files there and decodable; None if it is unusable."""
    from summ.data import NTREX, check_text_file, data_dir

    where = f"datasets[{i}]"
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table, got {table!r}")
        return None
    kind = table.get("type")
    if not isinstance(kind, str) or kind not in _DATASETS:  # the type decides the other keys
        problems.append(f"{where}: unknown type {kind!r} (choose {', '.join(DATASET_TYPES)})")
        return None
    before = len(problems)
    d = _validate(_DATASETS[kind], table, where, problems)
    if d is None:
        return None
    files = [(key, _path(getattr(d, key), base)) for key in ("root", "src", "doc_ids", "path")
             if getattr(d, key, None) is not None]
    files += [(f"refs[{j}]", _path(r, base)) for j, r in enumerate(getattr(d, "refs", []))]
    problems.extend(f"{where}.{key}: {p} does not exist" for key, p in files if not p.exists())
    encoding = d.encoding or DatasetConfig.encoding
    if kind == "ntrex128":
        folder = dict(files).get("root", data_dir()) / NTREX.name
        missing = [f.name for f in NTREX.files if not (folder / f.name).is_file()]
        if missing:
            problems.append(f"{where}: NTREX-128 file(s) missing in {folder}: "
                            f"{', '.join(missing)} (run `summ data fetch ntrex128` or set "
                            f"SUMM_DATA_DIR)")
    elif len(problems) == before:
        # Decode every file now, with the fix that applies here: a wrong encoding is then one
        # more problem in this list, not the end of a run that has started.
        for key, p in files:
            try:
                for f in sorted(p.glob("*.txt")) if p.is_dir() else [p]:
                    check_text_file(f, encoding, fix=_ENCODING_FIX)
            except (ConfigError, InputError) as exc:
                problems.append(f"{where}.{key}: {exc}")
    paths = {key: p for key, p in files if not key.startswith("refs")}
    return DatasetConfig(name=d.name or kind, type=kind, documents=d.documents, encoding=encoding,
                         test_set=d.test_set or ("ntrex128" if kind == "ntrex128" else None),
                         refs=tuple(p for key, p in files if key.startswith("refs")), **paths)


# SummaryConfig fields the experiment sets itself, per strategy and dataset.
_RESERVED_OPTIONS = ("strategy", "lang", "model", "translator", "cache")


def _summary(i: int, table: Any, systems: list[str], datasets: list[str], base: Path,
             problems: list[str]) -> StrategyConfig | None:
    """``[[summaries]]`` table ``i``, its options checked by SummaryConfig; None if unusable."""
    where = f"summaries[{i}]"
    s = _validate(_Summary, table, where, problems)
    if s is None:
        return None
    kind = s.input or ("translation" if s.strategy in MONOLINGUAL else "source")
    if kind == "translation" and s.strategy not in MONOLINGUAL:
        problems.append(f"{where}: {s.strategy} takes the Arabic source; use input = \"source\" "
                        f"(or lead, textrank, abstractive on the translations)")
    models = {}
    for key in ("model", "translator"):
        if getattr(s, key) is not None:
            models[key], problem = _model_problem(getattr(s, key), base)
            if problem:
                problems.append(f"{where}.{key}: {problem}")
    if "translator" in models and kind == "translation":
        problems.append(f"{where}: a translator applies to input = \"source\"; "
                        f"the translations come from the systems")
    for what, named, known in (("system", s.systems, systems), ("dataset", s.datasets, datasets)):
        problems.extend(f"{where}.{what}s: {what} {n!r} is not defined"
                        for n in named if n not in known)
    allowed = sorted(f.name for f in dataclasses.fields(SummaryConfig)
                     if f.name not in _RESERVED_OPTIONS)
    for key in sorted(set(s.options) - set(allowed)):
        why = ("the experiment sets it" if key in _RESERVED_OPTIONS
               else "allowed: " + ", ".join(allowed))
        problems.append(f"{where}.options: unknown key {key!r} ({why})")
    options = {k: v for k, v in s.options.items() if k in allowed}
    if "translate_decode" in options:  # a TOML table: checked like [defaults.decode]
        options["translate_decode"] = _settings(DecodeConfig(), options["translate_decode"],
                                                f"{where}.options.translate_decode", problems)
    try:
        # The summariser's own rules, now rather than after the translations ran. (A strategy
        # given the wrong input was reported above: check the rest with the Arabic it takes.)
        lang = "en" if kind == "translation" and s.strategy in MONOLINGUAL else "ar"
        config = SummaryConfig(strategy=s.strategy, lang=lang, **models, **options)
    except ConfigError as exc:
        for p in getattr(exc, "problems", [str(exc)]):
            head = p.split(" ", 1)[0]  # a problem about one field starts with its name
            problems.append(f"{where}.options.{p}" if head in options
                            else f"{where}.{p}" if head in models else f"{where}: {p}")
    else:
        if problem := _device_problem(config.engine, config.device):
            problems.append(f"{where}.options.device: {problem}")
    return StrategyConfig(name=s.name, strategy=s.strategy, input=kind, model=models.get("model"),
                          translator=models.get("translator"), systems=tuple(s.systems),
                          datasets=tuple(s.datasets), options=options)


def _metric_settings(table: dict[str, Any], problems: list[str]) -> MetricSettings:
    """``[metric_settings]``: sacrebleu tables checked against sacrebleu's own signatures."""
    from summ.metrics import check_metric_settings

    for key in sorted(set(table) - {"bleu", "chrf", "ter", "rouge"}):
        problems.append(f"metric_settings: unknown key {key!r} (allowed: bleu, chrf, rouge, ter)")
    tables = {k: table[k] for k in ("bleu", "chrf", "ter") if k in table}
    try:
        checked = check_metric_settings(**tables)
    except ConfigError as exc:
        problems += [f"metric_settings: {item}" for item in getattr(exc, "problems", [str(exc)])]
        checked = {"bleu": {}, "chrf": {}, "ter": {}}
    rouge = table.get("rouge", {})
    stem = rouge.get("stem") if isinstance(rouge, dict) else None
    if not isinstance(rouge, dict) or set(rouge) - {"stem"} or stem not in (None, True, False):
        problems.append(f"metric_settings.rouge: stem must be true or false (its only key), "
                        f"got {rouge!r}")
        stem = None
    return MetricSettings(bleu=checked["bleu"], chrf=checked["chrf"], ter=checked["ter"],
                          rouge_stem=stem)


def load_config(path: str | os.PathLike, *, output: str | os.PathLike | None = None,
                model: str | None = None, summary_model: str | None = None,
                documents: int | None = None, device: str | None = None,
                systems: Sequence[str] | None = None,
                executor: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Read and validate an experiment config; nothing is loaded or run.

    The keyword arguments replace the config's values, as ``summ run``'s flags do; paths
    in them are relative to the working directory.

    Args:
        path: the TOML file.
        model: replaces the model of every system (the README's main job on a tiny model).
        summary_model: replaces the model of every summary strategy that runs one
            (abstractive, direct, ...; not lead or textrank).
        documents: keep at most the first N documents of every dataset.
        systems: run only these systems (by name); the baseline is kept if it exists.
        executor: :class:`~summ.executors.ExecutorConfig` fields over ``[executor]``'s
            (``None`` values are left out).

    Raises:
        ConfigError: listing every problem found, each with its place in the file (unknown
            keys, wrong types, missing model folders and data files, files that do not decode,
            a GPU this machine lacks, duplicate names...); ``error.problems`` has them one by
            one.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    base = path.resolve().parent
    problems: list[str] = []
    top = _validate(_Experiment, raw, "", problems)  # never None: every key has a default

    name = top.name or path.stem
    metrics = METRICS if top.metrics is None else tuple(top.metrics)
    if top.metrics is not None:
        _check_metric_requirements(metrics, problems)
    levels = LEVELS if top.levels is None else tuple(top.levels)
    if "corpus" not in levels:
        problems.append("levels must include 'corpus' (the tables report corpus scores)")
    significance = _significance(top.significance, metrics, problems)

    metric_settings = _metric_settings(top.metric_settings, problems)
    executor_config, given = _executor(top.executor, executor, base, problems)
    if "systems" not in raw or raw["systems"] == []:
        problems.append("no systems: add at least one [[systems]] table with name and model")
    # Defaults are checked once (one message per problem), then each system overrides them.
    decode = _settings(DecodeConfig(), top.defaults.decode, "defaults.decode", problems)
    batch = _settings(BatchConfig(), top.defaults.batch, "defaults.batch", problems)
    parsed = [_system(i, t, top.defaults, decode, batch, base, problems)
              for i, t in enumerate(top.systems)]
    if model is not None:
        # Typed by the user: relative to the working directory, not to the config file.
        resolved, problem = _model_problem(model, Path.cwd())
        if problem:
            problems.append(f"--model: {problem}")
        parsed = [s and dataclasses.replace(s, model=resolved) for s in parsed]
    if device is not None:
        parsed = [s and dataclasses.replace(s, device=device) for s in parsed]
    names = [s.name for s in parsed if s is not None]
    _duplicates(names, "system", problems)
    baseline = top.baseline
    if baseline is not None and baseline not in names:
        problems.append(f"baseline {baseline!r} is not a system "
                        f"(systems: {', '.join(names) or 'none'})")
    baseline = baseline or (names[0] if names else None)
    if systems is not None:
        unknown = [s for s in systems if s not in names]
        if unknown:
            problems.append(f"--systems: unknown system(s) {', '.join(unknown)} "
                            f"(systems: {', '.join(names)})")
        parsed = [s if s is not None and s.name in {*systems, baseline} else None for s in parsed]
    for i, s in enumerate(parsed):  # the systems that will run: --systems may leave a GPU one out
        if s is not None and (problem := _device_problem(s.engine, s.device)):
            problems.append(f"{'--device' if device else f'systems[{i}].device'}: {problem}")

    if "datasets" not in raw or raw["datasets"] == []:
        problems.append("no datasets: add at least one [[datasets]] table with name and type")
    datasets = [d for i, t in enumerate(top.datasets) if (d := _dataset(i, t, base, problems))]
    if documents is not None:
        if isinstance(documents, bool) or not isinstance(documents, int) or documents < 1:
            problems.append(f"--documents must be a positive integer, not {documents!r}")
        else:
            datasets = [dataclasses.replace(d, documents=min(d.documents or documents, documents))
                        for d in datasets]
    _duplicates([d.name for d in datasets], "dataset", problems)

    summaries = [s for i, t in enumerate(top.summaries)
                 if (s := _summary(i, t, names, [d.name for d in datasets], base, problems))]
    _duplicates([s.name for s in summaries], "summary", problems)
    if summary_model is not None:
        resolved, problem = _model_problem(summary_model, Path.cwd())
        if problem:
            problems.append(f"--summary-model: {problem}")
        summaries = [dataclasses.replace(s, model=resolved) if s.strategy not in EXTRACTIVE else s
                     for s in summaries]

    out = _path(top.output, base) if top.output else (base.parent / "results" / name).resolve()
    if output is not None:
        out = Path(output).expanduser().resolve()
    published = _path(top.published, base) if top.published else base.parent / "published.csv"
    if top.published and not published.is_file():
        problems.append(f"published: no such file {published}")

    if problems:
        problems = list(dict.fromkeys(problems))  # --device's problem once, not once per system
        n = len(problems)
        error = ConfigError(f"{path}: {n} problem{'s' if n > 1 else ''}: " + "; ".join(problems))
        error.problems = problems  # for callers that want them one by one
        raise error
    overrides = {"output": output and str(output), "model": model,
                 "summary_model": summary_model, "documents": documents,
                 "device": device, "systems": systems and list(systems), "executor": given or None}
    return ExperimentConfig(
        name=name, path=path.resolve(), output=out, systems=tuple(s for s in parsed if s),
        datasets=tuple(datasets), baseline=baseline, metrics=metrics, levels=levels,
        significance=significance, cache=_path(top.cache, base) if top.cache else None,
        published=published.resolve() if published.is_file() else None, summaries=tuple(summaries),
        metric_settings=metric_settings, description=top.description,
        overrides={k: v for k, v in overrides.items() if v is not None}, executor=executor_config,
    )
