"""SQLite store of finished translations: every long run is resumable.

A row is keyed by a hash of (model id, resolved revision, engine, generation settings,
source text), so a changed setting never returns a stale output. Writes are committed in
batches by the pipeline (see ``BatchConfig.commit_every``); SQLite's write-ahead log lets
other processes read the file while a run writes it, and a ``kill -9`` loses at most the
batch in flight, never a committed row.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from summ.errors import ConfigError

#: What the cache stores per source: (output text, output tokens, whether it hit its cap).
Row = tuple[str, int, bool]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    key TEXT PRIMARY KEY,
    setting TEXT NOT NULL,      -- hash of the model/engine/settings part of the key
    source TEXT NOT NULL,
    output TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    hit_cap INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    setting TEXT PRIMARY KEY,
    description TEXT NOT NULL   -- the JSON the setting hash was made from, for inspection
);
"""

# SQLite limits the number of parameters per statement; look keys up in chunks below it.
_CHUNK = 500


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    """A translation cache in one SQLite file; the file's folder is created if needed."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigError(f"cache {self.path} is a folder; give a file path such as "
                              f"{self.path / 'cache.sqlite'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # check_same_thread=False: the notebook kernel may call from another thread;
            # access is still serialised by the GIL-held calls below.
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL with WAL is durable across process crashes (kill -9); only an OS crash can
            # lose the last commits, and then the run simply translates them again.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cache {self.path} is not a usable SQLite file ({exc}); "
                              "give another --cache path or remove that file") from None

    @staticmethod
    def setting_key(parts: dict) -> tuple[str, str]:
        """Hash of everything but the source text; returns (hash, canonical JSON)."""
        canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
        return _digest(canonical), canonical

    def get_many(self, parts: dict, sources: list[str]) -> dict[str, Row]:
        """The cached ``(text, n_tokens, hit_cap)`` for those ``sources`` that have one."""
        setting, _ = self.setting_key(parts)
        keys = {_digest(setting + "\x00" + s): s for s in sources}
        found: dict[str, Row] = {}
        items = list(keys)
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            query = ("SELECT key, output, n_tokens, hit_cap FROM translations WHERE key IN "
                     f"({','.join('?' * len(chunk))})")
            for key, output, n_tokens, hit_cap in self._db.execute(query, chunk):
                found[keys[key]] = (output, n_tokens, bool(hit_cap))
        return found

    def put_many(self, parts: dict, items: Iterable[tuple[str, Row]]) -> None:
        """Store ``(source, (text, n_tokens, hit_cap))`` pairs, committed in one transaction."""
        setting, description = self.setting_key(parts)
        rows = [
            (_digest(setting + "\x00" + src), setting, src, text, n_tokens, int(hit_cap))
            for src, (text, n_tokens, hit_cap) in items
        ]
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)",
                             (setting, description))
            self._db.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?)",
                                 rows)

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
