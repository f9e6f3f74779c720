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
# # 01 · Data: NTREX-128, the seed article, your own files, and how Arabic is segmented
#
# Before anything is translated: what the evaluation data looks like (documents, sentences,
# lengths, outlets), how to load the seed article and your own files, and how `summ` cuts
# Arabic text into the sentences a model translates. No model is loaded in this notebook.
#
# **What a run shows.** Everything here is computed from the data, so a real run and the CI
# run show the same kind of tables; CI only looks at the first few NTREX-128 documents
# (`N_DOCUMENTS`), a full run at all of them.

# %% tags=["parameters"]
DATA_DIR = None  # folder holding ntrex128/; None: $SUMM_DATA_DIR, else where `summ data fetch ntrex128` puts it
N_DOCUMENTS = None  # NTREX-128 documents to look at; None: all of them
ARTICLES = "../data/articles"  # the seed article: a folder of .txt files (or a .jsonl file)
MY_ARTICLES = None  # your own articles (a folder of .txt or a .jsonl with id/text); None: examples below
WORK_DIR = None  # where the example files are written; None: a new temporary folder
TOP_WORDS = 15  # how many frequent Arabic words to plot

# %%
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from statistics import mean, median

from summ import InputError, data
from summ import segment as seg
from summ.display import bar_chart, histogram, side_by_side, table

work = Path(WORK_DIR) if WORK_DIR else Path(tempfile.mkdtemp(prefix="summ-01-data-"))
work.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. NTREX-128
# `load_ntrex128` reads the three pinned files (Arabic source, English reference, document
# ids) and checks each one's sha256 against the upstream commit. If they are missing, run
# `summ data fetch ntrex128` once (or point `SUMM_DATA_DIR` at a copy).

# %%
full = data.load_ntrex128(Path(DATA_DIR) if DATA_DIR else None)
corpus = full.select_documents(N_DOCUMENTS) if N_DOCUMENTS else full
table([{"role": role, "file": Path(path).name, "sha256": full.hashes[path][:16] + "…"} for role, path in full.files.items()],
      caption=f"{full.name}: {len(full)} lines in {len(full.documents())} documents ({full.src_lang}→{full.tgt_lang})")

# %% [markdown]
# The Arabic side is the *source* and the English side the *reference*. NTREX-128's Arabic is
# a professional translation of English news (WMT19), so Arabic→English runs against the
# direction the data was made: use it to compare systems with each other.
#
# ## 2. Documents and outlets
# Every line carries a document id such as `bbc.381790`; the part before the dot is the
# news outlet. A document's lines are consecutive, and `corpus.documents()` lists them.

# %%
documents = corpus.documents()
outlets = Counter(doc_id.split(".")[0] for doc_id, _ in documents)
lines_per_outlet = Counter()
for doc_id, lines in documents:
    lines_per_outlet[doc_id.split(".")[0]] += len(lines)
table([{"outlet": o, "documents": n, "sentences": lines_per_outlet[o]} for o, n in outlets.most_common()],
      caption=f"{corpus.name}: {len(documents)} documents from {len(outlets)} outlets")

# %%
bar_chart([o for o, _ in outlets.most_common()], [lines_per_outlet[o] for o, _ in outlets.most_common()],
          title=f"{corpus.name}: sentences per outlet", xlabel="sentences", digits=0)

# %% [markdown]
# Outlets differ a lot in how much they contribute; a corpus score is dominated by the big
# ones, which is why `05_error_analysis` also scores per outlet.
#
# The first document, line by line: Arabic source beside the English reference.

# %%
first_id, first_lines = documents[0]
side_by_side([corpus.src[i] for i in first_lines], [corpus.refs[0][i] for i in first_lines],
             headers=["Arabic (source)", "English (reference)"], langs=["ar", "en"],
             index=[f"line {i + 1}" for i in first_lines], caption=first_id)

# %% [markdown]
# ## 3. Lengths
# Sentence lengths in whitespace words, Arabic against English. Arabic attaches articles,
# prepositions and pronouns to words, so the same sentence has fewer Arabic words.

# %%
ar_words = [len(s.split()) for s in corpus.src]
en_words = [len(s.split()) for s in corpus.refs[0]]
doc_lines = [len(lines) for _, lines in documents]
table([{"what": what, "mean": mean(v), "median": median(v), "min": min(v), "max": max(v)}
       for what, v in (("Arabic words per line", ar_words), ("English words per line", en_words),
                       ("lines per document", doc_lines))])

# %%
histogram({"Arabic": ar_words, "English": en_words}, bins=20, title=f"{corpus.name}: words per line",
          xlabel="words")

# %% [markdown]
# The most frequent Arabic words of four letters or more (most function words are shorter;
# punctuation stripped), plotted with
# Arabic labels: the display helpers shape them so they read right to left with joined letters.

# %%
punctuation = ".,،؛;:!?؟«»\"'()[]-–—"
words = Counter(w.strip(punctuation) for line in corpus.src for w in line.split())
frequent = [(w, n) for w, n in words.most_common() if len(w) >= 4 and not w.isdigit()][:TOP_WORDS]
bar_chart([w for w, _ in frequent], [n for _, n in frequent], title=f"{corpus.name}: frequent Arabic words",
          xlabel="occurrences", digits=0)

# %% [markdown]
# ## 4. The seed article
# `read_articles` reads a folder of `.txt` files (one article each, sorted by name; the file
# stem is the id) or a JSONL file with `id` and `text`.

# %%
articles = data.read_articles(ARTICLES)
table([{"id": a.id, "characters": len(a.text), "paragraphs": len(seg.normalise(a.text).split("\n\n")),
        "sentences": len(seg.segment(a.text))} for a in articles])

# %%
seed = articles[0]
paragraphs = seg.normalise(seed.text).split("\n\n")
side_by_side(paragraphs, headers=["Arabic paragraph"], langs=["ar"],
             index=[f"¶ {i + 1}" for i in range(len(paragraphs))], caption=seed.id)

# %% [markdown]
# A scraped page: the headline appears three times (title, body, footer) and the second
# paragraph holds a dateline. Summaries skip repeated sentences for this reason
# (`SummaryConfig.skip_duplicates`).
#
# ## 5. Your own files
# Point `MY_ARTICLES` at a folder of `.txt` files or a `.jsonl` file. Without it, this cell
# writes one of each (plus a small line-aligned parallel corpus) into `WORK_DIR`, so that
# every loader can be shown.

# %%
if MY_ARTICLES:
    mine = data.read_articles(MY_ARTICLES)
else:
    folder = work / "my-articles"
    folder.mkdir(exist_ok=True)
    (folder / "article-1.txt").write_text(paragraphs[2] + "\n\n" + paragraphs[3] + "\n", encoding="utf-8")
    (folder / "article-2.txt").write_text(paragraphs[4] + "\n", encoding="utf-8")
    mine = data.read_articles(folder)
table([{"id": d.id, "characters": len(d.text), "sentences": len(seg.segment(d.text)), "starts with": d.text[:60]}
       for d in mine])

# %% [markdown]
# JSON Lines with `id` and `text` (any other field is kept in `Document.meta`), and line-aligned
# parallel files with optional document ids, as `summ evaluate` and `[[datasets]] type =
# "parallel"` read them:

# %%
jsonl = work / "articles.jsonl"
jsonl.write_text("".join(json.dumps({"id": d.id, "text": d.text, "outlet": "seed"}, ensure_ascii=False) + "\n"
                         for d in mine), encoding="utf-8")
from_jsonl = data.read_articles(jsonl)

sample = corpus.select_documents(1)
src_file, ref_file, ids_file = work / "sample.ar.txt", work / "sample.en.txt", work / "sample.ids.txt"
src_file.write_text("".join(line + "\n" for line in sample.src), encoding="utf-8")
ref_file.write_text("".join(line + "\n" for line in sample.refs[0]), encoding="utf-8")
ids_file.write_text("".join(i + "\n" for i in sample.doc_ids), encoding="utf-8")
parallel = data.load_parallel(src_file, [ref_file], doc_ids_path=ids_file, name="my-sample")
table([{"loader": "read_articles(.jsonl)", "items": len(from_jsonl), "meta": sorted(from_jsonl[0].meta)},
       {"loader": "load_parallel", "items": len(parallel), "meta": f"{len(parallel.documents())} document(s)"}])

# %% [markdown]
# Loaders never skip, merge or reorder lines. Files that do not line up fail with a message
# naming each file and its line count:

# %%
short_ref = work / "short.en.txt"
short_ref.write_text("".join(line + "\n" for line in sample.refs[0][:-1]), encoding="utf-8")
try:
    data.load_parallel(src_file, [short_ref])
except InputError as error:
    print(error)

# %% [markdown]
# ## 6. Segmentation on real Arabic
# The translator works sentence by sentence. `segment` cuts a document into paragraphs (blank
# lines), lines (line breaks) and sentences (the rule table in `summ.segment`), and `rebuild`
# puts the translations back in the same layout. The rule table, as the module defines it:

# %%
table([{"constant": name, "value": " · ".join(sorted(value)) if isinstance(value, frozenset) else value}
       for name, value in (("SENTENCE_STOPS", seg.SENTENCE_STOPS), ("CLOSING_MARKS", seg.CLOSING_MARKS),
                           ("CLAUSE_MARKS", seg.CLAUSE_MARKS), ("ABBREVIATIONS_AR", seg.ABBREVIATIONS_AR),
                           ("SPEECH_TAGS_AR", seg.SPEECH_TAGS_AR))])

# %% [markdown]
# Real NTREX-128 lines with an Arabic question mark `؟`, with quotation marks, and with decimal
# numbers (taken from the whole corpus, not only the documents above), each cut into sentences:

# %%
examples = {
    "question mark ؟": next(s for s in full.src if "؟" in s and len(seg.split_sentences(s)) > 1),
    "quotation marks": next(s for s in full.src if s.count('"') >= 2 and len(seg.split_sentences(s)) > 1),
    "decimal number": next(s for s in full.src if re.search(r"\d\.\d", s)),
}
rows = []
for what, line in examples.items():
    for n, sentence in enumerate(seg.split_sentences(line), start=1):
        rows.append({"case": what, "sentence": n, "text": sentence})
table(rows, caption="split_sentences on NTREX-128 lines")

# %% [markdown]
# In the table: `؟` ends a sentence like `?`; a stop followed by a closing
# quote keeps the quote with its sentence; the dot of a decimal number is never a sentence
# end, because no space follows it. The same holds for Arabic-Indic digits with the
# Arabic decimal separator, and for abbreviations such as `د.` (doctor):

# %%
constructed = "قال د. أحمد إن النمو بلغ ٣٫٥ في المئة، أي 3.5%. هل هذا كثير؟ «لا أظن ذلك!» قال الوزير."
table([{"sentence": n, "text": s} for n, s in enumerate(seg.split_sentences(constructed), start=1)],
      caption="split_sentences on a constructed line")

# %% [markdown]
# `segment` on the seed article, with where each sentence sits (paragraph, line, sentence):

# %%
segments = seg.segment(seed.text)
table([{"paragraph": s.paragraph, "line": s.line, "sentence": s.sentence, "text": s.text} for s in segments[:8]],
      caption=f"{seed.id}: the first 8 of {len(segments)} segments")

# %% [markdown]
# Normalisation is conservative: bidi control marks, the BOM, tatweel (ـ) and Arabic
# presentation forms (from PDFs and legacy encodings) are cleaned; letters, digits and
# diacritics stay as written unless asked.

# %%
messy = "\ufeff\u200fالرئيـــس  \uFEFB\u200e يقول:\r\n«نعم»"
clean = seg.normalise(messy)
table([{"text": "before", "characters": len(messy), "code points": " ".join(f"{ord(c):04X}" for c in messy)},
       {"text": "after", "characters": len(clean), "code points": " ".join(f"{ord(c):04X}" for c in clean)}])

# %%
print(clean)
print("rebuild(segment(text)) == normalise(text):", seg.rebuild(seg.segment(seed.text)) == seg.normalise(seed.text))

# %% [markdown]
# ## 7. Sentence boundaries measured against NTREX-128
# Each NTREX-128 line is a human sentence (or a small group of them). Joining a document's
# lines with spaces and letting `split_sentences` cut the text again shows how often its cuts
# fall where a human put a line break (the whole corpus, not only the documents above):

# %%
def starts(sentences):
    """Offsets where the 2nd, 3rd, ... sentence starts in " ".join(sentences)."""
    return {sum(len(s) + 1 for s in sentences[:k]) for k in range(1, len(sentences))}


def ends_without_stop(text):
    """True if text ends without a stop (closing quotes and brackets aside): a headline."""
    return text.rstrip().rstrip(seg.CLOSING_MARKS)[-1:] not in seg.SENTENCE_STOPS + "؛"


right = wrong = missed = unpunctuated = exact = 0
wrong_cuts = []
for doc_id, indices in full.documents():
    lines = [seg.normalise(full.src[i]) for i in indices]
    text = " ".join(lines)
    gold, cuts = starts(lines), starts(seg.split_sentences(text))
    right += len(gold & cuts)
    wrong += len(cuts - gold)
    missed += len(gold - cuts)
    unpunctuated += sum(ends_without_stop(text[:c]) for c in gold - cuts)
    exact += gold == cuts
    wrong_cuts += [{"document": doc_id, "before the cut": text[max(0, c - 45):c],
                    "after the cut": text[c:c + 45]} for c in sorted(cuts - gold)]
precision, recall = right / (right + wrong), right / (right + missed)
table({"gold boundaries (line breaks)": right + missed, "cuts": right + wrong, "right": right,
       "wrong cuts": wrong, "misses": missed, "misses after a line without a stop": unpunctuated,
       "precision": precision, "recall": recall,
       "F1": 2 * precision * recall / (precision + recall),
       "documents cut exactly": f"{exact} of {len(full.documents())}"},
      caption=f"split_sentences against the line boundaries of {full.name} (Arabic)", digits=4)

# %% [markdown]
# The first few wrong cuts, with the text on either side:

# %%
table(wrong_cuts[:6], caption=f"{len(wrong_cuts)} wrong cuts; the first 6")

# %% [markdown]
# A miss after a line without a stop is a headline or a list item: no punctuation rule can
# find it, so compare that count with all misses. A wrong cut is not always wrong: an NTREX-128
# line can hold two sentences of the English original. `eval/segmentation/measure.py` runs the
# same measurement on UD Arabic-PUD and on pySBD and sorts every error by kind
# (`eval/segmentation/results.md`).
#
# ## Recap
# * `load_ntrex128()` gives a line-aligned `ParallelCorpus` (source, references, document ids,
#   file hashes); `documents()` groups lines by document, the outlet is the id before the dot,
#   and `select_documents(k)` takes a prefix for quick runs.
# * `read_articles` reads folders of `.txt` and JSONL; `load_parallel` reads your own aligned
#   files and refuses misaligned ones with a message naming each file.
# * `segment` / `split_sentences` handle `؟`, quotes, decimals and abbreviations, and
#   `rebuild` restores the exact normalised layout, which is what keeps paragraphs intact in
#   translation (`02_translate`). `؛` joins clauses, a mid-sentence ellipsis and a quotation
#   followed by a speech tag (`قائلًا`, `كما أضاف`) continue the sentence.
# * Against NTREX-128's human line boundaries, `split_sentences` is measured in section 7:
#   precision, recall and F1 of its cuts, and the wrong cuts to look at.
