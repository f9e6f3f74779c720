"""The CTranslate2 engine: the same models as the HF engine, converted once, decoded faster.

A Hugging Face model (found exactly as :mod:`summ.engines.hf` finds it) is converted with
``TransformersConverter`` into a cache folder (``SUMM_CT2_CACHE``, else ``~/.cache/summ/ct2``)
named after the model id, resolved revision, ctranslate2 version and weight type, and reused
afterwards. Conversion is atomic (a temporary folder beside the target, then a rename), so a
killed conversion never leaves a half model that a later run would load.

Tokenisation stays with the HF tokenizer (the family :class:`Codec`), so both engines feed the
model identical token ids; in float32 with greedy search they give the same tokens
(``tests/test_ct2.py`` checks every translation family). Every CTranslate2 default that changes
an output is overridden: ``max_input_length`` (1024, silently truncating),
``max_decoding_length`` (256), ``beam_size`` (2) and ``min_decoding_length`` (1).

On CPU the defaults are int8 weights and one single-threaded worker per physical core
(``eval/bench/bench_translate.py``); ``CT2_USE_MKL=1`` makes int8 8-40x slower on AMD CPUs, so
it is never set here.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from summ.engines.base import DecodeConfig, resolved_decode
from summ.engines.causal import CausalCodec, CausalEngineMixin, is_causal, make_causal_codec
from summ.engines.families import Codec, CodecEngine, make_codec
from summ.engines.hub import (
    load_generation_config,
    load_pretrained,
    load_tokenizer,
    local_folder,
    user_revision,
)
from summ.engines.vocab import (
    RULE_VERSION,
    TargetVocabulary,
    build_target_vocabulary,
    check_tokenizer,
    check_vocabulary,
    read_vmap,
    scripts_for,
    tokenizer_specials,
    vmap_text,
)
from summ.errors import ConfigError, require

logger = logging.getLogger(__name__)

CACHE_ENV = "SUMM_CT2_CACHE"

# Bump when the conversion recipe below changes (e.g. the M2M100 vocabulary fix), so that
# folders converted by an older recipe are not reused.
RECIPE = 1

# Written last into a finished conversion; a folder without it is not a model of ours.
MARKER = "summ-ct2.json"
# The vocabulary map CTranslate2 loads from a model folder (a target-script conversion writes it).
VMAP_FILE = "vmap.txt"
_TMP_PREFIX = ".tmp-"
# A temporary folder left by a process on another machine (shared cache) is removed only
# when it is this old: its owner cannot be asked whether it is still alive.
_STALE_TMP_S = 24 * 3600

# What `compute_type="auto"` means per device; see eval/bench/README.md for the measurements.
# CPU: int8 (oneDNN's VNNI kernels): 2-3x float32 on the benchmark machine for the
# opus-mt architecture. It changes some outputs; float32 gives the HF engine's tokens exactly.
# CUDA: int8 weights with float16 activations, the usual best speed/memory trade-off.
AUTO_COMPUTE = {"cpu": ("int8", "float32"), "cuda": ("int8_float16", "float16", "float32")}

# The converter's module-level loader table is shared; conversions patch it one at a time.
_CONVERT_LOCK = threading.Lock()


# Small helpers ------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``SUMM_CT2_CACHE`` if set, else ``ct2`` in summ's user cache folder
    (``~/.cache/summ/ct2``)."""
    from summ.data import user_cache_dir

    return user_cache_dir("ct2", CACHE_ENV)


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads share a core's GEMM units)."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores: set[tuple[str, str]] = set()
    try:
        for cpu in allowed:
            topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
            cores.add((package, core))
    except OSError:
        return len(allowed)
    return max(1, len(cores))


def default_threads() -> int:
    """CPU threads to use: ``OMP_NUM_THREADS`` when set (as torch honours it), else the
    physical cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return physical_cores()


def thread_layout(device: str, inter_threads: int, intra_threads: int) -> tuple[int, int]:
    """Resolve 0 (= auto) in (inter_threads, intra_threads).

    On CPU the threads (:func:`default_threads`) go by default to parallel single-threaded
    workers, each decoding a share of the batch: 1.2-1.5x faster than one multi-threaded worker
    at batch 32 (per-step matrices are small, threads synchronise at every layer), though a
    lone sentence runs on one thread. On CUDA one worker drives the GPU.

    Raises:
        ConfigError: a negative count.
    """
    if inter_threads < 0 or intra_threads < 0:
        raise ConfigError(f"inter_threads and intra_threads must be >= 0 (got {inter_threads}, "
                          f"{intra_threads})")
    if device == "cuda":
        return inter_threads or 1, intra_threads or 1
    total = default_threads()
    if not inter_threads and not intra_threads:
        return total, 1
    if not inter_threads:
        return max(1, total // intra_threads), intra_threads
    if not intra_threads:
        return inter_threads, max(1, total // inter_threads)
    return inter_threads, intra_threads


def pick_device(device: str = "auto") -> tuple[str, int]:
    """``auto`` → cuda if CTranslate2 sees a GPU, else cpu. Returns (device, index).

    Raises:
        ConfigError: a device CTranslate2 cannot run on (``mps``, ...).
    """
    import ctranslate2

    if device == "auto":
        return ("cuda", 0) if ctranslate2.get_cuda_device_count() > 0 else ("cpu", 0)
    kind, _, index = device.partition(":")
    if kind not in {"cpu", "cuda"} or (index and not index.isdigit()):
        raise ConfigError(f"CTranslate2 runs on cpu or cuda[:N], not {device!r}; use --engine hf "
                          f"for other devices")
    if kind == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        raise ConfigError("device cuda requested but CTranslate2 sees no CUDA GPU (or was "
                          "installed without CUDA)")
    return kind, int(index or 0)


def pick_compute_type(compute_type: str, device: str) -> str:
    """Resolve ``auto`` and check that the device supports the type.

    Raises:
        ConfigError: a type this device (or this ctranslate2 build) cannot run.
    """
    import ctranslate2

    supported = set(ctranslate2.get_supported_compute_types(device))
    if compute_type == "auto":
        return next((c for c in AUTO_COMPUTE[device] if c in supported), "float32")
    if compute_type not in supported:
        raise ConfigError(f"compute_type {compute_type!r} is not supported on {device} by this "
                          f"ctranslate2 build; choose auto or one of "
                          f"{', '.join(sorted(supported))}")
    return compute_type


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "model"


def _file_digest(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def conversion_key(model_id: str, revision: str, quantization: str, vmap: str | None = None, *,
                   vocabulary: str = "full", tgt_lang: str = "en") -> dict:
    """What a converted folder depends on; its hash names the folder.

    A ``target-script`` conversion also depends on the rule's version and the target's
    scripts (its map is built into the folder); a ``full`` one has no such entry, so folders
    converted before the option existed stay valid.
    """
    import ctranslate2

    local = Path(model_id).expanduser().is_dir()
    key = {
        # Local folders are identified by their content fingerprint (the revision), so a
        # moved folder is not converted again.
        "model": "local" if local else model_id,
        "revision": revision,
        "ctranslate2": ctranslate2.__version__,
        "quantization": quantization,
        "recipe": RECIPE,
        "vmap": _file_digest(vmap) if vmap else None,
    }
    if check_vocabulary(vocabulary) == "target-script":
        key["vocabulary"] = {"rule": vocabulary, "version": RULE_VERSION,
                             "scripts": list(scripts_for(tgt_lang))}
    return key


def conversion_dir(root: Path, model_id: str, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    local = key["model"] == "local"
    name = Path(model_id).expanduser().name if local else model_id.replace("/", "--")
    return root / f"{_slug(name)}--{key['quantization']}--{digest}"


def is_converted(folder: Path) -> bool:
    """A finished conversion: the rename made it appear with its marker and weights."""
    return (folder / MARKER).is_file() and (folder / "model.bin").is_file()


def clean_stale_temps(root: Path) -> list[Path]:
    """Remove temporary folders of conversions that died (killed process, crash).

    A folder is stale when its owner process (named in the folder name) is gone, or, for a
    folder made on another host, when it is older than a day. Returns the folders removed.
    """
    removed = []
    if not root.is_dir():
        return removed
    host = socket.gethostname()
    for tmp in root.glob(f"{_TMP_PREFIX}*"):
        owner_host, pid = _tmp_owner(tmp.name)
        if owner_host == host and pid is not None:
            stale = not _alive(pid)
        else:
            try:
                stale = time.time() - tmp.stat().st_mtime > _STALE_TMP_S
            except OSError:
                continue
        if stale:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
            logger.info("removed %s, left by an interrupted conversion", tmp)
    return removed


def _tmp_name(target: Path) -> str:
    # Host and pid let a later run tell an abandoned folder from one still being written.
    return f"{_TMP_PREFIX}{target.name}--{socket.gethostname()}--{os.getpid()}--"


def _tmp_owner(name: str) -> tuple[str | None, int | None]:
    parts = name.split("--")
    if len(parts) >= 3 and parts[-2].isdigit():
        return parts[-3], int(parts[-2])
    return None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


# Conversion ---------------------------------------------------------------------------


def _fixed_loaders() -> tuple[object, dict[str, tuple[type, type]]]:
    """CTranslate2 loaders corrected for transformers 5: config name -> (fixed, stock).

    * M2M100: ctranslate2 reads the ``__xx__`` language tokens from
      ``special_tokens_map["additional_special_tokens"]``, which transformers 5 no longer
      fills: the vocabulary came out 100 tokens short ("Source vocabulary 0 has size 1008 but
      the model expected 1108"). The fixed loader builds it by id from ``get_vocab()`` plus
      ``lang_token_to_id``, fairseq's made-up words filling the ids without a token. NLLB
      (same config, ``NllbTokenizer``) lists its language tokens and keeps the stock path.
    * T5 / mT5: ctranslate2 scales decoder outputs by ``d_model**-0.5`` when
      ``tie_word_embeddings`` is true, which transformers 5 forces for every T5 and mT5 (the
      old meaning moved to ``scale_decoder_outputs``, or was dropped for mT5). The stock
      conversion of T5 v1.1 / MADLAD / mT5 thus divides every logit by sqrt(d_model): greedy
      outputs survive, beam search and scores do not. The fixed loader scales exactly when
      the HF model does.
    * Gemma 2: the stock loader ignores ``query_pre_attn_scalar`` and the final logit
      soft-capping, and reads the RoPE base from ``rope_theta`` (transformers 5 moved it into
      ``rope_parameters``); :func:`_gemma2_like_hf` sets all three as HF uses them (each one,
      left out, made a tiny Gemma 2 differ from HF). No sliding window is built: CTranslate2's
      did not reproduce HF's (mixed or all-sliding layers), so the engine limits the context
      to the window, where both attentions agree (:meth:`CT2CausalEngine.load_causal`).
      Attention-logit soft-capping has no CTranslate2 equivalent: the engine warns. No Gemma 2
      model was converted before this fix, so the recipe number stays (bumping it would
      change every seq2seq conversion's cache key).
    """
    from ctranslate2.converters import transformers as ct2t
    from ctranslate2.specs import model_spec

    class M2M100VocabularyLoader(ct2t.M2M100Loader):
        def get_vocabulary(self, model, tokenizer):
            lang_tokens = getattr(tokenizer, "lang_token_to_id", None)
            if not lang_tokens:
                return super().get_vocabulary(model, tokenizer)
            by_id = {i: t for t, i in tokenizer.get_vocab().items()}
            by_id.update({i: t for t, i in lang_tokens.items()})
            madeup = (f"madeupword{n}" for n in itertools.count())  # fairseq's, in id order
            return [by_id[i] if i in by_id else next(madeup)
                    for i in range(model.config.vocab_size)]

    def _scale_like_hf(spec, config) -> None:
        scales = getattr(config, "scale_decoder_outputs", None)
        if scales is None:
            scales = config.model_type != "mt5" and bool(config.tie_word_embeddings)
        spec.decoder.scale_outputs = config.d_model**-0.5 if scales else model_spec.OPTIONAL

    def like_hf(stock: type, fix) -> type:
        """``stock`` with ``fix(spec, config)`` applied to every spec it builds."""

        class Fixed(stock):
            def get_model_spec(self, model):
                spec = super().get_model_spec(model)
                fix(spec, model.config)
                return spec

        return Fixed

    fixes = {
        "M2M100Config": (M2M100VocabularyLoader, ct2t.M2M100Loader),
        "T5Config": (like_hf(ct2t.T5Loader, _scale_like_hf), ct2t.T5Loader),
        "MT5Config": (like_hf(ct2t.MT5Loader, _scale_like_hf), ct2t.MT5Loader),
        "Gemma2Config": (like_hf(ct2t.Gemma2Loader, _gemma2_like_hf), ct2t.Gemma2Loader),
    }
    return ct2t, fixes


def _gemma2_like_hf(spec, config) -> None:
    """Set on a converted Gemma 2 spec what the stock loader leaves at CTranslate2's defaults."""
    import numpy as np

    rope = getattr(config, "rope_parameters", None) or {}
    theta = rope.get("rope_theta") if isinstance(rope, dict) else None
    if theta is None:
        theta = getattr(config, "rope_theta", 10_000.0)
    scalar = getattr(config, "query_pre_attn_scalar", None) or config.head_dim
    for layer in spec.decoder.layer:
        attention = layer.self_attention
        attention.rotary_base = np.dtype("float32").type(theta)
        attention.queries_scale = np.dtype("float32").type(scalar**-0.5)
    softcap = getattr(config, "final_logit_softcapping", None)
    if softcap:
        spec.decoder.final_logit_softcapping = np.dtype("float32").type(softcap)


@contextlib.contextmanager
def _patched_loaders():
    """Register the fixed loaders (see :func:`_fixed_loaders`) for one conversion."""
    ct2t, fixes = _fixed_loaders()
    with _CONVERT_LOCK:
        for name, (fixed, _stock) in fixes.items():
            ct2t.register_loader(name)(fixed)
        try:
            yield
        finally:
            # register_loader is the converter's public way in; it also restores the stock ones.
            for name, (_fixed, stock) in fixes.items():
                ct2t.register_loader(name)(stock)


def _converter(local_dir: str, net, tokenizer):
    """A TransformersConverter that uses the model and tokenizer we already loaded.

    The stock converter would load them again by name, online if it likes; ours were loaded
    through :func:`summ.engines.hub.load_pretrained` (offline first, one-line errors).
    """
    from ctranslate2.converters import TransformersConverter

    class _Preloaded(TransformersConverter):
        def load_model(self, model_class, model_name_or_path, **kwargs):
            return net

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return tokenizer

    return _Preloaded(local_dir)


def convert(model: str, revision: str, target: Path, quantization: str, *, tokenizer=None,
            vmap: str | None = None, vocabulary: str = "full", tgt_lang: str = "en",
            trust_remote_code: bool = False, causal: bool = False) -> float:
    """Convert ``model`` into ``target`` atomically (temporary folder, then rename).

    Args:
        revision: the resolved revision (written into the marker).
        quantization: CTranslate2 weight type (``float32``, ``int8``, ...).
        tokenizer: the model's tokenizer if already loaded (else it is loaded here).
        vmap: optional vocabulary map file stored with the model (``use_vmap``).
        vocabulary: ``target-script`` also writes the :mod:`summ.engines.vocab` map of the
            converted target vocabulary for ``tgt_lang`` into the folder.
        causal: a decoder-only model (loaded with ``AutoModelForCausalLM``).

    Returns:
        Seconds the conversion took (0 when another process finished it first).

    Raises:
        ConfigError: CTranslate2 has no converter for this architecture.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    auto = AutoModelForCausalLM if causal else AutoModelForSeq2SeqLM
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    common = {"trust_remote_code": trust_remote_code}
    if tokenizer is None:
        tokenizer, _ = load_tokenizer(model, user_revision(revision), **common)
    # float32 regardless of the checkpoint's dtype: quantisation happens in the converter.
    net, _ = load_pretrained(
        model, user_revision(revision),
        lambda src, **kw: auto.from_pretrained(src, dtype="float32", **kw, **common),
    )
    _warn_marian_start(net)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_name(target), dir=target.parent))
    try:
        out = tmp / "model"  # the converter insists on creating its output folder itself
        with _patched_loaders():
            try:
                _converter(local_folder(model, revision), net, tokenizer).convert(
                    str(out), vmap=vmap, quantization=quantization, force=True
                )
            except ValueError as exc:
                if "No conversion is registered" in str(exc):
                    raise ConfigError(f"CTranslate2 cannot convert {model!r} "
                                      f"({type(net.config).__name__}); use --engine hf") from exc
                raise
        marker = {"model_id": model, "revision": revision, "quantization": quantization,
                  "recipe": RECIPE}
        if vocabulary == "target-script":
            # Built from the converted target vocabulary itself (what CTranslate2 will index),
            # with the tokenizer's special tokens; CTranslate2 loads vmap.txt from the folder.
            _, target_vocab = _read_vocabularies(out)
            kept = build_target_vocabulary(target_vocab, tgt_lang, tokenizer_specials(tokenizer))
            (out / VMAP_FILE).write_text(vmap_text(target_vocab, kept), encoding="utf-8")
            marker["vocabulary"] = {"rule": vocabulary, "version": RULE_VERSION, "lang": tgt_lang,
                                    "kept": len(kept.ids), "of": kept.total}
        seconds = time.perf_counter() - started
        marker.update({"converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "seconds": round(seconds, 2)})
        (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        try:
            os.rename(out, target)
        except OSError:
            # Another process renamed its finished conversion into place first: use that one.
            if not is_converted(target):
                raise
            seconds = 0.0
        return seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)



def _warn_marian_start(net) -> None:
    """CTranslate2 starts Marian decoders from a zero vector; HF from the ``<pad>`` embedding.

    Trained opus-mt models keep that row at zero (it is the padding index), so both agree;
    a model whose ``<pad>`` row is not zero would translate differently under CTranslate2.
    """
    config = net.config
    if getattr(config, "model_type", "") != "marian":
        return
    row = net.get_input_embeddings().weight[config.decoder_start_token_id].detach()
    if float(row.abs().max()) > 0:
        logger.warning("the <pad> embedding of this Marian model is not zero: CTranslate2 starts "
                       "decoding from a zero vector, so its outputs will differ from the HF "
                       "engine's")


# The engine ---------------------------------------------------------------------------



def _token_ids(vocab: list[str]) -> dict[str, int]:
    """Token -> id of its first entry (a converted vocabulary may list a token twice)."""
    ids: dict[str, int] = {}
    for i, token in enumerate(vocab):
        ids.setdefault(token, i)
    return ids


def _read_vocabularies(folder: Path) -> tuple[list[str], list[str]]:
    """(source, target) vocabularies of a converted model; one list when they are shared."""

    def read(stem: str) -> list[str] | None:
        if (folder / f"{stem}.json").is_file():
            return json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
        if (folder / f"{stem}.txt").is_file():  # written by older ctranslate2 versions
            return (folder / f"{stem}.txt").read_text(encoding="utf-8").split("\n")[:-1]
        return None

    shared = read("shared_vocabulary")
    if shared is None:
        shared = read("vocabulary")  # decoder-only models (ctranslate2.Generator)
    if shared is not None:
        return shared, shared
    source, target = read("source_vocabulary"), read("target_vocabulary")
    if source is None or target is None:
        raise FileNotFoundError(f"no vocabulary files in {folder}")
    return source, target


def _check_vocabulary(vocab: list[str], tokenizer, model: str) -> None:
    """The converted vocabulary must give every id the tokenizer's token for it.

    Ids the tokenizer has no token for (fairseq's made-up words) come back as ``<unk>``.

    Raises:
        ConfigError: an id that means different tokens in the two vocabularies.
    """
    hf = tokenizer.convert_ids_to_tokens(list(range(len(vocab))))
    unk, unk_id = tokenizer.unk_token, tokenizer.unk_token_id
    for i, (ours, theirs) in enumerate(zip(vocab, hf)):
        if ours != theirs and not (theirs in (unk, None) and i != unk_id):
            raise ConfigError(
                f"the CTranslate2 vocabulary of {model!r} differs from its tokenizer at id {i} "
                f"({ours!r} vs {theirs!r}); the conversion cannot be used"
            )


def _pieces(batch: list[list[int]], vocab: list[str]) -> list[list[str]]:
    """Token ids as the piece strings CTranslate2 takes.

    Raises:
        ValueError: an id outside the converted vocabulary.
    """
    # Checked first: a negative id would index from the end of the list without an error.
    bad = next((i for ids in batch for i in ids if not 0 <= i < len(vocab)), None)
    if bad is not None:
        raise ValueError(f"token id {bad} is outside the CTranslate2 vocabulary "
                         f"({len(vocab)} tokens)")
    return [[vocab[i] for i in ids] for ids in batch]


@dataclass
class CT2Engine(CodecEngine):
    """A CTranslate2 model behind the :class:`summ.engines.base.Engine` protocol."""

    model_id: str
    revision: str
    translator: object
    codec: Codec
    generation_config: object
    device: str
    compute_type: str
    decode: DecodeConfig
    folder: Path
    converted: bool  # whether this load converted the model (False: reused the cache)
    load_seconds: float
    source_vocab: list[str]
    target_ids: dict[str, int]
    inter_threads: int = 1
    intra_threads: int = 1
    use_vmap: bool = False
    vmap_digest: str | None = None  # which vocabulary map (it changes outputs: part of settings)
    # The tokens a target-script engine may emit (None: the full vocabulary, or a user's map).
    target_vocabulary: TargetVocabulary | None = None
    _suppress: list[list[str]] = field(default_factory=list)
    _prefix: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"ct2:{self.compute_type}"

    @classmethod
    def load(cls, model: str, *, decode: DecodeConfig = DecodeConfig(), device: str = "auto",
             revision: str | None = None, compute_type: str = "auto", inter_threads: int = 0,
             intra_threads: int = 0, src_lang: str = "ar", tgt_lang: str = "en",
             cache_dir: str | os.PathLike | None = None, vmap: str | None = None,
             vocabulary: str = "full", trust_remote_code: bool = False, prompt=None,
             prompt_format: str | None = None,
             task: str = "translate") -> CT2Engine | CT2CausalEngine:
        """Convert (once) and load ``model`` for ``src_lang`` → ``tgt_lang``.

        Args:
            device: ``auto`` (cuda if CTranslate2 sees a GPU, else cpu), ``cpu``, ``cuda``,
                ``cuda:N``.
            compute_type: ``auto`` (:data:`AUTO_COMPUTE`), or a CTranslate2 type: ``float32``
                (the HF engine's outputs exactly), ``int8``, ``float16``, ``int8_float16``, ...
            inter_threads: parallel workers; each batch is shared out among them. 0 = auto
                (see :func:`thread_layout`: one per CPU thread on CPU, 1 on CUDA).
            intra_threads: threads per worker; 0 = auto (the CPU threads left per worker).
                CPU threads = ``OMP_NUM_THREADS`` if set, else the physical cores.
            src_lang: ISO 639-1 code of the source (mapped per family).
            tgt_lang: ISO 639-1 code of the output.
            cache_dir: where conversions are kept (default ``SUMM_CT2_CACHE`` or
                ``~/.cache/summ/ct2``).
            vmap: a CTranslate2 vocabulary map (``source<TAB>targets`` lines) restricting the
                output layer per batch; faster, but outputs may change. Off by default.
            vocabulary: ``full`` (default), or ``target-script``: decode over the tokens
                written in ``tgt_lang``'s scripts only (:mod:`summ.engines.vocab`), through a
                map built from the model's own vocabulary at conversion; faster, and outputs
                change only where the full model would emit a token outside those scripts
                (and, in beam search, through the renormalised scores).
            trust_remote_code: passed to transformers; never needed by the supported families.
            prompt: causal LMs only: a prompt name of :mod:`summ.prompts`, a template text
                with ``{source}``, or a :class:`summ.prompts.Prompt` (default: the model's).
            prompt_format: causal LMs only: ``chat`` or ``plain`` for a custom template text.
            task: causal LMs only: ``translate`` or ``summarise`` (the default prompt).

        Returns:
            The loaded engine (a :class:`CT2CausalEngine` for a decoder-only model, run by
            ``ctranslate2.Generator``); ``converted`` says whether this call converted it.

        Raises:
            ModelNotFoundError: the model cannot be found (one line, as with the HF engine),
                or its folder has no tokenizer.
            ConfigError: a device, compute type, language or architecture CTranslate2 cannot
                run; ``vmap`` together with ``vocabulary="target-script"``; a target language
                or tokenizer the target-script rule has no reading for.
        """
        ctranslate2 = require("ctranslate2")
        from transformers import AutoConfig

        started = time.perf_counter()
        kind, index = pick_device(device)
        compute = pick_compute_type(compute_type, kind)
        inter_threads, intra_threads = thread_layout(kind, inter_threads, intra_threads)
        if vmap is not None and not Path(vmap).is_file():
            raise ConfigError(f"vocabulary map {vmap} does not exist")
        target_script = check_vocabulary(vocabulary) == "target-script"
        if target_script:
            if vmap is not None:
                raise ConfigError("vmap and vocabulary='target-script' both restrict the output "
                                  "layer; give one (the target-script map is built from the "
                                  "model's vocabulary)")
            scripts_for(tgt_lang)  # a target without a rule fails before any conversion

        common = {"trust_remote_code": trust_remote_code}
        tokenizer, resolved = load_tokenizer(model, revision, **common)
        config, _ = load_pretrained(
            model, revision, lambda src, **kw: AutoConfig.from_pretrained(src, **kw, **common))
        if resolved == "unknown":
            logger.warning("no revision known for %s: its conversion is reused even if the hub "
                           "model changes", model)
        causal = is_causal(config)
        if causal and (vmap is not None or target_script):
            raise ConfigError("vocabulary maps (vmap, vocabulary='target-script') apply to "
                              "seq2seq models, not to causal LMs (ctranslate2.Generator has none)")
        if not causal and (prompt is not None or prompt_format is not None or task != "translate"):
            raise ConfigError(f"{model!r} is a seq2seq model ({config.model_type}): prompt, "
                              "prompt_format and task apply to causal language models only")
        if target_script:
            check_tokenizer(tokenizer, model)

        root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        root.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(root)
        key = conversion_key(model, resolved, compute, vmap, vocabulary=vocabulary,
                             tgt_lang=tgt_lang)
        folder = conversion_dir(root, model, key)
        converted = False
        # A target-script folder is complete only with its map (written before the marker).
        if not is_converted(folder) or (target_script and not (folder / VMAP_FILE).is_file()):
            if folder.exists():
                # Not made by a finished conversion of ours (the rename is atomic): rebuild it.
                logger.warning("%s is incomplete; converting again", folder)
                shutil.rmtree(folder)
            logger.info("converting %s (%s) to CTranslate2 %s in %s", model, resolved, compute,
                        folder)
            seconds = convert(model, resolved, folder, compute, tokenizer=tokenizer, vmap=vmap,
                              vocabulary=vocabulary, tgt_lang=tgt_lang,
                              trust_remote_code=trust_remote_code, causal=causal)
            converted = seconds > 0
            logger.info("converted %s in %.1f s", model, seconds)

        gen = load_generation_config(model, resolved, config)
        _check_stopping_rule(model, decode, gen)
        if causal:
            return CT2CausalEngine.load_causal(
                model, resolved, tokenizer, config, gen, folder, converted, started, decode=decode,
                kind=kind, index=index, compute=compute, inter_threads=inter_threads,
                intra_threads=intra_threads, src_lang=src_lang, tgt_lang=tgt_lang, prompt=prompt,
                prompt_format=prompt_format, task=task)
        codec = make_codec(config, tokenizer, gen, src_lang=src_lang, tgt_lang=tgt_lang)
        source_vocab, target_vocab = _read_vocabularies(folder)
        _check_vocabulary(target_vocab, tokenizer, model)
        if source_vocab is not target_vocab:
            _check_vocabulary(source_vocab, tokenizer, model)
        _check_decoder_start(folder, codec, target_vocab, model)

        with _keep_torch_threads():
            translator = ctranslate2.Translator(
                str(folder), device=kind, device_index=index, compute_type=compute,
                inter_threads=inter_threads, intra_threads=intra_threads,
            )
        target_ids = _token_ids(target_vocab)
        if len(target_ids) != len(target_vocab):
            logger.warning("%s has %d duplicate vocabulary entries", model,
                           len(target_vocab) - len(target_ids))
        kept, vmap_digest = None, key["vmap"]
        if target_script:
            text = (folder / VMAP_FILE).read_text(encoding="utf-8")
            kept = read_vmap(text, target_ids, tgt_lang)
            vmap_digest = _file_digest(folder / VMAP_FILE)
            logger.info("%s: target-script vocabulary, %d of %d target tokens", model,
                        len(kept.ids), len(target_vocab))
        engine = cls(
            model_id=model, revision=resolved, translator=translator, codec=codec,
            generation_config=gen, device=kind, compute_type=compute, decode=decode,
            folder=folder, converted=converted, load_seconds=0.0, source_vocab=source_vocab,
            target_ids=target_ids, inter_threads=inter_threads, intra_threads=intra_threads,
            use_vmap=vmap is not None or target_script, vmap_digest=vmap_digest,
            target_vocabulary=kept, _suppress=_suppress_sequences(gen, target_vocab),
            _prefix=[target_vocab[i] for i in codec.target_prefix],
        )
        engine.load_seconds = time.perf_counter() - started
        logger.info("loaded %s (%s, revision %s) with CTranslate2 on %s as %s, %d x %d threads, "
                    "in %.1f s", model, codec.family, resolved, kind, compute, inter_threads,
                    intra_threads, engine.load_seconds)
        return engine

    # The Engine protocol ------------------------------------------------------------------

    def _options(self) -> dict:
        """translate_batch options that decide the output (the length cap is added per call)."""
        d = resolved_decode(self.decode, self.generation_config)
        return {
            "beam_size": d["beam_size"],
            # Beam search ends when beam_size hypotheses have finished: Marian's and fairseq's
            # rule, and HF's early_stopping=True. HF's default (False) searches on a little
            # longer and can pick a different beam; greedy search is identical.
            "patience": 1.0,
            "num_hypotheses": 1,
            "length_penalty": d["length_penalty"],
            # Off unless asked for. When on, HF also penalises the decoder start and forced
            # prefix tokens (</s> itself for M2M100/NLLB), CTranslate2 only generated ones.
            "repetition_penalty": d["repetition_penalty"],
            "no_repeat_ngram_size": d["no_repeat_ngram_size"],
            # CTranslate2's default of 1 would forbid an immediate </s> that HF allows. The
            # model's own floor (distilbart-cnn: min_length 56) applies as in HF, where it
            # counts the decoder start token too.
            "min_decoding_length": max(d["min_new_tokens"], d["model_min_length"] - 1),
            "disable_unk": False,
            "suppress_sequences": self._suppress or None,
            "use_vmap": self.use_vmap,
            "sampling_topk": 1,
        }

    def settings(self) -> dict:
        import ctranslate2

        return {
            **self.codec.settings(),
            **self._options(),
            "max_input_length": 0,
            "vmap": self.vmap_digest,
            # Which tokens may be emitted (setting, rule version, kept set): part of the cache key.
            **(self.target_vocabulary.settings() if self.target_vocabulary
               else {"vocabulary": "full"}),
            "compute_type": self.compute_type,
            "device": self.device,
            "ctranslate2": ctranslate2.__version__,
            "recipe": RECIPE,
        }

    def generate_ids(self, batch: list[list[int]],
                     max_new_tokens: int) -> list[tuple[list[int], bool]]:
        """The content token ids of each output and whether it ended with ``</s>``.

        Decodes the batch exactly as given (no re-splitting, no truncation); ``max_new_tokens``
        counts ``</s>``, as in the HF engine (the forced language prefix comes on top).

        Raises:
            ValueError: an id outside the converted vocabulary.
        """
        if not batch:
            return []
        source = _pieces(batch, self.source_vocab)
        options = self._options()
        max_length = max_new_tokens + len(self._prefix)
        # A floor above the cap stops at the cap (as in HF) instead of raising.
        options["min_decoding_length"] = min(options["min_decoding_length"], max_length)
        results = self.translator.translate_batch(
            source,
            target_prefix=[list(self._prefix) for _ in batch] if self._prefix else None,
            # The pipeline already made a length-sorted, token-budgeted batch: decode it as it
            # is, except that with several workers it is shared out among them.
            max_batch_size=-(-len(batch) // self.inter_threads) if self.inter_threads > 1 else 0,
            batch_type="examples",
            # 0 = never truncate (the default of 1024 silently cuts long inputs).
            max_input_length=0,
            # The prefix counts, as in HF's max_new_tokens: same cap, same stopping rule.
            max_decoding_length=max_length,
            # </s> in the output is how a finished output is told from a capped one.
            return_end_token=True,
            return_scores=False,
            **options,
        )
        start = self.codec.decoder_start_token_id
        # With the decoder start in front, the codec strips exactly what it strips for HF.
        return [self.codec.strip_output([start] + [self.target_ids[t] for t in r.hypotheses[0]])
                for r in results]


def sliding_window(config) -> int | None:
    """The attention window of a model with sliding-window layers (Gemma 2/3), else ``None``."""
    text = getattr(config, "text_config", None) or config
    window = getattr(text, "sliding_window", None)
    layer_types = getattr(text, "layer_types", None) or []
    if not window or (layer_types and "sliding_attention" not in layer_types):
        return None
    if not layer_types and not getattr(text, "use_sliding_window", True):
        return None
    return int(window)


@dataclass
class CT2CausalEngine(CausalEngineMixin):
    """A decoder-only chat model run by ``ctranslate2.Generator``, converted and cached as the
    seq2seq models are (same cache folder, same conversion key).

    Prompt ids come from the HF engine's :class:`summ.engines.causal.CausalCodec`; the
    generator continues each prompt (``include_prompt_in_result=False``: ``max_length`` then
    counts generated tokens only, as HF's ``max_new_tokens``) up to the codec's stop tokens.
    """

    model_id: str
    revision: str
    generator: object
    codec: CausalCodec
    generation_config: object
    device: str
    compute_type: str
    decode: DecodeConfig
    folder: Path
    converted: bool
    load_seconds: float
    vocab: list[str]
    token_ids: dict[str, int]
    inter_threads: int = 1
    intra_threads: int = 1

    @property
    def name(self) -> str:
        return f"ct2:{self.compute_type}"

    @classmethod
    def load_causal(cls, model: str, resolved: str, tokenizer, config, gen, folder: Path,
                    converted: bool, started: float, *, decode: DecodeConfig, kind: str,
                    index: int, compute: str, inter_threads: int, intra_threads: int,
                    src_lang: str, tgt_lang: str, prompt=None, prompt_format: str | None = None,
                    task: str = "translate") -> CT2CausalEngine:
        """The generator of a converted causal LM (called by :meth:`CT2Engine.load`)."""
        import ctranslate2

        codec = make_causal_codec(config, tokenizer, gen, model=model, prompt=prompt,
                                  prompt_format=prompt_format, src_lang=src_lang,
                                  tgt_lang=tgt_lang, task=task)
        window = sliding_window(config)
        if window is not None and window < codec.context_tokens:
            # See _fixed_loaders: within the window sliding and full attention agree, so
            # CTranslate2 gives the HF engine's outputs; beyond it they would differ.
            logger.warning("%s: CTranslate2 does not reproduce its %d-token sliding-window "
                           "attention, so inputs are limited to %d tokens (of %d) with this "
                           "engine", model, window, window, codec.context_tokens)
            codec = replace(codec, context_tokens=window)
        if getattr(config, "attn_logit_softcapping", None):
            logger.warning("%s soft-caps its attention logits (attn_logit_softcapping=%s), which "
                           "CTranslate2 cannot do: its outputs may differ from the HF engine's",
                           model, config.attn_logit_softcapping)
        vocab, _ = _read_vocabularies(folder)
        _check_vocabulary(vocab, tokenizer, model)
        with _keep_torch_threads():
            generator = ctranslate2.Generator(
                str(folder), device=kind, device_index=index, compute_type=compute,
                inter_threads=inter_threads, intra_threads=intra_threads,
            )
        token_ids = _token_ids(vocab)
        engine = cls(model_id=model, revision=resolved, generator=generator, codec=codec,
                     generation_config=gen, device=kind, compute_type=compute, decode=decode,
                     folder=folder, converted=converted, load_seconds=0.0, vocab=vocab,
                     token_ids=token_ids, inter_threads=inter_threads, intra_threads=intra_threads)
        engine.load_seconds = time.perf_counter() - started
        logger.info("loaded %s (%s, causal, revision %s) with CTranslate2 on %s as %s in %.1f s",
                    model, codec.family, resolved, kind, compute, engine.load_seconds)
        return engine

    def _options(self) -> dict:
        """generate_batch options that decide the output (the length cap is added per call)."""
        d = resolved_decode(self.decode, self.generation_config)
        return {
            "beam_size": d["beam_size"],
            "patience": 1.0,  # as CT2Engine: HF's early_stopping=True
            "num_hypotheses": 1,
            "length_penalty": d["length_penalty"],
            "repetition_penalty": d["repetition_penalty"],
            "no_repeat_ngram_size": d["no_repeat_ngram_size"],
            "min_length": d["min_new_tokens"],
            "disable_unk": False,
            "sampling_topk": 1,  # never sampling, whatever the model's generation_config says
            "end_token": [self.vocab[i] for i in self.codec.stop_ids],
            "include_prompt_in_result": False,
        }

    def settings(self) -> dict:
        import ctranslate2

        return {
            **self.codec.settings(),
            **{k: v for k, v in self._options().items() if k != "end_token"},
            "compute_type": self.compute_type,
            "device": self.device,
            "ctranslate2": ctranslate2.__version__,
            "recipe": RECIPE,
        }

    def generate_ids(self, batch: list[list[int]],
                     max_new_tokens: int) -> list[tuple[list[int], bool]]:
        """The answer ids of each prompt (stop token removed) and whether it ended.

        Raises:
            ValueError: an id outside the converted vocabulary.
        """
        if not batch:
            return []
        prompts = _pieces(batch, self.vocab)
        options = self._options()
        options["min_length"] = min(options["min_length"], max_new_tokens)
        results = self.generator.generate_batch(
            prompts,
            max_batch_size=-(-len(batch) // self.inter_threads) if self.inter_threads > 1 else 0,
            batch_type="examples",
            # Generated tokens, the stop token included: HF's max_new_tokens.
            max_length=max_new_tokens,
            return_end_token=True,
            return_scores=False,
            **options,
        )
        return [self.codec.strip_output([self.token_ids[t] for t in r.sequences[0]])
                for r in results]


@contextlib.contextmanager
def _keep_torch_threads():
    """Undo the change of torch's thread count that creating a ctranslate2.Translator makes.

    The constructor sets the calling thread's OpenMP thread count to ``intra_threads`` (1 with
    the default layout), and torch in the same process reads it: an HF model used after a CT2
    engine was loaded (notebooks comparing engines, summarisers next to a translator) silently
    ran on one thread (measured: 30% slower on two cores). CTranslate2's own workers set their
    thread count themselves, so restoring it for the calling thread changes nothing for them.
    """
    torch = sys.modules.get("torch")  # only if torch is in use; never imported just for this
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if torch is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _check_stopping_rule(model: str, decode: DecodeConfig, gen) -> None:
    """CTranslate2 beam search always stops once ``beam_size`` hypotheses have finished (HF's
    ``early_stopping=True``); asking for HF's other rules must not pass unnoticed."""
    if resolved_decode(decode, gen)["beam_size"] <= 1:
        return
    if decode.early_stopping is not None and decode.early_stopping is not True:
        raise ConfigError(f"early_stopping={decode.early_stopping!r} is not available with engine "
                          "'ct2' (its beam search stops as early_stopping=True does); use engine "
                          "'hf', or early_stopping = true")
    if decode.early_stopping is None and getattr(gen, "early_stopping", False) is not True:
        logger.warning("%s: its generation_config asks for early_stopping=%r; CTranslate2 stops "
                       "beam search as early_stopping=True does, so beams may differ from the HF "
                       "engine's", model, getattr(gen, "early_stopping", False))


def _suppress_sequences(gen, vocab: list[str]) -> list[list[str]]:
    """HF's ``bad_words_ids`` as CTranslate2 token sequences.

    Ids beyond the converted vocabulary are dropped: CTranslate2 removed them from the model
    (Marian's ``<pad>``), so they cannot be generated anyway.
    """
    return [[vocab[i] for i in seq] for seq in getattr(gen, "bad_words_ids", None) or []
            if all(0 <= i < len(vocab) for i in seq)]


def _check_decoder_start(folder: Path, codec: Codec, vocab: list[str], model: str) -> None:
    """CTranslate2 starts decoding from the token in its config; HF from the codec's.

    Marian is the exception by design: CTranslate2 starts it from a zero embedding (what
    HF's ``<pad>`` start gives). Any other mismatch (CrossSum's per-language start token)
    would give different outputs, so it is refused.

    Raises:
        ConfigError: the two engines would start decoding differently.
    """
    if codec.family == "marian":
        return
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    token = config.get("decoder_start_token")
    start = codec.decoder_start_token_id
    if token is not None and 0 <= start < len(vocab) and vocab[start] != token:
        raise ConfigError(f"{model!r} starts decoding with {vocab[start]!r} but CTranslate2 "
                          f"would start with {token!r}; use --engine hf for this model")
