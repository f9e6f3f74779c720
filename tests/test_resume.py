"""`summ run` interrupted where it hurts: killed in the middle of a dataset, and a system that
fails after its first dataset. Both on the input-sensitive tiny models, so that a line served
to the wrong place shows in the files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from summ.data import read_lines
from summ.experiment import PARTIAL_FAILURE_EXIT_CODE, run_experiment

DOCUMENTS = 30  # NTREX-128 documents: 300+ lines, several cache commits before the end

CONFIG = """
name = "resume"
baseline = "marian"
metrics = ["bleu", "chrf", "ter"]
levels = ["corpus", "document", "sentence"]

[defaults]
engine = "hf"
device = "cpu"

[defaults.decode]
beam_size = 1

[defaults.batch]
max_batch_size = 16   # many batches ...
commit_every = 8      # ... each committed on its own

[[systems]]
name = "marian"
model = "tiny:marian"

[[datasets]]
name = "ntrex128"
type = "ntrex128"
documents = {documents}

[[datasets]]
name = "seed"
type = "articles"
path = "{articles}"
"""

# What a resumed run may change in manifest.json, and nothing else: when it ran, how long it
# took, and the counters of work done in this run (the cache serves what the killed run
# finished, so hits, model calls, generated tokens and speeds differ; "line" is their text).
TIMES = ("started", "finished", "wall_s")
SYSTEM_TIMES = ("load_s",)
RUN_COUNTERS = (
    "cache_hits",
    "translated",
    "output_tokens",
    "seconds",
    "engine_seconds",
    "segments_per_s",
    "tokens_per_s",
)


def _comparable(manifest: dict) -> dict:
    m = json.loads(json.dumps(manifest))
    for key in TIMES:
        m.pop(key)
    for system in m["systems"].values():
        for key in SYSTEM_TIMES:
            system.pop(key)
        for ds in system["datasets"].values():
            ds.pop("line")
            for key in RUN_COUNTERS:
                ds["summary"].pop(key)
    return m


def _files(folder: Path) -> dict[str, bytes]:
    skip = {"manifest.json", "cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def _cache_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or its table not yet
        return 0


def _summ_run(config: Path, out: Path, env: dict) -> subprocess.Popen:
    argv = ["run", str(config), "--output", str(out), "--no-report", "--no-progress"]
    return subprocess.Popen([sys.executable, "-m", "summ", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture()
def run_env(tiny_models) -> dict:
    return {
        **os.environ,
        "SUMM_TINY_MODELS": str(tiny_models["marian"].parent),
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture()
def config(tmp_path) -> Path:
    from .conftest import SEED_ARTICLE

    path = tmp_path / "resume.toml"
    path.write_text(
        CONFIG.format(documents=DOCUMENTS, articles=SEED_ARTICLE.parent), encoding="utf-8"
    )
    return path


def test_summ_run_killed_mid_dataset_resumes_to_identical_results(config, run_env, tmp_path):
    out = tmp_path / "results"

    # An uninterrupted run, kept aside; then the same folder is killed and resumed.
    fresh = _summ_run(config, out, run_env)
    _, err = fresh.communicate(timeout=600)
    assert fresh.returncode == 0, err
    expected_files = _files(out)
    expected = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    fresh_rows = _cache_rows(out / "cache.sqlite")
    shutil.rmtree(out)

    # The cache also holds rows of another setting (beam 2) for the first documents' lines:
    # the resumed run must not take them.
    beam2 = config.with_name("beam2.toml")
    beam2.write_text(
        config.read_text(encoding="utf-8")
        .replace("beam_size = 1", "beam_size = 2")
        .replace(f"documents = {DOCUMENTS}", "documents = 3"),
        encoding="utf-8",
    )
    other = _summ_run(beam2, out, run_env)
    _, err = other.communicate(timeout=600)
    assert other.returncode == 0, err
    before = _cache_rows(out / "cache.sqlite")
    assert before > 20

    killed = _summ_run(config, out, run_env)
    cache = out / "cache.sqlite"
    deadline = time.monotonic() + 300
    # Wait for the first committed rows: past the start, well before the dataset's end.
    while _cache_rows(cache) == before and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done = _cache_rows(cache) - before
    lines = expected["datasets"]["ntrex128"]["lines"]
    assert 0 < done < lines / 2  # killed in the middle of the first dataset
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "running"
    assert not (out / "outputs" / "ntrex128" / "marian.txt").exists()

    resumed = _summ_run(config, out, run_env)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err

    # Every file byte for byte: outputs, segment records, scores, significance, config copy.
    got_files = _files(out)
    assert sorted(got_files) == sorted(expected_files)
    assert "outputs/ntrex128/marian.txt" in got_files and "scores.sentence.csv" in got_files
    assert [k for k in expected_files if got_files[k] != expected_files[k]] == []
    got = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert _comparable(got) == _comparable(expected)

    # Each piece translated once: what the killed run committed came from the cache.
    first, again = expected["systems"]["marian"]["datasets"], got["systems"]["marian"]["datasets"]
    assert again["ntrex128"]["summary"]["cache_hits"] == done
    assert (
        again["ntrex128"]["summary"]["translated"] + done
        == first["ntrex128"]["summary"]["translated"]
    )
    assert again["seed"]["summary"]["translated"] == first["seed"]["summary"]["translated"]
    assert _cache_rows(cache) - before == fresh_rows

    # The comparison has teeth: the outputs differ from line to line.
    hyps = read_lines(out / "outputs" / "ntrex128" / "marian.txt")
    assert len(hyps) == lines and len(set(hyps)) > 0.9 * len(hyps)


def test_a_system_that_fails_on_its_second_dataset_keeps_its_first(
    config, run_env, tmp_path, monkeypatch
):
    """The failure is injected (a real one, e.g. running out of memory on long articles, cannot
    be caused at will); everything around it is the real run."""
    from summ.translate import PipelineTranslator

    monkeypatch.setenv("SUMM_TINY_MODELS", run_env["SUMM_TINY_MODELS"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real = PipelineTranslator.translate_documents
    seen: list[int] = []

    def failing_on_articles(self, documents, **kwargs):
        seen.append(len(documents))
        if len(seen) == 2:  # the second dataset of the system
            raise RuntimeError("out of memory (injected)")
        return real(self, documents, **kwargs)

    monkeypatch.setattr(PipelineTranslator, "translate_documents", failing_on_articles)
    result = run_experiment(config, output=tmp_path / "partial", documents=2, report=True)
    assert len(seen) == 2
    assert result.failed == {"marian": "RuntimeError: out of memory (injected)"}
    assert result.ok == () and result.exit_code == PARTIAL_FAILURE_EXIT_CODE
    m = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    system = m["systems"]["marian"]
    assert system["status"] == "failed" and system["failed_at"] == "seed"
    assert system["datasets"]["seed"] == {
        "status": "failed",
        "error": "RuntimeError: out of memory (injected)",
    }
    assert system["datasets"]["ntrex128"]["status"] == "ok"
    assert m["failed"] == result.failed

    # The first dataset's results are all there, and are those of a run without the failure.
    monkeypatch.setattr(PipelineTranslator, "translate_documents", real)
    whole = run_experiment(config, output=tmp_path / "whole", documents=2, report=False)
    assert whole.ok == ("marian",)
    for name in ("outputs/ntrex128/marian.txt", "outputs/ntrex128/marian.segments.jsonl"):
        assert (result.path / name).read_bytes() == (whole.path / name).read_bytes(), name
    assert not (result.path / "outputs" / "seed" / "marian").exists()
    assert not (result.path / "outputs" / "seed" / "marian.segments.jsonl").exists()
    scores = (result.path / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert scores[1:] == (whole.path / "scores.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(scores) == 1 + 3 and all(row.startswith("ntrex128,marian,") for row in scores[1:])
    table = (result.path / "report" / "tables.md").read_text(encoding="utf-8")
    assert "out of memory (injected)" in table
