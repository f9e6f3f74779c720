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

from summ.errors import InputError
from summ.data import load_ntrex128
from summ.report import (
    MARK,
    build_report,
    corpus_tables,
    latex_escape,
    load_results,
    render_latex,
    render_markdown,
)

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


# --------------------------------------------------------------------------- tests


def test_report_files_are_byte_identical_when_rebuilt(run_dir, tmp_path):
    first = snapshot(run_dir / "report")
    assert set(first) == {"tables.md", "tables.tex", "tables.csv", "ntrex128.documents.png", "ntrex128.documents.svg",
                          "ntrex128.length.png", "ntrex128.length.svg"}
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


def test_significance_marks_only_the_clearly_better_system(run_dir):
    (table,) = corpus_tables(load_results(run_dir))
    rows = {r.system: r for r in table.rows}
    assert table.columns == ("bleu", "chrf", "ter")
    assert rows["weak"].baseline and not any(c.significant for c in rows["weak"].cells)
    assert all(c.significant for c in rows["oracle"].cells)
    assert not any(c.significant for c in rows["weak_variant"].cells)
    oracle_chrf = rows["oracle"].cells[1]
    assert oracle_chrf.value == pytest.approx(100.0) and oracle_chrf.ci is not None
    assert rows["oracle"].cells[2].value == pytest.approx(0.0)  # TER: lower is better
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    oracle_line = next(line for line in md.splitlines() if line.startswith("| oracle |"))
    variant_line = next(line for line in md.splitlines() if line.startswith("| weak_variant |"))
    assert oracle_line.count(MARK) == 3 and MARK not in variant_line
    assert "| weak (baseline) |" in md and "TER↓" in md
    assert "paired bootstrap resampling, 300 samples, seed 12345; exact ties unmarked" in md


def test_exact_ties_are_not_marked_even_when_sacrebleu_says_p_small():
    """sacrebleu gives identical outputs p = 1/(n+1) (multeval's rule); the table shows no mark."""
    from summ.report import _marked

    assert _marked(1 / 1001, 0.0) is False
    assert _marked(0.001, 0.4) is True and _marked(0.2, 3.0) is False and _marked(None, 1.0) is False


def test_failed_systems_are_rows_with_their_error(run_dir):
    report = run_dir / "report"
    md = (report / "tables.md").read_text(encoding="utf-8")
    assert re.search(r"^\| missing \| summ-test/no-such-model \| hf \| failed: cannot load model 'summ-test/no-such-model'", md, re.M)
    tex = (report / "tables.tex").read_text(encoding="utf-8")
    assert "missing & summ-test/no-such-model & \\multicolumn{3}{l}{\\emph{failed: cannot load model" in tex
    rows = list(csv.DictReader(io.StringIO((report / "tables.csv").read_text(encoding="utf-8"))))
    status = {r["system"]: (r["status"], r["error"]) for r in rows}
    assert status["missing"][0] == "failed" and "no-such-model" in status["missing"][1]
    assert status["oracle"] == ("ok", "") and float(next(r for r in rows if r["system"] == "oracle")["chrf"]) == pytest.approx(100)


def test_latex_is_booktabs_with_everything_escaped(run_dir):
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
    for line in body:
        assert line.endswith("\\\\")
        if "multicolumn" not in line:
            assert line.count(" & ") == 4  # system, model and three metrics
    assert latex_escape("a_b & 50% #1 $x$ {y} ~^\\") == \
        "a\\_b \\& 50\\% \\#1 \\$x\\$ \\{y\\} \\textasciitilde{}\\textasciicircum{}\\textbackslash{}"


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
    assert "| oracle | chrf | 98.5 (unverified) | 100.0 |" in md
    # A published file that cannot be read is one clear error, and nothing is written.
    cp1256 = tmp_path / "cp1256.csv"
    cp1256.write_bytes("model,test_set\nنموذج,x\n".encode("cp1256"))
    for bad, message in ((tmp_path / "missing.csv", "cannot read"), (cp1256, "not UTF-8")):
        with pytest.raises(InputError, match=message):
            build_report(run_dir, output=tmp_path / "never", published=bad)
        assert not (tmp_path / "never").exists()


def test_shipped_published_anchors():
    from summ.experiment import read_published

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


def test_plots_use_document_and_sentence_scores(run_dir):
    from summ.report import length_buckets

    results = load_results(run_dir)
    buckets = length_buckets(results, "ntrex128")
    assert list(buckets) == ["weak", "weak_variant", "oracle"]
    n_lines = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["datasets"]["ntrex128"]["lines"]
    assert sum(n for n, _ in buckets["oracle"]) == n_lines
    assert all(v == pytest.approx(100.0) for n, v in buckets["oracle"] if n)
    svg = (run_dir / "report" / "ntrex128.documents.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg


def test_renderers_escape_and_align(run_dir):
    tables = corpus_tables(load_results(run_dir))
    md = render_markdown(tables)
    header, rule = md.splitlines()[2:4]
    assert header.count("|") == rule.count("|") == 7
    assert "\\usepackage{booktabs}" in render_latex(tables)


def test_missing_or_unfinished_results_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        build_report(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "running"}), encoding="utf-8")
    with pytest.raises(InputError, match="did not finish"):
        build_report(tmp_path)


def test_summary_table_and_failed_strategy(run_dir):
    from summ.report import summary_tables

    (table,) = summary_tables(load_results(run_dir))
    rows = {(r.strategy, r.system): r for r in table.rows}
    assert table.columns == ("rouge1", "rouge2", "rougeLsum", "chrf")
    # Lead-2 of the oracle's translation is lead-2 of the reference translation.
    assert all(c.value == pytest.approx(100.0) for c in rows[("lead2", "oracle")].cells)
    assert rows[("lead2", "weak")].cells[0].value < 100
    assert "no-such-summariser" in rows[("broken", "–")].error
    md = (run_dir / "report" / "tables.md").read_text(encoding="utf-8")
    assert "| lead2 | oracle | – | 100.0 | 100.0 | 100.0 | 100.0 |" in md
    assert re.search(r"^\| broken \| – \| summ-test/no-such-summariser \| failed: ", md, re.M)
    assert "**summary strategy broken failed**" in md
    tex = (run_dir / "report" / "tables.tex").read_text(encoding="utf-8")
    assert "lead2 & oracle & 100.0 & 100.0 & 100.0 & 100.0 \\\\" in tex and "R-Lsum" in tex


@pytest.mark.parametrize("method", ["bs", "ar"])
def test_evaluation_note_names_the_test_and_claims_a_ci_only_for_bootstrap(tmp_path, method):
    from summ.experiment import evaluate_files
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


def test_importing_report_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, summ.report; print(any(m.split('.')[0] == 'matplotlib' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
