"""What every engine shares: decode settings, the Engine protocol, and the engine registry.

This module imports nothing from summ but :mod:`summ.errors`, so that the engines, the cache,
the pipeline and the CLI can all depend on it without cycles. An engine is one entry in
:data:`ENGINES` (name -> ``"module:Class"``); the class is imported only when it is loaded,
so ``import summ`` never imports torch or ctranslate2.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from summ.errors import ConfigError


_INF = float("inf")  # also refuses NaN: every comparison with it is False

#: A field rule: (type, test, what the value must be, None allowed).
Rule = tuple[type, Callable[[Any], bool], str, bool]


def field_problems(obj: object, rules: dict[str, Rule]) -> list[str]:
    """One line per field of ``obj`` that breaks its rule, starting with the field's name
    (summ.config puts the location in the experiment config in front of it)."""
    problems = []
    for name, (kind, test, what, optional) in rules.items():
        value = getattr(obj, name)
        if value is None and optional:
            continue
        # bool is an int subclass (True would pass as a beam of 1); an int is a fine float.
        types = (int, float) if kind is float else kind
        typed = isinstance(value, types) and isinstance(value, bool) == (kind is bool)
        if not typed or not test(value):
            or_none = " or None" if optional else ""
            problems.append(f"{name} must be {what}{or_none}, got {value!r}")
    return problems


def raise_problems(what: str, problems: list[str]) -> None:
    """One ConfigError for all ``problems`` (kept one by one in ``error.problems``)."""
    if problems:
        error = ConfigError(f"{what}: " + "; ".join(problems))
        error.problems = problems
        raise error


@dataclass(frozen=True)
class DecodeConfig:
    """Generation settings; they are part of the cache key and of every run's manifest."""

    # opus-mt and NLLB are evaluated with beam search (4-5); greedy or CTranslate2's default
    # of 2 would silently change scores. None = the model's own generation_config value.
    beam_size: int | None = 4
    # 1.0 = no length preference; the models' cards do not ask for more.
    length_penalty: float | None = 1.0
    # 1.0 / 0 = off. Repetition controls change outputs; researchers turn them on knowingly.
    repetition_penalty: float | None = 1.0
    no_repeat_ngram_size: int | None = 0
    # Stop beam search once beam_size hypotheses have finished, as Marian-NMT, fairseq and
    # CTranslate2 do (the opus-mt and NLLB scores were produced that way). None = the model's
    # generation_config; HF's own default (False) keeps searching and differs from CTranslate2.
    early_stopping: bool | None = True
    # Summarisers need a floor; translation does not.
    min_new_tokens: int = 0
    # Output cap = ratio x source tokens + margin, rounded up to the next of 16, 24, 32, 48,
    # 64, 96, ... (segments in a batch share one cap, so caps come in few classes that most
    # segments share). A fixed cap (NLLB's 200, CTranslate2's 256) silently cuts long
    # outputs; this one grows with the input.
    length_ratio: float = 2.0
    length_margin: int = 16
    # Explicit output cap for generation that is not length-relative (summaries); overrides
    # the ratio rule when set.
    max_new_tokens: int | None = None

    def __post_init__(self) -> None:
        # Checked here, not where the values are used, so that the CLI, experiment configs and
        # Python callers all get the same one-line error before any model loads (a beam of 0
        # would otherwise surface as a raw exception deep inside generate()).
        raise_problems("DecodeConfig", field_problems(self, {
            "beam_size": (int, lambda v: v >= 1, "an integer >= 1", True),
            "length_penalty": (float, lambda v: -_INF < v < _INF, "a number", True),
            "repetition_penalty": (float, lambda v: 0 < v < _INF, "a number > 0", True),
            "no_repeat_ngram_size": (int, lambda v: v >= 0, "an integer >= 0", True),
            "early_stopping": (bool, lambda v: True, "true or false", True),
            "min_new_tokens": (int, lambda v: v >= 0, "an integer >= 0", False),
            "length_ratio": (float, lambda v: 0 < v < _INF, "a number > 0", False),
            "length_margin": (int, lambda v: v >= 0, "an integer >= 0", False),
            "max_new_tokens": (int, lambda v: v >= 1, "an integer >= 1", True),
        }))


@dataclass(frozen=True)
class BatchConfig:
    """How segments are grouped into model calls; affects speed, never output text."""

    # Padded source tokens per batch: 4096 keeps a 12+12-layer NLLB within a few GB and
    # fills both CPU cores with opus-mt-sized models (see eval/bench).
    batch_tokens: int = 4096
    # Upper bound on sentences per batch, whatever their length: beam search multiplies work.
    max_batch_size: int = 64
    # Split segments longer than this (in model tokens, special tokens included). None = the
    # model's input limit, lowered so that the output cap still fits the decoder's positions.
    max_input_tokens: int | None = None
    # Pieces translated between cache commits: a kill loses at most this much work.
    commit_every: int = 256

    def __post_init__(self) -> None:
        # The same rule as DecodeConfig's: one clear error here rather than an empty batch or
        # an endless loop later.
        positive = (int, lambda v: v >= 1, "an integer >= 1")
        raise_problems("BatchConfig", field_problems(self, {
            "batch_tokens": (*positive, False),
            "max_batch_size": (*positive, False),
            "max_input_tokens": (*positive, True),
            "commit_every": (*positive, False),
        }))


def resolved_decode(decode: DecodeConfig, gen: object) -> dict[str, Any]:
    """Every decode setting with ``None`` replaced by the model's ``generation_config`` value,
    else the library default both engines share: the one resolution HF and CT2 read."""

    def pick(value, name: str, default):
        own = getattr(gen, name, None)
        return value if value is not None else own if own is not None else default

    return {
        "beam_size": pick(decode.beam_size, "num_beams", 1),
        # mT5 XL-Sum's generation_config sets no length penalty: transformers' default, 1.0.
        "length_penalty": pick(decode.length_penalty, "length_penalty", 1.0),
        "repetition_penalty": pick(decode.repetition_penalty, "repetition_penalty", 1.0),
        "no_repeat_ngram_size": pick(decode.no_repeat_ngram_size, "no_repeat_ngram_size", 0),
        "early_stopping": pick(decode.early_stopping, "early_stopping", False),
        "min_new_tokens": decode.min_new_tokens,
        # A model's own floor (distilbart-cnn: min_length 56) counts the decoder start token.
        "model_min_length": getattr(gen, "min_length", None) or 0,
    }


class Generation(NamedTuple):
    """One model output: its text, its length in tokens, and whether it stopped at the cap.

    A tuple, so that the cache (which imports nothing from summ) stores and returns the same
    ``(text, n_tokens, hit_cap)`` without knowing this class.
    """

    text: str
    n_tokens: int
    hit_cap: bool


@runtime_checkable
class Engine(Protocol):
    """A loaded model behind one of the engines (``hf``, ``ct2``)."""

    model_id: str  # what the user passed (hub id or path)
    revision: str  # resolved commit hash, or a content fingerprint for local folders
    name: str  # engine name with its numeric type, e.g. "hf:float32", "ct2:int8"
    max_input_tokens: int  # input positions the model has
    max_output_tokens: int  # output positions the model has (content tokens)
    decode: DecodeConfig  # the settings it generates with
    family: str  # marian, nllb, madlad, bart, qwen2, ... (what the model is, for its users)
    own_max_new_tokens: int | None  # the output length the model ships with, if it has one

    def settings(self) -> dict:
        """Everything besides the source text that determines an output (cache key, manifest)."""
        ...

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids as the model sees them (special and language tokens included)."""
        ...

    def generate(self, batch: list[list[int]], max_new_tokens: int) -> list[Generation]:
        """Decode one batch of encoded sources; same length, same order."""
        ...


#: Engine name -> the class that loads it (``"module:Class"`` with a ``load`` classmethod).
#: A new engine is one entry here (or a :func:`register_engine` call).
ENGINES: dict[str, str] = {
    "hf": "summ.engines.hf:HFEngine",
    "ct2": "summ.engines.ct2:CT2Engine",
}


def register_engine(name: str, target: str) -> None:
    """Add an engine: ``target`` is ``"module:Class"`` whose ``Class.load(model, **options)``
    returns an :class:`Engine`."""
    ENGINES[name] = target


def load_engine(model: str, engine: str = "hf", *, decode: DecodeConfig = DecodeConfig(),
                **options: Any) -> Engine:
    """Load ``model`` with the named engine (imported only now, so ``import summ`` stays light).

    Raises:
        ConfigError: an unknown engine name.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    module, _, cls = ENGINES[engine].partition(":")
    loader = getattr(importlib.import_module(module), cls)
    return loader.load(resolve_model(model), decode=decode, **options)


# Model-id prefixes with a resolver (``tiny:`` is registered by summ.testing, which library
# code never imports): prefix -> (resolve to a loadable id or path, check without building).
_RESOLVERS: dict[str, tuple[Callable[[str], str], Callable[[str], str | None]]] = {}


def register_model_resolver(prefix: str, resolve: Callable[[str], str],
                            check: Callable[[str], str | None]) -> None:
    """Let model ids starting with ``prefix`` be resolved by ``resolve`` (e.g. ``tiny:marian``
    built on first use); ``check`` returns a problem text or ``None`` without building."""
    _RESOLVERS[prefix] = (resolve, check)


def _resolver(model: str):
    prefix, sep, _ = model.partition(":")
    if sep and "/" not in prefix and f"{prefix}:" in _RESOLVERS:
        return _RESOLVERS[f"{prefix}:"]
    if model.startswith("tiny:"):
        raise ConfigError(f"{model!r} is a test model: they are available through the `summ` "
                          "command, or after `import summ.testing`")
    return None


def resolve_model(model: str) -> str:
    """The hub id or path to load for ``model`` (a registered prefix is resolved)."""
    found = _resolver(model)
    return model if found is None else found[0](model)


def check_model(model: str) -> str | None:
    """A problem with a prefixed model id (unknown tiny family...), without building it."""
    found = _resolver(model)
    return None if found is None else found[1](model)
