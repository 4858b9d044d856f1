"""Text and JSON views of the journal for ``treadcoach history`` (pure: records in, lines out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from treadcoach.coach.events import Cue, Event, Fault, Stop
from treadcoach.history.journal import DIZZY_STOP, SessionRecord
from treadcoach.history.tally import HeartRateSummary, heart_rate_summary, segments_done

__all__ = [
    "checkin_line",
    "effort_words",
    "format_distance",
    "format_duration",
    "heart_rate_json",
    "session_json",
    "session_lines",
    "sessions_table",
    "table",
]


def format_duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour up."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_distance(metres: float) -> str:
    """``850 m`` below a kilometre, ``1.23 km`` from there."""
    if metres < 1000:
        return f"{round(metres)} m"
    return f"{metres / 1000:.2f} km"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Aligned columns, two spaces apart; columns in ``right`` are right-aligned."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), *(line(row) for row in rows)]


# Stop reasons a bare value would leave a reader guessing at. Dizzy is the walker's own alarm
# (the seed: "stop immediately if dizzy or strained"), and the progression steps back for it.
# (values of safety.reasons.StopReason, which this layer reads as the journal's strings)
_REASON_WORDS = {
    DIZZY_STOP: "felt dizzy or strained",
    "hr_ceiling": "heart rate above the ceiling",
}

# Borg's 6-20 scale, the words printed beside the numbers on the card
_BORG = {
    6: "no exertion",
    7: "extremely light",
    8: "extremely light",
    9: "very light",
    10: "very light",
    11: "light",
    12: "light",
    13: "somewhat hard",
    14: "somewhat hard",
    15: "hard",
    16: "hard",
    17: "very hard",
    18: "very hard",
    19: "extremely hard",
    20: "maximal exertion",
}


def effort_words(rpe: int) -> str:
    """Borg's words for an RPE (``"somewhat hard"`` for 13)."""
    return _BORG.get(rpe, "off the scale")


def _status(record: SessionRecord) -> str:
    """``record.status`` with a reason in words where its value alone would be cryptic."""
    reason = record.stop_reason
    if reason in _REASON_WORDS and record.finished and not record.completed:
        return record.status.replace(f"({reason})", f"({_REASON_WORDS[reason]})", 1)
    return record.status


def _scale(value: int | None, bad: str | None = None) -> str:
    if bad is not None:
        return f"{bad}?"  # stored off its scale: not an answer (``checkin_line`` says why)
    return "-" if value is None else str(value)


def checkin_line(record: SessionRecord) -> str:
    """``Check-in: RPE 14/20 (somewhat hard) · pain 2/10``; skipped answers say so, and so
    does a value stored off its scale (a hand-edited journal): never "pain 11/10"."""
    if record.checkin_problems:
        rpe = "RPE skipped" if record.rpe is None else f"RPE {record.rpe}/20"
        pain = "pain skipped" if record.pain is None else f"pain {record.pain}/10"
        kept = [part for part, bad in ((rpe, record.bad_rpe), (pain, record.bad_pain)) if not bad]
        stored = "; ".join(f"stored {p}, not used" for p in record.checkin_problems)
        return "Check-in: " + " · ".join([*kept, stored])
    if record.rpe is None and record.pain is None:
        return "Check-in: none (skipped, or not asked)"
    rpe = (
        "RPE skipped" if record.rpe is None else f"RPE {record.rpe}/20 ({effort_words(record.rpe)})"
    )
    pain = "pain skipped" if record.pain is None else f"pain {record.pain}/10"
    return f"Check-in: {rpe} · {pain}"


def _heart_rate_line(hr: HeartRateSummary) -> str:
    backward = (
        f" · backward average {round(hr.backward_mean_bpm)} bpm"
        if hr.backward_mean_bpm is not None
        else ""
    )
    return (
        f"Heart rate: average {round(hr.mean_bpm)} bpm · max {hr.max_bpm} bpm{backward}"
        f" ({hr.samples} readings)"
    )


def _when(record: SessionRecord) -> str:
    return record.started_at.astimezone().strftime("%Y-%m-%d %H:%M")


def sessions_table(records: Sequence[SessionRecord]) -> list[str]:
    """The ``treadcoach history`` listing."""
    header = [
        "ID",
        "DATE",
        "PLAN",
        "STATUS",
        "TIME",
        "DISTANCE",
        "BACKWARD",
        "PLANNED",
        "BACK DIST",
        "RPE",
        "PAIN",
    ]
    rows = [
        [
            str(r.id),
            _when(r),
            r.plan + (" (sim)" if r.simulated else ""),
            _status(r),
            format_duration(r.duration_s),
            format_distance(r.distance_m),
            format_duration(r.backward_s),
            format_duration(r.planned_backward_s),
            format_distance(r.backward_distance_m),
            _scale(r.rpe, r.bad_rpe),
            _scale(r.pain, r.bad_pain),
        ]
        for r in records
    ]
    return table(header, rows, right={0, 4, 5, 6, 7, 8, 9, 10})


def session_lines(record: SessionRecord, events: Sequence[Event]) -> list[str]:
    """``treadcoach history show ID``: the session, its segments, and what stopped it."""
    device = f"{record.device} ({record.address}{', simulated' if record.simulated else ''})"
    lines = [
        f"Session {record.id} · {_when(record)} · {record.plan} · {_status(record)}",
        f"Device: {device}",
        f"Time {format_duration(record.duration_s)} of {format_duration(record.planned_duration_s)}"
        f" planned · distance {format_distance(record.distance_m)}"
        f" · backward {format_duration(record.backward_s)} of"
        f" {format_duration(record.planned_backward_s)} planned,"
        f" {format_distance(record.backward_distance_m)}"
        + (f" · paused {format_duration(record.paused_s)}" if record.paused_s > 0 else ""),
        checkin_line(record),
    ]
    hr = heart_rate_summary(events)
    if hr is not None:
        lines.append(_heart_rate_line(hr))
    lines.append("")
    done = segments_done(events)
    if done:
        rows = [
            [
                str(s.index),
                str(s.kind),
                f"{s.target_kmh:.1f} km/h",
                format_duration(s.planned_duration_s)
                if s.planned_duration_s is not None
                else format_distance(s.planned_distance_m or 0.0),
                format_duration(s.duration_s),
                format_distance(s.distance_m),
                f"{s.max_speed_kmh:.1f} km/h",
            ]
            for s in done
        ]
        header = ["#", "SEGMENT", "TARGET", "PLANNED", "ACTUAL", "DISTANCE", "MAX"]
        if any(s.label for s in done):
            header.append("LABEL")
            for row, s in zip(rows, done, strict=True):
                row.append(s.label)
        lines += table(header, rows, right={0, 2, 3, 4, 5, 6})
    else:
        lines.append("No segment started.")
    cues = sum(isinstance(e, Cue) for e in events)
    notable = [e for e in events if isinstance(e, Stop | Fault)]
    lines += ["", f"{_count(len(events), 'event')}, {_count(cues, 'cue')}."]
    for event in notable:
        what = f"stop: {event.reason}" if isinstance(event, Stop) else f"fault: {event.kind}"
        detail = f" ({event.detail})" if event.detail else ""
        lines.append(f"  {format_duration(event.t)}  {what}{detail}")
    if record.stop_reason == DIZZY_STOP and record.finished:
        lines.append(
            "Stopped because the walker felt dizzy or strained: the progression counts it as a"
            " step back."
        )
    if not record.finished:
        lines.append(
            "The session was interrupted (the process died, or the journal could not save the"
            " rest): the numbers run to its last recorded event, and the progression does not"
            " count it."
        )
    elif not record.counted:
        lines.append(
            "The journal failed during this session and it was reported NOT SAVED"
            f" ({record.not_saved}); its crash spool recovered it later. The progression does"
            " not count it."
        )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def heart_rate_json(events: Sequence[Event]) -> dict[str, Any] | None:
    """The heart-rate summary as JSON-ready data (None when no telemetry carried a pulse)."""
    hr = heart_rate_summary(events)
    if hr is None:
        return None
    return {
        "samples": hr.samples,
        "mean_bpm": round(hr.mean_bpm, 1),
        "max_bpm": hr.max_bpm,
        "backward_mean_bpm": None
        if hr.backward_mean_bpm is None
        else round(hr.backward_mean_bpm, 1),
    }


def session_json(record: SessionRecord) -> dict[str, Any]:
    """A session as JSON-ready data (``--json``)."""
    return {
        "id": record.id,
        "started_at": record.started_at.isoformat(),
        "plan": record.plan,
        "device": record.device,
        "address": record.address,
        "simulated": record.simulated,
        "status": record.status,
        "finished": record.finished,
        "counted": record.counted,  # false: interrupted, or reported NOT SAVED (not_saved)
        "not_saved": record.not_saved,
        "completed": record.completed,
        "stop_reason": record.stop_reason,
        "duration_s": round(record.duration_s, 3),
        "planned_duration_s": record.planned_duration_s,
        "distance_m": round(record.distance_m, 3),
        "planned_backward_s": record.planned_backward_s,
        "backward_s": round(record.backward_s, 3),
        "backward_distance_m": round(record.backward_distance_m, 3),
        "paused_s": round(record.paused_s, 3),
        "events": record.event_count,
        "rpe": record.rpe,  # Borg 6-20; null: skipped or not asked
        "pain": record.pain,  # 0-10
        # a check-in stored off its scale (hand-edited): the phrases; rpe/pain are null then
        "checkin_problems": list(record.checkin_problems),
    }
