"""sacrebleu's command line as the independent reference for scores (``python -m sacrebleu``).

Shared by the tests that check numbers summ computes or stores: agreement with the CLI means
"a reader can reproduce our table with sacrebleu alone", whatever summ's own code does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

WIDTH = 4  # decimals the CLI prints (-w); agreement is checked at this precision
#: summ's metric names -> the names sacrebleu's CLI gives their scores.
CLI_NAMES = {"bleu": "BLEU", "chrf": "chrF2", "chrf++": "chrF2++", "ter": "TER"}


def fmt(x: float) -> str:
    return f"{x:.{WIDTH}f}"


def run_sacrebleu(*args: str | Path, env: dict[str, str] | None = None) -> str:
    """Run sacrebleu's CLI and return its stdout (fails the test on a non-zero exit)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "sacrebleu", *map(str, args), "-w", str(WIDTH), "-q", "-nc"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def cli_corpus(
    refs: list[Path], hyp: Path, *extra: str, env: dict[str, str] | None = None
) -> dict[str, dict]:
    """CLI corpus scores as {sacrebleu score name: json record}."""
    out = json.loads(run_sacrebleu(*refs, "-i", hyp, "-f", "json", *extra, env=env))
    records = out if isinstance(out, list) else [out]
    return {r["name"]: r for r in records}


def cli_all_metrics(refs: list[Path], hyp: Path) -> dict[str, dict]:
    """BLEU, chrF, chrF++ and TER of ``hyp`` as {summ metric name: CLI json record}."""
    found = cli_corpus(refs, hyp, "-m", "bleu", "chrf", "ter")
    found.update(cli_corpus(refs, hyp, "-m", "chrf", "--chrf-word-order", "2"))
    return {name: found[cli] for name, cli in CLI_NAMES.items()}


def cli_sentences(ref: Path, hyp: Path, metric: str) -> list[tuple[str, str]]:
    """``sacrebleu -sl``: (signature, score as printed) per line, for ``bleu`` or ``chrf``."""
    lines = run_sacrebleu(ref, "-i", hyp, "-m", metric, "-sl", "-f", "text").splitlines()
    return [re.match(r"^\S+?\|(\S+) = ([0-9.]+)", line).groups() for line in lines]


def parse_paired_latex(text: str) -> dict[str, list[list[float]]]:
    """{system: [numbers per metric column]} from `sacrebleu --paired-* -f latex`."""
    rows = {}
    for line in text.splitlines():
        if "&" in line and "System" not in line:
            cells = [c.strip() for c in line.rstrip("\\ ").split("&")]
            # The CLI names systems by the paths given to -i.
            rows[Path(cells[0].removeprefix("Baseline: ")).name] = [
                [float(x) for x in re.findall(r"\d+\.\d+", cell)] for cell in cells[1:]
            ]
    return rows


def parse_signatures(text: str) -> list[str]:
    return [
        line.split()[-1]
        for line in text.splitlines()
        if line.startswith(" - ") and "nrefs:" in line
    ]
