"""Loaders for the formats researchers have, with errors that name the file, line and fix.

Nothing here skips, reorders or merges lines: a loader returns exactly what the file holds,
in order, or raises :class:`~summ.errors.InputError`. Formats: text with one segment per
line or one article per file, JSON Lines (``id``/``text``, or CrossSum-style with
``summary``), line-aligned parallel files with document ids, NTREX-128 at a pinned commit
and CrossSum from the Hugging Face hub. Datasets live under :func:`data_dir`; nothing is
created until something is downloaded.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice, zip_longest
from pathlib import Path

import platformdirs

from summ.errors import ConfigError, InputError, SummError, require

log = logging.getLogger(__name__)

# Encodings Arabic text commonly arrives in when it is not UTF-8; named in error messages.
_ARABIC_LEGACY_ENCODING = "cp1256"


@dataclass(frozen=True)
class Document:
    """One article: an id (file stem, JSONL ``id`` or NTREX document id) and its text."""

    id: str
    text: str
    meta: dict = field(default_factory=dict, compare=False)


# --------------------------------------------------------------------------------------------
# Plain text and JSONL readers
# --------------------------------------------------------------------------------------------


def _codec_name(path: Path, encoding: str) -> str:
    """The canonical codec name, or an error if the codec cannot be read line by line."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(f"{path}: unknown encoding {encoding!r} (try utf-8 or "
                          f"{_ARABIC_LEGACY_ENCODING})") from None
    # Lines are split on the byte 0x0A before decoding; in UTF-16/32 that byte occurs inside
    # characters, so such files would be cut in the wrong places. Refuse instead of garbling.
    # utf-8-sig writes a BOM before the first character; it is still ASCII-compatible (iter_lines
    # drops a leading BOM with it), so compare without it.
    if "\n".encode(name).removeprefix(codecs.BOM_UTF8) != b"\n":
        raise ConfigError(f"{path}: encoding {encoding} is not supported for line files; "
                          f"convert to UTF-8 first (iconv -f {encoding} -t utf-8)")
    return name


#: What an undecodable line's error tells the user to do, for commands with an --encoding flag.
#: Callers that take the encoding elsewhere (an experiment config's dataset table) pass their own.
ENCODING_FIX = f"rerun with --encoding {_ARABIC_LEGACY_ENCODING}"


def iter_lines(path: str | os.PathLike, encoding: str = "utf-8", *, keep_bom: bool = False,
               fix: str = ENCODING_FIX) -> Iterator[str]:
    """Yield the lines of a text file without their line endings, streaming.

    A line ends at ``\\n`` (``\\r\\n`` is one line end) and nothing else: a lone ``\\r``,
    U+2028 and form feeds stay inside the line as text (unlike :meth:`str.splitlines`). This
    is how sacrebleu reads files, so line counts agree with ``wc -l`` and ``sacrebleu``; a
    file with lone ``\\r`` gets one warning saying how many lines hold one. Blank lines are
    kept. Callers that must not write partial output validate with :func:`check_text_file`.

    Args:
        path: the text file.
        encoding: any ASCII-compatible codec (utf-8, cp1256, latin-1, ...).
        keep_bom: keep a leading UTF-8 BOM as the first character of line 1, as sacrebleu does
            with ``utf-8`` (a BOM later on is always content; ``utf-8-sig`` drops it).
        fix: the advice ending an undecodable line's message (default :data:`ENCODING_FIX`).

    Raises:
        InputError: on the first undecodable line, naming its 1-based number and ``fix``.
        ConfigError: for an unknown encoding or one that is not ASCII-compatible (UTF-16).
    """
    path = Path(path)
    with_cr = 0
    for line in _decoded_lines(path, encoding, keep_bom, fix):
        with_cr += "\r" in line
        yield line
    if with_cr:
        log.warning("%s: %d line(s) hold a lone carriage return (\\r), kept as text inside the "
                    "line: lines end at \\n only, as in sacrebleu; convert old Mac line ends "
                    "first (tr '\\r' '\\n')", path, with_cr)


def _decoded_lines(path: Path, encoding: str, keep_bom: bool,
                   fix: str = ENCODING_FIX) -> Iterator[str]:
    """The lines of ``path`` as :func:`iter_lines` yields them, without its warning."""
    codec = _codec_name(path, encoding)
    utf8 = codec in {"utf-8", "utf-8-sig"}
    drop_bom = codec == "utf-8-sig" or (utf8 and not keep_bom)
    first_enc = "utf-8-sig" if drop_bom else ("utf-8" if utf8 else codec)
    rest_enc = "utf-8" if utf8 else codec
    with path.open("rb") as fh:
        # Binary iteration splits on b"\n" only, which is the line rule itself.
        for i, raw in enumerate(fh):
            try:
                # Only the first line may carry a BOM; a BOM later on is content, kept as is.
                line = raw.decode(first_enc if i == 0 else rest_enc)
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}:{i + 1}: not valid {encoding} ({exc.reason} at byte "
                                 f"{exc.start} of the line); if the file is Windows Arabic, "
                                 f"{fix}") from None
            # "\r\n" is one line end; a "\r" not followed by "\n" (even at the end) is text.
            yield line[:-2] if line.endswith("\r\n") else line.removesuffix("\n")


def check_text_file(path: str | os.PathLike, encoding: str = "utf-8", *,
                    fix: str = ENCODING_FIX) -> int:
    """Decode the whole file once and return its number of lines; raise on the first bad line.

    ``fix`` is the advice for an undecodable line (see :func:`iter_lines`).

    Raises:
        InputError: the file is missing or a line does not decode.
        ConfigError: the encoding is unknown or not ASCII-compatible.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    # Without iter_lines' warning: the caller reads the file again with iter_lines, which warns.
    return sum(1 for _ in _decoded_lines(path, encoding, keep_bom=False, fix=fix))


def read_lines(path: str | os.PathLike, encoding: str = "utf-8", *,
               keep_bom: bool = False) -> list[str]:
    """All lines of a text file (see :func:`iter_lines`), blank lines kept in place.

    An empty file gives ``[]``; a final line without a newline is still a line. ``keep_bom``
    keeps a leading UTF-8 BOM in line 1 (see :func:`iter_lines`).

    Raises:
        InputError: the file is missing or a line does not decode.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return list(iter_lines(path, encoding, keep_bom=keep_bom))


def read_scored_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Lines of a hypothesis or reference file, read as sacrebleu's command line reads them.

    ``sacrebleu REF -i HYP`` scores ``line.rstrip()`` of lines that end at ``\\n`` only (as in
    :func:`iter_lines`), and with ``utf-8`` a leading BOM stays in line 1 as text
    (``utf-8-sig`` drops it). The same here, so ``summ evaluate`` and ``sacrebleu`` score the
    same strings; a BOM gets a warning, since it usually spoils the first segment's score.

    Raises:
        InputError: the file is missing or a line does not decode.
    """
    lines = read_lines(path, encoding, keep_bom=True)
    if lines and lines[0].startswith("\ufeff"):
        log.warning("%s starts with a byte order mark (U+FEFF), scored as text of line 1 as "
                    "sacrebleu does; use --encoding utf-8-sig to drop it", path)
    return [line.rstrip() for line in lines]


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """A whole article file as one string with ``\\n`` line breaks."""
    return "\n".join(read_lines(path, encoding))


def read_jsonl(path: str | os.PathLike, encoding: str = "utf-8",
               required: tuple[str, ...] = ("id", "text")) -> list[dict]:
    """Records of a JSON Lines file; every record must be an object with ``required`` keys.

    Blank lines are an error (they would silently shift record numbers against line numbers),
    and so are duplicate ids when ``id`` is required.

    Raises:
        InputError: naming the file and 1-based line of the first bad record.
    """
    path = Path(path)
    records = []
    for lineno, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            raise InputError(f"{path}:{lineno}: blank line in JSONL; remove it "
                             "(one record per line)")
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column "
                             f"{exc.colno})") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        missing = [k for k in required if k not in rec]
        if missing:
            raise InputError(f"{path}:{lineno}: missing key(s) {', '.join(missing)}; each record "
                             f"needs {', '.join(required)}")
        records.append(rec)
    if "id" in required:
        # Counter, not list.count: CrossSum train files have tens of thousands of records.
        counts = Counter(str(r["id"]) for r in records)
        dupes = sorted(i for i, n in counts.items() if n > 1)
        if dupes:
            raise InputError(f"{path}: duplicate id(s) {', '.join(dupes[:5])}; ids must be unique")
    return records


_JSON_TYPES = {type(None): "null", bool: "true/false", int: "a number", float: "a number",
               list: "a list", dict: "an object"}


def _record_document(path: Path, lineno: int, rec: dict) -> Document:
    """The Document for one JSONL record with ``id`` and ``text``; other keys go to ``meta``.

    ``text`` must be a JSON string and ``id`` a string or integer (integers become strings):
    ``str()`` would silently turn ``null`` into the article "None" and a list into "['a', 'b']".
    ``lineno`` is the record's 1-based line (read_jsonl rejects blank lines).
    """
    rid, text = rec["id"], rec["text"]
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        got = _JSON_TYPES.get(type(rid), type(rid).__name__)
        raise InputError(f'{path}:{lineno}: \'id\' must be a string or integer, got {got}; give '
                         f'each record a unique "id"')
    if not isinstance(text, str):
        got = _JSON_TYPES.get(type(text), type(text).__name__)
        raise InputError(f'{path}:{lineno}: \'text\' must be a string, got {got}; write the '
                         f'article as one JSON string ("" if empty)')
    meta = {k: v for k, v in rec.items() if k not in ("id", "text")}
    return Document(id=str(rid), text=text, meta=meta)


def file_encoding(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The encoding to read ``path`` with: ``encoding``, or ``utf-8`` for a file that is valid
    UTF-8 with non-ASCII text when ``encoding`` is another (legacy) codec such as cp1256.

    The advice for an undecodable file is ``--encoding cp1256``; in a folder where only some
    files are Windows Arabic, applying it to every file would turn the UTF-8 ones into
    mojibake without any error (every byte is valid cp1256). A file that decodes as UTF-8
    and is not plain ASCII is UTF-8: real cp1256 Arabic is never valid UTF-8, since its letters
    are bytes >= 0xC1 that follow each other where UTF-8 wants continuation bytes. Callers
    say which files were read as UTF-8 (see :func:`read_articles`).

    Raises:
        ConfigError: an unknown encoding, or one that cannot be read line by line (UTF-16).
    """
    path = Path(path)
    if _codec_name(path, encoding) in {"utf-8", "utf-8-sig"}:
        return encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    ascii_only = True
    try:
        with path.open("rb") as fh:
            # In blocks: line files can be larger than memory should hold.
            for block in iter(lambda: fh.read(1 << 20), b""):
                ascii_only = ascii_only and block.isascii()
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return encoding
    return encoding if ascii_only else "utf-8"


def head_lines(path: str | os.PathLike, encoding: str = "utf-8", n: int = 200) -> list[str]:
    """The first ``n`` lines of a text file, undecodable bytes replaced, without warnings.

    For a quick look at what a file holds (its script, say) before the real reading, which
    reports bad bytes and stray carriage returns.

    Raises:
        InputError: the file cannot be opened.
    """
    try:
        with Path(path).open("rb") as fh:
            return [raw.decode(encoding, errors="replace").rstrip("\r\n")
                    for raw in islice(fh, n)]
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def article_files(folder: str | os.PathLike, *,
                  recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """The ``.txt`` articles of a folder and the files left out, both sorted by their path.

    Symbolic links to folders are not followed (they could loop); they are listed as left out.
    With ``recursive`` the articles of subfolders are included, else their files are left out.
    ``left_out`` holds every other file: other suffixes, subfolders' files, linked folders.
    """
    folder = Path(folder)
    articles: list[Path] = []
    left_out: list[Path] = []
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        left_out += [here / d for d in dirs if (here / d).is_symlink()]
        for name in names:
            p = here / name
            if p.suffix == ".txt" and p.is_file() and (recursive or here == folder):
                articles.append(p)
            else:
                left_out.append(p)

    def key(p: Path) -> tuple[str, ...]:
        return p.relative_to(folder).parts

    return sorted(articles, key=key), sorted(left_out, key=key)


def _listing(paths: Sequence[object], limit: int = 5) -> str:
    """``a, b, c`` (and ``N more``) for messages."""
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _article_text(path: Path, encoding: str, warn: bool, fix: str) -> str:
    # The checks before a run read without warnings; the real reading says them once.
    lines = (iter_lines(path, encoding, fix=fix) if warn
             else _decoded_lines(path, encoding, False, fix))
    return "\n".join(lines)


def _folder_articles(folder: Path, encoding: str, recursive: bool, warn: bool,
                     fix: str) -> list[Document]:
    files, left_out = article_files(folder, recursive=recursive)
    nested = [p for p in left_out if p.suffix == ".txt" and p.parent != folder]
    if not files:
        hint = (f"; {len(nested)} .txt file(s) are in subfolders ({_listing(nested)})"
                if nested else "")
        raise InputError(f"{folder}: directory has no .txt articles{hint}")
    if warn and nested:
        # Subfolders are never skipped without a word: say how many articles were left out.
        log.warning("%s: %d .txt file(s) in subfolders left out (%s); only the folder's own "
                    "articles are read", folder, len(nested), _listing(nested))
    nested_set = set(nested)
    other = [p for p in left_out if p not in nested_set]
    if warn and other:
        log.info("%s: %d file(s) not ending in .txt left out: %s", folder, len(other),
                 _listing([p.relative_to(folder) for p in other]))
    docs, bad, as_utf8 = [], [], []
    for p in files:
        chosen = file_encoding(p, encoding)
        if chosen != encoding:
            as_utf8.append(p.relative_to(folder))
        try:
            text = _article_text(p, chosen, warn, fix)
        except InputError as exc:
            bad.append((p, exc))
            continue
        article_id = p.relative_to(folder).with_suffix("").as_posix()
        docs.append(Document(id=article_id, text=text, meta={"path": str(p)}))
    if bad:
        first = str(bad[0][1])
        if len(bad) > 1:
            first += (f"; {len(bad)} of {len(files)} files are not valid {encoding}: "
                      f"{_listing([p for p, _ in bad])}")
        raise InputError(first)
    if warn and as_utf8:
        log.warning("%s: %d of %d files are valid UTF-8 and were read as UTF-8, not %s: %s",
                    folder, len(as_utf8), len(files), encoding, _listing(as_utf8))
    return docs


def _articles(path: Path, encoding: str, recursive: bool, warn: bool, fix: str) -> list[Document]:
    if path.is_dir():
        return _folder_articles(path, encoding, recursive, warn, fix)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    chosen = file_encoding(path, encoding)
    if warn and chosen != encoding:
        log.warning("%s: valid UTF-8, read as UTF-8 rather than %s", path, encoding)
    if path.suffix == ".jsonl":
        return [_record_document(path, lineno, rec)
                for lineno, rec in enumerate(read_jsonl(path, chosen), start=1)]
    if path.is_file():
        return [Document(id=path.stem, text=_article_text(path, chosen, warn, fix),
                         meta={"path": str(path)})]
    raise InputError(f"{path}: not a file or directory")


def read_articles(path: str | os.PathLike, encoding: str = "utf-8", *, recursive: bool = False,
                  fix: str = ENCODING_FIX) -> list[Document]:
    """Articles from a directory of ``.txt`` files (sorted by path), a JSONL file with
    id/text, or one ``.txt`` file.

    Every file of a folder is decoded before any is returned, and one error names all those
    that fail. Each file gets its encoding from :func:`file_encoding` (a UTF-8 file stays UTF-8
    when ``encoding`` is cp1256), and a warning lists the files read as UTF-8. Files in
    subfolders are read with ``recursive`` (ids ``sub/name``); without it they are left out
    with a warning that counts them. Other files (``README.md``) are left out with an info line.
    ``fix`` is the advice for an undecodable file (see :func:`iter_lines`).

    Raises:
        InputError: the path is missing, the directory has no ``.txt`` file, or files are bad
            (all of them named).
        ConfigError: an unknown encoding.
    """
    return _articles(Path(path), encoding, recursive, True, fix)


def check_articles(path: str | os.PathLike, encoding: str = "utf-8", *, recursive: bool = False,
                   fix: str = ENCODING_FIX) -> int:
    """Everything :func:`read_articles` checks, without its warnings (the real reading says
    them); returns the number of articles. For checking inputs before a model loads.

    Raises:
        InputError: as :func:`read_articles`.
        ConfigError: an unknown encoding.
    """
    return len(_articles(Path(path), encoding, recursive, False, fix))


# --------------------------------------------------------------------------------------------
# Where datasets live, and file hashes
# --------------------------------------------------------------------------------------------


def user_cache_dir(name: str, env: str | None = None) -> Path:
    """One of summ's folders in the user cache; nothing is created here.

    ``$env`` if set (``~`` expanded); else ``NAME`` in summ's user cache folder as
    :mod:`platformdirs` finds it: ``$XDG_CACHE_HOME/summ`` when that is an absolute path (a
    relative one is invalid per the XDG spec and ignored), else ``~/.cache/summ`` on Linux,
    ``~/Library/Caches/summ`` on macOS, ``%LOCALAPPDATA%\\summ\\Cache`` on Windows. The one rule
    for data, tiny models, CTranslate2 conversions and the translation cache. The path may
    not exist yet.
    """
    value = os.environ.get(env) if env else None
    if value:
        return Path(value).expanduser()
    # appauthor=False: no vendor level on Windows (platformdirs would repeat "summ" there).
    return platformdirs.user_cache_path("summ", appauthor=False) / name


def data_dir() -> Path:
    """The folder that holds downloaded datasets (``<data_dir>/ntrex128/...``).

    ``SUMM_DATA_DIR`` if set; otherwise ``data`` in the user cache folder (see
    :func:`user_cache_dir`: ``$XDG_CACHE_HOME/summ/data``, else ``~/.cache/summ/data`` on
    Linux). Nothing is created here: the folder appears on the first download.
    """
    return user_cache_dir("data", "SUMM_DATA_DIR")


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in pieces (memory stays flat for large files).

    Raises:
        InputError: the file is missing or unreadable.
    """
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------------------------
# Parallel corpora
# --------------------------------------------------------------------------------------------


def _ref_role(i: int) -> str:
    """Role name of the i-th (0-based) reference stream in ``ParallelCorpus.files``."""
    return f"ref{i + 1}"


@dataclass(frozen=True)
class ParallelCorpus:
    """Line-aligned source segments with one or more reference streams and document ids.

    Every stream (``src``, each of ``refs``) has one entry per source line, in file order;
    blank lines are kept as empty strings so alignment never shifts. ``files`` and ``hashes``
    record provenance for run manifests.

    Attributes:
        name: dataset name used in result folders and tables (``ntrex128``).
        doc_ids: document id of each line, or None for a sentence-level corpus. A document's
            lines must be consecutive.
        src_lang: source language code (ISO 639-1); ``tgt_lang``: the references' one.
        files: role (``src``, ``ref1``, ``ref2``..., ``doc_ids``) -> path it was read from.
        hashes: path -> sha256 of that file.
    """

    name: str
    src: list[str]
    refs: list[list[str]]
    doc_ids: list[str] | None = None
    src_lang: str = "ar"
    tgt_lang: str = "en"
    files: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.refs:
            raise InputError(f"{self.name}: a parallel corpus needs at least one reference stream")
        streams = {"src": self.src, **{_ref_role(i): r for i, r in enumerate(self.refs)}}
        if self.doc_ids is not None:
            streams["doc_ids"] = self.doc_ids
        counts = {role: len(s) for role, s in streams.items()}
        if len(set(counts.values())) > 1:
            listing = ", ".join(f"{role} {self.files.get(role, '(in memory)')}: {n} lines"
                                for role, n in counts.items())
            raise InputError(f"{self.name}: streams differ in length ({listing}); the files must "
                             f"be line-aligned")
        if self.doc_ids is not None:
            self.documents()  # checks that every line has an id and documents are consecutive

    def __len__(self) -> int:
        return len(self.src)

    def documents(self) -> list[tuple[str, list[int]]]:
        """Documents in order of first appearance, each with its 0-based line indices.

        Without document ids, each line is its own document, named by its 1-based line number.
        The indices cover every line exactly once.
        """
        if self.doc_ids is None:
            return [(str(i + 1), [i]) for i in range(len(self.src))]
        return group_documents(self.doc_ids, self.files.get("doc_ids", f"{self.name} doc_ids"))

    def select_documents(self, k: int) -> ParallelCorpus:
        """A smaller corpus with the first ``k`` documents (all of them if there are fewer).

        Used for quick runs in tests and notebooks; the name records the selection so results
        of a subset are never mistaken for the full set. ``files`` and ``hashes`` still name
        the full files it was cut from.

        Raises:
            ConfigError: ``k`` is below 1.
        """
        if k < 1:
            raise ConfigError(f"select_documents: k must be at least 1, got {k}")
        docs = self.documents()
        if k >= len(docs):
            return self
        end = docs[k - 1][1][-1] + 1  # documents are consecutive, so a prefix of lines
        return dataclasses.replace(
            self,
            name=f"{self.name}[:{k} docs]",
            src=self.src[:end],
            refs=[r[:end] for r in self.refs],
            doc_ids=None if self.doc_ids is None else self.doc_ids[:end],
        )


def group_documents(doc_ids: Sequence[str], where: str, *,
                    consecutive: bool = True) -> list[tuple[str, list[int]]]:
    """Line indices per document, documents in order of first appearance.

    The one rule for document ids, wherever they come from: every line has an id, and a
    document's lines are consecutive (a document that resumes after another usually means a
    mis-sorted id file, and would be split when documents are rebuilt).

    ``where`` is the file (or description) named in errors. With ``consecutive=False``
    (scoring, where a document's lines may be collected wherever they are), a resumed
    document is a logged warning instead of an error.

    Raises:
        InputError: an empty id, or (``consecutive``) a document that resumes after others.
    """
    docs: dict[str, list[int]] = {}
    resumed: list[str] = []
    prev = None
    for i, doc in enumerate(doc_ids):
        if not doc.strip():
            raise InputError(f"{where}:{i + 1}: empty document id; every line needs one")
        if doc != prev and doc in docs:
            if consecutive:
                raise InputError(f"{where}:{i + 1}: document {doc!r} resumes after other "
                                 "documents; a document's lines must be consecutive")
            resumed.append(doc)
        docs.setdefault(doc, []).append(i)
        prev = doc
    if resumed:
        log.warning("%s: documents whose lines are not consecutive (collected as one each): %s",
                    where, ", ".join(sorted(set(resumed))[:5]))
    return list(docs.items())


def read_doc_ids(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Document ids, one per line; a TSV file's first column is the id."""
    return [line.split("\t", 1)[0].strip() for line in read_lines(path, encoding)]


def load_parallel(src_path: str | os.PathLike, ref_paths: Sequence[str | os.PathLike],
                  doc_ids_path: str | os.PathLike | None = None, name: str | None = None,
                  src_lang: str = "ar", tgt_lang: str = "en",
                  encoding: str = "utf-8") -> ParallelCorpus:
    """Read line-aligned source and reference files (and optional per-line document ids).

    Blank lines are kept, so the files stay aligned. All files are read and counted before any
    length check, so one error lists every file with its line count. ``doc_ids_path`` holds
    one document id per line (TSV: the first column); ``name`` defaults to the source file's
    stem. The corpus records the files and their sha256.

    Raises:
        InputError: a file is missing or undecodable, no reference was given, or the
            files differ in line count (the message lists each file and its count).
    """
    src_path = Path(src_path)
    ref_paths = [Path(p) for p in ref_paths]
    if not ref_paths:
        raise InputError(f"{src_path}: no reference file given; a parallel corpus needs at "
                         "least one")
    files = {"src": str(src_path), **{_ref_role(i): str(p) for i, p in enumerate(ref_paths)}}
    if doc_ids_path is not None:
        files["doc_ids"] = str(doc_ids_path)
    return ParallelCorpus(
        name=name or src_path.stem,
        src=read_lines(src_path, encoding),
        refs=[read_lines(p, encoding) for p in ref_paths],
        doc_ids=None if doc_ids_path is None else read_doc_ids(doc_ids_path, encoding),
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        files=files,
        hashes={p: sha256_file(p) for p in files.values()},
    )


# --------------------------------------------------------------------------------------------
# NTREX-128: pinned upstream files, fetch and load
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """One file of a public dataset: its local name, upstream path and expected sha256."""

    name: str
    path: str
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A public dataset pinned to one upstream commit, with a hash for every file."""

    name: str  # folder under data_dir(), and the name `summ data fetch` takes
    repository: str
    commit: str
    files: tuple[RemoteFile, ...]
    url_template: str  # formatted with commit= and path=
    license: str

    def url(self, file: RemoteFile) -> str:
        """The download URL of ``file`` at the pinned commit."""
        return self.url_template.format(commit=self.commit, path=file.path)

    def file(self, name: str) -> RemoteFile:
        """The file with local name ``name``.

        Raises:
            KeyError: no such file in this dataset.
        """
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


# Hashes computed from the upstream files at this commit (the copies in shared/data/ntrex128).
NTREX = RemoteDataset(
    name="ntrex128",
    repository="https://github.com/MicrosoftTranslator/NTREX",
    commit="8561f6a622db9edad1217683e5c83daefd8bb2bf",
    files=(
        RemoteFile("newstest2019-ref.arb.txt", "NTREX-128/newstest2019-ref.arb.txt",
                   "d271c8645933421f760eba8ed8cc1ceaaa052f917d9c2839b8abb27e0ded71e6"),
        RemoteFile("newstest2019-src.eng.txt", "NTREX-128/newstest2019-src.eng.txt",
                   "389e8f5796c66db4f646dfad33e1ec622d74767af5ef112b42a1f2cd814df3cc"),
        RemoteFile("DOCUMENT_IDS.tsv", "DOCUMENT_IDS.tsv",
                   "88a8b0ff1eae47e83f60dcde01075b8c87d75ced59ca09e0af1eb539958e05d5"),
    ),
    url_template="https://raw.githubusercontent.com/MicrosoftTranslator/NTREX/{commit}/{path}",
    license="CC BY-SA 4.0",
)

_FETCH_HINT = ("run `summ data fetch ntrex128` or set SUMM_DATA_DIR to a folder that holds "
               "ntrex128/")


def load_ntrex128(root: Path | None = None) -> ParallelCorpus:
    """NTREX-128 Arabic→English: 1,997 news sentences in 123 documents, hashes checked.

    The Arabic side (``newstest2019-ref.arb.txt``) is the source and the English originals
    (``newstest2019-src.eng.txt``) the reference. Note in reports that the Arabic is a
    professional *translation of English* news (WMT19 newstest), so Arabic→English runs in the
    reverse of the direction the data was made: scores compare systems with each other, not
    with test sets built Arabic-first. ``root`` holds ``ntrex128/`` (default :func:`data_dir`);
    the corpus has one document id per line (``DOCUMENT_IDS.tsv``).

    Raises:
        InputError: files are missing (run ``summ data fetch ntrex128``) or differ from the
            pinned upstream commit (delete and re-fetch).
    """
    folder = Path(root if root is not None else data_dir()) / NTREX.name
    missing = [f.name for f in NTREX.files if not (folder / f.name).is_file()]
    if missing:
        raise InputError(f"{folder}: NTREX-128 file(s) missing: {', '.join(missing)}; "
                         f"{_FETCH_HINT}")
    for f in NTREX.files:
        got = sha256_file(folder / f.name)
        if got != f.sha256:
            raise InputError(
                f"{folder / f.name}: sha256 {got[:12]}... does not match NTREX-128 at commit "
                f"{NTREX.commit[:12]} (expected {f.sha256[:12]}...); the file was altered or "
                "comes from another version: delete it and re-fetch with `summ data fetch "
                "ntrex128`"
            )
    return load_parallel(folder / "newstest2019-ref.arb.txt",
                         [folder / "newstest2019-src.eng.txt"],
                         doc_ids_path=folder / "DOCUMENT_IDS.tsv", name=NTREX.name,
                         src_lang="ar", tgt_lang="en")


def _new_file_mode(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would give: the existing file's, else
    0o666 less the umask (:func:`tempfile.mkstemp` creates its files 0o600, which would make
    every output private to its owner)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    try:  # Linux: read the umask without changing it (os.umask sets it, for every thread)
        with open("/proc/self/status", encoding="ascii") as fh:
            mask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def same_path(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links and ``..`` included), existing or not."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def writable_problem(path: Path, flag: str, *, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written as an output file (or ``folder``), or ``None``.

    Checked before any work: the kind of an existing path, and that its nearest existing
    parent is a folder this process may create files in. The problem is one line starting
    with ``flag`` (how the user named the path, ``--output``) and naming the fix.
    """
    if path.exists():
        if folder and not path.is_dir():
            return f"{flag} {path} is a file; this output is a folder: give a folder path"
        if not folder and path.is_dir():
            return (f"{flag} {path} is a folder; this output is one file: give a file path "
                    "(one inside that folder, for example)")
        where = path if folder else path.parent
    else:
        where = path.parent
        while not where.exists() and where != where.parent:
            where = where.parent
        if not where.is_dir():
            return f"{flag} {path}: {where} is a file, not a folder; choose another path"
    try:
        # A real probe, not os.access: root passes every permission test, yet cannot create
        # files in /proc or on a read-only mount. An unnamed temp file leaves nothing behind.
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        return (f"{flag} {path}: cannot write in {where} ({exc.strerror or exc}); "
                "choose a writable place")
    return None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, binary: bool = False) -> Iterator:
    """Open ``path`` for writing through a uniquely named temp file beside it, renamed into
    place only when the block ends without error (the one atomic writer of the package).

    Two writers never share a temp file, a reader never sees half a file, and an error or a
    Ctrl-C leaves nothing behind: the temp file is removed. Text is UTF-8 with ``\n`` line ends.
    The file gets the permissions ``open(path, "w")`` would give it (an existing file keeps
    its own).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8",
                                                          newline="\n") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Output locks this process holds: (thread, lock file) -> depth. The lock is an flock on an
# open file, and a second flock on another open file fails even in the same process; so the
# thread that holds a lock may take it again (``summ translate`` locks every output before the
# model loads, then the writers lock each output as they open it). Another thread of the same
# process still gets the error, as another process would.
_HELD: dict[tuple[int, str], int] = {}
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` as an output for the length of the block.

    A second run onto the same output fails at once with one line instead of interleaving
    with the first. The lock is a hidden ``.NAME.lock`` file beside the output, removed when
    released; on systems without ``fcntl`` (Windows) no lock is taken. The thread holding a
    lock may take it again (nested blocks); it is released when the outermost block ends.

    Raises:
        ConfigError: another process (or thread) holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    key = (threading.get_ident(), os.path.abspath(lock))
    with _HELD_GUARD:
        nested = key in _HELD
        if nested:
            _HELD[key] += 1
    if nested:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fh = lock.open("a")
        except OSError as exc:
            found = next((p for p in lock.parents if p.exists()), None)
            reason = (f"{found} is a file, not a folder"
                      if found is not None and not found.is_dir() else exc.strerror or exc)
            raise ConfigError(f"{path}: cannot create its lock file {lock} ({reason}); "
                              "choose a writable place") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ConfigError(f"{path} is being written by another summ run (lock {lock}); "
                              "wait for it to finish or choose another output") from None
        # The holder before us may have removed the file after we opened it: then our lock is
        # on an orphan inode, and we must lock the file that is there now.
        try:
            same = os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    with _HELD_GUARD:
        _HELD[key] = 1
    try:
        yield
    finally:
        with _HELD_GUARD:
            del _HELD[key]
        lock.unlink(missing_ok=True)
        fh.close()


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (requests' errors nest their causes' messages)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def fetch_ntrex128(dest: Path | None = None, *, downloader: Callable | None = None,
                   timeout: float = 30) -> Path:
    """Download NTREX-128 (Arabic, English, document ids) at the pinned commit, verified.

    Files already present with the right hash are left alone; if all are, nothing is written
    and the network is not touched, so a read-only folder with valid files works. The
    downloads go through :func:`pooch.retrieve`: each lands in a temp file in the target
    folder, is checked against its pinned sha256 and only then moved into place (a failed or
    interrupted download leaves nothing behind). A ``SOURCE.txt`` records the upstream,
    commit and licence. Returns the ``ntrex128`` folder.

    Args:
        dest: folder to hold ``ntrex128/``; defaults to :func:`data_dir`.
        downloader: a pooch downloader ``(url, output_file, pooch)``; None means
            ``pooch.HTTPDownloader(timeout=timeout)`` (tests serve local files).
        timeout: seconds each network operation may wait, so an offline machine never hangs.

    Raises:
        InputError: a download does not match its pinned hash (the file is named), or the
            folder is not writable.
        SummError: the network is unreachable (one line naming the URL).
    """
    folder = Path(dest if dest is not None else data_dir()) / NTREX.name
    valid = {f.name: (folder / f.name).is_file() and sha256_file(folder / f.name) == f.sha256
             for f in NTREX.files}
    for f in NTREX.files:
        if not valid[f.name] and (folder / f.name).is_file():
            # Named before it is replaced: an altered copy is news to whoever altered it.
            log.warning("%s: sha256 does not match NTREX-128 at commit %s (expected %s...); "
                        "downloading it again", folder / f.name, NTREX.commit[:12], f.sha256[:12])
    if all(valid.values()):
        log.info("%s: NTREX-128 already present and verified; nothing to fetch", folder)
        return folder
    # Both only when downloading: they bring the network stack, which `import summ` avoids.
    import pooch
    import requests

    if downloader is None:
        downloader = pooch.HTTPDownloader(timeout=timeout)
    # pooch logs every download to stderr on its own handler; summ's log says the same.
    pooch_log = pooch.get_logger()
    level = pooch_log.level
    pooch_log.setLevel(logging.WARNING)
    try:
        for f in NTREX.files:
            if valid[f.name]:
                log.info("%s: already verified, kept", folder / f.name)
                continue
            url = NTREX.url(f)
            log.info("downloading %s", url)
            try:
                pooch.retrieve(url, known_hash=f"sha256:{f.sha256}", fname=f.name, path=folder,
                               downloader=downloader)
            except requests.RequestException as exc:  # before OSError: it is one
                raise SummError(
                    f"could not download {url} ({_one_line(exc)}); this machine may be offline: "
                    f"copy the files into {folder} from a connected machine, or set SUMM_DATA_DIR "
                    f"to a folder that has them"
                ) from None
            except ValueError:  # pooch's hash mismatch; the download is already deleted
                raise InputError(
                    f"{folder / f.name}: the download from {url} does not match its pinned "
                    f"sha256 {f.sha256[:12]}... (NTREX-128 at commit {NTREX.commit[:12]}); not "
                    f"kept (corrupted download or upstream changed); try `summ data fetch "
                    f"{NTREX.name}` again"
                ) from None
        source = (
            f"NTREX-128 (Federmann, Kocmi, Xin 2022)\n"
            f"upstream: {NTREX.repository}\ncommit: {NTREX.commit}\nlicence: {NTREX.license}\n"
            + "".join(f"{f.name}: {f.path} sha256 {f.sha256}\n" for f in NTREX.files)
        )
        with atomic_write(folder / "SOURCE.txt") as fh:
            fh.write(source)
    except OSError as exc:
        # Network failures were already turned into SummError; an OSError here is the disk
        # (read-only folder or filesystem, disk full). pooch re-raises a PermissionError with
        # its own long message; the original reason is its cause.
        reason = exc.strerror or getattr(exc.__cause__, "strerror", None) or _one_line(exc)
        raise InputError(
            f"{folder}: cannot write ({reason}); choose a writable folder with SUMM_DATA_DIR"
        ) from None
    finally:
        pooch_log.setLevel(level)
    log.info("%s: NTREX-128 fetched and verified", folder)
    return folder


# --------------------------------------------------------------------------------------------
# Summarisation datasets
# --------------------------------------------------------------------------------------------

# Keys every summarisation record needs; all others (target_summary, url, title...) go to meta.
_SUMMARY_KEYS = ("id", "text", "summary")


def load_summaries_jsonl(path: str | os.PathLike, encoding: str = "utf-8") -> list[Document]:
    """Articles with reference summaries from CrossSum/XL-Sum style JSON Lines.

    Each record needs ``id``, ``text`` (the article) and ``summary`` (its reference summary);
    ids must be unique. ``summary`` and every other field (``target_summary``, ``url``,
    ``title``, ...) go to ``Document.meta`` unchanged, so nothing in the file is dropped.
    One Document per record, in file order.

    Raises:
        InputError: a record is bad (missing key, non-string text or summary, id neither string
            nor integer, duplicate id), naming the file and line.
    """
    path = Path(path)
    docs = []
    for lineno, rec in enumerate(read_jsonl(path, encoding, required=_SUMMARY_KEYS), start=1):
        doc = _record_document(path, lineno, rec)
        if not isinstance(rec["summary"], str):
            got = _JSON_TYPES.get(type(rec["summary"]), type(rec["summary"]).__name__)
            raise InputError(f'{path}:{lineno}: \'summary\' must be a string, got {got}; write '
                             f'the reference summary as one JSON string')
        docs.append(doc)
    return docs


# The 45 language names CrossSum uses in its config names ("arabic-english").
CROSSSUM_LANGUAGES = frozenset(
    """amharic arabic azerbaijani bengali burmese chinese_simplified chinese_traditional english
    french gujarati hausa hindi igbo indonesian japanese kirundi korean kyrgyz marathi nepali
    oromo pashto persian pidgin portuguese punjabi russian scottish_gaelic serbian_cyrillic
    serbian_latin sinhala somali spanish swahili tamil telugu thai tigrinya turkish ukrainian
    urdu uzbek vietnamese welsh yoruba""".split()
)
CROSSSUM_REPO = "csebuetnlp/CrossSum"


def load_crosssum(split: str = "test", source: str = "arabic", target: str = "english",
                  limit: int | None = None, *, revision: str | None = None) -> list[Document]:
    """CrossSum articles in ``source`` with reference summaries in ``target``, from the HF hub.

    Needs the ``datasets`` library and network (or its cache). The config is
    ``"{source}-{target}"``, e.g. ``arabic-english``. CrossSum records have no id, so ids are
    ``crosssum/{source}-{target}/{split}/{n}`` (0-based position in the split); the URLs of
    both articles stay in ``meta`` with ``summary``. Licence: CC BY-NC-SA 4.0 (non-commercial).

    ``split`` is ``train``, ``validation`` or ``test``, ``source`` and ``target`` are CrossSum
    language names (:data:`CROSSSUM_LANGUAGES`), and ``limit`` keeps only the first records.
    The repository uses a loading script, which ``datasets>=4`` refuses: with that version
    pass ``revision="refs/convert/parquet"`` (or install ``datasets<4``).

    Raises:
        MissingDependencyError: ``datasets`` is not installed.
        ConfigError: unknown language, split or limit, or a loader the installed
            ``datasets`` cannot run.
        SummError: the hub cannot be reached.
    """
    problems = [f"unknown CrossSum language {lang!r}"
                for lang in (source, target) if lang not in CROSSSUM_LANGUAGES]
    if split not in ("train", "validation", "test"):
        problems.append(f"split must be train, validation or test, not {split!r}")
    if limit is not None and limit < 1:
        problems.append(f"limit must be at least 1, got {limit}")
    if problems:
        raise ConfigError("load_crosssum: " + "; ".join(problems)
                          + " (languages are full names such as arabic, english)")
    datasets = require("datasets", extra="datasets")
    config = f"{source}-{target}"
    hf_split = split if limit is None else f"{split}[:{limit}]"
    try:
        rows = datasets.load_dataset(CROSSSUM_REPO, config, split=hf_split, revision=revision)
    except RuntimeError as exc:
        if "scripts are no longer supported" in str(exc):
            raise ConfigError(
                f"{CROSSSUM_REPO} uses a loading script that this datasets version refuses; "
                f'pass revision="refs/convert/parquet" or pip install "datasets<4"'
            ) from None
        raise
    except ValueError as exc:
        raise ConfigError(f"{CROSSSUM_REPO} {config} {hf_split}: {exc}") from None
    except OSError as exc:  # requests' and datasets' network errors are OSErrors
        raise SummError(f"could not load {CROSSSUM_REPO} {config} ({exc}); this machine may be "
                        f"offline") from None
    docs = []
    for n, row in enumerate(rows):
        meta = {k: v for k, v in dict(row).items() if k != "text"}
        docs.append(Document(id=f"crosssum/{config}/{split}/{n}", text=row["text"], meta=meta))
    return docs


def check_ids(expected: Sequence[str], got: Sequence[str], what: str) -> None:
    """Raise if two id lists differ in length or at any position (e.g. summaries vs articles).

    ``expected`` is in the reference order (the articles), ``got`` must match it one to one,
    and ``what`` names the comparison in the message (``"summaries.jsonl vs articles"``).

    Raises:
        InputError: listing the counts and the first (up to 5) mismatches with their
            1-based positions, and whether the same ids merely come in another order.
    """
    missing = object()
    bad = [
        (pos, e, g)
        for pos, (e, g) in enumerate(zip_longest(expected, got, fillvalue=missing), start=1)
        if e != g
    ]
    if not bad:
        return

    def show(x: object) -> str:
        return "(none)" if x is missing else repr(x)

    shown = "; ".join(f"#{pos}: expected {show(e)}, got {show(g)}" for pos, e, g in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    hint = " (same ids in a different order)" if Counter(expected) == Counter(got) else ""
    raise InputError(
        f"{what}: ids do not match ({len(expected)} expected, {len(got)} got; "
        f"{len(bad)} position(s) differ{hint}): {shown}{more}"
    )
