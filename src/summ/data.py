"""Loaders for the formats researchers have, with errors that name the file, line and fix.

Nothing here skips, reorders or merges lines: a loader returns exactly what the file holds,
in order, or raises :class:`~summ.errors.InputError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from summ.errors import InputError

# Encodings Arabic text commonly arrives in when it is not UTF-8; named in error messages.
_ARABIC_LEGACY_ENCODING = "cp1256"


@dataclass(frozen=True)
class Document:
    """One article: an id (file stem, JSONL ``id`` or NTREX document id) and its text."""

    id: str
    text: str
    meta: dict = field(default_factory=dict, compare=False)


def _decode_error(path: Path, lineno: int, encoding: str, exc: UnicodeDecodeError) -> InputError:
    return InputError(
        f"{path}:{lineno}: not valid {encoding} ({exc.reason} at byte {exc.start} of the line); "
        f"if the file is Windows Arabic, rerun with --encoding {_ARABIC_LEGACY_ENCODING}"
    )


def iter_lines(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[str]:
    """Yield the lines of a text file without their line endings, streaming.

    ``\\r\\n`` and ``\\r`` endings count as one line break; a UTF-8 BOM is dropped. A decoding
    error raises :class:`InputError` naming the 1-based line number and the ``--encoding`` fix.
    Callers that must not write partial output validate with :func:`check_text_file` first.
    """
    path = Path(path)
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    with path.open("rb") as fh:
        first = True
        for lineno, raw in enumerate(fh, start=1):
            try:
                # Only the first line may carry a BOM.
                line = raw.decode(enc if first else encoding)
            except UnicodeDecodeError as exc:
                raise _decode_error(path, lineno, encoding, exc) from None
            first = False
            # Binary iteration splits on \n only; a lone \r (old Mac) would hide line breaks.
            parts = line.rstrip("\n").removesuffix("\r").split("\r")
            yield from parts


def check_text_file(path: str | os.PathLike, encoding: str = "utf-8") -> int:
    """Decode the whole file once and return its number of lines; raise on the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return sum(1 for _ in iter_lines(path, encoding))


def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """All lines of a text file (see :func:`iter_lines`), blank lines kept in place."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return list(iter_lines(path, encoding))


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """A whole article file as one string with ``\\n`` line breaks."""
    return "\n".join(read_lines(path, encoding))


def read_jsonl(
    path: str | os.PathLike, encoding: str = "utf-8", required: tuple[str, ...] = ("id", "text")
) -> list[dict]:
    """Records of a JSON Lines file; every record must be an object with ``required`` keys.

    Blank lines are an error (they would silently shift record numbers against line numbers).
    """
    path = Path(path)
    records = []
    for lineno, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            raise InputError(f"{path}:{lineno}: blank line in JSONL; remove it (one record per line)")
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        missing = [k for k in required if k not in rec]
        if missing:
            raise InputError(f"{path}:{lineno}: missing key(s) {', '.join(missing)}; each record needs {', '.join(required)}")
        records.append(rec)
    ids = [str(r["id"]) for r in records] if "id" in required else []
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise InputError(f"{path}: duplicate id(s) {', '.join(dupes[:5])}; ids must be unique")
    return records


def read_articles(path: str | os.PathLike, encoding: str = "utf-8") -> list[Document]:
    """Articles from a directory of ``.txt`` files (sorted by name) or a JSONL file with id/text."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
        if not files:
            raise InputError(f"{path}: directory has no .txt articles")
        return [Document(id=p.stem, text=read_text(p, encoding), meta={"path": str(p)}) for p in files]
    if path.suffix == ".jsonl":
        return [
            Document(id=str(r["id"]), text=str(r["text"]), meta={k: v for k, v in r.items() if k not in ("id", "text")})
            for r in read_jsonl(path, encoding)
        ]
    if path.is_file():
        return [Document(id=path.stem, text=read_text(path, encoding), meta={"path": str(path)})]
    raise InputError(f"{path}: no such file or directory")
