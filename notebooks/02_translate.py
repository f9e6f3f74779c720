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
# # 02 · Translate: engines, batching, the cache, and what each run reports
#
# The translation layer in the order a researcher meets it: the two engines (Hugging Face
# transformers and CTranslate2) on the same model, the batch settings (which change speed,
# never text), the SQLite cache that makes long runs resumable, the run summary (pieces
# split, outputs stopped at their cap, flagged lines), and a side-by-side view of source,
# output and reference.
#
# **What a run shows.** With the defaults (`Helsinki-NLP/opus-mt-ar-en`, all of NTREX-128)
# the outputs are real translations and the timings are those of your machine. CI injects a
# tiny test model (toy size, trained to copy its input), greedy search with a small token
# cap, and a few documents: its outputs copy pieces of the Arabic, so its "capped" and
# "wrong script" counts are high, and its timings measure nothing. Its tiny LLM (section 7)
# is a Qwen2-shaped chat model with random weights: its "wrong script" counts are near-total.

# %% tags=["parameters"]
MODEL = "Helsinki-NLP/opus-mt-ar-en"  # hub id or local folder
DEVICE = "auto"  # cuda, then mps, then cpu
BEAM_SIZE = 4  # the opus-mt evaluation setting
MAX_NEW_TOKENS = None  # None: each output's cap grows with its source (length_ratio x tokens + margin)
CT2_COMPUTE_TYPE = "int8"  # CTranslate2 weights: int8, int8_float32, float32, float16 ...
CT2_CACHE_DIR = None  # where CTranslate2 conversions are kept; None: $SUMM_CT2_CACHE or ~/.cache/summ/ct2
N_DOCUMENTS = None  # NTREX-128 documents to translate; None: all of them
DATA_DIR = None  # folder holding ntrex128/; None: $SUMM_DATA_DIR or the default data folder
SPLIT_DEMO_TOKENS = 24  # a deliberately small input limit, to show long segments being split
WORK_DIR = None  # cache and output files; None: a new temporary folder
LLM_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"  # an instruction-tuned chat model (section 7)
LLM_PROMPT = None  # None: the model's default prompt of summ.prompts ("translate")

# %%
import tempfile
import time
from pathlib import Path

from summ import BatchConfig, DecodeConfig, load_ntrex128, load_translator, score, translate_file
from summ.cache import Cache
from summ.display import side_by_side, table
from summ.translate import PipelineTranslator

work = Path(WORK_DIR) if WORK_DIR else Path(tempfile.mkdtemp(prefix="summ-02-translate-"))
work.mkdir(parents=True, exist_ok=True)
full = load_ntrex128(Path(DATA_DIR) if DATA_DIR else None)
corpus = full.select_documents(N_DOCUMENTS) if N_DOCUMENTS else full
documents = corpus.documents()
first_id, first_lines = documents[0]
sources = [corpus.src[i] for i in first_lines]  # the first document, for the comparisons below
decode = DecodeConfig(beam_size=BEAM_SIZE, max_new_tokens=MAX_NEW_TOKENS)
table({"corpus": corpus.name, "lines": len(corpus), "documents": len(documents), "first document": first_id,
       "its lines": len(sources)})

# %% [markdown]
# ## 1. Two engines, one model
# `engine="hf"` runs the model with transformers; `engine="ct2"` converts it once to
# CTranslate2 (here with `CT2_COMPUTE_TYPE` weights), keeps the conversion in a cache folder
# and decodes with it. Both tokenise with the same Hugging Face tokenizer, so the model sees
# identical token ids.

# %%
hf = load_translator(MODEL, "hf", device=DEVICE, decode=decode)
ct2 = load_translator(MODEL, "ct2", device=DEVICE, decode=decode, compute_type=CT2_COMPUTE_TYPE,
                      cache_dir=CT2_CACHE_DIR)
outputs, rows = {}, []
for name, translator in (("hf", hf), ("ct2", ct2)):
    started = time.perf_counter()
    outputs[name] = translator.translate(sources)
    rows.append({"engine": translator.engine.name, "revision": translator.engine.revision,
                 "seconds": time.perf_counter() - started, "lines": len(sources)})
rows[1]["same output as hf"] = sum(a == b for a, b in zip(outputs["hf"], outputs["ct2"]))
table(rows, digits=2)

# %%
side_by_side(sources, outputs["hf"], outputs["ct2"], langs=["ar", "en", "en"],
             headers=["Arabic", f"hf ({hf.engine.name})", f"ct2 ({ct2.engine.name})"],
             index=[f"line {i + 1}" for i in first_lines], caption=first_id)

# %% [markdown]
# Where the two columns differ, the reason is one of two: int8 weights (set
# `CT2_COMPUTE_TYPE = "float32"` to compare like with like; in float32 with greedy search the
# engines agree token for token), or the stopping rule: Marian configs force `</s>` at the
# last allowed position in transformers, while CTranslate2 does not, so outputs that reach
# their cap end differently. On a GPU, CTranslate2 in int8 or float16 is usually the faster
# choice for large runs; measure on your machine with `eval/bench/bench_translate.py`.
#
# ## 2. Batch settings change speed, never text
# Segments are measured in model tokens, sorted by length and grouped into batches under a
# token budget (`BatchConfig.batch_tokens`, at most `max_batch_size` segments). Results are
# put back in the original order.

# %%
table(vars(BatchConfig()), caption="BatchConfig defaults")

# %%
rows, texts = [], {}
for batch in (BatchConfig(batch_tokens=64, max_batch_size=1), BatchConfig()):
    translator = PipelineTranslator(hf.engine, decode=decode, batch=batch)
    started = time.perf_counter()
    texts[batch] = translator.translate(sources)
    rows.append({"batch_tokens": batch.batch_tokens, "max_batch_size": batch.max_batch_size,
                 "seconds": time.perf_counter() - started})
first, second = texts.values()
rows[1]["identical outputs"] = sum(a == b for a, b in zip(first, second))
table(rows, digits=2)

# %% [markdown]
# `PipelineTranslator(engine, decode, batch, cache)` reuses a loaded engine with other
# settings: no second load.
#
# ## 3. Nothing is truncated: long segments are split
# Each model has an input limit (and the output cap must still fit the decoder), so a segment
# longer than `BatchConfig.max_input_tokens` is split at the best boundary (clause
# punctuation first, then spaces), the pieces are translated and joined. With the model's
# real limit few NTREX sentences need it; here the limit is lowered to `SPLIT_DEMO_TOKENS`
# to show it at work.

# %%
splitter = PipelineTranslator(hf.engine, decode=decode, batch=BatchConfig(max_input_tokens=SPLIT_DEMO_TOKENS))
split_result = splitter.translate_segments(sources)
split_records = [r for r in split_result.records if len(r.pieces) > 1]
print(split_result.stats.line())
side_by_side([" ‖ ".join(p.source.strip() for p in r.pieces) for r in split_records],
             [r.translation for r in split_records], [r.source_tokens for r in split_records],
             headers=["Arabic, as pieces (‖)", "English, pieces joined", "source tokens"], langs=["ar", "en", "en"],
             caption=f"segments over {splitter.limit} tokens")

# %% [markdown]
# ## 4. The cache, and resuming a run
# With `cache=PATH`, every finished piece is stored in SQLite under a key made of the model,
# its revision, the engine and every generation setting, so a changed setting never returns
# a stale output. A run that is interrupted keeps what it finished; running it again
# translates only the rest. Here the "interrupted" run is the first half of the documents.

# %%
cache_path = work / "cache.sqlite"
cached = PipelineTranslator(hf.engine, decode=decode, cache=Cache(cache_path), progress=True)
lines = list(corpus.src)
half = documents[len(documents) // 2][1][0] if len(documents) > 1 else len(lines) // 2
runs = {"first half (then interrupted)": cached.translate_documents(lines[:half]),
        "everything (resumed)": cached.translate_documents(lines),
        "everything again": cached.translate_documents(lines)}
table([{"run": name, "segments": r.stats.segments, "from cache": r.stats.cache_hits,
        "translated": r.stats.translated, "seconds": r.stats.seconds} for name, r in runs.items()], digits=2)

# %% [markdown]
# `translated` counts distinct pieces sent to the model: identical sentences (headlines,
# bylines) are translated once. The same cache serves `summ translate --cache PATH` and
# `summ run` (each results folder keeps its own `cache.sqlite`).
#
# Files work the same way: `translate_file` writes exactly one output line per input line
# (to `OUTPUT.partial`, renamed when complete) and, optionally, one JSON object per segment.
# Everything is in the cache by now, so nothing is translated again:

# %%
src_file, out_file, seg_file = work / "ntrex.ar.txt", work / "ntrex.en.txt", work / "ntrex.segments.jsonl"
src_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
file_summary = translate_file(cached, src_file, out_file, segments=seg_file)
print(file_summary.line())
print(seg_file.read_text(encoding="utf-8").splitlines()[0])

# %% [markdown]
# ## 5. The run summary
# Every call returns a `RunStats`: segments, pieces and splits, outputs that stopped at
# their length cap (a sign of a runaway or truncated output), sources that are not Arabic,
# repetitive outputs (the loops opus-mt produces on noisy input), cache use and speed.

# %%
result = runs["everything (resumed)"]
table(result.stats.as_dict(), caption=corpus.name, digits=3)

# %% [markdown]
# Each segment's record says what happened to it. The flagged ones:

# %%
flagged = [(i, n, rec) for i, recs in enumerate(result.records) for n, rec in enumerate(recs) if rec.flags]
table([{"line": i + 1, "document": corpus.doc_ids[i], "segment": n, "flags": rec.flags, "source": rec.source,
        "translation": rec.translation} for i, n, rec in flagged[:10]],
      caption=f"{len(flagged)} of {sum(len(r) for r in result.records)} segments flagged (the first 10)")

# %% [markdown]
# ## 6. Source, output and reference side by side
# NTREX-128 lines translated above, next to the human reference, with each line's chrF
# (sentence-level chrF is meaningful for single lines; BLEU is not).

# %%
hyps = [result.texts[i] for i in first_lines]
refs = [corpus.refs[0][i] for i in first_lines]
chrf = [s.score for s in score(hyps, refs, ["chrf"], level="sentence")]
side_by_side(sources, hyps, refs, chrf, headers=["Arabic source", "English output", "English reference", "chrF"],
             langs=["ar", "en", "en", "en"], index=[f"line {i + 1}" for i in first_lines], caption=first_id)

# %% [markdown]
# ## 7. An instruction-tuned LLM beside the NMT model
# A causal LM goes through the same pipeline: each segment is put into a versioned prompt
# template (`summ.prompts`) and the model's own chat template, generation stops at its
# end-of-turn token, and nothing is truncated (prompt, source and output share its context,
# and longer segments are split). LLMs decode greedily here, as LLM-based MT is usually
# evaluated. The prompt is part of the cache key and of the engine's settings:

# %%
llm = load_translator(LLM_MODEL, "hf", device=DEVICE, prompt=LLM_PROMPT,
                      decode=DecodeConfig(beam_size=1, max_new_tokens=MAX_NEW_TOKENS))
prompt = llm.engine.settings()["prompt"]
table({"model": LLM_MODEL, "prompt": f"{prompt['name']} v{prompt['version']} ({prompt['format']})",
       "context tokens": llm.engine.context_tokens, "prompt tokens": llm.engine.prompt_tokens,
       "input limit": llm.limit})
print(llm.engine.codec.render([sources[0]])[0])

# %% [markdown]
# The same first document through the NMT engines and the LLM, scored against the
# reference, with the output checks that catch LLM failure modes (every engine gets them:
# an NMT model that outputs Arabic is as wrong as an LLM that does):

# %%
llm_result = llm.translate_segments(sources)
nmt_result = hf.translate_segments(sources)
refs_first = [corpus.refs[0][i] for i in first_lines]
check_names = ("capped", "wrong-script", "too-long", "prompt-echo", "stripped", "empty-output")
rows = []
for name, translator, res in (("NMT, hf", hf, nmt_result), ("NMT, ct2", ct2, ct2.translate_segments(sources)),
                              ("LLM, hf", llm, llm_result)):
    chrf_first = score(res.translations, refs_first, ["chrf"])[0].score
    rows.append({"system": name, "engine": translator.engine.name, "chrF": chrf_first,
                 **{flag: sum(flag in r.flags for r in res.records) for flag in check_names}})
table(rows, digits=1, caption=f"{first_id}: {len(sources)} lines")

# %% [markdown]
# Flagged LLM outputs, with what the model wrote before known chatter ("Here is the
# translation:", code fences, trailing notes: `summ.translate.CLEANUPS`) was stripped:

# %%
llm_flagged = [r for r in llm_result.records if r.flags]
side_by_side([r.source for r in llm_flagged], [r.translation for r in llm_flagged],
             [" ".join(r.flags) for r in llm_flagged],
             ["‖".join(p.raw or "" for p in r.pieces) for r in llm_flagged],
             headers=["Arabic", "LLM output", "flags", "raw, where stripped"], langs=["ar", "en", "en", "en"],
             caption=f"{len(llm_flagged)} of {len(sources)} LLM outputs flagged")

# %% [markdown]
# `load_translator(..., level="document")` puts several lines into one prompt and maps the
# answer back line by line only when it has as many lines; otherwise those lines are
# translated sentence by sentence and flagged `doc-fallback`. `eval/configs/ntrex128-llm.toml`
# runs Qwen2.5, Gemma 2 and GemmaX2-28 beside opus-mt-tc-big on all of NTREX-128.
#
# ## Recap
# * `load_translator(model, "hf" | "ct2")` gives the same pipeline over either engine;
#   compare them in float32 with the same stopping rule before reading anything into a
#   difference.
# * `BatchConfig` changes speed only; `DecodeConfig` changes outputs (and the cache key).
# * Long segments are split, never cut, and every split, capped output and flagged line is
#   in the `RunStats` and the segment records.
# * `cache=PATH` makes a run resumable; `translate_file` streams files with one line out per
#   line in.
# * Instruction-tuned LLMs run through the same pipeline with a versioned prompt; their
#   outputs (and every engine's) are checked for the wrong script, runaway length, prompt
#   echoes and emptiness, and known chatter is stripped visibly.
#
# Next: `03_summarise` (summaries on top of these translations), `04_evaluate` (scores and
# significance for whole experiments).
