"""Finding a model by hub id or path, for every engine: revision, fingerprint, tokenizer.

Loading order for a model id: a local directory; else the local Hugging Face cache (no
network); else the hub, after a 5-second reachability probe, so that an offline machine gets
a one-line error at once instead of minutes of retries.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from summ.errors import ModelNotFoundError

_PROBE_TIMEOUT_S = 5.0

# Files from which AutoTokenizer can build a tokenizer (any one suffices).
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "source.spm",
                    "sentencepiece.bpe.model", "sentencepiece.model", "tokenizer.model")


def hub_reachable(timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face hub (or ``HF_ENDPOINT``) accepts a TCP connection."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def not_found(model: str, why: str) -> ModelNotFoundError:
    """The one-line error for a model that cannot be loaded, with the offline fix."""
    return ModelNotFoundError(f"cannot load model {model!r}: {why}. On an offline machine, "
                              f"download it elsewhere (huggingface-cli download {model} "
                              "--local-dir DIR) and pass --model DIR")


def _check_folder(path: Path, model: str) -> None:
    """Fail clearly on a folder without a tokenizer (AutoTokenizer raises a bare TypeError)."""
    if any((path / name).is_file() for name in _TOKENIZER_FILES):
        return
    if any(path.glob("*.model")) or any(path.glob("*.spm")):
        return
    raise ModelNotFoundError(f"cannot load model {model!r}: the folder has no tokenizer files "
                             f"(one of {', '.join(_TOKENIZER_FILES)}); save the tokenizer beside "
                             "the weights (tokenizer.save_pretrained(DIR)) and try again")


def load_pretrained(model: str, revision: str | None,
                    loader: Callable[..., Any]) -> tuple[Any, str]:
    """Call ``loader(source, local_files_only=..., revision=...)`` with the loading order above.

    Returns:
        ``(result, revision)``: the resolved commit hash for hub models, a content
        fingerprint (:func:`fingerprint`) for local folders.

    Raises:
        ModelNotFoundError: one line saying why and how to fix it.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        _check_folder(path, model)
        return loader(str(path), local_files_only=True, revision=None), fingerprint(path)
    if path.exists():
        raise not_found(model, "it is a file, not a model folder (pass the folder that holds "
                               "config.json and the tokenizer)")
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelNotFoundError(f"cannot load model {model!r}: no such directory")
    try:
        result = loader(model, local_files_only=True, revision=revision)
    except OSError:
        if not hub_reachable():
            raise not_found(model, "it is not a local directory, not in the Hugging Face cache, "
                                   "and the hub is unreachable") from None
        try:
            result = loader(model, local_files_only=False, revision=revision)
        except OSError as exc:
            raise not_found(model, f"the hub refused it ({str(exc).splitlines()[0]})") from None
    return result, hub_commit(model, revision)


def load_tokenizer(model: str, revision: str | None = None, **kwargs: Any) -> tuple[Any, str]:
    """``AutoTokenizer`` for ``model`` as every engine loads it; returns (tokenizer, revision).

    The pipeline measures every source and splits what is too long, so transformers' warning
    that a sequence exceeds the model's maximum ("will result in indexing errors") is wrong
    here and is switched off.

    Raises:
        ModelNotFoundError: no tokenizer could be built (transformers raises a bare
            ``TypeError`` for a hub repository without tokenizer files).
    """
    from transformers import AutoTokenizer

    def load(src: str, **kw: Any):
        try:
            return AutoTokenizer.from_pretrained(src, **kw, **kwargs)
        except TypeError as exc:
            raise ModelNotFoundError(f"cannot load model {model!r}: no tokenizer could be built "
                                     f"from it ({exc})") from exc

    tokenizer, resolved = load_pretrained(model, revision, load)
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
    return tokenizer, resolved


def hub_commit(model: str, revision: str | None) -> str:
    """The commit a hub model was loaded from, read from the local Hugging Face cache.

    transformers 5 no longer records it on the config (``_commit_hash`` is gone); the cache
    keeps each revision's files under ``snapshots/<commit>/``. Falls back to the requested
    revision (or ``"unknown"``) when the cache layout says nothing.
    """
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(model, "config.json", revision=revision)
    if isinstance(path, str):
        match = re.search(r"/snapshots/([0-9a-f]{40})/", Path(path).as_posix())
        if match:
            return match.group(1)
    return revision or "unknown"


def local_folder(model: str, revision: str) -> str:
    """The folder holding a model's config: the path itself, or its hub cache snapshot."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    from huggingface_hub import try_to_load_from_cache

    rev = None if revision == "unknown" else revision
    found = try_to_load_from_cache(model, "config.json", revision=rev)
    if not isinstance(found, str):
        raise ModelNotFoundError(f"cannot load model {model!r}: its config.json is not in the "
                                 "Hugging Face cache")
    return str(Path(found).parent)


def user_revision(revision: str) -> str | None:
    """A resolved revision as a ``revision=`` argument: fingerprints and "unknown" are not."""
    return None if revision == "unknown" or revision.startswith("local-") else revision


def load_generation_config(model: str, revision: str, config: Any) -> Any:
    """The model's generation_config.json, else defaults derived from its config (as HF does)."""
    from transformers import GenerationConfig

    try:
        gen, _ = load_pretrained(model, user_revision(revision), GenerationConfig.from_pretrained)
        return gen
    except (OSError, ModelNotFoundError):
        return GenerationConfig.from_model_config(config)


def fingerprint(path: str | Path) -> str:
    """A content hash of a local model folder, standing in for a hub commit in cache keys.

    Small files are hashed whole; files over 64 MiB by size plus their first and last MiB,
    so that a multi-GB checkpoint is fingerprinted in milliseconds.
    """
    path = Path(path)
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = file.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with file.open("rb") as fh:
            if size <= 64 << 20:
                h.update(fh.read())
            else:
                h.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), 2)
                h.update(fh.read())
    return "local-" + h.hexdigest()[:16]
