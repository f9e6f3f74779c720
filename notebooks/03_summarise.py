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
# # 03 · Summarise: every strategy on the same articles
#
# `summ.summary` puts six strategies behind one function. This notebook runs all of them on
# the same Arabic articles (the first NTREX-128 documents and the seed article), shows what
# each one wrote, compares their lengths, and follows an article that is longer than the
# summariser's input through the chunked path.
#
# | strategy | what it does | models |
# |---|---|---|
# | `lead` | the first k sentences | none |
# | `textrank` | the k most central sentences | none |
# | `lead` / `textrank` + translator | select in Arabic, translate only the kept sentences | translator |
# | `abstractive` | a seq2seq summariser in the article's language | Arabic summariser |
# | `translate-then-summarise` | translate the article, summarise the English | translator + English summariser |
# | `summarise-then-translate` | summarise the Arabic, translate the summary | Arabic summariser + translator |
# | `direct` | a cross-lingual summariser: Arabic in, English out | CrossSum model |
#
# **What a run shows.** With the defaults (opus-mt-ar-en, distilbart-cnn-12-6,
# mT5_multilingual_XLSum, mT5_m2m_crossSum: several GB of downloads, minutes on a GPU) the
# model strategies write real summaries. CI injects tiny test models (trained to copy) with a
# small token cap: their summaries copy pieces of their input and their lengths are mostly
# set by the cap. The
# extractive strategies need no weights, so their selections are the real ones in both runs
# (only their translations differ).

# %% tags=["parameters"]
TRANSLATOR = "Helsinki-NLP/opus-mt-ar-en"  # Arabic→English translation
EN_SUMMARISER = "sshleifer/distilbart-cnn-12-6"  # English summaries (translate-then-summarise)
AR_SUMMARISER = "csebuetnlp/mT5_multilingual_XLSum"  # Arabic summaries (abstractive, summarise-then-translate)
CROSS_SUMMARISER = "csebuetnlp/mT5_m2m_crossSum"  # Arabic in, English out (direct)
DEVICE = "auto"
BEAM_SIZE = 4  # translation beam
MAX_NEW_TOKENS = None  # translation cap; None: grows with each sentence
SENTENCES = 3  # length of extractive summaries
MAX_TOKENS = None  # cap of model summaries; None: each model's own summary length
SUMMARY_BEAM_SIZE = None  # None: each model's own generation settings (model card / generation_config)
LONG_INPUT_TOKENS = None  # summariser input limit for the long-article demo; None: the model's own
N_DOCUMENTS = 5  # NTREX-128 documents to summarise (besides the seed article)
DATA_DIR = None  # folder holding ntrex128/; None: $SUMM_DATA_DIR or the default data folder
ARTICLE = "../data/articles/putin-assad-2023-03-15.ar.txt"

# %%
import time
from pathlib import Path
from statistics import mean

from summ import DecodeConfig, Summariser, SummaryConfig, load_ntrex128, load_translator, read_text
from summ.display import bar_chart, side_by_side, table
from summ.segment import segment
from summ.summary import chunk_text

corpus = load_ntrex128(Path(DATA_DIR) if DATA_DIR else None).select_documents(N_DOCUMENTS)
ids, articles = [], []
for doc_id, lines in corpus.documents():
    ids.append(doc_id)
    articles.append("\n".join(corpus.src[i] for i in lines))  # one sentence per line, as in the corpus
ids.append(Path(ARTICLE).stem.removesuffix(".ar"))
articles.append(read_text(ARTICLE))
table([{"id": i, "sentences": len(segment(a)), "words": len(a.split())} for i, a in zip(ids, articles)],
      caption="the articles every strategy summarises")

# %% [markdown]
# ## 1. One translator for every strategy that translates
# Loading a model is the slow part, so the translator is loaded once and handed to each
# strategy that needs it (`Summariser(config, translator=...)`); the Arabic summariser is
# likewise shared by two strategies (`engine=...`).

# %%
translator = load_translator(TRANSLATOR, device=DEVICE, decode=DecodeConfig(beam_size=BEAM_SIZE, max_new_tokens=MAX_NEW_TOKENS))
model_options = {"device": DEVICE, "max_tokens": MAX_TOKENS, "beam_size": SUMMARY_BEAM_SIZE}
arabic_abstractive = Summariser(SummaryConfig(strategy="abstractive", lang="ar", model=AR_SUMMARISER, **model_options))
summarisers = {
    "lead": Summariser(SummaryConfig(strategy="lead", sentences=SENTENCES)),
    "textrank": Summariser(SummaryConfig(strategy="textrank", sentences=SENTENCES)),
    "lead + translator": Summariser(SummaryConfig(strategy="lead", sentences=SENTENCES), translator=translator),
    "textrank + translator": Summariser(SummaryConfig(strategy="textrank", sentences=SENTENCES), translator=translator),
    "abstractive (ar)": arabic_abstractive,
    "translate-then-summarise": Summariser(
        SummaryConfig(strategy="translate-then-summarise", model=EN_SUMMARISER, **model_options), translator=translator),
    "summarise-then-translate": Summariser(
        SummaryConfig(strategy="summarise-then-translate", model=AR_SUMMARISER, **model_options),
        engine=arabic_abstractive.pipeline().engine, translator=translator),
    "direct": Summariser(SummaryConfig(strategy="direct", model=CROSS_SUMMARISER, **model_options)),
}
table([{"strategy": name, "summariser": s.config.summary_model or "–",
        "translator": TRANSLATOR if s.translates else "–"} for name, s in summarisers.items()])

# %% [markdown]
# ## 2. Every strategy on the same articles

# %%
summaries, rows = {}, []
for name, summariser in summarisers.items():
    started = time.perf_counter()
    summaries[name] = summariser.summarise(articles)
    rows.append({"strategy": name, "language": summaries[name][0].lang, "seconds": time.perf_counter() - started,
                 "flagged": sum(bool(s.flags) for s in summaries[name]),
                 "flags": sorted({f for s in summaries[name] for f in s.flags}),
                 "chunked": sum(s.chunked for s in summaries[name])})
table(rows, digits=2, caption=f"{len(articles)} articles")

# %% [markdown]
# Flags say what to check before trusting a summary: `capped` (the summariser stopped at its
# token cap), `repetition` (a looping output), `translation-capped` and
# `translation-repetition` (the same for the translation step), `not-arabic` (an Arabic
# strategy received something else). `chunked` counts articles too long for the
# summariser's input, summarised through the chunked path (section 4).
#
# What each strategy wrote for the first article; Arabic summaries are right to left:

# %%
first = 0
table([{"strategy": name, "language": s[first].lang, "summary": s[first].text} for name, s in summaries.items()],
      caption=ids[first])

# %% [markdown]
# The extractive strategies with a translator keep the Arabic behind each English sentence
# (`Summary.source_sentences`), so a summary can be checked against its source line by line:

# %%
picked = summaries["textrank + translator"][first]
side_by_side(picked.source_sentences, picked.sentences, headers=["Arabic sentence kept", "English"],
             langs=["ar", "en"], index=[f"sentence {i + 1}" for i in picked.indices], caption=ids[first])

# %% [markdown]
# Pipelines keep their intermediate text too (`Summary.intermediate`): the article's
# translation for `translate-then-summarise`, the Arabic summary for
# `summarise-then-translate`.

# %%
two_step = summaries["summarise-then-translate"][first]
side_by_side([two_step.intermediate], [two_step.text], headers=["Arabic summary (mT5 XL-Sum)", "its translation"],
             langs=["ar", "en"], caption=ids[first])

# %% [markdown]
# ## 3. Lengths
# Summary length in words per strategy, and its share of the article (compression). Arabic
# has fewer, longer words than English (clitics attach to words), so compare Arabic-output and
# English-output strategies with that in mind.

# %%
article_words = [len(a.split()) for a in articles]
lengths = {name: [len(s.text.split()) for s in summ_list] for name, summ_list in summaries.items()}
table([{"strategy": name, "language": summaries[name][0].lang, "mean words": mean(words),
        "min": min(words), "max": max(words),
        "% of article": 100 * mean(w / max(a, 1) for w, a in zip(words, article_words))}
       for name, words in lengths.items()])

# %%
bar_chart(list(lengths), [mean(w) for w in lengths.values()], title="mean summary length", xlabel="words")

# %% [markdown]
# Extractive lengths follow the sentences they keep (`SENTENCES`); model lengths follow each
# model's trained summary length unless `MAX_TOKENS` caps them.
#
# ## 4. The long-article path
# A summariser has an input limit (mT5's is shown below). An article longer than that is never
# cut: `chunk_text` splits it at paragraph, then line, then sentence boundaries into pieces
# that fit, each piece is summarised, and the joined piece summaries are summarised again
# until the text fits. The cutting itself, shown with a word count standing in for tokens:

# %%
seed = articles[-1]
chunks = chunk_text(seed, lambda text: len(text.split()), 120)
table([{"chunk": n + 1, "words": len(c.split()), "paragraphs": c.count("\n\n") + 1, "starts with": c[:70]}
       for n, c in enumerate(chunks)], caption=f"{ids[-1]}: {len(seed.split())} words in chunks of at most 120")

# %% [markdown]
# With the real summariser the limit is measured in its own tokens. `LONG_INPUT_TOKENS`
# lowers the limit to force the path on shorter articles:

# %%
long_config = SummaryConfig(strategy="abstractive", lang="ar", model=AR_SUMMARISER, max_input_tokens=LONG_INPUT_TOKENS,
                            **model_options)
long_summariser = Summariser(long_config, engine=arabic_abstractive.pipeline().engine)
long_summary = long_summariser.summarise([seed])[0]
engine = long_summariser.pipeline().engine
table({"article tokens": len(engine.encode([seed])[0]), "input limit (tokens)": long_summariser.pipeline().limit,
       "chunked": long_summary.chunked, "first-level chunks": long_summary.chunks, "flags": long_summary.flags,
       "summary": long_summary.text}, caption=f"{ids[-1]} with {AR_SUMMARISER}")

# %% [markdown]
# `Summary.chunked` and `Summary.chunks` record whether (and into how many pieces) an article
# was cut, so results on long articles can be separated from the rest in an analysis.
#
# ## Recap
# * One function, six strategies: `summarise(docs, strategy, ...)` or, to reuse loaded models,
#   `Summariser(SummaryConfig(...), engine=..., translator=...)`.
# * Extractive strategies need no weights and keep the Arabic behind every English sentence;
#   model strategies keep their intermediate text; every summary carries flags.
# * Long articles go through the chunked path, recorded on each summary.
# * Scoring summaries: `summ.metrics.evaluate_summaries` against reference summaries (CrossSum/XL-Sum
#   JSONL), and `summ.metrics.propagation` for how translation errors change summaries
#   (`05_error_analysis`).
