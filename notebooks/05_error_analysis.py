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
# fails. It translates NTREX-128 and breaks the errors down by source length, by document and
# outlet, lists the worst segments side by side with their references, collects the outputs
# the pipeline flagged (repetition loops, outputs stopped at their cap, suspicious lengths) and
# the outputs that still contain Arabic script, and finally measures how translation errors
# carry into summaries.
#
# **What a run shows.** With the default model every table points at real weaknesses. CI
# runs it with a tiny random-weight model on a few documents: every output is gibberish that
# runs to its cap, so every line is flagged and every score is near zero; the cells run, the
# findings are empty of meaning.

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
WORK_DIR = None  # translation cache (a rerun translates nothing); None: a new temporary folder

# %%
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean

from summ import load_translator
from summ.data import load_ntrex128
from summ.display import bar_chart, line_chart, side_by_side, table
from summ.metrics import score
from summ.report import bucket_labels, length_bucket
from summ.segment import arabic_ratio
from summ.engines.base import DecodeConfig

work = Path(WORK_DIR) if WORK_DIR else Path(tempfile.mkdtemp(prefix="summ-05-errors-"))
full = load_ntrex128(Path(DATA_DIR) if DATA_DIR else None)
corpus = full.select_documents(N_DOCUMENTS) if N_DOCUMENTS else full
src, refs, doc_ids = corpus.src, corpus.refs[0], corpus.doc_ids
translator = load_translator(MODEL, device=DEVICE, decode=DecodeConfig(beam_size=BEAM_SIZE, max_new_tokens=MAX_NEW_TOKENS),
                             cache=str(work / "cache.sqlite"), progress=True)
result = translator.translate_documents(list(src))  # one NTREX line = one "document" of one or more sentences
hyps = result.texts
print(result.stats.line())
table([{"metric": s.metric, "score": s.score, "signature": s.signature} for s in score(hyps, refs)],
      caption=f"{corpus.name}, {translator.engine.model_id}: corpus scores")

# %% [markdown]
# The corpus scores are the starting point; everything below splits them up.
#
# ## 1. By source length
# Lines are put in fixed buckets of Arabic words (the same buckets as the `summ report`
# length plot), and each bucket is scored as a corpus of its own (chrF; BLEU is unreliable on
# small subsets). Long sentences are where splitting, length caps and attention failures
# show.

# %%
bucket = [length_bucket(len(s.split())) for s in src]
rows = []
for b, label in enumerate(bucket_labels()):
    idx = [i for i, x in enumerate(bucket) if x == b]
    chrf = score([hyps[i] for i in idx], [refs[i] for i in idx], ["chrf"])[0].score if idx else None
    rows.append({"Arabic words": label, "lines": len(idx), "chrF": chrf,
                 "flagged lines": sum(any(r.flags for r in result.records[i]) for i in idx)})
table(rows)

# %%
line_chart([f"{r['Arabic words']}\n(n={r['lines']})" for r in rows], {translator.engine.name: [r["chrF"] for r in rows]},
           title=f"{corpus.name}: chrF by source length", xlabel="Arabic words per line", ylabel="chrF")

# %% [markdown]
# ## 2. By document and by outlet
# Document-level scores (a corpus score over each document's lines) show which articles the
# system handles worst; grouping documents by outlet (the id before the dot) shows whether
# some sources are harder, e.g. for their topics or their style.

# %%
by_document = {s.item: s.score for s in score(hyps, refs, ["chrf"], level="document", doc_ids=list(doc_ids))}
lines_of = defaultdict(list)
for i, d in enumerate(doc_ids):
    lines_of[d].append(i)
worst_documents = sorted(by_document, key=by_document.get)[:WORST]
table([{"document": d, "outlet": d.split(".")[0], "lines": len(lines_of[d]), "chrF": by_document[d],
        "first line (source)": src[lines_of[d][0]]} for d in worst_documents],
      caption=f"the {len(worst_documents)} documents with the lowest chrF, of {len(by_document)}")

# %%
outlet_lines = defaultdict(list)
for d, idx in lines_of.items():
    outlet_lines[d.split(".")[0]].extend(idx)
by_outlet = {o: score([hyps[i] for i in idx], [refs[i] for i in idx], ["chrf"])[0].score for o, idx in outlet_lines.items()}
ranked = sorted(by_outlet, key=by_outlet.get)
table([{"outlet": o, "documents": sum(d.split(".")[0] == o for d in lines_of), "lines": len(outlet_lines[o]),
        "chrF": by_outlet[o]} for o in ranked])

# %%
bar_chart(ranked, [by_outlet[o] for o in ranked], title=f"{corpus.name}: chrF by outlet (lowest first)", xlabel="chrF")

# %% [markdown]
# Outlets with few lines have wide uncertainty: read the `lines` column before reading
# anything into a difference.
#
# ## 3. The worst segments, side by side
# Sentence-level chrF for every line, lowest first; each one with its source and reference.
# Empty or very short references are kept out (a one-word line says little).

# %%
sentence_chrf = [s.score for s in score(hyps, refs, ["chrf"], level="sentence")]
candidates = [i for i in range(len(src)) if len(refs[i].split()) >= 4]
worst = sorted(candidates, key=lambda i: sentence_chrf[i])[:WORST]
side_by_side([src[i] for i in worst], [hyps[i] for i in worst], [refs[i] for i in worst],
             [sentence_chrf[i] for i in worst], [sorted({f for r in result.records[i] for f in r.flags}) for i in worst],
             headers=["Arabic source", "English output", "English reference", "chrF", "flags"],
             langs=["ar", "en", "en", "en", "en"], index=[f"{doc_ids[i]} line {i + 1}" for i in worst],
             caption=f"the {len(worst)} lines with the lowest sentence chrF")

# %%
bar_chart([f"{src[i][:40]}… ({i + 1})" for i in worst], [sentence_chrf[i] for i in worst],
          title="lowest sentence chrF (Arabic source, line number)", xlabel="sentence chrF")

# %% [markdown]
# ## 4. Repetition, runaway outputs and other flags
# The pipeline flags every segment whose output repeats a word or phrase four or more times in
# a row (`repetition`: opus-mt's hallucination loops on noisy input), stopped at its length
# cap (`capped`: a runaway, or an output cut short), or whose source is not Arabic
# (`not-arabic`). A length ratio far from the usual one is a second hallucination signal:
# an output much longer or shorter than its reference.

# %%
flag_counts = Counter(f for recs in result.records for r in recs for f in r.flags)
ratio = [len(h.split()) / max(len(r.split()), 1) for h, r in zip(hyps, refs)]
too_long = [i for i, x in enumerate(ratio) if x > 2.0]
too_short = [i for i, x in enumerate(ratio) if x < 0.5]
table([*({"signal": f"flag: {flag}", "segments or lines": n} for flag, n in flag_counts.most_common()),
       {"signal": "output more than twice as long as the reference (words)", "segments or lines": len(too_long)},
       {"signal": "output less than half as long as the reference (words)", "segments or lines": len(too_short)}],
      caption=f"{sum(len(r) for r in result.records)} segments in {len(src)} lines")

# %%
suspect = [i for i in range(len(src)) if any("repetition" in r.flags or "capped" in r.flags for r in result.records[i])
           or i in too_long][:WORST]
side_by_side([src[i] for i in suspect], [hyps[i] for i in suspect], [refs[i] for i in suspect],
             [ratio[i] for i in suspect], [sorted({f for r in result.records[i] for f in r.flags}) for i in suspect],
             headers=["Arabic source", "English output", "English reference", "length ratio", "flags"],
             langs=["ar", "en", "en", "en", "en"], index=[f"{doc_ids[i]} line {i + 1}" for i in suspect],
             caption="possible hallucinations: repetitive, capped or over-long outputs (the first ones)")

# %% [markdown]
# ## 5. Arabic left in the output
# An English output should contain no Arabic script. Where it does, the model copied source
# words it could not translate (names, rare words), or failed on the whole line.

# %%
share = [arabic_ratio(h) for h in hyps]
with_arabic = sorted((i for i in range(len(hyps)) if share[i] > 0), key=lambda i: -share[i])
table({"lines": len(hyps), "lines with Arabic script in the output": len(with_arabic),
       "lines mostly Arabic (≥ 50% of letters)": sum(s >= 0.5 for s in share)})

# %%
shown = with_arabic[:WORST]
side_by_side([src[i] for i in shown], [hyps[i] for i in shown], [100 * share[i] for i in shown],
             headers=["Arabic source", "English output", "% Arabic letters in output"], langs=["ar", "en", "en"],
             index=[f"{doc_ids[i]} line {i + 1}" for i in shown], caption="outputs with the most Arabic script left")

# %% [markdown]
# The output column is left to right even where it holds Arabic: it is English text with
# Arabic inside, and the browser still lays out each Arabic run right to left.
#
# ## 6. Summary error propagation
# Does a translation error matter for a summary? Each document's machine translation and its
# human reference translation are summarised the same way, and the two summaries are scored
# against each other (ROUGE and chrF; 100 = the translation errors did not change the
# summary). TextRank first (no weights), then the abstractive summariser `SUMMARY_MODEL`.

# %%
from summ.summarise import Summariser, SummaryConfig, propagation, propagation_table

ids = list(lines_of)
mt_documents = ["\n".join(hyps[i] for i in lines_of[d]) for d in ids]
ref_documents = ["\n".join(refs[i] for i in lines_of[d]) for d in ids]
summarisers = {"textrank": Summariser(SummaryConfig(strategy="textrank", lang="en", sentences=3))}
if SUMMARY_MODEL:
    summarisers["abstractive"] = Summariser(SummaryConfig(strategy="abstractive", lang="en", model=SUMMARY_MODEL,
                                                          max_tokens=SUMMARY_MAX_TOKENS, device=DEVICE))
propagated = {name: propagation(mt_documents, ref_documents, s, ids=ids) for name, s in summarisers.items()}
table([{"summariser": name, "documents": len(rows_),
        **{metric: mean(r.scores[metric] for r in rows_) for metric in rows_[0].scores}}
       for name, rows_ in propagated.items()], caption="summary(MT) against summary(reference), mean over documents")

# %% [markdown]
# Per document, next to the document's translation chrF: where translation is poor, does the
# summary suffer too?

# %%
extractive = {row["id"]: row for row in propagation_table(propagated["textrank"])}
order = sorted(ids, key=lambda d: by_document[d])
table([{"document": d, "translation chrF": by_document[d], "summary ROUGE-1": extractive[d]["rouge1"],
        "summary chrF": extractive[d]["chrf"]} for d in order[:WORST]],
      caption="TextRank summaries, documents with the lowest translation chrF first")

# %%
worst_summary = min(propagated["textrank"], key=lambda r: r.scores["rouge1"])
side_by_side([worst_summary.mt_summary], [worst_summary.ref_summary],
             headers=["summary of the machine translation", "summary of the reference translation"],
             langs=["en", "en"], index=[worst_summary.id], caption="the document whose summary changed most (TextRank)")

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
# * `summ.summarise.propagation` measures how much of that reaches a summary.
# * The same analyses work on a `summ run` results folder: `scores.sentence.csv`,
#   `scores.document.csv` and `outputs/*/SYSTEM.segments.jsonl` hold every number and flag
#   used here.
