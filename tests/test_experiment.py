"""summ.experiment: the smoke config end to end on tiny models, validation, failures, resume.

One module-scoped smoke run (tiny models, the first two NTREX-128 documents and the seed
article) is shared by most tests; each test checks one promise of the results folder.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from summ.data import load_ntrex128, read_lines, sha256_file
from summ.errors import ConfigError, InputError
from summ.engines.base import DecodeConfig
from summ.config import load_config
from summ.experiment import PARTIAL_FAILURE_EXIT_CODE, run_experiment
from summ.metrics import evaluate_files
from summ.results import SCORE_COLUMNS, load_results

from .sacrebleu_cli import (
    CLI_NAMES,
    cli_all_metrics,
    cli_corpus,
    cli_sentences,
    fmt,
    parse_paired_latex,
    parse_signatures,
    run_sacrebleu,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "eval" / "configs"
SMOKE = CONFIGS / "smoke.toml"
DOCS = 2  # NTREX-128 documents in the smoke run: 22 lines, enough for every level


@pytest.fixture(scope="module")
def env(tiny_models, data_dir, tmp_path_factory):
    """Tiny models from the session fixture, CT2 conversions in a temp folder, hub offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUMM_TINY_MODELS", str(tiny_models["marian"].parent))
        mp.setenv("SUMM_CT2_CACHE", str(tmp_path_factory.mktemp("ct2")))
        mp.setenv("HF_HUB_OFFLINE", "1")  # a missing hub id fails at once instead of after retries
        yield


@pytest.fixture(scope="module")
def corpus(data_dir):
    return load_ntrex128(data_dir).select_documents(DOCS)


@pytest.fixture(scope="module")
def smoke(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "smoke"
    return run_experiment(SMOKE, output=out, documents=DOCS)


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def snapshot(folder: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.glob(pattern)) if p.is_file()}


# --------------------------------------------------------------------------- the smoke run


def test_smoke_run_writes_every_file(smoke):
    out = smoke.path
    systems = ["marian", "marian-ct2", "nllb", "m2m100", "madlad"]
    assert smoke.ok == tuple(systems) and smoke.failed == {} and smoke.exit_code == 0
    for name in ["manifest.json", "config.toml", "scores.csv", "scores.document.csv", "scores.sentence.csv",
                 "significance.csv", "cache.sqlite", "report/tables.md", "report/tables.tex", "report/tables.csv",
                 "report/ntrex128.documents.png", "report/ntrex128.documents.svg", "report/ntrex128.length.png",
                 "report/ntrex128.length.svg"]:
        assert (out / name).is_file(), name
    for system in systems:
        assert (out / "outputs" / "ntrex128" / f"{system}.txt").is_file()
        assert (out / "outputs" / "ntrex128" / f"{system}.segments.jsonl").is_file()
        assert (out / "outputs" / "seed" / system / "putin-assad-2023-03-15.ar.txt").is_file()
        assert (out / "outputs" / "seed" / f"{system}.segments.jsonl").is_file()
    assert (out / "config.toml").read_bytes() == SMOKE.read_bytes()
    for name in ["summary_scores.csv", "summary_scores.document.csv", "summaries/ntrex128/lead3/_reference.jsonl",
                 "summaries/ntrex128/crosssum/_source.jsonl", "summaries/seed/textrank3/marian-ct2.jsonl"]:
        assert (out / name).is_file(), name


def test_summary_strategies_are_a_dimension(smoke, corpus, tmp_path):
    """Monolingual strategies summarise each system's translation and the reference translation;
    stored summary scores are rouge-score's ROUGE (Porter stemming, rougeLsum on sentence lines)
    and sacrebleu's CLI chrF, recomputed from the stored summaries."""
    from rouge_score import rouge_scorer

    folder = smoke.path / "summaries" / "ntrex128"
    assert sorted(p.stem for p in (folder / "lead3").glob("*.jsonl")) == sorted(["_reference", *smoke.ok])
    assert sorted(p.stem for p in (folder / "bart").glob("*.jsonl")) == ["_reference", "marian", "nllb"]
    assert [p.stem for p in (folder / "crosssum").glob("*.jsonl")] == ["_source"]

    def load(path):
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]

    ref = load(folder / "lead3" / "_reference.jsonl")
    assert [r["id"] for r in ref] == list(dict.fromkeys(corpus.doc_ids))
    assert all(len(r["sentences"]) == 3 for r in ref)  # lead-3 of the English reference documents
    mt = load(folder / "lead3" / "marian.jsonl")
    hyps, refs = ["\n".join(r["sentences"]) for r in mt], ["\n".join(r["sentences"]) for r in ref]
    types = ["rouge1", "rouge2", "rougeLsum"]
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    pairs = [scorer.score(r, h) for h, r in zip(hyps, refs)]  # rouge-score takes the target first
    expected = {t: 100 * sum(p[t].fmeasure for p in pairs) / len(pairs) for t in types}
    hyp_file, ref_file = tmp_path / "summaries.hyp", tmp_path / "summaries.ref"
    hyp_file.write_text("".join(h.replace("\n", " ") + "\n" for h in hyps), encoding="utf-8")
    ref_file.write_text("".join(r.replace("\n", " ") + "\n" for r in refs), encoding="utf-8")
    chrf = cli_corpus([ref_file], hyp_file, "-m", "chrf")["chrF2"]
    rows = [r for r in read_csv(smoke.path / "summary_scores.csv") if r["summary"] == "lead3" and r["system"] == "marian"]
    assert [r["metric"] for r in rows] == [*types, "chrf"]
    for r in rows[:3]:
        assert float(r["score"]) == pytest.approx(expected[r["metric"]], abs=1e-9), r["metric"]
        assert "stem:porter" in r["signature"] and "lang:en" in r["signature"]
    assert fmt(float(rows[3]["score"])) == fmt(chrf["score"])
    assert rows[3]["signature"] == chrf["signature"]
    per_doc = read_csv(smoke.path / "summary_scores.document.csv")
    assert {r["item"] for r in per_doc} == set(corpus.doc_ids)
    assert not any(r["summary"] == "crosssum" for r in per_doc)  # source summaries have no reference here
    m = json.loads((smoke.path / "manifest.json").read_text(encoding="utf-8"))
    assert {k: v["status"] for k, v in m["summaries"].items()} == dict.fromkeys(["lead3", "textrank3", "bart", "crosssum"], "ok")
    assert m["summaries"]["bart"]["summary_revision"].startswith("local-")
    md = (smoke.path / "report" / "tables.md").read_text(encoding="utf-8")
    # to_markdown pads cells to their column's width.
    assert "## Summaries" in md and re.search(r"^\| lead3 +\| marian +\| – +\|", md, re.M)
    assert "crosssum: `summaries/ntrex128/crosssum/_source.jsonl`" in md


def test_outputs_are_line_aligned_and_segments_cover_every_source_segment(smoke, corpus):
    folder = smoke.path / "outputs" / "ntrex128"
    for system in smoke.ok:
        lines = read_lines(folder / f"{system}.txt")
        assert len(lines) == len(corpus.src) == 22
        records = [json.loads(x) for x in (folder / f"{system}.segments.jsonl").read_text(encoding="utf-8").splitlines()]
        assert {r["line"] for r in records} == set(range(1, len(corpus.src) + 1))
        for r in records:
            assert set(r) >= {"line", "doc_id", "segment", "source", "translation", "source_tokens", "pieces", "flags"}
            assert r["doc_id"] == corpus.doc_ids[r["line"] - 1]
            assert r["source"] in corpus.src[r["line"] - 1]
            assert r["translation"] in lines[r["line"] - 1]
            assert ("capped" in r["flags"]) == r["hit_cap"]
        # Short sources stop before the 24-token cap, long ones reach it: the flag is seen both
        # ways (not asked of the int8 CTranslate2 system: quantising a tiny model changes where
        # it stops, and test_ct2.py compares the engines in float32).
        if system != "marian-ct2":
            assert {r["hit_cap"] for r in records} == {True, False}, system
        # Each line its own output: identical lines would hide a line out of place.
        assert len(set(lines)) > 0.9 * len(lines), system


def test_articles_keep_their_paragraphs(smoke, seed_text):
    from summ.report import console_text

    from summ import segment as seg

    paragraphs = 1 + max(s.paragraph for s in seg.segment(seed_text))
    assert paragraphs > 5
    # marian's tiny outputs are never empty, so its paragraphs are all visible.
    text = (smoke.path / "outputs" / "seed" / "marian" / "putin-assad-2023-03-15.ar.txt").read_text(encoding="utf-8")
    assert len(text.rstrip("\n").split("\n\n")) == paragraphs
    records = [json.loads(x) for x in (smoke.path / "outputs" / "seed" / "marian.segments.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 1 + max(r["paragraph"] for r in records) == paragraphs
    printed = console_text(smoke.path)
    assert "=== seed / marian / putin-assad-2023-03-15.ar ===" in printed
    assert "| marian (baseline) |" in printed


def test_stored_scores_are_sacrebleus_on_the_written_files(smoke, corpus, tmp_path):
    """Every stored number is what sacrebleu's own command line gives on the output files."""
    ref = tmp_path / "ref.en"
    ref.write_text("".join(r + "\n" for r in corpus.refs[0]), encoding="utf-8")
    rows = read_csv(smoke.path / "scores.csv")
    assert list(rows[0]) == list(SCORE_COLUMNS)
    expected_rows = [(s, m) for s in smoke.ok for m in CLI_NAMES]
    assert [(r["system"], r["metric"]) for r in rows] == expected_rows
    for system in smoke.ok:
        hyp = smoke.path / "outputs" / "ntrex128" / f"{system}.txt"
        cli = cli_all_metrics([ref], hyp)
        for r in (r for r in rows if r["system"] == system):
            assert fmt(float(r["score"])) == fmt(cli[r["metric"]]["score"]), (system, r["metric"])
            assert r["signature"] == cli[r["metric"]]["signature"]
            where = ("ntrex128", "corpus", "", str(len(corpus.src)))
            assert (r["dataset"], r["level"], r["item"], r["n"]) == where

    # Sentence level: sacrebleu -sl, line by line.
    sentence = read_csv(smoke.path / "scores.sentence.csv")
    for system in smoke.ok:
        hyp = smoke.path / "outputs" / "ntrex128" / f"{system}.txt"
        for metric in ("bleu", "chrf"):
            ours = [r for r in sentence if r["system"] == system and r["metric"] == metric]
            assert [r["item"] for r in ours] == [str(i) for i in range(len(corpus.src))]
            got = [(r["signature"], fmt(float(r["score"]))) for r in ours]
            assert got == cli_sentences(ref, hyp, metric), (system, metric)

    # Document level: the CLI on each document's lines alone.
    document = read_csv(smoke.path / "scores.document.csv")
    hyps = read_lines(smoke.path / "outputs" / "ntrex128" / "marian.txt")
    docs = list(dict.fromkeys(corpus.doc_ids))
    assert len(docs) == DOCS and {r["item"] for r in document} == set(docs)
    for doc in docs:
        lines = [i for i, d in enumerate(corpus.doc_ids) if d == doc]
        doc_ref, doc_hyp = tmp_path / f"doc{len(lines)}.ref", tmp_path / f"doc{len(lines)}.hyp"
        doc_ref.write_text("".join(corpus.refs[0][i] + "\n" for i in lines), encoding="utf-8")
        doc_hyp.write_text("".join(hyps[i] + "\n" for i in lines), encoding="utf-8")
        cli = cli_all_metrics([doc_ref], doc_hyp)
        ours = {r["metric"]: r for r in document if r["system"] == "marian" and r["item"] == doc}
        assert {m: fmt(float(r["score"])) for m, r in ours.items()} == \
            {m: fmt(c["score"]) for m, c in cli.items()}
        assert all(r["n"] == str(len(lines)) for r in ours.values())


def test_significance_is_sacrebleus_paired_bootstrap(smoke, corpus, tmp_path):
    """significance.csv against `sacrebleu --paired-bs` with the config's seed and resamples."""
    ref = tmp_path / "ref.en"
    ref.write_text("".join(r + "\n" for r in corpus.refs[0]), encoding="utf-8")
    rows = read_csv(smoke.path / "significance.csv")
    # The baseline first, as the CLI wants it.
    hyps = [smoke.path / "outputs" / "ntrex128" / f"{s}.txt" for s in smoke.ok]
    paired = ("--paired-bs", "--paired-bs-n", "200", "-f", "latex")
    seed = {"SACREBLEU_SEED": "12345"}
    texts = {
        "main": run_sacrebleu(ref, "-i", *hyps, "-m", "bleu", "chrf", "ter", *paired, env=seed),
        "plus": run_sacrebleu(ref, "-i", *hyps, "-m", "chrf", "--chrf-word-order", "2", *paired,
                              env=seed),
    }
    columns = {"bleu": ("main", 0), "chrf": ("main", 1), "ter": ("main", 2), "chrf++": ("plus", 0)}
    tables = {k: parse_paired_latex(t) for k, t in texts.items()}
    signatures = {k: parse_signatures(t) for k, t in texts.items()}
    compared = {(s, m) for s in smoke.ok[1:] for m in columns}
    assert {(r["system"], r["metric"]) for r in rows} >= compared
    for r in rows:
        which, col = columns[r["metric"]]
        numbers = tables[which][f"{r['system']}.txt"][col]
        expected = [fmt(float(r[k])) for k in ("score", "mean", "ci")]
        if r["system"] != r["baseline"]:
            expected.append(fmt(float(r["p_value"])))
        assert expected == [fmt(x) for x in numbers], (r["system"], r["metric"])
        assert r["signature"] == signatures[which][col]
        assert "seed:12345" in r["signature"] and "bs:200" in r["signature"]


def test_manifest_records_provenance(smoke, corpus, tiny_models, tmp_path):
    m = json.loads((smoke.path / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "finished" and m["wall_s"] > 0
    assert set(m["versions"]) >= {"summ", "torch", "transformers", "ctranslate2", "sacrebleu"}
    assert m["versions"]["sacrebleu"] and m["versions"]["transformers"]
    assert set(m["machine"]) >= {"cpu", "cores", "gpus", "os", "python"}
    ds = m["datasets"]["ntrex128"]
    assert ds["lines"] == 22 and ds["documents"] == DOCS and ds["total_documents"] == 123
    assert ds["hashes"] and {p: sha256_file(p) for p in ds["hashes"]} == ds["hashes"]
    assert set(ds["hashes"]) == set(corpus.files.values())
    seed = m["datasets"]["seed"]
    assert {p: sha256_file(p) for p in seed["hashes"]} == seed["hashes"]
    for name in smoke.ok:
        rec = m["systems"][name]
        assert rec["status"] == "ok" and rec["revision"].startswith("local-") and rec["tiny"] is True
        assert rec["settings"] and rec["decode"]["beam_size"] == 1
        assert rec["decode"]["max_new_tokens"] == 24
        summary = rec["datasets"]["ntrex128"]["summary"]
        assert summary["segments"] > 0 and "tokens_per_s" in summary
    assert m["systems"]["marian-ct2"]["engine_name"] == "ct2:int8"
    # Signatures are the ones sacrebleu's command line gives for these metrics and levels.
    ref = tmp_path / "ref.en"
    ref.write_text("".join(r + "\n" for r in corpus.refs[0]), encoding="utf-8")
    hyp = smoke.path / "outputs" / "ntrex128" / "marian.txt"
    cli = cli_all_metrics([ref], hyp)
    assert {metric: m["signatures"][metric]["corpus"] for metric in CLI_NAMES} == \
        {metric: record["signature"] for metric, record in cli.items()}
    for metric in ("bleu", "chrf"):
        assert m["signatures"][metric]["sentence"] == cli_sentences(ref, hyp, metric)[0][0]
    assert m["significance"]["seed"] == 12345 and "seed:12345" in m["significance"]["signatures"]["chrf/bs"]


def test_rerun_resumes_from_the_cache_and_writes_identical_files(smoke):
    before = snapshot(smoke.path, "outputs/**/*") | snapshot(smoke.path, "*scores*.csv") | \
        snapshot(smoke.path, "significance.csv") | snapshot(smoke.path, "report/*") | snapshot(smoke.path, "summaries/**/*")
    again = run_experiment(SMOKE, output=smoke.path, documents=DOCS)
    m = json.loads((again.path / "manifest.json").read_text(encoding="utf-8"))
    for name in again.ok:
        for ds in ("ntrex128", "seed"):
            summary = m["systems"][name]["datasets"][ds]["summary"]
            assert summary["translated"] == 0 and summary["cache_hits"] > 0, (name, ds, summary)
    after = snapshot(smoke.path, "outputs/**/*") | snapshot(smoke.path, "*scores*.csv") | \
        snapshot(smoke.path, "significance.csv") | snapshot(smoke.path, "report/*") | snapshot(smoke.path, "summaries/**/*")
    assert len(after) == len(before) > 50
    # The report shows run times and cache hits from the manifest, which a rerun changes.
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert changed == ["report/tables.md"]


# --------------------------------------------------------------------------- failures


def test_a_failing_system_is_recorded_and_the_others_complete(env, tmp_path):
    config = tmp_path / "fail.toml"
    config.write_text(
        """
baseline = "marian"
levels = ["corpus"]
[defaults.decode]
beam_size = 1
max_new_tokens = 4
[[systems]]
name = "missing"
model = "summ-test/no-such-model"
[[systems]]
name = "marian"
model = "tiny:marian"
[[datasets]]
type = "ntrex128"
documents = 1
""",
        encoding="utf-8",
    )
    result = run_experiment(config, output=tmp_path / "out", report=True)
    assert result.ok == ("marian",) and list(result.failed) == ["missing"]
    assert result.exit_code == PARTIAL_FAILURE_EXIT_CODE
    assert "summ-test/no-such-model" in result.failed["missing"] and "\n" not in result.failed["missing"]
    m = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert m["systems"]["missing"]["status"] == "failed" and m["systems"]["missing"]["failed_at"] == "load"
    assert m["failed"] == result.failed
    assert (result.path / "outputs" / "ntrex128" / "marian.txt").is_file()
    assert not (result.path / "outputs" / "ntrex128" / "missing.txt").exists()
    assert {r["system"] for r in read_csv(result.path / "scores.csv")} == {"marian"}
    assert "failed: cannot load model 'summ-test/no-such-model'" in (result.path / "report" / "tables.md").read_text(encoding="utf-8")


def test_validation_lists_every_problem_before_any_work(env, tmp_path, data_dir):
    config = tmp_path / "bad.toml"
    config.write_text(
        f"""
baseline = "nobody"
metrics = ["bleu", "blue"]
levels = ["corpus", "paragraph", "corpus"]
colour = "red"
[significance]
methods = ["bs", "t-test"]
seed = 0
[[systems]]
name = "a"
model = "./models/not-here"
[[systems]]
name = "a"
model = "tiny:gpt"
engine = "onnx"
[systems.decode]
beam = 4
[[datasets]]
type = "parallel"
src = "missing.ar"
refs = ["missing.en"]
[[datasets]]
type = "wikipedia"
[[datasets]]
type = "ntrex128"
root = "{tmp_path / 'empty'}"
[[summaries]]
name = "x"
strategy = "direct"
input = "translation"
systems = ["nobody"]
[[summaries]]
name = "y"
strategy = "lead"
options = {{ sentences = 0 }}
""",
        encoding="utf-8",
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as err:
        run_experiment(config, output=tmp_path / "out")
    problems = err.value.problems
    message = str(err.value)
    # Each problem once, with its place in the file (as a researcher would look for it).
    expected = [
        "top level: unknown key 'colour'", "metrics: unknown metric 'blue'",
        "levels: unknown level 'paragraph'", "level 'corpus' listed twice",
        "significance.methods: unknown significance method 't-test'",
        "significance.seed must be an integer >= 1, got 0",
        f"systems[0].model: model directory {tmp_path / 'models' / 'not-here'} does not exist",
        "systems[1].model: unknown tiny model family 'gpt'",
        "systems[1].engine: unknown engine 'onnx'", "systems[1].decode: unknown key 'beam'",
        "two systems are named 'a'", "baseline 'nobody' is not a system",
        f"datasets[0].src: {tmp_path / 'missing.ar'} does not exist",
        f"datasets[0].refs[0]: {tmp_path / 'missing.en'} does not exist",
        "datasets[1]: unknown type 'wikipedia'", "datasets[2]: NTREX-128 file(s) missing",
        "summaries[0]: direct takes the Arabic source",
        "summaries[0].systems: system 'nobody' is not defined",
        "summaries[1].options.sentences must be an integer >= 1, got 0",
    ]
    for text in expected:
        assert text in message, text
    assert len(problems) == 18 and len(set(problems)) == 18  # one line per problem, none twice
    assert message.startswith(f"{config}: 18 problems: ")
    assert not (tmp_path / "out").exists()  # nothing was created: validation comes first


def test_output_folder_that_is_not_a_results_folder_is_refused(env, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        run_experiment(SMOKE, output=tmp_path, documents=1)
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_unreadable_data_is_an_error_before_any_model_loads(env, tmp_path):
    (tmp_path / "src.ar").write_text("مرحبا\nأهلا\n", encoding="utf-8")
    (tmp_path / "ref.en").write_text("hello\n", encoding="utf-8")
    config = tmp_path / "misaligned.toml"
    config.write_text('[[systems]]\nname = "x"\nmodel = "summ-test/never-loaded"\n'
                      '[[datasets]]\nname = "p"\ntype = "parallel"\nsrc = "src.ar"\nrefs = ["ref.en"]\n', encoding="utf-8")
    with pytest.raises(InputError, match="line-aligned"):
        run_experiment(config, output=tmp_path / "out")
    assert not (tmp_path / "out" / "outputs").exists()
    # An earlier run's results survive a rerun that stops on its data.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "manifest.json").write_text('{"status": "finished"}', encoding="utf-8")
    (earlier / "scores.csv").write_text("dataset,system\n", encoding="utf-8")
    with pytest.raises(InputError, match="line-aligned"):
        run_experiment(config, output=earlier)
    assert (earlier / "scores.csv").read_text(encoding="utf-8") == "dataset,system\n"


# --------------------------------------------------------------------------- configs and overrides


@pytest.mark.parametrize("name", ["smoke", "main", "ntrex128-ar-en", "ntrex128-summaries"])
def test_shipped_configs_validate(name, data_dir):
    config = load_config(CONFIGS / f"{name}.toml")
    assert config.output == (ROOT / "eval" / "results" / name).resolve()
    assert config.published == (ROOT / "eval" / "published.csv").resolve()
    assert config.baseline == config.systems[0].name
    assert [d.type for d in config.datasets][0] == "ntrex128"


def test_real_systems_config_compares_the_open_models(data_dir):
    config = load_config(CONFIGS / "ntrex128-ar-en.toml")
    models = {s.model for s in config.systems}
    assert models >= {"Helsinki-NLP/opus-mt-ar-en", "Helsinki-NLP/opus-mt-tc-big-ar-en",
                      "facebook/nllb-200-distilled-600M", "facebook/m2m100_418M", "google/madlad400-3b-mt"}
    ct2 = [s for s in config.systems if s.engine == "ct2"]
    assert any(s.model == "Helsinki-NLP/opus-mt-ar-en" and s.options == {"compute_type": "int8"} for s in ct2)
    assert config.levels == ("corpus", "document", "sentence")


def test_overrides_replace_model_documents_and_output(env, tiny_models, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(CONFIGS / "main.toml", model=str(tiny_models["marian"]), documents=3, output="here")
    assert {s.model for s in config.systems} == {str(tiny_models["marian"])}
    assert [d.documents for d in config.datasets] == [3, 3]
    assert config.output == tmp_path / "here"
    assert config.overrides == {"output": "here", "model": str(tiny_models["marian"]), "documents": 3}
    smaller = load_config(SMOKE, documents=10)
    assert smaller.datasets[0].documents == 3  # the config's own, smaller limit wins


def test_main_job_runs_on_a_tiny_model(env, tmp_path):
    """The README's main command on tiny models: tables written, article translated, both
    summary strategies run on both datasets and scored where there are references."""
    result = run_experiment(CONFIGS / "main.toml", output=tmp_path / "main", model="tiny:marian",
                            summary_model="tiny:bart", documents=1)
    assert result.ok == ("opus-mt",) and result.exit_code == 0 and not result.failed_summaries
    frames = load_results(result.path)
    scored = frames.summary_scores[frames.summary_scores["level"] == "corpus"]
    assert set(scored["summary"]) == {"textrank3", "distilbart"}
    assert set(frames.summaries["dataset"]) == {"ntrex128", "seed"}
    table = (result.path / "report" / "tables.md").read_text(encoding="utf-8")
    assert "| opus-mt (baseline) | tiny:marian |" in table
    assert "no published score for this test set" in table
    assert (result.path / "outputs" / "seed" / "opus-mt" / "putin-assad-2023-03-15.ar.txt").is_file()


# --------------------------------------------------------------------------- summ evaluate


def test_evaluate_files_scores_and_renders_every_format(tmp_path, corpus):
    from summ.report import render_evaluation

    refs = tmp_path / "ref.en"
    refs.write_text("".join(r + "\n" for r in corpus.refs[0]), encoding="utf-8")
    good = tmp_path / "good.en"
    good.write_text("".join(r + "\n" for r in corpus.refs[0]), encoding="utf-8")
    weak = tmp_path / "weak_sys.en"
    weak.write_text("".join(" ".join(r.split()[:3]) + "\n" for r in corpus.refs[0]), encoding="utf-8")
    ev = evaluate_files([weak, good], [refs], baseline="weak_sys", n_samples=100)
    assert ev.systems == ("weak_sys", "good")
    hyp = read_lines(good)
    for name, path in (("good", good), ("weak_sys", weak)):
        cli = cli_all_metrics([refs], path)
        assert [(s.metric, fmt(s.score), s.signature) for n, s in ev.scores if n == name] == \
            [(metric, fmt(record["score"]), record["signature"]) for metric, record in cli.items()]
    good_chrf = next(c for c in ev.comparisons if c.system == "good" and c.metric == "chrf")
    assert good_chrf.significant and good_chrf.delta > 0
    table = render_evaluation(ev, "table")
    assert "weak_sys (baseline)" in table and "†" in table.splitlines()[3] and "nrefs:1" in table
    assert json.loads(render_evaluation(ev, "json"))["comparisons"][0]["system"] == "weak_sys"
    # CSV and JSON carry the same columns (p-values and signatures included).
    header = render_evaluation(ev, "csv").splitlines()[0].split(",")
    assert header == list(json.loads(render_evaluation(ev, "json"))["scores"][0])
    assert {"p_value", "ci", "signature"} <= set(header)
    latex = render_evaluation(ev, "latex")
    assert "\\toprule" in latex and "weak\\_sys" in latex and "$^\\dagger$" in latex
    doc = evaluate_files([good], [refs], level="sentence", metrics=["chrf"])
    assert len(doc.scores) == len(hyp) and "item" in render_evaluation(doc, "csv").splitlines()[0]
    with pytest.raises(InputError, match="line-aligned"):
        (tmp_path / "short.en").write_text("one line\n", encoding="utf-8")
        evaluate_files([tmp_path / "short.en"], [refs])
    with pytest.raises(ConfigError, match="unknown format"):
        render_evaluation(ev, "html")
    # Without references only cometkiwi may be asked for; significance needs a sacrebleu metric.
    with pytest.raises(ConfigError, match="only cometkiwi scores without references"):
        evaluate_files([good], [], metrics=["chrf", "cometkiwi"], src=refs)
    with pytest.raises(ConfigError, match="only COMET metrics were asked for"):
        evaluate_files([weak, good], [refs], metrics=["comet"], src=refs, baseline="weak_sys")


def test_importing_experiment_and_report_stays_light():
    code = ("import sys, summ.experiment, summ.report; "
            "heavy = [m for m in ('torch', 'transformers', 'ctranslate2', 'matplotlib') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_article_ids_that_share_an_output_file_are_an_error(env, tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a/b", "text": "مرحبا"}\n{"id": "a_b", "text": "أهلا"}\n', encoding="utf-8")
    config = tmp_path / "clash.toml"
    config.write_text('[[systems]]\nname = "x"\nmodel = "summ-test/never-loaded"\n'
                      '[[datasets]]\nname = "a"\ntype = "articles"\npath = "articles.jsonl"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"'a/b', 'a_b' would all be written to a_b\.txt"):
        run_experiment(config, output=tmp_path / "out")
    assert not (tmp_path / "out" / "outputs").exists()


def test_summary_options_are_checked_when_the_config_loads(env, tmp_path):
    def config_with(options: str) -> Path:
        path = tmp_path / "opts.toml"
        path.write_text('[[systems]]\nname = "m"\nmodel = "tiny:marian"\n'
                        '[[datasets]]\nname = "n"\ntype = "ntrex128"\n'
                        f'[[summaries]]\nname = "s"\nstrategy = "lead"\noptions = {{ {options} }}\n', encoding="utf-8")
        return path

    with pytest.raises(ConfigError) as err:
        load_config(config_with('skip_duplicates = "false", engine = "nope", translate_decode = { beam = 2 }'))
    message = str(err.value)
    for text in ("skip_duplicates must be true or false", "unknown engine 'nope'",
                 "options.translate_decode: unknown key 'beam'"):
        assert text in message, text
    config = load_config(config_with("translate_decode = { beam_size = 2 }"))
    assert config.summaries[0].options["translate_decode"] == DecodeConfig(beam_size=2)
