"""The outbox file: its schema, and the checks made before anything is written to it, so a
foreign, corrupt or unreadable file raises OutboxError naming it and is left as it was.

Runs on the store's worker thread only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import OutboxError
from .rules import Counters, Ledger

APPLICATION_ID = 0x4E4D3238
"""`PRAGMA application_id` of an outbox file: "NM28"."""
VERSION = 1
"""`PRAGMA user_version` of this schema; a newer file is refused, not rewritten."""
BUSY_TIMEOUT_MS = 10_000
"""Several sessions' stores may share one file: a writer waits this long for another."""

TABLES = ("outbox_client", "outbox_entry", "outbox_dead")
_SCHEMA = """
CREATE TABLE outbox_client (
    cid INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    next_seq INTEGER NOT NULL DEFAULT 1,
    delivered INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE outbox_entry (
    cid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cid, seq)
) WITHOUT ROWID;
CREATE TABLE outbox_dead (
    cid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    died_at REAL NOT NULL,
    PRIMARY KEY (cid, seq)
) WITHOUT ROWID;
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open `path` as an outbox file, creating the schema in a new or empty file; WAL mode.

    Everything that could reject the file is read before the first write.
    """
    if path.is_dir():
        raise OutboxError(f"outbox file {str(path)!r} is a directory")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    except sqlite3.Error as exc:
        raise OutboxError(f"outbox file {str(path)!r} cannot be opened: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check(conn, path)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"outbox file {str(path)!r}: WAL mode unavailable ({mode})")
        _create(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise OutboxError(f"outbox file {str(path)!r} is not a readable outbox: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, without writing, a database that is not an outbox of a version we know."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    if app == 0 and version == 0 and not names:
        return  # new or empty: ours to create
    if app != APPLICATION_ID:
        raise OutboxError(
            f"outbox file {str(path)!r} is an SQLite database of another application"
            f" (application_id {app:#x}, tables {sorted(names)}); left unchanged"
        )
    if version != VERSION:
        raise OutboxError(
            f"outbox file {str(path)!r} has schema version {version}; this driver reads"
            f" version {VERSION}; left unchanged"
        )
    missing = [table for table in TABLES if table not in names]
    if missing:
        raise OutboxError(f"outbox file {str(path)!r} lacks tables {missing}; left unchanged")


def _create(conn: sqlite3.Connection) -> None:
    """Create the schema if absent, under the write lock (another process may race us)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def client_number(conn: sqlite3.Connection, client_id: str) -> int:
    """The number that keys this client id's rows (created on first use): several sessions
    share one file without repeating their client id in every row."""
    conn.execute("INSERT OR IGNORE INTO outbox_client (client_id) VALUES (?)", (client_id,))
    row = conn.execute("SELECT cid FROM outbox_client WHERE client_id = ?", (client_id,))
    return int(row.fetchone()[0])


def load(conn: sqlite3.Connection, cid: int, ledger: Ledger) -> None:
    """Fill the ledger from the file: the live entries in order, the counters, the next id
    (kept, so an id is never reused even after every entry was delivered)."""
    row = conn.execute(
        "SELECT next_seq, delivered, expired, dropped, dead FROM outbox_client WHERE cid = ?",
        (cid,),
    ).fetchone()
    next_seq, *counts = (int(value) for value in row)
    ledger.counters = Counters(*counts)
    ledger.next_id = next_seq
    rows = conn.execute(
        "SELECT seq, stored_at, attempts FROM outbox_entry WHERE cid = ? ORDER BY seq", (cid,)
    )
    ledger.load((int(seq), float(at), int(n)) for seq, at, n in rows)
    dead = conn.execute("SELECT max(seq) FROM outbox_dead WHERE cid = ?", (cid,)).fetchone()[0]
    if dead is not None:
        ledger.next_id = max(ledger.next_id, int(dead) + 1)
