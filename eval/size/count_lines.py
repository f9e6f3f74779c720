"""Lines of ``src/summ`` per module at git revisions, split into code, docstrings, comments and
blank lines (the size target of issue 11 counts all of them, as ``wc -l`` does).

Usage, from the repository root (the command behind ``lines.md``)::

    python eval/size/count_lines.py 0bb4a4d 22e668c HEAD > eval/size/lines.md

A docstring is the string that opens a module, class or function (its lines as ``ast`` spans
them); a comment line holds only a comment; the rest of the non-blank lines are code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter

KINDS = ("code", "docstring", "comment", "blank")
DEFINITIONS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def modules(rev: str) -> dict[str, str]:
    """Module path under src/summ -> its source at ``rev``."""
    paths = git("ls-tree", "-r", "--name-only", rev, "src/summ").split()
    return {p.removeprefix("src/summ/"): git("show", f"{rev}:{p}")
            for p in paths if p.endswith(".py")}


def kinds(source: str) -> Counter:
    lines = source.splitlines()
    kind = ["blank" if not line.strip() else
            "comment" if line.strip().startswith("#") else "code" for line in lines]
    for node in ast.walk(ast.parse(source)):
        first = node.body[0] if isinstance(node, DEFINITIONS) and node.body else None
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            kind[first.lineno - 1 : first.end_lineno] = ["docstring"] * (
                first.end_lineno - first.lineno + 1)
    return Counter(kind)


def main(revs: list[str]) -> None:
    names = {rev: git("rev-parse", "--short=7", rev).strip() for rev in revs}
    counted = {rev: {m: kinds(src) for m, src in modules(rev).items()} for rev in revs}
    every = sorted({m for per in counted.values() for m in per})
    print(f"# Lines of src/summ\n\nWritten by `python eval/size/count_lines.py "
          f"{' '.join(revs)}`.\n")
    print("| module | " + " | ".join(names[r] for r in revs) + " |")
    print("|---|" + "---:|" * len(revs))
    for m in every:
        cells = [str(sum(counted[r][m].values())) if m in counted[r] else "—" for r in revs]
        print(f"| `{m}` | " + " | ".join(cells) + " |")
    totals = {r: sum(counted[r].values(), Counter()) for r in revs}
    print("| **total** | " + " | ".join(f"**{sum(totals[r].values()):,}**" for r in revs) + " |")
    print("\n| revision | lines | " + " | ".join(KINDS) + " |")
    print("|---|---:|" + "---:|" * len(KINDS))
    for r in revs:
        print(f"| {names[r]} | {sum(totals[r].values()):,} | "
              + " | ".join(f"{totals[r][k]:,}" for k in KINDS) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["HEAD"])
