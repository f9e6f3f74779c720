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
# # 05 · Error analysis: where translations go wrong, and what that does to summaries
#
# A corpus score says how good a system is on average; this notebook looks for where it
# fails. It runs the system on NTREX-128 as a `summ run` experiment, reads the results folder
# back as pandas DataFrames (`load_results`), and breaks the errors down by source length, by
# document and outlet, lists the worst segments side by side with their references, collects
# the outputs the pipeline flagged (repetition loops, outputs stopped at their cap, suspicious
# lengths) and the outputs that still contain Arabic script, and finally measures how
# translation errors carry into summaries.
#
# **What a run shows.** With the default model every table points at real weaknesses. CI
# runs it with a tiny test model on a few documents (toy size, trained to copy its input):
# its outputs copy the Arabic, so most lines are flagged and every score is near zero; the
# cells run, the findings are empty of meaning.

# %% tags=["parameters"]
MODEL = "Helsinki-NLP/opus-mt-ar-en"  # the system under analysis (hub id or local folder)
DEVICE = "auto"
BEAM_SIZE = 4
MAX_NEW_TOKENS = None  # None: each output's cap grows with its source
N_DOCUMENTS = None  # NTREX-128 documents; None: all of them
DATA_DIR = None  # folder holding ntrex128/; None: $SUMM_DATA_DIR or the default data folder
WORST = 10  # how many documents / segments to list
SUMMARY_MODEL = "sshleifer/distilbart-cnn-12-6"  # abstractive English summariser for section 6; None: TextRank only
SUMMARY_MAX_TOKENS = None  # its summary cap; None: the model's own length
WORK_DIR = None  # results and cache (a rerun translates nothing); None: a temporary folder

# %%
import json
import tempfile
from pathlib import Path

from summ import load_ntrex128, load_results, read_text, run_experiment, score
from summ.display import bar_chart, line_chart, side_by_side, table
from summ.report import line_scores
from summ.segment import arabic_ratio

work = Path(WORK_DIR) if WORK_DIR else Path(tempfile.mkdtemp(prefix="summ-05-errors-"))
work.mkdir(parents=True, exist_ok=True)
name = Path(MODEL).name  # the system's name in the tables
toml = json.dumps  # a JSON string is a valid TOML basic string
cap = f", max_tokens = {SUMMARY_MAX_TOKENS}" if SUMMARY_MAX_TOKENS else ""
abstractive = "" if not SUMMARY_MODEL else f"""
[[summaries]]
name = "abstractive"
strategy = "abstractive"
model = {toml(SUMMARY_MODEL)}
options = {{ device = {toml(DEVICE)}{cap} }}
"""
limit = f"max_new_tokens = {MAX_NEW_TOKENS}" if MAX_NEW_TOKENS else "# cap: grows with the source"
config = work / "error-analysis.toml"
config.write_text(f"""\
name = "error-analysis"
baseline = {toml(name)}
metrics = ["chrf", "bleu"]
levels = ["corpus", "document", "sentence"]

[defaults]
device = {toml(DEVICE)}

[defaults.decode]
beam_size = {BEAM_SIZE}
{limit}

[[systems]]
name = {toml(name)}
model = {toml(MODEL)}

[[datasets]]
name = "ntrex128"
type = "ntrex128"
{f"documents = {N_DOCUMENTS}" if N_DOCUMENTS else "# all documents"}
{f"root = {toml(str(Path(DATA_DIR).resolve()))}" if DATA_DIR else "# root unset: $SUMM_DATA_DIR"}

[[summaries]]
name = "textrank"
strategy = "textrank"
options = {{ sentences = 3 }}
{abstractive}""", encoding="utf-8")
run = run_experiment(config, output=work / "results", progress=True)
results = load_results(run.path)
corpus_scores = results.scores[results.scores["level"] == "corpus"]
table(corpus_scores[["metric", "score", "signature"]], caption=f"ntrex128, {MODEL}: corpus scores")

# %% [markdown]
# The corpus scores are the starting point; everything below splits them up. `line_scores`
# joins the stored sentence scores with each line's source length (Arabic words) and the
# flags of its segments; the references come from the data, the outputs from the results
# folder.

# %%
full = load_ntrex128(Path(DATA_DIR) if DATA_DIR else None)
data = full.select_documents(N_DOCUMENTS) if N_DOCUMENTS else full
outputs = read_text(run.path / results.system(name)["datasets"]["ntrex128"]["outputs"]["text"]).split("\n")
lines = line_scores(results, "ntrex128").assign(source=list(data.src), hypothesis=outputs,
                                                reference=list(data.refs[0]))
lines = lines.assign(outlet=lines["document"].str.split(".").str[0])
table(lines.head(3)[["line", "document", "words", "bucket", "flags", "chrf", "source"]])


# %%
def corpus_chrf(group):
    """chrF of a group of lines scored as a corpus (not a mean of sentence scores)."""
    if not len(group):
        return None
    return score(list(group["hypothesis"]), list(group["reference"]), ["chrf"])[0].score


# %% [markdown]
# ## 1. By source length
# Lines are put in fixed buckets of Arabic words (the same buckets as the `summ report`
# length plot), and each bucket is scored as a corpus of its own (chrF; BLEU is unreliable on
# small subsets). Long sentences are where splitting, length caps and attention failures
# show.

# %%
buckets = lines.groupby("bucket", observed=False)
by_length = buckets.agg(lines=("line", "size"), mean_sentence_chrf=("chrf", "mean"),
                        flagged_lines=("flags", lambda flags: int(flags.map(bool).sum())))
by_length["chrF"] = buckets.apply(corpus_chrf).reindex(by_length.index)
table(by_length)

# %%
labels = [f"{bucket}\n(n={n})" for bucket, n in by_length["lines"].items()]
line_chart(labels, {name: list(by_length["chrF"])}, title="ntrex128: chrF by source length",
           xlabel="Arabic words per line", ylabel="chrF")

# %% [markdown]
# ## 2. By document and by outlet
# Document-level scores (stored by the run: a corpus score over each document's lines) show
# which articles the system handles worst; grouping documents by outlet (the id before the
# dot) shows whether some sources are harder, e.g. for their topics or their style.

# %%
scores = results.scores
documents = scores[(scores["level"] == "document") & (scores["metric"] == "chrf")]
documents = documents.rename(columns={"item": "document", "score": "chrF"})[["document", "chrF"]]
per_document = lines.groupby("document").agg(outlet=("outlet", "first"), lines=("line", "size"),
                                             first_line=("source", "first"))
documents = documents.join(per_document, on="document")
table(documents.nsmallest(WORST, "chrF"),
      caption=f"the documents with the lowest chrF, of {len(documents)}")

# %%
outlets = lines.groupby("outlet")
by_outlet = outlets.agg(documents=("document", "nunique"), lines=("line", "size"))
by_outlet["chrF"] = outlets.apply(corpus_chrf)
by_outlet = by_outlet.sort_values("chrF")
table(by_outlet)

# %%
bar_chart(list(by_outlet.index), list(by_outlet["chrF"]),
          title="ntrex128: chrF by outlet (lowest first)", xlabel="chrF")

# %% [markdown]
# Outlets with few lines have wide uncertainty: read the `lines` column before reading
# anything into a difference.
#
# ## 3. The worst segments, side by side
# Sentence-level chrF for every line, lowest first; each one with its source and reference.
# Empty or very short references are kept out (a one-word line says little).

# %%
lines = lines.assign(label=lines["document"] + " line " + lines["line"].astype(str))
worst = lines[lines["reference"].str.split().str.len() >= 4].nsmallest(WORST, "chrf")
side_by_side(worst["source"], worst["hypothesis"], worst["reference"], worst["chrf"],
             worst["flags"], index=worst["label"],
             headers=["Arabic source", "English output", "English reference", "chrF", "flags"],
             langs=["ar", "en", "en", "en", "en"],
             caption=f"the {len(worst)} lines with the lowest sentence chrF")

# %%
bar_chart(list(worst["source"].str[:40] + "… (" + worst["line"].astype(str) + ")"),
          list(worst["chrf"]), title="lowest sentence chrF (Arabic source, line number)",
          xlabel="sentence chrF")

# %% [markdown]
# ## 4. Repetition, runaway outputs and other flags
# The pipeline flags every segment whose output repeats a word or phrase four or more times in
# a row (`repetition`: opus-mt's hallucination loops on noisy input), stopped at its length
# cap (`capped`: a runaway, or an output cut short), or whose source is not Arabic
# (`not-arabic`); the flags of every segment are in `results.segments`. A length ratio far
# from the usual one is a second hallucination signal: an output much longer or shorter than
# its reference.

# %%
segments = results.segments[results.segments["dataset"] == "ntrex128"]
flag_counts = segments.explode("flags")["flags"].dropna().value_counts()
table(flag_counts.rename_axis("flag").reset_index(name="segments"),
      caption=f"{len(segments)} segments in {len(lines)} lines")

# %%
words = lines["reference"].str.split().str.len().clip(lower=1)
lines = lines.assign(ratio=lines["hypothesis"].str.split().str.len() / words)
too_long, too_short = int((lines["ratio"] > 2).sum()), int((lines["ratio"] < 0.5).sum())
table({"lines": len(lines), "output more than twice as long as the reference (words)": too_long,
       "output less than half as long as the reference (words)": too_short})

# %%
flagged = lines["flags"].map(lambda flags: "repetition" in flags or "capped" in flags)
suspect = lines[flagged | (lines["ratio"] > 2)].head(WORST)
side_by_side(suspect["source"], suspect["hypothesis"], suspect["reference"], suspect["ratio"],
             suspect["flags"], index=suspect["label"],
             headers=["Arabic source", "English output", "English reference", "length ratio", "flags"],
             langs=["ar", "en", "en", "en", "en"],
             caption="possible hallucinations: repetitive, capped or over-long outputs (the first ones)")

# %% [markdown]
# ## 5. Arabic left in the output
# An English output should contain no Arabic script. Where it does, the model copied source
# words it could not translate (names, rare words), or failed on the whole line.

# %%
lines = lines.assign(arabic=lines["hypothesis"].map(arabic_ratio))
table({"lines": len(lines),
       "lines with Arabic script in the output": int((lines["arabic"] > 0).sum()),
       "lines mostly Arabic (≥ 50% of letters)": int((lines["arabic"] >= 0.5).sum())})

# %%
shown = lines[lines["arabic"] > 0].sort_values("arabic", ascending=False).head(WORST)
side_by_side(shown["source"], shown["hypothesis"], 100 * shown["arabic"], index=shown["label"],
             headers=["Arabic source", "English output", "% Arabic letters in output"],
             langs=["ar", "en", "en"], caption="outputs with the most Arabic script left")

# %% [markdown]
# The output column is left to right even where it holds Arabic: it is English text with
# Arabic inside, and the browser still lays out each Arabic run right to left.
#
# ## 6. Summary error propagation
# Does a translation error matter for a summary? The run summarised each document's machine
# translation and its human reference translation the same way (`[[summaries]]` in the
# config), and scored the two summaries against each other (ROUGE and chrF; 100 = the
# translation errors did not change the summary): TextRank (no weights), and the abstractive
# summariser `SUMMARY_MODEL`. Those scores are `results.summary_scores`.

# %%
summary_scores = results.summary_scores
by_summary = summary_scores[summary_scores["level"] == "document"]
means = by_summary.pivot_table(index="summary", columns="metric", values="score", sort=False)
table(means.assign(documents=by_summary.groupby("summary")["item"].nunique()),
      caption="summary(MT) against summary(reference), mean over documents")

# %% [markdown]
# Per document, next to the document's translation chrF: where translation is poor, does the
# summary suffer too?

# %%
textrank = by_summary[by_summary["summary"] == "textrank"]
textrank = textrank.pivot(index="item", columns="metric", values="score")
names = {"chrF": "translation chrF", "rouge1": "summary ROUGE-1", "chrf": "summary chrF"}
joined = documents.set_index("document")[["chrF"]].join(textrank[["rouge1", "chrf"]])
table(joined.rename(columns=names).sort_values("translation chrF").head(WORST),
      caption="TextRank summaries, documents with the lowest translation chrF first")

# %%
changed = textrank["rouge1"].idxmin()
summaries = results.summaries
texts = summaries[(summaries["summary"] == "textrank") & (summaries["id"] == changed)]
texts = texts.set_index("system")["text"]
side_by_side([texts[name]], [texts["_reference"]], index=[changed], langs=["en", "en"],
             headers=["summary of the machine translation", "summary of the reference translation"],
             caption="the document whose summary changed most (TextRank)")

# %% [markdown]
# TextRank picks sentences by their overlap with the rest of the document, so translation
# errors can change *which* sentences it picks, not only their wording; an abstractive
# summariser rewrites everything and can smooth over (or amplify) errors.
#
# ## Recap
# * Break corpus scores down by source length, document and outlet before drawing
#   conclusions; score subsets as corpora (chrF), not as means of sentence scores.
# * The worst segments, the flagged ones (repetition, capped, odd length) and the outputs with
#   Arabic left in them are the first places to look for systematic errors.
# * Everything here is pandas on `load_results(folder)`: `scores` (every level), `segments`
#   (flags per segment), `summaries` and `summary_scores`, and `summ.report.line_scores` joins
#   them per line; the same cells work on any `summ run` results folder.
