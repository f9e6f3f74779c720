"""Translating files: line-aligned text, folders of articles, JSONL. Streaming and atomic.

The file guarantees of ``summ translate`` (and anyone's script) in one place: one output line
per input line, every output written through a temp file and renamed when complete, one lock
per output, segment records (``--segments``) with one entry per piece the model saw.
:func:`plan_jobs` and :func:`job_problems` say where each input's results go and everything
wrong with those files before any model loads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from summ.data import (
    article_files,
    atomic_write,
    check_articles,
    check_text_file,
    file_encoding,
    iter_lines,
    output_lock,
    read_articles,
    same_path,
    writable_problem,
)
from summ.errors import ConfigError, SummError
from summ.translate import PipelineTranslator, RunStats, SegmentRecord

logger = logging.getLogger(__name__)

# Lines translated per chunk of a line file: bounds memory (peak RSS does not grow with the
# corpus) while giving length sorting and batching enough material to work with.
CHUNK_LINES = 2000


def segment_objects(records: Sequence[SegmentRecord], where: dict) -> list[dict]:
    """One JSON-ready object per segment of one line or document (``where`` says which):
    :meth:`SegmentRecord.as_dict` with its index. The one writer of segment records."""
    return [{**where, "segment": i, **r.as_dict()} for i, r in enumerate(records)]


def _jsonl(objects: list[dict]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


@contextlib.contextmanager
def _output(path: str | os.PathLike | None) -> Iterator:
    """An atomic, locked output file, or standard output (``None``)."""
    if path is None:
        out = sys.stdout
        yield out
        out.flush()
        return
    with output_lock(path), atomic_write(path) as fh:
        yield fh


def translate_file(translator: PipelineTranslator, path: str | os.PathLike,
                   output: str | os.PathLike | None = None, *,
                   segments: str | os.PathLike | None = None, encoding: str = "utf-8",
                   html: str = "strip", chunk_lines: int = CHUNK_LINES) -> RunStats:
    """Translate a text file line by line: exactly one output line per input line.

    A blank or whitespace-only line gives a blank line. The file is decoded once before any
    work, so an encoding error writes nothing; outputs are renamed into place only when
    complete. Finished segments are in the translator's cache, so a killed run resumes where
    it stopped.

    Args:
        output: output path; ``None`` streams to standard output.
        segments: optional JSONL path, one object per segment (:func:`segment_objects`).
        encoding: input encoding (``cp1256`` for Windows Arabic).
        html: ``strip`` (tags removed, entities decoded) or ``keep``.
        chunk_lines: lines per chunk; memory is bounded by the chunk, not the file.

    Raises:
        ConfigError: ``chunk_lines`` < 1.
    """
    if chunk_lines < 1:
        raise ConfigError(f"chunk_lines must be at least 1, got {chunk_lines}")
    chosen = file_encoding(path, encoding)
    if chosen != encoding:
        logger.warning("%s: valid UTF-8, read as UTF-8 rather than %s", path, encoding)
        encoding = chosen
    n_lines = check_text_file(path, encoding)
    logger.info("%s: %d lines", path, n_lines)
    total = RunStats()
    with _output(output) as out, \
            (_output(segments) if segments else contextlib.nullcontext()) as seg_out:
        first_line = 1
        lines = iter_lines(path, encoding)
        while chunk := list(islice(lines, chunk_lines)):
            result = translator.translate_documents(chunk, html=html)
            for offset, (text, records) in enumerate(zip(result.texts, result.records)):
                # A translation never contains a line break: one line in, one line out.
                out.write(text.replace("\n", " ") + "\n")
                if seg_out is not None:
                    seg_out.write(_jsonl(segment_objects(records, {"line": first_line + offset})))
            total.add(result.stats)
            first_line += len(chunk)
    return total


def translate_articles(translator: PipelineTranslator, path: str | os.PathLike,
                       output: str | os.PathLike | None, *,
                       segments: str | os.PathLike | None = None, encoding: str = "utf-8",
                       html: str = "strip", recursive: bool = False) -> RunStats:
    """Translate a directory of ``.txt`` articles or a JSONL file of ``{"id", "text"}`` records.

    A directory gives one English ``.txt`` per article in the directory ``output`` (same file
    names, paragraphs preserved; with ``recursive``, the same subfolders); JSONL gives the
    JSONL file ``output`` with ``id`` and ``translation`` (``None``: standard output).
    ``segments``, ``encoding`` (per file, see :func:`summ.data.file_encoding`) and ``html``
    are as in :func:`translate_file`; ``recursive`` reads a folder's subfolders too.

    Raises:
        ConfigError: a directory input without an output directory.
    """
    path = Path(path)
    if path.is_dir() and output is None:  # before any work, not after translating everything
        raise ConfigError(f"{path} is a directory of articles: give --output DIR for the "
                          "translations")
    # Decodes everything first: errors before any output.
    docs = read_articles(path, encoding, recursive=recursive)
    result = translator.translate_documents([d.text for d in docs], html=html)
    if path.is_dir():
        for doc, text in zip(docs, result.texts):
            with _output(Path(output) / f"{doc.id}.txt") as out:
                out.write(text + "\n")
    else:
        with _output(output) as out:
            for doc, text in zip(docs, result.texts):
                out.write(json.dumps({"id": doc.id, "translation": text},
                                     ensure_ascii=False) + "\n")
    if segments:
        with _output(segments) as seg_out:
            for doc, records in zip(docs, result.records):
                seg_out.write(_jsonl(segment_objects(records, {"document": doc.id})))
    return result.stats


# --------------------------------------------------------------------------------------------
# Checking a job before any model loads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileJob:
    """One input of ``summ translate`` and where its results go.

    Attributes:
        input: a text file (one segment per line), a folder of ``.txt`` articles or a JSONL file.
        output: the output file (text or JSONL input), folder (folder input), or ``None``
            (standard output).
        segments: the segment records file, or ``None``.
    """

    input: Path
    output: Path | None
    segments: Path | None

    @property
    def kind(self) -> str:
        """``folder``, ``jsonl`` or ``lines``: how the input is read."""
        if self.input.is_dir():
            return "folder"
        return "jsonl" if self.input.suffix == ".jsonl" else "lines"


def plan_jobs(inputs: Sequence[str | os.PathLike], output: str | os.PathLike | None,
              segments: str | os.PathLike | None) -> list[FileJob]:
    """Where each input's translation and segment records go (``summ translate``'s rule).

    One input writes to ``output`` and ``segments`` as given. Several inputs need an output
    folder: a file ``NAME.EXT`` gives ``OUTPUT/NAME.en.EXT``, a folder ``OUTPUT/NAME/``; their
    segment records go to ``SEGMENTS_STEM.NAME.SUFFIX`` beside ``segments``.

    Raises:
        ConfigError: several inputs with an output that is a file.
    """
    paths = [Path(p) for p in inputs]
    out = Path(output) if output is not None else None
    seg = Path(segments) if segments is not None else None
    if len(paths) == 1:
        return [FileJob(paths[0], out, seg)]
    if out is not None and not (out.is_dir() or not out.suffix):
        raise ConfigError(f"several inputs: --output must be a directory, not {out}")
    jobs = []
    for p in paths:
        o = None if out is None else out / (p.name if p.is_dir() else f"{p.stem}.en{p.suffix}")
        s = None if seg is None else seg.with_name(f"{seg.stem}.{p.stem}{seg.suffix}")
        jobs.append(FileJob(p, o, s))
    return jobs


def _identity(path: Path) -> tuple:
    """What names one file: its device and inode if it exists, else its resolved path."""
    try:
        st = path.stat()
    except OSError:
        return ("path", path.resolve())
    return ("inode", st.st_dev, st.st_ino)


def cache_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the SQLite cache, or ``None`` (nothing is created)."""
    if path.is_dir():
        return f"--cache {path} is a folder; give a file path such as {path / 'cache.sqlite'}"
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00":
            return (f"--cache {path} is not an SQLite file; give another --cache path "
                    "(the cache is never written over another file)")
    return writable_problem(path, "--cache")


def job_problems(jobs: Sequence[FileJob], *, cache: Path | None = None, encoding: str = "utf-8",
                 recursive: bool = False, folder_outputs: bool = True,
                 protected: Sequence[Path] = ()) -> list[str]:
    """Every problem with the files of a ``summ translate`` job, one line each, before any model
    loads: missing or undecodable inputs (all of them), outputs that would overwrite an input
    or the cache, an output and segment records in one file, two inputs written to one output,
    an output of the wrong kind (a folder for a file, a file for a folder) or in a place that
    cannot be written. An output folder that already holds other ``.txt`` files gets a warning.
    Each problem names the file or flag and the fix; the list is empty if all is well.

    Args:
        jobs: from :func:`plan_jobs`.
        cache: the cache file, or ``None`` (no cache).
        recursive: folders are read with their subfolders.
        folder_outputs: a folder input writes a folder (``summ translate``); ``False``: every
            output is one file (``summ summarise`` writes one JSONL for a folder).
        protected: other files the job reads, which no output may replace (references).
    """
    problems: list[str] = []
    inputs = [j.input for j in jobs]
    articles: dict[Path, list[Path]] = {}  # input folder -> its articles (relative paths)
    for job in jobs:
        if not job.input.exists():
            problems.append(f"{job.input}: no such file or directory")
            continue
        if job.kind == "folder":
            found, _ = article_files(job.input, recursive=recursive)
            articles[job.input] = [a.relative_to(job.input) for a in found]
        try:
            if job.kind == "lines":
                check_text_file(job.input, encoding)
            else:
                check_articles(job.input, encoding, recursive=recursive)
        except SummError as exc:
            problems.append(str(exc))
    # Files that must never be written: the inputs, and every article of an input folder,
    # each under its inode and its resolved path (links, "..", another spelling), so that a
    # folder of thousands of articles is checked in one pass.
    sources: dict[tuple, Path] = {}
    for src in [i for i in inputs if i.is_file()] + [p for p in protected if p.is_file()] + \
            [folder / a for folder, rel in articles.items() for a in rel]:
        sources.setdefault(_identity(src), src)
        sources.setdefault(("path", src.resolve()), src)

    def source_at(path: Path) -> Path | None:
        return sources.get(_identity(path)) or sources.get(("path", path.resolve()))

    written: dict[Path, tuple[str, Path]] = {}  # resolved output -> (flag, input)

    def output_problem(path: Path, flag: str, job: FileJob, folder: bool) -> str | None:
        for i in inputs:
            # A .txt or a folder inside an input folder would be read as articles next time.
            if (i.is_dir() and path.resolve().is_relative_to(i.resolve())
                    and (folder or path.suffix == ".txt")):
                return (f"{flag} {path} is inside the input folder {i}: it would be read as "
                        "articles next time, or overwrite them; choose a place outside it")
        planned = [path / a for a in articles.get(job.input, [])] if folder else [path]
        for out in planned:
            src = source_at(out)
            if src is not None:
                return f"{flag} {path} would overwrite the input {src}; choose another output"
            if cache is not None and same_path(out, cache):
                return f"{flag} {path} is also the --cache; give them different paths"
        key = path.resolve()
        if key in written:
            other_flag, other = written[key]
            if other == job.input:
                return (f"{flag} {path} is also the {other_flag}: translations and segment "
                        "records would be mixed in one file; give each its own path")
            return (f"{flag} {path}: the results of {other} and {job.input} would both go "
                    "there, one over the other; translate them separately or rename one")
        written[key] = (flag, job.input)
        problem = writable_problem(path, flag, folder=folder)
        if problem is None and folder and path.is_dir():
            stale = sorted({p for p in path.rglob("*.txt")} - {p for p in planned})
            if stale:
                logger.warning("%s %s already holds %d .txt file(s) this run does not write "
                               "(%s): they are not translations of %s", flag, path, len(stale),
                               ", ".join(str(p.relative_to(path)) for p in stale[:5]), job.input)
        return problem

    for job in jobs:
        if not job.input.exists():
            continue
        folder = folder_outputs and job.kind == "folder"
        for path, flag, is_folder in ((job.output, "--output", folder),
                                   (job.segments, "--segments", False)):
            if path is not None:
                problem = output_problem(path, flag, job, is_folder)
                if problem:
                    problems.append(problem)
    if cache is not None:
        src = source_at(cache)
        problem = (f"--cache {cache} is the input {src}; give the cache its own path"
                   if src is not None else cache_problem(cache))
        if problem:
            problems.append(problem)
    return problems
