#!/usr/bin/env python
"""How long the test suite's session fixture takes to build every tiny model on this machine.

    python eval/bench/bench_tiny_build.py [--out eval/bench/results]

Builds each family of ``summ.testing.FAMILIES`` once, in one process (as the fixture does), into
a temporary folder, and writes ``OUT/tiny-build.md`` and ``.json``: seconds per family, the
total, and the machine (CPU flags included). It prints figures; it does not assert. The issue's
budget for all families is about 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from bench_translate import machine_info

    from summ.testing import FAMILIES, build_tiny_model

    info = machine_info()
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            t0 = time.perf_counter()
            build_tiny_model(Path(tmp) / family, family)
            seconds[family] = round(time.perf_counter() - t0, 2)
            print(f"{family}: {seconds[family]} s", flush=True)
    total = round(sum(seconds.values()), 1)
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in info["cpu_flags_checked"].items())
    lines = [
        "# Tiny test models: build time (eval/bench/bench_tiny_build.py)",
        "",
        f"Machine: {info['cpu']}, {info['physical_cores']} physical cores; CPU flags: {flags}; "
        f"torch {info['torch']}, transformers {info['transformers']}. Load average at start "
        f"{info['load_avg_start']}.",
        "",
        "| family | seconds |",
        "|---|---:|",
        *(f"| {family} | {s} |" for family, s in seconds.items()),
        f"| **all** | **{total}** |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tiny-build.md").write_text(text, encoding="utf-8")
    (args.out / "tiny-build.json").write_text(
        json.dumps({"machine": info, "seconds": seconds, "total_s": total}, indent=1) + "\n",
        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
