"""sacrebleu's significance test table (test/test_significance.py) through summ.

sacrebleu v2.6.0 checks its paired tests on 15 WMT17 en-de systems against p-values from
Moses' bootstrap script (2,000 resamples) and from multeval's approximate randomisation
(10,000 trials), with ``BLEU(tokenize="none")`` and ``SACREBLEU_SEED=12345``. The system
outputs live in sacrebleu's repository (``test/wmt17_en_de_systems.pkl.bz2``), not in this one,
so this script takes that file's path::

    python eval/sacrebleu_significance/wmt17_rows.py PATH/wmt17_en_de_systems.pkl.bz2 \\
        > eval/sacrebleu_significance/wmt17_rows.txt

and runs each of the 30 rows through ``summ.metrics.compare(..., bleu={"tokenize": "none"})``
and through ``summ evaluate --baseline ... -tok none`` (on files written from the pickle),
checking each p-value against the table to sacrebleu's precision (0.01). It also counts the
rows whose verdict at p < 0.05 differs when the tokenizer is left at its default (13a), which is
why the setting matters.

The file is a pickle; it is read with an unpickler that refuses every global, so only plain
lists, tuples and strings can come out of it.
"""

from __future__ import annotations

import bz2
import io
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path

# p-values from sacrebleu's test/test_significance.py (Moses: mean of 3 runs of
# scripts/moses-sigdiff.pl with 2000 samples; multeval: 10,000 AR trials, BLEU column).
MOSES_P_VALS = {
    "newstest2017.C-3MA.4959.en-de": 0.00000,
    "newstest2017.FBK.4870.en-de": 0.01267,
    "newstest2017.KIT.4950.en-de": 0.02233,
    "newstest2017.LMU-nmt-reranked.4934.en-de": 0.04383,
    "newstest2017.LMU-nmt-single.4893.en-de": 0.20783,
    "newstest2017.online-A.0.en-de": 0.00000,
    "newstest2017.online-B.0.en-de": 0.38100,
    "newstest2017.online-F.0.en-de": 0.00000,
    "newstest2017.online-G.0.en-de": 0.00000,
    "newstest2017.PROMT-Rule-based.4735.en-de": 0.00000,
    "newstest2017.RWTH-nmt-ensemble.4921.en-de": 0.01167,
    "newstest2017.SYSTRAN.4847.en-de": 0.20983,
    "newstest2017.TALP-UPC.4834.en-de": 0.00000,
    "newstest2017.uedin-nmt.4722.en-de": 0.00000,
    "newstest2017.xmu.4910.en-de": 0.25483,
}
MULTEVAL_P_VALS = {
    "newstest2017.C-3MA.4959.en-de": 0.0001,
    "newstest2017.FBK.4870.en-de": 0.0218,
    "newstest2017.KIT.4950.en-de": 0.0410,
    "newstest2017.LMU-nmt-reranked.4934.en-de": 0.09029,
    "newstest2017.LMU-nmt-single.4893.en-de": 0.58494,
    "newstest2017.online-A.0.en-de": 0.0001,
    "newstest2017.online-B.0.en-de": 0.94111,
    "newstest2017.online-F.0.en-de": 0.0001,
    "newstest2017.online-G.0.en-de": 0.0001,
    "newstest2017.PROMT-Rule-based.4735.en-de": 0.0001,
    "newstest2017.RWTH-nmt-ensemble.4921.en-de": 0.0207,
    "newstest2017.SYSTRAN.4847.en-de": 0.59914,
    "newstest2017.TALP-UPC.4834.en-de": 0.0001,
    "newstest2017.uedin-nmt.4722.en-de": 0.0001,
    "newstest2017.xmu.4910.en-de": 0.71073,
}
TESTS = {"bs": (2000, MOSES_P_VALS), "ar": (10000, MULTEVAL_P_VALS)}
SEED = 12345
TOLERANCE = 1e-2  # sacrebleu's test


class _PlainData(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing {module}.{name}: only plain data is expected")


def load(path: str) -> tuple[dict[str, list[str]], list[list[str]]]:
    """(systems, reference streams) from sacrebleu's pickle (the last entry is the references)."""
    with bz2.open(path, "rb") as fh:
        entries = _PlainData(io.BytesIO(fh.read())).load()
    *named, (_, refs) = entries
    streams = [list(refs)] if isinstance(refs[0], str) else [list(r) for r in refs]
    return {name: list(lines) for name, lines in named}, streams


def cli_p_values(
    systems: dict[str, list[str]], refs: list[list[str]], baseline: str, method: str, n: int
) -> dict[str, float]:
    from contextlib import redirect_stdout

    from summ.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = list(systems)
        for i, name in enumerate(names):
            (folder / f"s{i}.txt").write_text(
                "".join(f"{x}\n" for x in systems[name]), encoding="utf-8"
            )
        ref_args = []
        for j, stream in enumerate(refs):
            (folder / f"ref{j}.txt").write_text(
                "".join(f"{x}\n" for x in stream), encoding="utf-8"
            )
            ref_args += ["--ref", str(folder / f"ref{j}.txt")]
        argv = [
            "evaluate",
            *(a for i in range(len(names)) for a in ("--hyp", str(folder / f"s{i}.txt"))),
            *ref_args,
            "--names",
            *names,
            "--baseline",
            baseline,
            "--metrics",
            "bleu",
            "--method",
            method,
            "--n-samples",
            str(n),
            "--seed",
            str(SEED),
            "-tok",
            "none",
            "--format",
            "json",
        ]
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = main(argv)
        if code != 0:
            raise SystemExit(f"summ evaluate exited {code}")
    return {
        c["system"]: c["p_value"]
        for c in json.loads(buf.getvalue())["comparisons"]
        if c["p_value"] is not None
    }


def main(argv: list[str]) -> int:
    from summ.metrics import compare

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    systems, refs = load(argv[0])
    baseline = next(iter(systems))  # sacrebleu's test: the first system is the baseline
    print(
        f"# sacrebleu test/test_significance.py rows through summ; baseline {baseline}; "
        f"{len(systems)} systems, {len(refs[0])} segments, seed {SEED}"
    )
    agree = {"api": 0, "cli": 0}
    changed = 0
    for method, (n, table) in TESTS.items():
        started = time.perf_counter()
        api = {
            c.system: c.p_value
            for c in compare(
                systems,
                refs,
                baseline,
                ["bleu"],
                method=method,
                n_samples=n,
                seed=SEED,
                bleu={"tokenize": "none"},
            )
            if c.p_value is not None
        }
        cli = cli_p_values(systems, refs, baseline, method, n)
        default = {
            c.system: c.p_value
            for c in compare(
                systems, refs, baseline, ["bleu"], method=method, n_samples=n, seed=SEED
            )
            if c.p_value is not None
        }
        print(f"\n## {method} ({n}), {time.perf_counter() - started:.0f} s")
        print("system | expected | summ API | summ evaluate | default tok 13a | verdict changes")
        for name, expected in table.items():
            flags = []
            for key, got in (("api", api[name]), ("cli", cli[name])):
                ok = abs(got - expected) < TOLERANCE
                agree[key] += ok
                flags.append(f"{got:.5f}{'' if ok else ' (DIFFERS)'}")
            verdict = (expected < 0.05) != (default[name] < 0.05)
            changed += verdict
            print(
                f"{name} | {expected:.5f} | {flags[0]} | {flags[1]} | {default[name]:.5f} | "
                f"{'yes' if verdict else 'no'}"
            )
    rows = sum(len(t) for _, t in TESTS.values())
    print(
        f"\nrows within {TOLERANCE}: API {agree['api']}/{rows}, "
        f"summ evaluate {agree['cli']}/{rows}; verdict at p < 0.05 differs with the default "
        f"tokenizer in {changed}/{rows}"
    )
    return 0 if agree["api"] == agree["cli"] == rows else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
