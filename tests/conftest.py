"""Shared fixtures: where the shared data lives, and the tiny models (built once per session)."""

from __future__ import annotations

import os
from pathlib import Path

# Tiny models are fastest on one thread, and two OpenMP threads spin-waiting on a 2-core
# machine that is also running other work make each step 100x slower. Set before torch loads;
# subprocesses (CLI runs, notebook kernels) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tests define CPU behaviour (device "auto" -> cpu, CTranslate2 compute type int8, HF and
# CTranslate2 outputs compared token for token); speed on a GPU is the benchmark's job. So hide
# any GPU, before torch or ctranslate2 initialise CUDA; subprocesses and notebook kernels inherit
# it. Assigned, not setdefault: GPU schedulers (SLURM, cloud runners) set CUDA_VISIBLE_DEVICES
# themselves, and a setdefault would leave the GPU visible exactly there.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import pytest  # noqa: E402

import summ.testing  # noqa: E402,F401 - registers tiny:FAMILY ids for in-process experiment runs

ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "data" / "articles" / "putin-assad-2023-03-15.ar.txt"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder that holds ``ntrex128/``: ``$SUMM_DATA_DIR`` (``.ci/run`` points it at
    ../shared/data), else where ``summ data fetch ntrex128`` puts it."""
    from summ.data import data_dir as configured

    path = configured()
    if not (path / "ntrex128" / "newstest2019-ref.arb.txt").is_file():
        pytest.fail(f"no NTREX-128 in {path}: run `summ data fetch ntrex128` or set SUMM_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def ntrex_dir(data_dir: Path) -> Path:
    return data_dir / "ntrex128"


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """One tiny model per supported family, built once per test session (a few seconds)."""
    from summ.testing import FAMILIES, build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {family: build_tiny_model(root / family, family) for family in FAMILIES}
