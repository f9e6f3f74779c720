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
# # 00 · Quickstart: an Arabic article to English, and a three-sentence summary
#
# The project's seed article (Putin receiving Assad in Moscow, March 2023) goes through the
# whole `summ` pipeline in a handful of cells: read it, load a translator, translate the
# document (paragraphs kept, nothing truncated), and write a three-sentence English summary.
#
# **What a run shows.** With the defaults below (the real `Helsinki-NLP/opus-mt-ar-en`,
# downloaded from the Hugging Face hub on first use) you get a readable English translation.
# CI runs this notebook with a tiny *test* model injected into the parameters cell (toy size,
# trained for seconds to copy its input): its "English" is pieces of the Arabic, and nothing it
# prints says anything about translation quality; it only proves that every cell runs.

# %% tags=["parameters"]
# The one cell to change the model: any Arabic→English hub id or local folder, e.g.
# "Helsinki-NLP/opus-mt-tc-big-ar-en" or "facebook/nllb-200-distilled-600M".
MODEL = "Helsinki-NLP/opus-mt-ar-en"
ENGINE = "hf"  # "hf" (transformers) or "ct2" (CTranslate2, converted on first use)
DEVICE = "auto"  # cuda, then mps, then cpu
BEAM_SIZE = 4  # the setting opus-mt models are evaluated with
MAX_NEW_TOKENS = None  # None: each output's cap grows with its source sentence
ARTICLE = "../data/articles/putin-assad-2023-03-15.ar.txt"
SUMMARY_SENTENCES = 3

# %% [markdown]
# ## 1. The article
# Read the file as it is and cut it into paragraphs and sentences, the units the translator
# works on.

# %%
from summ import read_text
from summ.display import side_by_side, table
from summ.segment import normalise, segment

article = read_text(ARTICLE)
sentences = segment(article)
table({"file": ARTICLE, "characters": len(article),
       "paragraphs": len({s.paragraph for s in sentences}), "sentences": len(sentences)})

# %% [markdown]
# Segmentation normalises first (bidi marks, tatweel, spacing), so these counts are the units
# the model will see. `01_data` shows the splitting rules on real Arabic.
#
# ## 2. A translator
# `load_translator` takes a hub id or a folder and returns a translator whose
# `translate_documents` never truncates: long sentences are split at clause boundaries, each
# output's length cap grows with its input, and every capped output is counted.

# %%
from summ import DecodeConfig, load_translator

translator = load_translator(MODEL, ENGINE, device=DEVICE,
                             decode=DecodeConfig(beam_size=BEAM_SIZE, max_new_tokens=MAX_NEW_TOKENS), progress=True)
table({"model": translator.engine.model_id, "revision": translator.engine.revision, "engine": translator.engine.name,
       "input limit (tokens)": translator.limit})

# %% [markdown]
# The revision is the hub commit (or a fingerprint of a local folder): it goes into caches and
# run manifests, so a result can always be traced to the exact weights.
#
# ## 3. Translate the document
# The article is one document; its paragraphs come back as paragraphs.

# %%
result = translator.translate_documents([article])
english = result.texts[0]
print(result.stats.line())

# %% [markdown]
# Paragraph by paragraph, Arabic (right to left) beside English (left to right):

# %%
arabic_paragraphs = normalise(article).split("\n\n")
english_paragraphs = english.split("\n\n")
side_by_side(arabic_paragraphs, english_paragraphs, headers=["Arabic (seed article)", "English (machine translation)"],
             langs=["ar", "en"], index=[f"¶ {i + 1}" for i in range(len(arabic_paragraphs))])

# %% [markdown]
# The line above the table is the run summary: how many sentences were split, stopped at their
# length cap, or flagged as repetitive. On the CI run every output hits its cap (random
# weights never stop); with the real model, look for capped or repetitive sentences there
# first (`05_error_analysis` does this systematically).
#
# ## 4. A three-sentence English summary
# TextRank picks the most central Arabic sentences (no model weights needed) and the same
# translator translates only those. `03_summarise` compares this with abstractive and
# cross-lingual models.

# %%
from summ import summarise

summary = summarise([article], "textrank", sentences=SUMMARY_SENTENCES, translator=translator)[0]
side_by_side(summary.source_sentences, summary.sentences, headers=["Arabic sentence kept", "English summary"],
             langs=["ar", "en"], index=[f"sentence {i + 1}" for i in summary.indices])

# %%
print(summary.text)

# %% [markdown]
# ## Recap
# * `load_translator(MODEL)` → `translate_documents([text])`: a whole article in, a whole
#   article out, paragraphs kept, with a run summary of anything suspicious.
# * `summarise([text], "textrank", translator=...)`: an extractive summary chosen in Arabic and
#   translated, with each English sentence tied to the Arabic it came from.
# * To try another model, change `MODEL` in the parameters cell and run all cells.
#
# Next: `01_data` (datasets and segmentation), `02_translate` (engines, batching, the cache),
# `03_summarise`, `04_evaluate`, `05_error_analysis`.
