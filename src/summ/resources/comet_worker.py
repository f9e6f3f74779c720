"""COMET worker: scores with unbabel-comet inside COMET's own Python environment.

unbabel-comet 2.2.x needs transformers<5 and summ transformers>=5, so ``summ.comet`` starts this
file under the COMET environment's Python and talks to it in JSON lines: one request per line on
stdin, one answer per line on the protocol channel (the original stdout; whatever the libraries
print goes to stderr, so no log line can corrupt an answer). It stays up for the life of the
summ process and keeps the loaded checkpoints, and imports only the standard library and what
unbabel-comet brings, never summ. Scoring repeats ``comet-score`` (unbabel-comet 2.2.7,
``comet/cli/score.py``) step for step: ``seed_everything(1)``, float32 matmul precision "high",
``download_model`` (or a local ``.ckpt``), ``load_from_checkpoint``, ``eval()``, ``half()``, the
embedding cache, texts stripped as it strips lines, ``predict(..., length_batching=True)``. It
adds a refusal of inputs COMET would truncate (naming the lines) and the checkpoint's identity.

Requests and answers (``"op"`` selects)::

    {"op": "hello"}  ->  {"ok": true, "protocol": 1, "comet_version": "2.2.7", ...}
    {"op": "score", "model": ID_OR_PATH, "samples": [{"src": .., "mt": .., "ref": ..}, ..],
     "references": true, "batch_size": 16}
        ->  {"ok": true, "scores": [..], "system_score": x, "checkpoint": {..}, ...}
    any failure  ->  {"ok": false, "kind": "input" | "model" | "error", "error": ONE_LINE, ...}
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from pathlib import Path

PROTOCOL = 1
# Loaded checkpoints kept at once; an experiment uses one or two (comet, cometkiwi).
MAX_MODELS = 2
# Checkpoint loads and segments scored since start ("hello" reports them).
STATS = {"loads": 0, "scored": 0}


class Refusal(Exception):
    """A failure with a kind the caller maps to its own error class, and extra fields."""

    def __init__(self, kind: str, message: str, **extra) -> None:
        super().__init__(message)
        self.kind = kind
        self.extra = extra


def _versions() -> dict:
    from importlib.metadata import version

    return {"comet_version": version("unbabel-comet"), "torch_version": version("torch"),
            "transformers_version": version("transformers")}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_checkpoint(model: str) -> dict:
    """Where ``model`` (hub id, legacy COMET name or local checkpoint) lives, and its identity.

    Local: an existing file (as ``comet-score --model PATH``) or a folder laid out like a hub
    snapshot (``checkpoints/model.ckpt``). Hub ids go through ``snapshot_download`` as
    ``comet.download_model`` does, called here so that a gated model's real error reaches the
    user (COMET turns every failure into "not supported by COMET").

    Returns:
        ``{"path", "name", "revision" (hub commit) or None, "sha256" (local file) or None}``.

    Raises:
        Refusal: ``kind="model"``: not found, gated, or not a COMET checkpoint.
    """
    local = Path(model).expanduser()
    if local.is_dir():
        local = local / "checkpoints" / "model.ckpt"
        if not local.is_file():
            raise Refusal("model", f"{model} is a folder without checkpoints/model.ckpt (a COMET "
                          "model's layout)")
    if local.is_file():
        # A file has no revision: its hash is what identifies it in a signature.
        return {"path": str(local), "name": model, "revision": None, "sha256": _sha256(local)}
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError

    try:
        snapshot = snapshot_download(repo_id=model)
    except GatedRepoError:
        cli = Path(sys.executable).parent / "huggingface-cli"
        raise Refusal("model", f"{model} is gated on the Hugging Face hub: accept its licence on "
                      f"https://huggingface.co/{model} while logged in, then log in with "
                      f"`{cli} login` (or set HF_TOKEN), and rerun") from None
    except Exception as hub_error:  # noqa: BLE001 - not a hub id: maybe a legacy COMET name
        from comet import download_model

        try:
            path = download_model(model)
        except Exception:  # noqa: BLE001 - the hub's error says more than COMET's KeyError
            reason = " ".join(str(hub_error).split()) or type(hub_error).__name__
            raise Refusal("model", f"COMET model {model!r} not found (not a local file, not on "
                          f"the hub or in its cache, not a legacy COMET name): {reason}") from None
        return {"path": path, "name": model, "revision": None, "sha256": _sha256(Path(path))}
    path = Path(snapshot) / "checkpoints" / "model.ckpt"
    if not path.is_file():
        raise Refusal("model", f"{model} has no checkpoints/model.ckpt: it is not a COMET model")
    # snapshot_download returns .../snapshots/<commit>: the commit is the revision scored.
    return {"path": str(path), "name": model, "revision": Path(snapshot).name, "sha256": None}


def load(model: str):
    """``(comet_model, checkpoint_info)``: loaded and prepared as ``comet-score`` prepares it."""
    info = resolve_checkpoint(model)  # before importing COMET (seconds): a wrong name fails fast
    from comet import load_from_checkpoint
    from pytorch_lightning import seed_everything

    seed_everything(1)  # comet-score seeds before loading
    try:
        comet_model = load_from_checkpoint(info["path"])
    except Exception as exc:  # noqa: BLE001 - reported as one line with the checkpoint named
        raise Refusal("model", f"{info['path']} does not load as a COMET checkpoint: "
                      f"{type(exc).__name__}: {' '.join(str(exc).split())}") from None
    comet_model.eval()
    comet_model.half()  # comet-score scores in half precision, on CPU too
    comet_model.set_embedding_cache()
    info["class"] = type(comet_model).__name__
    info["requires_references"] = bool(comet_model.requires_references())
    return comet_model, info


def too_long(comet_model, samples: list[dict]) -> tuple[int, list[dict]]:
    """Inputs COMET would cut, found with the checkpoint's own tokenizer.

    COMET encodes each text with ``truncation=True, max_length=max_positions - 2`` (510 tokens
    for XLM-R large, specials included) and, in unified models (COMETKiwi, XCOMET), also cuts
    the concatenation ``<s> mt </s></s> src </s>...`` at ``max_positions`` (512).

    Returns:
        ``(limit, problems)``: the per-text token limit, and one entry per offending line
        (``line`` 1-based, ``field``, ``tokens``).
    """
    encoder = comet_model.encoder
    limit = encoder.max_positions - 2
    fields = [f for f in ("mt", "src", "ref") if f in samples[0]]
    lengths = {f: [len(ids) for ids in encoder.tokenizer([s[f] for s in samples])["input_ids"]]
               for f in fields}
    problems = [{"line": i + 1, "field": f, "tokens": lengths[f][i], "limit": limit}
                for i in range(len(samples)) for f in fields if lengths[f][i] > limit]
    from comet.models.multitask.unified_metric import UnifiedMetric

    if isinstance(comet_model, UnifiedMetric):
        used = [f for f in comet_model.hparams.input_segments if f in fields]
        for i in sorted(set(range(len(samples))) - {p["line"] - 1 for p in problems}):
            # Each text's own <s> ... </s> is dropped, the joined sequence gets 1 + 2 * n specials
            # minus one: <s> a </s></s> b </s> for two texts.
            total = sum(min(lengths[f][i], limit) - 2 for f in used) + 2 * len(used)
            if total > encoder.max_positions:
                problems.append({"line": i + 1, "field": "+".join(used), "tokens": total,
                                 "limit": encoder.max_positions})
    problems.sort(key=lambda p: p["line"])
    return limit, problems


def score(request: dict, models: dict) -> dict:
    """Score ``request["samples"]`` with ``request["model"]`` as comet-score would."""
    name = request["model"]
    if name not in models:
        if len(models) >= MAX_MODELS:
            models.pop(next(iter(models)))
        models[name] = load(name)
        STATS["loads"] += 1
    comet_model, info = models[name]
    wants_refs = bool(request["references"])
    if info["requires_references"] and not wants_refs:
        raise Refusal("input", f"{name} needs references ({info['class']}): score it as metric "
                      "'comet', or use a reference-free checkpoint for 'cometkiwi'")
    keys = ("src", "mt", "ref") if wants_refs else ("src", "mt")
    # comet-score reads files with line.strip(): the same texts reach the model here.
    samples = [{k: str(s[k]).strip() for k in keys} for s in request["samples"]]
    limit, problems = too_long(comet_model, samples)
    if problems:
        raise Refusal("too_long", f"{len(problems)} input(s) longer than COMET's limit",
                      problems=problems, limit=limit)
    import torch

    gpus = 1 if torch.cuda.is_available() else 0  # comet-score: --gpus 1 by default, 0 on CPU
    batch_size = int(request.get("batch_size", 16))
    out = comet_model.predict(samples=samples, batch_size=batch_size, gpus=gpus,
                              progress_bar=False, accelerator="cpu" if gpus == 0 else "auto",
                              num_workers=None, length_batching=True)
    STATS["scored"] += len(samples)
    precision = str(next(comet_model.parameters()).dtype).removeprefix("torch.")
    return {"ok": True, "scores": [float(x) for x in out.scores],
            "system_score": float(out.system_score), "checkpoint": info,
            "batch_size": batch_size, "gpus": gpus, "precision": precision, **_versions()}


def handle(request: dict, models: dict) -> dict:
    """One request -> one answer; failures become ``{"ok": false, ...}`` answers."""
    try:
        if request.get("op") == "hello":
            try:
                import comet  # noqa: F401 - fails here, not in the middle of a run
            except ImportError as exc:
                raise Refusal("missing", f"{sys.executable} cannot import comet ({exc})") from None
            return {"ok": True, "protocol": PROTOCOL, "python": sys.executable, **_versions(),
                    **STATS}
        if request.get("op") == "score":
            return score(request, models)
        raise Refusal("error", f"unknown request {request.get('op')!r}")
    except Refusal as exc:
        return {"ok": False, "kind": exc.kind, "error": " ".join(str(exc).split()), **exc.extra}
    except Exception as exc:  # noqa: BLE001 - sent back as one line; the traceback goes to stderr
        traceback.print_exc()
        return {"ok": False, "kind": "error",
                "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}


def main() -> int:
    """Serve requests from stdin until it closes."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever COMET, Lightning or transformers print lands on stderr
    sys.stdout = sys.stderr
    import torch

    torch.set_float32_matmul_precision("high")  # set at import of comet/cli/score.py
    models: dict = {}
    for line in sys.stdin:
        if line.strip():
            channel.write(json.dumps(handle(json.loads(line), models)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
