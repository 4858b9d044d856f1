"""The body in the FIT file: heart rate on every record, the check-in on the session.

Decoded with Garmin's own FIT SDK (``garmin_fit_sdk``), as Connect and Strava would read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from history_streams import JournalFiller, session_events
from test_fit_activity import Messages, decode, dev

from treadcoach.coach.events import Event, Telemetry
from treadcoach.history import Journal
from treadcoach.history.checkin import CheckIn
from treadcoach.history.checkin_store import save_checkin
from treadcoach.history.fit import export_fit


def _export(
    tmp_path: Path,
    record_session: JournalFiller,
    events: list[Event],
    checkin: CheckIn | None = None,
) -> Messages:
    journal_path = tmp_path / "history.sqlite3"
    with Journal.open(journal_path) as journal:
        session_id = record_session(journal, events)
    if checkin is not None:
        save_checkin(journal_path, session_id, checkin)
    with Journal.open(journal_path) as journal:
        path = export_fit(journal, session_id, tmp_path / "out.fit")
    return decode(path)


def _with_pulse(events: list[Event], pulse: Any) -> list[Event]:
    """The stream with each telemetry's heart rate replaced by ``pulse(telemetry)``."""
    return [
        e.model_copy(update={"heart_rate_bpm": pulse(e)}) if isinstance(e, Telemetry) else e
        for e in events
    ]


def test_each_record_carries_the_heart_rate_its_telemetry_carried(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    # 1 Hz telemetry on whole seconds: one record per reading, HR rising 1 bpm a second
    events = _with_pulse(session_events(hz=1.0), lambda e: 90 + round(e.t))
    messages = _export(tmp_path, record_session, events)
    [session] = messages["session_mesgs"]
    start = session["start_time"]
    by_second = {round(e.t): e.heart_rate_bpm for e in events if isinstance(e, Telemetry)}
    records = messages["record_mesgs"]
    assert len(records) == len(by_second)
    for record in records:
        second = round((record["timestamp"] - start).total_seconds())
        assert record["heart_rate"] == by_second[second]
    rates = list(by_second.values())
    assert session["max_heart_rate"] == max(rates)
    assert session["avg_heart_rate"] == round(sum(rates) / len(rates))


def test_a_reading_of_0_bpm_is_no_heart_rate_not_a_pulse_of_0(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    # the strap lost skin contact for the first 20 s
    events = _with_pulse(session_events(hz=1.0), lambda e: 0 if e.t <= 20 else 120)
    messages = _export(tmp_path, record_session, events)
    rates = [r.get("heart_rate") for r in messages["record_mesgs"]]
    assert 0 not in rates
    assert rates[0] is None
    assert rates[-1] == 120
    [session] = messages["session_mesgs"]
    assert (session["avg_heart_rate"], session["max_heart_rate"]) == (120, 120)


def test_a_session_whose_strap_never_had_contact_still_exports(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    events = _with_pulse(session_events(hz=1.0), lambda e: 0)
    messages = _export(tmp_path, record_session, events)
    assert all(r.get("heart_rate") is None for r in messages["record_mesgs"])
    assert "avg_heart_rate" not in messages["session_mesgs"][0]


def test_the_checkin_is_on_the_session_as_developer_fields_rpe_and_pain(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    messages = _export(tmp_path, record_session, session_events(hz=1.0), CheckIn(rpe=14, pain=2))
    [session] = messages["session_mesgs"]
    assert dev(messages, session, "rpe") == 14
    assert dev(messages, session, "pain") == 2
    units = {d["field_name"]: d.get("units") for d in messages["field_description_mesgs"]}
    assert units["rpe"] == "Borg 6-20"
    assert units["pain"] == "0-10"


@pytest.mark.parametrize("checkin", [None, CheckIn(rpe=None, pain=3), CheckIn(rpe=9, pain=None)])
def test_a_skipped_answer_is_left_out_of_the_file(
    tmp_path: Path, record_session: JournalFiller, checkin: CheckIn | None
) -> None:
    messages = _export(tmp_path, record_session, session_events(hz=1.0), checkin)
    [session] = messages["session_mesgs"]
    given = checkin or CheckIn()
    assert dev(messages, session, "rpe") == given.rpe
    assert dev(messages, session, "pain") == given.pain
