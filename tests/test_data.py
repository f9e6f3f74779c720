"""Tests for summ.data: readers, parallel corpora, NTREX-128 fetch/load, summarisation data.

No network: fetch_ntrex128 downloads the shared NTREX files from a local HTTP server.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import http.server
import io
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pooch
import pytest

from summ import data
from summ.data import (
    NTREX,
    Document,
    ParallelCorpus,
    check_ids,
    check_text_file,
    fetch_ntrex128,
    iter_lines,
    load_crosssum,
    load_ntrex128,
    load_parallel,
    load_summaries_jsonl,
    read_articles,
    read_jsonl,
    read_lines,
    read_text,
    sha256_file,
)
from summ.errors import ConfigError, InputError, MissingDependencyError, SummError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
NTREX_FILES = ("newstest2019-ref.arb.txt", "newstest2019-src.eng.txt", "DOCUMENT_IDS.tsv")


def write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------------------------
# iter_lines / read_lines
# --------------------------------------------------------------------------------------------

LINE_CASES = [
    # (bytes in the file, expected lines)
    (b"", []),
    (b"one", ["one"]),
    (b"one\n", ["one"]),
    (b"one\ntwo", ["one", "two"]),
    (b"one\r\ntwo\r\n", ["one", "two"]),
    (b"one\rtwo\r", ["one\rtwo\r"]),  # a lone CR is text, as in sacrebleu (lines end at \n)
    (b"one\r\rtwo\n", ["one\r\rtwo"]),
    (b"one\r\r\ntwo", ["one\r", "two"]),  # CRLF is one line end; the CR before it is text
    (b"a\r\n\r\nb", ["a", "", "b"]),  # blank line kept
    (b"a\n   \n\t\nb\n", ["a", "   ", "\t", "b"]),  # whitespace-only lines kept as is
    (b"a\n\n", ["a", ""]),  # a trailing blank line is a line
    (b"\xef\xbb\xbfone\ntwo\n", ["one", "two"]),  # BOM dropped at the start
    (b"one\n\xef\xbb\xbftwo\n", ["one", "\ufefftwo"]),  # ...but only there
    (b"a\xe2\x80\xa8b\x0cc\n", ["a\u2028b\x0cc"]),  # no splitting on U+2028 or form feed
    ("سلام\r\nعليكم\n".encode(), ["سلام", "عليكم"]),
]


@pytest.mark.parametrize(("content", "expected"), LINE_CASES)
def test_read_lines_table(tmp_path: Path, content: bytes, expected: list[str]) -> None:
    path = write_bytes(tmp_path / "f.txt", content)
    assert read_lines(path) == expected
    assert list(iter_lines(path)) == expected
    assert check_text_file(path) == len(expected)


def test_read_text_joins_with_newlines(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.txt", b"p1\r\n\r\np2\r\n")
    assert read_text(path) == "p1\n\np2"


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_lines(tmp_path / "nope.txt")


ARABIC_LINES = ["السطر الأول", "", "مرحبا بالعالم", "السطر الرابع"]


def test_cp1256_file_names_file_line_and_fix(tmp_path: Path) -> None:
    # Line 1 is plain ASCII (valid UTF-8); line 3 is the first with Arabic letters in cp1256.
    lines = ["plain ascii", "", *ARABIC_LINES[2:]]
    path = write_bytes(tmp_path / "windows.txt", "\r\n".join(lines).encode("cp1256"))
    with pytest.raises(InputError) as err:
        read_lines(path)
    msg = str(err.value)
    assert str(path) in msg
    assert f"{path}:3:" in msg
    assert "--encoding cp1256" in msg
    assert read_lines(path, encoding="cp1256") == lines


def test_decode_error_ends_with_the_callers_fix(tmp_path: Path) -> None:
    # `summ run` reads its encoding from the config, not from an --encoding flag.
    path = write_bytes(tmp_path / "w.txt", "ok\n".encode() + "مرحبا\n".encode("cp1256"))
    with pytest.raises(InputError) as err:
        check_text_file(path, fix='set encoding = "cp1256" in the table')
    assert str(err.value).startswith(f"{path}:2: not valid utf-8 ")
    assert str(err.value).endswith('Windows Arabic, set encoding = "cp1256" in the table')


def test_decode_error_line_number_ignores_lone_cr(tmp_path: Path) -> None:
    # A lone CR does not end a line, so the bad byte is on line 2, 4 bytes in ("b\rc\r").
    path = write_bytes(tmp_path / "mac.txt", b"a\nb\rc\r" + "ج".encode("cp1256") + b"\r")
    with pytest.raises(InputError, match=r"mac\.txt:2: .*byte 4 of the line"):
        read_lines(path)


def test_lone_cr_is_text_and_warned_about_once(tmp_path: Path, caplog) -> None:
    path = write_bytes(tmp_path / "cr.txt", b"a\rb\nc\r\nd\re\rf\n")
    with caplog.at_level(logging.WARNING, logger="summ.data"):
        assert read_lines(path) == ["a\rb", "c", "d\re\rf"]
        assert check_text_file(path) == 3  # no warning of its own: its caller reads the file again
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert str(path) in warnings[0] and "2 line(s)" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="summ.data"):
        read_lines(write_bytes(tmp_path / "crlf.txt", b"a\r\nb\r\n"))
    assert not caplog.records  # CRLF files are ordinary


def test_keep_bom_keeps_a_leading_bom_as_sacrebleu_does(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bom.txt", b"\xef\xbb\xbfone\ntwo\n")
    assert read_lines(path, keep_bom=True) == ["\ufeffone", "two"]
    assert read_lines(path) == ["one", "two"]
    # What sacrebleu's own reader gives (open(..., encoding="utf-8", newline="\n")):
    from sacrebleu.utils import smart_open

    with smart_open(str(path)) as fh:
        assert [line.rstrip("\n") for line in fh] == read_lines(path, keep_bom=True)
    assert read_lines(path, encoding="utf-8-sig", keep_bom=True) == ["one", "two"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "UTF_8_SIG"])
def test_utf8_sig_encoding_drops_the_bom(tmp_path: Path, encoding: str) -> None:
    # The BOM that utf-8-sig encodes "\n" with used to make _codec_name refuse the codec.
    path = write_bytes(tmp_path / "bom.txt", "\ufeffسلام\r\nb\n\ufeffc\n".encode())
    expected = ["سلام", "b", "\ufeffc"]  # only the leading BOM is dropped
    assert read_lines(path, encoding=encoding) == expected
    assert list(iter_lines(path, encoding=encoding)) == expected
    assert check_text_file(path, encoding=encoding) == 3
    assert read_articles(path, encoding=encoding)[0].text == "سلام\nb\n\ufeffc"


def test_non_ascii_compatible_encoding_is_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "u16.txt", "a\nb\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="convert to UTF-8"):
        read_lines(path, encoding="utf-16")
    for other in ("utf-16-le", "utf-32"):
        with pytest.raises(ConfigError, match="convert to UTF-8"):
            read_lines(path, encoding=other)
    with pytest.raises(ConfigError, match="unknown encoding"):
        read_lines(path, encoding="no-such-codec")


# --------------------------------------------------------------------------------------------
# JSONL and articles
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', r"j\.jsonl:2: not valid JSON"),
        ('{"id": "a", "text": "x"}\n{"id": "b"}\n', r"j\.jsonl:2: missing key\(s\) text"),
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', r"duplicate id\(s\) a"),
        ('{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"}\n', r"j\.jsonl:2: blank line"),
        ('["id", "text"]\n', r"j\.jsonl:1: expected a JSON object, got list"),
    ],
)
def test_read_jsonl_errors(tmp_path: Path, content: str, pattern: str) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=pattern):
        read_jsonl(path)


def test_read_articles_dir_sorted_and_jsonl(tmp_path: Path) -> None:
    d = tmp_path / "arts"
    d.mkdir()
    (d / "b.txt").write_text("ثانيا\n", encoding="utf-8")
    (d / "a.txt").write_text("أولا\r\n\r\nفقرة", encoding="utf-8")
    (d / "notes.md").write_text("ignored", encoding="utf-8")
    docs = read_articles(d)
    assert [x.id for x in docs] == ["a", "b"]
    assert docs[0].text == "أولا\n\nفقرة"

    j = tmp_path / "arts.jsonl"
    j.write_text('{"id": 7, "text": "نص", "source": "x"}\n{"id": "k", "text": "t"}\n', encoding="utf-8")
    docs = read_articles(j)
    assert docs == [Document("7", "نص"), Document("k", "t")]
    assert docs[0].meta == {"source": "x"}

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .txt articles"):
        read_articles(empty)
    with pytest.raises(InputError, match="no such file or directory"):
        read_articles(tmp_path / "missing")


# --------------------------------------------------------------------------------------------
# data_dir and sha256_file
# --------------------------------------------------------------------------------------------


def test_data_dir_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMM_DATA_DIR", str(tmp_path / "explicit"))
    assert data.data_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SUMM_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_dir() == tmp_path / "xdg" / "summ" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_dir() == tmp_path / "home" / ".cache" / "summ" / "data"
    assert not (tmp_path / "home").exists()  # asking for the folder creates nothing


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    content = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks
    path = write_bytes(tmp_path / "blob", content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()


# --------------------------------------------------------------------------------------------
# Parallel corpora
# --------------------------------------------------------------------------------------------


def test_load_parallel_keeps_blank_lines_and_records_hashes(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "s.ar", "أ\n\nب\n".encode())
    ref = write_bytes(tmp_path / "r.en", b"a\n\nb\n")
    ids = write_bytes(tmp_path / "ids.tsv", b"d1\td1-extra\nd1\nd2\n")
    corpus = load_parallel(src, [ref], doc_ids_path=ids)
    assert corpus.src == ["أ", "", "ب"] and corpus.refs == [["a", "", "b"]]
    assert corpus.doc_ids == ["d1", "d1", "d2"]  # first TSV column
    assert corpus.name == "s" and (corpus.src_lang, corpus.tgt_lang) == ("ar", "en")
    assert corpus.files == {"src": str(src), "ref1": str(ref), "doc_ids": str(ids)}
    assert corpus.hashes[str(ref)] == hashlib.sha256(b"a\n\nb\n").hexdigest()


def test_load_parallel_length_mismatch_lists_every_file(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "s.ar", b"1\n2\n3\n")
    ref1 = write_bytes(tmp_path / "r1.en", b"1\n2\n3\n")
    ref2 = write_bytes(tmp_path / "r2.en", b"1\n2\n")
    with pytest.raises(InputError) as err:
        load_parallel(src, [ref1, ref2], name="toy")
    msg = str(err.value)
    assert f"src {src}: 3 lines" in msg
    assert f"ref1 {ref1}: 3 lines" in msg
    assert f"ref2 {ref2}: 2 lines" in msg
    assert "\n" not in msg


def test_load_parallel_doc_ids_wrong_length(tmp_path: Path) -> None:
    src = write_bytes(tmp_path / "s", b"1\n2\n")
    ids = write_bytes(tmp_path / "ids", b"d1\n")
    with pytest.raises(InputError, match=rf"doc_ids {ids}: 1 lines"):
        load_parallel(src, [src], doc_ids_path=ids)
    with pytest.raises(InputError, match="at least one"):
        load_parallel(src, [])


def test_corpus_rejects_split_documents_and_empty_ids() -> None:
    with pytest.raises(InputError, match=r":3: document 'a' resumes"):
        ParallelCorpus("t", ["1", "2", "3"], [["1", "2", "3"]], doc_ids=["a", "b", "a"])
    with pytest.raises(InputError, match=r":2: empty document id"):
        ParallelCorpus("t", ["1", "2"], [["1", "2"]], doc_ids=["a", " "])


def test_documents_and_select_documents() -> None:
    corpus = ParallelCorpus(
        "toy", list("abcdef"), [list("ABCDEF")], doc_ids=["x", "x", "y", "z", "z", "z"], files={"src": "s"}
    )
    assert corpus.documents() == [("x", [0, 1]), ("y", [2]), ("z", [3, 4, 5])]
    two = corpus.select_documents(2)
    assert two.src == ["a", "b", "c"] and two.refs == [["A", "B", "C"]]
    assert two.doc_ids == ["x", "x", "y"]
    assert two.name == "toy[:2 docs]" and two.files == corpus.files
    assert corpus.select_documents(10) is corpus
    with pytest.raises(ConfigError):
        corpus.select_documents(0)
    # Without document ids, each line is a document.
    flat = ParallelCorpus("flat", ["p", "q"], [["P", "Q"]])
    assert flat.documents() == [("1", [0]), ("2", [1])]
    assert flat.select_documents(1).src == ["p"]


# --------------------------------------------------------------------------------------------
# NTREX-128
# --------------------------------------------------------------------------------------------


def test_ntrex_spec_matches_shared_files(ntrex_dir: Path) -> None:
    commit = (ntrex_dir / "UPSTREAM_COMMIT").read_text().split()[0]
    assert NTREX.commit == commit
    for f in NTREX.files:
        assert sha256_file(ntrex_dir / f.name) == f.sha256, f.name
    assert NTREX.url(NTREX.file("DOCUMENT_IDS.tsv")) == (
        f"https://raw.githubusercontent.com/MicrosoftTranslator/NTREX/{commit}/DOCUMENT_IDS.tsv"
    )
    assert NTREX.file("newstest2019-ref.arb.txt").path == "NTREX-128/newstest2019-ref.arb.txt"


def test_load_ntrex128(data_dir: Path, ntrex_dir: Path) -> None:
    corpus = load_ntrex128(data_dir)
    # Independent reading: plain Python, CRLF files.
    arb = (ntrex_dir / "newstest2019-ref.arb.txt").read_bytes().decode("utf-8").split("\r\n")
    eng = (ntrex_dir / "newstest2019-src.eng.txt").read_bytes().decode("utf-8").split("\r\n")
    ids = (ntrex_dir / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").split("\n")
    arb, eng, ids = arb[:-1], eng[:-1], ids[:-1]  # each file ends with a line break
    assert len(corpus) == len(corpus.refs[0]) == len(corpus.doc_ids) == 1997
    assert corpus.src == arb and corpus.refs == [eng] and corpus.doc_ids == ids
    assert (corpus.src_lang, corpus.tgt_lang, corpus.name) == ("ar", "en", "ntrex128")

    docs = corpus.documents()
    assert len(docs) == 123 == len(dict.fromkeys(ids))
    assert [d for d, _ in docs] == list(dict.fromkeys(ids))  # first-appearance order
    flat = [i for _, lines in docs for i in lines]
    assert flat == list(range(1997))  # consecutive, covering every line once
    assert set(corpus.hashes.values()) == {f.sha256 for f in NTREX.files}

    small = corpus.select_documents(3)
    assert len(small.documents()) == 3 and len(small) == sum(len(x) for _, x in docs[:3])


def copy_ntrex(ntrex_dir: Path, root: Path) -> Path:
    folder = root / "ntrex128"
    folder.mkdir(parents=True)
    for name in NTREX_FILES:
        shutil.copyfile(ntrex_dir / name, folder / name)
    return folder


def test_load_ntrex128_detects_altered_file(ntrex_dir: Path, tmp_path: Path) -> None:
    folder = copy_ntrex(ntrex_dir, tmp_path)
    target = folder / "newstest2019-src.eng.txt"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0x01  # one flipped bit, same length and still decodable
    target.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"newstest2019-src\.eng\.txt: sha256 .*re-fetch"):
        load_ntrex128(tmp_path)


def test_load_ntrex128_missing_files_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_ntrex128(tmp_path)
    assert "summ data fetch ntrex128" in str(err.value) and "SUMM_DATA_DIR" in str(err.value)
    assert "DOCUMENT_IDS.tsv" in str(err.value)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ('{"id": "a", "text": "x"}\n{"id": "b", "text": null}\n', r"j\.jsonl:2: 'text' must be a string, got null; write"),
        ('{"id": "a", "text": ["p1", "p2"]}\n', r"j\.jsonl:1: 'text' must be a string, got a list; write"),
        ('{"id": "a", "text": 3}\n', r"j\.jsonl:1: 'text' must be a string, got a number"),
        ('{"id": "a", "text": "x"}\n{"id": null, "text": "y"}\n', r"j\.jsonl:2: 'id' must be a string or integer, got null; give"),
        ('{"id": ["a"], "text": "y"}\n', r"j\.jsonl:1: 'id' must be a string or integer, got a list"),
        ('{"id": true, "text": "y"}\n', r"j\.jsonl:1: 'id' must be a string or integer, got true/false"),
    ],
)
def test_jsonl_records_need_string_text_and_id(tmp_path: Path, content: str, pattern: str) -> None:
    # str() used to turn null into the article "None" and a list into "['p1', 'p2']".
    path = tmp_path / "j.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=pattern):
        read_articles(path)
    summaries = tmp_path / "s" / "j.jsonl"
    summaries.parent.mkdir()
    summaries.write_text(content.replace("}\n", ', "summary": "s"}\n'), encoding="utf-8")
    with pytest.raises(InputError, match=pattern):  # the same check for summarisation data
        load_summaries_jsonl(summaries)


class Upstream:
    """A local HTTP server holding the pinned NTREX files under their upstream paths.

    ``fetch_ntrex128`` is pointed at it through ``NTREX.url_template``, so the tests run the
    real download path (pooch's HTTPDownloader over requests) without a network.
    """

    def __init__(self, ntrex_dir: Path) -> None:
        self.bodies = {f"/{NTREX.commit}/{f.path}": (ntrex_dir / f.name).read_bytes()
                       for f in NTREX.files}
        self.served: list[str] = []
        self.delay = 0.0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.served.append(self.path)
                time.sleep(upstream.delay)
                body = upstream.bodies.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test): nothing to serve

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def served_files(self) -> list[str]:
        return [p.rsplit("/", 1)[1] for p in self.served]


@pytest.fixture()
def upstream(ntrex_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    server = Upstream(ntrex_dir)
    local = dataclasses.replace(NTREX, url_template=server.url + "/{commit}/{path}")
    monkeypatch.setattr(data, "NTREX", local)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_fetch_ntrex128_downloads_verifies_and_is_idempotent(
    upstream: Upstream, tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    folder = fetch_ntrex128(tmp_path / "cache", timeout=7)
    assert folder == tmp_path / "cache" / "ntrex128"
    assert sorted(upstream.served_files()) == sorted(NTREX_FILES)  # upstream and local names agree
    for f in NTREX.files:
        assert sha256_file(folder / f.name) == f.sha256
    source = (folder / "SOURCE.txt").read_text(encoding="utf-8")
    assert NTREX.commit in source and "CC BY-SA 4.0" in source and NTREX.repository in source
    # Nothing else: no temp file left behind.
    assert sorted(p.name for p in folder.iterdir()) == sorted([*NTREX_FILES, "SOURCE.txt"])
    assert len(load_ntrex128(tmp_path / "cache")) == 1997
    assert "Downloading data" not in capfd.readouterr().err  # pooch's own stderr logging stays off
    assert pooch.get_logger().level == logging.NOTSET  # ...and is restored afterwards

    upstream.served.clear()
    assert fetch_ntrex128(tmp_path / "cache") == folder
    assert upstream.served == []  # second time: nothing downloaded

    # A single missing file is fetched alone, and so is one that lost its hash.
    (folder / "DOCUMENT_IDS.tsv").unlink()
    (folder / "newstest2019-src.eng.txt").write_bytes(b"edited\n")
    fetch_ntrex128(tmp_path / "cache")
    assert sorted(upstream.served_files()) == ["DOCUMENT_IDS.tsv", "newstest2019-src.eng.txt"]
    edited = "newstest2019-src.eng.txt"
    assert sha256_file(folder / edited) == NTREX.file(edited).sha256


def test_fetch_ntrex128_names_the_file_that_fails_its_hash(
    upstream: Upstream, tmp_path: Path
) -> None:
    path = f"/{NTREX.commit}/{NTREX.file('newstest2019-src.eng.txt').path}"
    upstream.bodies[path] = upstream.bodies[path][:-10]  # a truncated download
    with pytest.raises(InputError) as err:
        fetch_ntrex128(tmp_path)
    msg = str(err.value)
    bad = tmp_path / "ntrex128" / "newstest2019-src.eng.txt"
    assert msg.startswith(f"{bad}: the download from ")
    assert "does not match its pinned sha256" in msg and "not kept" in msg and "\n" not in msg
    # The file before it is kept (verified); the bad one and its temp file are gone.
    left = sorted(p.name for p in (tmp_path / "ntrex128").iterdir())
    assert left == ["newstest2019-ref.arb.txt"]


def test_fetch_ntrex128_offline_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused, as offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    template = f"http://127.0.0.1:{port}" + "/{commit}/{path}"
    monkeypatch.setattr(data, "NTREX", dataclasses.replace(NTREX, url_template=template))
    with pytest.raises(SummError) as err:
        fetch_ntrex128(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "offline" in msg and "SUMM_DATA_DIR" in msg
    assert msg.startswith(f"could not download {data.NTREX.url(NTREX.files[0])} (")
    assert not list((tmp_path / "ntrex128").iterdir())  # nothing half-written


def test_fetch_ntrex128_timeout_reaches_the_request(upstream: Upstream, tmp_path: Path) -> None:
    upstream.delay = 2.0
    start = time.monotonic()
    with pytest.raises(SummError) as err:
        fetch_ntrex128(tmp_path, timeout=0.2)
    assert time.monotonic() - start < 1.5
    # A network error, not a disk one (InputError is a SummError too).
    assert type(err.value) is SummError
    assert "timed out" in str(err.value) and "offline" in str(err.value)


def test_fetch_ntrex128_disk_full_is_not_offline(upstream: Upstream, tmp_path: Path) -> None:
    class FullDisk(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    http_download = pooch.HTTPDownloader(timeout=5)

    def downloader(url: str, output_file: str, pooch_: object) -> None:
        http_download(url, FullDisk(), pooch_)  # the network works; writing the download fails

    with pytest.raises(InputError, match=r"ntrex128: cannot write \(No space left on device\); .*SUMM_DATA_DIR") as err:
        fetch_ntrex128(tmp_path, downloader=downloader)
    assert "offline" not in str(err.value)
    assert len(upstream.served) == 1  # the download was reached, and stopped at the first write
    assert not list((tmp_path / "ntrex128").iterdir())  # pooch removed its temp file


def refuse_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way fetch_ntrex128 (and pooch) creates files fail, as on a read-only folder.

    chmod alone cannot do this: tests may run as root, which ignores permission bits.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    for module, name in ((tempfile, "mkstemp"), (tempfile, "NamedTemporaryFile"), (os, "makedirs"),
                         (os, "replace"), (Path, "mkdir")):
        monkeypatch.setattr(module, name, refuse)


def test_fetch_ntrex128_read_only_valid_folder(
    upstream: Upstream, ntrex_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_ntrex(ntrex_dir, tmp_path)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())
    folder.chmod(0o555)
    try:
        refuse_writes(monkeypatch)
        assert fetch_ntrex128(tmp_path) == folder
        assert upstream.served == []
        assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()) == before
    finally:
        folder.chmod(0o755)


def test_fetch_ntrex128_read_only_invalid_folder_says_so(
    upstream: Upstream, ntrex_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_ntrex(ntrex_dir, tmp_path)
    (folder / "DOCUMENT_IDS.tsv").unlink()
    refuse_writes(monkeypatch)
    with pytest.raises(InputError, match=r"ntrex128: cannot write \(Permission denied\); .*DIR"):
        fetch_ntrex128(tmp_path)


# --------------------------------------------------------------------------------------------
# Summarisation datasets and id checks
# --------------------------------------------------------------------------------------------


def test_load_summaries_jsonl_fixture() -> None:
    docs = load_summaries_jsonl(FIXTURES / "summaries_sample.jsonl")
    assert [d.id for d in docs] == ["ar-001", "ar-002", "ar-003"]
    assert docs[0].text.startswith("أعلنت") and "\n" in docs[0].text
    assert docs[0].meta["summary"] == "Health ministry opens a new city hospital."
    assert docs[0].meta["url"] == "https://example.org/ar-001" and docs[0].meta["title"] == "مستشفى جديد"
    assert docs[1].meta["target_summary"] == "ارتفاع أسعار القمح بسبب الجفاف."
    assert "url" not in docs[2].meta


def test_load_summaries_jsonl_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "text": "x", "summary": "s"}\n{"id": "b", "text": "y"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.jsonl:2: missing key\(s\) summary"):
        load_summaries_jsonl(path)
    path.write_text('{"id": "a", "text": "x", "summary": null}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.jsonl:1: 'summary' must be a string"):
        load_summaries_jsonl(path)


def test_load_crosssum_without_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "summ\[datasets\]"'):
        load_crosssum()


def test_load_crosssum_with_fake_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def load_dataset(repo: str, config: str, split: str, revision: str | None) -> list[dict]:
        calls.append((repo, config, split, revision))
        return [{"source_url": "u1", "target_url": "v1", "summary": "S1", "text": "نص"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    docs = load_crosssum(limit=5)
    assert calls == [("csebuetnlp/CrossSum", "arabic-english", "test[:5]", None)]
    assert docs == [Document("crosssum/arabic-english/test/0", "نص")]
    assert docs[0].meta == {"source_url": "u1", "target_url": "v1", "summary": "S1"}
    with pytest.raises(ConfigError, match="unknown CrossSum language 'ar'.*split must be"):
        load_crosssum(split="dev", source="ar")


def test_check_ids() -> None:
    check_ids(["a", "b"], ["a", "b"], "ok")  # no error
    with pytest.raises(InputError) as err:
        check_ids(["a", "b", "c"], ["a", "c", "b"], "summaries vs articles")
    msg = str(err.value)
    assert msg.startswith("summaries vs articles: ")
    assert "#2: expected 'b', got 'c'" in msg and "#3: expected 'c', got 'b'" in msg
    assert "different order" in msg
    with pytest.raises(InputError) as err:
        check_ids([str(i) for i in range(10)], [f"x{i}" for i in range(9)], "refs")
    msg = str(err.value)
    assert "10 expected, 9 got" in msg and "#10: expected '9', got (none)" not in msg
    assert "#5:" in msg and "#6:" not in msg and "and 5 more" in msg
    with pytest.raises(InputError, match=r"#3: expected \(none\), got 'z'"):
        check_ids(["a", "b"], ["a", "b", "z"], "extra")


def test_every_cache_folder_follows_one_rule(monkeypatch, tmp_path: Path) -> None:
    from summ.cli import default_cache_path
    from summ.data import data_dir, user_cache_dir
    from summ.engines.ct2 import default_cache_dir
    from summ.testing import tiny_models_dir

    for env in ("SUMM_DATA_DIR", "SUMM_TINY_MODELS", "SUMM_CT2_CACHE", "SUMM_CACHE"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    base = tmp_path / "summ"
    assert (data_dir(), tiny_models_dir(), default_cache_dir(), default_cache_path()) == (
        base / "data", base / "tiny-models", base / "ct2", base / "translations.sqlite")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    assert user_cache_dir("ct2") == Path.home() / ".cache" / "summ" / "ct2"
    assert default_cache_path() == Path.home() / ".cache" / "summ" / "translations.sqlite"
    monkeypatch.setenv("SUMM_CT2_CACHE", "~/conversions")
    assert default_cache_dir() == Path.home() / "conversions"
