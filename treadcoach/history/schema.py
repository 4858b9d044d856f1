"""The journal's SQLite schema and its migrations.

``PRAGMA user_version`` holds the schema version; ``MIGRATIONS[i]`` takes a journal from version
``i`` to ``i + 1``. To change the schema, append a migration (never edit a shipped one) and the
version follows. ``PRAGMA application_id`` marks the file as ours, so pointing ``--db`` at some
other SQLite database is refused instead of being written into.
"""

from __future__ import annotations

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION"]

APPLICATION_ID = 0x54434A31  # "TCJ1"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: sessions with a running tally, and the event stream as it happened.
    (
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,          -- ISO 8601 as given (keeps the UTC offset)
            started_at_utc REAL NOT NULL,      -- Unix seconds, for ordering
            plan TEXT NOT NULL,
            device TEXT NOT NULL,
            address TEXT NOT NULL,
            simulated INTEGER NOT NULL,
            planned_backward_s REAL NOT NULL,
            planned_duration_s REAL NOT NULL,
            -- running tally, updated in the same transaction as each appended event
            event_count INTEGER NOT NULL DEFAULT 0,
            duration_s REAL NOT NULL DEFAULT 0,
            distance_m REAL NOT NULL DEFAULT 0,
            backward_s REAL NOT NULL DEFAULT 0,
            backward_distance_m REAL NOT NULL DEFAULT 0,
            stop_reason TEXT,
            completed INTEGER NOT NULL DEFAULT 0,
            -- 0 until finish_session: a session left at 0 was interrupted (the process died)
            finished INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX sessions_by_start ON sessions (started_at_utc, id)",
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            t REAL NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL                 -- the event's JSON, exactly as the stream has it
        )
        """,
        "CREATE INDEX events_by_session ON events (session_id, id)",
    ),
    # 1 -> 2: the crash spool a session was recorded with (recorder.py), so a spool left by a
    # killed process or a failed write can be matched to its row and replayed on the next open;
    # the seconds it was paused (tally.py), kept apart from its active time.
    (
        "ALTER TABLE sessions ADD COLUMN spool TEXT",
        "ALTER TABLE sessions ADD COLUMN paused_s REAL NOT NULL DEFAULT 0",
    ),
    # 2 -> 3: the journal fault the session's user was told about ("NOT SAVED"), for a session
    # whose spool replayed it later: listed, but not counted by progression (recorder.py).
    ("ALTER TABLE sessions ADD COLUMN not_saved TEXT",),
    # 3 -> 4: the after-session check-in (history/checkin.py): Borg RPE 6-20 and pain 0-10, NULL
    # when skipped or never asked (every session before this version). The CHECKs keep a hand-
    # edited row from feeding the progression a value off its scale.
    (
        "ALTER TABLE sessions ADD COLUMN rpe INTEGER CHECK (rpe IS NULL OR rpe BETWEEN 6 AND 20)",
        "ALTER TABLE sessions ADD COLUMN pain INTEGER"
        " CHECK (pain IS NULL OR pain BETWEEN 0 AND 10)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
