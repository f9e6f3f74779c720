# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Evaluate: an experiment from a config, its tables, and published scores
#
# `summ run CONFIG` is the unit of evaluation: systems × datasets (× summary strategies) →
# one results folder with every output, per-segment score, significance test and the exact
# settings, versions and data hashes (`manifest.json`). Tables and plots are rebuilt from that
# folder alone by `summ report`. This notebook writes a config from its parameters, runs it,
# reads the folder back as pandas DataFrames (`load_results`), renders the tables (with
# significance marks) and plots here, sets published scores beside them where that is
# legitimate, and rebuilds the report.
#
# **What a run shows.** With the defaults (two opus-mt models, one of them also through
# CTranslate2 int8, on all of NTREX-128) the table compares real systems. CI runs the same
# cells with tiny test models on a few documents: the tables say so in their notes,
# and their scores mean nothing beyond "the machinery works".

# %% tags=["parameters"]
# name -> model (hub id or local folder); the first system is the baseline of the significance tests.
SYSTEMS = {"opus-mt": "Helsinki-NLP/opus-mt-ar-en", "opus-mt-tc-big": "Helsinki-NLP/opus-mt-tc-big-ar-en"}
CT2_SYSTEM = True  # also run the baseline's model through CTranslate2 with int8 weights
DEVICE = "auto"
BEAM_SIZE = 4
MAX_NEW_TOKENS = None  # None: each output's cap grows with its source
N_DOCUMENTS = None  # NTREX-128 documents; None: all of them
BOOTSTRAP_SAMPLES = 1000  # paired bootstrap resamples (sacrebleu's default)
SUMMARY_SENTENCES = 3  # lead-k and TextRank summaries of every translation
DATA_DIR = None  # folder holding ntrex128/; None: $SUMM_DATA_DIR or the default data folder
PUBLISHED = "../eval/published.csv"  # published scores to set beside this run's
OUTPUT_DIR = None  # where the config and results go; None: a new temporary folder

# %%
import json
import tempfile
from pathlib import Path

from summ.display import image, markdown, table

out_root = Path(OUTPUT_DIR) if OUTPUT_DIR else Path(tempfile.mkdtemp(prefix="summ-04-evaluate-"))
out_root.mkdir(parents=True, exist_ok=True)
results_dir = out_root / "notebook-evaluate"

# %% [markdown]
# ## 1. The config
# A config is a TOML file (see `eval/configs/*.toml` for the project's own). This one is
# written from the parameters above; relative paths in a config are relative to the config
# file, so the paths written here are absolute.

# %%
baseline = next(iter(SYSTEMS))
toml = json.dumps  # a JSON string is a valid TOML basic string
systems = "".join(f"\n[[systems]]\nname = {toml(name)}\nmodel = {toml(model)}\n" for name, model in SYSTEMS.items())
if CT2_SYSTEM:
    systems += (f"\n[[systems]]\nname = {toml(baseline + '-ct2-int8')}\nmodel = {toml(SYSTEMS[baseline])}\n"
                'engine = "ct2"\noptions = { compute_type = "int8" }\n')
config_text = f"""\
name = "notebook-evaluate"
description = "Systems of notebooks/04_evaluate.ipynb on NTREX-128, with lead and TextRank summaries of each translation."
baseline = {toml(baseline)}
metrics = ["bleu", "chrf", "chrf++", "ter"]
levels = ["corpus", "document", "sentence"]
published = {toml(str(Path(PUBLISHED).resolve()))}

[significance]
methods = ["bs"]
n_samples = {BOOTSTRAP_SAMPLES}
seed = 12345

[defaults]
device = {toml(DEVICE)}

[defaults.decode]
beam_size = {BEAM_SIZE}
{f"max_new_tokens = {MAX_NEW_TOKENS}" if MAX_NEW_TOKENS else "# max_new_tokens unset: the cap grows with each source"}
{systems}
[[datasets]]
name = "ntrex128"
type = "ntrex128"
{f"documents = {N_DOCUMENTS}" if N_DOCUMENTS else "# all documents"}
{f"root = {toml(str(Path(DATA_DIR).resolve()))}" if DATA_DIR else "# root unset: $SUMM_DATA_DIR"}

[[summaries]]
name = "lead{SUMMARY_SENTENCES}"
strategy = "lead"
options = {{ sentences = {SUMMARY_SENTENCES} }}

[[summaries]]
name = "textrank{SUMMARY_SENTENCES}"
strategy = "textrank"
options = {{ sentences = {SUMMARY_SENTENCES} }}
"""
config_path = out_root / "notebook-evaluate.toml"
config_path.write_text(config_text, encoding="utf-8")
print(config_text)

# %% [markdown]
# ## 2. Run it
# `run_experiment` is `summ run` as a function. It validates the whole config before loading
# any model (every problem listed at once), then translates, scores, tests and summarises. A
# system that fails to load is recorded with its error and the others carry on. The same run
# from a shell: `summ run notebook-evaluate.toml --output DIR`.

# %%
from summ import run_experiment

run = run_experiment(config_path, output=results_dir, progress=True)
table({"results folder": run.path, "systems that ran": run.ok, "failed": run.failed or "none",
       "wall seconds": run.wall_s, "exit status": run.exit_code})

# %% [markdown]
# What the folder holds (`eval/results/README.md` documents every file):

# %%
table([{"entry": p.name + ("/" if p.is_dir() else ""),
        "size": f"{sum(1 for f in p.rglob('*') if f.is_file())} files" if p.is_dir() else f"{p.stat().st_size} bytes"}
       for p in sorted(run.path.iterdir())])

# %% [markdown]
# ## 3. The tables
# Corpus scores per system, `±` the half-width of the paired-bootstrap 95% confidence
# interval, and `†` where the paired test against the baseline gives p < 0.05 (exact ties
# unmarked). The notes under each table say what the numbers are and are not.

# %%
from summ import load_results
from summ.report import corpus_markdown

results = load_results(run.path)
markdown(corpus_markdown(results))

# %% [markdown]
# Those tables are pivots of `results.scores`, a tidy DataFrame with one row per dataset,
# system, metric, level and item (document or line), its sacrebleu signature, and, at corpus
# level, the paired test against the baseline (`ci`, `delta`, `p_value`, `significant`):

# %%
scores = results.scores
corpus = scores[scores["level"] == "corpus"]
table(corpus.pivot_table(index="system", columns="metric", values="score", sort=False))

# %% [markdown]
# The test behind each mark, from `results.significance`. `significant` is the raw test
# (p < 0.05); the tables leave exact ties (`delta` 0, e.g. identical outputs) unmarked, since
# "significantly different" would misread them.

# %%
tests = results.significance
columns = ["system", "baseline", "metric", "score", "delta", "ci", "p_value", "significant"]
table(tests[columns], digits=3)

# %% [markdown]
# Every number comes with its sacrebleu signature, so it can be reproduced with the
# `sacrebleu` command line:

# %%
table(scores.drop_duplicates(["metric", "level"])[["metric", "level", "signature"]])

# %% [markdown]
# A corpus score hides how much systems vary across documents: the spread of document-level
# chrF per system, straight from the frame.

# %%
documents = scores[(scores["level"] == "document") & (scores["metric"] == "chrf")]
spread = documents.groupby("system", sort=False)["score"].describe()
table(spread[["count", "mean", "std", "min", "max"]])

# %% [markdown]
# The report's plots of the same scores: chrF per document (a box per system) and mean
# sentence chrF by source length.

# %%
image(run.path / "report" / "ntrex128.documents.png")

# %%
image(run.path / "report" / "ntrex128.length.png")

# %% [markdown]
# Summaries of each system's translation, scored against the same strategy's summary of the
# human reference translation (100 = translation errors did not change the summary); the
# numbers are `results.summary_scores`, the summaries themselves `results.summaries`:

# %%
from summ.report import summaries_markdown

markdown(summaries_markdown(results))

# %%
summary_scores = results.summary_scores
table(summary_scores[summary_scores["level"] == "corpus"]
      .pivot_table(index=["summary", "system"], columns="metric", values="score", sort=False))

# %% [markdown]
# ## 4. Published scores
# `eval/published.csv` lists published Arabic→English scores with their test set, metric,
# tokenizer and source. They are only comparable with a run on the *same* test set; the
# report sets them beside this run's scores only then, and otherwise says so. The rows for
# this run's models, as the run copied them into its manifest:

# %%
from summ.report import published_section

published = results.manifest["published"]["rows"]
table(published, ["model", "test_set", "metric", "score", "tokenizer", "verified", "source"],
      caption=f"{len(published)} published scores for this run's models")

# %%
markdown(published_section(results))

# %% [markdown]
# Where a published score's test set differs from this run's (NTREX-128 here), the report
# compares nothing: a FLORES or Tatoeba score says nothing about an NTREX-128 run. To set a
# run beside published scores, add the matching test set as a dataset with its `test_set` id
# (e.g. a FLORES-200 devtest copy as `type = "parallel"`, `test_set = "flores200-devtest"`).
#
# ## 5. Regenerating the tables
# `summ report RESULTS_DIR` rebuilds `report/` (Markdown, LaTeX, CSV tables and the plots)
# from the stored files alone: no model is loaded and nothing is rescored, and unchanged
# results give byte-identical files. After a run in `eval/results/NAME`, that is how the
# committed tables in `eval/` are refreshed:
#
# ```bash
# summ run eval/configs/ntrex128-ar-en.toml      # once: writes eval/results/ntrex128-ar-en/
# summ report eval/results/ntrex128-ar-en        # any time after: rebuilds its report/
# ```
#
# The same from Python, checking that a rebuild changes nothing:

# %%
from summ import build_report

before = {p.name: p.read_bytes() for p in run.report}
rebuilt = build_report(run.path)
table([{"file": p.name, "bytes": p.stat().st_size, "unchanged": before.get(p.name) == p.read_bytes()}
       for p in rebuilt])

# %% [markdown]
# Scoring existing files without a config is `summ evaluate` (here with this run's outputs
# and the matching reference lines):

# %%
from summ import evaluate_files
from summ.report import render_evaluation

from summ import load_ntrex128

corpus = load_ntrex128(Path(DATA_DIR) if DATA_DIR else None)
corpus = corpus.select_documents(N_DOCUMENTS) if N_DOCUMENTS else corpus
refs_file = out_root / "references.en.txt"
refs_file.write_text("".join(line + "\n" for line in corpus.refs[0]), encoding="utf-8")
hyp_files = [run.path / results.system(name)["datasets"]["ntrex128"]["outputs"]["text"] for name in run.ok]
evaluation = evaluate_files(hyp_files, [refs_file], names=list(run.ok), baseline=baseline if baseline in run.ok else None,
                            n_samples=BOOTSTRAP_SAMPLES)
print(render_evaluation(evaluation, "table"))

# %% [markdown]
# From a shell: `summ evaluate --hyp A.txt --hyp B.txt --ref REF.txt --names A B --baseline A`.
#
# ## Recap
# * A config names systems, datasets, metrics, significance settings and summary strategies;
#   `summ run` (or `run_experiment`) turns it into one self-describing results folder.
# * `load_results` gives the folder as pandas DataFrames (`scores`, `significance`,
#   `segments`, `summaries`, `summary_scores`); `corpus_markdown` renders the tables with
#   `±` confidence intervals and `†` significance marks; `build_report` / `summ report`
#   rebuilds all of them (Markdown, LaTeX, CSV, plots) from stored results, byte for byte.
# * Published scores appear only beside runs on the same test set.
#
# Next: `05_error_analysis`, on where the translations behind these numbers go wrong.
