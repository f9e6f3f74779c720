"""The Ray executor (summ.executors) on one local Ray: the same outputs as a local run, resume
by shards after kill -9 of the driver, failing shards reported, dead actors retried.

One Ray per test session (``ray.init(num_cpus=2)``, no dashboard, its files under pytest's
temp folder), started by the first test that needs it; the config and flag tests need no Ray.
Without Ray installed those tests report skipped (``pip install "summ[ray]"``).

Faults are injected by :class:`MarkedEngine`, the HF engine (so its outputs are the HF
engine's, byte for byte) that misbehaves on a segment holding a marker word: it raises, kills
its own process, or pauses. ``once`` markers act only on the first attempt (a file in
``$SUMM_TEST_MARKS`` remembers it), so that Ray's retry or a rerun succeeds.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from summ.engines.base import ENGINES, BatchConfig, DecodeConfig, register_engine
from summ.engines.hf import HFEngine
from summ.errors import ConfigError, MissingDependencyError

# Ray Data's own: copying its DataContext touches its deprecated fields (Ray 2.60).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLES = ROOT / "data" / "articles"
MARKS_ENV = "SUMM_TEST_MARKS"

# RunStats fields that count segments, pieces and flags: equal whatever the sharding. (Not
# `translated` and `output_tokens`: identical pieces are translated once per shard, as a
# local run translates them once per call.)
COUNTS = ("segments", "empty", "pieces", "split_segments", "capped", "not_arabic", "repetition",
          "empty_output", "cache_hits", "source_tokens")


# --------------------------------------------------------------------------- a faulty engine


class MarkedEngine(HFEngine):
    """The HF engine, with faults on marked segments (registered as ``marked`` by tests).

    ``FAILMARK``: raise. ``CRASHONCE-NAME``: kill this process the first time. ``CRASHMARK``:
    kill it every time. ``PAUSEONCE-NAME``: sleep ten minutes the first time.
    """

    def encode(self, texts: list[str]) -> list[list[int]]:
        marks = Path(os.environ[MARKS_ENV])
        for text in texts:
            if "FAILMARK" in text:
                raise RuntimeError("marked input")
            if "CRASHMARK" in text:
                os._exit(1)
            for kind, name in re.findall(r"(CRASHONCE|PAUSEONCE)-(\w+)", text):
                seen = marks / f"{kind}-{name}"
                if not seen.exists():
                    seen.touch()
                    if kind == "CRASHONCE":
                        os._exit(1)
                    time.sleep(600)
        return super().encode(texts)


MARKED = ("marked", "tests.test_ray:MarkedEngine")


@pytest.fixture()
def marked():
    register_engine(*MARKED)
    yield MARKED[0]
    ENGINES.pop(MARKED[0])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory) -> str:
    """One local Ray for the session; workers see this checkout and the marks folder."""
    marks = tmp_path_factory.mktemp("marks")
    with pytest.MonkeyPatch.context() as mp:
        if "ray" not in sys.modules:  # Ray reads these once, when it is imported
            # Token authentication, as a local Ray defaults to, with this session's own token:
            # nothing is written to ~/.ray, and the subprocess drivers below can join.
            mp.setenv("RAY_AUTH_MODE", "token")
            mp.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
        reason = 'the Ray executor needs pip install "summ[ray]"'
        ray = pytest.importorskip("ray", reason=reason)
        pytest.importorskip("ray.data", reason=reason)
        # Workers import summ and this module (MarkedEngine) from this checkout.
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(ROOT), str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
        mp.setenv(MARKS_ENV, str(marks))
        mp.setenv("HF_HUB_OFFLINE", "1")
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
                 _temp_dir=str(tmp_path_factory.mktemp("ray")))
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def ntrex_lines(data_dir) -> list[str]:
    from summ.data import load_ntrex128

    return list(load_ntrex128(data_dir).src[:40])


def ray_executor(**fields):
    from summ.executors import ExecutorConfig

    return ExecutorConfig(kind="ray", **{"actors": 2, "batch_size": 4, **fields})


def local_documents(model: Path, documents: list[str], **batch):
    from summ.translate import load_translator

    translator = load_translator(str(model), "hf", batch=BatchConfig(**batch))
    return translator.translate_documents(documents)


def counts(stats) -> dict:
    return {k: getattr(stats, k) for k in COUNTS}


def shard_files(store: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(store.glob("translate-*.jsonl"))}


# --------------------------------------------------------------------------- without Ray


def test_import_summ_and_the_cli_do_not_import_ray():
    code = ("import sys, summ, summ.executors, summ.cli, summ.experiment\n"
            "summ.cli.build_parser()\n"
            "print('ray' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_without_ray_the_error_names_the_extra(monkeypatch):
    from summ.executors import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # what an import of a missing package sees
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingDependencyError, match=re.escape('pip install "summ[ray]"')):
        connect()


@pytest.mark.parametrize("fields, problem", [
    ({"kind": "slurm"}, "kind must be one of local, ray, got 'slurm'"),
    ({"actors": 0}, "actors must be an integer >= 1"),
    ({"batch_size": 1.5}, "batch_size must be an integer >= 1"),
    ({"gpus_per_actor": -1}, "gpus_per_actor must be a number >= 0"),
    ({"max_task_retries": 0}, "max_task_retries must be an integer >= 1"),
])
def test_executor_config_refuses_bad_values(fields, problem):
    from summ.executors import ExecutorConfig

    with pytest.raises(ConfigError, match=re.escape(problem)):
        ExecutorConfig(**fields)


def write_config(folder: Path, body: str) -> Path:
    path = folder / "exp.toml"
    path.write_text(body, encoding="utf-8")
    return path


BASE = """
[[systems]]
name = "s"
model = "tiny:marian"
[[datasets]]
name = "d"
type = "ntrex128"
"""


def test_executor_table_and_command_line(tmp_path, data_dir):
    from summ.config import load_config

    path = write_config(tmp_path, BASE + '[executor]\nkind = "ray"\nactors = 3\nshards = "sh"\n'
                                         'gpus_per_actor = 1\nbatch_size = 8\n')
    config = load_config(path)
    ex = config.executor
    assert (ex.kind, ex.actors, ex.gpus_per_actor, ex.batch_size) == ("ray", 3, 1, 8)
    assert config.shards_path == tmp_path / "sh"  # relative to the config file
    # The command line wins over the table, and is recorded.
    config = load_config(path, executor={"actors": 5, "address": None})
    assert config.executor.actors == 5 and config.overrides["executor"] == {"actors": 5}
    # No table: the local executor, shards in the results folder if Ray is asked for.
    config = load_config(write_config(tmp_path, BASE), executor={"kind": "ray"})
    assert config.shards_path == config.output / "shards"


def test_executor_problems_are_listed_with_their_place(tmp_path, data_dir):
    from summ.config import load_config

    path = write_config(tmp_path, BASE + '[executor]\nkind = "ray"\nactors = 0\nnodes = 2\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "executor: unknown key 'nodes'" in str(err.value)
    assert "executor.actors must be an integer >= 1, got 0" in str(err.value)
    # Ray settings from the command line for a local run are an error, not ignored.
    with pytest.raises(ConfigError, match=r"executor: actors \(from the command line\) apply to "
                                          r"kind 'ray', not 'local'"):
        load_config(write_config(tmp_path, BASE), executor={"actors": 2})


def test_translate_flags_belong_to_the_ray_executor(tmp_path):
    from summ.cli import main

    src = tmp_path / "in.txt"
    src.write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", str(src), "--ray-actors", "2", "--no-progress"]) == 2
    assert main(["translate", str(src), "--executor", "ray", "--cache", str(tmp_path / "c"),
                 "--no-progress"]) == 2


# --------------------------------------------------------------------------- on Ray


def test_shards_rerun_and_their_files(tiny_models, ray_address, ntrex_lines, tmp_path):
    """Consecutive documents per shard, reassembled in order; a rerun reuses every shard,
    rewrites none and counts their pieces as a local rerun counts cache hits."""
    from summ.executors import RayTranslator, read_shard

    store, docs = tmp_path / "shards", ntrex_lines[:20]
    translator = RayTranslator(str(tiny_models["marian"]), executor=ray_executor(batch_size=6),
                               store=store)
    first = translator.translate_documents(docs)
    run = translator.last_run
    assert (run.shards, run.computed, run.reused) == (4, 4, 0)
    local = local_documents(tiny_models["marian"], docs)
    assert first.texts == local.texts and first.records == local.records
    assert first.segments == local.segments and counts(first.stats) == counts(local.stats)
    files = shard_files(store)
    sizes = []
    for _, _, data in files.values():
        header, shard_docs = read_shard(data.decode("utf-8"))
        assert header["documents"] == len(shard_docs) and header["settings"]["engine_name"] == "hf"
        sizes.append(len(shard_docs))
    assert sorted(sizes) == [2, 6, 6, 6]  # 20 lines in shards of 6
    again = translator.translate_documents(docs)
    assert (translator.last_run.computed, translator.last_run.reused) == (0, 4)
    assert again.texts == first.texts and again.records == first.records
    assert shard_files(store) == files  # nothing rewritten
    assert again.stats.cache_hits == first.stats.translated and again.stats.translated == 0


def test_run_on_ray_equals_the_local_run(tiny_models, ray_address, tmp_path, data_dir):
    """summ run, NTREX-128 (3 documents, several shards, long segments split) and the seed
    article, HF beam 4 and CTranslate2 float32, plus a model summary: every output file is
    byte-identical to the local executor's, and the counts are the same."""
    from summ.experiment import run_experiment

    body = f"""
metrics = ["bleu", "chrf"]
levels = ["corpus"]
[defaults.batch]
max_input_tokens = 24
[defaults.decode]
max_new_tokens = 12  # below the longest pieces: the tiny models copy, so some are capped
[[systems]]
name = "hf"
model = "{tiny_models['marian']}"
[[systems]]
name = "ct2"
model = "{tiny_models['marian']}"
engine = "ct2"
options = {{compute_type = "float32"}}
[[datasets]]
name = "ntrex128"
type = "ntrex128"
documents = 3
[[datasets]]
name = "seed"
type = "articles"
path = "{SEED_ARTICLES}"
[[summaries]]
name = "abs"
strategy = "abstractive"
model = "{tiny_models['bart']}"
systems = ["hf"]
datasets = ["ntrex128"]
"""
    path = write_config(tmp_path, body)
    local = run_experiment(path, output=tmp_path / "local", report=False)
    ray = run_experiment(path, output=tmp_path / "ray", report=False,
                         executor={"kind": "ray", "actors": 2, "batch_size": 8})
    assert local.exit_code == ray.exit_code == 0 and ray.ok == ("hf", "ct2")

    def outputs(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and p.parts[len(folder.parts)] in ("outputs", "summaries")}

    mine, theirs = outputs(tmp_path / "ray"), outputs(tmp_path / "local")
    assert "summaries/ntrex128/abs/hf.jsonl" in mine and "outputs/seed/ct2.segments.jsonl" in mine
    assert list(mine) == list(theirs)
    for name in mine:
        assert mine[name] == theirs[name], name
    manifests = [json.loads((tmp_path / f / "manifest.json").read_text())
                 for f in ("local", "ray")]
    for system in ("hf", "ct2"):
        for ds in ("ntrex128", "seed"):
            here, there = (m["systems"][system]["datasets"][ds]["summary"] for m in manifests)
            assert {k: here[k] for k in COUNTS} == {k: there[k] for k in COUNTS}, (system, ds)
        revisions = {m["systems"][system]["revision"] for m in manifests}
        assert len(revisions) == 1 and None not in revisions
    ntrex = manifests[1]["systems"]["hf"]["datasets"]["ntrex128"]
    assert ntrex["summary"]["split_segments"] > 0 and ntrex["summary"]["capped"] > 0
    shards = ntrex["shards"]
    assert shards["shards"] > 1 and shards["computed"] == shards["shards"]
    assert manifests[1]["executor"]["kind"] == "ray"


def test_ray_dataset_in_ray_dataset_out(tiny_models, ray_address, ntrex_lines, tmp_path):
    import ray

    from summ.executors import translate_dataset
    from summ.files import segment_objects

    docs = ntrex_lines[:6]
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(docs)])
    out = translate_dataset(ds, str(tiny_models["marian"]), executor=ray_executor(batch_size=2),
                            store=tmp_path / "shards")
    rows = sorted(out.take_all(), key=lambda r: r["id"])
    local = local_documents(tiny_models["marian"], docs)
    assert [r["text"] for r in rows] == docs  # the input columns are kept
    assert [r["translation"] for r in rows] == local.texts
    expected = [segment_objects(r, {}) for r in local.records]
    assert [json.loads(r["segments"]) for r in rows] == expected
    assert len(list((tmp_path / "shards").glob("translate-*.jsonl"))) == 3


def test_a_changed_setting_never_reuses_a_shard(tiny_models, ray_address, ntrex_lines, tmp_path):
    """Same store, other decode or split settings: every shard recomputed, outputs as local."""
    from summ.executors import RayTranslator
    from summ.translate import load_translator

    store, docs = tmp_path / "shards", ntrex_lines[:12]
    model = str(tiny_models["marian"])

    def on_ray(**settings):
        translator = RayTranslator(model, executor=ray_executor(), store=store, **settings)
        return translator.translate_documents(docs), translator.last_run

    _, run = on_ray(decode=DecodeConfig(beam_size=2))
    assert (run.computed, run.reused) == (3, 0)
    greedy = DecodeConfig(beam_size=1)
    split = BatchConfig(max_input_tokens=20)
    for settings in ({"decode": greedy}, {"decode": greedy, "batch": split}):
        result, run = on_ray(**settings)
        assert (run.computed, run.reused) == (3, 0), settings
        local = load_translator(model, **settings).translate_documents(docs)
        assert result.texts == local.texts and result.records == local.records
    assert len(shard_files(store)) == 9


def test_a_failing_shard_is_reported_and_the_others_finish(tiny_models, ray_address, marked,
                                                          ntrex_lines, tmp_path, capsys):
    """`summ translate` exits non-zero, names the shard, its lines and the error, writes no
    output; the other shards are stored."""
    from summ.cli import main

    lines = list(ntrex_lines[:24])
    lines[9] += " FAILMARK"  # line 10: shard 2 (lines 9-12) of six
    src, out, store = tmp_path / "in.txt", tmp_path / "out.txt", tmp_path / "shards"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["translate", str(src), "-o", str(out), "--model", str(tiny_models["marian"]),
                 "--engine", marked, "--executor", "ray", "--ray-address", ray_address,
                 "--ray-actors", "2", "--ray-batch-size", "4", "--shards", str(store),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 of 6 shards failed" in err
    assert "shard 2 (documents 9-12): RuntimeError: marked input" in err
    assert not out.exists()
    assert len(shard_files(store)) == 5


def test_a_dead_actor_is_restarted_and_its_shard_retried(tiny_models, ray_address, marked,
                                                        ntrex_lines, tmp_path):
    from summ.executors import RayTranslator

    docs = list(ntrex_lines[:16])
    docs[5] += " CRASHONCE-retry"
    translator = RayTranslator(str(tiny_models["marian"]), marked, executor=ray_executor(),
                               store=tmp_path / "shards")
    result = translator.translate_documents(docs)
    assert (Path(os.environ[MARKS_ENV]) / "CRASHONCE-retry").exists()  # it did die once
    assert translator.last_run.computed == 4
    local = local_documents(tiny_models["marian"], docs)
    assert result.texts == local.texts and result.records == local.records
    assert counts(result.stats) == counts(local.stats)


def test_a_shard_that_kills_every_actor_is_reported_lost(tiny_models, ray_address, marked,
                                                        ntrex_lines, tmp_path):
    from summ.executors import RayTranslator, ShardsFailedError

    docs = list(ntrex_lines[:8])
    docs[6] += " CRASHMARK"  # shard 1 of 2
    store = tmp_path / "shards"
    translator = RayTranslator(str(tiny_models["marian"]), marked, store=store,
                               executor=ray_executor(actors=1, max_task_retries=1))
    with pytest.raises(ShardsFailedError) as err:
        translator.translate_documents(docs)
    [failed] = err.value.failed
    assert (failed.index, failed.first, failed.last) == (1, 4, 7)
    assert failed.error.startswith("lost: its actor died more than max_task_retries=1 times")
    assert len(shard_files(store)) == 1


def test_a_model_that_cannot_load_is_its_one_line_error(ray_address, tmp_path):
    """An actor's ModelNotFoundError reaches the user as itself (exit code 3), not as Ray's."""
    from summ.errors import ModelNotFoundError
    from summ.executors import RayTranslator

    translator = RayTranslator(str(tmp_path / "no-such-model"), executor=ray_executor(actors=1),
                               store=None)
    with pytest.raises(ModelNotFoundError, match="no-such-model': no such directory"):
        translator.translate_documents(["مرحبا"])


DRIVER = """
import sys
from summ.engines.base import register_engine
register_engine("marked", "tests.test_ray:MarkedEngine")
from summ.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_kill_9_of_the_driver_then_rerun(tiny_models, ray_address, ntrex_lines, tmp_path):
    """The driver is killed while one shard is unfinished: the rerun computes only that shard
    and writes what an uninterrupted run writes."""
    from summ.files import translate_file
    from summ.translate import load_translator

    lines = list(ntrex_lines)
    lines[34] += " PAUSEONCE-kill"  # shard 8 (lines 33-36) of ten pauses the first time
    src, out, segs, store = (tmp_path / n for n in ("in.txt", "out.txt", "segs.jsonl", "shards"))
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference = tmp_path / "reference.txt"
    translate_file(load_translator(str(tiny_models["marian"])), src, reference,
                   segments=tmp_path / "reference.jsonl")
    command = [sys.executable, "-c", DRIVER, "translate", str(src), "-o", str(out),
               "--segments", str(segs), "--model", str(tiny_models["marian"]),
               "--engine", "marked",
               "--executor", "ray", "--ray-address", ray_address, "--ray-actors", "2",
               "--ray-batch-size", "4", "--shards", str(store), "--no-progress"]
    driver = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(shard_files(store)) < 9:
        assert driver.poll() is None, driver.stderr.read()
        assert time.monotonic() < deadline, "nine shards not written in time"
        time.sleep(0.5)
    driver.kill()  # SIGKILL: no cleanup of any kind
    driver.wait()
    assert not out.exists() and not segs.exists()
    before = shard_files(store)
    assert len(before) == 9

    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "10 shards: 1 computed, 9 reused" in rerun.stderr
    after = shard_files(store)
    assert len(after) == 10 and {k: after[k] for k in before} == before  # untouched
    assert out.read_bytes() == reference.read_bytes()
    assert segs.read_bytes() == (tmp_path / "reference.jsonl").read_bytes()
