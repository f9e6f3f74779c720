"""The ``summ`` command: parses arguments into the library's dataclasses, nothing more.

Every failure the user can fix ends as one line on stderr and a non-zero exit code:
2 bad input or configuration, 3 model not found, 4 missing optional dependency,
1 anything else the library reports, 130 interrupted. Unexpected exceptions keep their
traceback (they are bugs to report, not messages to read).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from summ.errors import ConfigError, ModelNotFoundError, SummError

logger = logging.getLogger("summ")


def _defaults(cls) -> dict:
    """Field defaults of a config dataclass, so the CLI never restates them."""
    return {f.name: f.default for f in fields(cls)}


# ------------------------------------------------------------------------------------
# Checks before any work: every mistake one line, before a model loads or a file is written
# ------------------------------------------------------------------------------------

# Config fields -> the flags that set them, so that a value error names what the user typed.
_FLAGS = {
    "beam_size": "--beam", "batch_tokens": "--batch-tokens",
    "max_input_tokens": "--max-input-tokens", "commit_every": "--commit-every",
    "sentences": "--sentences", "max_tokens": "--max-tokens", "model": "--model",
    "translator": "--translator", "device": "--device", "dtype": "--dtype", "prompt": "--prompt",
}
_DEVICE_RE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
#: The smallest --max-input-tokens: room for a model's special tokens (language code, </s>)
#: and one character as UTF-8 bytes. Below it a piece cannot be split to fit at all.
MIN_INPUT_TOKENS = 8


def _flag_problems(build: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``build()`` (a config dataclass that checks itself), or its problems with the config
    field names replaced by the flags that set them."""
    try:
        return build(), []
    except ConfigError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
    out = []
    for problem in problems:
        name, sep, rest = problem.partition(" ")
        # A flag cannot be None: "an integer >= 1 or None" would be advice the user cannot take.
        out.append(f"{_FLAGS[name]} {rest.replace(' or None,', ',')}"
                   if sep and name in _FLAGS else problem)
    return None, out


def device_problem(device: str, engine: str) -> str | None:
    """Why ``--device`` cannot work with ``engine`` on this machine, or ``None``.

    The engine's own device check runs here, before any model loads (it imports torch or
    ctranslate2, which loading the model would import anyway).
    """
    import importlib

    from summ.engines.base import ENGINES

    if not _DEVICE_RE.fullmatch(device):
        return f"--device {device!r} is not a device: choose auto, cpu, cuda, cuda:N or mps"
    if engine not in ENGINES:
        return None
    module = importlib.import_module(ENGINES[engine].partition(":")[0])
    pick = getattr(module, "pick_device", None)
    try:
        if pick is not None:
            pick(device)
    except ConfigError as exc:
        return str(exc)
    return None


def model_problem(model: str, flag: str = "--model") -> str | None:
    """Why ``model`` names no loadable local model, or ``None`` (hub ids are looked up later).

    The hub's advice (download elsewhere, pass --model DIR) is wrong for a path: a path names
    a file or folder on this machine, so the fix is the right folder.
    """
    path = Path(model).expanduser()
    if path.is_file():
        where = (f" ({path.parent} holds a config.json)"
                 if (path.parent / "config.json").is_file() else "")
        return (f"{flag} {model} is a file; pass the model's folder, which holds config.json, "
                f"the weights and the tokenizer{where}")
    if path.is_dir():
        if not (path / "config.json").is_file():
            return (f"{flag} {model}: the folder has no config.json; pass the folder that "
                    "save_pretrained wrote (config.json, weights, tokenizer)")
        return None
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        return f"{flag} {model}: no such folder (a hub id has the form ORG/NAME)"
    return None


def _model_checks(model: str, flag: str, problems: list[str], model_problems: list[str]) -> None:
    """Append the problems of ``model``: a bad ``tiny:`` id is a usage error (exit 2), a path
    that holds no model is a model not found (exit 3)."""
    from summ.engines.base import check_model

    if problem := check_model(model):
        problems.append(f"{flag} {model}: {problem}")
    elif problem := model_problem(model, flag):
        model_problems.append(problem)


def _encoding_problem(encoding: str) -> str | None:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"--encoding {encoding}: unknown encoding (try utf-8 or cp1256)"
    return None


def _raise_problems(problems: list[str], model_problems: Sequence[str] = ()) -> None:
    """One ConfigError (exit 2) with a line per problem; only model problems: exit 3."""
    if problems:
        raise ConfigError("\n".join([*problems, *model_problems]))
    if model_problems:
        raise ModelNotFoundError("\n".join(model_problems))


def translate_problems(args: argparse.Namespace, jobs: list) -> tuple[list[str], list[str]]:
    """Everything wrong with a ``summ translate`` command (``jobs``: its
    :class:`summ.files.FileJob` list) that can be known before the model loads: option values,
    the device, the cache, every input and output path.

    Returns:
        ``(problems, model_problems)``, one line each; both empty when the command can run.
    """
    from summ.engines.base import BatchConfig, DecodeConfig
    from summ.engines.vocab import check_vocabulary, scripts_for
    from summ.files import job_problems

    problems: list[str] = []
    for job in jobs:
        if job.input.is_dir() and job.output is None:
            problems.append(f"{job.input} is a directory of articles: give --output DIR for the "
                            "translations")
    # Each flag belongs to one engine; given to the other it is an error, never ignored.
    if args.compute_type and args.engine != "ct2":
        problems.append("--compute-type applies to --engine ct2 only (use --dtype with hf)")
    if args.dtype and args.engine != "hf":
        problems.append("--dtype applies to --engine hf only (use --compute-type with ct2)")
    if args.no_cache and args.cache is not None:
        problems.append("--cache and --no-cache contradict each other: give one of them")
    problems += _flag_problems(lambda: DecodeConfig(beam_size=args.beam))[1]
    problems += _flag_problems(lambda: BatchConfig(
        batch_tokens=args.batch_tokens, max_input_tokens=args.max_input_tokens,
        commit_every=args.commit_every))[1]
    if args.max_input_tokens is not None and 1 <= args.max_input_tokens < MIN_INPUT_TOKENS:
        problems.append(f"--max-input-tokens must be at least {MIN_INPUT_TOKENS} (room for the "
                        f"model's special tokens and one character), got {args.max_input_tokens}")
    try:
        if check_vocabulary(args.vocabulary) == "target-script":
            scripts_for(args.tgt_lang)
    except ConfigError as exc:
        problems.append(str(exc))
    if device := device_problem(args.device, args.engine):
        problems.append(device)
    elif args.compute_type and args.engine == "ct2" and _DEVICE_RE.fullmatch(args.device):
        from summ.engines.ct2 import pick_compute_type, pick_device

        try:
            pick_compute_type(args.compute_type, pick_device(args.device)[0])
        except ConfigError as exc:
            problems.append(f"--compute-type: {exc}")
    model_problems: list[str] = []
    _model_checks(args.model, "--model", problems, model_problems)
    if not model_problems and args.revision and Path(args.model).expanduser().is_dir():
        problems.append(f"--revision applies to hub models; {args.model} is a local folder "
                        "(drop --revision)")
    if encoding := _encoding_problem(args.encoding):
        problems.append(encoding)
    else:
        cache = None if args.no_cache else (args.cache or default_cache_path())
        problems += job_problems(jobs, cache=cache, encoding=args.encoding, recursive=True)
    return problems, model_problems


# ------------------------------------------------------------------------------------
# summ translate
# ------------------------------------------------------------------------------------


def _add_translate(sub) -> None:
    from summ.engines.base import ENGINES, BatchConfig, DecodeConfig
    from summ.engines.vocab import VOCABULARIES

    d, b = _defaults(DecodeConfig), _defaults(BatchConfig)
    p = sub.add_parser(
        "translate", help="translate Arabic text files, article folders or JSONL to English",
        description="INPUT: a text file (one segment per line; one output line per input line), "
        "a directory of .txt articles (one .txt per article in --output DIR), or JSONL with id "
        "and text.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    p.add_argument("--model", default="Helsinki-NLP/opus-mt-ar-en",
                   help="hub id or local directory (default: %(default)s)")
    p.add_argument("--engine", choices=list(ENGINES), default="hf")
    p.add_argument("--compute-type", default=None,
                   help="CTranslate2 compute type (int8, int8_float32, float32, float16, "
                        "bfloat16, auto)")
    p.add_argument("--vocabulary", choices=VOCABULARIES, default=VOCABULARIES[0],
                   help="output tokens: full (default) or target-script (only tokens written in "
                        "the target language's scripts: faster with ct2; outputs change only "
                        "where the full model would emit another script's token)")
    p.add_argument("--revision", default=None, help="hub branch, tag or commit")
    p.add_argument("--device", default="auto",
                   help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", default=None, choices=["auto", "float32", "float16", "bfloat16"],
                   help="HF engine weight type (default: auto)")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="output file (text/JSONL input; default stdout) or directory (article "
                        "folders)")
    p.add_argument("--segments", type=Path, default=None,
                   help="write one JSON object per segment here")
    p.add_argument("--cache", type=Path, default=None,
                   help="SQLite cache (default: $SUMM_CACHE or ~/.cache/summ/translations.sqlite)")
    p.add_argument("--no-cache", action="store_true", help="keep nothing between runs")
    p.add_argument("--beam", type=int, default=d["beam_size"],
                   help="beam size (default: %(default)s)")
    p.add_argument("--batch-tokens", type=int, default=b["batch_tokens"],
                   help="padded source tokens per batch (default: %(default)s)")
    p.add_argument("--max-input-tokens", type=int, default=None,
                   help="split segments longer than this (default: the model's limit)")
    p.add_argument("--commit-every", type=int, default=b["commit_every"],
                   help="pieces between cache commits (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8",
                   help="input encoding, e.g. cp1256 for Windows Arabic")
    p.add_argument("--keep-html", action="store_true",
                   help="keep HTML tags and entities (default: strip tags, decode entities)")
    p.add_argument("--src-lang", default="ar")
    p.add_argument("--tgt-lang", default="en")
    p.add_argument("--prompt", default=None,
                   help="causal LMs: a prompt name of summ.prompts (translate, gemmax2, ...) or a "
                   "template text with {source} (default: the model's)")
    p.add_argument("--prompt-format", choices=["chat", "plain"], default=None,
                   help="causal LMs, with a --prompt text: through the chat template (chat) or "
                   "raw (plain)")
    p.add_argument("--level", choices=["sentence", "document"], default="sentence",
                   help="causal LMs: one sentence per prompt, or several lines per prompt mapped "
                   "back line by line (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    _add_executor(p, "keep finished shards here (default: $SUMM_SHARDS or ~/.cache/summ/shards; "
                     "on a cluster, a folder every node mounts)")
    p.set_defaults(func=_run_translate)


# Executor flags -> ExecutorConfig fields.
_EXECUTOR_FLAGS = {"executor": "kind", "ray_address": "address", "ray_actors": "actors",
                   "ray_cpus": "cpus_per_actor", "ray_gpus": "gpus_per_actor",
                   "ray_batch_size": "batch_size", "shards": "shards"}


def _add_executor(p: argparse.ArgumentParser, shards_help: str, kind_help: str = "") -> None:
    from summ.executors import EXECUTORS, ExecutorConfig

    e = _defaults(ExecutorConfig)
    g = p.add_argument_group("executor", "where the work runs: this process, or Ray Data actors "
                             '(pip install "summ[ray]"); finished shards make a Ray run resumable')
    g.add_argument("--executor", choices=EXECUTORS, default=None,
                   help=f"local or ray (default: {kind_help or e['kind']})")
    g.add_argument("--ray-address", default=None,
                   help="Ray cluster to join, e.g. auto (default: $RAY_ADDRESS, else a Ray "
                        "started on this machine)")
    g.add_argument("--ray-actors", type=int, default=None,
                   help=f"actors, each with one loaded model (default: {e['actors']})")
    g.add_argument("--ray-cpus", type=float, default=None,
                   help=f"CPUs per actor (default: {e['cpus_per_actor']})")
    g.add_argument("--ray-gpus", type=float, default=None,
                   help=f"GPUs per actor, 1 for a GPU each (default: {e['gpus_per_actor']})")
    g.add_argument("--ray-batch-size", type=int, default=None,
                   help=f"documents (lines of a text file) per shard (default: {e['batch_size']})")
    g.add_argument("--shards", type=Path, default=None, help=shards_help)


def _executor_overrides(args: argparse.Namespace) -> dict:
    """The executor flags given, as ExecutorConfig fields (flags left out are absent)."""
    given = {field: getattr(args, flag) for flag, field in _EXECUTOR_FLAGS.items()
             if getattr(args, flag) is not None}
    if "shards" in given:
        given["shards"] = str(given["shards"])
    return given


def default_cache_path() -> Path:
    """``$SUMM_CACHE``, else ``translations.sqlite`` in summ's user cache folder."""
    import os

    from summ.data import user_cache_dir

    value = os.environ.get("SUMM_CACHE")
    return Path(value).expanduser() if value else user_cache_dir("translations.sqlite")


def _run_translate(args: argparse.Namespace) -> int:
    import contextlib

    from summ.data import output_lock
    from summ.engines.base import BatchConfig, DecodeConfig
    from summ.files import plan_jobs, translate_articles, translate_file

    jobs = plan_jobs(args.inputs, args.output, args.segments)
    _raise_problems(*translate_problems(args, jobs))
    executor = _translate_executor(args)
    # Engine options: --compute-type and --dtype unless empty, the prompt flags when given.
    options = {"compute_type": args.compute_type or None, "dtype": args.dtype or None,
               "prompt": args.prompt, "prompt_format": args.prompt_format}
    # What a local and a Ray translator are both given.
    settings = dict(
        device=args.device, revision=args.revision, decode=DecodeConfig(beam_size=args.beam),
        batch=BatchConfig(batch_tokens=args.batch_tokens, max_input_tokens=args.max_input_tokens,
                          commit_every=args.commit_every),
        progress=not args.no_progress and sys.stderr.isatty(), src_lang=args.src_lang,
        tgt_lang=args.tgt_lang, vocabulary=args.vocabulary, level=args.level,
        **{k: v for k, v in options.items() if v is not None})
    html = "keep" if args.keep_html else "strip"
    with contextlib.ExitStack() as held:
        # Every output is locked before the model loads: a second run onto one of them fails
        # at once, instead of after its model has loaded (or, worse, interleaving).
        for job in jobs:
            for path in (job.output, job.segments):
                if path is not None:
                    held.enter_context(output_lock(path))
        chunk = {}
        if executor.kind == "ray":
            from summ.engines.base import resolve_model
            from summ.executors import RayTranslator, default_shards_dir

            store = None if args.no_cache else executor.shards or default_shards_dir()
            translator = RayTranslator(resolve_model(args.model), args.engine, executor=executor,
                                       store=store, **settings)
            # One Ray job per input, the whole file at once: each job starts its actors (and
            # loads the model) once, so a line file is not cut into chunks as a local run is.
            chunk = {"chunk_lines": sys.maxsize}
        else:
            from summ.translate import load_translator

            cache = None if args.no_cache else str(args.cache or default_cache_path())
            translator = load_translator(args.model, args.engine, cache=cache, **settings)
            if translator.cache is not None:
                # Closed when the command ends (error or not): SQLite then folds its write-ahead
                # log back into the file and removes the -wal and -shm files beside it.
                held.callback(translator.cache.close)
        for job in jobs:
            if job.kind == "lines":
                stats = translate_file(translator, job.input, job.output, segments=job.segments,
                                       encoding=args.encoding, html=html, **chunk)
            else:
                stats = translate_articles(translator, job.input, job.output,
                                           segments=job.segments, encoding=args.encoding,
                                           html=html, recursive=True)
            shards = getattr(translator, "last_run", None)  # the Ray executor's shard counts
            counts = f"; {shards.line()}" if shards else ""
            _report(args, f"{job.input}: {stats.line()}{counts}")
    return 0


def _translate_executor(args: argparse.Namespace):
    """The executor of ``summ translate``: the flags over ExecutorConfig's defaults.

    Raises:
        ConfigError: Ray flags without ``--executor ray``, or ``--cache`` with it.
    """
    from summ.executors import ExecutorConfig

    given = _executor_overrides(args)
    executor = ExecutorConfig(**given)
    ray_only = sorted(f"--{flag.replace('_', '-')}" for flag, field in _EXECUTOR_FLAGS.items()
                      if field in given and field != "kind")
    if ray_only and executor.kind != "ray":
        raise ConfigError(f"{', '.join(ray_only)} apply to --executor ray only")
    if args.cache is not None and executor.kind == "ray":
        raise ConfigError("--cache is the local executor's SQLite cache; with --executor ray "
                          "finished shards are kept in --shards (or --no-cache keeps nothing)")
    return executor


def _report(args: argparse.Namespace, line: str) -> None:
    """A result line for the user on stderr (stdout carries the translations)."""
    if not args.quiet:
        print(f"summ: {line}", file=sys.stderr)


# ------------------------------------------------------------------------------------
# summ data
# ------------------------------------------------------------------------------------


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="fetch and check public datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download a dataset at a pinned commit and check its hashes")
    f.add_argument("dataset", choices=["ntrex128"])
    f.add_argument("--dest", type=Path, default=None,
                   help="data folder (default: $SUMM_DATA_DIR or ~/.cache/summ/data)")
    f.set_defaults(func=_run_data_fetch)


def _run_data_fetch(args: argparse.Namespace) -> int:
    from summ.data import fetch_ntrex128

    if args.dest is not None and args.dest.exists() and not args.dest.is_dir():
        raise ConfigError(f"--dest {args.dest} is a file; give a folder (the dataset goes to "
                          f"{args.dest / 'ntrex128'} inside it)")
    print(fetch_ntrex128(args.dest))
    return 0


# ------------------------------------------------------------------------------------
# summ summarise
# ------------------------------------------------------------------------------------


def _add_summarise(sub) -> None:
    from summ.summary import LANGS, STRATEGIES, SummaryConfig

    d = _defaults(SummaryConfig)
    p = sub.add_parser(
        "summarise",
        help="summarise articles: extractive (lead, textrank) or with models "
             "(translate-then-summarise, summarise-then-translate, direct cross-lingual)",
        description="INPUT: an article .txt, a directory of .txt articles, or JSONL with id and "
                    "text.")
    p.add_argument("input", type=Path, metavar="INPUT")
    # default=None, so that the run can say when it chose the default for the user.
    p.add_argument("--strategy", choices=STRATEGIES, default=None,
                   help=f"how to summarise (default: {d['strategy']}, extractive, no model)")
    p.add_argument("--model", default=None,
                   help="summariser: hub id or local directory (default: the strategy's)")
    p.add_argument("--translator", default=None,
                   help="translation model (pipeline strategies; translates extractive summaries)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--sentences", type=int, default=d["sentences"],
                        help="extractive length (default: %(default)s)")
    length.add_argument("--max-tokens", type=int, default=None,
                        help="model strategies: new tokens (default: the model's)")
    p.add_argument("--lang", choices=LANGS, default=d["lang"],
                   help="input language (default: %(default)s)")
    p.add_argument("--engine", default=d["engine"], choices=["hf", "ct2"])
    p.add_argument("--device", default=d["device"])
    p.add_argument("--beam", type=int, default=None,
                   help="summariser beam size (default: the model's)")
    p.add_argument("--max-input-tokens", type=int, default=None,
                   help="chunk inputs longer than this (default: the model's limit)")
    p.add_argument("--prompt", default=None,
                   help="strategy llm: a summary prompt name of summ.prompts or a template text "
                   "with {source} (default: summarise)")
    p.add_argument("--cache", type=Path, default=None, help="SQLite cache for model outputs")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="write the summaries here instead of printing them: text as printed, or "
                   "with a .jsonl name one record per document (id and every summary field)")
    p.add_argument("--references", type=Path, default=None,
                   help="JSONL with id and reference summaries: print ROUGE/chrF")
    p.add_argument("--reference-field", default="summary",
                   help="field of --references to score against (default: %(default)s)")
    p.add_argument("--rouge-stem", action=argparse.BooleanOptionalAction, default=None,
                   help="ROUGE stemming (default: the language's: Porter for English, none for "
                   "Arabic); Arabic --rouge-stem is XL-Sum/CrossSum's scorer (summ[xlsum])")
    p.add_argument("--encoding", default="utf-8")
    p.set_defaults(func=_run_summarise)


def summarise_problems(args: argparse.Namespace) -> tuple[Any, list[str], list[str]]:
    """Everything wrong with a ``summ summarise`` command that can be known before a model
    loads: option values, devices, models, the cache, the input, output and references.

    Returns:
        ``(config, problems, model_problems)``: the SummaryConfig (``None`` if its values are
        wrong) and one line per problem.
    """
    from summ.files import FileJob, job_problems
    from summ.summary import SummaryConfig

    config, problems = _flag_problems(lambda: SummaryConfig(
        strategy=args.strategy, lang=args.lang, sentences=args.sentences,
        max_tokens=args.max_tokens, model=args.model, translator=args.translator,
        engine=args.engine, device=args.device, beam_size=args.beam,
        max_input_tokens=args.max_input_tokens, cache=str(args.cache) if args.cache else None,
        prompt=args.prompt))
    if args.rouge_stem is not None and args.references is None:
        flag = "--rouge-stem" if args.rouge_stem else "--no-rouge-stem"
        problems.append(f"{flag} applies to the ROUGE scores of --references; give --references "
                        "or drop it")
    model_problems = []
    if config is not None and (config.summary_model or config.translation_model):
        if device := device_problem(args.device, args.engine):
            problems.append(device)
        for model, flag in ((config.summary_model, "--model"),
                            (config.translation_model, "--translator")):
            if model:
                _model_checks(model, flag, problems, model_problems)
    protected = []
    if args.references is not None:
        if not args.references.is_file():
            what = "is a folder" if args.references.is_dir() else "no such file"
            problems.append(f"--references {args.references}: {what}; give the JSONL file of "
                            "reference summaries")
        else:
            protected.append(args.references)
    if encoding := _encoding_problem(args.encoding):
        problems.append(encoding)
    else:
        job = FileJob(args.input, args.output, None)
        problems += job_problems([job], cache=args.cache, encoding=args.encoding,
                                 recursive=True, folder_outputs=False, protected=protected)
    return config, problems, model_problems


def _run_summarise(args: argparse.Namespace) -> int:
    import contextlib
    import json

    from summ.data import atomic_write, check_ids, load_summaries_jsonl, output_lock, read_articles
    from summ.metrics import evaluate_summaries
    from summ.summary import Summariser, SummaryConfig

    if args.strategy is None:
        args.strategy = SummaryConfig.strategy
        logger.info("strategy %s (the default; choose another with --strategy)", args.strategy)
    config, problems, model_problems = summarise_problems(args)
    _raise_problems(problems, model_problems)
    docs = read_articles(args.input, args.encoding, recursive=True)
    references = load_summaries_jsonl(args.references, args.encoding) if args.references else None
    if references is not None:
        # Before any summary is made: a mismatch found after summarising wastes the work.
        check_ids([d.id for d in docs], [r.id for r in references],
                  f"{args.references} vs {args.input}")
        missing = [r.id for r in references
                   if not isinstance(r.meta.get(args.reference_field), str)]
        if missing:
            raise ConfigError(f"--reference-field {args.reference_field}: {len(missing)} "
                              f"record(s) of {args.references} have no such text field, e.g. "
                              f"{', '.join(missing[:5])}")
    lock = output_lock(args.output) if args.output is not None else contextlib.nullcontext()
    with lock:
        with Summariser(config) as summariser:
            summaries = summariser.summarise([d.text for d in docs])
        pairs = zip(docs, summaries, strict=True)
        if args.output is not None and args.output.suffix == ".jsonl":
            text = "".join(json.dumps({"id": doc.id, **summary.as_dict()}, ensure_ascii=False)
                           + "\n" for doc, summary in pairs)
        else:
            text = "".join((f"=== {doc.id} ===\n" if len(docs) > 1 else "") + summary.text + "\n"
                           for doc, summary in pairs)
        if args.output is None:
            sys.stdout.write(text)
        else:
            with atomic_write(args.output) as out:
                out.write(text)
    for doc, summary in zip(docs, summaries):
        if summary.flags or summary.chunked:
            _report(args, f"{doc.id}: flags {', '.join(summary.flags) or '-'}; chunked: "
                          f"{summary.chunked} ({summary.chunks} chunks)")
    if references is not None:
        for s in evaluate_summaries(docs, summaries, references,
                                    reference_field=args.reference_field,
                                    rouge_stem=args.rouge_stem):
            _report(args, f"{s.metric} {s.score:.2f}  {s.signature}")
    return 0


# ------------------------------------------------------------------------------------
# summ run / summ report / summ evaluate
# ------------------------------------------------------------------------------------


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run an experiment config: systems x datasets (x summaries) "
                                   "-> eval/results/NAME")
    p.add_argument("config", type=Path, metavar="CONFIG")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="results folder (default: the config's, eval/results/NAME)")
    p.add_argument("--model", default=None,
                   help="replace every system's model: hub id, local directory or tiny:FAMILY")
    p.add_argument("--summary-model", default=None,
                   help="replace the model of every summary strategy that runs one (abstractive, "
                   "direct, ...): hub id, local directory or tiny:FAMILY")
    p.add_argument("--documents", type=int, default=None,
                   help="keep the first N documents of every dataset")
    p.add_argument("--device", default=None, help="replace every system's device")
    p.add_argument("--systems", nargs="+", default=None, metavar="NAME",
                   help="run only these systems (and the baseline)")
    p.add_argument("--no-report", action="store_true",
                   help="skip tables and plots (build them later with summ report)")
    p.add_argument("--no-progress", action="store_true")
    _add_executor(p, "keep finished shards here (default: the config's [executor] shards, else "
                     "RESULTS/shards)", "the config's [executor] kind, else local")
    p.set_defaults(func=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from summ.data import output_lock
    from summ.experiment import load_config, run
    from summ.report import console_text

    config = load_config(args.config, output=args.output, model=args.model,
                         summary_model=args.summary_model, documents=args.documents,
                         device=args.device, systems=args.systems,
                         executor=_executor_overrides(args))
    # A second run into the same results folder would delete the first one's files as it
    # starts: it fails at once instead.
    with output_lock(config.output):
        result = run(config, report=not args.no_report,
                     progress=not args.no_progress and sys.stderr.isatty())
    print(console_text(result.path))
    return result.exit_code


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="rebuild tables (Markdown, LaTeX, CSV) and plots from a "
                                      "results folder alone")
    p.add_argument("results", type=Path, metavar="RESULTS_DIR")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="where to write (default: RESULTS_DIR/report)")
    p.add_argument("--published", type=Path, default=None,
                   help="published-scores CSV to set beside the run's scores")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from summ.data import writable_problem
    from summ.report import build_report

    if args.output is not None:
        _raise_problems([p for p in [writable_problem(args.output, "--output", folder=True)] if p])
    for path in build_report(args.results, output=args.output, published=args.published):
        print(path)
    return 0


def _add_evaluate(sub) -> None:
    from summ.config import SignificanceConfig
    from summ.metrics import ALL_METRICS, LEVELS, METRICS
    from summ.report import EVALUATION_FORMATS

    p = sub.add_parser("evaluate", help="score hypothesis files against references with "
                                        "sacrebleu (signatures, significance)")
    p.add_argument("--hyp", type=Path, action="append", required=True,
                   help="hypothesis file (repeat for several systems)")
    p.add_argument("--ref", type=Path, action="append", default=[],
                   help="reference file (repeat for several references; none for cometkiwi "
                        "alone, which is reference-free)")
    p.add_argument("--src", type=Path, default=None, help="source file (COMET needs it)")
    p.add_argument("--doc-ids", type=Path, default=None,
                   help="one document id per line (NTREX-128 DOCUMENT_IDS.tsv)")
    p.add_argument("--metrics", nargs="+", default=list(METRICS), choices=ALL_METRICS)
    p.add_argument("--level", choices=LEVELS, default="corpus")
    p.add_argument("--names", nargs="+", default=None, help="system names (default: file names)")
    p.add_argument("--baseline", default=None,
                   help="test every other system against this one (paired)")
    p.add_argument("--method", choices=["bs", "ar"], default="bs",
                   help="paired bootstrap (bs) or approximate randomisation (ar)")
    p.add_argument("--n-samples", type=int, default=None,
                   help="resamples/trials (default: sacrebleu's)")
    p.add_argument("--seed", type=int, default=SignificanceConfig.seed)
    p.add_argument("--format", choices=EVALUATION_FORMATS, default="table",
                   help="csv and json: every score with its signature and paired test")
    p.add_argument("--encoding", default="utf-8",
                   help="of every file (utf-8-sig drops a BOM; utf-8 keeps it, as sacrebleu)")
    _add_sacrebleu_settings(p)
    p.set_defaults(func=_run_evaluate)


# sacrebleu's command-line flags for its metric settings, with sacrebleu's names and short
# forms: (flags, settings table, setting, argparse options). Flags left out keep sacrebleu's
# default, read from its classes; --max-ngram-order and --effective-order are summ's, for
# settings sacrebleu's API has and its command line lacks.
_SACREBLEU_FLAGS: tuple[tuple[tuple[str, ...], str, str, dict], ...] = (
    (("--tokenize", "-tok"), "bleu", "tokenize", {}),
    (("--lowercase", "-lc"), "bleu", "lowercase", {"action": "store_true"}),
    (("--smooth-method", "-s"), "bleu", "smooth_method", {}),
    (("--smooth-value", "-sv"), "bleu", "smooth_value", {"type": float, "metavar": "X"}),
    (("--force",), "bleu", "force", {"action": "store_true"}),
    (("--max-ngram-order",), "bleu", "max_ngram_order", {"type": int, "metavar": "N"}),
    (("--effective-order",), "bleu", "effective_order",
     {"action": argparse.BooleanOptionalAction}),
    (("--chrf-char-order", "-cc"), "chrf", "char_order", {"type": int, "metavar": "N"}),
    (("--chrf-word-order", "-cw"), "chrf", "word_order", {"type": int, "metavar": "N"}),
    (("--chrf-beta",), "chrf", "beta", {"type": int, "metavar": "N"}),
    (("--chrf-whitespace",), "chrf", "whitespace", {"action": "store_true"}),
    (("--chrf-lowercase",), "chrf", "lowercase", {"action": "store_true"}),
    (("--chrf-eps-smoothing",), "chrf", "eps_smoothing", {"action": "store_true"}),
    (("--ter-case-sensitive",), "ter", "case_sensitive", {"action": "store_true"}),
    (("--ter-asian-support",), "ter", "asian_support", {"action": "store_true"}),
    (("--ter-no-punct",), "ter", "no_punct", {"action": "store_true"}),
    (("--ter-normalized",), "ter", "normalized", {"action": "store_true"}),
)


def _add_sacrebleu_settings(p: argparse.ArgumentParser) -> None:
    import sacrebleu

    from summ.metrics import setting_defaults

    groups = {
        "bleu": p.add_argument_group("BLEU settings (sacrebleu's flags and defaults)"),
        "chrf": p.add_argument_group(
            "chrF settings (sacrebleu's flags and defaults; chrF++ keeps word order 2)"),
        "ter": p.add_argument_group("TER settings (sacrebleu's flags and defaults)"),
    }
    choices = {"tokenize": list(sacrebleu.BLEU.TOKENIZERS),
               "smooth_method": list(sacrebleu.BLEU.SMOOTH_DEFAULTS)}
    for flags, table, key, options in _SACREBLEU_FLAGS:
        default = setting_defaults(table)[key]
        if key == "tokenize":
            default = f"{sacrebleu.BLEU.TOKENIZER_DEFAULT} (spBLEU metrics keep theirs)"
        if key == "effective_order":
            default = "on at --level sentence (as sacrebleu -sl), off otherwise"
        if key in choices:
            options = {**options, "choices": choices[key]}
        # default=None: a flag not given is not a setting, so sacrebleu's own default applies.
        groups[table].add_argument(
            *flags, dest=f"{table}__{key}", default=None,
            help=f"sacrebleu {table.upper()} {key} (default: {default})", **options)


def _sacrebleu_settings(args: argparse.Namespace) -> dict[str, dict]:
    """{"bleu": {...}, "chrf": {...}, "ter": {...}} of the flags the user gave."""
    out: dict[str, dict] = {"bleu": {}, "chrf": {}, "ter": {}}
    for _, table, key, _ in _SACREBLEU_FLAGS:
        value = getattr(args, f"{table}__{key}")
        if value is not None:
            out[table][key] = value
    return out


def evaluate_problems(args: argparse.Namespace) -> list[str]:
    """Everything wrong with a ``summ evaluate`` command that can be known before scoring, one
    line per problem: files missing or folders, the same reference twice (it would be scored as
    one more reference), a --baseline with nothing to compare, options that need another
    (what may be meant is :func:`evaluate_warnings`'s)."""
    from summ.data import same_path, sha256_file
    from summ.metrics import COMET_METRICS

    problems: list[str] = []
    files = [("--hyp", p) for p in args.hyp] + [("--ref", p) for p in args.ref]
    files += [(flag, p) for flag, p in (("--src", args.src), ("--doc-ids", args.doc_ids)) if p]
    for flag, path in files:
        if path.is_dir():
            problems.append(f"{flag} {path} is a folder; give a text file, one segment per line")
        elif not path.is_file():
            problems.append(f"{flag} {path}: no such file")
    if encoding := _encoding_problem(args.encoding):
        problems.append(encoding)
    if problems:
        return problems
    refs = list(args.ref)
    for j, later in enumerate(refs):
        earlier = next((r for r in refs[:j] if same_path(r, later)), None)
        if earlier is not None:
            problems.append(f"--ref {later} is given twice: it would be scored as "
                            f"{len(refs)} references (nrefs:{len(refs)}); "
                            "give each reference once")
            continue
        twin = next((r for r in refs[:j] if sha256_file(r) == sha256_file(later)), None)
        if twin is not None:
            problems.append(f"--ref {later} and --ref {twin} are identical files: one reference "
                            f"would count as two (nrefs:{len(refs)}); give each reference once")
    if args.baseline is not None and len(args.hyp) < 2:
        problems.append("--baseline needs two or more --hyp files to test against each other; "
                        "add systems or drop --baseline")
    elif args.baseline is not None and args.level != "corpus":
        problems.append(f"--baseline: significance tests are corpus-level; drop --level "
                        f"{args.level} or --baseline")
    if args.level == "document" and args.doc_ids is None:
        problems.append("--level document needs --doc-ids FILE (one document id per line)")
    for metric in COMET_METRICS:
        if metric in args.metrics and args.src is None:
            problems.append(f"--metrics {metric} needs --src FILE (the source, line-aligned)")
    needing = [m for m in args.metrics if m != "cometkiwi"]
    if not refs and needing:
        problems.append(f"--ref FILE is missing: {', '.join(needing)} score against a "
                        "reference (line-aligned); only --metrics cometkiwi scores without one")
    if args.baseline is not None and set(args.metrics) <= set(COMET_METRICS):
        problems.append("--baseline: significance tests resample sacrebleu's metrics, and only "
                        "COMET metrics were asked for; add one (e.g. chrf) or drop --baseline")
    return problems


def evaluate_warnings(args: argparse.Namespace) -> list[str]:
    """What is suspicious but may be meant in a ``summ evaluate`` command: a hypothesis that is
    also a reference, hypotheses and references in different scripts (the Arabic source given
    as the reference). Called once the files are known to decode."""
    from summ.data import head_lines, same_path
    from summ.metrics import script_warnings

    warnings = [f"--hyp {hyp} is also --ref: it is scored against itself"
                for hyp in args.hyp for ref in args.ref if same_path(hyp, ref)]
    samples = {str(p): head_lines(p, args.encoding) for p in args.hyp}
    return warnings + script_warnings(samples, {str(r): head_lines(r, args.encoding)
                                                for r in args.ref})


def _run_evaluate(args: argparse.Namespace) -> int:
    from summ.metrics import evaluate_files
    from summ.report import render_evaluation

    _raise_problems(evaluate_problems(args))
    names, stems = args.names, [p.stem for p in args.hyp]
    if args.baseline is not None and names is None and len(set(stems)) == len(stems):
        names = stems
    evaluation = evaluate_files(
        args.hyp, args.ref, metrics=args.metrics, level=args.level, doc_ids=args.doc_ids,
        names=names, baseline=args.baseline, method=args.method, n_samples=args.n_samples,
        seed=args.seed, encoding=args.encoding, src=args.src, **_sacrebleu_settings(args))
    for line in evaluate_warnings(args):
        logger.warning("%s", line)
    print(render_evaluation(evaluation, args.format), end="")
    return 0


# ------------------------------------------------------------------------------------
# summ comet
# ------------------------------------------------------------------------------------


def _add_comet(sub) -> None:
    p = sub.add_parser("comet", help="set up COMET, which runs in an environment of its own")
    csub = p.add_subparsers(dest="comet_command", required=True)
    i = csub.add_parser(
        "install",
        help="create the COMET environment (torch + unbabel-comet in a venv of its own)",
        description="unbabel-comet needs transformers<5 and summ needs 5, so COMET gets a virtual "
        "environment of its own; summ runs COMET's code there.")
    i.add_argument("--venv", type=Path, default=None,
                   help="where to create it (default: ~/.cache/summ/comet-env; "
                   "elsewhere, set SUMM_COMET_PYTHON)")
    i.set_defaults(func=_run_comet_install)


def _run_comet_install(args: argparse.Namespace) -> int:
    from summ.comet import PYTHON_ENV, env_dir, install

    python = install(args.venv)
    print(python)
    if args.venv is not None and args.venv.expanduser().resolve() != env_dir().resolve():
        logger.info("summ finds it with: export %s=%s", PYTHON_ENV, python)
    return 0


# ------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from summ import __version__

    parser = argparse.ArgumentParser(
        prog="summ", description="Arabic→English translation and summarisation for research.")
    parser.add_argument("--version", action="version", version=f"summ {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="only warnings and errors on stderr")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_translate(sub)
    _add_summarise(sub)
    _add_run(sub)
    _add_report(sub)
    _add_evaluate(sub)
    _add_data(sub)
    _add_comet(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import summ.testing  # noqa: F401 - registers tiny:FAMILY model ids (smoke runs, tests)

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        import os

        # Model-loading progress bars (transformers, huggingface_hub) only help on a terminal.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    # Other libraries (transformers, huggingface_hub, rouge-score through absl...) are chatty at
    # INFO: only their warnings show, unless --verbose asks for everything.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="summ: %(message)s", stream=sys.stderr)
    logging.getLogger("summ").setLevel(level)
    try:
        return args.func(args)
    except SummError as exc:
        # One line per problem: the checks before a run report every problem at once.
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"summ: error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        cached = (args.func is _run_run or (args.func is _run_translate and not args.no_cache)
                  or (args.func is _run_summarise and args.cache is not None))
        kept = ("finished shards are stored" if getattr(args, "executor", None) == "ray"
                else "finished segments (a Ray run: its shards) are kept" if args.func is _run_run
                else "finished segments are in the cache")
        print("summ: interrupted" + (f"; {kept}, rerun to resume" if cached else ""),
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
