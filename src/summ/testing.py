"""Tiny models of every supported family, for tests and offline smoke runs.

Each builder trains a real tokenizer of the family's own class on the bundled
``resources/tiny_corpus.txt``, makes a toy-sized model of the family's real architecture,
teaches it to copy its input (:func:`_teach`) and saves both with ``save_pretrained``, so that
``from_pretrained`` and the CTranslate2 converter load it as a downloaded model. Outputs are
garbled copies, but they differ from input to input and some stop with ``</s>`` before the
cap, so alignment, splitting, caching, resuming and scoring bugs show (tests/test_tiny_models.py).

Command line: ``python -m summ.testing tiny-model OUT --family FAMILY`` and
``python -m summ.testing tiny-comet OUT --kind {regression,unified}`` (needs `summ comet
install`). Library code must not import this module.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from summ.engines.base import Generation, register_model_resolver
from summ.errors import ConfigError

logger = logging.getLogger(__name__)

# Causal (decoder-only) chat models, translators and summarisers through a prompt.
CAUSAL_FAMILIES = ("qwen2", "gemma")
# Translation families first (what load_translator supports), then summarisation, then causal.
FAMILIES = ("marian", "m2m100", "nllb", "t5", "bart", "mt5", "mt5-crosssum", *CAUSAL_FAMILIES)

# Toy sizes: a few MB on disk, yet every architectural feature (cross-attention, positions,
# layer norms, tied or untied embeddings) is present. 64 wide, not 32: at 32 the few seconds
# of copy training in _teach() succeed for some seeds and families and not for others.
_D_MODEL = 64
_LAYERS = 2
_HEADS = 4
_FFN = 128
_VOCAB = 1000
# Copy training (see _teach), measured on 200 NTREX-128 lines for seeds 0-2 (marian, bart)
# and 0-1 (the others): 200 steps leave some families blind, at 1e-2 some seeds diverge.
_STEPS = 300
_BATCH = 16
_LEARNING_RATE = 5e-3
_WARMUP = 50  # steps of linear warm-up
_SPAN = 12  # most words per training example
# The encoder-decoder shape shared by the Marian, M2M100/NLLB and BART configs.
_SEQ2SEQ = {"d_model": _D_MODEL, "encoder_layers": _LAYERS, "decoder_layers": _LAYERS,
            "encoder_attention_heads": _HEADS, "decoder_attention_heads": _HEADS,
            "encoder_ffn_dim": _FFN, "decoder_ffn_dim": _FFN}


def corpus_lines() -> list[str]:
    """The bundled Arabic+English training text (comment lines dropped)."""
    corpus = resources.files("summ").joinpath("resources/tiny_corpus.txt")
    text = corpus.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _train_spm(model_type: str, vocab_size: int = _VOCAB,
               **ids: int | str | bool | list[str]) -> bytes:
    """Train a SentencePiece model in memory; returns the serialized model (``ids``: more
    trainer options, such as the special tokens' ids)."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines()), model_writer=buf, vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,  # every character of the corpus (both alphabets) gets a piece
        hard_vocab_limit=False,  # the corpus is small; take what it supports
        num_threads=1,  # deterministic
        minloglevel=2, **ids,
    )
    return buf.getvalue()


def _spm_vocab_and_charsmap(model: bytes) -> tuple[list[tuple[str, float]], bytes]:
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(model)
    return [(p.piece, p.score) for p in proto.pieces], proto.normalizer_spec.precompiled_charsmap


def _new_model(model_class, config, seed: int, **kwargs):
    """``model_class(config, **kwargs)``, its weights drawn after seeding torch with ``seed``."""
    import torch

    torch.manual_seed(seed)
    return model_class(config, **kwargs)


def _sinusoids(positions: int, dim: int):
    """The fixed sinusoidal position table of "Attention is all you need" (sin half, cos half)."""
    import torch

    position = torch.arange(positions, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    return torch.cat([torch.sin(position * rate), torch.cos(position * rate)], dim=1)


def _save(model, tokenizer, out: Path, generation: dict, seed: int | None = None) -> None:
    """Save the model and tokenizer; with a ``seed``, teach the (seq2seq) model to copy first
    (the causal tiny models are made input-sensitive by :func:`_liven` instead)."""
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(**generation)
    if seed is not None:
        _teach(model, tokenizer, seed)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def _teach(model, tokenizer, seed: int) -> None:
    """Train ``model`` for a few seconds to copy its input.

    Random weights give every input the same output (``S S S ...``), which lets alignment,
    batching and resume bugs pass unseen. A few hundred steps of copying random spans of the
    bundled corpus make outputs depend on the input: nearly every one of 200 NTREX-128 lines
    gets an output of its own, short sources end with ``</s>`` and long ones run to a short
    cap, and beam search finds other outputs than greedy search on some lines
    (``tests/test_tiny_models.py`` checks all of it for every family). Summarisers copy too:
    under a cap, a copy is a lead summary, shorter than a long source.

    ``model`` is a fresh seq2seq model with its ``generation_config`` set; ``seed`` seeds the
    examples. One thread, evaluation mode (no dropout) and seeded examples make the same seed
    give the same weights, byte for byte, on a given machine.
    """
    import torch

    from summ.engines.families import make_codec

    codec = make_codec(model.config, tokenizer, model.generation_config)
    # Random spans of the corpus lines, new at every step: whole lines would be memorised
    # (an unseen input then gets a corpus sentence back); spans leave copying as the way to
    # a low loss, while staying ordinary text of both scripts.
    rng = random.Random(seed)
    lines = [line.split() for line in corpus_lines()]
    texts = []
    for _ in range(_STEPS * _BATCH):
        line = rng.choice(lines)
        size = rng.randint(1, min(len(line), _SPAN))
        first = rng.randrange(len(line) - size + 1)
        texts.append(" ".join(line[first : first + size]))
    sources = codec.encode(texts)
    # Target: the forced prefix (NLLB/M2M100 language token, BART's <s>), the text, </s>.
    targets = [[*codec.target_prefix, *content, codec.eos_token_id]
               for content in tokenizer(texts, add_special_tokens=False).input_ids]
    batches = [range(i, i + _BATCH) for i in range(0, len(texts), _BATCH)]
    pad, start = codec.pad_token_id, codec.decoder_start_token_id
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    try:
        model.eval()  # no dropout: nothing random but the seeded examples
        optimiser = torch.optim.Adam(model.parameters(), lr=_LEARNING_RATE, betas=(0.9, 0.98))
        # The usual transformer schedule: linear warm-up, then linear decay to zero, so that
        # the last steps settle instead of jumping around a minimum.
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min(1.0, (step + 1) / _WARMUP) * (1 - step / _STEPS))
        for rows in batches:
            src = [sources[i] for i in rows]
            tgt = [targets[i] for i in rows]
            width, length = max(map(len, src)), max(map(len, tgt))
            input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in src])
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in src])
            decoder_ids = torch.tensor([[start, *t[:-1]] + [pad] * (length - len(t)) for t in tgt])
            labels = torch.tensor([t + [-100] * (length - len(t)) for t in tgt])
            loss = model(input_ids=input_ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                         labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # no batch can derail it
            optimiser.step()
            schedule.step()
        if model.config.model_type == "marian":
            # As in trained opus-mt models, the <pad> row (Marian's decoder start) is zero:
            # CTranslate2 starts Marian's decoder from a zero vector whatever the row holds.
            # Training moved it through the tied output layer; <pad> is never generated.
            with torch.no_grad():
                model.get_input_embeddings().weight[model.config.pad_token_id] = 0
    finally:
        torch.set_num_threads(threads)
    logger.debug("trained %s (last loss %.3f)", type(model).__name__, loss.item())


def marian_vocab(pieces: list[str],
                 filler: Callable[[dict[str, int]], dict[str, int]] | None = None
                 ) -> dict[str, int]:
    """The opus-mt vocabulary layout: ``</s>``=0, ``<unk>``=1, the pieces, ``<pad>`` last.

    ``pieces`` are in model order (``<s>`` is dropped: Marian has none); ``filler`` may grow
    the vocabulary before ``<pad>`` is appended (the benchmark pads to the real 62,834 words).
    """
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    vocab.pop("<s>", None)
    vocab = {p: i for i, p in enumerate(vocab)}
    if filler is not None:
        vocab = filler(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab


def build_marian(out: Path, seed: int = 0) -> None:
    """opus-mt-ar-en shaped: source/target SentencePiece, shared vocab.json, pad = last id."""
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out.mkdir(parents=True, exist_ok=True)
    src = _train_spm("unigram")
    (out / "source.spm").write_bytes(src)
    (out / "target.spm").write_bytes(src)
    pieces, _ = _spm_vocab_and_charsmap(src)
    vocab = marian_vocab([p for p, _score in pieces])
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = MarianTokenizer(source_spm=str(out / "source.spm"), target_spm=str(out / "target.spm"),
                          vocab=str(out / "vocab.json"))
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab), **_SEQ2SEQ,
        max_position_embeddings=512, activation_function="swish", static_position_embeddings=True,
        scale_embedding=True, share_encoder_decoder_embeddings=True,
        pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad, forced_eos_token_id=0,
    )
    model = _new_model(MarianMTModel, config, seed)
    # Same generation defaults as the real opus-mt models (including the forced </s>).
    _save(model, tok, out, dict(bad_words_ids=[[pad]], decoder_start_token_id=pad, eos_token_id=0,
                                forced_eos_token_id=0, max_length=512, num_beams=4,
                                pad_token_id=pad), seed)


def _m2m_like(out: Path, seed: int, tokenizer, vocab_size: int, max_length: int) -> None:
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    config = M2M100Config(
        vocab_size=vocab_size, **_SEQ2SEQ, max_position_embeddings=1024, scale_embedding=True,
        activation_function="relu",
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
    )
    model = _new_model(M2M100ForConditionalGeneration, config, seed)
    # The real NLLB/M2M100 generation_config caps output at 200 tokens: keep that trap in the
    # tiny models so tests prove the pipeline overrides it.
    _save(model, tokenizer, out, dict(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2,
                                      pad_token_id=1, max_length=max_length, num_beams=5), seed)


def build_m2m100(out: Path, seed: int = 0) -> None:
    """m2m100_418M shaped: vocab.json + sentencepiece model, ``__ar__``/``__en__`` tokens."""
    from transformers import M2M100Tokenizer

    out.mkdir(parents=True, exist_ok=True)
    model = _train_spm("bpe", bos_id=0, pad_id=1, eos_id=2, unk_id=3)
    (out / "sentencepiece.bpe.model").write_bytes(model)
    pieces, _ = _spm_vocab_and_charsmap(model)
    vocab = {p: i for i, (p, _s) in enumerate(pieces)}
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(vocab_file=str(out / "vocab.json"),
                          spm_file=str(out / "sentencepiece.bpe.model"),
                          src_lang="ar", tgt_lang="en")
    # As in the real m2m100_418M (128,112 = pieces + 100 language tokens + 8 made-up words):
    # the language tokens live beyond the vocabulary file, so len(tok) undercounts them.
    vocab_size = tok.encoder_size + len(tok.lang_code_to_id) + tok.num_madeup_words
    _m2m_like(out, seed, tok, vocab_size=vocab_size, max_length=200)


def build_nllb(out: Path, seed: int = 0) -> None:
    """nllb-200 shaped: SentencePiece BPE converted to a ``tokenizers`` BPE, FLORES-200 codes.

    Built from vocab + merges (not from the raw ``.model`` file, which transformers 5 turns
    into an all-``<unk>`` vocabulary without any error).
    """
    out.mkdir(parents=True, exist_ok=True)
    tok = nllb_tokenizer(_train_spm("bpe", bos_id=0, pad_id=1, eos_id=2, unk_id=3), out)
    _m2m_like(out, seed, tok, vocab_size=len(tok), max_length=200)


def nllb_tokenizer(spm_model: bytes, work: Path,
                   filler: Callable[[dict[str, int], int], dict[str, int]] | None = None):
    """An ``NllbTokenizer`` (arb_Arab → eng_Latn) from a serialised SentencePiece BPE model.

    ``work`` holds the ``.model`` file the extractor reads, removed afterwards (the saved
    ``tokenizer.json`` is the tokenizer). ``filler(vocab, added)`` may grow the vocabulary,
    ``added`` being how many entries (language codes, ``<mask>``) the tokenizer appends after
    it (the benchmark pads to the real 256,206).
    """
    from transformers import NllbTokenizer
    from transformers.tokenization_utils_sentencepiece import SentencePieceExtractor

    spm_path = work / "sentencepiece.bpe.model"
    spm_path.write_bytes(spm_model)
    try:
        vocab, _scores, merges = SentencePieceExtractor(str(spm_path)).extract()
    finally:
        spm_path.unlink()
    _, charsmap = _spm_vocab_and_charsmap(spm_model)

    def make(v: dict[str, int]):
        return NllbTokenizer(vocab=v, merges=merges, _spm_precompiled_charsmap=charsmap,
                             src_lang="arb_Arab", tgt_lang="eng_Latn")

    tok = make(vocab)
    if filler is not None:
        tok = make(filler(vocab, len(tok) - len(vocab)))
    return tok


def _t5_like(out: Path, seed: int, config_class, model_class, extra_symbols: list[str],
             generation: dict, **extra: object) -> None:
    """Build a T5-style model (``config_class``, ``model_class``) with ``extra_symbols`` in
    its vocabulary, ``generation`` defaults and ``extra`` config keys."""
    from transformers import T5Tokenizer

    out.mkdir(parents=True, exist_ok=True)
    # T5 layout: <pad>=0, </s>=1, <unk>=2, then the pieces.
    spm_model = _train_spm("unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                           user_defined_symbols=extra_symbols)
    vocab, charsmap = _spm_vocab_and_charsmap(spm_model)
    tok = T5Tokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap, extra_ids=0)
    config = config_class(
        vocab_size=len(tok), d_model=_D_MODEL, d_kv=_D_MODEL // _HEADS, d_ff=_FFN,
        num_layers=_LAYERS, num_decoder_layers=_LAYERS, num_heads=_HEADS,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, **extra,
    )
    model = _new_model(model_class, config, seed)
    _save(model, tok, out, dict(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0,
                                **generation), seed)


def build_t5(out: Path, seed: int = 0) -> None:
    """madlad400-mt shaped: T5 with ``<2xx>`` target-language tokens in the vocabulary."""
    from transformers import T5Config, T5ForConditionalGeneration

    _t5_like(out, seed, T5Config, T5ForConditionalGeneration, ["<2en>", "<2ar>", "<2fr>"], {})


def build_mt5(out: Path, seed: int = 0, crosssum: bool = False) -> None:
    """mT5_multilingual_XLSum shaped; with ``crosssum`` also the CrossSum ``langid_map``.

    csebuetnlp/mT5_m2m_crossSum selects the output language by starting the decoder with a
    language token looked up in ``config.task_specific_params["langid_map"]``.
    """
    from transformers import MT5Config, MT5ForConditionalGeneration

    lang_tokens = {"arabic": "▁<extra_id_0>", "english": "▁<extra_id_1>",
                   "french": "▁<extra_id_2>"}
    extra = {}
    if crosssum:
        langid_map = {k: [i, v] for i, (k, v) in enumerate(lang_tokens.items())}
        extra["task_specific_params"] = {"langid_map": langid_map}
    _t5_like(out, seed, MT5Config, MT5ForConditionalGeneration,
             list(lang_tokens.values()) if crosssum else [],
             {"max_length": 84, "num_beams": 4, "no_repeat_ngram_size": 2}, **extra)


def build_bart(out: Path, seed: int = 0) -> None:
    """distilbart-cnn shaped: byte-level BPE (vocab.json + merges.txt), CNN/DM defaults."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    out.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus_lines(), vocab_size=_VOCAB, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                            show_progress=False)
    bpe.save_model(str(out))
    tok = BartTokenizer(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"))
    config = BartConfig(
        vocab_size=len(tok), **_SEQ2SEQ, max_position_embeddings=1024,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        forced_bos_token_id=0,
        # Keys the real distilbart-cnn config.json carries (fairseq heritage); the CTranslate2
        # converter reads them and transformers 5 no longer sets them by default.
        normalize_before=False, normalize_embedding=True, add_final_layer_norm=False,
    )
    model = _new_model(BartForConditionalGeneration, config, seed)
    # Learned positions start as sinusoids (Marian's and M2M100's fixed table, at the scale of
    # the other weights), so that the few seconds of copy training have positions to align by.
    with torch.no_grad():
        for module in (model.model.encoder.embed_positions, model.model.decoder.embed_positions):
            module.weight.copy_(_sinusoids(*module.weight.shape) * config.init_std * 2**0.5)
    _save(model, tok, out, dict(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2,
                                pad_token_id=1, forced_bos_token_id=0, forced_eos_token_id=2,
                                max_length=142, min_length=56, num_beams=4, length_penalty=2.0,
                                no_repeat_ngram_size=3, early_stopping=True), seed)


# ------------------------------- causal chat models (Qwen2.5-Instruct and Gemma 2 it shapes)

# ChatML as Qwen2.5-Instruct writes it, with its default system message; written for these
# tiny models (the real template also handles tools, which summ never sends).
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- set rest = messages[1:] %}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}"
    "{%- set rest = messages %}"
    "{%- endif %}"
    "{%- for message in rest %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Gemma's turns: <bos>, user/model turns closed by <end_of_turn>, no system role.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- raise_exception('System role not supported') }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)

# Context of the tiny causal models: small enough that tests reach it with a few NTREX
# sentences (the real Qwen2.5-1.5B has 32,768 positions, Gemma 2 8,192).
_CAUSAL_CONTEXT = 1024
_CAUSAL_HIDDEN = 64
_CAUSAL_HEADS = 4
_CAUSAL_KV_HEADS = 2  # grouped-query attention, as in both real families
# The decoder shape shared by the Qwen2 and Gemma 2 configs.
_CAUSAL = {"hidden_size": _CAUSAL_HIDDEN, "intermediate_size": 2 * _CAUSAL_HIDDEN,
           "num_hidden_layers": _LAYERS, "num_attention_heads": _CAUSAL_HEADS,
           "num_key_value_heads": _CAUSAL_KV_HEADS, "max_position_embeddings": _CAUSAL_CONTEXT}
# Input-sensitive initialisation (the `_lively` recipe of tests/test_ct2.py): (embedding std,
# std of the other matrices, factor on the stop tokens' output rows). Larger matrices make
# each output depend on its input, a boosted end-of-turn row makes some answers end before
# their cap. Embeddings stay small: Gemma scales them by sqrt(hidden), and at the other
# matrices' scale every answer collapsed into one byte token. Chosen on 60 NTREX sentences
# (all outputs distinct, 40-70% capped at 24 tokens); tests/test_llm.py checks that it holds.
_CAUSAL_LIVELY = {"qwen2": (0.02, 0.3, 1.5), "gemma": (0.02, 0.3, 1.5)}


def qwen2_tokenizer(lines: list[str] | None = None, vocab_size: int = _VOCAB,
                    total: int | None = None, context: int = _CAUSAL_CONTEXT):
    """A ``Qwen2Tokenizer`` (byte-level BPE with Qwen's pre-tokenizer) trained on the corpus,
    with ``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>`` after it and the ChatML template.

    Args:
        lines: training text (default: the bundled corpus; the benchmark trains on NTREX).
        vocab_size: BPE vocabulary to train.
        total: pad the vocabulary with filler tokens to this size, special tokens included
            (the benchmark: Qwen2.5's 151,936, so that the output layer has its real width).
        context: the tokenizer's ``model_max_length``.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    base = Qwen2Tokenizer()
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = base.backend_tokenizer.normalizer
    bpe.pre_tokenizer = base.backend_tokenizer.pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(lines if lines is not None else corpus_lines(), trainer)
    trained = json.loads(bpe.to_str())["model"]
    vocab = dict(trained["vocab"])
    specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    while total is not None and len(vocab) < total - len(specials):
        vocab[f"<|filler_{len(vocab)}|>"] = len(vocab)
    for token in specials:
        vocab[token] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    # As in Qwen2.5-Instruct: EOS is the end of a turn, padding the end-of-text token.
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", model_max_length=context)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = QWEN_CHAT_TEMPLATE
    return tok


def gemma_tokenizer(work: Path):
    """A ``GemmaTokenizer`` (SentencePiece BPE with byte fallback, Gemma's id layout:
    ``<pad>``=0, ``<eos>``=1, ``<bos>``=2, ``<unk>``=3) with the turn tokens and Gemma's template.

    Built from the model's vocab + merges (the raw ``.model`` path gives an all-``<unk>``
    vocabulary in transformers 5, see DESIGN.md); ``work`` holds the file while extracting.
    """
    from transformers import GemmaTokenizer
    from transformers.tokenization_utils_sentencepiece import SentencePieceExtractor

    spm_model = _train_spm(
        "bpe", byte_fallback=True,  # as Gemma: any character encodes, never <unk>
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        user_defined_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>"],
        # Gemma's tokenizer normalises nothing and adds no dummy prefix.
        normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, split_digits=True,
    )
    spm_path = work / "tokenizer.model.tmp"
    spm_path.write_bytes(spm_model)
    try:
        vocab, _scores, merges = SentencePieceExtractor(str(spm_path)).extract()
    finally:
        spm_path.unlink()
    # add_bos_token: as the real tokenizer, a plain (non-chat) prompt starts with <bos>.
    tok = GemmaTokenizer(vocab=vocab, merges=merges, model_max_length=_CAUSAL_CONTEXT,
                         add_bos_token=True)
    tok.add_special_tokens({"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    tok.chat_template = GEMMA_CHAT_TEMPLATE
    return tok


def _liven(model, family: str, stop_ids: list[int], seed: int) -> None:
    """Redraw the matrices at :data:`_CAUSAL_LIVELY` scale; boost the stop tokens' output rows."""
    import torch

    emb_std, std, boost = _CAUSAL_LIVELY[family]
    gen = torch.Generator().manual_seed(seed)
    embedding = model.get_input_embeddings().weight
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                scale = emb_std if param is embedding else std
                param.copy_(torch.randn(param.shape, generator=gen) * scale)
        for i in stop_ids:
            model.get_output_embeddings().weight[i] *= boost


def build_qwen2(out: Path, seed: int = 0) -> None:
    """Qwen2.5-1.5B-Instruct shaped: Qwen2 (GQA, RoPE theta 1e6, tied embeddings), ChatML,
    and the real model's sampling defaults in generation_config (which summ must override)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    tok = qwen2_tokenizer()
    endoftext, im_end = tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    config = Qwen2Config(
        vocab_size=len(tok), **_CAUSAL, rope_theta=1_000_000.0, tie_word_embeddings=True,
        bos_token_id=endoftext, eos_token_id=im_end, pad_token_id=endoftext,
    )
    model = _new_model(Qwen2ForCausalLM, config, seed)
    _liven(model, "qwen2", [im_end], seed + 1)
    _save(model, tok, out, dict(bos_token_id=endoftext, eos_token_id=[im_end, endoftext],
                                pad_token_id=endoftext, do_sample=True, temperature=0.7, top_p=0.8,
                                top_k=20, repetition_penalty=1.05))


def build_gemma(out: Path, seed: int = 0) -> None:
    """gemma-2-2b-it shaped: Gemma 2 (GQA, pre/post norms, alternating sliding-window layers,
    query scaling by ``query_pre_attn_scalar``, final logit soft-capping), Gemma's turns.

    Attention-logit soft-capping is off: CTranslate2 cannot run it (the real Gemma 2 has it,
    and the CTranslate2 engine warns there); everything else CTranslate2 supports is on, so
    that the engines' equivalence test covers it.
    """
    from transformers import Gemma2Config, Gemma2ForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    tok = gemma_tokenizer(out)
    end_of_turn = tok.convert_tokens_to_ids("<end_of_turn>")
    head_dim = _CAUSAL_HIDDEN // _CAUSAL_HEADS
    config = Gemma2Config(
        vocab_size=len(tok), **_CAUSAL, head_dim=head_dim,
        # Not head_dim, so that a conversion ignoring it gives different outputs.
        query_pre_attn_scalar=2 * head_dim, attn_logit_softcapping=None,
        final_logit_softcapping=30.0,
        # The real 2B's window (4,096, half its context) is beyond this model's context: the
        # CTranslate2 engine limits inputs to the window (see summ.engines.ct2), and a tiny
        # model must still take a whole prompted article.
        sliding_window=4096, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
        pad_token_id=0, eos_token_id=1, bos_token_id=2,
    )
    model = _new_model(Gemma2ForCausalLM, config, seed)
    _liven(model, "gemma", [1, end_of_turn], seed + 1)
    _save(model, tok, out, dict(bos_token_id=2, eos_token_id=[1, end_of_turn], pad_token_id=0))


BUILDERS: dict[str, Callable[..., None]] = {
    "marian": build_marian,
    "m2m100": build_m2m100,
    "nllb": build_nllb,
    "t5": build_t5,
    "bart": build_bart,
    "mt5": build_mt5,
    "mt5-crosssum": lambda out, seed=0: build_mt5(out, seed, crosssum=True),
    "qwen2": build_qwen2,
    "gemma": build_gemma,
}


class EchoEngine:
    """A fake :class:`summ.translate.Engine` that "translates" by echoing its input.

    Tokens are whitespace-separated words plus one end-of-sentence token, so token counts
    are easy to reason about in tests; every call is recorded in ``calls`` (batch of ids and
    cap). Output is the source words, cut at the cap like a real model would be.
    """

    def __init__(self, max_input_tokens: int = 64, max_output_tokens: int = 256,
                 model_id: str = "echo") -> None:
        self.model_id = model_id
        self.revision = "echo-1"
        self.name = "echo"
        self.family = "echo"
        self.own_max_new_tokens = None
        self.max_input_tokens = max_input_tokens
        self.max_output_tokens = max_output_tokens
        self._words: dict[str, int] = {"</s>": 0}
        self._ids: list[str] = ["</s>"]
        self.calls: list[tuple[list[list[int]], int]] = []

    def settings(self) -> dict:
        return {"echo": True}

    def encode(self, texts: list[str]) -> list[list[int]]:
        out = []
        for text in texts:
            ids = []
            for word in text.split():
                if word not in self._words:
                    self._words[word] = len(self._ids)
                    self._ids.append(word)
                ids.append(self._words[word])
            out.append(ids + [0])
        return out

    def text(self, ids: list[int]) -> str:
        """The source words of encoded ``ids`` (end token dropped): what a call was given."""
        return " ".join(self._ids[i] for i in ids[:-1])

    def generate(self, batch: list[list[int]], max_new_tokens: int):
        self.calls.append(([list(ids) for ids in batch], max_new_tokens))
        results = []
        for ids in batch:
            words = [self._ids[i] for i in ids[:-1]]
            capped = len(words) > max_new_tokens
            words = words[:max_new_tokens]
            results.append(Generation(" ".join(words), len(words), capped))
        return results


def build_tiny_model(out: str | Path, family: str, seed: int = 0) -> Path:
    """Build a tiny copy-trained model of ``family`` (one of :data:`FAMILIES`) in ``out``.

    ``out`` is created with its parents; existing files are overwritten. ``seed`` seeds the
    initial weights and the training examples (the tokenizer is deterministic): the same seed
    gives the same files on a given machine. Returns ``out`` as a path.
    """
    if family not in BUILDERS:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    out = Path(out)
    BUILDERS[family](out, seed)
    # Marks the directory as a test model so that reports can say so.
    (out / "SUMM_TINY_MODEL").write_text(f"family={family}\nseed={seed}\nrecipe={RECIPE}\n",
                                         encoding="utf-8")
    logger.info("built tiny %s model in %s", family, out)
    return out


#: Version of the tiny-model recipes, in each model's marker file: a ``tiny:FAMILY`` folder
#: built by another recipe is built again (bump it whenever a builder's output changes).
RECIPE = 2
#: Where ``tiny:FAMILY`` models are built (and looked for); tests point it at their fixture.
TINY_MODELS_ENV = "SUMM_TINY_MODELS"
TINY_PREFIX = "tiny:"


def tiny_models_dir() -> Path:
    """Where ``tiny:FAMILY`` models live: ``$SUMM_TINY_MODELS``, else the user cache."""
    from summ.data import user_cache_dir

    return user_cache_dir("tiny-models", TINY_MODELS_ENV)


def check_tiny(model: str) -> str | None:
    """The problem with a ``tiny:FAMILY`` id (an unknown family), or ``None``."""
    family = model[len(TINY_PREFIX):]
    return None if family in BUILDERS else (
        f"unknown tiny model family {family!r} (choose {', '.join(FAMILIES)})")


def resolve_tiny(model: str) -> str:
    """The folder of the ``tiny:FAMILY`` model, built (seeded, deterministic) on first use.

    A later run reuses it, so the model's fingerprint, and with it the translation cache,
    stays the same. Building goes to a temporary folder renamed into place, so a concurrent
    run never sees a half-built model.

    Raises:
        ConfigError: an unknown family.
    """
    if problem := check_tiny(model):
        raise ConfigError(problem)
    family = model[len(TINY_PREFIX):]
    target = tiny_models_dir() / family
    marker = target / "SUMM_TINY_MODEL"

    def current() -> bool:
        return marker.is_file() and f"recipe={RECIPE}\n" in marker.read_text(encoding="utf-8")

    if current():
        return str(target)
    # Built by an older recipe (e.g. the blind, untrained models): built again, then swapped.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{family}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    build_tiny_model(tmp, family)
    if target.exists() and not current():
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not current():
            raise  # not the race below but a real failure (permissions, disk)
        # Another process finished first (the target is a non-empty directory): use its copy.
    return str(target)


# Importing this module makes ``tiny:FAMILY`` ids loadable everywhere (library code resolves
# prefixed ids through the registry in summ.engines.base and never imports this module).
register_model_resolver(TINY_PREFIX, resolve_tiny, check_tiny)


# --------------------------------------------------------------------------- tiny COMET

#: Kinds of tiny COMET checkpoint: wmt22-comet-da shaped (reference-based RegressionMetric) and
#: wmt22-cometkiwi-da shaped (reference-free UnifiedMetric over translation + source).
COMET_KINDS = ("regression", "unified")
# 514 positions, as in xlm-roberta-large: COMET's input limit is then its real one, 510 tokens
# per text and 512 for a joined pair (every NTREX-128 line fits: at most 252 tiny-vocabulary
# tokens). Weights drawn wider than XLM-R's 0.02: at 0.02 the first-token embedding COMETKiwi
# reads barely depends on the input, and comet-score's half precision rounds the differences
# away (every segment scored the same, which would make equality tests vacuous).
_XLMR_POSITIONS = 514
_XLMR_INIT_RANGE = 0.5


def build_xlmr(out: str | Path, seed: int = 0) -> Path:
    """A tiny XLM-RoBERTa encoder (what COMET's ``pretrained_model`` names) in ``out``.

    XLM-R's vocabulary layout over a SentencePiece unigram model trained on the bundled
    corpus: ``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, the pieces (fairseq's offset of
    one), ``<mask>`` last. Built from pieces and scores (not the raw ``.model`` file, see
    DESIGN.md), saved with ``save_pretrained`` so that transformers 4.x in the COMET
    environment loads ``tokenizer.json`` as ``XLMRobertaTokenizerFast``. ``seed`` is the
    torch seed of the weights; returns ``out``.
    """
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pieces, charsmap = _spm_vocab_and_charsmap(_train_spm("unigram"))
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab = [*specials, *pieces[3:], ("<mask>", 0.0)]
    tok = XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap)
    config = XLMRobertaConfig(
        vocab_size=len(tok), hidden_size=_D_MODEL, num_hidden_layers=_LAYERS,
        num_attention_heads=_HEADS, intermediate_size=_FFN,
        max_position_embeddings=_XLMR_POSITIONS,
        type_vocab_size=1, layer_norm_eps=1e-5, initializer_range=_XLMR_INIT_RANGE,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = _new_model(XLMRobertaModel, config, seed, add_pooling_layer=False)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def build_tiny_comet(out: str | Path, kind: str, python: str | Path | None = None,
                     seed: int = 0) -> Path:
    """A tiny random-weight COMET checkpoint in ``out``, built through COMET's own classes.

    The tiny XLM-R goes to ``out/encoder``; ``resources/comet_tiny.py`` then runs under the
    COMET environment's Python and writes ``out/hparams.yaml`` and ``out/checkpoints/model.ckpt``
    (the layout of a downloaded COMET model), checking that ``comet.load_from_checkpoint`` gives
    every weight back. ``kind`` is one of :data:`COMET_KINDS`, ``python`` the COMET
    environment's Python (default: :func:`summ.comet.comet_python`), ``seed`` the torch seed.

    Returns:
        The checkpoint file (``out/checkpoints/model.ckpt``).

    Raises:
        ValueError: unknown kind.
        RuntimeError: the builder failed (its last error line is in the message).
    """
    from summ.comet import comet_python, worker_script

    if kind not in COMET_KINDS:
        raise ValueError(f"unknown COMET kind {kind!r}; choose one of {', '.join(COMET_KINDS)}")
    out = Path(out)
    encoder = build_xlmr(out / "encoder", seed)
    script = worker_script().with_name("comet_tiny.py")
    proc = subprocess.run(
        [str(python or comet_python()), str(script), str(out), "--kind", kind,
         "--encoder", str(encoder), "--seed", str(seed)], capture_output=True, text=True,
    )
    if proc.returncode != 0:
        last = [x for x in proc.stderr.splitlines() if x.strip()][-1:] or ["no error output"]
        raise RuntimeError(f"building the tiny COMET checkpoint failed: {last[0]}")
    (out / "SUMM_TINY_MODEL").write_text(f"family=comet-{kind}\nseed={seed}\n", encoding="utf-8")
    logger.info("built tiny COMET %s checkpoint in %s", kind, out)
    return out / "checkpoints" / "model.ckpt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m summ.testing",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tiny = sub.add_parser("tiny-model", help="build a tiny copy-trained test model")
    tiny.add_argument("out", type=Path)
    tiny.add_argument("--family", choices=FAMILIES, required=True)
    tiny.add_argument("--seed", type=int, default=0)
    comet = sub.add_parser("tiny-comet", help="build a tiny random-weight COMET checkpoint "
                           "(needs the COMET environment)")
    comet.add_argument("out", type=Path)
    comet.add_argument("--kind", choices=COMET_KINDS, required=True)
    comet.add_argument("--python", type=Path, default=None,
                       help="the COMET environment's python (default: summ's)")
    comet.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "tiny-comet":
        print(build_tiny_comet(args.out, args.kind, args.python, args.seed))
    else:
        build_tiny_model(args.out, args.family, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
