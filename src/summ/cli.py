"""The ``summ`` command: parses arguments into the library's dataclasses, nothing more.

Every failure the user can fix ends as one line on stderr and a non-zero exit code:
2 bad input or configuration, 3 model not found, 4 missing optional dependency,
1 anything else the library reports, 130 interrupted. Unexpected exceptions keep their
traceback (they are bugs to report, not messages to read).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path

from summ.errors import ConfigError, SummError

logger = logging.getLogger("summ")


def _defaults(cls) -> dict:
    """Field defaults of a config dataclass, so the CLI never restates them."""
    return {f.name: f.default for f in fields(cls)}


# ------------------------------------------------------------------------------------
# summ translate
# ------------------------------------------------------------------------------------


def _add_translate(sub) -> None:
    from summ.engines.base import ENGINES, BatchConfig, DecodeConfig
    from summ.engines.vocab import VOCABULARIES

    d, b = _defaults(DecodeConfig), _defaults(BatchConfig)
    p = sub.add_parser(
        "translate",
        help="translate Arabic text files, article folders or JSONL to English",
        description="INPUT: a text file (one segment per line; one output line per input line), "
        "a directory of .txt articles (one .txt per article in --output DIR), or JSONL with id and text.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    p.add_argument("--model", default="Helsinki-NLP/opus-mt-ar-en", help="hub id or local directory (default: %(default)s)")
    p.add_argument("--engine", choices=list(ENGINES), default="hf")
    p.add_argument("--compute-type", default=None, help="CTranslate2 compute type (int8, int8_float32, float32, float16, bfloat16, auto)")
    p.add_argument("--vocabulary", choices=VOCABULARIES, default=VOCABULARIES[0],
                   help="output tokens: full (default) or target-script (only tokens written in "
                        "the target language's scripts: faster with ct2; outputs change only where "
                        "the full model would emit another script's token)")
    p.add_argument("--revision", default=None, help="hub branch, tag or commit")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", default=None, help="HF engine: auto, float32, float16, bfloat16")
    p.add_argument("--output", "-o", type=Path, default=None, help="output file (text/JSONL input; default stdout) or directory (article folders)")
    p.add_argument("--segments", type=Path, default=None, help="write one JSON object per segment here")
    p.add_argument("--cache", type=Path, default=None, help="SQLite cache (default: $SUMM_CACHE or ~/.cache/summ/translations.sqlite)")
    p.add_argument("--no-cache", action="store_true", help="keep nothing between runs")
    p.add_argument("--beam", type=int, default=d["beam_size"], help="beam size (default: %(default)s)")
    p.add_argument("--batch-tokens", type=int, default=b["batch_tokens"], help="padded source tokens per batch (default: %(default)s)")
    p.add_argument("--max-input-tokens", type=int, default=None, help="split segments longer than this (default: the model's limit)")
    p.add_argument("--commit-every", type=int, default=b["commit_every"], help="pieces between cache commits (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8", help="input encoding, e.g. cp1256 for Windows Arabic")
    p.add_argument("--keep-html", action="store_true", help="keep HTML tags and entities (default: strip tags, decode entities)")
    p.add_argument("--src-lang", default="ar")
    p.add_argument("--tgt-lang", default="en")
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
    from summ.engines.base import BatchConfig, DecodeConfig
    from summ.files import translate_articles, translate_file

    if len(args.inputs) > 1 and args.output is not None and not (args.output.is_dir() or not args.output.suffix):
        raise ConfigError("several inputs: --output must be a directory")
    for path in args.inputs:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or directory")
        if path.is_dir() and args.output is None:
            raise ConfigError(f"{path} is a directory of articles: give --output DIR for the translations")
    # Each flag belongs to one engine; given to the other it is an error, never ignored.
    if args.compute_type and args.engine != "ct2":
        raise ConfigError("--compute-type applies to --engine ct2 only (use --dtype with hf)")
    if args.dtype and args.engine != "hf":
        raise ConfigError("--dtype applies to --engine hf only (use --compute-type with ct2)")
    options = {"compute_type": args.compute_type} if args.compute_type else {}
    if args.dtype:
        options["dtype"] = args.dtype
    decode = DecodeConfig(beam_size=args.beam)
    batch = BatchConfig(batch_tokens=args.batch_tokens, max_input_tokens=args.max_input_tokens,
                        commit_every=args.commit_every)
    executor = _translate_executor(args)
    if executor.kind == "ray":
        from summ.engines.base import resolve_model
        from summ.executors import RayTranslator, default_shards_dir

        store = None if args.no_cache else executor.shards or default_shards_dir()
        translator = RayTranslator(
            resolve_model(args.model), args.engine, executor=executor, store=store,
            device=args.device, revision=args.revision, decode=decode, batch=batch,
            progress=not args.no_progress and sys.stderr.isatty(), src_lang=args.src_lang,
            tgt_lang=args.tgt_lang, vocabulary=args.vocabulary, **options)
        # One Ray job per input, the whole file at once: each job starts its actors (and loads
        # the model) once, so a line file is not cut into chunks as a local run cuts it.
        chunk = {"chunk_lines": sys.maxsize}
    else:
        translator = _local_translator(args, decode, batch, options)
        chunk = {}
    html = "keep" if args.keep_html else "strip"
    for path in args.inputs:
        output = args.output
        if output is not None and len(args.inputs) > 1:
            output = output / (path.name if path.is_dir() else f"{path.stem}.en{path.suffix}")
        segments = args.segments
        if segments is not None and len(args.inputs) > 1:
            segments = segments.with_name(f"{segments.stem}.{path.stem}{segments.suffix}")
        if path.is_dir() or path.suffix == ".jsonl":
            stats = translate_articles(translator, path, output, segments=segments,
                                       encoding=args.encoding, html=html)
        else:
            stats = translate_file(translator, path, output, segments=segments,
                                   encoding=args.encoding, html=html, **chunk)
        shards = getattr(translator, "last_run", None)
        _report(args, f"{path}: {stats.line()}" + (f"; {shards.line()}" if shards else ""))
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


def _local_translator(args: argparse.Namespace, decode, batch, options: dict):
    from summ.translate import load_translator

    return load_translator(
        args.model,
        args.engine,
        device=args.device,
        revision=args.revision,
        decode=decode,
        batch=batch,
        cache=None if args.no_cache else str(args.cache or default_cache_path()),
        progress=not args.no_progress and sys.stderr.isatty(),
        src_lang=args.src_lang,
        tgt_lang=args.tgt_lang,
        vocabulary=args.vocabulary,
        **options,
    )


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
    f.add_argument("--dest", type=Path, default=None, help="data folder (default: $SUMM_DATA_DIR or ~/.cache/summ/data)")
    f.set_defaults(func=_run_data_fetch)


def _run_data_fetch(args: argparse.Namespace) -> int:
    from summ.data import fetch_ntrex128

    path = fetch_ntrex128(args.dest)
    print(path)
    return 0


# ------------------------------------------------------------------------------------
# summ summarise
# ------------------------------------------------------------------------------------


def _add_summarise(sub) -> None:
    from summ.summarise import LANGS, STRATEGIES, SummaryConfig

    d = _defaults(SummaryConfig)
    p = sub.add_parser(
        "summarise",
        help="summarise articles: extractive (lead, textrank) or with models (translate-then-summarise, "
        "summarise-then-translate, direct cross-lingual)",
        description="INPUT: an article .txt, a directory of .txt articles, or JSONL with id and text.",
    )
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("--strategy", choices=STRATEGIES, default=d["strategy"])
    p.add_argument("--model", default=None, help="summariser: hub id or local directory (default: the strategy's)")
    p.add_argument("--translator", default=None, help="translation model (pipeline strategies; translates extractive summaries)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--sentences", type=int, default=d["sentences"], help="extractive length (default: %(default)s)")
    length.add_argument("--max-tokens", type=int, default=None, help="model strategies: new tokens (default: the model's)")
    p.add_argument("--lang", choices=LANGS, default=d["lang"], help="input language (default: %(default)s)")
    p.add_argument("--engine", default=d["engine"], choices=["hf", "ct2"])
    p.add_argument("--device", default=d["device"])
    p.add_argument("--beam", type=int, default=None, help="summariser beam size (default: the model's)")
    p.add_argument("--max-input-tokens", type=int, default=None, help="chunk inputs longer than this (default: the model's limit)")
    p.add_argument("--cache", type=Path, default=None, help="SQLite cache for model outputs")
    p.add_argument("--output", "-o", type=Path, default=None, help="write JSONL (id + summary fields) here instead of printing")
    p.add_argument("--references", type=Path, default=None, help="JSONL with id and reference summaries: print ROUGE/chrF")
    p.add_argument("--reference-field", default="summary", help="field of --references to score against (default: %(default)s)")
    p.add_argument("--rouge-stem", action=argparse.BooleanOptionalAction, default=None,
                   help="ROUGE stemming (default: the language's: Porter for English, none for "
                   "Arabic); Arabic --rouge-stem is XL-Sum/CrossSum's scorer (summ[xlsum])")
    p.add_argument("--encoding", default="utf-8")
    p.set_defaults(func=_run_summarise)


def _run_summarise(args: argparse.Namespace) -> int:
    import json

    from summ.data import load_summaries_jsonl, read_articles
    from summ.data import atomic_write
    from summ.summarise import Summariser, SummaryConfig, evaluate

    docs = read_articles(args.input, args.encoding)
    references = load_summaries_jsonl(args.references, args.encoding) if args.references else None
    config = SummaryConfig(
        strategy=args.strategy, lang=args.lang, sentences=args.sentences, max_tokens=args.max_tokens,
        model=args.model, translator=args.translator, engine=args.engine, device=args.device,
        beam_size=args.beam, max_input_tokens=args.max_input_tokens,
        cache=str(args.cache) if args.cache else None,
    )
    with Summariser(config) as summariser:
        summaries = summariser.summarise([d.text for d in docs])
    if args.output is not None:
        with atomic_write(args.output) as out:
            for doc, summary in zip(docs, summaries):
                out.write(json.dumps({"id": doc.id, **summary.as_dict()}, ensure_ascii=False) + "\n")
    else:
        for doc, summary in zip(docs, summaries):
            if len(docs) > 1:
                print(f"=== {doc.id} ===")
            print(summary.text)
    for doc, summary in zip(docs, summaries):
        if summary.flags or summary.chunked:
            _report(args, f"{doc.id}: flags {', '.join(summary.flags) or '-'}; chunked: {summary.chunked} ({summary.chunks} chunks)")
    if references is not None:
        for s in evaluate(docs, summaries, references, reference_field=args.reference_field,
                          rouge_stem=args.rouge_stem):
            _report(args, f"{s.metric} {s.score:.2f}  {s.signature}")
    return 0


# ------------------------------------------------------------------------------------
# summ run / summ report / summ evaluate
# ------------------------------------------------------------------------------------


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run an experiment config: systems x datasets (x summaries) -> eval/results/NAME")
    p.add_argument("config", type=Path, metavar="CONFIG")
    p.add_argument("--output", "-o", type=Path, default=None, help="results folder (default: the config's, eval/results/NAME)")
    p.add_argument("--model", default=None, help="replace every system's model: hub id, local directory or tiny:FAMILY")
    p.add_argument("--documents", type=int, default=None, help="keep the first N documents of every dataset")
    p.add_argument("--device", default=None, help="replace every system's device")
    p.add_argument("--systems", nargs="+", default=None, metavar="NAME", help="run only these systems (and the baseline)")
    p.add_argument("--no-report", action="store_true", help="skip tables and plots (build them later with summ report)")
    p.add_argument("--no-progress", action="store_true")
    _add_executor(p, "keep finished shards here (default: the config's [executor] shards, else "
                     "RESULTS/shards)", "the config's [executor] kind, else local")
    p.set_defaults(func=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from summ.experiment import run_experiment
    from summ.report import console_text

    result = run_experiment(
        args.config, output=args.output, model=args.model, documents=args.documents, device=args.device,
        systems=args.systems, report=not args.no_report, progress=not args.no_progress and sys.stderr.isatty(),
        executor=_executor_overrides(args),
    )
    print(console_text(result.path))
    return result.exit_code


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="rebuild tables (Markdown, LaTeX, CSV) and plots from a results folder alone")
    p.add_argument("results", type=Path, metavar="RESULTS_DIR")
    p.add_argument("--output", "-o", type=Path, default=None, help="where to write (default: RESULTS_DIR/report)")
    p.add_argument("--published", type=Path, default=None, help="published-scores CSV to set beside the run's scores")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from summ.report import build_report

    for path in build_report(args.results, output=args.output, published=args.published):
        print(path)
    return 0


def _add_evaluate(sub) -> None:
    from summ.config import SignificanceConfig
    from summ.metrics import ALL_METRICS, LEVELS, METRICS
    from summ.report import EVALUATION_FORMATS

    p = sub.add_parser("evaluate", help="score hypothesis files against references with sacrebleu (signatures, significance)")
    p.add_argument("--hyp", type=Path, action="append", required=True, help="hypothesis file (repeat for several systems)")
    p.add_argument("--ref", type=Path, action="append", required=True, help="reference file (repeat for several references)")
    p.add_argument("--src", type=Path, default=None, help="source file (COMET needs it)")
    p.add_argument("--doc-ids", type=Path, default=None, help="one document id per line (NTREX-128 DOCUMENT_IDS.tsv)")
    p.add_argument("--metrics", nargs="+", default=list(METRICS), choices=ALL_METRICS)
    p.add_argument("--level", choices=LEVELS, default="corpus")
    p.add_argument("--names", nargs="+", default=None, help="system names (default: file names)")
    p.add_argument("--baseline", default=None, help="test every other system against this one (paired)")
    p.add_argument("--method", choices=["bs", "ar"], default="bs", help="paired bootstrap (bs) or approximate randomisation (ar)")
    p.add_argument("--n-samples", type=int, default=None, help="resamples/trials (default: sacrebleu's)")
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
    (("--effective-order",), "bleu", "effective_order", {"action": argparse.BooleanOptionalAction}),
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


def _run_evaluate(args: argparse.Namespace) -> int:
    from summ.experiment import evaluate_files
    from summ.report import render_evaluation

    names = args.names
    if args.baseline is not None and names is None:
        names = [p.stem for p in args.hyp] if len({p.stem for p in args.hyp}) == len(args.hyp) else None
    evaluation = evaluate_files(
        args.hyp, args.ref, metrics=args.metrics, level=args.level, doc_ids=args.doc_ids, names=names,
        baseline=args.baseline, method=args.method, n_samples=args.n_samples, seed=args.seed,
        encoding=args.encoding, src=args.src, **_sacrebleu_settings(args),
    )
    print(render_evaluation(evaluation, args.format), end="")
    return 0


# ------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from summ import __version__

    parser = argparse.ArgumentParser(prog="summ", description="Arabic→English translation and summarisation for research.")
    parser.add_argument("--version", action="version", version=f"summ {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors on stderr")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_translate(sub)
    _add_summarise(sub)
    _add_run(sub)
    _add_report(sub)
    _add_evaluate(sub)
    _add_data(sub)
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
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="summ: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("summ").setLevel(level)
    try:
        return args.func(args)
    except SummError as exc:
        print(f"summ: error: {exc}", file=sys.stderr)
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
