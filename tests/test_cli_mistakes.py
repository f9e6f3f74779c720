"""User mistakes through the real `summ` command: one row per mistake (issue 16).

Each row is a command a user could type, run in a fresh folder of ordinary inputs (Arabic
text files, an article folder with a subfolder, a folder mixing UTF-8 and Windows Arabic files,
JSONL, hypothesis and reference files, experiment configs, a finished results folder). A row
states the exit code, what the first line of stderr says (for a command that succeeds: what
stderr says somewhere), and exactly which files the command leaves behind. Every row also
checks that no file that was there before changed (inputs are never overwritten), that no
``.partial`` or ``.lock`` file is left, and that no traceback is printed; rows marked
``process`` run as a subprocess (``python -m summ``), the way a user runs them.

Concurrency, per-file encodings, nested folders, CSV columns and downloads have their own
tests below the table, where a row could not say enough.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from summ.cli import main
from summ.data import read_lines

ARABIC = ["مرحبا بكم في الأخبار", "أهلا وسهلا بالجميع"]
ENGLISH = ["The cat sat on the mat.", "It is raining today.", "Nobody came to the party.",
           "The meeting starts at noon."]
HYPS = ["The cat sat on a mat.", "It rains today.", "No one came to the party.",
        "The meeting begins at noon."]


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


_CONFIG = """name = "t"
metrics = ["bleu", "chrf"]
levels = ["corpus"]
[defaults]
device = "{device}"
[defaults.decode]
beam_size = {beam}
max_new_tokens = 8
[[systems]]
name = "marian"
model = "tiny:marian"
[[datasets]]
name = "d"
type = "parallel"
src = "{src}"
refs = ["en.txt"]
"""


def make_workspace(t: Path, model: Path, results: Path | None = None) -> None:
    """The ordinary inputs every row starts from."""
    _write(t / "in.txt", "\n".join(ARABIC) + "\n")
    _write(t / "cp.txt", ("\n".join(ARABIC) + "\n").encode("cp1256"))
    _write(t / "cr.txt", "مرحبا\rبكم\nوداعا\n")  # a lone CR inside line 1: 2 lines, as wc -l
    _write(t / "docs.jsonl", "".join(json.dumps({"id": f"d{i}", "text": a}, ensure_ascii=False)
                                     + "\n" for i, a in enumerate(ARABIC)))
    _write(t / "bad.jsonl", '{"id": "d1", "text": "مرحبا"}\n{"id": "d2", "text": \n')
    _write(t / "art" / "a.txt", ARABIC[0] + "\n\n" + ARABIC[1] + "\n")
    _write(t / "art" / "sub" / "c.txt", ARABIC[1] + "\n")
    _write(t / "art" / "README.md", "notes, not an article\n")
    _write(t / "mixed" / "a.txt", ARABIC[0] + "\n")
    _write(t / "mixed" / "b.txt", (ARABIC[1] + "\n").encode("cp1256"))
    _write(t / "mixed" / "sub" / "d.txt", (ARABIC[0] + "\n").encode("cp1256"))
    _write(t / "empty" / "notes.md", "no articles here\n")
    _write(t / "x" / "s.txt", ARABIC[0] + "\n")
    _write(t / "y" / "s.txt", ARABIC[1] + "\n")
    _write(t / "afile", "a plain file\n")
    (t / "adir").mkdir()
    _write(t / "notsqlite", "plain text, not a database\n")
    _write(t / "tokonly" / "tokenizer_config.json", (model / "tokenizer_config.json").read_bytes())
    _write(t / "refs.jsonl", json.dumps({"id": "in", "text": " ".join(ARABIC), "summary": "s"},
                                        ensure_ascii=False) + "\n")
    _write(t / "ref.txt", "\n".join(ENGLISH) + "\n")
    _write(t / "ref2.txt", "\n".join(ENGLISH) + "\n")
    _write(t / "hyp.txt", "\n".join(HYPS) + "\n")
    _write(t / "hyp2.txt", "\n".join(h.replace("The", "A") for h in HYPS) + "\n")
    _write(t / "short.txt", "\n".join(HYPS[:3]) + "\n")
    _write(t / "crh.txt", "The cat sat\ron a mat.\nIt rains today.\nNo one came.\n")
    _write(t / "crref.txt", "The cat sat\non a mat.\nIt rains today.\nNo one came.\n")
    _write(t / "ar.txt", "\n".join(ARABIC * 2) + "\n")
    _write(t / "hypcp.txt", ("\n".join(ARABIC * 2) + "\n").encode("cp1256"))
    _write(t / "ids.txt", "doc1\ndoc1\ndoc2\ndoc2\n")
    _write(t / "en.txt", "Welcome to the news\nHello everyone\n")
    _write(t / "cp.ar", ("\n".join(ARABIC) + "\n").encode("cp1256"))
    _write(t / "ok.toml", _CONFIG.format(device="cpu", beam=1, src="in.txt"))
    _write(t / "cp.toml", _CONFIG.format(device="cpu", beam=1, src="cp.ar"))
    _write(t / "beam0.toml", _CONFIG.format(device="cpu", beam=0, src="in.txt"))
    _write(t / "cuda.toml", _CONFIG.format(device="cuda", beam=1, src="in.txt"))
    _write(t / "broken.toml", "name = [\n")
    if results is not None:
        shutil.copytree(results, t / "res")


# Setups that damage one thing before the row runs.
def _truncate(name: str, keep: int = 60) -> Callable[[Path], None]:
    def damage(t: Path) -> None:
        path = t / "res" / name
        path.write_bytes(path.read_bytes()[:keep])
    return damage


def _remove(name: str) -> Callable[[Path], None]:
    return lambda t: (t / "res" / name).unlink()


def _unfinished(t: Path) -> None:
    path = t / "res" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**manifest, "status": "running"}), encoding="utf-8")


def _bad_score(t: Path) -> None:
    path = t / "res" / "scores.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[1].split(",")
    fields[5] = "lots"  # the score column
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")


def _stale_output(t: Path) -> None:
    _write(t / "out" / "old.txt", "an earlier run's article\n")


def _user_folder(t: Path) -> None:
    _write(t / "mine" / "thesis.tex", "do not delete\n")


@dataclass(frozen=True)
class Row:
    """One mistake: the command (``{t}`` the folder, ``{m}`` the tiny Marian model), its exit
    code, what the first stderr line says (or, for exit 0, stderr anywhere), the files it
    creates (paths relative to the folder), and the number of error lines."""

    name: str
    cmd: str
    code: int
    says: str
    creates: tuple[str, ...] = ()
    errors: int | None = None  # default: 1 for a failure, 0 for a success
    setup: Callable[[Path], None] | None = None
    not_says: tuple[str, ...] = ()
    process: bool = False
    also: str | None = None  # said in stderr after the first line (the error after a warning)


# The options every translate row shares: the tiny model, greedy, a cache in the folder.
TR = "--model {m} --beam 1 --no-progress --cache {t}/cache.sqlite"
EXTRACT = "--strategy lead --sentences 1"
MARIAN = "{m}"

ROWS = [
    # --- summ translate: outputs that would destroy or mix ---------------------------------
    Row("translate onto its own input", f"translate {{t}}/in.txt -o {{t}}/in.txt {TR}", 2,
        "--output {t}/in.txt would overwrite the input {t}/in.txt", process=True),
    Row("translate onto its input spelt another way",
        f"translate {{t}}/in.txt -o {{t}}/adir/../in.txt {TR}", 2, "would overwrite the input"),
    Row("article folder onto itself", f"translate {{t}}/art -o {{t}}/art {TR}", 2,
        "is inside the input folder {t}/art"),
    Row("article folder into a subfolder of itself", f"translate {{t}}/art -o {{t}}/art/en {TR}",
        2, "is inside the input folder"),
    Row("--segments equal to -o",
        f"translate {{t}}/in.txt -o {{t}}/o.txt --segments {{t}}/o.txt {TR}", 2,
        "--segments {t}/o.txt is also the --output: translations and segment records would be "
        "mixed"),
    Row("--segments onto the input", f"translate {{t}}/in.txt --segments {{t}}/in.txt {TR}", 2,
        "--segments {t}/in.txt would overwrite the input"),
    Row("--segments into the article folder",
        f"translate {{t}}/art -o {{t}}/out --segments {{t}}/art/s.txt {TR}", 2,
        "--segments {t}/art/s.txt is inside the input folder"),
    Row("two inputs with one output name",
        f"translate {{t}}/x/s.txt {{t}}/y/s.txt -o {{t}}/multi {TR}", 2,
        "--output {t}/multi/s.en.txt: the results of {t}/x/s.txt and {t}/y/s.txt would both"),
    Row("several inputs onto one file", f"translate {{t}}/in.txt {{t}}/cr.txt -o {{t}}/o.txt {TR}",
        2, "several inputs: --output must be a directory"),
    # --- summ translate: outputs of the wrong kind or in the wrong place ------------------
    Row("-o an existing folder for a file input", f"translate {{t}}/in.txt -o {{t}}/adir {TR}", 2,
        "--output {t}/adir is a folder; this output is one file", process=True),
    Row("-o an existing folder for a JSONL input",
        f"translate {{t}}/docs.jsonl -o {{t}}/adir {TR}", 2, "--output {t}/adir is a folder"),
    Row("-o an existing file for a folder input", f"translate {{t}}/art -o {{t}}/afile {TR}", 2,
        "--output {t}/afile is a file; this output is a folder"),
    Row("-o in a place that cannot be written",
        f"translate {{t}}/in.txt -o /proc/summ-no-such/out.txt {TR}", 2,
        "--output /proc/summ-no-such/out.txt: cannot write in /proc", process=True),
    Row("-o under a file", f"translate {{t}}/in.txt -o {{t}}/afile/out.txt {TR}", 2,
        "--output {t}/afile/out.txt: {t}/afile is a file, not a folder"),
    Row("--segments an existing folder", f"translate {{t}}/in.txt --segments {{t}}/adir {TR}", 2,
        "--segments {t}/adir is a folder"),
    Row("folder input without -o", f"translate {{t}}/art {TR}", 2,
        "{t}/art is a directory of articles: give --output DIR"),
    Row("an output folder holding other files", f"translate {{t}}/art -o {{t}}/out {TR}", 0,
        "--output {t}/out already holds 1 .txt file(s) this run does not write (old.txt)",
        creates=("out/a.txt", "out/sub/c.txt", "cache.sqlite"), setup=_stale_output),
    # --- summ translate: option values -----------------------------------------------------
    Row("--beam 0", f"translate {{t}}/in.txt {TR} --beam 0", 2,
        "--beam must be an integer >= 1, got 0", process=True),
    Row("--beam -3", f"translate {{t}}/in.txt {TR} --beam -3", 2,
        "--beam must be an integer >= 1"),
    Row("--batch-tokens 0", f"translate {{t}}/in.txt {TR} --batch-tokens 0", 2,
        "--batch-tokens must be an integer >= 1, got 0"),
    Row("--max-input-tokens 0", f"translate {{t}}/in.txt {TR} --max-input-tokens 0", 2,
        "--max-input-tokens must be an integer >= 1, got 0"),
    Row("--max-input-tokens too small to split into", f"translate {{t}}/in.txt {TR} "
        "--max-input-tokens 2", 2, "--max-input-tokens must be at least 8", process=True),
    Row("--commit-every 0", f"translate {{t}}/in.txt {TR} --commit-every 0", 2,
        "--commit-every must be an integer >= 1, got 0"),
    Row("every bad value at once", f"translate {{t}}/in.txt {TR} --beam 0 --batch-tokens 0 "
        "--device cuda -o {t}/adir", 2, "--beam must be", errors=4),
    Row("--beam not a number", f"translate {{t}}/in.txt {TR} --beam x", 2,
        "argument --beam: invalid int value: 'x'", errors=0),
    Row("--dtype unknown", f"translate {{t}}/in.txt {TR} --dtype float8", 2,
        "argument --dtype: invalid choice: 'float8'", errors=0),
    Row("--compute-type with the hf engine", f"translate {{t}}/in.txt {TR} --compute-type int8", 2,
        "--compute-type applies to --engine ct2 only"),
    Row("--dtype with the ct2 engine", f"translate {{t}}/in.txt {TR} --engine ct2 --dtype float16",
        2, "--dtype applies to --engine hf only"),
    Row("--compute-type this build lacks", f"translate {{t}}/in.txt {TR} --engine ct2 "
        "--compute-type int16", 2, "--compute-type: compute_type 'int16' is not supported on cpu"),
    Row("--vocabulary target-script for an unknown language", f"translate {{t}}/in.txt {TR} "
        "--vocabulary target-script --tgt-lang xx", 2, "has no script rule for target language"),
    Row("--cache and --no-cache", f"translate {{t}}/in.txt {TR} --no-cache", 2,
        "--cache and --no-cache contradict each other"),
    # --- summ translate: devices, for every engine ----------------------------------------
    Row("--device cuda with hf and no GPU", f"translate {{t}}/in.txt {TR} --device cuda", 2,
        "device cuda requested but torch sees no CUDA GPU; use --device cpu"),
    Row("--device cuda with ct2 and no GPU", f"translate {{t}}/in.txt {TR} --engine ct2 "
        "--device cuda", 2, "device cuda requested but CTranslate2 sees no CUDA GPU"),
    Row("--device mps with ct2", f"translate {{t}}/in.txt {TR} --engine ct2 --device mps", 2,
        "CTranslate2 runs on cpu or cuda[:N], not 'mps'"),
    Row("--device a typo", f"translate {{t}}/in.txt {TR} --device gpu", 2,
        "--device 'gpu' is not a device: choose auto, cpu, cuda, cuda:N or mps"),
    Row("--device cuda:x", f"translate {{t}}/in.txt {TR} --device cuda:x", 2,
        "--device 'cuda:x' is not a device"),
    # --- summ translate: the cache ---------------------------------------------------------
    Row("--cache a folder", f"translate {{t}}/in.txt --model {MARIAN} --cache {{t}}/adir", 2,
        "--cache {t}/adir is a folder; give a file path such as {t}/adir/cache.sqlite"),
    Row("--cache not an SQLite file", f"translate {{t}}/in.txt --model {MARIAN} --cache "
        "{t}/notsqlite", 2, "--cache {t}/notsqlite is not an SQLite file"),
    Row("--cache the input", f"translate {{t}}/in.txt --model {MARIAN} --cache {{t}}/in.txt", 2,
        "--cache {t}/in.txt is the input {t}/in.txt"),
    Row("--cache the output", f"translate {{t}}/in.txt --model {MARIAN} --cache {{t}}/o.txt "
        "-o {t}/o.txt", 2, "--output {t}/o.txt is also the --cache"),
    # --- summ translate: models ------------------------------------------------------------
    Row("--model a weights file", "translate {t}/in.txt --no-cache --model {m}/model.safetensors",
        3, "--model {m}/model.safetensors is a file; pass the model's folder",
        not_says=("huggingface-cli",)),
    Row("--model a missing path", "translate {t}/in.txt --no-cache --model {t}/no-model", 3,
        "--model {t}/no-model: no such folder", not_says=("huggingface-cli",)),
    Row("--model a folder without config.json", "translate {t}/in.txt --no-cache --model "
        "{t}/tokonly", 3, "the folder has no config.json", process=True),
    Row("--model an unknown tiny family", "translate {t}/in.txt --no-cache --model tiny:nope", 2,
        "--model tiny:nope: unknown tiny model family 'nope'"),
    Row("--revision with a local folder", f"translate {{t}}/in.txt {TR} --revision main", 2,
        "--revision applies to hub models"),
    # --- summ translate: inputs --------------------------------------------------------------
    Row("a missing input", f"translate {{t}}/nothere.txt {TR}", 2,
        "{t}/nothere.txt: no such file or directory"),
    Row("a folder without articles", f"translate {{t}}/empty -o {{t}}/out {TR}", 2,
        "{t}/empty: directory has no .txt articles"),
    Row("a Windows Arabic file", f"translate {{t}}/cp.txt -o {{t}}/o.txt {TR}", 2,
        "{t}/cp.txt:1: not valid utf-8"),
    Row("a folder with Windows Arabic files", f"translate {{t}}/mixed -o {{t}}/out {TR}", 2,
        "2 of 3 files are not valid utf-8: {t}/mixed/b.txt, {t}/mixed/sub/d.txt"),
    Row("the advice taken for that folder", f"translate {{t}}/mixed -o {{t}}/out {TR} "
        "--encoding cp1256", 0, "1 of 3 files are valid UTF-8 and were read as UTF-8, not cp1256: "
        "a.txt", creates=("out/a.txt", "out/b.txt", "out/sub/d.txt", "cache.sqlite")),
    Row("a UTF-16 encoding", f"translate {{t}}/in.txt {TR} --encoding utf-16", 2,
        "encoding utf-16 is not supported for line files"),
    Row("an unknown encoding", f"translate {{t}}/in.txt {TR} --encoding latin-9", 2,
        "--encoding latin-9: unknown encoding"),
    Row("a JSONL record that is not JSON", f"translate {{t}}/bad.jsonl -o {{t}}/o.jsonl {TR}", 2,
        "{t}/bad.jsonl:2: not valid JSON"),
    Row("a lone CR inside a line", f"translate {{t}}/cr.txt -o {{t}}/o.txt {TR}", 0,
        "{t}/cr.txt: 1 line(s) hold a lone carriage return", creates=("o.txt", "cache.sqlite")),
    Row("a nested article folder", f"translate {{t}}/art -o {{t}}/out {TR}", 0,
        "1 file(s) not ending in .txt left out: README.md",
        creates=("out/a.txt", "out/sub/c.txt", "cache.sqlite")),
    # --- summ summarise -------------------------------------------------------------------
    Row("summarise onto its own input", f"summarise {{t}}/in.txt {EXTRACT} -o {{t}}/in.txt", 2,
        "--output {t}/in.txt would overwrite the input"),
    Row("summarise a folder into an article of it", f"summarise {{t}}/art {EXTRACT} "
        "-o {t}/art/sub/c.txt", 2, "is inside the input folder {t}/art"),
    Row("summarise onto the references", f"summarise {{t}}/in.txt {EXTRACT} --references "
        "{t}/refs.jsonl -o {t}/refs.jsonl", 2, "would overwrite the input {t}/refs.jsonl"),
    Row("summarise -o an existing folder", f"summarise {{t}}/in.txt {EXTRACT} -o {{t}}/adir", 2,
        "--output {t}/adir is a folder; this output is one file", process=True),
    Row("summarise -o in a place that cannot be written", f"summarise {{t}}/in.txt {EXTRACT} "
        "-o /proc/summ-no-such/s.jsonl", 2, "cannot write in /proc"),
    Row("summarise a missing input", f"summarise {{t}}/nothere.txt {EXTRACT}", 2,
        "{t}/nothere.txt: no such file or directory"),
    Row("summarise without --strategy", "summarise {t}/in.txt", 0,
        "strategy textrank (the default; choose another with --strategy)"),
    Row("summarise --sentences 0", "summarise {t}/in.txt --strategy lead --sentences 0", 2,
        "--sentences must be an integer >= 1, got 0"),
    Row("summarise --beam 0", "summarise {t}/in.txt --strategy abstractive --model tiny:mt5 "
        "--beam 0", 2, "--beam must be an integer >= 1, got 0"),
    Row("summarise --max-input-tokens 4", "summarise {t}/in.txt --strategy abstractive --model "
        "tiny:mt5 --max-input-tokens 4", 2, "--max-input-tokens must be an integer >= 8, got 4"),
    Row("summarise --max-tokens with an extractive strategy", "summarise {t}/in.txt --strategy "
        "lead --max-tokens 20", 2, "lead is extractive: its length is set by sentences"),
    Row("summarise --device cuda without a GPU", "summarise {t}/in.txt --strategy abstractive "
        "--model tiny:mt5 --device cuda", 2, "device cuda requested but torch sees no CUDA GPU"),
    Row("summarise --model a weights file", "summarise {t}/in.txt --strategy abstractive "
        "--model {m}/model.safetensors", 3, "--model {m}/model.safetensors is a file",
        not_says=("huggingface-cli",)),
    Row("summarise --translator a missing path", f"summarise {{t}}/in.txt {EXTRACT} --translator "
        "./no/such/model", 3, "--translator ./no/such/model: no such folder"),
    Row("summarise --cache a folder", f"summarise {{t}}/in.txt {EXTRACT} --translator {MARIAN} "
        "--cache {t}/adir", 2, "--cache {t}/adir is a folder"),
    Row("summarise --cache not an SQLite file", f"summarise {{t}}/in.txt {EXTRACT} --translator "
        f"{MARIAN} --cache {{t}}/notsqlite", 2, "is not an SQLite file"),
    Row("summarise --rouge-stem without references", f"summarise {{t}}/in.txt {EXTRACT} "
        "--rouge-stem", 2, "--rouge-stem applies to the ROUGE scores of --references"),
    Row("summarise with missing references", f"summarise {{t}}/in.txt {EXTRACT} --references "
        "{t}/nothere.jsonl", 2, "--references {t}/nothere.jsonl: no such file"),
    Row("summarise with a reference field the file lacks", f"summarise {{t}}/in.txt {EXTRACT} "
        "--references {t}/refs.jsonl --reference-field target_summary -o {t}/s.jsonl", 2,
        "--reference-field target_summary: 1 record(s) of {t}/refs.jsonl have no such text"),
    Row("summarise with references of other articles", f"summarise {{t}}/docs.jsonl {EXTRACT} "
        "--references {t}/refs.jsonl -o {t}/s.jsonl", 2, "ids do not match"),
    Row("summarise a nested folder", f"summarise {{t}}/art {EXTRACT} -o {{t}}/s.jsonl", 0,
        "1 file(s) not ending in .txt left out", creates=("s.jsonl",)),
    Row("summarise a mixed-encoding folder", f"summarise {{t}}/mixed {EXTRACT} --encoding cp1256",
        0, "1 of 3 files are valid UTF-8 and were read as UTF-8"),
    # --- summ evaluate ----------------------------------------------------------------------
    Row("the same --ref twice", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt --ref {t}/ref.txt",
        2, "--ref {t}/ref.txt is given twice: it would be scored as 2 references (nrefs:2)",
        process=True),
    Row("the same --ref spelt two ways", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt "
        "--ref {t}/adir/../ref.txt", 2, "is given twice"),
    Row("two identical reference files", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt "
        "--ref {t}/ref2.txt", 2, "--ref {t}/ref2.txt and --ref {t}/ref.txt are identical files"),
    Row("the Arabic source as the reference", "evaluate --hyp {t}/hyp.txt --ref {t}/ar.txt", 0,
        "reference {t}/ar.txt is in Arabic script (4 of 4 non-blank lines sampled) but the "
        "hypotheses are not"),
    Row("an untranslated file as the hypothesis", "evaluate --hyp {t}/ar.txt --ref {t}/ref.txt", 0,
        "hypothesis {t}/ar.txt is in Arabic script"),
    Row("the reference as its own hypothesis", "evaluate --hyp {t}/ref.txt --ref {t}/ref.txt", 0,
        "--hyp {t}/ref.txt is also --ref: it is scored against itself"),
    Row("a lone CR makes a line count sacrebleu refuses", "evaluate --hyp {t}/crh.txt "
        "--ref {t}/crref.txt", 2, "summ: {t}/crh.txt: 1 line(s) hold a lone carriage return",
        also="summ: error: {t}/crh.txt has 3 lines but {t}/crref.txt has 4"),
    Row("hypothesis and reference of different lengths", "evaluate --hyp {t}/short.txt "
        "--ref {t}/ref.txt", 2, "{t}/short.txt has 3 lines but {t}/ref.txt has 4"),
    Row("a missing hypothesis", "evaluate --hyp {t}/nothere.txt --ref {t}/ref.txt", 2,
        "--hyp {t}/nothere.txt: no such file"),
    Row("a folder as the hypothesis", "evaluate --hyp {t}/art --ref {t}/ref.txt", 2,
        "--hyp {t}/art is a folder; give a text file"),
    Row("--baseline with one system", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt "
        "--baseline hyp", 2, "--baseline needs two or more --hyp files"),
    Row("--baseline below corpus level", "evaluate --hyp {t}/hyp.txt --hyp {t}/hyp2.txt "
        "--ref {t}/ref.txt --baseline hyp --level sentence", 2,
        "--baseline: significance tests are corpus-level"),
    Row("--baseline not a system", "evaluate --hyp {t}/hyp.txt --hyp {t}/hyp2.txt "
        "--ref {t}/ref.txt --baseline other", 2, "baseline 'other' is not one of the systems"),
    Row("--level document without ids", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt "
        "--level document", 2, "--level document needs --doc-ids FILE"),
    Row("--doc-ids of another length", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt "
        "--level document --doc-ids {t}/in.txt", 2, "doc_ids has 2 entries but"),
    Row("comet without --src", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt --metrics comet", 2,
        "--metrics comet needs --src FILE"),
    Row("cometkiwi without --src", "evaluate --hyp {t}/hyp.txt --metrics cometkiwi", 2,
        "--metrics cometkiwi needs --src FILE"),
    Row("no --ref for metrics that need one", "evaluate --hyp {t}/hyp.txt --metrics chrf "
        "cometkiwi --src {t}/ar.txt", 2, "--ref FILE is missing: chrf score against a reference"),
    Row("no --ref and the default metrics", "evaluate --hyp {t}/hyp.txt", 2,
        "--ref FILE is missing: bleu, chrf, chrf++, ter score against a reference"),
    Row("--baseline with COMET metrics only", "evaluate --hyp {t}/hyp.txt --hyp {t}/hyp2.txt "
        "--ref {t}/ref.txt --src {t}/ar.txt --metrics comet --baseline hyp", 2,
        "--baseline: significance tests resample sacrebleu's metrics"),
    Row("--names of another count", "evaluate --hyp {t}/hyp.txt --ref {t}/ref.txt --names a b", 2,
        "2 names for 1 hypothesis files"),
    Row("a Windows Arabic hypothesis", "evaluate --hyp {t}/hypcp.txt --ref {t}/ar.txt", 2,
        "{t}/hypcp.txt:1: not valid utf-8"),
    Row("--n-samples 0", "evaluate --hyp {t}/hyp.txt --hyp {t}/hyp2.txt --ref {t}/ref.txt "
        "--baseline hyp --n-samples 0", 2, "n_samples must be a positive integer"),
    # --- summ run ---------------------------------------------------------------------------
    Row("run on a Windows Arabic dataset", "run {t}/cp.toml -o {t}/r --no-progress", 2,
        'set encoding = "cp1256" in its [[datasets]] table', not_says=("--encoding",)),
    Row("run with beam_size = 0", "run {t}/beam0.toml -o {t}/r --no-progress", 2,
        "defaults.decode.beam_size must be an integer >= 1"),
    Row('run with device = "cuda" and no GPU', "run {t}/cuda.toml -o {t}/r --no-progress", 2,
        "systems[0].device: cuda requested but no CUDA GPU is visible"),
    Row("run into a file", "run {t}/ok.toml -o {t}/afile --no-progress", 2,
        "output {t}/afile is a file, not a folder"),
    Row("run into a folder of the user's", "run {t}/ok.toml -o {t}/mine --no-progress", 2,
        "output {t}/mine is not empty and holds no manifest.json", setup=_user_folder),
    Row("run into a place under a file", "run {t}/ok.toml -o {t}/afile/r --no-progress", 2,
        "cannot create its lock file {t}/afile/.r.lock ({t}/afile is a file, not a folder)"),
    Row("run into a place that cannot be written", "run {t}/ok.toml -o /proc/summ-no-such/r", 2,
        "/proc/summ-no-such/r: cannot create its lock file"),
    Row("run a missing config", "run {t}/nothere.toml", 2,
        "{t}/nothere.toml: no such config file"),
    Row("run a config that is not TOML", "run {t}/broken.toml", 2,
        "{t}/broken.toml: not valid TOML"),
    Row("run --documents 0", "run {t}/ok.toml --documents 0 -o {t}/r", 2,
        "--documents must be a positive integer, not 0"),
    # --- summ report --------------------------------------------------------------------------
    Row("report on a truncated scores.csv", "report {t}/res", 2,
        "{t}/res/scores.csv: ends in the middle of a line", setup=_truncate("scores.csv"),
        process=True),
    Row("report on a truncated manifest.json", "report {t}/res", 2,
        "{t}/res/manifest.json: not readable JSON", setup=_truncate("manifest.json")),
    Row("report on a deleted scores.csv", "report {t}/res", 2,
        "{t}/res/scores.csv: missing, but the run wrote it", setup=_remove("scores.csv")),
    Row("report on a deleted significance.csv", "report {t}/res", 2,
        "{t}/res/significance.csv: missing", setup=_remove("significance.csv")),
    Row("report on a score that is not a number", "report {t}/res", 2,
        "{t}/res/scores.csv:2: score is 'lots', not a float", setup=_bad_score),
    Row("report on an unfinished run", "report {t}/res", 2, "{t}/res: the run did not finish",
        setup=_unfinished),
    Row("report on a folder that holds no results", "report {t}/art", 2,
        "{t}/art: no manifest.json; is this a results folder"),
    Row("report -o a file", "report {t}/res -o {t}/afile", 2,
        "--output {t}/afile is a file; this output is a folder", process=True),
    Row("report -o in a place that cannot be written", "report {t}/res -o /proc/summ-no-such", 2,
        "--output /proc/summ-no-such: cannot write in /proc"),
    Row("report with a missing published file", "report {t}/res --published {t}/nothere.csv", 2,
        "{t}/nothere.csv: cannot read the published-scores file"),
    # --- summ data fetch --------------------------------------------------------------------
    Row("data fetch into a file", "data fetch ntrex128 --dest {t}/afile", 2,
        "--dest {t}/afile is a file; give a folder"),
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def results(tiny_models, tmp_path_factory) -> Path:
    """A finished results folder from `summ run` on a two-line dataset."""
    root = tmp_path_factory.mktemp("mistakes-run")
    _write(root / "in.txt", "\n".join(ARABIC) + "\n")
    _write(root / "en.txt", "Welcome to the news\nHello everyone\n")
    _write(root / "ok.toml", _CONFIG.format(device="cpu", beam=1, src="in.txt"))
    assert main(["run", str(root / "ok.toml"), "-o", str(root / "res"), "--no-progress",
                 "--no-report"]) == 0
    return root / "res"


@pytest.fixture()
def summ_cli(capsys):
    """Run ``summ ARGV`` in-process (or as ``python -m summ``); returns (code, stdout, stderr).

    In-process, summ's log lines go to the captured stderr as the command line prints them
    (pytest's own log capture would otherwise take them).
    """

    def run(argv: list[str], process: bool = False) -> tuple[int, str, str]:
        if process:
            proc = subprocess.run([sys.executable, "-m", "summ", *argv], capture_output=True,
                                  text=True, timeout=300, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("summ: %(message)s"))
        log = logging.getLogger("summ")
        log.addHandler(handler)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        finally:
            log.removeHandler(handler)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_user_mistake(row: Row, tiny_models, results, summ_cli, tmp_path):
    model = tiny_models["marian"]
    make_workspace(tmp_path, model, results)
    if row.setup is not None:
        row.setup(tmp_path)
    before = _snapshot(tmp_path)
    code, _, err = summ_cli(shlex.split(row.cmd.format(t=tmp_path, m=model)), row.process)
    says = row.says.format(t=tmp_path, m=model)
    lines = err.splitlines()
    assert code == row.code, err
    if lines and lines[0].startswith("usage:"):  # argparse: usage first, its error last
        assert says in lines[-1], err
    elif row.code != 0:
        assert says in lines[0], err
        assert row.also is not None or lines[0].startswith("summ: error: "), err
    else:
        assert says in err, err
    if row.also is not None:
        assert row.also.format(t=tmp_path, m=model) in "\n".join(lines[1:]), err
    errors = row.errors if row.errors is not None else int(row.code != 0)
    assert sum(line.startswith("summ: error: ") for line in lines) == errors, err
    assert "Traceback" not in err
    for text in row.not_says:
        assert text not in err, err
    after = _snapshot(tmp_path)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], "files changed or removed"
    assert sorted(set(after) - set(before)) == sorted(row.creates)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".partial", ".lock"))]


def test_the_table_covers_every_command():
    commands = {r.cmd.split()[0] for r in ROWS}
    assert commands == {"translate", "summarise", "evaluate", "run", "report", "data"}
    assert len({r.name for r in ROWS}) == len(ROWS) >= 100
    assert sum(r.process for r in ROWS) >= 8


# ------------------------------------------------------------------------------------------
# What a row cannot say
# ------------------------------------------------------------------------------------------


def test_summarise_help_says_the_default_strategy():
    proc = subprocess.run([sys.executable, "-m", "summ", "summarise", "--help"],
                          capture_output=True, text=True, check=True)
    assert "(default: textrank, extractive, no" in proc.stdout


def _segments(path: Path) -> list[dict]:
    return [json.loads(line) for line in read_lines(path)]


def test_mixed_folder_files_are_each_read_in_their_encoding(tiny_models, tmp_path, summ_cli):
    """`--encoding cp1256` on a folder with one cp1256 file: the UTF-8 files stay Arabic (they
    were turned into mojibake, with exit 0 and "0 not Arabic")."""
    make_workspace(tmp_path, tiny_models["marian"])
    code, _, err = summ_cli(["translate", str(tmp_path / "mixed"), "-o", str(tmp_path / "out"),
                             "--segments", str(tmp_path / "s.jsonl"), "--encoding", "cp1256",
                             "--model", str(tiny_models["marian"]), "--beam", "1", "--no-cache"])
    assert code == 0, err
    sources = {r["document"]: r["source"] for r in _segments(tmp_path / "s.jsonl")}
    assert sources == {"a": ARABIC[0], "b": ARABIC[1], "sub/d": ARABIC[0]}
    assert "0 not Arabic" in err


def test_nested_folders_keep_their_tree(tiny_models, tmp_path, summ_cli):
    make_workspace(tmp_path, tiny_models["marian"])
    common = ["--model", str(tiny_models["marian"]), "--beam", "1", "--no-cache"]
    assert summ_cli(["translate", str(tmp_path / "art"), "-o", str(tmp_path / "out"),
                     "--segments", str(tmp_path / "s.jsonl"), *common])[0] == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*.txt")) == ["a.txt", "sub/c.txt"]
    # a.txt's two paragraphs stay two; the nested article is translated, not skipped.
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8").count("\n\n") == 1
    assert {r["document"] for r in _segments(tmp_path / "s.jsonl")} == {"a", "sub/c"}
    code, out, _ = summ_cli(["summarise", str(tmp_path / "art"), "--strategy", "lead",
                             "--sentences", "1"])
    assert code == 0 and out.splitlines() == ["=== a ===", ARABIC[0], "=== sub/c ===", ARABIC[1]]


def test_lone_cr_lines_count_as_wc_and_sacrebleu_count_them(tiny_models, tmp_path, summ_cli):
    make_workspace(tmp_path, tiny_models["marian"])
    out = tmp_path / "o.txt"
    code, _, err = summ_cli(["translate", str(tmp_path / "cr.txt"), "-o", str(out), "--model",
                             str(tiny_models["marian"]), "--beam", "1", "--no-cache"])
    assert code == 0, err
    wc = subprocess.run(["wc", "-l", str(tmp_path / "cr.txt")], capture_output=True, text=True,
                        check=True)
    assert int(wc.stdout.split()[0]) == 2 == len(read_lines(out))
    # sacrebleu refuses the pair summ evaluate refuses (it used to score 4 lines against 5).
    proc = subprocess.run([sys.executable, "-m", "sacrebleu", str(tmp_path / "crref.txt"), "-i",
                           str(tmp_path / "crh.txt"), "-b", "-q"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0 and "different lengths" in proc.stderr


def test_evaluate_csv_has_the_json_columns_and_values(tmp_path, summ_cli, tiny_models):
    make_workspace(tmp_path, tiny_models["marian"])
    base = ["evaluate", "--hyp", str(tmp_path / "hyp.txt"), "--hyp", str(tmp_path / "hyp2.txt"),
            "--ref", str(tmp_path / "ref.txt"), "--baseline", "hyp", "--n-samples", "50"]
    code, csv_text, _ = summ_cli([*base, "--format", "csv"])
    assert code == 0
    code, json_text, _ = summ_cli([*base, "--format", "json"])
    assert code == 0
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    scores = json.loads(json_text)["scores"]
    assert list(rows[0]) == list(scores[0])  # the same columns, in the same order
    assert {"p_value", "signature", "significant", "delta"} <= set(rows[0])
    tested = [r for r in rows if r["system"] == "hyp2"]
    assert tested and all(r["p_value"] and r["signature"] for r in tested)
    for r, s in zip(rows, scores):
        assert float(r["score"]) == s["score"] and r["signature"] == s["signature"]
        assert (float(r["p_value"]) if r["p_value"] else None) == s["p_value"]


def test_outputs_get_ordinary_permissions(tiny_models, tmp_path, summ_cli):
    """Found here: outputs came out 0600 (the temp file's mode), unreadable to a group."""
    make_workspace(tmp_path, tiny_models["marian"])
    out = tmp_path / "o.txt"
    old = os.umask(0o022)
    try:
        assert summ_cli(["translate", str(tmp_path / "in.txt"), "-o", str(out), "--model",
                         str(tiny_models["marian"]), "--beam", "1", "--no-cache"])[0] == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
    out.chmod(0o640)  # an existing output keeps its own mode
    assert summ_cli(["translate", str(tmp_path / "in.txt"), "-o", str(out), "--model",
                     str(tiny_models["marian"]), "--beam", "1", "--no-cache"])[0] == 0
    assert out.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------------------------------------
# Concurrent runs onto one output
# ------------------------------------------------------------------------------------------


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding ``path``'s output lock until killed."""
    code = ("import sys, time\nfrom summ.data import output_lock\n"
            "with output_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_locked_output_fails_at_once_before_the_model_loads(tmp_path, summ_cli, monkeypatch,
                                                              tiny_models):
    import summ.experiment
    import summ.translate

    make_workspace(tmp_path, tiny_models["marian"])

    def must_not_run(*args, **kwargs):
        raise AssertionError("the model loaded although the output is locked")

    monkeypatch.setattr(summ.translate, "load_translator", must_not_run)
    monkeypatch.setattr(summ.experiment, "run", must_not_run)
    for locked, argv in (
        (tmp_path / "o.txt", ["translate", str(tmp_path / "in.txt"), "-o", str(tmp_path / "o.txt"),
                              "--model", str(tiny_models["marian"]), "--no-cache"]),
        (tmp_path / "r", ["run", str(tmp_path / "ok.toml"), "-o", str(tmp_path / "r")]),
    ):
        holder = _hold_lock(locked)
        try:
            code, _, err = summ_cli(argv)
        finally:
            holder.kill()
            holder.wait()
        assert code == 2
        assert err.splitlines()[0] == (f"summ: error: {locked} is being written by another summ "
                                       f"run (lock {locked.parent / f'.{locked.name}.lock'}); "
                                       "wait for it to finish or choose another output")


def _expected_outputs(tmp_path: Path, model: Path) -> tuple[list[Path], list[bytes]]:
    """Two inputs and each one's output from a run on its own. Their line counts differ, so
    the outputs do too (a tiny model's outputs may not tell short lines apart)."""
    inputs, outputs = [], []
    for k, lines in enumerate((ARABIC, ["وداعا يا أصدقاء", "إلى اللقاء غدا", "شكرا لكم"])):
        path = tmp_path / f"in{k}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        alone = tmp_path / f"alone{k}.txt"
        assert main(["-q", "translate", str(path), "-o", str(alone), "--model", str(model),
                     "--beam", "1", "--no-cache"]) == 0
        inputs.append(path)
        outputs.append(alone.read_bytes())
    assert outputs[0] != outputs[1]
    return inputs, outputs


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith((".partial", ".lock"))]


def test_two_translate_commands_onto_one_output_never_mix(tiny_models, tmp_path):
    """Two `python -m summ translate` started together onto one -o: each either finishes or
    fails at once with one line, and the output is one run's complete output."""
    model = tiny_models["marian"]
    inputs, expected = _expected_outputs(tmp_path, model)
    out = tmp_path / "out.txt"
    for _ in range(2):  # many more rounds in the next test (processes that loop)
        out.unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-m", "summ", "translate", str(src), "-o",
                                   str(out), "--model", str(model), "--beam", "1", "--no-cache",
                                   "--no-progress"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for src in inputs]
        finished = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        for p in procs:
            p.stderr.close()
            p.stdout.close()
        assert 0 in [code for code, _ in finished]
        for code, err in finished:
            assert code in (0, 2) and "Traceback" not in err, err
            if code == 2:
                errors = [line for line in err.splitlines() if line.startswith("summ: error:")]
                assert len(errors) == 1 and "is being written by another summ run" in errors[0]
        assert out.read_bytes() in expected
        assert _leftovers(tmp_path) == []


_WORKER = """
import json, random, sys, time
from summ.cli import main
src, out, model, wanted = sys.argv[1:5]
codes = []
while codes.count(0) < int(wanted) and len(codes) < 500:
    codes.append(main(["-q", "translate", src, "-o", out, "--model", model, "--beam", "1",
                       "--no-cache", "--no-progress"]))
    if codes[-1] == 2:  # locked by the other: try again soon, as a retrying script would
        time.sleep(random.uniform(0, 0.05))
print(json.dumps(codes))
"""


def test_many_concurrent_runs_onto_one_output_only_ever_show_complete_outputs(tiny_models,
                                                                            tmp_path):
    """Two processes translate different inputs onto one output again and again (retrying
    when they find it locked), while this one reads the output as fast as it can: every read
    is one run's complete output, and every run either finishes or fails at once."""
    model = tiny_models["marian"]
    inputs, expected = _expected_outputs(tmp_path, model)
    out = tmp_path / "out.txt"
    wanted = 6
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(src), str(out), str(model),
                                 str(wanted)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for src in inputs]
    seen = set()
    deadline = time.monotonic() + 300
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        try:
            seen.add(out.read_bytes())
        except FileNotFoundError:
            continue  # before the first run finished
    results = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in results]
    codes = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in results]
    assert all(set(run) <= {0, 2} and run.count(0) == wanted for run in codes), codes
    assert any(2 in run for run in codes)  # the runs did meet on the lock
    assert seen <= set(expected), "a reader saw a mixed or partial output"
    for _, err in results:
        assert "Traceback" not in err
        assert all("is being written by another summ run" in line
                   for line in err.splitlines() if line.startswith("summ: error:"))
    assert out.read_bytes() in expected
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------
# summ data fetch: the file that fails its hash is named
# ------------------------------------------------------------------------------------------


def test_data_fetch_names_an_altered_file_and_a_bad_download(ntrex_dir, tmp_path, monkeypatch,
                                                              summ_cli):
    import dataclasses

    from summ import data

    from .test_data import Upstream

    server = Upstream(ntrex_dir)
    try:
        monkeypatch.setattr(data, "NTREX", dataclasses.replace(
            data.NTREX, url_template=server.url + "/{commit}/{path}"))
        folder = tmp_path / "ntrex128"
        folder.mkdir()
        for f in data.NTREX.files:
            shutil.copy(ntrex_dir / f.name, folder / f.name)
        (folder / "DOCUMENT_IDS.tsv").write_bytes(b"edited\n")
        code, out, err = summ_cli(["data", "fetch", "ntrex128", "--dest", str(tmp_path)])
        assert code == 0 and out.strip() == str(folder)
        assert (f"{folder / 'DOCUMENT_IDS.tsv'}: sha256 does not match NTREX-128 at commit "
                f"{data.NTREX.commit[:12]}") in err
        assert data.sha256_file(folder / "DOCUMENT_IDS.tsv") == \
            data.NTREX.file("DOCUMENT_IDS.tsv").sha256
        # A download that does not match its pinned hash: named, and not kept.
        (folder / "DOCUMENT_IDS.tsv").unlink()
        key = next(k for k in server.bodies if k.endswith("DOCUMENT_IDS.tsv"))
        server.bodies[key] = server.bodies[key][:-10]
        code, _, err = summ_cli(["data", "fetch", "ntrex128", "--dest", str(tmp_path)])
        assert code == 2
        errors = [line for line in err.splitlines() if line.startswith("summ: error: ")]
        assert len(errors) == 1
        assert errors[0].startswith(f"summ: error: {folder / 'DOCUMENT_IDS.tsv'}: the download "
                                    "from")
        assert not (folder / "DOCUMENT_IDS.tsv").exists()
    finally:
        server.server.shutdown()
        server.server.server_close()
