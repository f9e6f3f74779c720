"""Tables and plots from a results folder, and nothing but the results folder.

``summ report eval/results/NAME`` reads what :mod:`summ.experiment` stored (``manifest.json``,
``scores*.csv``, ``significance.csv``, the segment files) and writes ``report/``:

* ``tables.md``, ``tables.tex`` (booktabs), ``tables.csv``: per dataset, systems as rows and
  metrics as columns (corpus level), ``±`` the bootstrap 95% CI half-width and ``†`` where
  the paired test against the baseline gives p < 0.05; failed systems as rows with their
  error; published scores beside this run's only where the test set is the same;
* ``DATASET.documents.{png,svg}``: per-document chrF distribution per system;
* ``DATASET.length.{png,svg}``: mean sentence chrF by source-length bucket per system.

Nothing here loads a model or calls a metric: deleting the models and the cache after a run
changes nothing. The same results give byte-identical files (rows in stored order, fixed
number formats, plot metadata without dates or versions, a fixed SVG id salt), so reports
can be committed and diffed. As in compare-mt, the numbers are gathered into plain
:class:`Table` objects first and rendered afterwards, one renderer per format.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from summ.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

#: Display names; TER is an error rate, so its header says lower is better.
METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF", "chrf++": "chrF++", "ter": "TER↓", "comet": "COMET",
                "cometkiwi": "COMETKiwi",
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
_EVALUATION_FORMATS = ("table", "json", "csv", "latex")


# --------------------------------------------------------------------------------------
# Reading stored results.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    """A results folder read back: the manifest and every stored score.

    Attributes:
        path: the folder.
        manifest: ``manifest.json``.
        scores: level -> rows of the matching ``scores*.csv`` (``score`` as float).
        significance: rows of ``significance.csv`` (numbers as floats or ``None``).
        summary_scores: level -> rows of ``summary_scores*.csv`` (``score`` as float).
    """

    path: Path
    manifest: dict
    scores: dict[str, list[dict]]
    significance: list[dict]
    summary_scores: dict[str, list[dict]] = field(default_factory=dict)

    def systems(self) -> list[str]:
        return list(self.manifest.get("system_order") or self.manifest.get("systems", {}))

    def datasets(self) -> list[str]:
        return list(self.manifest.get("datasets", {}))

    def system(self, name: str) -> dict:
        return self.manifest.get("systems", {}).get(name, {})


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def load_results(results_dir: str | os.PathLike) -> Results:
    """Read a results folder written by :func:`summ.experiment.run`.

    Raises:
        InputError: the folder has no manifest, or the run did not finish.
    """
    path = Path(results_dir)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(f"{path}: no manifest.json; is this a results folder written by `summ run`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "finished":
        raise InputError(f"{path}: the run did not finish (status {manifest.get('status')!r}); rerun `summ run` to resume it")
    from summ.experiment import _SCORE_FILES, _SUMMARY_SCORE_FILES

    scores = _read_scores(path, _SCORE_FILES)
    significance = []
    if (path / "significance.csv").is_file():
        for row in _read_csv(path / "significance.csv"):
            for key in ("score", "delta", "mean", "ci", "p_value"):
                row[key] = _float(row[key])
            row["significant"] = row["significant"] == "true"
            significance.append(row)
    summary_scores = _read_scores(path, _SUMMARY_SCORE_FILES)
    return Results(path, manifest, scores, significance, summary_scores)


def _read_scores(folder: Path, files: dict[str, str]) -> dict[str, list[dict]]:
    """The score files present in ``folder`` (``files``: level -> file name), scores as floats, by level."""
    scores = {}
    for level, name in files.items():
        if (folder / name).is_file():
            rows = _read_csv(folder / name)
            for row in rows:
                row["score"] = float(row["score"])
            scores[level] = rows
    return scores


# --------------------------------------------------------------------------------------
# Tables: numbers first, rendering after.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One score in a table: the value, its CI half-width, and whether it differs from the baseline."""

    value: float
    ci: float | None = None
    p_value: float | None = None
    significant: bool = False


@dataclass(frozen=True)
class Row:
    """One system in one dataset's table.

    Attributes:
        system: system name.
        model: model as configured (hub id, path or ``tiny:FAMILY``).
        engine: engine name with numeric type (``hf:float32``, ``ct2:int8``) or the configured engine.
        baseline: this is the baseline row.
        tiny: a random-weight test model (its scores mean nothing).
        cells: one per column, ``None`` where no score is stored.
        error: the one-line error of a failed system (then ``cells`` are all ``None``).
    """

    system: str
    model: str
    engine: str
    baseline: bool
    tiny: bool
    cells: tuple[Cell | None, ...]
    error: str | None = None


@dataclass(frozen=True)
class Table:
    """A dataset's corpus-level table with its notes (significance, published scores, caveats)."""

    dataset: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()


def _short_model(model: str) -> str:
    # Local paths are long and machine-specific; their last component says which model it was.
    return Path(model).name if os.path.isabs(model) else model


def corpus_tables(results: Results) -> list[Table]:
    """One :class:`Table` per dataset that has references, in the run's dataset order."""
    m = results.manifest
    metrics = m.get("metrics", [])
    sig = m.get("significance") or {}
    methods = sig.get("methods") or []
    primary = methods[0] if methods else None
    corpus = {(r["dataset"], r["system"], r["metric"]): r for r in results.scores.get("corpus", [])}
    tests = {(r["dataset"], r["system"], r["metric"], r["method"]): r for r in results.significance}
    tables = []
    for dataset, info in m.get("datasets", {}).items():
        if info.get("kind") != "parallel":
            continue
        rows = []
        for system in results.systems():
            rec = results.system(system)
            ds_rec = rec.get("datasets", {}).get(dataset, {})
            error = None
            if rec.get("status") == "failed" and ds_rec.get("status") != "ok":
                error = ds_rec.get("error") or rec.get("error") or "failed"
            cells = []
            for metric in metrics:
                row = corpus.get((dataset, system, metric))
                if row is None or error is not None:
                    cells.append(None)
                    continue
                bs = tests.get((dataset, system, metric, "bs"))
                test = tests.get((dataset, system, metric, primary)) if primary else None
                cells.append(_score_cell(row["score"], bs["ci"] if bs else None,
                                         test["p_value"] if test else None, test["delta"] if test else None))
            rows.append(Row(system, rec.get("model", ""), rec.get("engine_name") or rec.get("engine", ""),
                            system == m.get("baseline"), bool(rec.get("tiny")), tuple(cells), error))
        tables.append(Table(dataset, _dataset_title(dataset, info), tuple(metrics), tuple(rows),
                            tuple(_table_notes(results, dataset, rows, primary))))
    return tables


def _score_cell(value: float, ci: float | None, p_value: float | None, delta: float | None) -> Cell:
    """A table cell: the score, its CI half-width (if any) and the significance mark from the test (if any)."""
    return Cell(value, ci, p_value, _marked(p_value, delta))


#: Full names of the paired significance tests, for table notes.
_METHOD_NAMES = {"bs": "paired bootstrap resampling", "ar": "approximate randomisation"}


def _significance_note(against: str, method: str, n_samples, seed, ci: bool) -> str:
    """The note explaining the significance mark (and ``±``, when the table shows bootstrap CIs).

    Args:
        against: what the systems are tested against (``"the baseline"``, or its name).
        method: ``"bs"`` or ``"ar"``; approximate randomisation gives no confidence interval.
        ci: whether the table's cells carry ``±`` CI half-widths.
    """
    return (f"{MARK} p < {P_THRESHOLD} against {against} ({_METHOD_NAMES.get(method, method)}, {n_samples} samples, "
            f"seed {seed}; exact ties unmarked)"
            + ("; ± is the half-width of the bootstrap 95% confidence interval." if ci else "."))


def _marked(p_value: float | None, delta: float | None) -> bool:
    """Whether a score gets the significance mark.

    An exact tie is never marked: sacrebleu's paired tests give p = 1/(n+1) when every
    resample differs by exactly zero (identical outputs, or two scores of 0), following
    multeval; "significantly different" would misread a tie. The p-value stays in
    ``significance.csv``.
    """
    return p_value is not None and p_value < P_THRESHOLD and bool(delta)


def _dataset_title(dataset: str, info: dict) -> str:
    n_docs, total = info.get("documents"), info.get("total_documents")
    title = f"{dataset}: {info.get('lines')} lines in {n_docs} document{'' if n_docs == 1 else 's'}"
    if info.get("documents_limit") is not None and n_docs != total:
        title += f", the first {n_docs} of {total}"
    return title


def _table_notes(results: Results, dataset: str, rows: list[Row], primary: str | None) -> list[str]:
    m = results.manifest
    sig = m.get("significance") or {}
    notes = []
    tested = [r for r in results.significance if r["dataset"] == dataset and r["method"] == primary]
    if tested:
        ci = any(r["method"] == "bs" for r in results.significance if r["dataset"] == dataset)
        notes.append(_significance_note("the baseline", primary, tested[0]["n_samples"], sig.get("seed"), ci))
    if sig.get("notes", {}).get(dataset):
        notes.append(sig["notes"][dataset] + ".")
    if any(r.tiny for r in rows):
        notes.append("Systems on tiny:* models use random weights: their scores only show that the machinery runs.")
    if dataset == "ntrex128" or m["datasets"][dataset].get("type") == "ntrex128":
        notes.append("NTREX-128's Arabic is a professional translation of English news (WMT19), so Arabic→English "
                     "runs against the original direction: compare systems with each other, not with Arabic-original test sets.")
    return notes


def _fmt(x: float) -> str:
    return f"{x:.{DECIMALS}f}"


def _cell_text(cell: Cell | None, *, pm: str = " ± ", mark: str = MARK) -> str:
    if cell is None:
        return "–"
    text = _fmt(cell.value)
    if cell.ci is not None:
        text += f"{pm}{_fmt(cell.ci)}"
    if cell.significant:
        text += f" {mark}"
    return text


def _system_label(row: Row) -> str:
    return f"{row.system} (baseline)" if row.baseline else row.system


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(tables: Sequence[Table]) -> str:
    """Markdown tables (GitHub flavour), one section per dataset."""
    parts = []
    for t in tables:
        header = ["system", "model", "engine", *[METRIC_NAMES.get(c, c) for c in t.columns]]
        lines = [f"### {t.title}", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] * 3 + ["---:"] * len(t.columns)) + "|"]
        for r in t.rows:
            cells = ([f"failed: {_md_escape(r.error)}"] + [""] * (len(t.columns) - 1)) if r.error else \
                [_cell_text(c) for c in r.cells]
            lines.append("| " + " | ".join([_md_escape(_system_label(r)), _md_escape(_short_model(r.model)),
                                             _md_escape(r.engine), *cells]) + " |")
        lines.append("")
        lines += [f"- {_md_escape(n)}" for n in t.notes]
        parts.append("\n".join(lines).rstrip() + "\n")
    return "\n".join(parts)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "†": r"$^\dagger$", "±": r"$\pm$", "↓": r"$\downarrow$", "→": r"$\rightarrow$", "–": "--"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters (and the few symbols tables use) for a tabular cell."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def render_latex(tables: Sequence[Table], *, label_prefix: str = "tab") -> str:
    """One booktabs ``table`` per dataset (``\\usepackage{booktabs}`` in the preamble)."""
    parts = ["% Generated by `summ report`; needs \\usepackage{booktabs}.\n"]
    for t in tables:
        n = len(t.columns)
        head = " & ".join(["System", "Model", *[latex_escape(METRIC_NAMES.get(c, c)) for c in t.columns]])
        body = []
        for r in t.rows:
            first = latex_escape(_system_label(r)) + " & " + latex_escape(_short_model(r.model))
            if r.error:
                body.append(f"{first} & \\multicolumn{{{n}}}{{l}}{{\\emph{{failed: {latex_escape(r.error)}}}}} \\\\")
            else:
                cells = [latex_escape(_cell_text(c, pm=" ± ")) for c in r.cells]
                body.append(first + " & " + " & ".join(cells) + " \\\\")
        notes = " ".join(latex_escape(x) for x in t.notes)
        parts.append("\n".join([
            "\\begin{table}[t]", "\\centering", "\\small",
            f"\\begin{{tabular}}{{ll{'r' * n}}}", "\\toprule", head + " \\\\", "\\midrule", *body,
            "\\bottomrule", "\\end{tabular}",
            f"\\caption{{{latex_escape(t.title)}. {notes}}}",
            f"\\label{{{label_prefix}:{_latex_label(t.dataset)}}}", "\\end{table}", "",
        ]))
    return "\n".join(parts)


def _latex_label(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-:." else "-" for ch in text)


def render_csv(tables: Sequence[Table]) -> str:
    """Wide CSV: a row per dataset and system; per metric its score, CI half-width and p-value."""
    metrics: list[str] = []
    for t in tables:
        metrics += [c for c in t.columns if c not in metrics]
    columns = ["dataset", "system", "model", "engine", "baseline", "status", "error"]
    for m in metrics:
        columns += [m, f"{m}_ci", f"{m}_p"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for t in tables:
        for r in t.rows:
            row = {"dataset": t.dataset, "system": r.system, "model": r.model, "engine": r.engine,
                   "baseline": str(r.baseline).lower(), "status": "failed" if r.error else "ok", "error": r.error or ""}
            for metric, cell in zip(t.columns, r.cells):
                if cell is not None:
                    row[metric] = f"{cell.value:.4f}"
                    row[f"{metric}_ci"] = "" if cell.ci is None else f"{cell.ci:.4f}"
                    row[f"{metric}_p"] = "" if cell.p_value is None else f"{cell.p_value:.4f}"
            writer.writerow(row)
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# Published scores, run summaries, signatures.
# --------------------------------------------------------------------------------------


def published_section(results: Results, published_rows: list[dict] | None = None) -> str:
    """Markdown: published scores beside this run's where the test set matches, else say so.

    Args:
        results: the stored run.
        published_rows: rows to use instead of those the run copied into its manifest (e.g.
            a newer ``eval/published.csv``).
    """
    m = results.manifest
    rows = published_rows if published_rows is not None else (m.get("published") or {}).get("rows", [])
    corpus = {(r["dataset"], r["system"], r["metric"]): r for r in results.scores.get("corpus", [])}
    lines = ["## Published scores", ""]
    for dataset, info in m.get("datasets", {}).items():
        if info.get("kind") != "parallel":
            continue
        test_set = info.get("test_set")
        out = []
        for system in results.systems():
            model = results.system(system).get("model")
            for p in rows:
                if p["model"] != model or not test_set or p["test_set"] != test_set:
                    continue
                ours = corpus.get((dataset, system, p["metric"]))
                here = _fmt(ours["score"]) if ours else "not scored"
                verified = "" if p.get("verified", "yes") in ("yes", "") else " (unverified)"
                out.append(f"| {system} | {_md_escape(p['metric'])} | {_md_escape(p['score'])}{verified} | {here} | "
                           f"{_md_escape(p.get('tokenizer') or '')} | {_md_escape(p['source'])} |")
        lines.append(f"**{dataset}** (test set `{test_set}`): " + ("" if out else "no published score for this test set."))
        if out:
            lines += ["", "| system | metric | published | this run | tokenizer | source |", "|---|---|---:|---:|---|---|", *out]
        else:
            models = {results.system(s).get("model") for s in results.systems()}
            others = sorted({p["test_set"] for p in rows if p["model"] in models})
            if others:
                lines.append(f"Published scores for these models are on other test sets ({', '.join(others)}); "
                             "they are not comparable with this one and are not shown.")
        lines.append("")
    return "\n".join(lines)


def run_summary_section(results: Results) -> str:
    """Markdown: per system and dataset, what the pipeline did (splits, caps, flags, speed)."""
    lines = ["## Runs", "", "| system | dataset | revision | segments | split | capped | repetitive | not Arabic | "
             "from cache | tokens/s |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for system in results.systems():
        rec = results.system(system)
        for dataset, ds in rec.get("datasets", {}).items():
            s = ds.get("summary")
            if not s:
                continue
            lines.append(f"| {system} | {dataset} | {_md_escape(str(rec.get('revision', '')))} | {s['segments']} | "
                         f"{s['split_segments']} | {s['capped']} | {s['repetition']} | {s['not_arabic']} | "
                         f"{s['cache_hits']} | {s['tokens_per_s']:.0f} |")
    failed = results.manifest.get("failed") or {}
    failed_summaries = results.manifest.get("failed_summaries") or {}
    if failed or failed_summaries:
        lines += ["", *[f"- **{name} failed**: {_md_escape(err)}" for name, err in failed.items()],
                  *[f"- **summary strategy {name} failed**: {_md_escape(err)}" for name, err in failed_summaries.items()]]
    return "\n".join(lines) + "\n"


def signatures_section(results: Results) -> str:
    """Markdown: the sacrebleu signature of every metric and level, and of the paired tests."""
    lines = ["## Signatures", ""]
    for metric, levels in (results.manifest.get("signatures") or {}).items():
        for level, sig in levels.items():
            lines.append(f"- {metric} ({level}): `{sig}`")
    for key, sig in ((results.manifest.get("significance") or {}).get("signatures") or {}).items():
        lines.append(f"- {key} (paired test): `{sig}`")
    seen: dict[str, str] = {}
    for r in results.summary_scores.get("corpus", []):
        seen.setdefault(r["metric"], r["signature"])
    lines += [f"- {metric} (summaries): `{sig}`" for metric, sig in seen.items()]
    return "\n".join(lines) + "\n"


def _header(results: Results) -> str:
    m = results.manifest
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v)
    machine = m.get("machine", {})
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    lines = [f"# {m.get('name')}", ""]
    if m.get("description"):
        lines += [m["description"], ""]
    lines += [f"Run {m.get('started')} – {m.get('finished')} ({m.get('wall_s')} s) on {machine.get('cpu')} "
              f"({machine.get('cores')} cores, {gpus}), Python {machine.get('python')}; {versions}.", ""]
    return "\n".join(lines)


def articles_section(results: Results) -> str:
    """Markdown: where the translations of reference-free article datasets are."""
    lines = []
    for dataset, info in results.manifest.get("datasets", {}).items():
        if info.get("kind") != "articles":
            continue
        n = info.get("articles")
        lines += [f"### {dataset}: {n} article{'' if n == 1 else 's'}, no references (outputs only)", ""]
        for system in results.systems():
            ds = results.system(system).get("datasets", {}).get(dataset, {})
            where = (ds.get("outputs") or {}).get("articles")
            error = ds.get("error") or results.system(system).get("error")
            lines.append(f"- {system}: `{where}`" if where else f"- {system}: failed ({error})")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Plots.
# --------------------------------------------------------------------------------------


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
    """Box plot of per-document chrF per system (document-level scores must be stored).

    Returns:
        The files written (none if the dataset has no document-level chrF).
    """
    rows = [r for r in results.scores.get("document", []) if r["dataset"] == dataset and r["metric"] == PLOT_METRIC]
    systems = [s for s in results.systems() if any(r["system"] == s for r in rows)]
    if not systems:
        return []
    data = [[r["score"] for r in rows if r["system"] == s] for s in systems]
    from summ.display import _figure

    fig = _figure(max(4.0, 1.2 * len(systems) + 2), 3.6)
    ax = fig.add_subplot()
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(systems) + 1), systems, rotation=20, ha="right")
    ax.set_ylabel(f"{METRIC_NAMES[PLOT_METRIC]} per document")
    ax.set_title(f"{dataset}: {METRIC_NAMES[PLOT_METRIC]} per document ({len(data[0])} documents)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, stem)


def source_lengths(results: Results, dataset: str, system: str) -> dict[int, int]:
    """Source length in whitespace words per 1-based line, from a system's segment file.

    Words rather than model tokens, so every system's lines fall in the same buckets.
    """
    rec = results.system(system).get("datasets", {}).get(dataset, {})
    path = results.path / (rec.get("outputs") or {}).get("segments", "")
    lengths: dict[int, int] = {}
    if not path.is_file():
        return lengths
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if "line" in obj:
                lengths[obj["line"]] = lengths.get(obj["line"], 0) + len(obj["source"].split())
    return lengths


def bucket_labels() -> list[str]:
    """Names of the :data:`LENGTH_BUCKETS` source-length buckets: ``1–10``, ..., ``>40``."""
    labels, low = [], 1
    for high in LENGTH_BUCKETS:
        labels.append(f"{low}–{high}")
        low = high + 1
    return labels + [f">{LENGTH_BUCKETS[-1]}"]


def length_bucket(words: int) -> int:
    """Index into :func:`bucket_labels` of a line of ``words`` source words."""
    for i, high in enumerate(LENGTH_BUCKETS):
        if words <= high:
            return i
    return len(LENGTH_BUCKETS)


def length_buckets(results: Results, dataset: str) -> dict[str, list[tuple[int, float | None]]]:
    """Per system, (lines, mean sentence chrF) per source-length bucket (:data:`LENGTH_BUCKETS`)."""
    rows = [r for r in results.scores.get("sentence", []) if r["dataset"] == dataset and r["metric"] == PLOT_METRIC]
    out = {}
    for system in results.systems():
        scores = [r for r in rows if r["system"] == system]
        if not scores:
            continue
        lengths = source_lengths(results, dataset, system)
        sums = [0.0] * (len(LENGTH_BUCKETS) + 1)
        counts = [0] * (len(LENGTH_BUCKETS) + 1)
        for r in scores:
            # Sentence items are 0-based line numbers; segment files count lines from 1.
            b = length_bucket(lengths.get(int(r["item"]) + 1, 0))
            sums[b] += r["score"]
            counts[b] += 1
        out[system] = [(n, s / n if n else None) for s, n in zip(sums, counts)]
    return out


def plot_length(results: Results, dataset: str, stem: Path) -> list[Path]:
    """Mean sentence chrF per source-length bucket, a line per system."""
    buckets = length_buckets(results, dataset)
    if not buckets:
        return []
    labels = bucket_labels()
    counts = next(iter(buckets.values()))
    from summ.display import _figure

    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    for system, values in buckets.items():
        xs = [i for i, (_, v) in enumerate(values) if v is not None]
        ax.plot(xs, [values[i][1] for i in xs], marker="o", label=system)
    ax.set_xticks(range(len(labels)), [f"{lab}\n(n={n})" for lab, (n, _) in zip(labels, counts)])
    ax.set_xlabel("source length (words)")
    ax.set_ylabel(f"mean sentence {METRIC_NAMES[PLOT_METRIC]}")
    ax.set_title(f"{dataset}: {METRIC_NAMES[PLOT_METRIC]} by source length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, stem)


# --------------------------------------------------------------------------------------
# Summaries.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One summary strategy applied to one system's translations (or to the source)."""

    strategy: str
    system: str
    model: str
    cells: tuple[Cell | None, ...]
    error: str | None = None


@dataclass(frozen=True)
class SummaryTable:
    """A dataset's summary scores: summary(MT) against summary(reference translation)."""

    dataset: str
    columns: tuple[str, ...]
    rows: tuple[SummaryRow, ...]
    outputs_only: tuple[str, ...] = ()


def summary_tables(results: Results) -> list[SummaryTable]:
    """One :class:`SummaryTable` per dataset that any ``[[summaries]]`` strategy ran on."""
    section = results.manifest.get("summaries") or {}
    if not section:
        return []
    corpus = results.summary_scores.get("corpus", [])
    columns: list[str] = []
    for r in corpus:
        if r["metric"] not in columns:
            columns.append(r["metric"])
    values = {(r["dataset"], r["summary"], r["system"], r["metric"]): r["score"] for r in corpus}
    tables = []
    for dataset in results.datasets():
        rows, outputs_only = [], []
        for name, rec in section.items():
            model = rec.get("model") or rec.get("summary_model") or "–"  # as configured; "–": extractive
            for system, where in rec.get("runs", {}).get(dataset, {}).items():
                if system.startswith("_") or not any(values.get((dataset, name, system, c)) is not None for c in columns):
                    if system != "_reference":
                        outputs_only.append(f"{name}: `{where}`")
                    continue
                cells = tuple(Cell(values[(dataset, name, system, c)]) if (dataset, name, system, c) in values else None
                              for c in columns)
                rows.append(SummaryRow(name, system, model, cells))
            if rec.get("status") == "failed":
                rows.append(SummaryRow(name, "–", model, (None,) * len(columns), rec.get("error") or "failed"))
        if rows or outputs_only:
            tables.append(SummaryTable(dataset, tuple(columns), tuple(rows), tuple(outputs_only)))
    return tables


_SUMMARY_NOTE = ("Each system's translation is summarised, and the summary is scored against the same strategy's "
                 "summary of the human reference translation: 100 means translation errors did not change the summary.")


def render_summaries_markdown(tables: Sequence[SummaryTable]) -> str:
    """Markdown: the summary tables, with the strategies whose outputs are not scored."""
    if not tables:
        return ""
    parts = ["## Summaries", "", _SUMMARY_NOTE, ""]
    for t in tables:
        parts += [f"### {t.dataset}", ""]
        if t.rows:
            header = ["strategy", "system", "model", *[METRIC_NAMES.get(c, c) for c in t.columns]]
            parts += ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * len(t.columns)) + "|"]
            for r in t.rows:
                model = _md_escape(_short_model(r.model))
                if r.error and not t.columns:  # nothing was scored at all: the error takes the model's cell
                    model, cells = f"{model}, failed: {_md_escape(r.error)}", []
                elif r.error:
                    cells = [f"failed: {_md_escape(r.error)}"] + [""] * (len(t.columns) - 1)
                else:
                    cells = [_cell_text(c) for c in r.cells]
                parts.append("| " + " | ".join([_md_escape(r.strategy), _md_escape(r.system), model, *cells]) + " |")
            parts.append("")
        if t.outputs_only:
            parts += ["Not scored (no reference to compare with): " + "; ".join(t.outputs_only), ""]
    return "\n".join(parts)


def render_summaries_latex(tables: Sequence[SummaryTable], *, label_prefix: str = "tab") -> str:
    """One booktabs ``table`` per dataset with scored summaries."""
    parts = []
    for t in tables:
        if not t.rows or not t.columns:  # nothing scored: the Markdown lists outputs and errors
            continue
        n = len(t.columns)
        head = " & ".join(["Strategy", "System", *[latex_escape(METRIC_NAMES.get(c, c)) for c in t.columns]])
        body = []
        for r in t.rows:
            first = latex_escape(r.strategy) + " & " + latex_escape(r.system)
            if r.error:
                body.append(f"{first} & \\multicolumn{{{max(n, 1)}}}{{l}}{{\\emph{{failed: {latex_escape(r.error)}}}}} \\\\")
            else:
                body.append(first + " & " + " & ".join(latex_escape(_cell_text(c)) for c in r.cells) + " \\\\")
        parts.append("\n".join([
            "\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{ll{'r' * n}}}", "\\toprule",
            head + " \\\\", "\\midrule", *body, "\\bottomrule", "\\end{tabular}",
            f"\\caption{{Summaries, {latex_escape(t.dataset)}. {latex_escape(_SUMMARY_NOTE)}}}",
            f"\\label{{{label_prefix}:summaries-{_latex_label(t.dataset)}}}", "\\end{table}", "",
        ]))
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------


def build_report(
    results_dir: str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    published: str | os.PathLike | None = None,
) -> list[Path]:
    """``summ report DIR``: tables and plots from a results folder alone.

    Args:
        results_dir: a folder written by ``summ run``.
        output: where to write (default ``DIR/report``).
        published: a published-scores CSV to use instead of the rows the run stored.

    Returns:
        The files written, sorted.

    Raises:
        InputError: not a finished results folder, or an unreadable published file.
    """
    results = load_results(results_dir)
    published_rows = None
    if published is not None:  # read before anything is written: a bad file leaves no folder
        from summ.experiment import read_published

        published_rows = read_published(published)
    out = Path(output) if output is not None else results.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    tables = corpus_tables(results)
    summaries = summary_tables(results)
    label = f"tab:{_latex_label(str(results.manifest.get('name')))}"
    markdown = "\n".join(filter(None, [
        _header(results), "## Corpus scores\n", render_markdown(tables), articles_section(results),
        render_summaries_markdown(summaries), published_section(results, published_rows),
        run_summary_section(results), signatures_section(results),
    ]))
    latex = render_latex(tables, label_prefix=label) + render_summaries_latex(summaries, label_prefix=label)
    files = [_write(out / "tables.md", markdown), _write(out / "tables.tex", latex),
             _write(out / "tables.csv", render_csv(tables))]
    for dataset in results.datasets():
        files += plot_documents(results, dataset, out / f"{dataset}.documents")
        files += plot_length(results, dataset, out / f"{dataset}.length")
    logger.info("report: %d files in %s", len(files), out)
    return sorted(files)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def console_text(results_dir: str | os.PathLike, *, articles: bool = True) -> str:
    """What ``summ run`` prints when it finishes: the score tables, failures, and the
    translated articles (paragraphs preserved) of reference-free datasets.

    Args:
        results_dir: a finished results folder.
        articles: include the full translated articles.
    """
    results = load_results(results_dir)
    parts = [render_markdown(corpus_tables(results))]
    failed = results.manifest.get("failed") or {}
    parts += [f"FAILED {name}: {err}\n" for name, err in failed.items()]
    parts += [f"FAILED summary strategy {name}: {err}\n"
              for name, err in (results.manifest.get("failed_summaries") or {}).items()]
    if articles:
        for dataset, info in results.manifest.get("datasets", {}).items():
            if info.get("kind") != "articles":
                continue
            for system in results.systems():
                where = ((results.system(system).get("datasets", {}).get(dataset) or {}).get("outputs") or {}).get("articles")
                if not where:
                    continue
                for path in sorted((results.path / where).glob("*.txt")):
                    parts.append(f"=== {dataset} / {system} / {path.stem} ===\n\n{path.read_text(encoding='utf-8')}")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# summ evaluate: rendering an Evaluation.
# --------------------------------------------------------------------------------------


def render_evaluation(evaluation, fmt: str = "table") -> str:
    """Render a :class:`summ.experiment.Evaluation` as ``table``, ``json``, ``csv`` or ``latex``.

    Corpus level gives one row per system (with ``†`` and ``±`` when a baseline was tested);
    document and sentence levels give one row per system and item.

    Raises:
        ConfigError: unknown format.
    """
    if fmt not in _EVALUATION_FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: choose {', '.join(_EVALUATION_FORMATS)}")
    if fmt == "json":
        return json.dumps({
            "level": evaluation.level, "baseline": evaluation.baseline,
            "scores": [{"system": sys_name, "metric": s.metric, "level": s.level, "item": s.item, "score": s.score,
                        "n": s.n, "signature": s.signature} for sys_name, s in evaluation.scores],
            "comparisons": [{"system": c.system, "baseline": c.baseline, "metric": c.metric, "score": c.score,
                             "delta": c.delta, "mean": c.mean, "ci": c.ci, "p_value": c.p_value,
                             "significant": c.significant, "method": c.method, "n_samples": c.n_samples,
                             "seed": c.seed, "signature": c.signature} for c in evaluation.comparisons],
        }, ensure_ascii=False, indent=2) + "\n"
    metrics: list[str] = []
    for _, s in evaluation.scores:
        if s.metric not in metrics:
            metrics.append(s.metric)
    tests = {(c.system, c.metric): c for c in evaluation.comparisons}
    keys: list[tuple[str, str | None]] = []
    values: dict[tuple[str, str | None, str], float] = {}
    for system, s in evaluation.scores:
        key = (system, s.item)
        if key not in keys:
            keys.append(key)
        values[(system, s.item, s.metric)] = s.score
    item_col = evaluation.level != "corpus"

    def cell(system: str, item, metric: str) -> Cell | None:
        if (system, item, metric) not in values:
            return None
        c = tests.get((system, metric))
        return _score_cell(values[(system, item, metric)], c.ci if c else None,
                           c.p_value if c else None, c.delta if c else None)

    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["system", *(["item"] if item_col else []), *metrics])
        for system, item in keys:
            writer.writerow([system, *([item] if item_col else []),
                             *[f"{values[(system, item, m)]:.4f}" if (system, item, m) in values else "" for m in metrics]])
        return buf.getvalue()
    labels = {s: f"{s} (baseline)" if s == evaluation.baseline else s for s in evaluation.systems}
    header = ["system", *(["item"] if item_col else []), *[METRIC_NAMES.get(m, m) for m in metrics]]
    body = [[labels[system], *([str(item)] if item_col else []), *[_cell_text(cell(system, item, m)) for m in metrics]]
            for system, item in keys]
    notes = []
    if evaluation.comparisons:
        c0 = evaluation.comparisons[0]
        ci = any(c.ci is not None for c in evaluation.comparisons)
        notes.append(_significance_note(evaluation.baseline, c0.method, c0.n_samples, c0.seed, ci))
    sigs = {}
    for _, s in evaluation.scores:
        sigs.setdefault(s.metric, s.signature)
    if fmt == "latex":
        n = len(header)
        lines = ["% needs \\usepackage{booktabs}", f"\\begin{{tabular}}{{{'l' * (1 + item_col)}{'r' * (n - 1 - item_col)}}}",
                 "\\toprule", " & ".join(latex_escape(h) for h in header) + " \\\\", "\\midrule",
                 *[" & ".join(latex_escape(c) for c in row) + " \\\\" for row in body], "\\bottomrule", "\\end{tabular}"]
        lines += [f"% {latex_escape(n_)}" for n_ in notes]
        lines += [f"% {m}: {s}" for m, s in sigs.items()]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    text = ["  ".join(str(c).ljust(w) if i < 1 + item_col else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
            for row in [header, *body]]
    text.insert(1, "  ".join("-" * w for w in widths))
    text += ["", *notes, *[f"{METRIC_NAMES.get(m, m)}: {s}" for m, s in sigs.items()]]
    return "\n".join(line.rstrip() for line in text) + "\n"
