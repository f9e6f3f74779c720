"""Tables and plots from a results folder, and nothing but the results folder.

``summ report eval/results/NAME`` reads the folder (:func:`summ.results.load_results`) and
writes ``report/``: ``tables.md``, ``tables.tex`` (booktabs) and ``tables.csv`` (per dataset a
row per system, a column per metric, ``±`` the bootstrap 95% CI half-width, ``†`` where the
paired test against the baseline gives p < 0.05, failed systems marked ``failed``; summary
tables; published scores where the test set is the same; run summaries and signatures),
``DATASET.documents.{png,svg}`` (per-document chrF per system) and ``DATASET.length.{png,svg}``
(mean sentence chrF by source-length bucket).

Nothing here loads a model or calls a metric. As in compare-mt, numbers are gathered first and
rendered after: every table is a pivot of the results frames rendered by pandas. The same
results give byte-identical files (stored row order, fixed number formats, plot metadata
without dates or versions, a fixed SVG id salt), so reports can be committed and diffed.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from summ.errors import ConfigError
from summ.results import (
    REFERENCE_SUMMARIES,
    REPORT,
    Results,
    comparison_row,
    load_results,
    read_published,
    score_row,
    scores_frame,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Display names; TER is an error rate, so its header says lower is better.
METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF", "chrf++": "chrF++", "ter": "TER↓",
                "comet": "COMET", "cometkiwi": "COMETKiwi",
                "spbleu-flores200": "spBLEU-200", "spbleu-flores101": "spBLEU-101",
                "rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L", "rougeLsum": "R-Lsum"}
LOWER_IS_BETTER = frozenset({"ter"})
#: The significance mark and its threshold (sacrebleu's CLI marks p < 0.05 too).
MARK = "†"
P_THRESHOLD = 0.05
#: Decimals of every score in tables: sacrebleu's default width, finer than metric noise.
DECIMALS = 1
#: Source-length buckets in whitespace words (upper bounds, inclusive; the last is open).
#: Fixed edges rather than quantiles, so buckets mean the same thing across runs and datasets.
LENGTH_BUCKETS = (10, 20, 30, 40)
#: Metric of the distribution plots: chrF is meaningful per document and per sentence,
#: where BLEU is not (sacrebleu's documentation says the same).
PLOT_METRIC = "chrf"
#: Plot output formats; SVG diffs well in git, PNG previews everywhere.
PLOT_FORMATS = ("png", "svg")
EVALUATION_FORMATS = ("table", "json", "csv", "latex")
#: Full names of the paired significance tests, for table notes.
METHOD_NAMES = {"bs": "paired bootstrap resampling", "ar": "approximate randomisation"}
# Symbols the tables use that LaTeX needs in math mode (applied after Styler's escaping).
_LATEX_SYMBOLS = {"±": r"$\pm$", "†": r"$^\dagger$", "↓": r"$\downarrow$", "→": r"$\rightarrow$",
                  "–": "--"}
_SUMMARY_NOTE = ("Each system's translation is summarised, and the summary is scored against the "
                 "same strategy's summary of the human reference translation: 100 means "
                 "translation errors did not change the summary.")


# --------------------------------------------------------------------------------------
# Cells.
# --------------------------------------------------------------------------------------


def significance_marks(scores: pd.DataFrame) -> pd.Series:
    """Whether each score (a row with ``p_value`` and ``delta``) gets the mark :data:`MARK`.

    An exact tie is never marked: sacrebleu's paired tests give p = 1/(n+1) when every
    resample differs by exactly zero (identical outputs, or two scores of 0), following
    multeval; "significantly different" would misread a tie. The p-value stays in
    ``significance.csv``.
    """
    return ((scores["p_value"] < P_THRESHOLD) & (scores["delta"] != 0)).fillna(False).astype(bool)


def _fmt(x: float) -> str:
    return f"{x:.{DECIMALS}f}"


def _cell_texts(scores: pd.DataFrame) -> pd.Series:
    """``score ± ci †`` per row (``±`` where there is a CI, ``†`` where marked)."""
    import pandas as pd

    ci = scores["ci"].map(lambda c: "" if pd.isna(c) else f" ± {_fmt(c)}")
    mark = significance_marks(scores).map({True: f" {MARK}", False: ""})
    # astype(str): an empty column stays text (map gives floats on no rows).
    return scores["score"].map(_fmt).astype(str) + ci.astype(str) + mark.astype(str)


def _pivot(frame: pd.DataFrame, index: list[str], values: str) -> pd.DataFrame:
    """``frame`` wide (a row per ``index`` key, a column per metric), both in stored order."""
    import pandas as pd

    wide = frame.pivot(index=index, columns="metric", values=values)
    keys = frame[index].drop_duplicates()
    rows = pd.MultiIndex.from_frame(keys) if len(index) > 1 else keys[index[0]]
    return wide.reindex(index=rows, columns=list(dict.fromkeys(frame["metric"])))


def _short_model(model: str) -> str:
    # Local paths are long and machine-specific; their last component says which model it was.
    return Path(model).name if os.path.isabs(model) else model


def _markdown(frame: pd.DataFrame, left: int, fmt: str = "pipe") -> str:
    """``frame`` as a Markdown (or plain ``simple``) table: ``left`` text columns, then numbers."""
    cells = frame.map(lambda v: str(v).replace("|", "\\|").replace("\n", " "))
    align = ["left"] * left + ["right"] * (len(frame.columns) - left)
    # disable_numparse: cells are formatted already; tabulate would print 100.0 as 100.
    return cells.to_markdown(index=False, tablefmt=fmt, disable_numparse=True, colalign=align)


def _tex(text: str) -> str:
    for symbol, latex in _LATEX_SYMBOLS.items():
        text = text.replace(symbol, latex)
    return text


def _latex(frame: pd.DataFrame, left: int, **options) -> str:
    """``frame`` as a booktabs tabular (in a ``table`` with ``caption``/``label`` options)."""
    styler = frame.style.hide(axis="index").format(_tex, escape="latex")
    styler = styler.format_index(_tex, escape="latex", axis=1)
    column_format = "l" * left + "r" * (len(frame.columns) - left)
    return styler.to_latex(hrules=True, column_format=column_format, **options)


def _latex_text(text: str) -> str:
    """Running text (captions, comments) escaped by the same Styler rule as the cells."""
    import pandas as pd

    cell = pd.DataFrame([[text]]).style.format(_tex, escape="latex").hide(axis=0).hide(axis=1)
    return cell.to_string(delimiter="").rstrip("\n")


def _latex_label(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-:." else "-" for ch in text)


# --------------------------------------------------------------------------------------
# Corpus tables.
# --------------------------------------------------------------------------------------


def _parallel(results: Results) -> list[str]:
    return [d for d, info in results.manifest.get("datasets", {}).items()
            if info.get("kind") == "parallel"]


def _systems(results: Results, dataset: str) -> pd.DataFrame:
    """One row per configured system on ``dataset``: model, engine, flags and its error."""
    import pandas as pd

    rows = []
    for system in results.systems():
        rec = results.system(system)
        ds = rec.get("datasets", {}).get(dataset, {})
        failed = rec.get("status") == "failed" and ds.get("status") != "ok"
        error = (ds.get("error") or rec.get("error") or "failed") if failed else None
        rows.append({"dataset": dataset, "system": system, "model": rec.get("model", ""),
                     "engine": rec.get("engine_name") or rec.get("engine", ""),
                     "baseline": system == results.manifest.get("baseline"),
                     "tiny": bool(rec.get("tiny")), "error": error})
    return pd.DataFrame(rows, columns=["dataset", "system", "model", "engine", "baseline", "tiny",
                                       "error"])


def corpus_scores(results: Results, dataset: str) -> pd.DataFrame:
    """The corpus-level scores of ``dataset`` in its table: the configured metrics of the
    systems that did not fail on it, with ``marked`` (:func:`significance_marks`) and ``text``."""
    s = results.scores
    systems = _systems(results, dataset)
    ok = systems.loc[systems["error"].isna(), "system"]
    s = s[(s["level"] == "corpus") & (s["dataset"] == dataset) & s["system"].isin(ok)
          & s["metric"].isin(results.manifest.get("metrics", []))]
    return s.assign(marked=significance_marks(s), text=_cell_texts(s))


def corpus_table(results: Results, dataset: str) -> pd.DataFrame:
    """``dataset``'s table: a row per system, a column per metric, cells as ``score ± ci †``
    (``–``: not scored; ``failed``: the system failed, its error is in :func:`table_notes`)."""
    systems = _systems(results, dataset)
    metrics = results.manifest.get("metrics", [])
    cells = _pivot(corpus_scores(results, dataset), ["system"], "text")
    cells = cells.reindex(index=systems["system"], columns=metrics).fillna("–")
    cells = cells.reset_index(drop=True)
    for i in systems.index[systems["error"].notna()] if metrics else []:
        # The error goes in the notes: a cell as wide as an error message would stretch its
        # column, in every row, in Markdown, LaTeX and on the console.
        cells.loc[i] = ["failed"] + [""] * (len(metrics) - 1)
    label = systems["system"] + systems["baseline"].map({True: " (baseline)", False: ""})
    table = systems.assign(system=label, model=systems["model"].map(_short_model))
    return table[["system", "model", "engine"]].join(cells.rename(columns=METRIC_NAMES))


def _dataset_title(dataset: str, info: dict) -> str:
    n_docs, total = info.get("documents"), info.get("total_documents")
    plural = "" if n_docs == 1 else "s"
    title = f"{dataset}: {info.get('lines')} lines in {n_docs} document{plural}"
    if info.get("documents_limit") is not None and n_docs != total:
        title += f", the first {n_docs} of {total}"
    return title


def _significance_note(against: str, method: str, n_samples, seed, ci: bool) -> str:
    """The note explaining the mark (and ``±``, when the table shows bootstrap CIs; approximate
    randomisation gives no confidence interval)."""
    return (f"{MARK} p < {P_THRESHOLD} against {against} ({METHOD_NAMES.get(method, method)}, "
            f"{n_samples} samples, seed {seed}; exact ties unmarked)"
            + ("; ± is the half-width of the bootstrap 95% confidence interval." if ci else "."))


def table_notes(results: Results, dataset: str) -> list[str]:
    """What a dataset's table needs said under it: failures, the test, caveats."""
    m = results.manifest
    sig = m.get("significance") or {}
    primary = (sig.get("methods") or [None])[0]
    tests = results.significance[results.significance["dataset"] == dataset]
    tested = tests[tests["method"] == primary]
    systems = _systems(results, dataset)
    failed = systems[systems["error"].notna()]
    notes = [f"{name} failed: {error}" for name, error in zip(failed["system"], failed["error"])]
    if len(tested):
        notes.append(_significance_note("the baseline", primary, tested["n_samples"].iloc[0],
                                        sig.get("seed"), bool((tests["method"] == "bs").any())))
    if sig.get("notes", {}).get(dataset):
        notes.append(sig["notes"][dataset] + ".")
    if systems["tiny"].any():
        notes.append("Systems on tiny:* models are toy test models: their scores only show that "
                     "the machinery runs.")
    if dataset == "ntrex128" or m["datasets"][dataset].get("type") == "ntrex128":
        notes.append("NTREX-128's Arabic is a professional translation of English news (WMT19), "
                     "so Arabic→English runs against the original direction: compare systems "
                     "with each other, not with Arabic-original test sets.")
    return notes


def corpus_markdown(results: Results) -> str:
    """Markdown: a section per parallel dataset, its table and its notes."""
    parts = []
    for dataset in _parallel(results):
        notes = "".join(f"- {n}\n" for n in table_notes(results, dataset))
        title = _dataset_title(dataset, results.manifest["datasets"][dataset])
        parts.append(f"### {title}\n\n{_markdown(corpus_table(results, dataset), 3)}\n\n{notes}")
    return "\n".join(parts)


def corpus_latex(results: Results, label_prefix: str = "tab") -> str:
    """One booktabs ``table`` per parallel dataset (``\\usepackage{booktabs}``)."""
    parts = ["% Generated by `summ report`; needs \\usepackage{booktabs}.\n"]
    for dataset in _parallel(results):
        table = corpus_table(results, dataset).drop(columns="engine")
        title = _dataset_title(dataset, results.manifest["datasets"][dataset])
        caption = " ".join([f"{title}.", *table_notes(results, dataset)])
        table = table.rename(columns={"system": "System", "model": "Model"})
        parts.append(_latex(table, 2, position="t", position_float="centering",
                            caption=_latex_text(caption),
                            label=f"{label_prefix}:{_latex_label(dataset)}"))
    return "\n".join(parts)


def corpus_csv(results: Results) -> str:
    """Wide CSV: a row per dataset and system; per metric its score, CI half-width and p-value."""
    import pandas as pd

    datasets = _parallel(results)
    systems = pd.concat([_systems(results, d) for d in datasets], ignore_index=True) \
        if datasets else _systems(results, "")
    scores = pd.concat([corpus_scores(results, d) for d in datasets]) if datasets else None
    metrics = results.manifest.get("metrics", [])
    columns = [c for m in metrics for c in (m, f"{m}_ci", f"{m}_p")]
    table = systems.assign(baseline=systems["baseline"].map({True: "true", False: "false"}),
                           status=systems["error"].isna().map({True: "ok", False: "failed"}),
                           error=systems["error"].fillna(""))
    if scores is not None and len(scores):
        wide = scores.pivot(index=["dataset", "system"], columns="metric",
                            values=["score", "ci", "p_value"])
        suffix = {"score": "", "ci": "_ci", "p_value": "_p"}
        wide.columns = [metric + suffix[value] for value, metric in wide.columns]
        table = table.merge(wide, left_on=["dataset", "system"], right_index=True, how="left")
    table = table.reindex(columns=["dataset", "system", "model", "engine", "baseline", "status",
                                   "error", *columns])
    return table.to_csv(index=False, lineterminator="\n", float_format="%.4f")


# --------------------------------------------------------------------------------------
# Summary tables.
# --------------------------------------------------------------------------------------


def summary_table(results: Results, dataset: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``dataset``'s summary scores.

    Returns:
        The table (a row per strategy and system, a row marked ``failed`` per failed strategy,
        a column per metric), one ``STRATEGY failed: error`` note per failed strategy, and the
        summary files with nothing to be scored against (``STRATEGY: `path```).
    """
    import pandas as pd

    s = results.summary_scores[results.summary_scores["level"] == "corpus"]
    metrics = list(dict.fromkeys(s["metric"]))
    s = s[s["dataset"] == dataset]
    s = s.assign(text=s["score"].map(_fmt).astype(str))
    cells = _pivot(s, ["summary", "system"], "text").reindex(columns=metrics).fillna("–")
    rows, failures, unscored = [], [], []
    for name, rec in (results.manifest.get("summaries") or {}).items():
        model = _short_model(rec.get("model") or rec.get("summary_model") or "–")  # –: extractive
        for system, where in rec.get("runs", {}).get(dataset, {}).items():
            if (name, system) in cells.index:
                rows.append({"strategy": name, "system": system, "model": model,
                             **cells.loc[(name, system)]})
            elif system != REFERENCE_SUMMARIES:
                unscored.append(f"{name}: `{where}`")
        if rec.get("status") == "failed":
            rows.append({"strategy": name, "system": "–", "model": model,
                         **dict(zip(metrics, ["failed"] + [""] * len(metrics)))})
            failures.append(f"{name} failed: {rec.get('error') or 'failed'}")
    table = pd.DataFrame(rows, columns=["strategy", "system", "model", *metrics])
    return table, failures, unscored


def summaries_markdown(results: Results) -> str:
    """Markdown: the summary tables, failures, and the strategies whose outputs are not scored."""
    parts = []
    for dataset in results.datasets() if results.manifest.get("summaries") else []:
        table, failures, unscored = summary_table(results, dataset)
        if not len(table) and not unscored:
            continue
        parts.append(f"### {dataset}\n")
        if len(table):
            parts.append(_markdown(table.rename(columns=METRIC_NAMES), 3) + "\n")
        if unscored:
            failures.append(f"Not scored (no reference to compare with): {'; '.join(unscored)}")
        parts.append("".join(f"- {note}\n" for note in failures))
    return "\n".join(["## Summaries", "", _SUMMARY_NOTE, "", *parts]) if parts else ""


def summaries_latex(results: Results, label_prefix: str = "tab") -> str:
    """One booktabs ``table`` per dataset with scored summaries."""
    parts = []
    for dataset in results.datasets() if results.manifest.get("summaries") else []:
        table, failures, _ = summary_table(results, dataset)
        if len(table) and len(table.columns) > 3:  # nothing scored: the Markdown says why
            names = {"strategy": "Strategy", "system": "System", **METRIC_NAMES}
            caption = " ".join([f"Summaries, {dataset}. {_SUMMARY_NOTE}", *failures])
            parts.append(_latex(table.drop(columns="model").rename(columns=names), 2,
                                position="t", position_float="centering",
                                caption=_latex_text(caption),
                                label=f"{label_prefix}:summaries-{_latex_label(dataset)}"))
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# Published scores, run summaries, signatures, articles.
# --------------------------------------------------------------------------------------


def published_section(results: Results, published_rows: list[dict] | None = None) -> str:
    """Markdown: published scores beside this run's where the test set matches, else say so.

    ``published_rows`` replace those the run copied into its manifest (e.g. a newer
    ``eval/published.csv``).
    """
    import pandas as pd

    m = results.manifest
    if published_rows is None:
        published_rows = (m.get("published") or {}).get("rows", [])
    columns = ["model", "test_set", "metric", "score", "tokenizer", "source", "verified"]
    published = pd.DataFrame(published_rows, columns=columns, dtype=object).fillna("")
    models = pd.DataFrame({"system": results.systems(),
                           "model": [results.system(s).get("model") for s in results.systems()]})
    corpus = results.scores[results.scores["level"] == "corpus"]
    lines = ["## Published scores", ""]
    for dataset in _parallel(results):
        test_set = m["datasets"][dataset].get("test_set")
        ours = corpus[corpus["dataset"] == dataset][["system", "metric", "score"]]
        found = models.merge(published[published["test_set"] == test_set], on="model") \
            .merge(ours, on=["system", "metric"], how="left", suffixes=("", "_run"))
        head = f"**{dataset}** (test set `{test_set}`): "
        if test_set and len(found):
            verified = found["verified"].isin(["yes", ""]).map({True: "", False: " (unverified)"})
            table = pd.DataFrame({
                "system": found["system"], "metric": found["metric"],
                "published": found["score"] + verified,
                "this run": found["score_run"].map(lambda x: "not scored" if x != x else _fmt(x)),
                "tokenizer": found["tokenizer"], "source": found["source"]})
            lines += [head, "", _markdown(table, 2)]
        else:
            lines.append(head + "no published score for this test set.")
            ours_published = published[published["model"].isin(models["model"])]
            others = sorted(set(ours_published["test_set"]))
            if others:
                lines.append(f"Published scores for these models are on other test sets "
                             f"({', '.join(others)}); they are not comparable with this one and "
                             "are not shown.")
        lines.append("")
    return "\n".join(lines)


def run_summary_section(results: Results) -> str:
    """Markdown: per system and dataset, what the pipeline did (splits, caps, flags, speed)."""
    import pandas as pd

    rows = []
    for system in results.systems():
        rec = results.system(system)
        for dataset, ds in rec.get("datasets", {}).items():
            if ds.get("summary"):
                summary = ds["summary"]
                rows.append({"system": system, "dataset": dataset,
                             "revision": str(rec.get("revision", "")),
                             **{label: str(summary[key]) for label, key in _RUN_COLUMNS.items()},
                             "tokens/s": f"{summary['tokens_per_s']:.0f}"})
    columns = ["system", "dataset", "revision", *_RUN_COLUMNS, "tokens/s"]
    table = pd.DataFrame(rows, columns=columns)
    lines = ["## Runs", "", _markdown(table, 3)]
    failed = results.manifest.get("failed") or {}
    failed_summaries = results.manifest.get("failed_summaries") or {}
    if failed or failed_summaries:
        lines += ["", *[f"- **{name} failed**: {err}" for name, err in failed.items()],
                  *[f"- **summary strategy {name} failed**: {err}"
                    for name, err in failed_summaries.items()]]
    return "\n".join(lines) + "\n"


# Columns of the run summary table: header -> key of the manifest's run summary.
_RUN_COLUMNS = {"segments": "segments", "split": "split_segments", "capped": "capped",
                "repetitive": "repetition", "not Arabic": "not_arabic", "from cache": "cache_hits"}


def signatures_section(results: Results) -> str:
    """Markdown: the sacrebleu signature of every metric and level, and of the paired tests."""
    m = results.manifest
    lines = ["## Signatures", ""]
    lines += [f"- {metric} ({level}): `{sig}`"
              for metric, levels in (m.get("signatures") or {}).items()
              for level, sig in levels.items()]
    lines += [f"- {key} (paired test): `{sig}`"
              for key, sig in ((m.get("significance") or {}).get("signatures") or {}).items()]
    summary = results.summary_scores
    first = summary[summary["level"] == "corpus"].drop_duplicates("metric")
    lines += [f"- {metric} (summaries): `{sig}`" for metric, sig in zip(first["metric"],
                                                                         first["signature"])]
    return "\n".join(lines) + "\n"


def _header(results: Results) -> str:
    m = results.manifest
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v)
    machine = m.get("machine", {})
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    lines = [f"# {m.get('name')}", ""]
    if m.get("description"):
        lines += [m["description"], ""]
    lines += [f"Run {m.get('started')} – {m.get('finished')} ({m.get('wall_s')} s) on "
              f"{machine.get('cpu')} ({machine.get('cores')} cores, {gpus}), Python "
              f"{machine.get('python')}; {versions}.", ""]
    return "\n".join(lines)


def _article_folders(results: Results, dataset: str) -> dict[str, str | None]:
    """System -> folder of its translated articles of ``dataset`` (``None``: it failed)."""
    return {s: ((results.system(s).get("datasets", {}).get(dataset) or {}).get("outputs") or {})
            .get("articles") for s in results.systems()}


def articles_section(results: Results) -> str:
    """Markdown: where the translations of reference-free article datasets are."""
    lines = []
    for dataset, info in results.manifest.get("datasets", {}).items():
        if info.get("kind") != "articles":
            continue
        n = info.get("articles")
        lines += [f"### {dataset}: {n} article{'' if n == 1 else 's'}, no references "
                  "(outputs only)", ""]
        for system, where in _article_folders(results, dataset).items():
            rec = results.system(system)
            error = rec.get("datasets", {}).get(dataset, {}).get("error") or rec.get("error")
            lines.append(f"- {system}: `{where}`" if where else f"- {system}: failed ({error})")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Plots.
# --------------------------------------------------------------------------------------


def bucket_labels() -> list[str]:
    """Names of the :data:`LENGTH_BUCKETS` source-length buckets: ``1–10``, ..., ``>40``."""
    lows = [1, *(high + 1 for high in LENGTH_BUCKETS)]
    return [*(f"{low}–{high}" for low, high in zip(lows, LENGTH_BUCKETS)),
            f">{LENGTH_BUCKETS[-1]}"]


def length_buckets(words) -> pd.Series:
    """The :func:`bucket_labels` bucket of each length in ``words`` (ordered categories)."""
    import pandas as pd

    edges = [-math.inf, *LENGTH_BUCKETS, math.inf]  # a line of 0 words falls in the first
    return pd.cut(pd.Series(words), edges, labels=bucket_labels())


def line_scores(results: Results, dataset: str) -> pd.DataFrame:
    """Sentence scores of a parallel dataset with each line's source length and flags.

    Returns:
        One row per system (in run order) and line: ``system``, ``line`` (1-based),
        ``document``, ``words`` (source words, so every system's lines fall in the same
        buckets), ``bucket`` (:func:`length_buckets`), ``flags`` (of the line's segments),
        and a column per sentence-level metric.
    """
    seg = results.segments
    seg = seg[(seg["dataset"] == dataset) & seg["line"].notna()]
    seg = seg.assign(line=seg["line"].astype(int), words=seg["source"].str.split().str.len())
    per_line = seg.groupby(["system", "line"]).agg(
        document=("document", "first"), words=("words", "sum"),
        flags=("flags", lambda f: sorted({x for flags in f for x in flags})))
    s = results.scores
    s = s[(s["level"] == "sentence") & (s["dataset"] == dataset)]
    # Sentence items are 0-based line numbers; segment files count lines from 1.
    s = s.assign(line=s["item"].astype(int) + 1)
    scores = _pivot(s, ["system", "line"], "score")
    out = scores.join(per_line).reset_index()
    out["words"] = out["words"].fillna(0).astype(int)  # an empty line has no segments
    out["flags"] = out["flags"].map(lambda f: f if isinstance(f, list) else [])
    out["bucket"] = length_buckets(out["words"]).array  # ordered categories, not text
    columns = ["system", "line", "document", "words", "bucket", "flags", *scores.columns]
    return out[columns].rename_axis(columns=None)


def _save(fig, stem: Path) -> list[Path]:
    """Save in every plot format with nothing run-specific inside (no date, no version)."""
    import matplotlib

    paths = []
    # A fixed salt makes SVG element ids the same on every run (they are random otherwise).
    with matplotlib.rc_context({"svg.hashsalt": "summ-report", "svg.fonttype": "path"}):
        for fmt in PLOT_FORMATS:
            path = stem.parent / f"{stem.name}.{fmt}"  # not with_suffix: stems contain dots
            metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
            fig.savefig(path, format=fmt, metadata=metadata)
            paths.append(path)
    return paths


def plot_documents(results: Results, dataset: str, stem: Path) -> list[Path]:
    """Box plot of per-document chrF per system; the files written (none if the dataset has
    no document-level chrF stored)."""
    s = results.scores
    s = s[(s["level"] == "document") & (s["dataset"] == dataset) & (s["metric"] == PLOT_METRIC)]
    systems = [name for name in results.systems() if name in set(s["system"])]
    if not systems:
        return []
    data = [s.loc[s["system"] == name, "score"].tolist() for name in systems]
    from summ.display import figure

    fig = figure(max(4.0, 1.2 * len(systems) + 2), 3.6)
    ax = fig.add_subplot()
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(systems) + 1), systems, rotation=20, ha="right")
    name = METRIC_NAMES[PLOT_METRIC]
    ax.set_ylabel(f"{name} per document")
    ax.set_title(f"{dataset}: {name} per document ({len(data[0])} documents)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, stem)


def plot_length(results: Results, dataset: str, stem: Path) -> list[Path]:
    """Mean sentence chrF per source-length bucket, a line per system."""
    lines = line_scores(results, dataset)
    if PLOT_METRIC not in lines or not len(lines):
        return []
    stats = lines.groupby(["system", "bucket"], observed=False)[PLOT_METRIC].agg(["size", "mean"])
    from summ.display import figure

    fig = figure(6.4, 3.6)
    ax = fig.add_subplot()
    for system in dict.fromkeys(lines["system"]):
        means = stats.loc[system, "mean"].tolist()
        xs = [i for i, v in enumerate(means) if v == v]  # NaN: an empty bucket, no point
        ax.plot(xs, [means[i] for i in xs], marker="o", label=system)
    counts = stats.loc[lines["system"].iloc[0], "size"]  # every system has every line
    ax.set_xticks(range(len(counts)), [f"{b}\n(n={n})" for b, n in counts.items()])
    ax.set_xlabel("source length (words)")
    ax.set_ylabel(f"mean sentence {METRIC_NAMES[PLOT_METRIC]}")
    ax.set_title(f"{dataset}: {METRIC_NAMES[PLOT_METRIC]} by source length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, stem)


# --------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------


def build_report(results_dir: str | os.PathLike, *, output: str | os.PathLike | None = None,
                 published: str | os.PathLike | None = None) -> list[Path]:
    """``summ report DIR``: tables and plots from a results folder alone; the files written,
    sorted.

    Args:
        output: where to write (default ``DIR/report``).
        published: a published-scores CSV to use instead of the rows the run stored.

    Raises:
        InputError: not a finished results folder, a damaged file in it, or an unreadable
            published file.
    """
    results = load_results(results_dir)
    # Read before anything is written: a bad file leaves no folder.
    published_rows = read_published(published) if published is not None else None
    out = Path(output) if output is not None else results.path / REPORT
    out.mkdir(parents=True, exist_ok=True)
    label = f"tab:{_latex_label(str(results.manifest.get('name')))}"
    markdown = "\n".join(filter(None, [
        _header(results), "## Corpus scores\n", corpus_markdown(results),
        articles_section(results), summaries_markdown(results),
        published_section(results, published_rows),
        run_summary_section(results), signatures_section(results),
    ]))
    files = {"tables.md": markdown, "tables.csv": corpus_csv(results),
             "tables.tex": corpus_latex(results, label) + summaries_latex(results, label)}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")
    paths = [out / name for name in files]
    for dataset in results.datasets():
        paths += plot_documents(results, dataset, out / f"{dataset}.documents")
        paths += plot_length(results, dataset, out / f"{dataset}.length")
    logger.info("report: %d files in %s", len(paths), out)
    return sorted(paths)


def console_text(results_dir: str | os.PathLike, *, articles: bool = True) -> str:
    """What ``summ run`` prints when it finishes: the score tables, the summary tables,
    failures, and (``articles``) the translated articles, paragraphs preserved, of
    reference-free datasets."""
    results = load_results(results_dir)
    parts = [corpus_markdown(results)]
    if results.manifest.get("summaries"):
        parts.append(summaries_markdown(results))
    parts += [f"FAILED {name}: {err}\n"
              for name, err in (results.manifest.get("failed") or {}).items()]
    parts += [f"FAILED summary strategy {name}: {err}\n"
              for name, err in (results.manifest.get("failed_summaries") or {}).items()]
    for dataset, info in results.manifest.get("datasets", {}).items():
        if not articles or info.get("kind") != "articles":
            continue
        for system, where in _article_folders(results, dataset).items():
            for path in sorted((results.path / where).glob("*.txt")) if where else []:
                parts.append(f"=== {dataset} / {system} / {path.stem} ===\n\n"
                             f"{path.read_text(encoding='utf-8')}")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# summ evaluate: rendering an Evaluation.
# --------------------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values, missing ones as ``None`` (JSON ``null``)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def render_evaluation(evaluation, fmt: str = "table") -> str:
    """Render a :class:`summ.metrics.Evaluation` as ``table``, ``json``, ``csv`` or ``latex``.

    All four come from one frame, the scores with their paired test joined in (as
    :attr:`summ.results.Results.scores`): JSON's ``scores`` and the CSV have the same
    columns. Tables have a row per system (per system and item below corpus level), with
    ``†`` and ``±`` when a baseline was tested.

    Raises:
        ConfigError: unknown format.
    """
    if fmt not in EVALUATION_FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: choose {', '.join(EVALUATION_FORMATS)}")
    tests = [comparison_row("", c) for c in evaluation.comparisons]
    primary = tests[0]["method"] if tests else None
    scores = scores_frame([score_row("", name, s) for name, s in evaluation.scores], tests,
                          primary, "summ evaluate").drop(columns="dataset")
    if fmt == "json":
        return json.dumps({"level": evaluation.level, "baseline": evaluation.baseline,
                           "scores": _records(scores),
                           "comparisons": [{k: v for k, v in t.items() if k != "dataset"}
                                           for t in tests]},
                          ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return scores.to_csv(index=False, lineterminator="\n")
    index = ["system"] if evaluation.level == "corpus" else ["system", "item"]
    table = _pivot(scores.assign(text=_cell_texts(scores)), index, "text").fillna("–")
    table = table.rename(columns=METRIC_NAMES).reset_index()
    table["system"] = table["system"].map(
        lambda s: f"{s} (baseline)" if s == evaluation.baseline else s)
    notes = []
    if tests:
        ci = any(t["ci"] is not None for t in tests)
        notes.append(_significance_note(evaluation.baseline, primary, tests[0]["n_samples"],
                                        tests[0]["seed"], ci))
    first = scores.drop_duplicates("metric")
    signatures = list(zip(first["metric"], first["signature"]))
    if fmt == "latex":
        return "\n".join(["% needs \\usepackage{booktabs}", _latex(table, len(index)).rstrip("\n"),
                          *[f"% {_latex_text(n)}" for n in notes],
                          *[f"% {m}: {s}" for m, s in signatures]]) + "\n"
    return "\n".join([_markdown(table, len(index), "simple"), "", *notes,
                      *[f"{METRIC_NAMES.get(m, m)}: {s}" for m, s in signatures]]) + "\n"
