"""summ.report: tables and plots rebuilt from stored results alone, byte for byte.

The run behind these tests uses stand-in translators whose quality is known in advance: a
weak baseline (the first three words of each reference), a variant of it that differs on one
line (not significantly different), an oracle (the references themselves: clearly better),
and a hub id that does not exist (a failed system).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from summ.data import load_ntrex128
from summ.errors import InputError
from summ.report import (
    MARK,
    build_report,
    corpus_markdown,
    corpus_scores,
    corpus_table,
    line_scores,
    significance_marks,
    summary_table,
)
from summ.results import load_results, read_published

DOCS = 2


# --------------------------------------------------------------------------- stand-in systems


class _FakeEngine:
    """The attributes of a loaded engine that the runner records."""

    def __init__(self, model: str) -> None:
        self.model_id = model
        self.revision = "fake-1"
        self.name = "fake"

    def settings(self) -> dict:
        return {"fake": self.model_id}


class FakeTranslator:
    """``translate_documents`` answering from a table: source line -> output line."""

    def __init__(self, model: str, table: dict[str, str]) -> None:
        self.engine = _FakeEngine(model)
        self.table = table
        self.cache = None

    def translate_documents(self, documents):
        from summ.segment import Segment
        from summ.translate import DocumentsResult, Piece, RunStats, SegmentRecord

        texts = [self.table.get(doc, "") for doc in documents]
        segments = [[Segment(doc.strip(), 0, 0, 0)] if doc.strip() else [] for doc in documents]
        records = [[SegmentRecord(source=doc.strip(), translation=text, source_tokens=len(doc.split()),
                                  pieces=(Piece(doc.strip(), text, len(doc.split()), len(text.split()),
                                                False, False),), flags=())] if doc.strip() else []
                   for doc, text in zip(documents, texts)]
        summary = RunStats(segments=len(documents), pieces=len(documents), translated=len(documents))
        return DocumentsResult(texts, segments, records, summary)


CONFIG = """
name = "oracle"
description = "Stand-in systems with known quality."
baseline = "weak"
metrics = ["bleu", "chrf", "ter"]
[significance]
n_samples = 300
[[systems]]
name = "weak"
model = "fake:weak"
[[systems]]
name = "weak_variant"
model = "fake:variant"
[[systems]]
name = "oracle"
model = "fake:oracle"
[[systems]]
name = "missing"
model = "summ-test/no-such-model"
[[datasets]]
type = "ntrex128"
documents = {docs}
[[summaries]]
name = "lead2"
strategy = "lead"
options = {{ sentences = 2 }}
[[summaries]]
name = "broken"
strategy = "abstractive"
model = "summ-test/no-such-summariser"
"""


@pytest.fixture(scope="module")
def run_dir(data_dir, tmp_path_factory):
    """A finished results folder (with report) from the stand-in systems."""
    import summ.translate
    from summ.experiment import run_experiment

    corpus = load_ntrex128(data_dir).select_documents(DOCS)
    weak = {s: " ".join(r.split()[:3]) for s, r in zip(corpus.src, corpus.refs[0])}
    variant = dict(weak)
    variant[corpus.src[0]] = corpus.refs[0][0]  # one line better: not a significant difference
    tables = {"fake:weak": weak, "fake:variant": variant, "fake:oracle": dict(zip(corpus.src, corpus.refs[0]))}
    real = summ.translate.load_translator

    def load_translator(model, engine="hf", **kwargs):
        if model in tables:
            return FakeTranslator(model, tables[model])
        return real(model, engine, **kwargs)

    root = tmp_path_factory.mktemp("report")
    config = root / "configs" / "oracle.toml"
    config.parent.mkdir()
    config.write_text(CONFIG.format(docs=DOCS), encoding="utf-8")
    published = root / "published.csv"  # found beside configs/, as eval/published.csv is
    published.write_text(
        "# comment lines are skipped\n"
        "model,test_set,langpair,metric,score,tokenizer,signature,source,url,verified,note\n"
        "fake:oracle,flores200-devtest,ara-eng,chrf,99.0,,,a paper,,yes,\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(summ.translate, "load_translator", load_translator)
        result = run_experiment(config)
    assert result.path == root / "results" / "oracle"
    assert result.ok == ("weak", "weak_variant", "oracle") and list(result.failed) == ["missing"]
    assert list(result.failed_summaries) == ["broken"] and result.exit_code == 5
    return result.path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- helpers


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def md_cells(md: str, first: str) -> list[str]:
    """The cells of the Markdown table row whose first cell is ``first``."""
    line = next(ln for ln in md.splitlines() if re.match(rf"^\| {re.escape(first)} +\|", ln))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def expected_cells(run_dir: Path) -> dict[tuple[str, str], str]:
    """The corpus table's cells computed here from the stored CSVs, not by the report:
    score, ``± ci`` of the bootstrap test, ``†`` where p < 0.05 and the delta is not zero."""
    tests = {(r["system"], r["metric"], r["method"]): r
             for r in read_csv(run_dir / "significance.csv")}
    cells = {}
    for r in read_csv(run_dir / "scores.csv"):
        text = f"{float(r['score']):.1f}"
        bs = tests.get((r["system"], r["metric"], "bs"))
        if bs and bs["ci"]:
            text += f" ± {float(bs['ci']):.1f}"
        if bs and bs["p_value"] and float(bs["p_value"]) < 0.05 and float(bs["delta"]) != 0:
            text += " †"
        cells[(r["system"], r["metric"])] = text
    return cells


SYSTEMS = {"weak": "weak (baseline)", "weak_variant": "weak_variant", "oracle": "oracle"}
METRICS = ("bleu", "chrf", "ter")


# --------------------------------------------------------------------------- tests


def test_report_files_are_byte_identical_when_rebuilt(run_dir, tmp_path):
    first = snapshot(run_dir / "report")
    assert set(first) == {"tables.md", "tables.tex", "tables.csv", "ntrex128.documents.png",
                          "ntrex128.documents.svg", "ntrex128.length.png", "ntrex128.length.svg"}
    files = build_report(run_dir, output=tmp_path / "again")
    assert [p.name for p in files] == sorted(first)
    assert snapshot(tmp_path / "again") == first
    build_report(run_dir)
    assert snapshot(run_dir / "report") == first
    assert b"Date" not in first["ntrex128.documents.svg"] and b"Software" not in first["ntrex128.documents.png"]


def test_report_needs_nothing_but_the_results(run_dir, tmp_path, monkeypatch):
    """Moved, without its cache, with models and metrics unavailable: the same report."""
    import summ.metrics
    import summ.translate

    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    shutil.rmtree(moved / "report")
    for p in moved.glob("cache.sqlite*"):
        p.unlink()

    def forbidden(*args, **kwargs):
        raise AssertionError("the report must not load models or compute scores")

    for name in ("score", "compare", "rouge"):
        monkeypatch.setattr(summ.metrics, name, forbidden)
    monkeypatch.setattr(summ.translate, "load_translator", forbidden)
    build_report(moved)
    assert snapshot(moved / "report") == snapshot(run_dir / "report")


def test_rendered_numbers_are_the_stored_numbers(run_dir):
    """Every cell of the Markdown, LaTeX and CSV tables against the CSV files read here."""
    expected = expected_cells(run_dir)
    report = run_dir / "report"
    md = (report / "tables.md").read_text(encoding="utf-8")
    tex = (report / "tables.tex").read_text(encoding="utf-8")
    wide = {r["system"]: r for r in read_csv(report / "tables.csv")}
    tests = {(r["system"], r["metric"]): r for r in read_csv(run_dir / "significance.csv")}
    stored = {(r["system"], r["metric"]): float(r["score"])
              for r in read_csv(run_dir / "scores.csv")}
    for system, label in SYSTEMS.items():
        cells = [expected[(system, m)] for m in METRICS]
        assert md_cells(md, label)[3:] == cells
        latex = [c.replace("±", "$\\pm$").replace("†", "$^\\dagger$") for c in cells]
        row = f"{label.replace('_', chr(92) + '_')} & fake:{system.split('_')[-1]} & "
        assert row + " & ".join(latex) + " \\\\" in tex
        for m in METRICS:
            test = tests[(system, m)]
            assert wide[system][m] == f"{stored[(system, m)]:.4f}"
            assert wide[system][f"{m}_ci"] == f"{float(test['ci']):.4f}"
            p = test["p_value"] and f"{float(test['p_value']):.4f}"
            assert wide[system][f"{m}_p"] == p
    # The marks say what the stand-ins are: only the oracle is significantly different.
    assert all(MARK in expected[("oracle", m)] for m in METRICS)
    assert not any(MARK in expected[(s, m)] for s in ("weak", "weak_variant") for m in METRICS)


def test_summary_cells_are_the_stored_numbers(run_dir):
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    section = md[md.index("## Summaries"):md.index("## Published")]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| lead2"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[1]] = cells[3:]
    stored = read_csv(run_dir / "summary_scores.csv")
    metrics = list(dict.fromkeys(r["metric"] for r in stored))
    assert metrics == ["rouge1", "rouge2", "rougeLsum", "chrf"]
    for system in ("weak", "weak_variant", "oracle"):
        values = {r["metric"]: float(r["score"]) for r in stored if r["system"] == system}
        assert rows[system] == [f"{values[m]:.1f}" for m in metrics]
    assert rows["oracle"] == ["100.0"] * 4 and rows["weak"][0] != "100.0"


def test_significance_marks_only_the_clearly_better_system(run_dir):
    scores = corpus_scores(load_results(run_dir), "ntrex128")
    marked = scores.groupby("system")["marked"].agg(list).to_dict()
    assert list(dict.fromkeys(scores["metric"])) == ["bleu", "chrf", "ter"]
    assert marked == {"weak": [False] * 3, "weak_variant": [False] * 3, "oracle": [True] * 3}
    oracle = scores[scores["system"] == "oracle"].set_index("metric")
    assert oracle.loc["chrf", "score"] == pytest.approx(100.0) and oracle.loc["chrf", "ci"] >= 0
    assert oracle.loc["ter", "score"] == pytest.approx(0.0)  # TER: lower is better
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    assert "| weak (baseline) " in md and "TER↓" in md
    assert "paired bootstrap resampling, 300 samples, seed 12345; exact ties unmarked" in md


def test_exact_ties_are_not_marked_even_when_sacrebleu_says_p_small():
    """sacrebleu gives identical outputs p = 1/(n+1) (multeval's rule); the table shows no mark."""
    import pandas as pd

    tests = pd.DataFrame({"p_value": [1 / 1001, 0.001, 0.2, None], "delta": [0.0, 0.4, 3.0, 1.0]})
    assert significance_marks(tests).tolist() == [False, True, False, False]


def test_failed_systems_are_rows_with_their_error(run_dir):
    report = run_dir / "report"
    md = (report / "tables.md").read_text(encoding="utf-8")
    assert md_cells(md, "missing")[:4] == ["missing", "summ-test/no-such-model", "hf", "failed"]
    assert "- missing failed: cannot load model 'summ-test/no-such-model'" in md
    tex = (report / "tables.tex").read_text(encoding="utf-8")
    assert "missing & summ-test/no-such-model & failed &  &  \\\\" in tex
    caption = tex.split("\\caption{")[1]
    assert "missing failed: cannot load model 'summ-test/no-such-model'" in caption
    rows = read_csv(report / "tables.csv")
    status = {r["system"]: (r["status"], r["error"]) for r in rows}
    assert status["missing"][0] == "failed" and "no-such-model" in status["missing"][1]
    assert status["oracle"] == ("ok", "") and float(next(r for r in rows if r["system"] == "oracle")["chrf"]) == pytest.approx(100)


def test_latex_is_booktabs_with_everything_escaped(run_dir, tmp_path):
    full = (run_dir / "report" / "tables.tex").read_text(encoding="utf-8")
    tables = [t for t in full.split("\\end{table}") if "\\begin{table}" in t]
    assert len(tables) == 2  # the translation scores, then the summary scores
    for t in tables:
        for rule in ("\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}", "\\caption{", "\\label{"):
            assert t.count(rule) == 1, rule
    tex = tables[0]
    assert "\\begin{tabular}{llrrr}" in tex
    assert "weak\\_variant" in tex and "weak_variant" not in tex.replace("weak\\_variant", "")
    assert "TER$\\downarrow$" in tex and "$\\pm$" in tex and "$^\\dagger$" in tex and "95\\%" in tex
    assert tex.count("{") == tex.count("}")
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert len(body) == 4
    for line in body:
        assert line.endswith("\\\\") and line.count(" & ") == 4  # system, model and three metrics
    # LaTeX's special characters in stored text (here a failed system's error) are escaped.
    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    manifest = json.loads((moved / "manifest.json").read_text(encoding="utf-8"))
    manifest["systems"]["missing"]["error"] = "a_b & 50% #1 $x$ {y}"
    (moved / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    build_report(moved)
    caption = (moved / "report" / "tables.tex").read_text(encoding="utf-8").split("\\caption{")[1]
    assert "missing failed: a\\_b \\& 50\\% \\#1 \\$x\\$ \\{y\\}" in caption


def test_published_scores_only_beside_the_same_test_set(run_dir, tmp_path):
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    assert "**ntrex128** (test set `ntrex128`): no published score for this test set." in md
    assert "other test sets (flores200-devtest)" in md and "99.0" not in md
    # The same model with a published score on this very test set is set beside this run's.
    other = tmp_path / "published.csv"
    other.write_text("model,test_set,metric,score,source,verified\nfake:oracle,ntrex128,chrf,98.5,a paper,no\n",
                     encoding="utf-8")
    build_report(run_dir, output=tmp_path / "r", published=other)
    md = (tmp_path / "r" / "tables.md").read_text(encoding="utf-8")
    published = md[md.index("## Published"):]
    assert md_cells(published, "oracle")[:4] == ["oracle", "chrf", "98.5 (unverified)", "100.0"]
    # A published file that cannot be read is one clear error, and nothing is written.
    cp1256 = tmp_path / "cp1256.csv"
    cp1256.write_bytes("model,test_set\nنموذج,x\n".encode("cp1256"))
    for bad, message in ((tmp_path / "missing.csv", "cannot read"), (cp1256, "not UTF-8")):
        with pytest.raises(InputError, match=message):
            build_report(run_dir, output=tmp_path / "never", published=bad)
        assert not (tmp_path / "never").exists()


def test_shipped_published_anchors():
    rows = read_published(Path(__file__).resolve().parents[1] / "eval" / "published.csv")
    got = {(r["model"], r["test_set"], r["metric"]): float(r["score"]) for r in rows}
    assert got[("Helsinki-NLP/opus-mt-ar-en", "flores101-devtest", "bleu")] == 33.9
    assert got[("Helsinki-NLP/opus-mt-ar-en", "flores101-devtest", "chrf")] == 61.0
    assert got[("Helsinki-NLP/opus-mt-ar-en", "tatoeba-opus-2019-12-18", "bleu")] == 49.4
    assert got[("Helsinki-NLP/opus-mt-tc-big-ar-en", "flores200-devtest", "bleu")] == 42.8
    assert got[("Helsinki-NLP/opus-mt-tc-big-ar-en", "flores200-devtest", "chrf")] == 67.2
    assert got[("facebook/nllb-200-distilled-600M", "flores200-devtest", "spbleu-flores200")] == 39.3
    assert got[("facebook/nllb-200-distilled-600M", "flores200-devtest", "chrf++")] == 60.9
    assert all(r["source"] and r["verified"] in ("yes", "no") for r in rows)
    assert not any(r["test_set"] == "ntrex128" for r in rows)


def test_line_scores_join_lengths_flags_and_sentence_scores(run_dir, data_dir):
    corpus = load_ntrex128(data_dir).select_documents(DOCS)
    lines = line_scores(load_results(run_dir), "ntrex128")
    assert list(dict.fromkeys(lines["system"])) == ["weak", "weak_variant", "oracle"]
    oracle = lines[lines["system"] == "oracle"]
    assert oracle["line"].tolist() == list(range(1, len(corpus.src) + 1))
    # Words and documents from the data itself, not from the results folder.
    assert oracle["words"].tolist() == [len(s.split()) for s in corpus.src]
    assert oracle["document"].tolist() == list(corpus.doc_ids)
    edges = [(1, 10), (11, 20), (21, 30), (31, 40), (41, 10**6)]
    labels = ["1–10", "11–20", "21–30", "31–40", ">40"]
    assert oracle["bucket"].cat.categories.tolist() == labels and oracle["bucket"].cat.ordered
    assert [str(b) for b in oracle["bucket"]] == \
        [next(lab for (lo, hi), lab in zip(edges, labels) if lo <= max(w, 1) <= hi)
         for w in oracle["words"]]
    assert oracle["chrf"].tolist() == pytest.approx([100.0] * len(oracle))
    assert all(f == [] for f in oracle["flags"])
    sentence = {(r["system"], int(r["item"])): float(r["score"])
                for r in read_csv(run_dir / "scores.sentence.csv") if r["metric"] == "bleu"}
    weak = lines[lines["system"] == "weak"]
    assert weak["bleu"].tolist() == [sentence[("weak", i - 1)] for i in weak["line"]]
    svg = (run_dir / "report" / "ntrex128.documents.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg


def test_markdown_tables_align(run_dir):
    md = corpus_markdown(load_results(run_dir))
    header, rule = md.splitlines()[2:4]
    assert header.count("|") == rule.count("|") == 7
    assert rule.startswith("|:---") and rule.endswith("---:|")  # text left, numbers right


def test_missing_or_unfinished_results_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        build_report(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "running"}), encoding="utf-8")
    with pytest.raises(InputError, match="did not finish"):
        build_report(tmp_path)


def test_summary_table_and_failed_strategy(run_dir):
    table, failures, unscored = summary_table(load_results(run_dir), "ntrex128")
    assert list(table.columns) == ["strategy", "system", "model", "rouge1", "rouge2", "rougeLsum",
                                   "chrf"]
    rows = table.set_index(["strategy", "system"])
    # Lead-2 of the oracle's translation is lead-2 of the reference translation.
    assert rows.loc[("lead2", "oracle")].tolist() == ["–", "100.0", "100.0", "100.0", "100.0"]
    assert rows.loc[("lead2", "weak"), "rouge1"] != "100.0"
    assert rows.loc[("broken", "–"), "rouge1"] == "failed"
    (failure,) = failures
    assert failure.startswith("broken failed: ") and "no-such-summariser" in failure
    assert unscored == []
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    assert md_cells(md, "broken")[:4] == ["broken", "–", "summ-test/no-such-summariser",
                                          "failed"]
    assert "- broken failed: cannot load model" in md
    assert "**summary strategy broken failed**" in md
    tex = (run_dir / "report" / "tables.tex").read_text(encoding="utf-8")
    assert "lead2 & oracle & 100.0 & 100.0 & 100.0 & 100.0 \\\\" in tex and "R-Lsum" in tex


def test_console_text_prints_the_translation_and_the_summary_tables(run_dir):
    from summ.report import console_text

    text = console_text(run_dir)
    parts = ("### ntrex128: 22 lines", "## Summaries", "FAILED missing")
    order = [text.index(part) for part in parts]
    assert order == sorted(order)
    expected = expected_cells(run_dir)
    assert md_cells(text, "oracle")[3:] == [expected[("oracle", m)] for m in METRICS]
    assert "FAILED summary strategy broken: " in text


def test_corpus_table_is_a_frame_of_the_cells(run_dir):
    table = corpus_table(load_results(run_dir), "ntrex128")
    assert list(table.columns) == ["system", "model", "engine", "BLEU", "chrF", "TER↓"]
    assert table["system"].tolist() == [*SYSTEMS.values(), "missing"]
    expected = expected_cells(run_dir)
    assert table.iloc[2, 3:].tolist() == [expected[("oracle", m)] for m in METRICS]


@pytest.mark.parametrize("method", ["bs", "ar"])
def test_evaluation_note_names_the_test_and_claims_a_ci_only_for_bootstrap(tmp_path, method):
    from summ.metrics import evaluate_files
    from summ.report import render_evaluation

    refs = [f"the {w} sat on the mat near the door number {i}" for i, w in enumerate(
        ["cat", "dog", "bird", "fox", "cow", "pig", "hen", "owl", "rat", "bee"])]
    (tmp_path / "ref.en").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    (tmp_path / "good.en").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    (tmp_path / "weak.en").write_text("".join(" ".join(r.split()[:3]) + "\n" for r in refs), encoding="utf-8")
    ev = evaluate_files([tmp_path / "weak.en", tmp_path / "good.en"], [tmp_path / "ref.en"], metrics=["chrf"],
                        baseline="weak", method=method, n_samples=50, seed=7)
    assert {c.method for c in ev.comparisons} == {method}
    for fmt in ("table", "latex"):
        text = render_evaluation(ev, fmt)
        (note,) = [line for line in text.splitlines() if "p < " in line]
        assert "against weak (" in note and "50 samples, seed 7; exact ties unmarked" in note
        pm = "$\\pm$" if fmt == "latex" else "±"
        if method == "ar":
            assert "approximate randomisation" in note and "(ar," not in note
            assert pm not in note and "confidence interval" not in note and "CI" not in note
            assert pm not in text  # no cell claims a CI either
        else:
            assert "paired bootstrap resampling" in note and "(bs," not in note
            assert f"{pm} is the half-width of the bootstrap 95" in note
            assert pm in text.replace(note, "")


def test_evaluation_csv_and_json_are_the_same_frame(tmp_path):
    """Both carry every score with its signature and its test (p-value, delta, CI)."""
    from summ.metrics import evaluate_files
    from summ.report import render_evaluation

    refs = [f"a {w} stood by the old stone wall in town {i}" for i, w in enumerate("abcdefghij")]
    (tmp_path / "ref.en").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    weak = "".join(" ".join(r.split()[:4]) + "\n" for r in refs)
    (tmp_path / "a.en").write_text(weak, encoding="utf-8")
    (tmp_path / "b.en").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    ev = evaluate_files([tmp_path / "a.en", tmp_path / "b.en"], [tmp_path / "ref.en"],
                        metrics=["bleu", "chrf"], baseline="a", n_samples=30, seed=3)
    records = json.loads(render_evaluation(ev, "json"))["scores"]
    rows = read_csv_text(render_evaluation(ev, "csv"))
    assert [list(r) for r in rows] == [list(r) for r in records]
    by_key = {(c.system, c.metric): c for c in ev.comparisons}
    for row, record in zip(rows, records):
        c = by_key[(row["system"], row["metric"])]
        assert float(row["score"]) == record["score"] == c.score
        assert row["signature"] == record["signature"] and "nrefs:1" in row["signature"]
        expected = ("", None) if c.p_value is None else (repr(c.p_value), c.p_value)
        assert (row["p_value"], record["p_value"]) == expected
        assert float(row["ci"]) == record["ci"] == c.ci and float(row["delta"]) == c.delta


def read_csv_text(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_importing_report_imports_neither_matplotlib_nor_pandas():
    import subprocess
    import sys

    code = ("import sys, summ.report, summ.results, summ.display; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
