"""Every speed and memory figure the READMEs quote comes from a committed benchmark results file.

A table of figures is preceded by a marker naming the file it was copied from::

    <!-- figures: eval/bench/results/full.md -->

and every number in that table must appear in that file (the benchmark writes them; a number
typed by hand, or left over from an older run, fails here). Tables of speed or memory figures
without a marker fail too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "eval" / "bench" / "README.md"]
MARKER = re.compile(r"<!-- figures: (\S+) -->")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# Words that make a table one of figures (speed, memory, ratios).
FIGURE_WORDS = re.compile(r"tok/s|tokens/s|segments/s| MB|× HF|GOP/s|GFLOP/s|per actor")


def tables(text: str) -> list[tuple[str | None, list[str]]]:
    """(cited file or None, table lines) for each Markdown table in ``text``."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|"):
            start = i
            while i < len(lines) and lines[i].startswith("|"):
                i += 1
            cited = None
            for back in range(start - 1, max(start - 4, -1), -1):
                if (m := MARKER.search(lines[back])):
                    cited = m.group(1)
                    break
            out.append((cited, lines[start:i]))
        i += 1
    return out


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_is_in_the_results_file_it_cites(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    found = tables(text)
    cited = [(c, t) for c, t in found if c is not None]
    assert cited, f"{doc.name}: no table cites a results file"
    for source, table in found:
        body = "\n".join(table)
        if source is None:
            assert not FIGURE_WORDS.search(body), f"{doc.name}: figures without a source:\n{body}"
            continue
        path = ROOT / source
        assert path.is_file(), f"{doc.name} cites {source}, which is not committed"
        available = _numbers(path.read_text(encoding="utf-8"))
        for row in table[2:]:  # header and rule carry no figures
            cells = [c.strip() for c in row.strip("|").split("|")]
            missing = sorted(_numbers(" ".join(cells[1:])) - available)
            assert not missing, f"{doc.name}: {missing} in row {row!r} are not in {source}"


def test_results_files_record_the_machine() -> None:
    """The ratios depend on the CPU (int8 speed on AVX-512 VNNI): every committed results file
    names the CPU and whether it has VNNI."""
    results = sorted((ROOT / "eval" / "bench" / "results").glob("*.md"))
    assert results
    for path in results:
        text = path.read_text(encoding="utf-8")
        assert "avx512_vnni" in text, f"{path.name} does not record the CPU flags"
