"""The SQLite cache: keys, durability across processes, readers while a run writes."""

from __future__ import annotations

import multiprocessing
import sqlite3

from summ.cache import Cache
from summ.engines.base import Generation

PARTS = {"model": "m", "revision": "r", "engine": "hf:float32", "settings": {"beam": 4}}


def test_round_trip_and_setting_sensitivity(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    cache.put_many(PARTS, [("مرحبا", Generation("hello", 1, False)), ("وداعا", Generation("bye bye", 2, True))])
    assert cache.get_many(PARTS, ["مرحبا", "وداعا", "غير موجود"]) == {
        "مرحبا": Generation("hello", 1, False), "وداعا": Generation("bye bye", 2, True)}
    for changed in ({**PARTS, "revision": "r2"}, {**PARTS, "settings": {"beam": 5}}, {**PARTS, "engine": "ct2:int8"}):
        assert cache.get_many(changed, ["مرحبا"]) == {}
    assert len(cache) == 2


def test_many_keys_are_looked_up_in_chunks(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    items = [(f"جملة {i}", Generation(f"sentence {i}", 2, False)) for i in range(1500)]
    cache.put_many(PARTS, items)
    found = cache.get_many(PARTS, [s for s, _ in items])
    assert len(found) == 1500 and found["جملة 1499"][0] == "sentence 1499"


def _writer(path: str, n: int, halfway=None) -> None:
    cache = Cache(path)
    for i in range(n):
        if i == n // 2 and halfway is not None:
            halfway.wait(60)  # let the reader look in on a part-written cache (see the test)
        cache.put_many(PARTS, [(f"s{i}-{j}", Generation("x", 1, False)) for j in range(20)])


def test_readers_see_committed_rows_while_another_process_writes(tmp_path):
    path = tmp_path / "c.sqlite"
    Cache(path).close()
    ctx = multiprocessing.get_context("spawn")
    # The writer pauses half-way until the reader has seen a part-written cache (or 60 s pass),
    # so the reader is sure to look in mid-run however the two processes are scheduled.
    halfway = ctx.Event()
    proc = ctx.Process(target=_writer, args=(str(path), 200, halfway))
    proc.start()
    reader = Cache(path)
    seen = []
    while proc.is_alive():
        seen.append(len(reader))  # never raises "database is locked": WAL lets readers in
        if 0 < seen[-1] < 4000:
            halfway.set()
    proc.join()
    assert proc.exitcode == 0
    assert seen == sorted(seen) and all(n % 20 == 0 for n in seen)  # whole commits only, in order
    # The check above means something: the reader did look in while the writer was part-way.
    assert any(0 < n < 4000 for n in seen), f"the reader never saw a part-written cache ({len(seen)} reads)"
    assert len(reader) == 4000
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
