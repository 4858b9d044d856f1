"""Segment kinds (a contract: plan files, the event stream and MQTT use these strings)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BACKWARD_KINDS", "SegmentKind"]


class SegmentKind(StrEnum):
    WARMUP = "warmup"
    FORWARD_WALK = "forward_walk"
    FORWARD_RUN = "forward_run"
    BACKWARD_WALK = "backward_walk"
    RETRO_RUN = "retro_run"
    RECOVERY = "recovery"
    TURNAROUND = "turnaround"
    COOLDOWN = "cooldown"

    @property
    def is_backward(self) -> bool:
        return self in BACKWARD_KINDS


BACKWARD_KINDS = frozenset({SegmentKind.BACKWARD_WALK, SegmentKind.RETRO_RUN})
