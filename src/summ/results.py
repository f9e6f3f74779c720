"""The one definition of a results folder: its files, their columns, reading and writing.

``summ run`` (:mod:`summ.experiment`) writes through this module and ``summ report``
(:mod:`summ.report`) reads through it; no other module knows a file name or a column
(``eval/results/README.md`` describes them all). :func:`load_results` reads a folder back as
long-form pandas DataFrames. Files are written whole (temporary file, then rename), so a
killed run never leaves half a file; CSV numbers are Python's shortest exact ``repr``, so a
rerun writes the same bytes. pandas is imported lazily: ``import summ.results`` stays light.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import numbers
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summ.errors import ConfigError, InputError

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
CONFIG = "config.toml"
REPORT = "report"
SIGNIFICANCE_FILE = "significance.csv"
SCORE_FILES = {"corpus": "scores.csv", "document": "scores.document.csv",
               "sentence": "scores.sentence.csv"}
SUMMARY_SCORE_FILES = {"corpus": "summary_scores.csv", "document": "summary_scores.document.csv"}
#: What a rerun replaces at the top of a results folder (the cache and manifest stay).
GENERATED = ("outputs", "summaries", REPORT, *SCORE_FILES.values(), SIGNIFICANCE_FILE,
             *SUMMARY_SCORE_FILES.values(), CONFIG)
#: Name of the summaries of the human reference translation in ``summaries/DATASET/STRATEGY/``;
#: system names start with a letter or digit, so it cannot clash with one.
REFERENCE_SUMMARIES = "_reference"
#: Name of the summaries of the Arabic source (``input = "source"``).
SOURCE_SUMMARIES = "_source"

SCORE_COLUMNS = ("dataset", "system", "metric", "level", "item", "score", "n", "signature")
SIGNIFICANCE_COLUMNS = ("dataset", "system", "baseline", "metric", "method", "score", "delta",
                        "mean", "ci", "p_value", "significant", "n_samples", "seed", "signature")
SUMMARY_SCORE_COLUMNS = ("dataset", "summary", "system", "metric", "level", "item", "score", "n",
                         "signature")
#: Columns :attr:`Results.scores` takes from the paired tests (corpus rows; NA elsewhere):
#: ``ci`` from the bootstrap test, the others from the run's first significance method.
TEST_COLUMNS = ("ci", "method", "delta", "p_value", "significant")
#: :attr:`Results.segments`: ``line`` is the 1-based line of a parallel dataset (NA for
#: articles), ``document`` its document id (or the article id).
SEGMENT_COLUMNS = ("dataset", "system", "line", "document", "segment", "paragraph", "source",
                   "translation", "source_tokens", "pieces", "hit_cap", "flags")
#: :attr:`Results.summaries`: ``summary`` is the strategy's name in the config, then the
#: fields of :class:`summ.summary.Summary`.
SUMMARY_COLUMNS = ("dataset", "summary", "system", "id", "text", "sentences", "strategy", "lang",
                   "indices", "source_sentences", "intermediate", "chunked", "chunks", "flags")
PUBLISHED_COLUMNS = ("model", "test_set", "langpair", "metric", "score", "tokenizer", "signature",
                     "source", "url", "verified", "note")

# Column kinds for reading: "?" marks a column that may be empty (NA); the others must hold a
# value of their kind on every row, or the file is damaged.
_TEXT = {"dataset": "text", "system": "text", "metric": "text", "signature": "text"}
_SCORE_KINDS = {**_TEXT, "level": "text", "item": "text?", "score": "float", "n": "int"}
_SUMMARY_SCORE_KINDS = {**_SCORE_KINDS, "summary": "text"}
_TEST_KINDS = {**_TEXT, "baseline": "text", "method": "text", "score": "float", "delta": "float",
               "mean": "float?", "ci": "float?", "p_value": "float?", "significant": "bool",
               "n_samples": "int", "seed": "int?"}
_SEGMENT_KINDS = {"line": "int?", "segment": "int", "paragraph": "int", "source": "text",
                  "translation": "text", "source_tokens": "int", "pieces": "list",
                  "hit_cap": "bool", "flags": "list"}
_BOOLS = {"true": True, "false": False, True: True, False: False}


# --------------------------------------------------------------------------------------
# Where things are.
# --------------------------------------------------------------------------------------


def safe_file_name(name: str) -> str:
    """``name`` (an article id) as a file name: anything but letters, digits, ``.+-`` is ``_``."""
    return re.sub(r"[^\w.+-]", "_", name) or "_"


def hypothesis_path(root: Path, dataset: str, system: str) -> Path:
    """The line-aligned output of ``system`` on a parallel ``dataset``."""
    return root / "outputs" / dataset / f"{system}.txt"


def articles_path(root: Path, dataset: str, system: str) -> Path:
    """The folder of ``system``'s translated articles of ``dataset`` (one ``ID.txt`` each)."""
    return root / "outputs" / dataset / system


def article_path(root: Path, dataset: str, system: str, article: str) -> Path:
    """One translated article (named by :func:`safe_file_name` of its id)."""
    return articles_path(root, dataset, system) / f"{safe_file_name(article)}.txt"


def segments_path(root: Path, dataset: str, system: str) -> Path:
    return root / "outputs" / dataset / f"{system}.segments.jsonl"


def summaries_path(root: Path, dataset: str, strategy: str, system: str) -> Path:
    return root / "summaries" / dataset / strategy / f"{system}.jsonl"


def prepare(root: Path) -> None:
    """Make ``root`` ready for a run: new, empty, or an earlier results folder (whose
    generated files are deleted; its manifest and cache stay until they are replaced).

    Raises:
        ConfigError: ``root`` is a file, or a non-empty folder without ``manifest.json``
            (``--output ~`` must never delete anything of the user's).
    """
    if root.exists() and not root.is_dir():
        raise ConfigError(f"output {root} is a file, not a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / MANIFEST).is_file():
        raise ConfigError(f"output {root} is not empty and holds no {MANIFEST}: "
                          "choose an empty or new folder")
    root.mkdir(parents=True, exist_ok=True)
    for target in (root / name for name in GENERATED):
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


# --------------------------------------------------------------------------------------
# Writing.
# --------------------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> None:
    """Write through a temp file and rename: a killed run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    """Indented UTF-8 JSON; settings dataclasses as their fields, paths (and the rest) as text."""
    def jsonable(o: Any) -> Any:
        return dataclasses.asdict(o) if dataclasses.is_dataclass(o) else str(o)

    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, default=jsonable) + "\n")


def write_jsonl(path: Path, objects: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))


def _csv_value(value: Any) -> Any:
    # Fixed formats, so that the same numbers always give the same bytes: floats as Python's
    # shortest exact repr (numpy scalars too), booleans as true/false, None as empty.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return value


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """A CSV with exactly ``columns``, in that order (a row with another key is an error)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    write_text(path, buf.getvalue())


def score_row(dataset: str, system: str, s: Any, **override: Any) -> dict:
    """A row of ``scores*.csv`` from a :class:`summ.metrics.MetricScore` (``override``: the
    ``summary``, ``level`` and ``item`` of a summary score)."""
    fields = {k: getattr(s, k) for k in ("metric", "level", "item", "score", "n", "signature")}
    return {"dataset": dataset, "system": system, **fields, **override}


def comparison_row(dataset: str, c: Any) -> dict:
    """A row of ``significance.csv`` from a :class:`summ.metrics.Comparison`."""
    return {"dataset": dataset, **{k: getattr(c, k) for k in SIGNIFICANCE_COLUMNS[1:]}}


def write_scores(root: Path, level: str, rows: Iterable[dict]) -> None:
    write_csv(root / SCORE_FILES[level], SCORE_COLUMNS, rows)


def write_significance(root: Path, rows: Iterable[dict]) -> None:
    write_csv(root / SIGNIFICANCE_FILE, SIGNIFICANCE_COLUMNS, rows)


def write_summary_scores(root: Path, level: str, rows: Iterable[dict]) -> None:
    write_csv(root / SUMMARY_SCORE_FILES[level], SUMMARY_SCORE_COLUMNS, rows)


# --------------------------------------------------------------------------------------
# Reading.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # eq: DataFrames have no single truth value
class Results:
    """A results folder read back (:func:`load_results`); every frame is in long form.

    Attributes:
        path: the folder.
        manifest: ``manifest.json``.
        scores: every level's scores (:data:`SCORE_COLUMNS` + :data:`TEST_COLUMNS`), in file
            order, corpus rows first; ``item`` is NA at corpus level.
        significance: ``significance.csv`` (:data:`SIGNIFICANCE_COLUMNS`).
        segments: one row per source segment of every system and dataset
            (:data:`SEGMENT_COLUMNS`; ``flags`` a list of names).
        summaries: one row per summary (:data:`SUMMARY_COLUMNS`), reference and source
            summaries included; empty without ``[[summaries]]``.
        summary_scores: both levels of ``summary_scores*.csv`` (:data:`SUMMARY_SCORE_COLUMNS`).
    """

    path: Path
    manifest: dict
    scores: pd.DataFrame
    significance: pd.DataFrame
    segments: pd.DataFrame
    summaries: pd.DataFrame
    summary_scores: pd.DataFrame

    def systems(self) -> list[str]:
        """System names in the config's order."""
        return list(self.manifest.get("system_order") or self.manifest.get("systems", {}))

    def datasets(self) -> list[str]:
        return list(self.manifest.get("datasets", {}))

    def system(self, name: str) -> dict:
        """The manifest's record of one system (model, engine, revision, per-dataset runs)."""
        return self.manifest.get("systems", {}).get(name, {})


def load_results(path: str | os.PathLike) -> Results:
    """Read a finished results folder written by ``summ run``.

    Raises:
        InputError: no manifest, an unfinished run, or a damaged file (truncated CSV, invalid
            JSON, a missing column or file, a value that is not a number); the message names
            the file (and line) and what is wrong.
    """
    root = Path(path)
    manifest = read_manifest(root)
    # A finished run writes a scores file for each of its levels (rows or not) and the
    # significance file: one that is missing was deleted, and a report without it would
    # silently show no scores.
    expected = [SCORE_FILES[level] for level in manifest.get("levels") or ()
                if level in SCORE_FILES]
    if "significance" in manifest:
        expected.append(SIGNIFICANCE_FILE)
    for name in expected:
        if not (root / name).is_file():
            raise InputError(f"{root / name}: missing, but the run wrote it (the manifest lists "
                             "its level); rerun `summ run` to rewrite it")
    scores = _read_csvs(root, SCORE_FILES.values(), SCORE_COLUMNS, _SCORE_KINDS)
    tests = _read_csvs(root, [SIGNIFICANCE_FILE], SIGNIFICANCE_COLUMNS, _TEST_KINDS)
    summary_scores = _read_csvs(root, SUMMARY_SCORE_FILES.values(), SUMMARY_SCORE_COLUMNS,
                                _SUMMARY_SCORE_KINDS)
    methods = (manifest.get("significance") or {}).get("methods") or [None]
    return Results(root, manifest, scores_frame(scores, tests, methods[0], root), tests,
                   _segments(root, manifest), _summaries(root, manifest), summary_scores)


def read_manifest(root: Path) -> dict:
    """``manifest.json`` of a finished run.

    Raises:
        InputError: missing, not a JSON object, or the run did not finish.
    """
    path = root / MANIFEST
    if not path.is_file():
        raise InputError(f"{root}: no {MANIFEST}; is this a results folder written by `summ run`?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc}); "
                         "rerun `summ run` to rewrite it") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: holds a JSON {type(manifest).__name__}, not an object")
    if manifest.get("status") != "finished":
        raise InputError(f"{root}: the run did not finish (status {manifest.get('status')!r}); "
                         "rerun `summ run` to resume it")
    return manifest


def scores_frame(scores: Any, tests: Any, primary: str | None,
                 where: Any = "scores") -> pd.DataFrame:
    """Scores with their paired test (:data:`TEST_COLUMNS`) joined in (:attr:`Results.scores`).

    Args:
        scores: a frame of :data:`SCORE_COLUMNS`, or rows from :func:`score_row`.
        tests: a frame of :data:`SIGNIFICANCE_COLUMNS`, or rows from :func:`test_row`.
        primary: the method whose ``p_value``, ``delta`` and ``significant`` are joined.
        where: names the source in error messages.
    """
    import pandas as pd

    scores = _typed(pd.DataFrame(scores, columns=SCORE_COLUMNS), _SCORE_KINDS, where)
    tests = _typed(pd.DataFrame(tests, columns=SIGNIFICANCE_COLUMNS), _TEST_KINDS, where)
    key = ["dataset", "system", "metric"]
    try:
        out = scores.merge(tests.loc[tests["method"] == "bs", [*key, "ci"]], on=key, how="left",
                           validate="many_to_one")
        out = out.merge(tests.loc[tests["method"] == primary, [*key, *TEST_COLUMNS[1:]]], on=key,
                        how="left", validate="many_to_one")
    except pd.errors.MergeError:
        raise InputError(f"{where}: two significance rows for one dataset, system, metric and "
                         "method; rerun `summ run`") from None
    out["significant"] = out["significant"].astype("boolean")
    out.loc[out["level"] != "corpus", list(TEST_COLUMNS)] = pd.NA  # the tests are corpus-level
    return out


def _concat(frames: list, columns: Sequence[str], kinds: dict, where: Any) -> pd.DataFrame:
    import pandas as pd

    if not frames:  # typed empty frame: the right columns and dtypes, no rows
        return _typed(pd.DataFrame(columns=columns), kinds, where)
    return pd.concat(frames, ignore_index=True)


def _read_csvs(root: Path, names: Iterable[str], columns: Sequence[str],
               kinds: dict) -> pd.DataFrame:
    """The files ``names`` of ``root`` that exist, read and concatenated in order."""
    frames = [_read_csv(root / name, kinds) for name in names if (root / name).is_file()]
    return _concat(frames, columns, kinds, root)


def _read_csv(path: Path, kinds: dict) -> pd.DataFrame:
    """A CSV of the results folder, every row checked and typed (:func:`_typed`)."""
    import pandas as pd

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc}); rerun `summ run` to rewrite it") from None
    if not text.endswith("\n"):  # every file written here ends with a line break
        raise InputError(f"{path}: {'empty' if not text else 'ends in the middle of a line'}: "
                         "the file is truncated; rerun `summ run` to rewrite it")
    try:
        # The csv module rather than pandas' reader: a short or long row is an error here,
        # where pandas would pad it with empty values or take its first field as an index.
        header, *rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV ({exc})") from None
    missing = [c for c in kinds if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    for line, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: {len(row)} fields where the header has "
                             f"{len(header)}: the file is damaged; rerun `summ run`")
    return _typed(pd.DataFrame(rows, columns=header, dtype=object), kinds, path)


def _typed(frame: pd.DataFrame, kinds: dict, where: Any, first_line: int = 2) -> pd.DataFrame:
    """``frame`` with each column of ``kinds`` converted to its kind (``text``, ``float``,
    ``int``, ``bool``, ``list``; ``?``: may be empty, then NA), or an InputError naming the
    first bad value and its line (row ``i`` is line ``i + first_line``)."""
    import pandas as pd

    out = frame.copy()
    for col, kind in kinds.items():
        values, base, optional = frame[col], kind.rstrip("?"), kind.endswith("?")
        blank = values.isna() | values.eq("")
        # An empty text is a text; only a missing one (a JSON null) is bad.
        bad = values.isna() if base == "text" and not optional else blank & False
        if base == "text":
            converted = (values.mask(blank) if optional else values).astype("str")
        elif base in ("float", "int"):
            converted = pd.to_numeric(values.mask(blank), errors="coerce").astype("float64")
            bad = converted.isna() & (~blank if optional else True)
            if base == "int":
                bad |= converted.notna() & (converted % 1 != 0)
        elif base == "bool":
            converted = values.map(_BOOLS)
            bad = converted.isna()
        else:  # list
            converted = values
            bad = ~values.map(lambda v: isinstance(v, list)).astype(bool)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            what = "a list" if base == "list" else "text" if base == "text" else f"a {base}"
            raise InputError(f"{where}:{i + first_line}: {col} is {values.iloc[i]!r}, not {what}; "
                             "the file is damaged (rerun `summ run` to rewrite it)")
        if base in ("int", "bool"):
            kind = {"int": "Int64" if optional else "int64", "bool": bool}[base]
            converted = converted.astype(kind)
        out[col] = converted
    return out


def _read_jsonl(path: Path, required: Sequence[str], extra: dict) -> list[dict]:
    """The objects of a JSON Lines file of the folder, ``extra`` added to each."""
    if not path.is_file():
        raise InputError(f"{path}: missing, but the manifest lists it; rerun `summ run`")
    objects = []
    try:
        with path.open(encoding="utf-8") as fh:
            for line, text in enumerate(fh, 1):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{line}: not JSON ({exc.msg}); "
                                     "the file is damaged") from None
                missing = [k for k in required if not isinstance(obj, dict) or k not in obj]
                if missing:
                    raise InputError(f"{path}:{line}: no {', '.join(missing)}; "
                                     "the file is damaged")
                objects.append({**extra, **obj})
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    return objects


def _segments(root: Path, manifest: dict) -> pd.DataFrame:
    import pandas as pd

    frames = []
    for system, rec in (manifest.get("systems") or {}).items():
        for dataset, ds in (rec.get("datasets") or {}).items():
            where = (ds.get("outputs") or {}).get("segments")
            if not where:
                continue
            objects = _read_jsonl(root / where, _SEGMENT_KINDS.keys() - {"line"},
                                  {"dataset": dataset, "system": system})
            for obj in objects:  # a parallel line's document is its doc_id
                obj.setdefault("line", None)
                obj["document"] = obj.pop("doc_id", obj.get("document"))
            frame = pd.DataFrame(objects, columns=SEGMENT_COLUMNS)
            frames.append(_typed(frame, _SEGMENT_KINDS, root / where, first_line=1))
    return _concat(frames, SEGMENT_COLUMNS, _SEGMENT_KINDS, root)


def _summaries(root: Path, manifest: dict) -> pd.DataFrame:
    import pandas as pd

    objects = []
    for name, rec in (manifest.get("summaries") or {}).items():
        for dataset, runs in (rec.get("runs") or {}).items():
            for system, where in runs.items():
                objects += _read_jsonl(root / where, ("id", "text"),
                                       {"dataset": dataset, "summary": name, "system": system})
    frame = pd.DataFrame(objects)
    extra = [c for c in frame.columns if c not in SUMMARY_COLUMNS]  # fields added later
    return frame.reindex(columns=[*SUMMARY_COLUMNS, *extra])


# --------------------------------------------------------------------------------------
# Published scores.
# --------------------------------------------------------------------------------------


def read_published(path: str | os.PathLike) -> list[dict]:
    """Rows of a published-scores CSV (:data:`PUBLISHED_COLUMNS`), comment lines (``#``) skipped.

    Raises:
        InputError: the file cannot be read, is not UTF-8, or lacks a required column.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the published-scores file "
                         f"({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte {exc.start}); "
                         "save the published-scores CSV as UTF-8") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    required = ("model", "test_set", "metric", "score", "source")
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return [dict(row) for row in reader]
