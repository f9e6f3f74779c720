"""COMET scores from COMET's own code, run in an environment of its own.

unbabel-comet 2.2.7 (the newest release) requires ``transformers<5``, ``huggingface-hub<1`` and
``numpy<2``; summ requires ``transformers>=5``. So COMET gets a virtual environment of its own
(``summ comet install``, or any Python named by ``SUMM_COMET_PYTHON``), in which summ runs a
small worker script (``resources/comet_worker.py``: standard library and COMET only) that
repeats ``comet-score`` step for step and stays up for the life of this process, so each
checkpoint is loaded once. Added around COMET: inputs it would truncate (over 510 tokens, or a
COMETKiwi pair over 512) are refused with the file and line numbers; the checkpoint is
identified (hub commit, or a local file's sha256) for the signature; the same segments are not
scored twice in one process (``score()`` runs once per level).

Example::

    >>> from summ.comet import env_dir, install_command
    >>> install_command(env_dir()).startswith("python")  # what `summ comet install` runs
    True
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from summ.errors import (
    ConfigError,
    InputError,
    MissingDependencyError,
    ModelNotFoundError,
    SummError,
)

logger = logging.getLogger(__name__)

#: The unbabel-comet release the COMET environment gets (the newest on PyPI).
COMET_VERSION = "2.2.7"
#: Installed beside it: torchmetrics 0.10 (pinned by unbabel-comet) imports ``pkg_resources``,
#: which setuptools 81 removed; a fresh venv would otherwise get a setuptools that breaks COMET.
EXTRA_REQUIREMENTS: tuple[str, ...] = ("setuptools<81",)
#: Environment variable naming the Python of a COMET environment (overrides the default one).
PYTHON_ENV = "SUMM_COMET_PYTHON"
#: Segments per forward pass: comet-score's default (``--batch_size 16``).
BATCH_SIZE = 16
# Worker protocol version this module speaks (resources/comet_worker.py, PROTOCOL).
_PROTOCOL = 1
# Distinct scoring requests remembered: score() asks once per level for the same segments.
_RESULT_CACHE_SIZE = 8
# Offending lines named in a truncation error before "and N more".
_MAX_LINES_SHOWN = 10
# The worker's failure kinds that are summ errors of their own ("too_long" has its message).
_ERRORS: dict[str, type[SummError]] = {"model": ModelNotFoundError, "input": ConfigError}


def env_dir() -> Path:
    """The COMET environment ``summ comet install`` creates (it may not exist):
    ``$XDG_CACHE_HOME/summ/comet-env``, default ``~/.cache/summ/comet-env``."""
    from summ.data import user_cache_dir

    return user_cache_dir("comet-env")


def venv_python(venv: str | os.PathLike) -> Path:
    """The Python executable inside a virtual environment folder."""
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def torch_requirement() -> str:
    """``torch==X.Y.Z`` for the torch installed here, so both environments run the same kernels.

    The local version label (``+cpu``) is dropped: ``torch==2.13.0`` matches ``2.13.0+cpu``.
    """
    from importlib.metadata import version

    return "torch==" + version("torch").split("+", 1)[0]


def install_steps(venv: str | os.PathLike, python: str = sys.executable) -> list[list[str]]:
    """The commands (argument lists, in order) that create a COMET environment in ``venv``
    with ``python -m venv``.

    torch comes first, pinned to this environment's version (the resolver would otherwise pick
    the newest torch, a multi-GB download), then unbabel-comet and its extra requirements.
    """
    py = str(venv_python(venv))
    return [
        [python, "-m", "venv", str(venv)],
        [py, "-m", "pip", "install", torch_requirement()],
        [py, "-m", "pip", "install", f"unbabel-comet=={COMET_VERSION}", *EXTRA_REQUIREMENTS],
    ]


def install_command(venv: str | os.PathLike, python: str = "python3") -> str:
    """:func:`install_steps` as one shell line (for messages, the README and CI)."""
    return " && ".join(shlex.join(step) for step in install_steps(venv, python))


def find_python() -> Path | None:
    """The COMET environment's Python: ``$SUMM_COMET_PYTHON`` if set, else :func:`env_dir`'s;
    ``None`` when it does not exist."""
    value = os.environ.get(PYTHON_ENV)
    path = Path(value).expanduser() if value else venv_python(env_dir())
    return path if path.is_file() else None


def missing_message() -> str:
    """One line: why COMET has no environment here and the exact command that creates one."""
    value = os.environ.get(PYTHON_ENV)
    if value:
        return (f"{PYTHON_ENV}={value} is not a file: point it at the python of an environment "
                f"with unbabel-comet=={COMET_VERSION}, or unset it and run `summ comet install`")
    return (f"COMET runs in an environment of its own (unbabel-comet {COMET_VERSION} needs "
            f"transformers<5, summ needs 5), and there is none at {env_dir()}: create it with "
            f"`summ comet install` (the same as: {install_command(env_dir())}), or set "
            f"{PYTHON_ENV} to the python of an environment that has unbabel-comet")


def comet_python() -> Path:
    """:func:`find_python`, or the error that says how to create the environment.

    Raises:
        MissingDependencyError: no COMET environment; the message has the command.
    """
    path = find_python()
    if path is None:
        raise MissingDependencyError(missing_message())
    return path


def install(venv: str | os.PathLike | None = None) -> Path:
    """Create (or complete) a COMET environment and check that COMET imports in it.

    Runs :func:`install_steps` with this interpreter; pip's output goes to the terminal. Safe to
    rerun: an existing environment is kept and pip installs only what is missing. ``venv``
    defaults to :func:`env_dir` (anywhere else, point ``SUMM_COMET_PYTHON`` at its python
    afterwards). Returns the environment's Python.

    Raises:
        SummError: a step failed (the message names it and its exit status).
        MissingDependencyError: the environment was made but COMET does not import in it.
    """
    venv = Path(venv).expanduser() if venv is not None else env_dir()
    for step in install_steps(venv):
        logger.info("$ %s", shlex.join(step))
        code = subprocess.run(step).returncode
        if code != 0:
            raise SummError(f"`{shlex.join(step)}` failed (exit {code}); fix the cause above and "
                            "rerun `summ comet install`")
    python = venv_python(venv)
    with _LOCK:
        hello = _worker(python).hello
    logger.info("COMET %s with torch %s in %s", hello["comet_version"], hello["torch_version"],
                python)
    return python


# --------------------------------------------------------------------------- the worker


def worker_script() -> Path:
    """The worker file that runs under the COMET environment's Python."""
    return Path(__file__).resolve().parent / "resources" / "comet_worker.py"


class _Worker:
    """One worker process: JSON lines over its stdin/stdout, its stderr in a temporary file."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        # The COMET environment resolves its own packages: nothing of summ's environment leaks in.
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        try:
            self.proc = subprocess.Popen(
                [str(python), "-u", str(worker_script())], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.log, text=True, encoding="utf-8", env=env)
        except OSError as exc:
            raise MissingDependencyError(f"cannot start the COMET environment's python {python}: "
                                         f"{exc}; {missing_message()}") from exc
        self.hello = self.ask({"op": "hello"})
        if self.hello.get("protocol") != _PROTOCOL:
            raise SummError(
                f"COMET worker speaks protocol {self.hello.get('protocol')}, summ {_PROTOCOL}")

    def last_error_line(self) -> str:
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().splitlines() if line.strip()]
        return lines[-1] if lines else "no error output"

    def ask(self, request: dict) -> dict:
        """Send one request, return the answer; a failed answer becomes the matching error."""
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError:  # the worker is gone; its own last words say why
            line = ""
        if not line:
            code = self.proc.wait()
            raise SummError(
                f"COMET worker ({self.python}) stopped (exit {code}): {self.last_error_line()}")
        answer = json.loads(line)
        if not answer["ok"] and answer["kind"] == "missing":
            raise MissingDependencyError(f"{answer['error']}; {missing_message()}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


_WORKERS: dict[str, _Worker] = {}
_LOCK = threading.Lock()  # one request at a time per worker, and one worker per python


def _worker(python: Path) -> _Worker:
    key = str(python)
    worker = _WORKERS.get(key)
    if worker is None or worker.proc.poll() is not None:
        if worker is not None:  # it died; its error was reported when it did
            worker.close()
        worker = _WORKERS[key] = _Worker(python)
    return worker


@atexit.register
def close_workers() -> None:
    """Stop every worker this process started (also run at exit)."""
    with _LOCK:
        for worker in _WORKERS.values():
            worker.close()
        _WORKERS.clear()
        _RESULTS.clear()


def worker_stats() -> dict:
    """The running worker's versions and counters (``loads``: checkpoints loaded, ``scored``).

    Raises:
        MissingDependencyError: no COMET environment.
    """
    with _LOCK:
        return _worker(comet_python()).ask({"op": "hello"})


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class CometOutput:
    """COMET's answer for one list of segments.

    Attributes:
        scores: segment scores as COMET gives them (about 0–1), in input order.
        system_score: COMET's system score (its mean of the segment scores).
        model: the checkpoint as asked for (hub id or path).
        revision: the hub commit scored (``None`` for a local file).
        sha256: the local checkpoint file's sha256 (``None`` for a hub model).
        comet_version: unbabel-comet's version in the COMET environment.
        precision: the weights' dtype during prediction (``float16``: comet-score halves them).
    """

    scores: tuple[float, ...]
    system_score: float
    model: str
    revision: str | None
    sha256: str | None
    comet_version: str
    batch_size: int
    precision: str

    @property
    def checkpoint(self) -> str:
        """``ID@REV12`` for a hub model, ``NAME@sha256:HASH16`` for a local file."""
        if self.revision is not None:
            return f"{self.model}@{self.revision[:12]}"
        path = Path(self.model)
        # A checkpoint's own name is the folder above checkpoints/model.ckpt, as on the hub.
        name = path.parent.parent.name if path.name == "model.ckpt" else path.name
        return f"{name}@sha256:{(self.sha256 or '')[:16]}"


_RESULTS: OrderedDict[tuple, CometOutput] = OrderedDict()


def _too_long_message(answer: dict, names: dict[str, str], model: str) -> str:
    groups: dict[tuple[str, int], list[str]] = {}
    for p in answer["problems"]:
        line = f"{p['line']} ({p['tokens']} tokens)"
        groups.setdefault((p["field"], p["limit"]), []).append(line)
    parts = []
    for (field, limit), lines in groups.items():
        shown = ", ".join(lines[:_MAX_LINES_SHOWN])
        if len(lines) > _MAX_LINES_SHOWN:
            shown += f" and {len(lines) - _MAX_LINES_SHOWN} more"
        what = " + ".join(names.get(f, f) for f in field.split("+"))
        kind = "joined into one input" if "+" in field else "per text"
        plural = "s" if len(lines) > 1 else ""
        parts.append(f"{what} line{plural} {shown} over {limit} tokens ({kind})")
    return (f"COMET ({model}) would silently truncate {len(answer['problems'])} input(s): "
            f"{'; '.join(parts)}; split long segments into sentences and score those "
            "(level='document' averages segment scores per document)")


def predict(srcs: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None, model: str, *,
            batch_size: int = BATCH_SIZE, names: dict[str, str] | None = None) -> CometOutput:
    """Score segments with a COMET checkpoint, in the COMET environment, as ``comet-score`` does.

    Equal to ``comet-score -s SRC -t HYP [-r REF] --model MODEL --batch_size B`` (``--gpus 0``
    where there is no GPU) on files holding these lines; texts are stripped as comet-score
    strips lines.

    Args:
        hyps: translations, line-aligned with ``srcs``.
        refs: references, line-aligned; ``None`` for reference-free (quality estimation)
            checkpoints such as COMETKiwi.
        model: hub id (e.g. ``Unbabel/wmt22-comet-da``), legacy COMET name, a ``.ckpt`` file,
            or a folder with ``checkpoints/model.ckpt``.
        names: what to call ``src``/``mt``/``ref`` in error messages (e.g. file names).

    Raises:
        InputError: unequal lengths, or inputs COMET would truncate (names file and lines).
        ConfigError: a reference-based checkpoint asked to score without references.
        ModelNotFoundError: the checkpoint is not found, gated, or does not load.
        MissingDependencyError: no COMET environment (the message has the command).
        SummError: the worker failed (one line with its error).
    """
    if len(srcs) != len(hyps) or (refs is not None and len(refs) != len(hyps)):
        counts = f"{len(srcs)} sources, {len(hyps)} translations" + (
            "" if refs is None else f", {len(refs)} references")
        raise InputError(f"COMET needs line-aligned inputs, got {counts}")
    fields = ("src", "mt", "ref") if refs is not None else ("src", "mt")
    columns = (srcs, hyps, refs) if refs is not None else (srcs, hyps)
    python = comet_python()
    key = (str(python), model, batch_size, fields, *(tuple(c) for c in columns))
    with _LOCK:
        if key in _RESULTS:
            _RESULTS.move_to_end(key)
            return _RESULTS[key]
        samples = [dict(zip(fields, texts)) for texts in zip(*columns)]
        logger.info("COMET: scoring %d segments with %s (%s)", len(samples), model, python)
        answer = _worker(python).ask({"op": "score", "model": model, "samples": samples,
                                      "references": refs is not None, "batch_size": batch_size})
        if not answer["ok"]:
            kind, error = answer["kind"], answer["error"]
            if kind == "too_long":
                shown = {"src": "sources", "mt": "translations", "ref": "references",
                         **(names or {})}
                raise InputError(_too_long_message(answer, shown, model))
            if kind in _ERRORS:
                raise _ERRORS[kind](error)
            raise SummError(f"COMET worker failed: {error}")
        if len(answer["scores"]) != len(samples):  # never let a short answer shift lines
            raise SummError(
                f"COMET returned {len(answer['scores'])} scores for {len(samples)} segments")
        info = answer["checkpoint"]
        out = CometOutput(
            scores=tuple(answer["scores"]), system_score=answer["system_score"], model=model,
            revision=info["revision"], sha256=info["sha256"],
            comet_version=answer["comet_version"], batch_size=answer["batch_size"],
            precision=answer["precision"])
        _RESULTS[key] = out
        while len(_RESULTS) > _RESULT_CACHE_SIZE:
            _RESULTS.popitem(last=False)
        return out
