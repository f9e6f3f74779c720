"""summ.results: the results folder read back as typed, tidy DataFrames; damage is one clear error.

The stand-in run of tests/test_report.py (a weak baseline, a variant of it, an oracle, a failed
system, a lead-2 summary strategy and a failed one) is read here and compared with the files
read independently (csv and json modules); a small hand-written folder is damaged on purpose.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from summ.errors import InputError
from summ.results import (
    GENERATED,
    MANIFEST,
    SCORE_COLUMNS,
    SEGMENT_COLUMNS,
    SIGNIFICANCE_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_SCORE_COLUMNS,
    TEST_COLUMNS,
    load_results,
    score_row,
    write_bytes,
    write_csv,
    write_json,
    write_jsonl,
    write_scores,
    write_significance,
    write_text,
)

from .test_report import run_dir  # noqa: F401 - the module-scoped stand-in run

SRC = Path(__file__).resolve().parents[1] / "src" / "summ"


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- the frames


def test_scores_are_every_stored_row_with_its_test_joined(run_dir):  # noqa: F811
    scores = load_results(run_dir).scores
    assert tuple(scores.columns) == SCORE_COLUMNS + TEST_COLUMNS
    stored = [r for name in ("scores.csv", "scores.document.csv", "scores.sentence.csv")
              for r in read_csv(run_dir / name)]
    assert len(scores) == len(stored) > 100
    assert scores[["system", "metric", "level"]].values.tolist() == \
        [[r["system"], r["metric"], r["level"]] for r in stored]
    # Exact: every float survives the repr round trip.
    assert scores["score"].tolist() == [float(r["score"]) for r in stored]
    assert scores["n"].dtype == "int64"
    assert scores["n"].tolist() == [int(r["n"]) for r in stored]
    corpus, below = scores[scores["level"] == "corpus"], scores[scores["level"] != "corpus"]
    assert corpus["item"].isna().all() and below["item"].notna().all()
    documents = scores.loc[scores["level"] == "document", "item"]
    assert set(documents) == {"bbc.381790", "rt.com.91337"}
    assert below[list(TEST_COLUMNS)].isna().all().all()  # the paired tests are corpus-level
    tests = {(r["system"], r["metric"]): r for r in read_csv(run_dir / "significance.csv")}
    for row in corpus.itertuples():
        test = tests[(row.system, row.metric)]
        assert row.ci == float(test["ci"]) and row.delta == float(test["delta"])
        assert row.method == "bs"
        if test["p_value"]:
            assert row.p_value == float(test["p_value"])
        else:
            assert math.isnan(row.p_value)
        assert bool(row.significant) == (test["significant"] == "true")
    assert corpus.set_index(["system", "metric"]).loc[("oracle", "chrf"), "significant"]


def test_significance_segments_and_summaries_are_typed(run_dir):  # noqa: F811
    results = load_results(run_dir)
    sig = results.significance
    assert tuple(sig.columns) == SIGNIFICANCE_COLUMNS
    assert len(sig) == len(read_csv(run_dir / "significance.csv"))
    assert sig["significant"].dtype == bool and sig["n_samples"].tolist() == [300] * len(sig)
    assert sig["seed"].dtype == "Int64" and sig["p_value"].dtype == "float64"
    segments = results.segments
    assert tuple(segments.columns) == SEGMENT_COLUMNS
    files = sorted((run_dir / "outputs" / "ntrex128").glob("*.segments.jsonl"))
    objects = {p.name.split(".")[0]: read_jsonl(p) for p in files}
    assert len(segments) == sum(map(len, objects.values())) == 3 * 22
    oracle = segments[segments["system"] == "oracle"]
    assert oracle["line"].tolist() == [o["line"] for o in objects["oracle"]]
    assert oracle["document"].tolist() == [o["doc_id"] for o in objects["oracle"]]
    assert oracle["translation"].tolist() == [o["translation"] for o in objects["oracle"]]
    assert all(isinstance(f, list) for f in segments["flags"])
    assert segments["hit_cap"].dtype == bool
    summaries = results.summaries
    assert tuple(summaries.columns[:len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    paths = sorted((run_dir / "summaries").rglob("*.jsonl"))
    # Two documents, summarised for three systems and the reference.
    assert len(summaries) == sum(len(read_jsonl(p)) for p in paths) == 4 * 2
    ref = summaries[summaries["system"] == "_reference"]
    stored = read_jsonl(run_dir / "summaries/ntrex128/lead2/_reference.jsonl")
    assert ref["text"].tolist() == [o["text"] for o in stored]
    stored = [*read_csv(run_dir / "summary_scores.csv"),
              *read_csv(run_dir / "summary_scores.document.csv")]
    assert tuple(results.summary_scores.columns) == SUMMARY_SCORE_COLUMNS
    assert results.summary_scores["score"].tolist() == [float(r["score"]) for r in stored]


SEGMENTS = "outputs/d/s.segments.jsonl"


def minimal_folder(root: Path, summaries: bool = False) -> Path:
    """A finished results folder written by hand: one system, one line, one score."""
    write_jsonl(root / SEGMENTS, [{"line": 1, "doc_id": "doc", "segment": 0, "paragraph": 0,
                            "source": "نص", "translation": "text", "source_tokens": 2,
                            "pieces": [{"source": "نص", "translation": "text", "source_tokens": 2,
                                        "output_tokens": 1, "hit_cap": False}],
                            "hit_cap": False, "flags": []}])
    write_json(root / MANIFEST, {
        "status": "finished", "metrics": ["chrf"], "system_order": ["s"],
        "datasets": {"d": {"kind": "parallel", "lines": 1}},
        "systems": {"s": {"datasets": {"d": {"outputs": {"segments": SEGMENTS}}}}},
        "summaries": {}})
    write_scores(root, "corpus", [{"dataset": "d", "system": "s", "metric": "chrf",
                                   "level": "corpus", "item": None, "score": 1 / 3, "n": 1,
                                   "signature": "sig"}])
    write_significance(root, [])
    return root


def test_a_run_without_summaries_or_tests_has_empty_typed_frames(tmp_path):
    results = load_results(minimal_folder(tmp_path))
    assert results.scores["score"].tolist() == [1 / 3]
    assert results.scores["p_value"].isna().all()
    for frame, columns in ((results.summaries, SUMMARY_COLUMNS),
                           (results.summary_scores, SUMMARY_SCORE_COLUMNS),
                           (results.significance, SIGNIFICANCE_COLUMNS)):
        assert tuple(frame.columns) == columns and len(frame) == 0
    assert results.summary_scores["score"].dtype == "float64"
    assert results.summary_scores["n"].dtype == "int64"
    assert results.segments["line"].tolist() == [1]
    assert results.segments["document"].tolist() == ["doc"]


# --------------------------------------------------------------------------- damage


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _truncate(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8")[:-9], encoding="utf-8")


def _bad_boolean(root: Path) -> None:
    write_significance(root, [{
        "dataset": "d", "system": "s", "baseline": "s", "metric": "chrf", "method": "bs",
        "score": 1.0, "delta": 0.0, "mean": None, "ci": None, "p_value": None,
        "significant": "maybe", "n_samples": 9, "seed": None, "signature": "x"}])


# Damage -> (what does it, what the error says).
DAMAGE = {
    "truncated CSV": (lambda r: _truncate(r / "scores.csv"),
                      "scores.csv: ends in the middle of a line: the file is truncated"),
    "empty CSV": (lambda r: (r / "scores.csv").write_text("", encoding="utf-8"),
                  "scores.csv: empty"),
    "short row": (lambda r: _edit(r / "scores.csv", ",1,sig\n", ",1\n"),
                  "scores.csv:2: 7 fields where the header has 8"),
    "not a number": (lambda r: _edit(r / "scores.csv", ",0.333", ",abc0.333"),
                     "scores.csv:2: score is 'abc0.3333333333333333', not a float"),
    "missing column": (lambda r: _edit(r / "scores.csv", ",signature\n", ",sig\n"),
                       "scores.csv: missing column(s) signature"),
    "bad boolean": (_bad_boolean, "significance.csv:2: significant is 'maybe', not a bool"),
    "bad JSON manifest": (lambda r: (r / MANIFEST).write_text('{"status": "fin', encoding="utf-8"),
                          "manifest.json: not readable JSON"),
    "manifest not an object": (lambda r: (r / MANIFEST).write_text("[]", encoding="utf-8"),
                               "manifest.json: holds a JSON list, not an object"),
    "missing segment file": (lambda r: (r / SEGMENTS).unlink(),
                             "s.segments.jsonl: missing, but the manifest lists it"),
    "damaged segment line": (lambda r: _edit(r / SEGMENTS, '"flags": []}', '"flags": ['),
                             "s.segments.jsonl:1: not JSON"),
    "segment without flags": (lambda r: _edit(r / SEGMENTS, ', "flags": []', ""),
                              "s.segments.jsonl:1: no flags"),
    "segment pieces not a list": (lambda r: _edit(r / SEGMENTS, '"pieces": [{', '"pieces": "x", "y": [{'),
                                  "s.segments.jsonl:1: pieces is 'x', not a list"),
    "segment tokens not a number": (lambda r: _edit(r / SEGMENTS, '"source_tokens": 2, "pieces"',
                                                    '"source_tokens": "x", "pieces"'),
                                    "s.segments.jsonl:1: source_tokens is 'x', not a int"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_files_are_one_clear_error(tmp_path, damage):
    root = minimal_folder(tmp_path)
    load_results(root)  # intact, it loads
    harm, message = DAMAGE[damage]
    harm(root)
    with pytest.raises(InputError) as err:
        load_results(root)
    text = str(err.value)
    assert message in text and str(root) in text and "\n" not in text


# --------------------------------------------------------------------------- writing


def test_csv_bytes_are_fixed_formats(tmp_path):
    import numpy as np

    path = tmp_path / "x.csv"
    write_csv(path, ["a", "b", "c", "d", "e", "f"],
              [{"a": 0.1, "b": np.float32(0.1), "c": None, "d": True, "e": np.int64(3),
                "f": "x,y"}])
    # Hand-written: floats as Python's shortest exact repr (float32 widened), quoted commas.
    assert path.read_bytes() == b'a,b,c,d,e,f\n0.1,0.10000000149011612,,true,3,"x,y"\n'
    with pytest.raises(ValueError):  # a row with a column the file does not have
        write_csv(path, ["a"], [{"a": 1, "b": 2}])


def test_score_rows_round_trip_exactly(tmp_path):
    class Score:  # the attributes of a MetricScore
        metric, level, item, n, signature = "chrf", "sentence", "4", 1, "nrefs:1"
        score = 2 / 3 * 100

    root = minimal_folder(tmp_path)
    write_scores(root, "sentence", [score_row("d", "s", Score())])
    assert (root / "scores.sentence.csv").read_text(encoding="utf-8").splitlines()[1] == \
        "d,s,chrf,sentence,4,66.66666666666666,1,nrefs:1"
    row = load_results(root).scores.iloc[-1]
    assert (row["item"], row["score"], row["n"]) == ("4", 2 / 3 * 100, 1)


def test_writes_are_atomic(tmp_path, monkeypatch):
    import summ.results

    path = tmp_path / "deep" / "f.txt"
    write_text(path, "old")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]  # no temporary file left

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(summ.results.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bytes(path, b"new")
    assert path.read_text(encoding="utf-8") == "old"  # never half-written


# --------------------------------------------------------------------------- one definition


def _constants(module: Path) -> list[str]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


@pytest.mark.parametrize("module", ["experiment.py", "report.py", "cli.py"])
def test_only_results_knows_the_file_names(module):
    names = [n for n in (*GENERATED, MANIFEST, ".segments.jsonl") if "." in n]
    found = [(c, n) for c in _constants(SRC / module) for n in names if n in c]
    assert not found, f"{module} names results files itself: {found}"


# Modules each module must not import (function-level imports included): the data flows
# experiment -> results -> report, never back.
FORBIDDEN = {"results.py": {"summ.experiment", "summ.report", "summ.display"},
             "report.py": {"summ.experiment"}, "display.py": {"summ.experiment", "summ.report"},
             "experiment.py": set()}


@pytest.mark.parametrize("module", FORBIDDEN)
def test_no_cycle_and_no_private_names_across_modules(module):
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    imported = [(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("summ") for a in n.names]
    imported += [(a.name, "") for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names]
    assert not [name for _, name in imported if name.startswith("_")], imported
    assert not {mod for mod, _ in imported} & FORBIDDEN[module]


def test_importing_results_is_light():
    code = ("import sys, summ.results; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
