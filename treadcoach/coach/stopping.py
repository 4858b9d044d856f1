"""The stop path: the one owner of the stop's facts, and the task that sees a stop through.

The facts: why the session stopped, what the user is told, the link's Stop (asked for once per
stop request: the link owns the retries), whether it asked for control, and whether the belt may
still be running. The controller calls :meth:`StopPath.send` in the stop input's own loop turn and
runs :meth:`StopPath.see_through` as the stop group's task: it says the stop, waits for the
link's answer, then for standstill -- and says so loudly when the belt may still be running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from treadcoach.coach import announce
from treadcoach.coach.events import Cue, Event, Stop
from treadcoach.coach.ports import Link, SessionConfig
from treadcoach.errors import LinkError
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.stop import USER_STOPS, stop_failure

__all__ = ["STANDSTILL_KMH", "StopPath", "Voice"]

log = logging.getLogger(__name__)

STANDSTILL_KMH = 0.2
#: how often the stop path looks at the link while it waits (standstill, reconnect)
POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class Voice:
    """How the stop path speaks: through the controller's event stream and state."""

    emit: Callable[[Event], None]
    fault: Callable[[str, str], None]
    update: Callable[..., None]
    t: Callable[[], float]


class StopPath:
    def __init__(
        self,
        config: SessionConfig,
        voice: Voice,
        reader_at_standstill: Callable[[], Awaitable[None]],
    ) -> None:
        self._config = config
        self._voice = voice
        # waits until the reader has put a standstill record in the stream (if it still runs)
        self._reader_at_standstill = reader_at_standstill
        self.reason: StopReason | None = None
        self.detail = ""
        self.sent: Awaitable[None] | None = None  # the link's Stop, once asked for
        self.asked_control = False
        self._answer_seen = False  # the first Stop's answer was waited for
        self._said = False  # the Stop event is out
        self._refusal_said = False  # a refused Stop was told to the user
        # dizzy pressed while another stop (a fault's, the plan's end) ran the belt down: its
        # own Stop event's detail, said once after the first stop (see :meth:`add_dizzy`)
        self._dizzy: str | None = None
        self._dizzy_shown = ""  # and what the screen adds to the first stop's detail
        self.belt_unsure = False  # the belt may still be running after the session

    def send(self, link: Link, reason: StopReason) -> None:
        """Hand Stop to the link now (synchronously: its stop epoch moves in this turn). The
        user's stops may ask for control to get it accepted, also after 0xFF."""
        self.asked_control = reason in USER_STOPS
        sent = self.sent = link.stop(take_control=self.asked_control)
        if self._answer_seen and isinstance(sent, asyncio.Future):
            # a user's stop again after the first Stop was answered (the console restarted
            # the belt, say): nobody else waits for this answer, so a refusal is said from here
            sent.add_done_callback(self._say_if_refused)

    def _say_if_refused(self, sent: asyncio.Future[None]) -> None:
        if sent.cancelled() or sent.exception() is None:
            return
        error = sent.exception()
        assert error is not None
        failure = stop_failure(error) or (
            "stop_failed",
            f"Stop failed ({announce.failure_text(error)})",
        )
        self.belt_may_be_running(*failure)

    def sends_again(self, reason: StopReason) -> bool:
        """Every user's stop writes Stop again, even while an earlier one is being confirmed:
        a belt restarted at the console meanwhile must not run on until the confirm timeout
        (and after a parting stop at 0xFF, this one may ask for control)."""
        return reason in USER_STOPS

    def replaces(self, reason: StopReason) -> bool:
        """Whether a stop asked while stopping becomes the recorded reason: a dizzy stop over an
        ordinary user stop (a pedal held down after its press already stopped the belt), so
        the journal and the progression see the walker was dizzy. Any other keeps the first."""
        return self._dizzy_over_another(reason) and self.reason in USER_STOPS

    def _dizzy_over_another(self, reason: StopReason) -> bool:
        """A dizzy press while a stop with another reason is under way."""
        return reason is StopReason.DIZZY and self.reason not in (None, StopReason.DIZZY)

    def replace(self, reason: StopReason, detail: str) -> None:
        """Record ``reason`` (see :meth:`replaces`) instead; once the stop was said, say it
        again with the new reason (its Stop event and cue)."""
        self.reason, self.detail = reason, detail
        if not self._said:
            return  # the stop path says it first thing, with this reason
        self._say_again(reason, detail)

    def adds_dizzy(self, reason: StopReason) -> bool:
        """Whether a stop asked while stopping is a dizzy press to record beside the first
        reason (one :meth:`replaces` does not take): the fault or the plan's end stays what
        ended the session, but the walker's "I feel dizzy" must reach the journal, the
        progression (a step back) and the walker's ears. Once per stop."""
        return (
            self._dizzy_over_another(reason)
            and self.reason not in USER_STOPS
            and self._dizzy is None
        )

    def add_dizzy(self, detail: str) -> None:
        """Record a dizzy press beside the first reason (see :meth:`adds_dizzy`): a Stop event
        with reason dizzy saying what was already stopping the belt, and the dizzy cue, after
        the first stop's (at once if that was said, else right after it is)."""
        first = self.reason
        assert first is not None
        already = f"{first.value}: {self.detail}" if self.detail else first.value
        self._dizzy = "; ".join(
            part for part in (detail, f"pressed while the belt was stopping for {already}") if part
        )
        self._dizzy_shown = f"dizzy pressed ({detail})" if detail else "dizzy pressed"
        if self._said:
            self._say_dizzy()

    def _say_dizzy(self) -> None:
        assert self._dizzy is not None
        self._say_again(StopReason.DIZZY, self._dizzy)

    def _say_again(self, reason: StopReason, detail: str) -> None:
        """A stop already said gets news: the screen, then a Stop event and its cue."""
        say = self._voice
        self.show()
        say.emit(Stop(t=say.t(), reason=reason, detail=detail))
        say.emit(announce.stop_cue(reason, detail, t=say.t()))

    def _shown_detail(self) -> str:
        """The stop detail on screen: the first stop's (the reason shown stays the one the
        summary records), and a dizzy press beside it, so the walker sees it was heard."""
        return "; ".join(part for part in (self.detail, self._dizzy_shown) if part)

    def show(self) -> None:
        self._voice.update(
            stop_reason=self.reason,
            stop_detail=self._shown_detail(),
            target_kmh=0.0,
            turnaround_countdown_s=None,
        )

    async def see_through(self, link: Link | None) -> None:
        """Say the stop, wait for the link's answer and then for standstill."""
        reason = self.reason
        assert reason is not None
        say = self._voice
        self.show()
        self._said = True
        say.emit(Stop(t=say.t(), reason=reason, detail=self.detail))
        if reason is not StopReason.PLAN_END:
            say.emit(announce.stop_cue(reason, self.detail, t=say.t()))
        if self._dizzy is not None:  # pressed in the same turn as the first stop
            self._say_dizzy()
        if link is not None and self.sent is not None:
            accepted = await self._accepted(link)
            self._answer_seen = True
            if accepted and reason is not StopReason.STALE:
                await self._await_standstill(link)
        elif link is not None and reason is StopReason.DISCONNECT:
            await self.await_reconnect(link)

    async def _accepted(self, link: Link) -> bool:
        """Wait for the link's Stop (the latest one, if a user's stop replaced a parting one);
        True when the machine accepted it, or the link came back after a drop (reconnecting
        stops the belt first). The link bounds its own retries; this wait is bounded too, so
        a link that never answers cannot hold the session open."""
        limit = self._config.stop_confirm_s
        while True:
            sent = self.sent
            assert sent is not None
            try:
                async with asyncio.timeout(limit):
                    await asyncio.shield(sent)  # a timeout here must not cancel the link's Stop
            except TimeoutError:
                if sent is not self.sent:
                    continue
                self.belt_may_be_running("stop_failed", f"no answer to Stop within {limit:g} s")
                return False
            except LinkError as exc:
                failure = stop_failure(exc)
                if failure is not None and not self._refusal_said:
                    # said at once, also when a later press sent Stop again meanwhile: the
                    # refusal of the stop under way is news the user must not wait for
                    # (finding 14); a later Stop accepted still ends the wait well
                    self._refusal_said = True
                    self.belt_may_be_running(*failure)
                if sent is not self.sent:
                    continue
                if failure is not None:
                    # A user's Stop refused: the link told it at the first refusal after
                    # Request Control and goes on retrying; the session stays to watch for
                    # standstill meanwhile (a retry may land), bounded like any stop
                    return self.asked_control and link.connected
                log.info("stop while the link is down: %s", exc)
                await self.await_reconnect(link)
                return link.connected
            except Exception as exc:  # any failure here must not end the stop path unsaid
                log.exception("stop failed")
                self.belt_may_be_running(
                    "stop_failed", f"Stop failed ({announce.failure_text(exc)})"
                )
                return False
            if sent is self.sent:
                return True

    def belt_may_be_running(self, kind: str, detail: str) -> None:
        """Say loudly that the belt may still be running: a fault, a stop cue, the stop detail
        and the summary."""
        say = self._voice
        self.belt_unsure = True
        detail = f"{detail}: the belt may still be running"
        say.fault(kind, detail)
        say.emit(Cue(t=say.t(), text=announce.USE_STOP_BUTTON_CUE, kind="stop"))
        self.detail = "; ".join(part for part in (self.detail, detail) if part)
        say.update(stop_detail=self._shown_detail())

    async def _await_standstill(self, link: Link) -> None:
        """Keep listening until the belt reports standstill, so the user (and the journal) see
        the stop confirmed rather than the last speed before it. Reads the link's own belief,
        which its notification callback keeps current even when the session's tasks are gone.

        The wait runs its whole time also across a drop (the reconnect stops the belt first and
        reports it), and what is said at its end is what happened: no standstill reported while
        connected, or the link down when the wait ran out."""
        loop = asyncio.get_running_loop()
        # Only telemetry received after the Stop was accepted says the belt stopped: the
        # last record before it (a belt creeping at 0.2 km/h as it starts) says nothing of
        # what the belt did since (finding 13)
        since = loop.time()
        if not link.connected:
            await self.await_reconnect(link)
        limit = self._config.stop_confirm_s
        deadline = loop.time() + limit
        while loop.time() < deadline:
            fresh = (link.last_telemetry_at or -1.0) > since
            speed = link.belt_speed_kmh if link.connected and fresh else None
            if speed is not None and speed <= STANDSTILL_KMH:
                await self._reader_at_standstill()
                return
            await asyncio.sleep(POLL_S)
        speed = link.belt_speed_kmh
        at = f" (belt last reported at {speed:.1f} km/h)" if speed is not None else ""
        if link.connected:
            detail = f"no standstill reported {limit:g} s after Stop{at}: check the treadmill"
        else:
            detail = (
                f"the link was down {limit:g} s after Stop, before standstill was reported{at}: "
                "check the treadmill"
            )
        self._voice.fault("stop_unconfirmed", detail)

    async def await_reconnect(self, link: Link) -> None:
        """Wait (bounded) for the link to come back; reconnecting stops the belt before anything
        else. Reads the link itself: the reader may not have seen the drop yet."""
        try:
            async with asyncio.timeout(self._config.reconnect_grace_s):
                while not link.connected:  # noqa: ASYNC110 -- the link owns no event for this
                    await asyncio.sleep(POLL_S)
        except TimeoutError:
            self._voice.fault(
                "link_lost", "could not reconnect to confirm the belt stopped: check the treadmill"
            )
