"""Scores with signatures: thin wrappers over sacrebleu's public API and rouge-score.

Nothing here computes BLEU, chrF or TER itself: every number comes from a sacrebleu metric
object (``corpus_score`` / ``sentence_score``) and carries that object's ``get_signature()``,
so a table built from :class:`MetricScore` rows can always be reproduced with the
``sacrebleu`` command line. What this module adds is what sacrebleu's Python API leaves out:

* line counts are checked *before* scoring (sacrebleu's ``corpus_score`` zips unequal lists
  and silently scores the shorter prefix, mjpost/sacrebleu#281);
* document-level scores (a corpus score per document id), and sentence-level scores with the
  same result type;
* spBLEU that fails with a clear message when its SentencePiece model is not on disk, instead
  of trying to download it;
* paired significance tests through :class:`sacrebleu.significance.PairedTest` with the seed
  as an argument rather than an environment variable;
* ROUGE that works on Arabic (stock rouge-score keeps only ``[a-z0-9]`` and scores Arabic 0).

Example::

    >>> from summ.metrics import score
    >>> [round(s.score, 2) for s in score(["the cat sat on the mat"], ["the cat sat on a mat"])]
    [53.73, 72.08, 72.03, 16.67]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import sacrebleu
from sacrebleu.metrics import BLEUScore, CHRFScore, TERScore
from sacrebleu.metrics.base import Metric

from summ.errors import ConfigError, InputError, MissingDependencyError, require

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
#: whenever the tokenisation rules change.
ARABIC_TOKENIZER_VERSION = "summ-ar-v1"

_P_THRESHOLD = 0.05  # the threshold sacrebleu's CLI marks with "*"


@dataclass(frozen=True)
class MetricScore:
    """One number with everything needed to reproduce it.

    Attributes:
        metric: ``"bleu"``, ``"chrf"``, ``"chrf++"``, ``"ter"``, ``"spbleu-flores200"``,
            ``"comet"``, ``"rouge1"``, ...
        level: ``"corpus"``, ``"document"`` or ``"sentence"``.
        item: ``None`` at corpus level, the document id at document level, the 0-based line
            number (as a string) at sentence level.
        score: the score on sacrebleu's 0–100 scale (ROUGE F-measure and COMET ×100 too).
        signature: sacrebleu's signature string (``nrefs:1|case:mixed|...|version:2.6.0``) or an
            equivalent one for ROUGE and COMET.
        n: number of segments (lines or summaries) behind the number.
        details: metric-specific extras, e.g. BLEU ``precisions``/``bp``/``sys_len``/``ref_len``,
            TER ``num_edits``; empty when there are none.
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
        system: name of the system (a key of ``systems``).
        baseline: name of the baseline system.
        metric: ``"bleu"``, ``"chrf"``, ...
        score: the system's actual corpus score.
        delta: ``score`` minus the baseline's score.
        mean: bootstrap estimate of the true mean (``bs`` only; ``None`` for ``ar``).
        ci: half-width of the 95% confidence interval around ``mean`` (``bs`` only), i.e. the
            CLI's ``μ = mean ± ci``.
        p_value: p-value of the paired test against the baseline; ``None`` for the baseline.
        significant: ``p_value < 0.05``.
        method: ``"bs"`` (paired bootstrap resampling) or ``"ar"`` (approximate randomisation).
        n_samples: bootstrap resamples (``bs``) or randomisation trials (``ar``) used.
        seed: the RNG seed (``None``: drawn from the OS, not reproducible).
        signature: sacrebleu's signature, with ``bs:N`` or ``ar:N`` (the test and its size) and
            ``seed:S``, exactly as ``sacrebleu --paired-bs/--paired-ar`` prints it.
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


def _check_hyps(hyps: Sequence[str], hyp_name: str) -> None:
    if isinstance(hyps, str) or not isinstance(hyps, Sequence):
        raise InputError(f"{hyp_name} must be a list of strings (one per line), not {type(hyps).__name__}")
    if len(hyps) == 0:
        raise InputError(f"{hyp_name} is empty: nothing to score")
    for i, hyp in enumerate(hyps):
        if not isinstance(hyp, str):
            raise InputError(f"{hyp_name}: line {i + 1} is {type(hyp).__name__}, not a string")


def _ref_streams(
    hyps: Sequence[str],
    refs: Sequence[str] | Sequence[Sequence[str]],
    hyp_name: str,
    ref_names: Sequence[str] | None,
) -> list[list[str]]:
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
        raise InputError(
            f"references must be a list of strings or a list of reference streams, not {type(refs).__name__}"
        )
    is_str = [isinstance(r, str) for r in refs]
    is_stream = [isinstance(r, Sequence) and not isinstance(r, str) for r in refs]
    if refs and all(is_str):
        streams = [list(refs)]
    elif refs and all(is_stream):
        streams = [list(r) for r in refs]
    elif not refs:
        streams = [[]]  # reported as a length mismatch below
    else:
        raise InputError(
            "references mix strings and lists: pass one list of strings (one reference per line) "
            "or a list of reference streams (each a list of strings, one per line)"
        )
    if ref_names is None:
        names = ["references"] if len(streams) == 1 else [f"references[{i}]" for i in range(len(streams))]
    else:
        names = list(ref_names)
        if len(names) != len(streams):
            raise ConfigError(f"ref_names has {len(names)} names but there are {len(streams)} reference streams")
    problems = [
        f"{hyp_name} has {len(hyps)} lines but {name} has {len(stream)}"
        for name, stream in zip(names, streams)
        if len(stream) != len(hyps)
    ]
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
        raise InputError(
            f"{what} has {len(values)} entries but {hyp_name} has {len(hyps)} lines; they must be line-aligned"
        )
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InputError(f"{what}: entry {i + 1} is {type(value).__name__}, not a string")


def _check_level(level: str, doc_ids: Sequence[str] | None, allowed: Sequence[str] = LEVELS) -> None:
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
        raise ConfigError(f"unknown metric(s) {', '.join(map(repr, unknown))}: choose from {', '.join(allowed)}")
    dupes = sorted({m for m in names if names.count(m) > 1})
    if dupes:
        raise ConfigError(f"metric(s) listed twice: {', '.join(dupes)}")
    return names


def _group_by_doc(doc_ids: Sequence[str]) -> dict[str, list[int]]:
    """Line indices per document id (:func:`summ.data.group_documents`: the same rule everywhere)."""
    from summ.data import group_documents

    return dict(group_documents(doc_ids, "document ids", consecutive=False))


# --------------------------------------------------------------------------- sacrebleu metrics


def spm_model_path(tokenizer: str) -> str:
    """Where sacrebleu looks for the SentencePiece model of an spBLEU tokenizer.

    sacrebleu stores it as ``$SACREBLEU/models/<basename of its download URL>`` (default
    ``~/.sacrebleu/models``); ``SACREBLEU`` is read once, when sacrebleu is first imported.

    Args:
        tokenizer: ``"flores200"`` or ``"flores101"``.

    Returns:
        The absolute path sacrebleu will load (it may not exist).
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
        f"sacrebleu looks in $SACREBLEU/models (default ~/.sacrebleu/models, SACREBLEU read at import) "
        f"and would download it from {url}: fetch that file on a machine with internet and copy it to {path}, "
        f"or set SACREBLEU to a folder whose models/ holds it"
    )


def _sacrebleu_metric(name: str, level: str) -> Metric:
    """A fresh sacrebleu metric object (they cache reference counts, so never share one)."""
    # Sentence-level BLEU needs effective order, else one missing 4-gram zeroes the score;
    # sacrebleu's CLI turns it on for -sl too, so sentence scores match `sacrebleu -sl`.
    effective = level == "sentence"
    if name == "bleu":
        return sacrebleu.BLEU(effective_order=effective)
    if name in _SPBLEU_TOKENIZERS:
        tokenizer = _SPBLEU_TOKENIZERS[name]
        _check_spm_model(tokenizer)
        return sacrebleu.BLEU(tokenize=tokenizer, effective_order=effective)
    if name == "chrf":
        return sacrebleu.CHRF()
    if name == "chrf++":
        return sacrebleu.CHRF(word_order=2)
    if name == "ter":
        return sacrebleu.TER()
    raise ConfigError(f"{name!r} is not a sacrebleu metric")  # unreachable after _check_metric_names


def _details(result) -> dict:
    """The public extras of a sacrebleu score object (BLEU precisions, TER edits, ...)."""
    if isinstance(result, BLEUScore):
        return {
            "counts": list(result.counts),
            "totals": list(result.totals),
            "precisions": list(result.precisions),
            "bp": result.bp,
            "sys_len": result.sys_len,
            "ref_len": result.ref_len,
            "ratio": result.ratio,
        }
    if isinstance(result, CHRFScore):
        return {"char_order": result.char_order, "word_order": result.word_order, "beta": result.beta}
    if isinstance(result, TERScore):
        return {"num_edits": result.num_edits, "ref_length": result.ref_length}
    return {}


def _score_sacrebleu(
    name: str,
    metric: Metric,
    hyps: Sequence[str],
    streams: list[list[str]],
    level: str,
    doc_ids: Sequence[str] | None,
) -> list[MetricScore]:
    if level == "corpus":
        result = metric.corpus_score(list(hyps), streams)
        sig = metric.get_signature().format()
        return [MetricScore(name, level, None, float(result.score), sig, len(hyps), _details(result))]
    if level == "sentence":
        results = [metric.sentence_score(h, [s[i] for s in streams]) for i, h in enumerate(hyps)]
        sig = metric.get_signature().format()  # nrefs is known only after scoring
        return [
            MetricScore(name, level, str(i), float(r.score), sig, 1, _details(r)) for i, r in enumerate(results)
        ]
    out = []
    for doc, idx in _group_by_doc(doc_ids).items():
        result = metric.corpus_score([hyps[i] for i in idx], [[s[i] for i in idx] for s in streams])
        sig = metric.get_signature().format()
        out.append(MetricScore(name, level, doc, float(result.score), sig, len(idx), _details(result)))
    return out


# --------------------------------------------------------------------------- COMET


def comet_model_for(metric: str, given: str | None = None) -> str:
    """The checkpoint of a COMET metric: ``given``, else its environment variable, else the default.

    Args:
        metric: ``"comet"`` or ``"cometkiwi"``.
        given: a hub id or checkpoint path chosen by the caller, if any.

    Returns:
        The hub id or path to load.
    """
    env, default = _COMET_DEFAULTS[metric]
    return given or os.environ.get(env) or default


def _score_comet(
    metric: str,
    hyps: Sequence[str],
    streams: list[list[str]] | None,
    srcs: Sequence[str],
    level: str,
    doc_ids: Sequence[str] | None,
    model_name: str,
    names: dict[str, str],
) -> list[MetricScore]:
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

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    if level == "corpus":
        return [MetricScore(metric, level, None, 100.0 * out.system_score, sig, len(seg))]
    if level == "sentence":
        return [MetricScore(metric, level, str(i), s, sig, 1) for i, s in enumerate(seg)]
    return [
        MetricScore(metric, level, doc, mean([seg[i] for i in idx]), sig, len(idx))
        for doc, idx in _group_by_doc(doc_ids).items()
    ]


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
) -> list[MetricScore]:
    """Score line-aligned hypotheses against one or more reference streams.

    Every input is checked before anything is scored, and every optional requirement (spBLEU
    model file, COMET environment) is checked before the first metric runs, so a bad call fails
    fast. Empty hypothesis lines are scored as empty strings, never dropped.

    Levels:
        * ``"corpus"``: sacrebleu's ``corpus_score`` over all lines (the number to report).
        * ``"document"``: a corpus score per document id, documents in order of first
          appearance; a document's score equals ``corpus_score`` on its lines alone.
        * ``"sentence"``: sacrebleu's ``sentence_score`` per line (BLEU with
          ``effective_order=True``, as ``sacrebleu -sl`` does). Sentence BLEU differs from
          corpus BLEU by design (brevity penalty and n-gram counts are per line, and the
          corpus score is not their mean); for short segments chrF is the better choice.

    Args:
        hyps: system output, one string per line.
        refs: one reference stream (``list[str]``) or several (``list[list[str]]``, each as long
            as ``hyps``); all strings or all lists, never a mix. ``None`` only when every metric
            is reference-free (``["cometkiwi"]``).
        metrics: names from :data:`METRICS` and :data:`OPTIONAL_METRICS`. ``"spbleu-flores200"``
            and ``"spbleu-flores101"`` are BLEU over the FLORES SentencePiece tokenizers (model
            file in sacrebleu's cache, see :func:`spm_model_path`). ``"comet"`` (against a
            single reference stream) and ``"cometkiwi"`` (no reference: quality estimation) need
            ``srcs`` and the COMET environment (``summ comet install``, see :mod:`summ.comet`);
            they score segments ×100 with COMET's own code, and refuse, naming the lines, any
            segment COMET would truncate (510 tokens), so pass sentences, not documents.
        level: ``"corpus"``, ``"document"`` or ``"sentence"``.
        doc_ids: one document id per line; required for (and only for) ``level="document"``.
        srcs: source sentences, one per line; required for ``"comet"`` and ``"cometkiwi"``.
        hyp_name: what to call ``hyps`` in error messages (e.g. the file name).
        ref_names: what to call each reference stream in error messages.
        comet_model: checkpoint of ``"comet"``: a hub id, a ``.ckpt`` file or a folder holding
            ``checkpoints/model.ckpt``; ``None``: ``$SUMM_COMET_MODEL``, else
            :data:`DEFAULT_COMET_MODEL`.
        cometkiwi_model: checkpoint of ``"cometkiwi"``, likewise (``$SUMM_COMETKIWI_MODEL``, else
            :data:`DEFAULT_COMETKIWI_MODEL`).

    Returns:
        One :class:`MetricScore` per metric (corpus), per metric and document (document, in
        document order), or per metric and line (sentence), metrics in the order given.

    Raises:
        InputError: mismatched lengths (naming both counts and names), wrong types, empty input.
        ConfigError: unknown metric or level, doc_ids/srcs/refs missing where needed.
        MissingDependencyError: spBLEU model file or COMET environment not available.
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
    comets = [m for m in names if m in COMET_METRICS]
    for name in comets:
        if srcs is None:
            raise ConfigError(f"{name} needs srcs= (the source sentences, one per line)")
        if name == "comet" and len(streams) != 1:
            raise ConfigError(f"comet scores against one reference, but {len(streams)} reference streams were given")
    if comets:
        from summ.comet import comet_python

        comet_python()  # no COMET environment: fail before any metric runs
    comet_names = {"src": "srcs", "mt": hyp_name,
                   "ref": (list(ref_names) if ref_names is not None else ["references"])[0]}
    models = {"comet": comet_model, "cometkiwi": cometkiwi_model}

    # Build every sacrebleu metric first: spBLEU's model check must fail before any scoring.
    built = {name: _sacrebleu_metric(name, level) for name in names if name not in COMET_METRICS}
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
    seed: int | None = 12345,
    *,
    ref_names: Sequence[str] | None = None,
) -> list[Comparison]:
    """Paired significance test of each system against a baseline (sacrebleu's ``PairedTest``).

    Gives the same numbers as ``sacrebleu REFS -i BASELINE SYS... -m ... --paired-bs`` (or
    ``--paired-ar``) with ``SACREBLEU_SEED=seed``. The paired bootstrap (``"bs"``) also reports
    the bootstrap mean and 95% CI half-width per system; approximate randomisation (``"ar"``)
    reports p-values only, as the CLI does. The p-value is of the *absolute* difference: a
    significant result says the systems differ, not which is better (read ``delta``).

    Args:
        systems: system name -> hypotheses (one per line); must include ``baseline``.
        refs: one reference stream or several, as in :func:`score`.
        baseline: the key of ``systems`` every other system is compared to.
        metrics: any of ``"bleu"``, ``"chrf"``, ``"chrf++"``, ``"ter"``, ``"spbleu-flores200"``,
            ``"spbleu-flores101"``.
        method: ``"bs"`` (paired bootstrap resampling) or ``"ar"`` (approximate randomisation).
        n_samples: resamples (bs) or trials (ar); ``None`` takes sacrebleu's defaults, 1000 for
            bs and 10000 for ar.
        seed: RNG seed, a positive integer; ``None`` draws entropy from the OS (not
            reproducible). 0 is refused: sacrebleu treats a zero seed as "unseeded" for the
            system resamples but as 0 for the baseline's.
        ref_names: what to call each reference stream in error messages.

    Returns:
        One :class:`Comparison` per system and metric: systems in the order baseline first,
        then the others in ``systems`` order; metrics in the order given within each system.

    Raises:
        InputError: a system's line count differs from the references' (names both).
        ConfigError: unknown metric or method, baseline not in systems, fewer than two
            systems, bad ``n_samples`` or ``seed``.
        MissingDependencyError: spBLEU model file missing.
    """
    if method not in ("bs", "ar"):
        raise ConfigError(
            f"unknown significance method {method!r}: "
            "choose 'bs' (paired bootstrap) or 'ar' (approximate randomisation)"
        )
    if not isinstance(systems, dict) or len(systems) < 2:
        raise ConfigError("compare needs a dict of at least two systems (the baseline and one more)")
    if baseline not in systems:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(map(repr, systems))}")
    if n_samples is not None and (not isinstance(n_samples, int) or n_samples <= 0):
        raise ConfigError(f"n_samples must be a positive integer or None (sacrebleu's default), not {n_samples!r}")
    if seed is not None and (not isinstance(seed, int) or seed <= 0):
        raise ConfigError(f"seed must be a positive integer or None (unseeded), not {seed!r}")
    streams = None
    for name, hyps in systems.items():
        streams = _ref_streams(hyps, refs, name, ref_names)
    names = _check_metric_names(metrics, [m for m in ALL_METRICS if m not in COMET_METRICS])

    named = [(baseline, list(systems[baseline]))] + [(k, list(v)) for k, v in systems.items() if k != baseline]
    from sacrebleu.significance import PairedTest

    # One PairedTest per metric: sacrebleu keys its results by score name, and BLEU and spBLEU
    # are both "BLEU", so in one test the second would silently replace the first. Each test
    # seeds its own generator, so the resamples are those of a single test over all metrics.
    tests = {}
    for name in names:
        with _sacrebleu_seed(seed):
            test = PairedTest(named, {name: _sacrebleu_metric(name, "corpus")}, references=streams,
                              test_type=method, n_samples=n_samples or 0)
        sigs, table = test()
        (key,) = [k for k in table if k != "System"]
        tests[name] = (test.n_samples, sigs[key].format(), table["System"], table[key])
    comparisons = []
    for row, system in enumerate(named):
        for name, (samples, signature, systems_column, results) in tests.items():
            assert systems_column[row] == system[0]  # sacrebleu keeps the order it was given
            res, base = results[row], results[0]
            p = None if row == 0 else float(res.p_value)
            comparisons.append(
                Comparison(
                    system=system[0],
                    baseline=baseline,
                    metric=name,
                    score=float(res.score),
                    delta=float(res.score) - float(base.score),
                    mean=None if res.mean is None else float(res.mean),
                    ci=None if res.ci is None else float(res.ci),
                    p_value=p,
                    significant=p is not None and p < _P_THRESHOLD,
                    method=method,
                    n_samples=samples,
                    seed=seed,
                    signature=signature,
                )
            )
    return comparisons


# --------------------------------------------------------------------------- ROUGE

# Arabic tokenisation rules, one table (ARABIC_TOKENIZER_VERSION names this exact set):
# diacritics (harakat, tanween, shadda, sukun, superscript alef, Quranic marks) and tatweel are
# removed; tokens are maximal runs of Arabic letters, digits (ASCII, Arabic-Indic, Extended
# Arabic-Indic) and ASCII letters (lowercased, for Latin names inside Arabic text); everything
# else (whitespace, Arabic and Latin punctuation ، ؛ ؟ « ») separates tokens.
_AR_STRIP = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_AR_LETTERS = (
    "\u0621-\u063a\u0641-\u064a"  # hamza .. ghain, feh .. yeh (skipping tatweel U+0640)
    "\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff"  # extended letters (Persian, Urdu, ...)
    "\u0750-\u077f\u08a0-\u08c8"  # Arabic Supplement and Extended-A letters
)
_AR_DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9"
_AR_TOKEN = re.compile(f"[{_AR_LETTERS}{_AR_DIGITS}a-z]+")


class ArabicRougeTokenizer:
    """Script-aware tokenizer for rouge-score's ``RougeScorer(tokenizer=...)``.

    Stock rouge-score lowercases and keeps only ``[a-z0-9]``, so Arabic text has no tokens
    and every score is 0 (huggingface/evaluate#256). This one:

    * applies NFKC (folds presentation forms such as ``ﻻ`` to base letters);
    * removes diacritics and tatweel (``مُحَمَّد`` and ``مـحـمد`` both become ``محمد``);
    * splits on whitespace and punctuation, keeping Arabic letters, digits (``0-9``, ``٠-٩``,
      ``۰-۹``) and lowercased ASCII letters.

    No stemming and no letter normalisation (alef forms, ta marbuta and alef maqsura stay
    distinct; ``٣`` and ``3`` are different tokens): light, predictable rules that a reader can
    check by hand. The rules are versioned as :data:`ARABIC_TOKENIZER_VERSION`.
    """

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into tokens by the rules above.

        Args:
            text: any text (Arabic, possibly mixed with Latin).

        Returns:
            The tokens, in order.
        """
        text = _AR_STRIP.sub("", unicodedata.normalize("NFKC", text)).lower()
        return _AR_TOKEN.findall(text)


def rouge(
    hyps: list[str],
    refs: list[str] | list[list[str]],
    lang: str = "en",
    types: Sequence[str] = ("rouge1", "rouge2", "rougeLsum"),
    *,
    level: str = "corpus",
    hyp_name: str = "hypotheses",
    ref_names: Sequence[str] | None = None,
) -> list[MetricScore]:
    """ROUGE F-measure (×100) of summaries against reference summaries, via rouge-score.

    English uses rouge-score's default tokenizer with Porter stemming (``use_stemmer=True``).
    Arabic uses :class:`ArabicRougeTokenizer` (no stemming), because the stock tokenizer
    scores Arabic 0.

    Each element of ``hyps`` / ``refs`` is one whole summary. For ``rougeLsum`` put one
    sentence per line inside it (``"\\n".join(sentences)``): rouge-score splits summaries on
    ``"\\n"`` only, so a summary without newlines is one sentence and rougeLsum equals rougeL.
    With several reference streams, each summary takes the reference with the best F-measure
    (rouge-score's ``score_multi``).

    Args:
        hyps: system summaries.
        refs: one reference summary per hypothesis, or several streams of them.
        lang: ``"en"`` or ``"ar"``.
        types: any of ``"rouge1"``, ``"rouge2"``, ``"rougeL"``, ``"rougeLsum"``.
        level: ``"corpus"`` (F-measure averaged over pairs) or ``"sentence"`` (per pair).
        hyp_name: what to call ``hyps`` in error messages.
        ref_names: what to call each reference stream in error messages.

    Returns:
        One :class:`MetricScore` per type (corpus) or per type and pair (sentence); ``details``
        holds precision and recall on the same scale.

    Raises:
        InputError: mismatched lengths or wrong types.
        ConfigError: unknown language, type or level.
    """
    streams = _ref_streams(hyps, refs, hyp_name, ref_names)
    if lang not in ("en", "ar"):
        raise ConfigError(
            f"unknown ROUGE language {lang!r}: choose 'en' (Porter stemming) or 'ar' (script-aware tokenizer)"
        )
    type_names = _check_metric_names(types, ROUGE_TYPES)
    _check_level(level, None, allowed=("corpus", "sentence"))
    from rouge_score import rouge_scorer  # imports nltk: kept out of `import summ.metrics`

    if lang == "ar":
        scorer = rouge_scorer.RougeScorer(type_names, tokenizer=ArabicRougeTokenizer())
        tok, stem = ARABIC_TOKENIZER_VERSION, "no"
    else:
        scorer = rouge_scorer.RougeScorer(type_names, use_stemmer=True)
        tok, stem = "rouge-default", "porter"
    if "rougeLsum" in type_names and not any("\n" in t for t in [*hyps, *(r for s in streams for r in s)]):
        logger.info("rougeLsum: no summary contains a newline, so it equals rougeL; pass one sentence per line")
    try:
        rs_version = version("rouge-score")
    except PackageNotFoundError:
        rs_version = "unknown"
    sig = f"rouge|nrefs:{len(streams)}|lang:{lang}|tok:{tok}|stem:{stem}|version:rouge-score-{rs_version}"

    per_pair = []
    for i, hyp in enumerate(hyps):
        targets = [s[i] for s in streams]
        per_pair.append(scorer.score(targets[0], hyp) if len(targets) == 1 else scorer.score_multi(targets, hyp))

    out = []
    for t in type_names:
        if level == "sentence":
            out += [
                MetricScore(t, level, str(i), 100 * r[t].fmeasure, sig, 1,
                            {"precision": 100 * r[t].precision, "recall": 100 * r[t].recall})
                for i, r in enumerate(per_pair)
            ]
        else:
            n = len(per_pair)
            out.append(
                MetricScore(
                    t, level, None, 100 * sum(r[t].fmeasure for r in per_pair) / n, sig, n,
                    {
                        "precision": 100 * sum(r[t].precision for r in per_pair) / n,
                        "recall": 100 * sum(r[t].recall for r in per_pair) / n,
                    },
                )
            )
    return out
