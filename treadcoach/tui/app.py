"""The Textual app: setup → session → summary, and the keys that must always work.

The app renders a :class:`~treadcoach.coach.handle.SessionHandle` and calls it; it owns no training
logic. Safety keys:

* the **stop key** (``space`` by default, configurable; also ``ctrl+c``) calls
  ``session.request_stop(StopReason.KEY)`` on every screen, whatever has focus. It is caught in
  :meth:`TreadcoachApp.on_event` before Textual dispatches the key at all, because a priority
  binding is not enough: Textual drops App bindings for keys the focused widget says it consumes
  (``Screen._binding_chain`` filters with ``check_consume_key``), and an ``Input`` consumes every
  printable key, space included. So the stop key never types into an Input.
* **quit** (``ctrl+q``, ``q``) stops the belt first (``request_stop(StopReason.QUIT)``), then waits
  (bounded) for the session to finish stopping, then exits. Leaving cancels the session, which
  stops the belt too.
* **pause/resume** (``p``) and **mute** (``m``) are priority bindings, rebindable through Textual's
  keymap; they yield to a focused Input so a plan path can contain a "p".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer

from treadcoach.coach.events import Event, Summary
from treadcoach.coach.handle import SessionHandle
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.errors import TreadcoachError
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.audio import Speaker, make_speaker
from treadcoach.tui.choices import SessionFactory, SetupChoices
from treadcoach.tui.cues import CuePlanner, Utterance
from treadcoach.tui.present import SessionView, present
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.setup import SetupScreen
from treadcoach.tui.screens.summary import SummaryScreen
from treadcoach.tui.settings import TuiSettings

__all__ = ["TICK_HZ", "TreadcoachApp"]

logger = logging.getLogger(__name__)

# How often the session screen re-reads ``session.state`` (events also repaint at once).
TICK_HZ = 5.0


def _key_name(key: str) -> str:
    """Accept a literal character for the common case of a space."""
    return "space" if key == " " else key


class TreadcoachApp(App["Summary | None"]):
    """``TreadcoachApp(session=handle)`` opens on the session screen and runs it;
    ``TreadcoachApp(setup=choices, session_factory=factory)`` asks first.

    ``app.run()`` / ``await app.run_async()`` returns the session's :class:`Summary` (None if it
    never finished).
    """

    TITLE = "treadcoach"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("q", "quit", "Quit", show=False, priority=True, id="treadcoach.quit"),
        Binding("p", "toggle_pause", "Pause", show=False, priority=True, id="treadcoach.pause"),
        Binding("m", "toggle_mute", "Mute", show=False, priority=True, id="treadcoach.mute"),
        Binding("n", "new_session", "New session", show=False, id="treadcoach.new"),
        # After the console took control (0xFF): only on this explicit key does treadcoach ask
        # for control again.
        Binding("c", "take_control_back", "Take control", show=False, priority=True),
    ]

    muted: reactive[bool] = reactive(False, init=False)

    class SessionEvent(Message):
        """A session event, carried from the handle's listener onto the app's queue."""

        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    def __init__(
        self,
        *,
        session: SessionHandle | None = None,
        setup: SetupChoices | None = None,
        session_factory: SessionFactory | None = None,
        settings: TuiSettings | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        if session is None and (setup is None or session_factory is None):
            raise ValueError("TreadcoachApp needs a session, or setup choices and a factory")
        super().__init__()
        self.settings = settings or TuiSettings()
        self._first_session = session
        self._setup = setup
        self._factory = session_factory
        self.session: SessionHandle | None = None
        self.speaker: Speaker = speaker or make_speaker(self.settings.audio, self.bell)
        self._stop_keys = frozenset({_key_name(self.settings.stop_key), "ctrl+c"})
        self.set_keymap(
            {
                "treadcoach.pause": _key_name(self.settings.pause_key),
                "treadcoach.mute": _key_name(self.settings.mute_key),
            }
        )
        self.set_reactive(TreadcoachApp.muted, self.settings.muted)
        self._planner = CuePlanner()
        self._session_screen: SessionScreen | None = None
        self._last_state: SessionState | None = None
        self._view: SessionView | None = None
        self._ticker: Timer | None = None
        self._session_done = asyncio.Event()
        self._remove_listener: Callable[[], None] | None = None
        self._summary: Summary | None = None
        self.session_error: str | None = None
        self._quitting = False

    # --- lifecycle ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._first_session is not None:
            self.start_session(self._first_session)
        else:
            assert self._setup is not None
            self._show_screen(SetupScreen(self._setup, self.settings))

    async def on_unmount(self) -> None:
        self._detach_listener()
        await self.speaker.aclose()

    def _show_screen(self, screen: SessionScreen | SetupScreen | SummaryScreen) -> None:
        if len(self.screen_stack) <= 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    @property
    def session_running(self) -> bool:
        return self.session is not None and not self._session_done.is_set()

    def start_session(self, handle: SessionHandle) -> None:
        """Show the session screen for ``handle`` and run it (the app owns the run)."""
        if self.session_running:
            raise RuntimeError("a session is already running")
        self._detach_listener()
        self.session = handle
        self._planner = CuePlanner()
        self._last_state = None
        self._view = None
        self._summary = None
        self.session_error = None
        self._session_done = asyncio.Event()
        self._remove_listener = handle.add_listener(self._on_listener_event)
        self._session_screen = SessionScreen(self.settings)
        self._show_screen(self._session_screen)
        self._ticker = self.set_interval(1 / TICK_HZ, self.refresh_session, name="session tick")
        self.call_after_refresh(self.refresh_session)
        self.run_worker(
            self._run_session(handle), name="session", group="session", exit_on_error=False
        )

    async def _run_session(self, handle: SessionHandle) -> None:
        summary: Summary | None = None
        try:
            summary = await handle.run()
        except TreadcoachError as exc:
            self.session_error = str(exc)
        except Exception as exc:
            # The controller has stopped the belt (its contract); say why instead of a traceback.
            logger.exception("the session failed")
            self.session_error = f"The session failed unexpectedly: {exc!r}"
        finally:
            self._summary = summary
            self._session_done.set()
            if self._ticker is not None:
                self._ticker.stop()
        self.refresh_session()
        if self.session_error is not None:
            self.notify(self.session_error, title="Session ended", severity="error", timeout=60)
        if summary is not None and not self._quitting:
            if self.settings.summary_delay_s > 0:
                self.set_timer(self.settings.summary_delay_s, lambda: self._show_summary(summary))
            else:  # Textual's Timer divides by its delay
                self.call_later(self._show_summary, summary)

    def _show_summary(self, summary: Summary) -> None:
        if self._quitting or self.session_running:
            return
        self._session_screen = None
        self._show_screen(
            SummaryScreen(summary, self.settings, can_start_again=self._factory is not None)
        )

    def _detach_listener(self) -> None:
        remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            remove()

    # --- session state and events --------------------------------------------------------------

    def _on_listener_event(self, event: Event) -> None:
        # Runs inside the controller's emit: never block it, just queue.
        self.post_message(self.SessionEvent(event))

    @on(SessionEvent)
    def _session_event(self, message: SessionEvent) -> None:
        for utterance in self._planner.on_event(message.event):
            self._say(utterance)
        self.refresh_session()

    def refresh_session(self) -> None:
        """Re-read ``session.state``; repaint and cue only if it changed (it is replaced, not mutated)."""
        session = self.session
        if session is None or not self.is_running:
            # (events keep arriving while the app shuts down and prunes its screens)
            return
        state = session.state
        if state is not self._last_state:
            self._last_state = state
            for utterance in self._planner.on_state(state):
                self._say(utterance)
            self._view = present(state, self.settings.units)
        screen = self._session_screen
        if screen is not None and screen.is_mounted and self._view is not None:
            screen.show(self._view, muted=self.muted)

    def _say(self, utterance: Utterance) -> None:
        if not self.muted:
            self.speaker.say(utterance)

    def watch_muted(self, muted: bool) -> None:
        if muted:
            self.speaker.hush()
        self.refresh_session()

    # --- keys ----------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and not self._stop_keys.isdisjoint(event.aliases)
        ):
            # Before any binding or widget sees it: the stop key never types, scrolls or selects.
            self.action_stop()
            return
        await super().on_event(event)

    def action_stop(self) -> None:
        session = self.session
        if session is None:
            self.bell()
            self.notify(
                "No session is running, so there is no belt to stop. ctrl+q quits.", timeout=4
            )
            return
        session.request_stop(StopReason.KEY)
        self.refresh_session()

    def action_toggle_pause(self) -> None:
        session = self.session
        if session is None or not self.session_running:
            return
        phase = session.state.phase
        if phase is Phase.PAUSED:
            session.request_resume(StopReason.KEY)
        elif phase is Phase.RUNNING:
            session.request_pause(StopReason.KEY)
        self.refresh_session()

    def action_take_control_back(self) -> None:
        session = self.session
        if session is None or session.state.link is not LinkState.NO_CONTROL:
            return
        session.request_control_back()
        self.refresh_session()

    def action_toggle_mute(self) -> None:
        self.muted = not self.muted

    def action_new_session(self) -> None:
        if self._setup is None or self._factory is None or self.session_running:
            return
        if not isinstance(self.screen, SummaryScreen):
            return
        self._session_screen = None
        self._show_screen(SetupScreen(self._setup, self.settings))

    async def action_quit(self) -> None:
        """Stop the belt first, then leave once the session has finished stopping."""
        if self._quitting:
            return
        self._quitting = True
        session = self.session
        if session is not None and self.session_running:
            session.request_stop(StopReason.QUIT)
            self.refresh_session()
            self.run_worker(self._exit_when_stopped(), name="quit", group="quit")
        else:
            self.exit(self._summary)

    async def _exit_when_stopped(self) -> None:
        try:
            async with asyncio.timeout(self.settings.quit_wait_s):
                await self._session_done.wait()
        except TimeoutError:
            logger.warning(
                "session still stopping after %.1f s; leaving cancels it", self.settings.quit_wait_s
            )
        self.exit(self._summary)

    # --- setup ---------------------------------------------------------------------------------

    @on(SetupScreen.Chosen)
    def _chosen(self, message: SetupScreen.Chosen) -> None:
        assert self._factory is not None
        try:
            handle = self._factory(message.request)
        except TreadcoachError as exc:
            if isinstance(self.screen, SetupScreen):
                self.screen.show_error(str(exc))
            return
        self.start_session(handle)
