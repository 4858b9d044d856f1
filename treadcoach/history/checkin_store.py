"""The after-session check-in in the journal: ``save_checkin`` and ``load_checkin``.

Called once a session has ended (``Session.save_checkin``, the TUI's check-in screen), so each
call opens the journal, runs one short transaction and closes it again: the session's recorder
has closed its own connection by then, and a check-in typed minutes later must not depend on
any object of the session still being alive. Errors are ``HistoryError`` with one line (an
unknown session is ``SessionNotFound``; a journal that cannot be opened or written,
``JournalUnreadable``). The journal is never created here: a check-in belongs to a session that
was saved in it.
"""

from __future__ import annotations

from pathlib import Path

from treadcoach.errors import CheckInError, JournalUnreadable
from treadcoach.history.checkin import CheckIn
from treadcoach.history.journal import Journal

__all__ = ["load_checkin", "save_checkin"]


def save_checkin(journal_path: Path, session_id: int, checkin: CheckIn) -> None:
    """Store ``checkin`` with session ``session_id`` (replacing an earlier one; None = skipped)."""
    with Journal.open(journal_path, create=False) as journal:
        journal.set_checkin(session_id, checkin)


def load_checkin(journal_path: Path, session_id: int) -> CheckIn | None:
    """The session's check-in, or None when it has none (skipped, never asked, older session)."""
    with Journal.open(journal_path, create=False) as journal:
        record = journal.session(session_id)
    if record.rpe is None and record.pain is None:
        return None
    try:
        return CheckIn(rpe=record.rpe, pain=record.pain)
    except CheckInError as exc:  # the schema's CHECKs forbid it; a hand-edited file might not
        raise JournalUnreadable(
            str(journal_path), f"session {session_id} has a check-in off its scale ({exc})."
        ) from exc
