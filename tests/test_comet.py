"""COMET and COMETKiwi through summ give comet-score's numbers (metrics comet, cometkiwi).

The checkpoints are tiny and random (summ.testing.build_tiny_comet: a tiny XLM-R with a real
SentencePiece tokenizer, wrapped by COMET's own RegressionMetric / UnifiedMetric classes) and
load through COMET's real path (hparams.yaml, checkpoints/model.ckpt, pretrained_model by
name). The reference numbers come from the `comet-score` command of the same COMET
environment. Tests marked ``needs_comet`` skip where there is no COMET environment (the reason
gives the command that creates one) and fail instead under CI, which creates it (.ci/run).
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import summ.comet
from summ.comet import (
    close_workers,
    find_python,
    install_command,
    install_steps,
    missing_message,
    worker_stats,
)
from summ.errors import (
    ConfigError,
    InputError,
    MissingDependencyError,
    ModelNotFoundError,
    SummError,
)
from summ.metrics import COMET_METRICS, compare, score

from .conftest import ROOT

N = 12  # NTREX-128 lines scored: two documents' worth, a fraction of a second per model


@pytest.fixture(scope="session")
def comet_python() -> Path:
    python = find_python()
    if python is None:
        if os.environ.get("CI") == "true":  # CI creates the environment: its absence is a failure
            pytest.fail(f"CI has no COMET environment: {missing_message()}")
        pytest.skip(f"no COMET environment: {missing_message()}")
    return python


@pytest.fixture(scope="session")
def tiny_comet(comet_python, tmp_path_factory) -> dict[str, Path]:
    """Both tiny checkpoints, built once per session (a few seconds each)."""
    from summ.testing import build_tiny_comet

    root = tmp_path_factory.mktemp("tiny-comet")
    return {
        kind: build_tiny_comet(root / kind, kind, comet_python)
        for kind in ("regression", "unified")
    }


@pytest.fixture(scope="module")
def lines(ntrex_dir):
    """Sources, references, and hypotheses that differ from them in several ways per line."""
    srcs = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()[:N]
    refs = (ntrex_dir / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()[:N]
    hyps = [
        r
        if i % 3 == 0
        else " ".join(reversed(r.split()))
        if i % 3 == 1
        else " ".join(r.split()[: len(r.split()) // 2])
        for i, r in enumerate(refs)
    ]
    hyps[4] = ""  # an empty line is scored, not dropped
    hyps[5] = "  " + hyps[5] + " "  # comet-score strips lines, and so must summ
    return srcs, hyps, refs


def comet_score(python: Path, ckpt: Path | str, folder: Path, srcs, hyps, refs=None, env=None):
    """Run the real `comet-score` on files; return (segment scores, system score, JSON rows).

    Printed scores have 4 decimals; the JSON (--to_json) has every segment at full precision,
    each next to the src/mt/ref it belongs to.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {"src": srcs, "hyp": hyps} | ({"ref": refs} if refs is not None else {})
    for name, texts in files.items():
        (folder / f"{name}.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    cmd = [
        str(python.parent / "comet-score"),
        "-s",
        "src.txt",
        "-t",
        "hyp.txt",
        "--model",
        str(ckpt),
        "--gpus",
        "0",
        "--quiet",
        "--to_json",
        "out.json",
    ] + (["-r", "ref.txt"] if refs is not None else [])
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | (
        env or {}
    )
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=clean, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    segments = [
        m.group(1)
        for m in re.finditer(r"^hyp\.txt\tSegment \d+\tscore: (-?\d+\.\d{4})$", proc.stdout, re.M)
    ]
    (system,) = re.findall(r"^hyp\.txt\tscore: (-?\d+\.\d{4})$", proc.stdout, re.M)
    rows = json.loads((folder / "out.json").read_text(encoding="utf-8"))["hyp.txt"]
    return segments, system, rows


@pytest.fixture(scope="module")
def expected(comet_python, tiny_comet, lines, tmp_path_factory) -> dict:
    """comet-score's output on ``lines``: COMET with references, COMETKiwi without."""
    srcs, hyps, refs = lines
    folder = tmp_path_factory.mktemp("comet-score")
    return {
        "folder": folder,
        "comet": comet_score(
            comet_python, tiny_comet["regression"], folder / "comet", srcs, hyps, refs
        ),
        "cometkiwi": comet_score(
            comet_python, tiny_comet["unified"], folder / "cometkiwi", srcs, hyps
        ),
    }


def by_level(results, metric):
    return [s for s in results if s.metric == metric]


# --------------------------------------------------------------------------- equal to comet-score


def test_comet_equals_comet_score_segment_by_segment_and_system(tiny_comet, lines, expected):
    srcs, hyps, refs = lines
    ckpt = tiny_comet["regression"]
    printed, system, rows = expected["comet"]
    sentence = score(hyps, refs, ["comet"], level="sentence", srcs=srcs, comet_model=str(ckpt))
    (corpus,) = score(hyps, refs, ["comet"], srcs=srcs, comet_model=str(ckpt))

    assert len(sentence) == len(rows) == len(printed) == N
    for i, (ours, row, shown) in enumerate(zip(sentence, rows, printed)):
        # The JSON row of line i holds line i's own texts: the scores are not shifted.
        assert (row["src"], row["mt"], row["ref"]) == (
            srcs[i].strip(),
            hyps[i].strip(),
            refs[i].strip(),
        )
        assert ours.item == str(i) and ours.score == 100 * row["COMET"]  # same float, ×100
        assert f"{ours.score / 100:.4f}" == shown
    assert f"{corpus.score / 100:.4f}" == system
    assert corpus.score == pytest.approx(100 * sum(r["COMET"] for r in rows) / N, abs=1e-9)
    # Random weights, yet the scores follow the input (else equality would prove little).
    assert len({s.score for s in sentence}) >= N - 1


def test_cometkiwi_equals_comet_score_without_references(tiny_comet, lines, expected):
    srcs, hyps, refs = lines
    ckpt = tiny_comet["unified"]
    printed, system, rows = expected["cometkiwi"]
    sentence = score(
        hyps, None, ["cometkiwi"], level="sentence", srcs=srcs, cometkiwi_model=str(ckpt)
    )
    (corpus,) = score(hyps, None, ["cometkiwi"], srcs=srcs, cometkiwi_model=str(ckpt))
    # An empty ref_names (no reference streams, no names) is the same call, not an IndexError.
    (unnamed,) = score(hyps, None, ["cometkiwi"], srcs=srcs, cometkiwi_model=str(ckpt),
                       ref_names=[])
    assert unnamed.score == corpus.score

    assert [s.score for s in sentence] == [100 * r["COMET"] for r in rows]
    assert [f"{s.score / 100:.4f}" for s in sentence] == printed
    assert [r["mt"] for r in rows] == [h.strip() for h in hyps] and "ref" not in rows[0]
    assert f"{corpus.score / 100:.4f}" == system
    assert len({s.score for s in sentence}) >= N - 1
    # Given references beside other metrics, cometkiwi still scores without them.
    (with_refs,) = by_level(
        score(hyps, refs, ["chrf", "cometkiwi"], srcs=srcs, cometkiwi_model=str(ckpt)), "cometkiwi"
    )
    assert with_refs.score == corpus.score and "nrefs:0" in with_refs.signature


def test_document_scores_are_the_mean_of_their_segments(tiny_comet, lines, expected):
    srcs, hyps, refs = lines
    ckpt = tiny_comet["regression"]
    _, _, rows = expected["comet"]
    doc_ids = [
        "b",
        "a",
        "b",
        "c",
        "a",
        "b",
        "c",
        "c",
        "a",
        "b",
        "a",
        "c",
    ]  # interleaved on purpose
    docs = score(
        hyps, refs, ["comet"], level="document", doc_ids=doc_ids, srcs=srcs, comet_model=str(ckpt)
    )
    assert [d.item for d in docs] == ["b", "a", "c"] and [d.n for d in docs] == [4, 4, 4]
    for d in docs:
        own = [100 * r["COMET"] for r, doc in zip(rows, doc_ids) if doc == d.item]
        assert d.score == pytest.approx(sum(own) / len(own), abs=1e-9)
        assert "unit:segment|agg:mean" in d.signature


def test_signature_names_checkpoint_hash_version_batch_and_segments(
    comet_python, tiny_comet, lines
):
    import hashlib

    srcs, hyps, refs = lines
    ckpt = tiny_comet["regression"]
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()[:16]
    (s,) = score(hyps, refs, ["comet"], srcs=srcs, comet_model=str(ckpt))
    assert s.signature == (
        f"comet|model:regression@sha256:{digest}|nrefs:1|bs:16|unit:segment|agg:mean"
        "|prec:float16|scale:100|version:comet-2.2.7"
    )


def test_each_checkpoint_loads_once_and_segments_are_scored_once(comet_python, tiny_comet, lines):
    srcs, hyps, refs = lines
    ckpt = str(tiny_comet["regression"])
    before = worker_stats()
    for level, ids in (("corpus", None), ("sentence", None), ("document", ["d"] * N)):
        score(
            hyps[:-1] + ["once more"],
            refs,
            ["comet"],
            level=level,
            doc_ids=ids,
            srcs=srcs,
            comet_model=ckpt,
        )
    after = worker_stats()
    assert after["loads"] - before["loads"] <= 1  # 0 when an earlier test loaded it
    assert after["scored"] - before["scored"] == N  # three levels, one scoring pass


# --------------------------------------------------------------------------- never truncated


def test_segments_comet_would_truncate_are_refused_with_their_lines(
    comet_python, tiny_comet, lines
):
    srcs, hyps, refs = lines
    long = list(hyps)
    long[2] = " ".join([refs[2]] * 20)  # well over 510 tokens
    long[7] = " ".join([refs[7]] * 20)
    with pytest.raises(InputError) as err:
        score(
            long,
            refs,
            ["comet"],
            srcs=srcs,
            hyp_name="sys.en.txt",
            comet_model=str(tiny_comet["regression"]),
        )
    message = str(err.value)
    assert "\n" not in message
    assert re.search(
        r"sys\.en\.txt lines 3 \(\d+ tokens\), 8 \(\d+ tokens\) over 510 tokens \(per text\)",
        message,
    )
    assert "split long segments into sentences" in message


def test_cometkiwi_refuses_a_pair_that_fits_alone_but_not_joined(comet_python, tiny_comet, lines):
    srcs, hyps, refs = lines
    kiwi, reg = str(tiny_comet["unified"]), str(tiny_comet["regression"])
    src, hyp = list(srcs), list(hyps)
    src[0], hyp[0] = (
        " ".join([srcs[0]] * 7),
        " ".join([refs[0]] * 9),
    )  # each under 510, together over 512
    score(hyp, refs, ["comet"], srcs=src, comet_model=reg)  # separate encodings: nothing is cut
    with pytest.raises(
        InputError, match=r"hypotheses \+ srcs line 1 \(\d+ tokens\) over 512 tokens \(joined"
    ):
        score(hyp, None, ["cometkiwi"], srcs=src, cometkiwi_model=kiwi)


# --------------------------------------------------------------------------- evaluate and configs


def test_summ_evaluate_gives_the_comet_score_numbers(tiny_comet, expected, monkeypatch, capsys):
    from summ.cli import main

    reg_system, kiwi_system = expected["comet"][1], expected["cometkiwi"][1]
    monkeypatch.setenv("SUMM_COMET_MODEL", str(tiny_comet["regression"]))
    monkeypatch.setenv("SUMM_COMETKIWI_MODEL", str(tiny_comet["unified"]))
    files = expected["folder"] / "comet"  # the very files comet-score read
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--hyp",
            str(files / "hyp.txt"),
            "--ref",
            str(files / "ref.txt"),
            "--src",
            str(files / "src.txt"),
            "--metrics",
            "chrf",
            "comet",
            "cometkiwi",
            "--format",
            "json",
        ]
    )
    assert code == 0
    got = {s["metric"]: s for s in json.loads(capsys.readouterr().out)["scores"]}
    assert f"{got['comet']['score'] / 100:.4f}" == reg_system
    assert f"{got['cometkiwi']['score'] / 100:.4f}" == kiwi_system
    assert got["cometkiwi"]["signature"].startswith("cometkiwi|model:unified@sha256:")


def test_summ_evaluate_scores_cometkiwi_without_a_reference(tiny_comet, expected, monkeypatch,
                                                            capsys):
    from summ.cli import main

    monkeypatch.setenv("SUMM_COMETKIWI_MODEL", str(tiny_comet["unified"]))
    files = expected["folder"] / "comet"
    capsys.readouterr()
    code = main(["evaluate", "--hyp", str(files / "hyp.txt"), "--src", str(files / "src.txt"),
                 "--metrics", "cometkiwi", "--format", "json"])
    assert code == 0
    (got,) = json.loads(capsys.readouterr().out)["scores"]
    assert f"{got['score'] / 100:.4f}" == expected["cometkiwi"][1]  # comet-score's, no --ref
    assert "nrefs:0" in got["signature"]


def test_config_run_scores_comet_and_cometkiwi_like_comet_score(
    comet_python, tiny_comet, tiny_models, data_dir, tmp_path, monkeypatch
):
    import csv

    from summ.data import load_ntrex128, read_lines
    from summ.experiment import run_experiment

    monkeypatch.setenv("SUMM_TINY_MODELS", str(tiny_models["marian"].parent))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SUMM_COMET_MODEL", str(tiny_comet["regression"]))
    monkeypatch.setenv("SUMM_COMETKIWI_MODEL", str(tiny_comet["unified"]))
    config = tmp_path / "comet.toml"
    config.write_text(
        'metrics = ["chrf", "comet", "cometkiwi"]\nlevels = ["corpus"]\n'
        "[defaults.decode]\nbeam_size = 1\nmax_new_tokens = 8\n"
        '[[systems]]\nname = "marian"\nmodel = "tiny:marian"\n'
        '[[datasets]]\nname = "ntrex128"\ntype = "ntrex128"\ndocuments = 1\n',
        encoding="utf-8",
    )
    result = run_experiment(config, output=tmp_path / "out")
    assert result.ok == ("marian",)
    with (result.path / "scores.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["metric"]: r for r in csv.DictReader(fh)}
    corpus = load_ntrex128(data_dir).select_documents(1)
    hyps = read_lines(result.path / "outputs" / "ntrex128" / "marian.txt")
    _, reg, _ = comet_score(
        comet_python, tiny_comet["regression"], tmp_path / "r", corpus.src, hyps, corpus.refs[0]
    )
    _, kiwi, _ = comet_score(comet_python, tiny_comet["unified"], tmp_path / "k", corpus.src, hyps)
    assert f"{float(rows['comet']['score']) / 100:.4f}" == reg
    assert f"{float(rows['cometkiwi']['score']) / 100:.4f}" == kiwi


def test_comet_metrics_stay_out_of_significance_tests():
    for metric in COMET_METRICS:
        with pytest.raises(ConfigError, match="unknown metric"):
            compare({"a": ["x y"], "b": ["x z"]}, ["x y"], "a", metrics=[metric])


# ------------------------------------------------------------------ errors (no COMET needed)


def test_missing_environment_names_the_command_that_creates_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SUMM_COMET_PYTHON", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(MissingDependencyError) as err:
        score(["a"], ["a"], ["chrf", "comet"], srcs=["أ"])
    message = str(err.value)
    assert (
        "`summ comet install`" in message
        and install_command(tmp_path / "summ" / "comet-env") in message
    )
    assert "\n" not in message
    monkeypatch.setenv("SUMM_COMET_PYTHON", str(tmp_path / "nowhere" / "python"))
    with pytest.raises(
        MissingDependencyError, match=r"SUMM_COMET_PYTHON=.*nowhere/python is not a file"
    ):
        score(["a"], None, ["cometkiwi"], srcs=["أ"])


def test_missing_environment_is_exit_4_in_evaluate_and_a_config_problem(
    tmp_path, monkeypatch, capsys
):
    from summ.cli import main
    from summ.config import load_config

    monkeypatch.delenv("SUMM_COMET_PYTHON", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for name, text in (("h", "a\n"), ("r", "a\n"), ("s", "أ\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert (
        main(
            [
                "evaluate",
                "--hyp",
                str(tmp_path / "h"),
                "--ref",
                str(tmp_path / "r"),
                "--src",
                str(tmp_path / "s"),
                "--metrics",
                "comet",
            ]
        )
        == 4
    )
    assert "summ comet install" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text(
        'metrics = ["chrf", "cometkiwi"]\n[[systems]]\nname = "x"\nmodel = "tiny:marian"\n'
        '[[datasets]]\ntype = "ntrex128"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"metric 'cometkiwi' needs the COMET environment: .*summ comet install"
    ):
        load_config(config)


def test_a_worker_that_dies_is_one_line_with_its_last_words(tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
        "echo 'ImportError: libtorch.so: cannot open shared object file' >&2\nexit 3\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("SUMM_COMET_PYTHON", str(fake))
    with pytest.raises(SummError) as err:
        score(["a"], ["a"], ["comet"], srcs=["أ"])
    assert str(err.value) == (
        f"COMET worker ({fake}) stopped (exit 3): "
        "ImportError: libtorch.so: cannot open shared object file"
    )


def test_comet_inputs_are_checked_before_any_worker_starts(monkeypatch):
    monkeypatch.setenv("SUMM_COMET_PYTHON", "/nowhere/python")  # would fail if reached
    with pytest.raises(ConfigError, match="comet needs srcs"):
        score(["a"], ["a"], ["comet"])
    with pytest.raises(ConfigError, match="cometkiwi needs srcs"):
        score(["a"], None, ["cometkiwi"])
    with pytest.raises(ConfigError, match="one reference"):
        score(["a"], [["a"], ["b"]], ["comet"], srcs=["x"])
    with pytest.raises(InputError, match="srcs has 2 entries"):
        score(["a"], ["a"], ["comet"], srcs=["x", "y"])
    with pytest.raises(ConfigError, match=r"'chrf', 'comet' need references"):
        score(["a"], None, ["chrf", "comet", "cometkiwi"], srcs=["x"])


def test_a_checkpoint_that_does_not_load_is_one_line(comet_python, tmp_path):
    bad = tmp_path / "bad"
    (bad / "checkpoints").mkdir(parents=True)
    (bad / "checkpoints" / "model.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError) as err:
        score(["a"], ["a"], ["comet"], srcs=["أ"], comet_model=str(bad))
    assert "\n" not in str(
        err.value
    ) and f"{bad / 'checkpoints' / 'model.ckpt'} does not load" in str(err.value)


def test_gated_model_error_says_how_to_get_access(comet_python):
    """The worker's message for a gated hub model (huggingface_hub's own GatedRepoError)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import comet_worker, huggingface_hub\n"
        "from huggingface_hub.errors import GatedRepoError\n"
        "def gated(**kw): raise GatedRepoError('401 Client Error: gated')\n"
        "huggingface_hub.snapshot_download = gated\n"
        "print(comet_worker.handle({'op': 'score', 'model': 'Unbabel/wmt22-cometkiwi-da',"
        " 'samples': [],"
        " 'references': False}, {})['error'])\n"
    )
    proc = subprocess.run(
        [str(comet_python), "-c", code, str(summ.comet.worker_script().parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == (
        "Unbabel/wmt22-cometkiwi-da is gated on the Hugging Face hub: accept its licence on "
        "https://huggingface.co/Unbabel/wmt22-cometkiwi-da while logged in, then log in with "
        f"`{comet_python.parent / 'huggingface-cli'} login` (or set HF_TOKEN), and rerun"
    )


# ------------------------------------------------------------------ the environment itself


def test_install_steps_pin_this_torch_first_then_comet():
    from importlib.metadata import version

    steps = install_steps(Path("/env"), "python3")
    assert steps[0] == ["python3", "-m", "venv", "/env"]
    assert steps[1] == [
        "/env/bin/python",
        "-m",
        "pip",
        "install",
        "torch==" + version("torch").split("+")[0],
    ]
    assert steps[2] == [
        "/env/bin/python",
        "-m",
        "pip",
        "install",
        "unbabel-comet==2.2.7",
        "setuptools<81",
    ]


def test_ci_creates_the_comet_environment_with_summs_own_commands():
    """.ci/run cannot call `summ comet install` (summ is installed by its last line): it runs
    the same commands, into the folder summ looks in by default."""
    import shlex

    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert 'COMET_ENV="$XDG_CACHE_HOME/summ/comet-env"' in ci
    (line,) = [x for x in ci if "unbabel-comet" in x and not x.startswith("#")]
    expected = []
    for step in install_steps(Path("$COMET_ENV"), "python3"):
        expected += (["&&"] if expected else []) + step
    assert shlex.split(line) == expected
    assert ci.index(line) < len(ci) - 1  # before the README's test command, which must stay last


def test_worker_imports_nothing_from_summ():
    for name in ("comet_worker.py", "comet_tiny.py"):
        text = (summ.comet.worker_script().parent / name).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) summ\b", text, re.M), name


def test_module_docstring_example_runs():
    result = doctest.testmod(summ.comet)
    assert result.attempted >= 1 and result.failed == 0


def test_comet_extra_adds_nothing_that_conflicts_with_summ():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["comet"] == []  # unbabel-comet needs transformers<5
    code = "import sys, summ.comet, summ.metrics; print('torch' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


# --------------------------------------------------------------------------- last


# Restarts the worker (new hub settings): last, after every test that uses it.
def test_hub_id_is_resolved_like_comet_download_model_and_signed_with_its_revision(
    comet_python, tiny_comet, lines, tmp_path, monkeypatch
):
    """A hub id goes through huggingface_hub's cache (offline here) as comet-score's does."""
    srcs, hyps, refs = lines
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--summ-test--tiny-comet-da"
    shutil.copytree(
        tiny_comet["regression"].parents[1],
        repo / "snapshots" / commit,
        ignore=shutil.ignore_patterns("encoder"),
    )
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    hub = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    printed, system, _ = comet_score(
        comet_python, "summ-test/tiny-comet-da", tmp_path / "cli", srcs, hyps, refs, hub
    )
    for key, value in hub.items():
        monkeypatch.setenv(key, value)
    close_workers()  # the worker reads the hub settings when it starts
    try:
        monkeypatch.setenv("SUMM_COMET_MODEL", "summ-test/tiny-comet-da")
        sentence = score(hyps, refs, ["comet"], level="sentence", srcs=srcs)
        (corpus,) = score(hyps, refs, ["comet"], srcs=srcs)
    finally:
        close_workers()
    assert [
        f"{s.score / 100:.4f}" for s in sentence
    ] == printed and f"{corpus.score / 100:.4f}" == system
    assert corpus.signature.startswith(
        "comet|model:summ-test/tiny-comet-da@0123456789ab|nrefs:1|bs:16|"
    )
