#!/usr/bin/env python
"""The Ray executor against a single process on this machine: throughput per actor, Ray's
start-up and per-shard overhead, peak memory per actor.

    python eval/bench/bench_ray.py [--smoke] [--engine ct2|hf] [--out eval/bench/results]

The model is the random-weight copy of Helsinki-NLP/opus-mt-ar-en's exact architecture that
bench_translate.py builds (speed depends on the shapes, not on the weights), translating
NTREX-128 (all 1,997 lines; ``--smoke``: 24). Three runs, each in a process of its own with
one thread per worker (``OMP_NUM_THREADS=1``): the single process (``load_translator`` +
``translate_documents``, what a local ``summ run`` does), then a fresh local Ray with 1 and
with 2 single-CPU actors (``RayTranslator``, shards of ``--batch-size`` lines written to a
fresh shard folder). Figures:

- throughput per actor relative to the single process (target >= 90%), steady (segments per
  second of shard compute) and end to end (segments per second of the whole job, start-up
  included, per actor);
- start-up: ``ray.init``, and from the job's start to its first shard's start (actor
  processes, imports, model load);
- per-shard overhead: the time each actor slot was not computing a shard after start-up
  (dispatch, serialisation, shard writes, the idle tail), per shard;
- peak RSS of each actor (its own ``ru_maxrss``, reported in the shard headers), and of the
  single process.

Results go to ``OUT/ray.md`` and ``OUT/ray.json`` (``--smoke``: ``ray-smoke.*``, whose figures
are not to be quoted: too few lines for any rate to settle). It prints figures; it does not
assert. Run it on a quiet machine: other processes on the cores skew every rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMOKE_LINES = 24
SMOKE_BATCH = 8
# 16 shards of NTREX-128: batches inside a shard fill up as in one process, and 2 actors
# get 8 shards each.
FULL_BATCH = 128
TARGET = 0.90


def _lines(n: int | None) -> list[str]:
    from summ.data import load_ntrex128

    lines = list(load_ntrex128().src)
    return lines if n is None else lines[:n]


def _translator_args(engine: str) -> dict:
    # CTranslate2 int8 is what a CPU cluster would run; float32 HF is the reference engine.
    return {"compute_type": "int8"} if engine == "ct2" else {"dtype": "float32"}


def single_worker(job: dict) -> dict:
    """The local path in this process: load, then translate every line in one call."""
    from summ.translate import load_translator

    lines = _lines(job["lines"])
    t0 = time.perf_counter()
    translator = load_translator(job["model"], job["engine"], device="cpu",
                                 **_translator_args(job["engine"]))
    loaded = time.perf_counter()
    result = translator.translate_documents(lines)
    done = time.perf_counter()
    return {"run": "single process", "actors": 0, "segments": result.stats.segments,
            "output_tokens": result.stats.output_tokens, "load_s": round(loaded - t0, 3),
            "compute_s": round(done - loaded, 3), "wall_s": round(done - t0, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "texts": result.texts}


def ray_worker(job: dict) -> dict:
    """A fresh local Ray with ``actors`` single-CPU actors, shards to a fresh folder."""
    import ray

    from summ.executors import ExecutorConfig, RayTranslator

    lines = _lines(job["lines"])
    temp = Path(tempfile.mkdtemp(prefix="summ-bench-ray-"))
    t0 = time.perf_counter()
    ray.init(num_cpus=job["actors"], include_dashboard=False, logging_level="WARNING",
             _temp_dir=str(temp / "ray"))
    init_s = time.perf_counter() - t0
    executor = ExecutorConfig(kind="ray", actors=job["actors"], cpus_per_actor=1,
                              batch_size=job["batch_size"])
    translator = RayTranslator(job["model"], job["engine"], executor=executor,
                               store=temp / "shards", device="cpu",
                               **_translator_args(job["engine"]))
    job_start = time.time()
    t1 = time.perf_counter()
    result = translator.translate_documents(lines)
    wall = time.perf_counter() - t1
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
    workers = [h["worker"] for h in translator.last_run.headers]
    busy = sum(w["seconds"] for w in workers)
    startup = min(w["start_time"] for w in workers) - job_start
    shards = len(workers)
    rss: dict[int, float] = {}
    for w in workers:
        rss[w["pid"]] = max(rss.get(w["pid"], 0.0), w["peak_rss_mb"] or 0.0)
    return {"run": f"Ray, {job['actors']} actor{'s' if job['actors'] > 1 else ''}",
            "actors": job["actors"], "segments": result.stats.segments,
            "output_tokens": result.stats.output_tokens, "ray_init_s": round(init_s, 3),
            "startup_s": round(startup, 3), "compute_s": round(busy, 3), "wall_s": round(wall, 3),
            "shards": shards,
            "per_shard_overhead_s": round((job["actors"] * (wall - startup) - busy) / shards, 4),
            "actor_peak_rss_mb": sorted(rss.values()), "texts": result.texts}


def _run(job: dict, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        proc = subprocess.run([sys.executable, __file__, "--worker", str(job_path), str(out_path)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{job['kind']} run failed:\n{proc.stderr[-4000:]}")
        return json.loads(out_path.read_text(encoding="utf-8"))


def analyse(single: dict, rays: list[dict]) -> list[dict]:
    base = single["segments"] / single["compute_s"]
    rows = [{"run": single["run"], "segments_per_s": round(base, 2), "per_actor_steady": 1.0,
             "per_actor_end_to_end": round(single["segments"] / single["wall_s"] / base, 3),
             "start_up_s": single["load_s"], "per_shard_overhead_s": None,
             "peak_rss_mb": [single["peak_rss_mb"]], "same_outputs": True}]
    for r in rays:
        steady = r["segments"] / r["compute_s"]
        end_to_end = r["segments"] / r["wall_s"] / r["actors"]
        rows.append({"run": r["run"], "segments_per_s": round(r["segments"] / r["wall_s"], 2),
                     "per_actor_steady": round(steady / base, 3),
                     "per_actor_end_to_end": round(end_to_end / base, 3),
                     "start_up_s": round(r["ray_init_s"] + r["startup_s"], 2),
                     "ray_init_s": r["ray_init_s"], "first_shard_after_s": r["startup_s"],
                     "per_shard_overhead_s": r["per_shard_overhead_s"], "shards": r["shards"],
                     "peak_rss_mb": r["actor_peak_rss_mb"],
                     "same_outputs": r["texts"] == single["texts"]})
    return rows


def markdown(rows: list[dict], meta: dict) -> str:
    smoke = " (SMOKE: figures not to be quoted)" if meta["smoke"] else ""
    flags = meta.get("cpu_flags_checked", {})
    machine = ("CPU flags: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items())
               + (f" ({meta['cpu_flags_note']})" if meta.get("cpu_flags_note") else "")
               + ".\n\n") if flags else ""
    head = (f"# Ray executor vs one process{smoke}\n\n{machine}"
            f"{meta['lines']} NTREX-128 segments, random-weight opus-mt-ar-en architecture, engine "
            f"{meta['engine']}, one thread per worker, shards of {meta['batch_size']} lines; "
            f"{meta['cpu']} ({meta['cores']} logical CPUs), load average at start "
            f"{meta['load_avg_start']}. Target: per-actor throughput >= {TARGET:.0%} of one "
            "process.\n\n")
    lines = ["| run | segments/s (wall) | per actor, steady | per actor, end to end | start-up s "
             "| overhead s/shard | peak RSS MB | same outputs |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        overhead = "" if r["per_shard_overhead_s"] is None else f"{r['per_shard_overhead_s']:.3f}"
        lines.append(f"| {r['run']} | {r['segments_per_s']:.2f} | {r['per_actor_steady']:.1%} | "
                     f"{r['per_actor_end_to_end']:.1%} | {r['start_up_s']:.1f} | {overhead} | "
                     f"{', '.join(f'{m:.0f}' for m in r['peak_rss_mb'])} | "
                     f"{'yes' if r['same_outputs'] else 'NO'} |")
    notes = ("\n\nSteady: segments per second of shard compute, per actor, over the single "
             "process's segments per second of translate_documents (model load excluded). "
             "End to end: the whole job (Ray's actor start-up included; for the single process, "
             "its model load). Start-up: ray.init plus the time from the job's start to its "
             "first shard's start (single process: model load). Overhead per shard: actor time "
             "not spent computing a shard after start-up, divided by the shards.\n")
    return head + "\n".join(lines) + notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_LINES} lines: proves the code paths run (figures not to "
                             "be quoted)")
    parser.add_argument("--engine", choices=["ct2", "hf"], default="ct2")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"lines per shard (default {FULL_BATCH}; --smoke {SMOKE_BATCH})")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--work", type=Path, default=Path("~/.cache/summ/bench").expanduser(),
                        help="where bench_translate.py keeps the random-weight models")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="rewrite the Markdown of an earlier run from its .json, and exit")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render:
        raw = json.loads(args.render.read_text(encoding="utf-8"))
        args.render.with_suffix(".md").write_text(markdown(raw["rows"], raw["meta"]),
                                                  encoding="utf-8")
        return 0
    if args.worker:
        job = json.loads(args.worker[0].read_text(encoding="utf-8"))
        result = single_worker(job) if job["kind"] == "single" else ray_worker(job)
        args.worker[1].write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0

    sys.path.insert(0, str(HERE))
    from bench_translate import ensure_model  # the same builder, the same cached model

    model, built_s = ensure_model(args.work, "opus-mt-ar-en")
    n_lines = SMOKE_LINES if args.smoke else None
    batch = args.batch_size or (SMOKE_BATCH if args.smoke else FULL_BATCH)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "SUMM_CT2_CACHE": str(args.work / "ct2"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1] / "src"),
                                                       os.environ.get("PYTHONPATH")]))}
    env.pop("CT2_USE_MKL", None)  # int8 is 8-40x slower with MKL on AMD CPUs
    common = {"model": str(model), "engine": args.engine, "lines": n_lines, "batch_size": batch}
    load_avg = [round(x, 2) for x in os.getloadavg()]
    print(f"model {model} (built in {built_s:.0f} s)" if built_s else f"model {model}", flush=True)
    # Once untimed, so that the CTranslate2 conversion (cached in WORK) is in no timed run.
    _run({**common, "kind": "single", "lines": 1}, env)
    single = _run({**common, "kind": "single"}, env)
    print(f"single process: {single['segments'] / single['compute_s']:.2f} segments/s", flush=True)
    rays = []
    for actors in (1, 2):
        rays.append(_run({**common, "kind": "ray", "actors": actors}, env))
        rate = rays[-1]["segments"] / rays[-1]["wall_s"]
        print(f"Ray, {actors} actor(s): {rate:.2f} segments/s (wall)", flush=True)
    rows = analyse(single, rays)
    from bench_translate import machine_info  # CPU model and flags, as the other benchmarks

    info = machine_info()
    meta = {"smoke": args.smoke, "lines": single["segments"], "engine": args.engine,
            "batch_size": batch, "cpu": info["cpu"], "cpu_flags_checked": info["cpu_flags_checked"],
            "cores": os.cpu_count(), "load_avg_start": load_avg,
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version()}
    text = markdown(rows, meta)
    print(text)
    name = "ray-smoke" if args.smoke else "ray"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(text, encoding="utf-8")
    raw = {"meta": meta, "rows": rows,
           "runs": [{k: v for k, v in r.items() if k != "texts"} for r in [single, *rays]]}
    (args.out / f"{name}.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / name}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
