"""Translating files: line-aligned text, folders of articles, JSONL. Streaming and atomic.

:mod:`summ.translate` turns lists of strings into translations; this module reads them from
files and writes the results, so that ``summ translate`` (and anyone's script) gets the file
guarantees in one place: one output line per input line, every output written through a
temp file and renamed when complete, one lock per output, segment records (``--segments``)
with one entry per piece the model saw.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from summ.data import atomic_write, check_text_file, iter_lines, output_lock, read_articles
from summ.errors import ConfigError
from summ.translate import PipelineTranslator, RunStats, SegmentRecord

logger = logging.getLogger(__name__)

# Lines translated per chunk of a line file: bounds memory (peak RSS does not grow with the
# corpus) while giving length sorting and batching enough material to work with.
CHUNK_LINES = 2000


def segment_objects(records: Sequence[SegmentRecord], where: dict) -> list[dict]:
    """One JSON-ready object per segment of one line or document (``where`` says which):
    the record of :meth:`SegmentRecord.as_dict` with its index. The one writer of segment
    records, used by ``summ translate --segments`` and by experiments."""
    return [{**where, "segment": i, **r.as_dict()} for i, r in enumerate(records)]


def _jsonl(objects: list[dict]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


@contextlib.contextmanager
def _output(path: str | os.PathLike | None, stream=None) -> Iterator:
    """An atomic, locked output file, or standard output (``None``)."""
    if path is None:
        import sys

        out = stream or sys.stdout
        yield out
        out.flush()
        return
    with output_lock(path), atomic_write(path) as fh:
        yield fh


def translate_file(
    translator: PipelineTranslator,
    path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    segments: str | os.PathLike | None = None,
    encoding: str = "utf-8",
    html: str = "strip",
    chunk_lines: int = CHUNK_LINES,
) -> RunStats:
    """Translate a text file line by line: exactly one output line per input line.

    A blank or whitespace-only line gives a blank line. The file is decoded once before any
    work, so an encoding error writes nothing; outputs are renamed into place only when
    complete. Finished segments are in the translator's cache, so a killed run resumes where
    it stopped.

    Args:
        translator: the loaded translator.
        path: input text file.
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
    n_lines = check_text_file(path, encoding)
    logger.info("%s: %d lines", path, n_lines)
    total = RunStats()
    with _output(output) as out, \
            (_output(segments) if segments else contextlib.nullcontext()) as seg_out:
        chunk: list[str] = []
        first_line = 1

        def flush() -> None:
            nonlocal first_line
            result = translator.translate_documents(chunk, html=html)
            for offset, (text, records) in enumerate(zip(result.texts, result.records)):
                # A translation never contains a line break: one line in, one line out.
                out.write(text.replace("\n", " ") + "\n")
                if seg_out is not None:
                    seg_out.write(_jsonl(segment_objects(records, {"line": first_line + offset})))
            total.add(result.stats)
            first_line += len(chunk)
            chunk.clear()

        for line in iter_lines(path, encoding):
            chunk.append(line)
            if len(chunk) >= chunk_lines:
                flush()
        if chunk:
            flush()
    return total


def translate_articles(
    translator: PipelineTranslator,
    path: str | os.PathLike,
    output: str | os.PathLike | None,
    *,
    segments: str | os.PathLike | None = None,
    encoding: str = "utf-8",
    html: str = "strip",
) -> RunStats:
    """Translate a directory of ``.txt`` articles or a JSONL file of ``{"id", "text"}`` records.

    A directory gives one English ``.txt`` per article in the directory ``output`` (same file
    names, paragraphs preserved); JSONL gives the JSONL file ``output`` with ``id`` and
    ``translation`` (``None``: standard output).

    Raises:
        ConfigError: a directory input without an output directory.
    """
    path = Path(path)
    if path.is_dir() and output is None:  # before any work, not after translating everything
        raise ConfigError(f"{path} is a directory of articles: give --output DIR for the translations")
    docs = read_articles(path, encoding)  # decodes everything first: errors before any output
    result = translator.translate_documents([d.text for d in docs], html=html)
    if path.is_dir():
        for doc, text in zip(docs, result.texts):
            with _output(Path(output) / f"{doc.id}.txt") as out:
                out.write(text + "\n")
    else:
        with _output(output) as out:
            for doc, text in zip(docs, result.texts):
                out.write(json.dumps({"id": doc.id, "translation": text}, ensure_ascii=False) + "\n")
    if segments:
        with _output(segments) as seg_out:
            for doc, records in zip(docs, result.records):
                seg_out.write(_jsonl(segment_objects(records, {"document": doc.id})))
    return result.stats
