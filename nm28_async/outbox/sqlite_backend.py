"""The keeper's writes as SQL on one client id's rows of an outbox file. Runs on the store's
worker thread, inside the transaction the worker opened."""

from __future__ import annotations

import sqlite3

from .entry import Entry
from .rules import Ledger

_COLUMNS = "seq, topic, payload, qos, retain, stored_at, attempts"


class SqliteBackend:
    """One client id (`cid`) of one connection; `save` writes the ledger's next id and
    counters when they changed, in the same transaction as the rows they account for."""

    def __init__(self, conn: sqlite3.Connection, cid: int) -> None:
        self._conn = conn
        self._cid = cid
        self._saved: tuple[int, ...] | None = None

    def insert(self, entry: Entry) -> None:
        self._conn.execute(
            f"INSERT INTO outbox_entry (cid, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self._cid, entry.id, entry.topic, entry.payload, entry.qos, int(entry.retain),
             entry.stored_at, entry.attempts),
        )  # fmt: skip

    def delete(self, ids: list[int]) -> None:
        self._conn.executemany(
            "DELETE FROM outbox_entry WHERE cid = ? AND seq = ?",
            [(self._cid, entry_id) for entry_id in ids],
        )

    def read(self, entry_id: int) -> Entry | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox_entry WHERE cid = ? AND seq = ?",
            (self._cid, entry_id),
        ).fetchone()
        return None if row is None else _entry(row)

    def set_attempts(self, entry_id: int, attempts: int) -> None:
        self._conn.execute(
            "UPDATE outbox_entry SET attempts = ? WHERE cid = ? AND seq = ?",
            (attempts, self._cid, entry_id),
        )

    def bury(self, entry_id: int, attempts: int, died_at: float) -> None:
        self._conn.execute(
            f"INSERT OR REPLACE INTO outbox_dead (cid, {_COLUMNS}, died_at)"
            " SELECT cid, seq, topic, payload, qos, retain, stored_at, ?, ?"
            " FROM outbox_entry WHERE cid = ? AND seq = ?",
            (attempts, died_at, self._cid, entry_id),
        )
        self.delete([entry_id])

    def prune_dead(self, keep: int) -> None:
        self._conn.execute(
            "DELETE FROM outbox_dead WHERE cid = ? AND seq <= (SELECT seq FROM outbox_dead"
            " WHERE cid = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (self._cid, self._cid, keep),
        )

    def dead_letters(self) -> list[Entry]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox_dead WHERE cid = ? ORDER BY seq", (self._cid,)
        )
        return [_entry(row) for row in rows]

    def save(self, ledger: Ledger) -> None:
        state = (ledger.next_id, *ledger.counters.as_tuple())
        if state == self._saved:
            return
        self._conn.execute(
            "UPDATE outbox_client SET next_seq = ?, delivered = ?, expired = ?, dropped = ?,"
            " dead = ? WHERE cid = ?",
            (*state, self._cid),
        )
        self._saved = state

    def limit_pages(self, pages: int) -> int:
        """Cap the file's size in pages (a test's full disk); the cap now in force."""
        return int(self._conn.execute(f"PRAGMA max_page_count = {int(pages)}").fetchone()[0])

    def forget_saved(self) -> None:
        """After a rollback the file may hold other values than those last written."""
        self._saved = None


def _entry(row: tuple[object, ...]) -> Entry:
    """A row as an entry; a row of the wrong types is a corrupt file, reported as one."""
    seq, topic, payload, qos, retain, stored_at, attempts = row
    if (
        isinstance(seq, int) and isinstance(topic, str) and isinstance(payload, bytes)
        and isinstance(qos, int) and isinstance(retain, int) and isinstance(attempts, int)
        and isinstance(stored_at, float | int)
    ):  # fmt: skip
        return Entry(seq, topic, payload, qos, bool(retain), float(stored_at), attempts)
    raise sqlite3.DatabaseError(f"outbox row {seq!r} is malformed")
