#!/usr/bin/env python
"""Translation speed on this machine: HF vs CTranslate2 engines, and the whole pipeline.

    python eval/bench/bench_translate.py [--quick | --smoke | --gpu] [--dry-run] [--out eval/bench/results]

Models are random-weight copies of the *exact architecture* of Helsinki-NLP/opus-mt-ar-en
(and, in the full run, facebook/nllb-200-distilled-600M), so the benchmark runs offline;
speed depends on the shapes, not on the weights' values. Their tokenizers are SentencePiece
models of 8,000 pieces trained on NTREX-128 (source lengths like the real tokenizers': ~35
tokens per NTREX Arabic sentence), with the vocabulary padded to the real size so that the
output layer has its real width. Every engine figure uses a FIXED output length
(``min_new_tokens = max_new_tokens = N``), so all engines do exactly the same work.

Two tables: engines timed in turns inside one process (rotating order, best repetition):
the ratios, which contention from other processes cannot skew; and engines in processes of
their own: load time, peak RSS, batch size, sorting and token budgets. Then the pipeline:
the functions ``summ translate`` runs, cold and warm, and the CLI itself at 1x and 10x input
for peak RSS. Results go to ``OUT/{quick,full}.md`` and ``.json``; the script prints the
machine, the measured GEMM peaks, the arithmetic-limit fraction of every row and, per target,
whether it is met and what limits it. Benchmarks print figures; they do not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The two real architectures (from their config.json on the hub).
ARCHS = {
    "opus-mt-ar-en": dict(family="marian", d_model=512, layers=6, heads=8, ffn=2048, vocab=62834, positions=512),
    "nllb-600M": dict(family="nllb", d_model=1024, layers=12, heads=16, ffn=4096, vocab=256206, positions=1024),
}

# Targets of the issue (opus-mt architecture, batch 32, ratios within one run).
TARGETS = {"beam4_x_hf": 4.0, "greedy_x_hf": 3.0, "overhead": 0.05, "warm_speedup": 50.0, "rss_10x": 1.2}
#: Lines at 1x below which the peak-RSS target is not judged (the quick run's 100 lines make
#: batches smaller than the token budget; NTREX's 1,997 fill them).
FILLS_BATCHES = 1000


# --------------------------------------------------------------------------------------
# Machine.
# --------------------------------------------------------------------------------------


def physical_cores() -> int:
    from summ.engines.ct2 import physical_cores as cores  # no heavy imports at module level

    return cores()


#: ``--isa avx2``: what each library reads to stop at AVX2 (no AVX-512, no VNNI), so that this
#: machine's cores run the code an AVX2-only CPU gets: oneDNN (CTranslate2's GEMMs, torch's
#: oneDNN ops), CTranslate2's own kernels, MKL (torch's fp32 Linear) and ATen's vectorised ops.
#: Same cores and clocks, so an emulation of such a CPU, not a measurement on one.
ISA_AVX2 = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "CT2_FORCE_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
}


def machine_info() -> dict:
    import ctranslate2
    import numpy
    import torch
    import transformers

    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    checked = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")
    return {
        "host": socket.gethostname(),
        "cpu": model,
        "cpu_flags": [f for f in checked if f in flags],
        # Every flag that decides int8 speed, present or not: VNNI is what CTranslate2's int8
        # GEMM needs to run at full rate (without it, int8 runs on AVX2 at about half the rate).
        "cpu_flags_checked": {f: f in flags for f in checked},
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "ctranslate2": ctranslate2.__version__,
        "numpy": numpy.__version__,
        "cuda_devices": ctranslate2.get_cuda_device_count(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available()
        else [],
        "ct2_compute_types_cpu": sorted(ctranslate2.get_supported_compute_types("cpu")),
        "CT2_USE_MKL": os.environ.get("CT2_USE_MKL"),
        "isa_limits": {k: os.environ[k] for k in ISA_AVX2 if k in os.environ},
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def gemm_peak(threads: int, reps: int = 3, sizes: tuple[int, ...] = (1024, 2048, 4096)) -> dict:
    """Measured GEMM throughput with all cores, fp32 and int8.

    Square problems of 1024, 2048 and 4096, best of ``reps`` each. fp32 through both of
    torch's backends: MKL (``torch.matmul``, what HF's Linear layers use) and oneDNN (what
    CTranslate2 uses here); MKL takes a slow path on AMD CPUs, so the peak is the better of the
    two. int8 is the better of fbgemm's dynamic (activations quantised on the fly) and static
    quantised Linear. What the cores reach when a product is large enough to be
    arithmetic-bound.
    """
    import warnings

    import torch

    torch.set_num_threads(threads)

    def best(fn, flop: float) -> float:
        fn()
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            rates.append(flop / (time.perf_counter() - t0) / 1e9)
        return max(rates)

    from torch.utils import mkldnn

    mkl = onednn = int8 = 0.0
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        for n in sizes:
            a, b = torch.randn(n, n), torch.randn(n, n)
            mkl = max(mkl, best(lambda: a @ b, 2 * n**3))
            linear = mkldnn.to_mkldnn(torch.nn.Linear(n, n, bias=False).eval())
            a_dnn = a.to_mkldnn()
            onednn = max(onednn, best(lambda: linear(a_dnn), 2 * n**3))
            dynamic = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(n, n, bias=False)),
                                                             {torch.nn.Linear}, dtype=torch.qint8)
            int8 = max(int8, best(lambda: dynamic(a), 2 * n**3))
            static = torch.ao.nn.quantized.Linear(n, n)
            static.set_weight_bias(torch.quantize_per_tensor(b, 0.05, 0, torch.qint8), None)
            qa = torch.quantize_per_tensor(a.abs(), 0.05, 0, torch.quint8)
            int8 = max(int8, best(lambda: static(qa), 2 * n**3))
    return {"fp32_gflops": round(max(mkl, onednn), 1), "fp32_mkl_gflops": round(mkl, 1),
            "fp32_onednn_gflops": round(onednn, 1), "int8_gops": round(int8, 1), "threads": threads}


# --------------------------------------------------------------------------------------
# Arithmetic model.
# --------------------------------------------------------------------------------------


def flops_per_output_token(arch: dict, src_tokens: float, tgt_tokens: float, beam: int, out_vocab: int | None = None) -> dict:
    """GFLOP per generated token, by part (matrix products only; 2 FLOP per multiply-add).

    Encoder: self-attention (4 d^2) + FFN (2 d f) per source token and layer, plus the
    cross-attention keys/values (2 d^2) once per source token and decoder layer. Decoder, per
    token and beam hypothesis: self-attention (4 d^2), cross-attention query/output (2 d^2),
    FFN (2 d f) per layer, and the output layer (d x V). Attention scores are left out
    (small at these lengths).
    """
    d, f, n = arch["d_model"], arch["ffn"], arch["layers"]
    vocab = out_vocab or arch["vocab"]
    encoder = src_tokens * n * (4 * d * d + 2 * d * f + 2 * d * d) * 2 / tgt_tokens
    layers = beam * n * (6 * d * d + 2 * d * f) * 2
    output = beam * d * vocab * 2
    total = encoder + layers + output
    return {"encoder": encoder / 1e9, "decoder_layers": layers / 1e9, "output_layer": output / 1e9, "total": total / 1e9}


# --------------------------------------------------------------------------------------
# Models with the real architectures.
# --------------------------------------------------------------------------------------


#: Bump when the random-weight models change (v2: filler pieces with a realistic script mix),
#: so that models built by an older version of this script are rebuilt, not reused.
MODEL_VERSION = 2

# One letter of each script the NLLB language codes name (FLORES-200 ``xxx_Scrp``), to spell
# filler pieces in that script: the target-script rule keeps the Latin ones and no other.
SCRIPT_LETTERS = {
    "Latn": "fill",
    "Arab": "ف",
    "Cyrl": "ж",
    "Deva": "क",
    "Beng": "ক",
    "Ethi": "ሀ",
    "Tibt": "ཀ",
    "Hebr": "א",
    "Mymr": "က",
    "Tfng": "ⴰ",
    "Hant": "字",
    "Hans": "字",
    "Jpan": "か",
    "Hang": "한",
    "Grek": "λ",
    "Gujr": "ક",
    "Armn": "ա",
    "Knda": "ಕ",
    "Geor": "ა",
    "Khmr": "ក",
    "Laoo": "ກ",
    "Mlym": "ക",
    "Orya": "କ",
    "Guru": "ਕ",
    "Sinh": "ක",
    "Taml": "க",
    "Telu": "క",
    "Thai": "ก",
}


def _pad_vocab(tokens: dict[str, int], size: int, mix: dict[str, float]) -> dict[str, int]:
    """Grow a vocabulary to ``size`` with filler pieces ``▁<letter><n>`` in the scripts of ``mix``.

    ``mix`` maps a script (a key of :data:`SCRIPT_LETTERS`) to its share of the fillers; the
    fillers are interleaved in that proportion (largest remainder first), deterministically.
    """
    out = dict(tokens)
    need = size - len(out)
    total = sum(mix.values())
    counts = {script: int(need * share / total) for script, share in mix.items()}
    for script in sorted(mix, key=lambda k: need * mix[k] / total - counts[k], reverse=True)[
        : need - sum(counts.values())
    ]:
        counts[script] += 1
    made = dict.fromkeys(mix, 0)
    i = 0
    while len(out) < size:
        # Round robin, weighted: the script furthest behind its share goes next.
        script = min((k for k in mix if made[k] < counts[k]), key=lambda k: made[k] / counts[k])
        name = f"▁{SCRIPT_LETTERS[script]}{i}"
        if name not in out:  # a trained piece may spell the same
            out[name] = len(out)
            made[script] += 1
        i += 1
    return out


def latin_share(pieces: list[str]) -> float:
    """Share of SentencePiece pieces the English target-script rule keeps (the trained ones)."""
    from summ.engines.vocab import TARGET_SCRIPTS, keeps

    real = [p for p in pieces if not (p.startswith("<") and p.endswith(">"))]
    return sum(keeps(p, TARGET_SCRIPTS["en"]) for p in real) / len(real)


def nllb_script_mix(codes: list[str]) -> dict[str, float]:
    """Share of each script among NLLB's language codes (``arb_Arab`` -> ``Arab``)."""
    mix: dict[str, float] = {}
    for code in codes:
        script = code.rsplit("_", 1)[-1]
        mix[script] = mix.get(script, 0) + 1 / len(codes)
    return mix


#: What the filler pieces assume (written into each model's filler.json and the results).
FILLER_ASSUMPTIONS = {
    "opus-mt-ar-en": "opus-mt-ar-en's 62,834 words join an Arabic-side and an English-side SentencePiece "
    "vocabulary; the fillers take the Latin share of the 8,000 pieces trained here on NTREX-128 "
    "Arabic + English (the same two sides), the rest Arabic",
    "nllb-600M": "NLLB trained its 256k pieces on 200 languages sampled with temperature 5 (near-uniform over "
    "languages); the fillers take each script's share of the FLORES-200 language codes (Latin "
    "126 of 202). Latin languages share many pieces and CJK needs thousands of single characters, "
    "so the real Latin share is probably lower: the kept set is probably too large here, the "
    "target-script speed-up too small",
}


def _train_spm(model_type: str, vocab_size: int = 8000, **ids: int) -> bytes:
    """A SentencePiece model trained on NTREX-128 (Arabic and English).

    8,000 pieces segment NTREX Arabic into ~35 tokens a sentence, about what the real
    opus-mt-ar-en tokenizer gives, so source lengths (encoder work, padding, batch budgets)
    are realistic. Only lengths matter here: no quality is measured with these models.
    """
    import io

    import sentencepiece as spm

    from summ.data import data_dir

    folder = data_dir() / "ntrex128"
    lines = []
    for name in ("newstest2019-ref.arb.txt", "newstest2019-src.eng.txt"):
        lines += [x for x in (folder / name).read_text(encoding="utf-8").splitlines() if x.strip()]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
                                   model_type=model_type, character_coverage=1.0, hard_vocab_limit=False,
                                   num_threads=1, minloglevel=2, **ids)
    return buf.getvalue()


def build_opus_arch(out: Path) -> Path:
    """A MarianMTModel shaped like Helsinki-NLP/opus-mt-ar-en, with random weights."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    from summ.testing import _spm_vocab_and_charsmap, marian_vocab

    arch = ARCHS["opus-mt-ar-en"]
    out.mkdir(parents=True, exist_ok=True)
    spm_model = _train_spm("unigram")
    for name in ("source.spm", "target.spm"):
        (out / name).write_bytes(spm_model)
    pieces, _ = _spm_vocab_and_charsmap(spm_model)
    names = [p for p, _score in pieces]
    share = latin_share(names)
    mix = {"Latn": share, "Arab": 1 - share}
    trained = {}

    def fill(v: dict[str, int]) -> dict[str, int]:
        trained["n"] = len(v)
        return _pad_vocab(v, arch["vocab"] - 1, mix)

    # opus-mt layout, with filler words up to the real size before <pad>.
    vocab = marian_vocab(names, fill)
    _write_filler_info(out, "opus-mt-ar-en", trained["n"], len(vocab) - 1 - trained["n"], mix)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = MarianTokenizer(source_spm=str(out / "source.spm"), target_spm=str(out / "target.spm"), vocab=str(out / "vocab.json"))
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=arch["vocab"], d_model=arch["d_model"], encoder_layers=arch["layers"], decoder_layers=arch["layers"],
        encoder_attention_heads=arch["heads"], decoder_attention_heads=arch["heads"], encoder_ffn_dim=arch["ffn"],
        decoder_ffn_dim=arch["ffn"], max_position_embeddings=arch["positions"], activation_function="swish",
        static_position_embeddings=True, scale_embedding=True, share_encoder_decoder_embeddings=True,
        pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad, forced_eos_token_id=0,
    )
    torch.manual_seed(0)
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(bad_words_ids=[[pad]], decoder_start_token_id=pad, eos_token_id=0,
                                               forced_eos_token_id=0, max_length=512, num_beams=4, pad_token_id=pad)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_nllb_arch(out: Path) -> Path:
    """An M2M100ForConditionalGeneration shaped like facebook/nllb-200-distilled-600M, random weights."""
    import torch
    from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

    from summ.testing import nllb_tokenizer

    arch = ARCHS["nllb-600M"]
    out.mkdir(parents=True, exist_ok=True)
    spm_model = _train_spm("bpe", bos_id=0, pad_id=1, eos_id=2, unk_id=3)
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    mix = nllb_script_mix(list(FAIRSEQ_LANGUAGE_CODES))
    trained = {}

    def fill(vocab: dict[str, int], added: int) -> dict[str, int]:
        trained["n"], trained["fillers"] = len(vocab), arch["vocab"] - added - len(vocab)
        return _pad_vocab(vocab, arch["vocab"] - added, mix)

    # Filler words up to the real size, before the language codes the tokenizer appends.
    tok = nllb_tokenizer(spm_model, out, fill)
    _write_filler_info(out, "nllb-600M", trained["n"], trained["fillers"], mix)
    config = M2M100Config(
        vocab_size=len(tok), d_model=arch["d_model"], encoder_layers=arch["layers"], decoder_layers=arch["layers"],
        encoder_attention_heads=arch["heads"], decoder_attention_heads=arch["heads"], encoder_ffn_dim=arch["ffn"],
        decoder_ffn_dim=arch["ffn"], max_position_embeddings=arch["positions"], scale_embedding=True,
        activation_function="relu", pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
    )
    torch.manual_seed(0)
    model = M2M100ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2, pad_token_id=1,
                                               max_length=200, num_beams=4)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _write_filler_info(
    out: Path, arch: str, first_filler: int, fillers: int, mix: dict[str, float]
) -> None:
    info = {
        "first_filler_id": first_filler,
        "fillers": fillers,
        "script_mix": {k: round(v, 4) for k, v in mix.items()},
        "assumption": FILLER_ASSUMPTIONS[arch],
    }
    (out / "filler.json").write_text(
        json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def ensure_model(work: Path, arch_name: str) -> tuple[Path, float]:
    """Build the random-weight model once (reused across runs). Returns (path, build seconds)."""
    out = work / arch_name
    built = out / "BUILT"
    if built.is_file() and f"version {MODEL_VERSION}" in built.read_text():
        return out, 0.0
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    if arch_name == "opus-mt-ar-en":
        build_opus_arch(out)
    else:
        build_nllb_arch(out)
    built.write_text(f"random weights, real architecture, version {MODEL_VERSION}\n")
    return out, time.perf_counter() - t0


def make_vmap(model_dir: Path, out: Path, per_token: int = 40, common: int = 300, seed: int = 0) -> Path:
    """A synthetic vocabulary map of realistic size for the opus-mt architecture.

    Real maps come from word alignments of training data (Marian's lexical shortlists: the
    top 50-100 translations of each source token plus the most frequent target words).
    This one gives each source piece ``per_token`` candidates drawn from a Zipf law over the
    target ids (frequent words first) plus ``common`` always-allowed ids, so a batch's union
    has the size real shortlists give (a few thousand of the 62,834 words). Speed only: it
    says nothing about quality, which must be checked on the real model.
    """
    import numpy as np

    vocab = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
    by_id = {i: t for t, i in vocab.items() if t != "<pad>"}
    size = len(by_id)
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, size + 1)
    probs = 1.0 / ranks**1.1
    probs /= probs.sum()
    lines = ["\t" + " ".join(by_id[i] for i in range(common))]
    # Source pieces the tokenizer can produce: the ids before the fillers (the trained pieces).
    first_filler = json.loads((model_dir / "filler.json").read_text(encoding="utf-8"))["first_filler_id"]
    for sid in range(2, first_filler):
        cands = rng.choice(size, size=per_token, replace=False, p=probs)
        lines.append(by_id[sid] + "\t" + " ".join(by_id[int(c)] for c in cands))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def vmap_union_sizes(vmap: Path, batches_tokens: list[list[list[str]]]) -> float:
    """Mean number of output words a vocabulary map leaves per batch (unigram rules only)."""
    rules, fixed = {}, set()
    for line in vmap.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key == "":
            fixed.update(values.split())
        else:
            rules[key] = values.split()
    sizes = []
    for batch in batches_tokens:
        union = set(fixed)
        for tokens in batch:
            for t in tokens:
                union.update(rules.get(t, ()))
        sizes.append(len(union) + 3)  # + <unk>, <s>, </s>
    return sum(sizes) / len(sizes) if sizes else 0.0


# --------------------------------------------------------------------------------------
# Engine runs (in subprocesses).
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed configuration."""

    decode: str  # greedy | beam4
    batching: str  # "size:32", "size:32:unsorted", "tokens:4096"
    sentences: int
    out_tokens: int  # fixed output length
    keep_outputs: bool = False  # store the texts (agreement between compute types)
    reps: int = 2  # timed repetitions; the best counts (other processes share the cores)


@dataclass
class EngineSpec:
    arch: str
    model: str
    # hf | hf-int8dyn (torch dynamic int8 Linear) | hf-sliced (target-script, output layer cut
    # to the kept rows: the HF decision, measured) | ct2
    engine: str
    compute_type: str = "float32"  # the HF engine's dtype for hf rows
    inter_threads: int = 0  # 0 = the engine's default layout
    intra_threads: int = 0
    vmap: str | None = None
    vocabulary: str = "full"  # or "target-script" (summ.engines.vocab)
    device: str = "cpu"
    cache_dir: str | None = None
    threads: int = 0
    env: dict = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def label(self) -> str:
        envs = "".join(f" {k}={v}" for k, v in self.env.items())
        where = "-cuda" if self.device == "cuda" else ""
        if self.engine == "hf-int8dyn":
            label = "hf:int8-dynamic"
        elif self.engine == "hf-sliced":
            label = f"hf{where}:{self.compute_type} +target-script sliced"
        else:
            label = f"{self.engine}{where}:{self.compute_type}"
        if self.inter_threads or self.intra_threads:
            label += f" {self.inter_threads or 'auto'}x{self.intra_threads or 'auto'}"
        if self.vmap:
            label += " +vmap"
        if self.vocabulary == "target-script" and self.engine != "hf-sliced":
            label += " +target-script"
        return label + envs


def make_batches(encoded: list[list[int]], batching: str) -> list[list[int]]:
    """Index batches: fixed size (length-sorted or in corpus order) or a token budget.

    The token budget packs length-sorted sentences while (n + 1) x longest <= budget, the
    rule of summ.translate.PipelineTranslator, with its default batch-size limit. (The
    pipeline's other rule, never mixing output-cap classes, does not apply: every row here
    decodes to one fixed length.)
    """
    from summ.engines.base import BatchConfig

    kind, _, rest = batching.partition(":")
    order = list(range(len(encoded)))
    if kind == "size":
        size, _, how = rest.partition(":")
        if how != "unsorted":
            order.sort(key=lambda i: len(encoded[i]), reverse=True)
        size = int(size)
        return [order[i : i + size] for i in range(0, len(order), size)]
    budget = int(rest)
    order.sort(key=lambda i: len(encoded[i]), reverse=True)
    batches, current = [], []
    for i in order:
        if current and ((len(current) + 1) * len(encoded[current[0]]) > budget or len(current) >= BatchConfig().max_batch_size):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _decode_for(run: Run):
    from summ.engines.base import DecodeConfig

    # A fixed output length: every engine does the same work.
    beam = 4 if run.decode == "beam4" else 1
    return DecodeConfig(beam_size=beam, min_new_tokens=run.out_tokens, max_new_tokens=run.out_tokens)


def slice_output_layer(engine) -> None:
    """Bench only: make an HF target-script engine compute only the kept rows of its output layer.

    The product runs over the kept rows (K x d instead of V x d); the logits are scattered
    into a full-width row of -inf so that ``generate`` and the processors work unchanged (a
    cost of V per row instead of V x d). What a sliced HF output layer would gain.
    """
    import torch

    model = engine.model
    head = model.get_output_embeddings()
    kept = torch.tensor(engine.target_vocabulary.ids, device=head.weight.device)
    weight = head.weight.detach()[kept].clone()
    bias = head.bias.detach()[kept].clone() if getattr(head, "bias", None) is not None else None
    width = head.weight.shape[0]

    class Sliced(torch.nn.Module):
        def forward(self, hidden):
            out = hidden.new_full((*hidden.shape[:-1], width), float("-inf"))
            out[..., kept] = torch.nn.functional.linear(hidden, weight, bias)
            return out

    model.set_output_embeddings(Sliced())


def _load_engine(spec: EngineSpec, run: Run):
    threads = spec.threads or physical_cores()
    decode = _decode_for(run)
    if spec.engine in ("hf", "hf-int8dyn", "hf-sliced"):
        from summ.engines.hf import HFEngine

        vocabulary = "target-script" if spec.engine == "hf-sliced" else spec.vocabulary
        engine = HFEngine.load(spec.model, decode=decode, device=spec.device, dtype=spec.compute_type,
                               threads=threads if spec.device == "cpu" else None, vocabulary=vocabulary)
        if spec.engine == "hf-sliced":
            slice_output_layer(engine)
        if spec.engine == "hf-int8dyn":
            import warnings

            import torch

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                engine.model = torch.ao.quantization.quantize_dynamic(engine.model, {torch.nn.Linear}, dtype=torch.qint8)
        return engine
    from summ.engines.ct2 import CT2Engine

    os.environ["OMP_NUM_THREADS"] = str(threads)  # what the engine's automatic thread layout shares out
    return CT2Engine.load(spec.model, decode=decode, device=spec.device, compute_type=spec.compute_type,
                          inter_threads=spec.inter_threads, intra_threads=spec.intra_threads,
                          cache_dir=spec.cache_dir, vmap=spec.vmap, vocabulary=spec.vocabulary)


class _Timed:
    """One engine's batches for one run, timed once per call."""

    def __init__(self, engine, spec: EngineSpec, run: Run, sentences: list[str]) -> None:
        self.engine, self.spec, self.run = engine, spec, run
        self.texts = sentences[: run.sentences]
        self.encoded = engine.encode(self.texts)
        self.batches = make_batches(self.encoded, run.batching)
        self.timings: list[float] = []
        self.outputs: dict[int, object] = {}
        self.n_tokens = 0
        engine.decode = _decode_for(run)  # one loaded model for every run (engines read it per call)
        # Warm-up with the first (longest) batch at full length: the first calls allocate
        # buffers for the run's shapes (torch's allocator, CTranslate2's cache) and JIT-compile
        # kernels (oneDNN); without it the first repetition of HF runs measured 30% slow.
        engine.generate([self.encoded[i] for i in self.batches[0]], run.out_tokens)

    def once(self) -> None:
        self.engine.decode = _decode_for(self.run)
        t0 = time.perf_counter()
        n_tokens = 0
        for batch in self.batches:
            for i, g in zip(batch, self.engine.generate([self.encoded[i] for i in batch], self.run.out_tokens)):
                n_tokens += g.n_tokens
                self.outputs[i] = g
        self.timings.append(time.perf_counter() - t0)
        self.n_tokens = n_tokens

    def row(self) -> dict:
        seconds = min(self.timings)
        row = {
            **asdict(self.run),
            "n_tokens": self.n_tokens,
            "seconds": round(seconds, 3),
            "tok_s": round(self.n_tokens / seconds, 1),
            "sent_s": round(len(self.texts) / seconds, 2),
            "src_tokens": sum(len(e) for e in self.encoded),
            "batches": len(self.batches),
            "all_tok_s": [round(self.n_tokens / t, 1) for t in self.timings],
            "load_avg": round(os.getloadavg()[0], 2),
        }
        if self.spec.vmap:
            vocab = self.engine.source_vocab
            tokens = [[[vocab[t] for t in self.encoded[i]] for i in b] for b in self.batches]
            row["vmap_words_per_batch"] = round(vmap_union_sizes(Path(self.spec.vmap), tokens))
        kept = getattr(self.engine, "target_vocabulary", None)
        if kept is not None:  # the output layer's width under target-script (same for every batch)
            row["vmap_words_per_batch"] = len(kept.ids)
        if self.run.keep_outputs:
            row["outputs"] = [self.outputs[i].text for i in range(len(self.texts))]
        what = " (int8 agreement run)" if self.run.keep_outputs else ""
        print(f"  {self.spec.arch} {self.spec.label:30s} {self.run.decode:6s} {self.run.batching:18s} "
              f"{row['tok_s']:8.1f} tok/s  (all: {row['all_tok_s']}, load {row['load_avg']}){what}", file=sys.stderr,
              flush=True)
        return row


def _read_job(path: Path) -> tuple[list[EngineSpec], list[Run]]:
    job = json.loads(path.read_text())
    specs = [EngineSpec(**{**s, "runs": [Run(**r) for r in s["runs"]]}) for s in job["specs"]]
    return specs, [Run(**r) for r in job.get("runs", [])]


def worker(job_path: Path, result_path: Path) -> None:
    """One engine in its own process: load it, time its runs (peak RSS and load time are its own)."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    (spec,), _ = _read_job(job_path)
    sentences = _arabic()
    t0 = time.perf_counter()
    engine = _load_engine(spec, spec.runs[0])
    load_seconds = time.perf_counter() - t0
    rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    for run in spec.runs:
        timed = _Timed(engine, spec, run, sentences)
        for _ in range(max(1, run.reps)):
            timed.once()
        rows.append(timed.row())
    result_path.write_text(json.dumps({
        "label": spec.label, "load_s": round(load_seconds, 2), "rss_after_load_mb": round(rss_after_load),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "runs": rows,
    }))


def interleave_worker(job_path: Path, result_path: Path) -> None:
    """Several engines in one process, timed in turns, for ratios that contention cannot skew.

    On a shared machine another process can take a core for a minute; an engine timed then
    looks slow. Here every repetition times each engine once, in a rotating order, and the
    best repetition of each counts, so all engines are compared under the same conditions.
    """
    import logging

    logging.basicConfig(level=logging.WARNING)
    specs, runs = _read_job(job_path)
    sentences = _arabic()
    engines = [(spec, _load_engine(spec, runs[0])) for spec in specs]
    results = {spec.label: [] for spec in specs}
    for run in runs:
        timed = [_Timed(engine, spec, run, sentences) for spec, engine in engines]
        for rep in range(max(1, run.reps)):
            for k in range(len(timed)):
                timed[(k + rep) % len(timed)].once()
        for t in timed:
            results[t.spec.label].append(t.row())
    result_path.write_text(json.dumps([{"label": label, "runs": rows} for label, rows in results.items()]))


def convert_worker(
    model: str, cache_dir: str, compute_type: str, vmap: str, vocabulary: str, device: str
) -> None:
    """Convert (or find) one model in the CTranslate2 cache; print what it took."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from summ.engines.ct2 import CT2Engine

    t0 = time.perf_counter()
    engine = CT2Engine.load(
        model,
        compute_type=compute_type,
        cache_dir=cache_dir,
        vmap=vmap or None,
        vocabulary=vocabulary,
        device=device,
    )
    print(
        json.dumps(
            {
                "converted": engine.converted,
                "seconds": round(time.perf_counter() - t0, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def _python(args: list[str], env: dict | None = None) -> tuple[int, str, str]:
    """Run this script with ``args`` in a fresh process; progress lines go straight to stderr."""
    env = {k: v for k, v in (env or os.environ).items() if k != "OMP_NUM_THREADS"}  # engines set threads
    proc = subprocess.Popen([sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    tail: list[str] = []
    for line in proc.stderr:
        if line.startswith("  "):
            sys.stderr.write(line)
        tail = (tail + [line.rstrip()])[-5:]
    out = proc.stdout.read()
    return proc.wait(), out, " | ".join(tail)


def run_job(kind: str, specs: list[EngineSpec], runs: list[Run], tmp: Path, name: str) -> object:
    """Run :func:`worker` or :func:`interleave_worker` in a subprocess; return its results."""
    job, result = tmp / f"{name}.job.json", tmp / f"{name}.result.json"
    job.write_text(json.dumps({"specs": [asdict(s) for s in specs], "runs": [asdict(r) for r in runs]}))
    env = {**os.environ, **{k: v for s in specs for k, v in s.env.items()}}
    status, _, tail = _python([f"--{kind}", str(job), str(result)], env)
    if status != 0 or not result.is_file():
        return {"error": tail or f"exit {status}"}
    return json.loads(result.read_text())


# --------------------------------------------------------------------------------------
# The pipeline (summ translate).
# --------------------------------------------------------------------------------------


def _arabic() -> list[str]:
    from summ.data import data_dir

    path = data_dir() / "ntrex128" / "newstest2019-ref.arb.txt"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pipeline_worker(model: str, cache_dir: str, compute_type: str, input_path: str, cache_path: str, out_path: str) -> None:
    """In-process equivalent of ``summ translate``: load, translate the file; time each part."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    from summ.engines.base import DecodeConfig
    from summ.files import translate_file
    from summ.translate import load_translator

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    # The random model never emits </s>: a cap of about the source length (+8) gives outputs of
    # realistic length (the CLI's default cap, 2x + 16, would double the engine's work).
    decode = DecodeConfig(beam_size=1, length_ratio=1.0, length_margin=8)
    translator = load_translator(model, "ct2", device="cpu", decode=decode, cache=cache_path,
                                 compute_type=compute_type, cache_dir=cache_dir)
    t_load = time.perf_counter() - t1
    t2 = time.perf_counter()
    summary = translate_file(translator, input_path, out_path)
    t_translate = time.perf_counter() - t2
    print(json.dumps({
        "import_s": round(t_import, 3), "load_s": round(t_load, 3), "translate_s": round(t_translate, 3),
        "engine_s": round(summary.engine_seconds, 3), "pipeline_s": round(summary.seconds, 3),
        "segments": summary.segments, "translated": summary.translated, "cache_hits": summary.cache_hits,
        "output_tokens": summary.output_tokens, "capped": summary.capped,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


def _measure_child(cmd: list[str]) -> None:
    """Helper process: run ``cmd``, print its wall time and peak RSS as JSON.

    RUSAGE_CHILDREN is a maximum over all children so far, so every measured command gets a
    fresh helper process of its own.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"status": proc.returncode, "wall_s": round(wall, 3), "peak_rss_mb": round(rss),
                      "stdout": proc.stdout[-4000:], "stderr": proc.stderr[-2000:]}))


def measured(cmd: list[str], env: dict) -> dict:
    status, out, tail = _python(["--measure", "--", *cmd], env)
    if status != 0:
        return {"status": status, "stderr": tail}
    return json.loads(out)


def _copies(lines: list[str], times: int) -> list[str]:
    # Each copy made distinct by a leading number (else the cache and de-duplication would make
    # it free; a trailing "(k)" would be split off as a segment of its own).
    return [line if k == 0 else f"{k} {line}" for k in range(times) for line in lines]


def stub_pipeline_worker(input_path: str, model: str) -> None:
    """The pipeline over a file with a stub engine (real tokenizer, instant outputs): its own memory."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from summ.engines.ct2 import CT2Engine
    from summ.engines.base import DecodeConfig, Generation
    from summ.files import translate_file
    from summ.translate import PipelineTranslator

    real = CT2Engine.load(model, decode=DecodeConfig(beam_size=1), cache_dir=os.environ.get("SUMM_CT2_CACHE"))

    class Stub:
        model_id, revision, name = real.model_id, real.revision, "stub"
        max_input_tokens, max_output_tokens = real.max_input_tokens, real.max_output_tokens

        def settings(self) -> dict:
            return {}

        def encode(self, texts: list[str]) -> list[list[int]]:
            return real.encode(texts)

        def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
            return [Generation("word " * max_new_tokens, max_new_tokens, True) for _ in batch]

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    translate_file(PipelineTranslator(Stub(), decode=DecodeConfig(beam_size=1)), input_path, os.devnull)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rss_before_mb": round(before), "peak_rss_mb": round(after)}))


def bench_pipeline(model: Path, ct2_cache: Path, compute_type: str, n_lines: int, multiples: tuple[int, ...],
                   tmp: Path) -> dict:
    """Cold and warm runs of the pipeline, and peak RSS of `summ translate` at 1x and 10x input.

    The larger inputs repeat the 1x lines (made distinct), so they have the same sentence
    lengths. Peak RSS is also measured with a stub engine, which isolates the pipeline's own
    memory (reading, segments, records, output) from the engine's working set.
    """
    lines = _arabic()[:n_lines]
    inputs = {}
    for m in multiples:
        inputs[m] = tmp / f"input-{m}x.txt"
        inputs[m].write_text("\n".join(_copies(lines, m)) + "\n", encoding="utf-8")
    env = {**os.environ, "SUMM_CT2_CACHE": str(ct2_cache)}
    result: dict = {"lines": {m: len(lines) * m for m in multiples}, "compute_type": compute_type}

    cache = tmp / "pipeline-cache.sqlite"
    worker_cmd = [sys.executable, __file__, "--pipeline-worker", str(model), str(ct2_cache), compute_type,
                  str(inputs[1]), str(cache), str(tmp / "out-1x.txt")]
    for phase in ("cold", "warm"):
        m = measured(worker_cmd, env)
        if m.get("status") != 0:
            result[phase] = {"error": (m.get("stderr") or "")[-500:]}
            continue
        info = json.loads(m["stdout"].strip().splitlines()[-1])
        info["process_wall_s"] = m["wall_s"]
        result[phase] = info
        print(f"  pipeline {phase}: translate {info['translate_s']:.2f} s (engine {info['engine_s']:.2f} s), "
              f"load {info['load_s']:.2f} s, process {m['wall_s']:.2f} s", file=sys.stderr, flush=True)

    summ_cli = [sys.executable, "-m", "summ", "--quiet", "translate"]
    for mult, path in inputs.items():
        cmd = [*summ_cli, str(path), "--model", str(model), "--engine", "ct2", "--compute-type", compute_type,
               "--beam", "1", "--no-cache", "--no-progress", "--output", str(tmp / f"cli-{mult}x.txt")]
        m = measured(cmd, env)
        result[f"cli_{mult}x"] = {k: m.get(k) for k in ("status", "wall_s", "peak_rss_mb")}
        if m.get("status") != 0:
            result[f"cli_{mult}x"]["error"] = (m.get("stderr") or "")[-500:]
        stub = measured([sys.executable, __file__, "--stub-pipeline", str(path), str(model)], env)
        if stub.get("status") == 0:
            result[f"stub_{mult}x"] = json.loads(stub["stdout"].strip().splitlines()[-1])
        print(f"  summ translate {mult}x ({len(lines) * mult} lines): {m.get('wall_s')} s, peak RSS "
              f"{m.get('peak_rss_mb')} MB (status {m.get('status')}); pipeline with a stub engine: peak RSS "
              f"{result.get(f'stub_{mult}x', {}).get('peak_rss_mb')} MB", file=sys.stderr, flush=True)
    return result


# --------------------------------------------------------------------------------------
# Plan.
# --------------------------------------------------------------------------------------


TS = "target-script"


def plan(
    arch: str, model: Path, mode: str, cache_dir: Path, vmap: Path | None
) -> tuple[list[EngineSpec], list[EngineSpec], list[Run]]:
    """(engines in processes of their own, engines compared in turns, the runs compared in turns).

    ``mode`` is ``full``, ``quick`` or ``smoke`` (a handful of lines, one repetition: proves
    the code paths run, its figures are not to be quoted). ``ct2:*`` engines use the engine's
    default thread layout (one single-threaded worker per core, sharing each batch); ``1x2``
    is one worker with both cores, the other layout. ``+target-script`` rows decode over the
    target-script vocabulary (summ.engines.vocab); their agreement runs give the identical-output
    rate against the full vocabulary.
    """
    cores = physical_cores()
    base = dict(arch=arch, model=str(model), cache_dir=str(cache_dir), threads=cores)
    quick, smoke = mode == "quick", mode == "smoke"
    if smoke:
        n_out, n = 8, 8
        compared = [
            Run("greedy", "size:8", n, n_out, reps=1),
            Run("beam4", "size:8", n, n_out, reps=1),
        ]
        agree = Run("greedy", "size:8", n, n_out, keep_outputs=True, reps=1)
        alone = [
            EngineSpec(engine="ct2", compute_type="int8", runs=[compared[0], agree], **base),
            EngineSpec(
                engine="ct2", compute_type="int8", vocabulary=TS, runs=[compared[0], agree], **base
            ),
        ]
        together = [
            EngineSpec(engine="hf", **base),
            EngineSpec(engine="ct2", compute_type="int8", **base),
            EngineSpec(engine="ct2", compute_type="int8", vocabulary=TS, **base),
        ]
        if arch == "opus-mt-ar-en":  # the HF decision: what a sliced output layer gains
            together += [
                EngineSpec(engine="hf", vocabulary=TS, **base),
                EngineSpec(engine="hf-sliced", **base),
            ]
        return alone, together, compared
    if arch == "opus-mt-ar-en":
        n_out, n = (24, 48) if quick else (32, 128)
        compared = [
            Run("greedy", "size:32", n, n_out, reps=2 if quick else 3),
            Run("beam4", "size:32", n, n_out, reps=2 if quick else 3),
        ]
        # Own-process rows: load time, peak RSS, and (full run) how batching and sorting matter.
        own = [Run("greedy", "size:32", n, n_out, reps=1)]
        # With the smaller output layer, batch size and budgets once more (full run).
        own_ts = own
        if not quick:
            m = 96
            own = [
                Run("greedy", "size:32", m, n_out),
                Run("beam4", "size:32", m, n_out),
                Run("greedy", "size:1", 16, n_out),
                Run("greedy", "size:16", m, n_out),
                Run("greedy", "size:32:unsorted", m, n_out),
                Run("greedy", "tokens:4096", m, n_out),
                Run("beam4", "size:16", m, n_out),
                Run("beam4", "size:32:unsorted", m, n_out),
            ]
            own_ts = [
                Run("greedy", "size:32", m, n_out),
                Run("beam4", "size:32", m, n_out),
                Run("greedy", "size:1", 16, n_out),
                Run("greedy", "size:16", m, n_out),
                Run("greedy", "size:64", m, n_out),
                Run("greedy", "tokens:4096", m, n_out),
                Run("beam4", "size:16", m, n_out),
                Run("beam4", "size:64", m, n_out),
            ]
        agree = Run("greedy", "size:32", n, n_out, keep_outputs=True, reps=1)
        alone = [
            EngineSpec(engine="hf", runs=own, **base),
            EngineSpec(engine="ct2", compute_type="float32", runs=own + [agree], **base),
            EngineSpec(engine="ct2", compute_type="int8", runs=own + [agree], **base),
            EngineSpec(
                engine="ct2", compute_type="int8", vocabulary=TS, runs=own_ts + [agree], **base
            ),
        ]
        together = [
            EngineSpec(engine="hf", **base),
            EngineSpec(engine="ct2", compute_type="float32", **base),
            EngineSpec(engine="ct2", compute_type="int8", **base),
            EngineSpec(
                engine="ct2", compute_type="int8", inter_threads=1, intra_threads=cores, **base
            ),
            EngineSpec(engine="ct2", compute_type="int8", vocabulary=TS, **base),
        ]
        if vmap is not None:
            together.append(EngineSpec(engine="ct2", compute_type="int8", vmap=str(vmap), **base))
        if not quick:
            together += [
                EngineSpec(
                    engine="ct2",
                    compute_type="float32",
                    inter_threads=1,
                    intra_threads=cores,
                    **base,
                ),
                EngineSpec(engine="ct2", compute_type="float32", vocabulary=TS, **base),
                EngineSpec(
                    engine="ct2",
                    compute_type="int8",
                    inter_threads=1,
                    intra_threads=cores,
                    vocabulary=TS,
                    **base,
                ),
                # What HF itself could do: int8 Linear layers (fbgemm); the target-script mask
                # alone; and an output layer sliced to the kept rows (the HF decision).
                EngineSpec(engine="hf-int8dyn", **base),
                EngineSpec(engine="hf", vocabulary=TS, **base),
                EngineSpec(engine="hf-sliced", **base),
            ]
            if vmap is not None:
                together.append(
                    EngineSpec(engine="ct2", compute_type="float32", vmap=str(vmap), **base)
                )
            alone += [
                EngineSpec(
                    engine="ct2", compute_type="float32", vocabulary=TS, runs=[agree], **base
                ),
                EngineSpec(engine="ct2", compute_type="int8_float32", runs=compared, **base),
                EngineSpec(
                    engine="ct2",
                    compute_type="int8",
                    env={"CT2_FORCE_CPU_ISA": "AVX512"},
                    runs=compared,
                    **base,
                ),
                # MKL picks slow kernels on AMD CPUs unless told otherwise (env read at start-up).
                EngineSpec(engine="hf", env={"MKL_DEBUG_CPU_TYPE": "5"}, runs=compared, **base),
            ]
    else:
        n_out, n = 24, 48
        compared = [
            Run("greedy", "size:16", n, n_out, reps=2),
            Run("beam4", "size:16", n // 2, n_out, reps=2),
        ]
        agree = Run("greedy", "size:16", n, n_out, keep_outputs=True, reps=1)
        own_ts = [
            compared[0],
            Run("greedy", "size:8", n, n_out, reps=1),
            Run("greedy", "size:32", n, n_out, reps=1),
            agree,
        ]
        alone = [
            EngineSpec(engine="hf", runs=[compared[0]], **base),
            EngineSpec(engine="ct2", compute_type="float32", runs=[compared[0], agree], **base),
            EngineSpec(engine="ct2", compute_type="int8", runs=[compared[0], agree], **base),
            EngineSpec(engine="ct2", compute_type="int8", vocabulary=TS, runs=own_ts, **base),
        ]
        together = [
            EngineSpec(engine="hf", **base),
            EngineSpec(engine="ct2", compute_type="float32", **base),
            EngineSpec(engine="ct2", compute_type="int8", **base),
            EngineSpec(engine="ct2", compute_type="int8", vocabulary=TS, **base),
            EngineSpec(engine="ct2", compute_type="float32", vocabulary=TS, **base),
            EngineSpec(
                engine="ct2",
                compute_type="int8",
                inter_threads=1,
                intra_threads=cores,
                vocabulary=TS,
                **base,
            ),
        ]
    return alone, together, compared


#: The GPU run (``--gpu``): per architecture, HF in half precision against CTranslate2 float16 and
#: int8_float16, each with both vocabularies, greedy and beam 4, timed in turns. Sized to finish
#: in under ten minutes on one GPU, model building and conversions included.
GPU_RUNS = {"opus-mt-ar-en": ("size:32", 128, 32), "nllb-600M": ("size:32", 96, 24)}


def plan_gpu(
    arch: str, model: Path, cache_dir: Path
) -> tuple[list[EngineSpec], list[EngineSpec], list[Run]]:
    """The GPU rows: (engines in processes of their own: none, engines compared in turns, runs)."""
    batching, n, n_out = GPU_RUNS[arch]
    compared = [
        Run("greedy", batching, n, n_out, reps=2),
        Run("beam4", batching, n, n_out, reps=2),
    ]
    base = dict(arch=arch, model=str(model), cache_dir=str(cache_dir), device="cuda")
    together = [
        EngineSpec(engine="hf", compute_type=dtype, vocabulary=vocab, **base)
        for dtype in ("float16", "bfloat16")
        for vocab in ("full", TS)
    ]
    together += [
        EngineSpec(engine="ct2", compute_type=ct, vocabulary=vocab, **base)
        for ct in ("float16", "int8_float16")
        for vocab in ("full", TS)
    ]
    return [], together, compared


def describe_plan(plans: dict[str, tuple[list[EngineSpec], list[EngineSpec], list[Run]]]) -> str:
    """The rows a run would time, one line each (``--dry-run``): what is measured, nothing run."""
    lines = []
    for arch, (alone, together, compared) in plans.items():
        runs = ", ".join(
            f"{r.decode} {r.batching} x{r.sentences} ({r.out_tokens} tokens, {r.reps} reps)"
            for r in compared
        )
        lines.append(f"{arch}: engines compared in turns on {runs}:")
        lines += [f"  together  {s.label}" for s in together]
        for s in alone:
            own = ", ".join(
                f"{r.decode} {r.batching}{' agreement' if r.keep_outputs else ''}" for r in s.runs
            )
            lines.append(f"  alone     {s.label}: {own}")
        conversions = sorted(
            {
                (s.compute_type, s.vocabulary, s.device, bool(s.vmap))
                for s in alone + together
                if s.engine == "ct2"
            }
        )
        lines.append(
            "  conversions: "
            + ", ".join(f"{c}/{v}{' +vmap' if m else ''} on {d}" for c, v, d, m in conversions)
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------------------


def agreement(a: list[str], b: list[str]) -> float:
    return sum(x == y for x, y in zip(a, b)) / len(a) if a else float("nan")


def analyse(
    arch: str, results: list[dict], table: str, reference: str = "hf:float32"
) -> list[dict]:
    """Flatten engine results into rows with ratios to ``reference`` (same table) and matrix-product rates."""
    spec = ARCHS[arch]
    hf = {
        (r["decode"], r["batching"]): r
        for res in results
        if res.get("label") == reference
        for r in res["runs"]
    }
    rows = []
    for res in results:
        if res.get("error"):
            rows.append(
                {
                    "table": table,
                    "arch": arch,
                    "engine": res.get("label", "?"),
                    "error": res["error"],
                }
            )
            continue
        for r in res["runs"]:
            if r.get("keep_outputs"):
                continue
            beam = 4 if r["decode"] == "beam4" else 1
            out_vocab = r.get("vmap_words_per_batch")
            fl = flops_per_output_token(
                spec, r["src_tokens"] / r["sentences"], r["out_tokens"], beam, out_vocab
            )
            gflops = r["tok_s"] * fl["total"]
            ref = hf.get((r["decode"], r["batching"]))
            rows.append(
                {
                    "table": table,
                    "arch": arch,
                    "engine": res["label"],
                    "decode": r["decode"],
                    "batching": r["batching"],
                    "sentences": r["sentences"],
                    "out_tokens": r["out_tokens"],
                    "tokens": r["n_tokens"],
                    "seconds": r["seconds"],
                    "tok_s": r["tok_s"],
                    "sent_s": r["sent_s"],
                    "all_tok_s": r["all_tok_s"],
                    "x_hf": round(r["tok_s"] / ref["tok_s"], 2) if ref else None,
                    "gflop_per_tok": round(fl["total"], 3),
                    "gflops": round(gflops, 1),
                    "peak_rss_mb": res.get("peak_rss_mb"),
                    "load_s": res.get("load_s"),
                    "vmap_words": out_vocab,
                    "load_avg": r.get("load_avg"),
                }
            )
    return rows


_COLUMNS = [("arch", "arch"), ("engine", "engine"), ("decode", "decode"), ("batching", "batching"),
            ("sentences", "sent."), ("tokens", "out tokens"), ("tok_s", "tok/s"), ("sent_s", "sent/s"),
            ("x_hf", "× HF"), ("gflop_per_tok", "GFLOP/tok"), ("peak_fraction", "% peak"),
            ("peak_rss_mb", "peak RSS MB"), ("load_s", "load s"), ("load_avg", "load avg")]


def _table(rows: list[dict], skip: tuple[str, ...] = ()) -> list[str]:
    cols = [(k, name) for k, name in _COLUMNS if k not in skip]
    out = ["| " + " | ".join(name for _, name in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        if "error" in row:
            out.append(f"| {row['arch']} | {row['engine']} | error: {row['error'][:160]} |" + " |" * (len(cols) - 3))
            continue
        cells = []
        for key, _ in cols:
            v = row.get(key)
            if key == "peak_fraction" and v is not None:
                v = f"{100 * v:.0f}%"
            if key == "engine" and row.get("vmap_words"):
                v = f"{v} ({row['vmap_words']:.0f} words)"
            cells.append("" if v is None else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return out


def markdown(
    info: dict, peaks: dict | None, rows: list[dict], extras: dict, verdicts: list[str], mode: str
) -> str:
    out = [f"# Translation benchmark ({mode})", ""]
    if mode == "smoke":
        out += [
            "**Smoke run: a handful of lines, one repetition, on whatever else the machine was doing. It shows "
            "that the code paths run; its figures are not to be quoted.**",
            "",
        ]
    flags = info["cpu_flags_checked"]
    out.append(
        f"CPU flags: AVX-512 VNNI {'yes' if flags['avx512_vnni'] else 'NO'}, AVX2 "
        f"{'yes' if flags['avx2'] else 'no'}, AVX-512F {'yes' if flags['avx512f'] else 'no'} "
        f"(int8 GEMM runs at full rate only with VNNI)."
    )
    if info.get("isa_limits"):
        out.append(
            "**Instruction sets limited by the environment (`--isa avx2`): "
            + ", ".join(f"{k}={v}" for k, v in info["isa_limits"].items())
            + ".** The libraries run their AVX2 code (no AVX-512, no VNNI) on the cores above: an "
            "emulation of an AVX2-only CPU with these cores and clocks, not a run on one. torch's "
            "int8 GEMM peak below goes through fbgemm, which reads none of these variables."
        )
    if info.get("gpus"):
        out.append(f"GPU: {', '.join(info['gpus'])}.")
    out.append("")
    out.append(
        f"Machine: {info['cpu']} ({', '.join(info['cpu_flags'])}), {info['physical_cores']} physical cores / "
        f"{info['logical_cpus']} logical, {info['memory_gb']} GB; Python {info['python']}, torch {info['torch']}, "
        f"transformers {info['transformers']}, ctranslate2 {info['ctranslate2']}. Load average at start "
        f"{info['load_avg_start']}, at end {info.get('load_avg_end')} (other processes share the cores; every "
        f"figure is the best of its repetitions). The run took {info.get('wall_s')} s."
    )
    out.append("")
    if peaks is not None:
        out.append(
            f"Measured GEMM peak ({peaks['threads']} threads, best of the start and the end of the run): fp32 "
            f"{peaks['fp32_gflops']} GFLOP/s (oneDNN {peaks['fp32_onednn_gflops']}, MKL "
            f"{peaks['fp32_mkl_gflops']}: torch's Linear layers use MKL), int8 {peaks['int8_gops']} GOP/s. "
            "`% peak` = achieved matrix-product rate (FLOP model below) / the peak of the row's number type."
        )
        out.append("")
    out.append("## Engines compared in turns (one process, rotating order): the ratios")
    out.append("")
    out.extend(
        _table([r for r in rows if r["table"] == "together"], skip=("peak_rss_mb", "load_s"))
    )
    out.append("")
    out.append("## Engines in processes of their own: load time, peak RSS, batching and sorting")
    out.append("")
    out.extend(_table([r for r in rows if r["table"] == "alone"]))
    out.append("")
    for title, text in extras.items():
        out.append(f"**{title}.** {text}")
        out.append("")
    if verdicts:
        out.append("## Targets")
        out.append("")
        out.extend(f"- {v}" for v in verdicts)
        out.append("")
    return "\n".join(out)


def _overhead(cold: dict) -> float:
    """Pipeline time beyond the engine's, as a fraction of the engine's (NaN: no engine time)."""
    return (cold["translate_s"] - cold["engine_s"]) / cold["engine_s"] if cold["engine_s"] else float("nan")


def describe_pipeline(p: dict) -> str:
    parts = []
    cold, warm = p.get("cold", {}), p.get("warm", {})
    n1 = p["lines"][1]
    if "translate_s" in cold:
        overhead = _overhead(cold)
        parts.append(f"{n1} NTREX lines through load_translator + translate_file (what `summ translate` runs), "
                     f"ct2 {p['compute_type']}, greedy: cold {cold['translate_s']:.2f} s of which engine "
                     f"{cold['engine_s']:.2f} s (overhead {100 * overhead:.1f}%: reading, segmentation, tokenisation, "
                     f"batching, cache writes, writing), {cold['output_tokens']} tokens "
                     f"({cold['output_tokens'] / cold['engine_s']:.0f} tok/s of engine time); model load "
                     f"{cold['load_s']:.2f} s; whole process {cold['process_wall_s']:.2f} s.")
    if "translate_s" in warm and "translate_s" in cold:
        parts.append(f"Warm rerun (all {warm['cache_hits']} pieces from the cache): {warm['translate_s']:.3f} s "
                     f"= {cold['translate_s'] / max(warm['translate_s'], 1e-9):.0f}x faster; whole process "
                     f"{warm['process_wall_s']:.2f} s (Python start, imports and model load dominate it).")
    cli = [(m, p.get(f"cli_{m}x", {}), p.get(f"stub_{m}x", {})) for m in sorted(int(k) for k in p["lines"])]
    if all(c.get("peak_rss_mb") for _, c, _ in cli):
        parts.append("`summ translate --engine ct2 --beam 1 --no-cache` peak RSS: " + ", ".join(
            f"{c['peak_rss_mb']} MB for {p['lines'][m]} lines ({c['wall_s']} s)" for m, c, _ in cli) + ".")
    if all(s.get("peak_rss_mb") for _, _, s in cli):
        parts.append("The pipeline alone (stub engine, real tokenizer): " + ", ".join(
            f"{s['peak_rss_mb']} MB" for _, _, s in cli) + ". What grows is the engine's working set: batches "
            "never mix output caps (caps come in classes of 16, 24, 32, 48, 64, 96, ... tokens), so a small input makes many small batches and a "
            "larger one fills them up to --batch-tokens; the largest batch (decoder caches for batch x cap "
            "positions) sets the peak, which the token budget bounds whatever the input size.")
    return " ".join(parts)


def flop_note() -> str:
    spec = ARCHS["opus-mt-ar-en"]
    g = flops_per_output_token(spec, 1.0, 1.0, 1)
    b = flops_per_output_token(spec, 1.0, 1.0, 4)
    return (f"greedy {g['total']:.3f} GFLOP (encoder {g['encoder']:.3f}, decoder layers {g['decoder_layers']:.3f}, "
            f"output layer {g['output_layer']:.3f}); beam 4 {b['total']:.3f} GFLOP (output layer "
            f"{b['output_layer']:.3f}), with as many source as output tokens (the rows use the measured source "
            f"lengths). The output layer (512 x 62,834) is "
            f"{100 * g['output_layer'] / (g['decoder_layers'] + g['output_layer']):.0f}% of each decoder step; a "
            "vocabulary map shrinks it to the words the map allows.")


def targets(rows: list[dict], pipeline: dict | None, peaks: dict) -> list[str]:
    """Say, per target, whether it was met and, if not, what limits it (ratios from the in-turn table)."""
    out = []
    arch = "opus-mt-ar-en"
    together = [r for r in rows if r["table"] == "together" and r["arch"] == arch and "error" not in r]
    for decode, key in (("beam4", "beam4_x_hf"), ("greedy", "greedy_x_hf")):
        target = TARGETS[key]
        pick = {r["engine"]: r for r in together if r["decode"] == decode and r["batching"] == "size:32"}
        default, hf = pick.get("ct2:int8"), pick.get("hf:float32")
        if not (default and hf):
            continue
        plain = [r for e, r in pick.items() if e.startswith("ct2") and not r.get("vmap_words")]
        fastest = max(plain, key=lambda r: r["tok_s"])
        f32 = pick.get("ct2:float32", {}).get("x_hf", "?")
        line = (f"{decode}, batch 32: the engine's default (ct2:int8, one worker per core) {default['tok_s']} tok/s = "
                f"{default['x_hf']}x HF fp32 ({hf['tok_s']} tok/s); target {target}x → "
                f"{'MET' if default['x_hf'] >= target else 'NOT MET'}. Fastest CT2 setting without a vocabulary map: "
                f"{fastest['engine']} {fastest['x_hf']}x; CT2 float32 (HF's exact tokens) {f32}x.")
        fl = fastest["gflop_per_tok"]
        if default["x_hf"] < target:
            need = target * hf["tok_s"]
            line += (f" {target}x needs {need:.0f} tok/s = {need * fl:.0f} GOP/s at {fl:.3f} GFLOP/token: "
                     f"{100 * need * fl / peaks['int8_gops']:.0f}% of the measured int8 GEMM peak; CT2 int8 reaches "
                     f"{100 * default['peak_fraction']:.0f}%.")
        vm = next((r for e, r in pick.items() if r.get("vmap_words") and e.endswith("+vmap")), None)
        if vm:
            line += (f" With a vocabulary map ({vm['vmap_words']:.0f} of 62,834 output words per batch; outputs may "
                     f"change): {vm['engine']} {vm['tok_s']} tok/s = {vm['x_hf']}x.")
        ts = pick.get(f"ct2:int8 +{TS}")
        if ts:
            line += (f" With the target-script vocabulary ({ts['vmap_words']:.0f} of 62,834 output words; outputs "
                     f"change only where the full model would emit a non-Latin token): {ts['tok_s']} tok/s = "
                     f"{ts['x_hf']}x → {'MET' if ts['x_hf'] >= target else 'NOT MET'}"
                     + (f", {100 * ts['peak_fraction']:.0f}% of the int8 GEMM peak." if "peak_fraction" in ts else "."))
        out.append(line)
    if pipeline and "translate_s" in pipeline.get("cold", {}):
        cold, warm = pipeline["cold"], pipeline.get("warm", {})
        overhead = _overhead(cold)
        out.append(f"pipeline overhead on a cold run: {100 * overhead:.1f}% of engine time; target ≤ 5% → "
                   f"{'MET' if overhead <= TARGETS['overhead'] else 'NOT MET'}.")
        if "translate_s" in warm:
            speed = cold["translate_s"] / max(warm["translate_s"], 1e-9)
            out.append(f"warm rerun {speed:.0f}x faster than cold (the translation call; process start and model load, "
                       f"{warm['process_wall_s']:.1f} s, excluded); target ≥ 50x → "
                       f"{'MET' if speed >= TARGETS['warm_speedup'] else 'NOT MET'}.")
    if pipeline and pipeline.get("cli_1x", {}).get("peak_rss_mb") and pipeline.get("cli_10x", {}).get("peak_rss_mb"):
        ratio = pipeline["cli_10x"]["peak_rss_mb"] / pipeline["cli_1x"]["peak_rss_mb"]
        verdict = "MET" if ratio <= TARGETS["rss_10x"] else "NOT MET"
        lines_1x = pipeline["lines"][1]
        if lines_1x < FILLS_BATCHES:
            # Batches never mix output-cap classes, so a small 1x input decodes in batches smaller
            # than the token budget and 10x fills them: the ratio then measures batch filling.
            verdict = (f"not judged ({lines_1x} lines at 1x are too few to fill batches; the full run uses the whole "
                       "NTREX file)")
        line = f"peak RSS of `summ translate` at 10x input = {ratio:.2f}x of 1x; target ≤ 1.2x → {verdict}."
        stub1, stub10 = pipeline.get("stub_1x", {}), pipeline.get("stub_10x", {})
        if stub1.get("peak_rss_mb") and stub10.get("peak_rss_mb"):
            line += (f" The pipeline's own memory (stub engine): {stub10['peak_rss_mb'] / stub1['peak_rss_mb']:.2f}x; "
                     "the rest is the engine's working set for fuller batches, bounded by --batch-tokens")
            line += "."
        out.append(line)
    return out


# --------------------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------------------


def probe_worker(threads: str, mode: str = "full") -> None:
    """Machine, library versions and GEMM peaks, measured in a process of their own.

    The orchestrating process must stay small: Linux carries a parent's peak RSS over into
    a child it starts (``ru_maxrss`` survives exec), which would inflate every worker's figure.
    The smoke run measures a small problem once (a rough peak); the GPU run none (CPU peaks
    say nothing about GPU rows).
    """
    info = machine_info()
    if mode == "gpu":
        info["gemm_peak"] = None
    elif mode == "smoke":
        info["gemm_peak"] = gemm_peak(int(threads), reps=1, sizes=(1024,))
    else:
        info["gemm_peak"] = gemm_peak(int(threads))
    print(json.dumps(info))


def build_worker(work: str, arch: str) -> None:
    _, seconds = ensure_model(Path(work), arch)
    print(json.dumps({"seconds": round(seconds, 1)}))


def _probe(threads: int, mode: str = "full") -> dict:
    status, out, tail = _python(["--probe", str(threads), mode])
    if status != 0:
        raise RuntimeError(f"machine probe failed: {tail}")
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="opus-mt architecture only, fewer rows (~4 minutes)"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="folder for the .md and .json results"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("~/.cache/summ/bench").expanduser(),
        help="where the random-weight models and their conversions are kept between runs",
    )
    parser.add_argument("--no-pipeline", action="store_true", help="engine rows only")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a handful of lines, one repetition, no pipeline: proves the code paths run (figures not "
        "to be quoted)",
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="on a CUDA GPU: HF float16/bfloat16 vs CT2 float16/int8_float16, both vocabularies, "
        "both architectures (under ten minutes); writes OUT/gpu.md and .json",
    )
    parser.add_argument(
        "--arch",
        nargs="+",
        choices=list(ARCHS),
        default=None,
        help="architectures to run (default: the mode's)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the rows the run would time, and exit"
    )
    parser.add_argument(
        "--isa",
        choices=["native", "avx2"],
        default="native",
        help="avx2: run every library's AVX2 code only (no AVX-512, no VNNI), emulating an "
        "AVX2-only CPU; results go to MODE-avx2.md",
    )
    parser.add_argument(
        "--count-vocabulary",
        nargs="+",
        metavar="MODEL",
        help="print how many output words the target-script rule keeps for these models, and exit",
    )
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--interleave", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--convert", nargs=6, help=argparse.SUPPRESS)
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--stub-pipeline", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-worker", nargs=6, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("cmd", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Helper processes: the script re-runs itself with one of these to measure in isolation.
    helpers = {
        "worker": worker,
        "interleave": interleave_worker,
        "convert": convert_worker,
        "probe": probe_worker,
        "build": build_worker,
        "stub_pipeline": stub_pipeline_worker,
        "pipeline_worker": pipeline_worker,
    }
    for option, helper in helpers.items():
        if getattr(args, option):
            helper(*getattr(args, option))
            return 0
    if args.measure:
        _measure_child(args.cmd)
        return 0
    if args.count_vocabulary:
        count_vocabulary(args.count_vocabulary)
        return 0

    os.environ.pop("CT2_USE_MKL", None)  # int8 is 8-40x slower with MKL on AMD CPUs
    mode = "gpu" if args.gpu else "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.isa == "avx2":
        # Before torch or ctranslate2 is imported here or in any helper process (they inherit
        # the environment): each library reads its variable once, at load.
        os.environ.update(ISA_AVX2)
    stem = mode if args.isa == "native" else f"{mode}-{args.isa}"
    work = args.work
    ct2_cache = work / "ct2"
    archs = ["opus-mt-ar-en"] if mode in ("quick", "smoke") else ["opus-mt-ar-en", "nllb-600M"]
    if args.arch:
        archs = args.arch

    def plans_for(arch: str, vmap: Path | None):
        model = work / arch
        if mode == "gpu":
            return plan_gpu(arch, model, ct2_cache)
        return plan(arch, model, mode, ct2_cache, vmap)

    if args.dry_run:
        vmap_path = work / "opus-mt-ar-en.vmap" if mode in ("quick", "full") else None
        print(
            describe_plan(
                {a: plans_for(a, vmap_path if a == "opus-mt-ar-en" else None) for a in archs}
            )
        )
        return 0
    started = time.perf_counter()
    cores = physical_cores()
    info = _probe(cores, mode)
    peaks = info.pop("gemm_peak")
    print(json.dumps(info, indent=1))
    if mode == "gpu" and info["cuda_devices"] == 0:
        print(
            "error: --gpu needs a CUDA GPU that CTranslate2 sees (and a CUDA build of torch)",
            file=sys.stderr,
        )
        return 2
    if info["load_avg_start"][0] > 0.5 * info["physical_cores"]:
        print(
            f"WARNING: load average {info['load_avg_start'][0]} on {info['physical_cores']} cores: other processes "
            "compete for the CPU; figures are best-of-N and ratios are measured in turns, but expect noise",
            file=sys.stderr,
        )
    print(f"GEMM peak: {peaks}", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    rows, raw, extras, conversions, vocabularies = [], {}, {}, {}, {}
    reference = "hf-cuda:float16" if mode == "gpu" else "hf:float32"
    with tempfile.TemporaryDirectory(prefix="summ-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for arch in archs:
            model = work / arch
            status, out, tail = _python(["--build", str(work), arch])
            if status != 0:
                raise RuntimeError(f"building {arch} failed: {tail}")
            if json.loads(out)["seconds"]:
                print(
                    f"built the {arch} architecture with random weights in {json.loads(out)['seconds']:.0f} s",
                    file=sys.stderr,
                )
            vmap = (
                make_vmap(model, work / f"{arch}.vmap")
                if arch == "opus-mt-ar-en" and mode in ("quick", "full")
                else None
            )
            alone, together, compared = plans_for(arch, vmap)
            # Convert first (once, cached), so that engine rows time loading a converted model.
            needed = {
                (s.compute_type, s.vmap or "", s.vocabulary, s.device)
                for s in alone + together
                if s.engine == "ct2"
            }
            for ct, vm, vocab, device in sorted(needed):
                status, out, tail = _python(
                    ["--convert", str(model), str(ct2_cache), ct, vm, vocab, device]
                )
                info_c = json.loads(out) if status == 0 else {"error": tail}
                if info_c.get("converted"):
                    name = f"{arch} {ct}{' +vmap' if vm else ''}{' +' + vocab if vocab != 'full' else ''}"
                    conversions[name] = info_c
                    print(
                        f"  converted {name} in {info_c['seconds']} s (peak RSS {info_c['peak_rss_mb']} MB)",
                        file=sys.stderr,
                        flush=True,
                    )
                elif "error" in info_c:
                    print(
                        f"  conversion {arch} {ct} {vocab} failed: {info_c['error']}",
                        file=sys.stderr,
                        flush=True,
                    )
            vocabularies[arch] = vocabulary_info(model)
            results_alone = [
                run_job("worker", [s], [], tmp, f"{arch}-alone-{i}") for i, s in enumerate(alone)
            ]
            results_alone = [
                r if "label" in r else {**r, "label": s.label}
                for r, s in zip(results_alone, alone)
            ]
            results_together = run_job("interleave", together, compared, tmp, f"{arch}-together")
            if isinstance(results_together, dict):  # an error
                results_together = [
                    {**results_together, "label": "+".join(s.label for s in together)}
                ]
            raw[arch] = {"alone": results_alone, "together": results_together}
            rows += analyse(arch, results_together, "together", reference)
            rows += analyse(arch, results_alone, "alone", reference)
            outs = {
                r["label"]: next((x["outputs"] for x in r["runs"] if x.get("keep_outputs")), None)
                for r in results_alone
                if not r.get("error")
            }
            if outs.get("ct2:float32") and outs.get("ct2:int8"):
                rate = agreement(outs["ct2:float32"], outs["ct2:int8"])
                extras[f"int8 vs float32 ({arch})"] = (
                    f"identical greedy outputs for {100 * rate:.0f}% of {len(outs['ct2:int8'])} sentences (fixed "
                    "length). Random weights give nearly flat output distributions, where int8 rounding flips argmaxes "
                    "far more often than on a trained model: a lower bound, to be re-measured on the real model."
                )
            pairs = [
                (ct, outs.get(f"ct2:{ct}"), outs.get(f"ct2:{ct} +{TS}"))
                for ct in ("float32", "int8")
            ]
            same = [
                f"ct2:{ct} {100 * agreement(a, b):.0f}% of {len(a)}"
                for ct, a, b in pairs
                if a and b
            ]
            if same:
                extras[f"target-script vs full vocabulary ({arch})"] = (
                    f"identical greedy outputs: {'; '.join(same)} sentences (fixed length). On random weights this "
                    "means little: their nearly flat distributions put the argmax outside the kept set about as often "
                    "as the dropped share of the vocabulary, where a trained model translating into English almost "
                    "never does. Re-measure with the real model (eval/bench/README.md gives the command)."
                )
        pipeline = None
        if not args.no_pipeline and mode in ("quick", "full"):
            pipeline = bench_pipeline(
                work / "opus-mt-ar-en",
                ct2_cache,
                "auto",
                100 if args.quick else 1997,
                (1, 10),
                tmp,
            )
    if peaks is not None:
        end_peaks = _probe(cores, mode)["gemm_peak"]
        for key in ("fp32_gflops", "fp32_mkl_gflops", "fp32_onednn_gflops", "int8_gops"):
            peaks[key] = max(peaks[key], end_peaks[key])
        for row in rows:  # fractions against the better of the two peak measurements
            if "error" not in row:
                peak = peaks["int8_gops"] if "int8" in row["engine"] else peaks["fp32_gflops"]
                row["peak_fraction"] = round(row["gflops"] / peak, 3)
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    info["wall_s"] = round(time.perf_counter() - started)  # the whole run; quoted in the READMEs

    verdicts = targets(rows, pipeline, peaks) if mode in ("quick", "full") else []
    for arch, v in vocabularies.items():
        extras[f"Target-script vocabulary ({arch})"] = (
            f"{v['kept']} of {v['total']} output words kept ({100 * v['kept'] / v['total']:.1f}%); of the "
            f"{v['trained']} trained pieces {v['trained_kept']} are kept, of the {v['fillers']} filler pieces "
            f"{v['fillers_kept']}. Filler script mix: {v['script_mix']}. Assumption: {v['assumption']}. With the "
            "real tokenizer the count is printed by the command in eval/bench/README.md."
        )
    if conversions:
        extras["Conversions (first run only; cached afterwards)"] = "; ".join(
            f"{k}: {v['seconds']} s, peak RSS {v['peak_rss_mb']} MB"
            for k, v in conversions.items()
        )
    if pipeline:
        extras["Pipeline"] = describe_pipeline(pipeline)
    extras["FLOP model (opus-mt, per output token)"] = flop_note()
    text = markdown(info, peaks, rows, extras, verdicts, mode)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    (args.out / f"{stem}.json").write_text(
        json.dumps(
            {
                "machine": info,
                "gemm_peak": peaks,
                "rows": rows,
                "pipeline": pipeline,
                "conversions": conversions,
                "raw": raw,
                "vocabularies": vocabularies,
                "targets": verdicts,
            },
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(text)
    print(f"wrote {args.out / f'{stem}.md'} and .json in {info['wall_s']} s")
    return 0


def kept_ids(model: str | Path, tgt_lang: str = "en") -> tuple[set[int], int]:
    """(kept ids, vocabulary size) of the target-script rule for any model (hub id or folder)."""
    from transformers import AutoConfig, AutoTokenizer

    from summ.engines.vocab import build_target_vocabulary, tokenizer_specials

    tok = AutoTokenizer.from_pretrained(model)
    size = AutoConfig.from_pretrained(model).vocab_size
    tokens = tok.convert_ids_to_tokens(list(range(size)))
    return set(build_target_vocabulary(tokens, tgt_lang, tokenizer_specials(tok)).ids), size


def count_vocabulary(models: list[str]) -> None:
    """Print how many output words the target-script rule keeps for each model (real ones too)."""
    for model in models:
        kept, size = kept_ids(model)
        print(f"{model}: {len(kept)} of {size} output words kept ({100 * len(kept) / size:.1f}%)")


def vocabulary_info(model: Path) -> dict:
    """How many output words the target-script rule keeps for a benchmark model, and of what."""
    kept, size = kept_ids(model)
    filler = json.loads((model / "filler.json").read_text(encoding="utf-8"))
    first = filler["first_filler_id"]
    fillers = range(first, first + filler["fillers"])
    return {
        "kept": len(kept),
        "total": size,
        "trained": first,
        "trained_kept": len(kept & set(range(first))),
        "fillers": len(fillers),
        "fillers_kept": len(kept & set(fillers)),
        "script_mix": filler["script_mix"],
        "assumption": filler["assumption"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
