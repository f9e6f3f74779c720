"""`summ translate` as a researcher calls it: files, folders, JSONL, bad input, kill and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from summ import segment as seg
from summ.cli import main
from summ.data import read_lines

from .conftest import SEED_ARTICLE


@pytest.fixture()
def run(tiny_models, tmp_path, capsys):
    """Call ``summ translate`` in-process on the tiny Marian model; returns (code, stdout, stderr)."""

    def _run(*args: str, model: str | None = None) -> tuple[int, str, str]:
        argv = ["translate", *args, "--model", model or str(tiny_models["marian"]), "--beam", "1",
                "--cache", str(tmp_path / "cache.sqlite"), "--no-progress"]
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_demo_prints_the_article_with_paragraphs(run, seed_text):
    code, out, err = run(str(SEED_ARTICLE))
    assert code == 0
    source_lines = seed_text.split("\n")
    out_lines = out.rstrip("\n").split("\n")
    assert len(out_lines) == len(source_lines)
    # Blank lines (paragraph breaks) stay blank, text lines get a translation.
    assert [bool(line.strip()) for line in out_lines] == [bool(line.strip()) for line in source_lines]
    assert "17 segments" in err


def test_empty_file_gives_empty_output(run, tmp_path):
    src, out = tmp_path / "empty.txt", tmp_path / "out.txt"
    src.write_bytes(b"")
    code, stdout, _ = run(str(src), "-o", str(out))
    assert code == 0 and out.read_bytes() == b"" and stdout == ""


def test_blank_and_whitespace_lines_are_kept_in_place(run, tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("مرحبا\n\n   \nأهلا وسهلا\n\t\n", encoding="utf-8")
    assert run(str(src), "-o", str(out))[0] == 0
    lines = read_lines(out)
    assert len(lines) == 5
    assert [bool(x) for x in lines] == [True, False, False, True, False]


def test_windows_arabic_file_fails_with_the_fix_and_writes_nothing(run, tmp_path):
    src, out = tmp_path / "cp.txt", tmp_path / "out.txt"
    src.write_bytes("سطر أول\nسطر ثان\n".encode("utf-8") + "سطر بترميز ويندوز\n".encode("cp1256"))
    code, _, err = run(str(src), "-o", str(out))
    assert code == 2
    message = [line for line in err.splitlines() if "error" in line]
    assert len(message) == 1
    assert f"{src}:3:" in message[0] and "--encoding cp1256" in message[0]
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    # The suggested fix works.
    assert run(str(src), "-o", str(out), "--encoding", "cp1256")[0] == 0
    assert len(read_lines(out)) == 3


def test_non_arabic_lines_are_flagged_translated_and_aligned(run, tmp_path):
    src, out, segs = tmp_path / "mixed.txt", tmp_path / "out.txt", tmp_path / "s.jsonl"
    src.write_text("مرحبا بكم\nThis is English.\nCeci est une phrase.\nوداعا\n", encoding="utf-8")
    code, _, err = run(str(src), "-o", str(out), "--segments", str(segs))
    assert code == 0 and len(read_lines(out)) == 4
    assert "2 not Arabic" in err
    records = [json.loads(x) for x in read_lines(segs)]
    flagged = {r["line"] for r in records if "not-arabic" in r["flags"]}
    assert flagged == {2, 3}


def test_html_is_stripped_and_entities_decoded(run, tmp_path):
    src, segs = tmp_path / "h.txt", tmp_path / "s.jsonl"
    src.write_text("<p>مرحبا &amp; أهلا</p>\n<b>سطر</b> ثان\n", encoding="utf-8")
    assert run(str(src), "-o", str(tmp_path / "o.txt"), "--segments", str(segs))[0] == 0
    sources = [json.loads(x)["source"] for x in read_lines(segs)]
    assert sources == ["مرحبا & أهلا", "سطر ثان"]
    run(str(src), "-o", str(tmp_path / "k.txt"), "--segments", str(segs), "--keep-html")
    assert json.loads(read_lines(segs)[0])["source"].startswith("<p>")


def test_three_thousand_word_line_is_split_and_fully_translated(run, tmp_path, ntrex_dir):
    words = " ".join(read_lines(ntrex_dir / "newstest2019-ref.arb.txt")).replace(".", " ").split()[:3000]
    src, segs = tmp_path / "long.txt", tmp_path / "s.jsonl"
    src.write_text(" ".join(words) + "\n", encoding="utf-8")
    code, _, err = run(str(src), "-o", str(tmp_path / "o.txt"), "--segments", str(segs))
    assert code == 0
    records = [json.loads(x) for x in read_lines(segs)]
    # The pieces of all segments, joined, are the normalised input: nothing cut.
    assert " ".join("".join(p["source"] for p in r["pieces"]) for r in records) == seg.normalise(" ".join(words))
    assert any("split" in r["flags"] and len(r["pieces"]) > 1 for r in records) and re.search(r"[1-9]\d* split", err)


def test_directory_and_jsonl_inputs(run, tmp_path, seed_text):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(seed_text, encoding="utf-8")
    (folder / "b.txt").write_text("خبر قصير.\n\nفقرة ثانية.", encoding="utf-8")
    out = tmp_path / "english"
    assert run(str(folder), "-o", str(out))[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "b.txt").read_text(encoding="utf-8").count("\n\n") == 1
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"id": "x1", "text": "مرحبا"}\n{"id": "x2", "text": "وداعا"}\n', encoding="utf-8")
    code, stdout, _ = run(str(jsonl))
    assert code == 0 and [json.loads(x)["id"] for x in stdout.splitlines()] == ["x1", "x2"]


def test_directory_without_output_is_a_usage_error(run, tmp_path):
    (tmp_path / "d").mkdir()
    code, _, err = run(str(tmp_path / "d"))
    assert code == 2 and "--output DIR" in err


def _cli(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "summ", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})}, **kw)


def test_offline_hub_id_fails_fast_with_one_line(tmp_path):
    # No HF_HUB_OFFLINE here: the reachability probe itself must find the hub unreachable. The
    # hub is a local port that is bound but not listening, so every connection is refused at
    # once, with or without network on this machine (nothing is ever downloaded).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed.getsockname()[1]}"
        env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache: nothing downloaded before
        proc = subprocess.run([sys.executable, "-m", "summ", "translate", str(SEED_ARTICLE), "--no-cache"],
                              capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3
    lines = [x for x in proc.stderr.splitlines() if x.startswith("summ: error")]
    assert len(lines) == 1 and "Helsinki-NLP/opus-mt-ar-en" in lines[0] and "--model DIR" in lines[0]
    assert "unreachable" in lines[0]  # the probe said so, not a failed download
    assert proc.stdout == ""


def _cache_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_and_resume_gives_identical_output(tiny_models, ntrex_dir, tmp_path):
    """kill -9 mid-run, rerun: the output equals an uninterrupted run; nothing is translated twice.

    The tiny model gives each line its own output, so a cached row served to the wrong line,
    or a line shifted on resume, changes the file. The cache also holds rows of another
    setting (beam 2) for the first 100 lines, which the resumed run must not take."""
    lines = read_lines(ntrex_dir / "newstest2019-ref.arb.txt")[:600]
    source, other = tmp_path / "ntrex-600.ar.txt", tmp_path / "ntrex-100.ar.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    other.write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    model = ["--model", str(tiny_models["marian"]), "--commit-every", "16", "--no-progress"]
    common = [*model, "--beam", "1"]
    cache, out = tmp_path / "cache.sqlite", tmp_path / "out.txt"

    beam2 = _cli("translate", str(other), "-o", str(tmp_path / "beam2.txt"), "--cache", str(cache),
                 *model, "--beam", "2")
    _, err = beam2.communicate(timeout=600)
    assert beam2.returncode == 0, err
    before = _cache_rows(cache)
    assert before > 90

    proc = _cli("translate", str(source), "-o", str(out), "--cache", str(cache), *common)
    deadline = time.monotonic() + 120
    while _cache_rows(cache) < before + 16 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not out.exists()  # only the .partial file was being written
    done = _cache_rows(cache) - before
    assert done >= 16

    resumed = _cli("translate", str(source), "-o", str(out), "--cache", str(cache), *common)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    hits, translated = map(int, re.search(r"(\d+) from cache, (\d+) translated", err).groups())
    assert hits == done  # everything finished before the kill was reused ...
    assert hits + translated == _cache_rows(cache) - before  # ... and nothing was translated twice

    fresh = _cli("translate", str(source), "-o", str(tmp_path / "fresh.txt"), "--cache", str(tmp_path / "c2.sqlite"), *common)
    _, err = fresh.communicate(timeout=600)
    assert fresh.returncode == 0, err
    assert out.read_bytes() == (tmp_path / "fresh.txt").read_bytes()
    hyps = read_lines(out)
    assert len(hyps) == 600 and len(set(hyps)) > 0.9 * len(set(read_lines(source)))
