"""The Textual app: setup → session → summary, and the keys that must always work.

The app renders a :class:`~treadcoach.coach.handle.SessionHandle` and calls it; it owns no training
logic. Safety keys:

* the **stop key** (``space`` by default, configurable; also ``ctrl+c``) calls
  ``session.request_stop(StopReason.KEY)`` on every screen, whatever has focus. It is caught in
  :meth:`TreadcoachApp.on_event` before Textual dispatches the key at all, because a priority
  binding is not enough: Textual drops App bindings for keys the focused widget says it consumes
  (``Screen._binding_chain`` filters with ``check_consume_key``), and an ``Input`` consumes every
  printable key, space included. So the stop key never types into an Input.
* **quit** (``ctrl+q``, ``q``) stops the belt first (``request_stop(StopReason.QUIT)``), shows that it
  waits for the belt to stand still, and exits once the session has finished stopping (so the
  journal says "stopped (quit)"). Pressed again while waiting, it leaves at once; leaving cancels the
  session, which stops the belt too.
* **SIGHUP/SIGTERM/SIGINT** (a closed terminal, ``kill``): the app owns these for its whole life, on
  every screen. During a session they stop the belt (reason ``sighup``…) and leave like quit; on
  the setup or summary screen they leave at once. After SIGHUP the terminal is gone, so the app
  stops reading it (a hung-up tty reads as endless end-of-file).

A crash of the app itself (an exception Textual would print as a page of traceback) stops the belt,
goes to the log with its traceback, and becomes one line on stderr and :attr:`failure`.
* the **dizzy key** (``d``) calls ``session.request_stop(StopReason.DIZZY, "dizzy key")`` while a
  session runs (also while it is stopping: it upgrades the reason of an ordinary stop under way),
  caught like the stop key, before any widget sees it. Outside a session it is an ordinary key.
* the **check-in** (when the app is given ``save_checkin``): once the session has returned and
  the summary is up (so the belt is stopped; never when the summary says it may still be
  running), a screen asks RPE and pain, both skippable; the answers go to ``save_checkin`` once
  (not at all when both were skipped), and a ``HistoryError`` it raises is shown, not raised.
* **pause/resume** (``p``) and **mute** (``m``) are priority bindings, rebindable through Textual's
  keymap; they yield to a focused Input so a plan path can contain a "p".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer

from treadcoach.coach.events import Event, Fault, Stop, Summary, Telemetry
from treadcoach.coach.handle import SessionHandle
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.errors import HistoryError, TreadcoachError
from treadcoach.history.checkin import CheckIn
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.audio import Speaker, make_speaker
from treadcoach.tui.choices import SessionFactory, SessionFacts, SetupChoices
from treadcoach.tui.cues import CuePlanner, Utterance
from treadcoach.tui.present import SessionView, present
from treadcoach.tui.screens.checkin import CheckInScreen
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.setup import SetupScreen
from treadcoach.tui.screens.summary import SummaryExtras, SummaryScreen
from treadcoach.tui.settings import TuiSettings
from treadcoach.tui.terminal import TerminalLost, detach_terminal, hangup_safe_driver

__all__ = ["CRASH_STATUS", "TICK_HZ", "Failure", "TreadcoachApp"]

logger = logging.getLogger(__name__)

# How often the session screen re-reads ``session.state`` (events also repaint at once).
TICK_HZ = 5.0

# Exit status when the app itself crashed (1, as a session that ended early: it did).
CRASH_STATUS = 1
# Exit status when the session could not run (bad input, no treadmill): as cli.py does.
SESSION_ERROR_STATUS = 2

_SIGNALS: tuple[tuple[signal.Signals, StopReason], ...] = (
    (signal.SIGHUP, StopReason.SIGHUP),
    (signal.SIGTERM, StopReason.SIGTERM),
    (signal.SIGINT, StopReason.SIGINT),
)
_SIGNAL_REASONS = frozenset(reason for _, reason in _SIGNALS)

# The fault the journal recorder reports when it cannot write (CONTRACTS.md): NOT SAVED.
JOURNAL_FAULT = "journal"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why the app ended badly: the one line printed on stderr and the exit status to return."""

    line: str
    status: int


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


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
        save_checkin: Callable[[CheckIn], None] | None = None,
    ) -> None:
        if session is None and (setup is None or session_factory is None):
            raise ValueError("TreadcoachApp needs a session, or setup choices and a factory")
        super().__init__()
        self.settings = settings or TuiSettings()
        self._first_session = session
        self._save_checkin = save_checkin
        self._checkin_asked = False
        #: what the check-in saved, or why it could not (tests and the log read them)
        self.checkin: CheckIn | None = None
        self.checkin_error: str | None = None
        self._setup = setup
        self._factory = session_factory
        self.session: SessionHandle | None = None
        self.speaker: Speaker = speaker or make_speaker(
            self.settings.audio, self.bell, self._voice_changed
        )
        self._stop_keys = frozenset({_key_name(self.settings.stop_key), "ctrl+c"})
        dizzy = self.settings.active_dizzy_key
        self._dizzy_keys = frozenset({dizzy, dizzy.upper()} if dizzy else ())
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
        self.failure: Failure | None = None
        self.not_saved = False  # a journal fault was seen: the session is not (wholly) saved
        self._heart_rates: list[int] = []
        self._crashed = False
        self._leaving = False
        self._signals_installed: list[signal.Signals] = []

    # --- lifecycle ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._install_signal_handlers()
        if self._first_session is not None:
            self.start_session(self._first_session)
        else:
            assert self._setup is not None
            self._show_screen(SetupScreen(self._setup, self.settings))

    async def on_unmount(self) -> None:
        self._remove_signal_handlers()
        self._detach_listener()
        await self.speaker.aclose()

    # --- signals and crashes -----------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """(Re)install the app's handlers: also after a session that installed its own, whose
        removal put the defaults back."""
        if not self.settings.handle_signals:
            return
        loop = asyncio.get_running_loop()
        for sig, reason in _SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig, reason)
            except (NotImplementedError, RuntimeError, ValueError):
                logger.debug("cannot handle %s here", sig.name)
                continue
            if sig not in self._signals_installed:
                self._signals_installed.append(sig)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals_installed:
            loop.remove_signal_handler(sig)
        self._signals_installed.clear()

    def get_driver_class(self) -> type[Driver]:
        return hangup_safe_driver(super().get_driver_class())

    def _on_signal(self, sig: signal.Signals, reason: StopReason) -> None:
        logger.info("%s: stopping the belt, then leaving", sig.name)
        self.leave(reason, sig.name)  # first: the stop is requested in this loop turn
        if sig is signal.SIGHUP:
            self._stop_reading_terminal()

    @on(TerminalLost)
    def _terminal_lost(self) -> None:
        self.leave(StopReason.SIGHUP, "the terminal went away")
        detach_terminal()
        self._stop_reading_terminal()

    def _stop_reading_terminal(self) -> None:
        # A hung-up terminal reads as end-of-file for ever: Textual's input thread would spin on
        # it at a full core while the belt runs down. Nobody can type into it any more.
        driver = self._driver
        if driver is not None:
            driver.disable_input()

    def _handle_exception(self, error: Exception) -> None:
        # Textual calls this for any exception it did not expect (a handler, compose, a render)
        # and then leaves: its message loop is broken, so there is no waiting for the run-down
        # here. Stop the belt in this loop turn (leaving cancels the session, which stops it
        # too), keep the traceback for the log, and say one line.
        if not self._crashed:
            self._crashed = True
            logger.error("the app crashed", exc_info=error)
            self.failure = Failure(
                f"the screen crashed ({_one_line(error)}); the belt was told to stop. "
                "The traceback is in the log (treadcoach -v shows it).",
                CRASH_STATUS,
            )
            session = self.session
            if session is not None and self.session_running:
                session.request_stop(StopReason.ERROR, "the screen crashed")
        else:
            logger.error("and again while leaving", exc_info=error)
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        # Runs once the terminal is restored. A crash is one line (the log has the traceback).
        if self._crashed:
            self._exit_renderables.clear()
        super()._print_error_renderables()
        if self.failure is not None:
            # (a terminal that went away cannot show it: the log has it)
            with contextlib.suppress(OSError):
                print(f"treadcoach: {self.failure.line}", file=sys.stderr, flush=True)

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
        self.not_saved = False
        self._heart_rates = []
        self._checkin_asked = False
        self.checkin = None
        self.checkin_error = None
        self._session_done = asyncio.Event()
        self._remove_listener = handle.add_listener(self._on_listener_event)
        self._session_screen = SessionScreen(self.settings)
        self._show_screen(self._session_screen)
        # Facing away from the screen, the voice is how cues arrive: say which one is in use.
        logger.info("%s", self.speaker.description)
        self.notify(self.speaker.description, timeout=10)
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
            self.failure = Failure(self.session_error, SESSION_ERROR_STATUS)
        except Exception as exc:
            # The controller has stopped the belt (its contract); say why instead of a traceback.
            logger.exception("the session failed")
            self.session_error = f"the session failed unexpectedly ({_one_line(exc)})"
            self.failure = Failure(self.session_error, CRASH_STATUS)
        finally:
            self._summary = summary
            self._session_done.set()
            if self.is_running:  # (not while the app shuts down: it removed its handlers)
                # A Session with its own signal handlers put the defaults back when it ended.
                self._install_signal_handlers()
        self.refresh_session()
        if self._ticker is not None:
            self._ticker.stop()
        if self.session_error is not None and not self._leaving:
            if summary is None and self._unstarted_failure(handle):
                return
            self.notify(self.session_error, title="Session ended", severity="error", timeout=60)
        if summary is not None and not self._leaving:
            if self.settings.summary_delay_s > 0:
                self.set_timer(self.settings.summary_delay_s, lambda: self._show_summary(summary))
            else:  # Textual's Timer divides by its delay
                self.call_later(self._show_summary, summary)

    def _unstarted_failure(self, handle: SessionHandle) -> bool:
        """A session that failed before it ever reached the treadmill (no Bluetooth, unknown
        device): nothing on this screen can help, so say it where the user can act. Back to the
        setup screen when there is one (with the error), else leave with the one line."""
        if handle.state.phase is not Phase.CONNECTING:
            return False
        assert self.session_error is not None
        if self._setup is not None and self._factory is not None:
            self.failure = None
            self._session_screen = None
            screen = SetupScreen(self._setup, self.settings, error=self.session_error)
            self._show_screen(screen)
        else:
            self.exit(None, return_code=SESSION_ERROR_STATUS)
        return True

    def _show_summary(self, summary: Summary) -> None:
        if self._leaving or self.session_running:
            return
        self._session_screen = None
        self._show_screen(
            SummaryScreen(
                summary,
                self.settings,
                can_start_again=self._factory is not None,
                extras=self._summary_extras(),
            )
        )
        self._ask_checkin(summary)

    def _ask_checkin(self, summary: Summary) -> None:
        """The check-in, over the summary: only after the session returned (the belt stopped)."""
        if self._save_checkin is None or self._checkin_asked or self.session_running:
            return
        if summary.belt_may_be_running:
            return  # the summary's warning to use the treadmill's stop button stays in view
        self._checkin_asked = True
        self.push_screen(CheckInScreen(), self._checked_in)

    def _checked_in(self, checkin: CheckIn | None) -> None:
        save = self._save_checkin
        if checkin is None or checkin.empty or save is None:
            return  # both skipped: nothing to save
        try:
            save(checkin)
        except HistoryError as exc:
            logger.warning("the check-in was not saved: %s", exc)
            self.checkin_error = str(exc)
            self.notify(
                str(exc), title="Check-in not saved", severity="error", timeout=60, markup=False
            )
            return
        self.checkin = checkin
        answers = [
            f"RPE {checkin.rpe}" if checkin.rpe is not None else "",
            f"pain {checkin.pain}/10" if checkin.pain is not None else "",
        ]
        self.notify("Check-in saved: " + ", ".join(a for a in answers if a), timeout=10)

    def _summary_extras(self) -> SummaryExtras:
        handle = self.session
        beats = self._heart_rates
        facts = handle if isinstance(handle, SessionFacts) else None
        return SummaryExtras(
            planned_duration_s=facts.planned_duration_s if facts else None,
            planned_distance_m=facts.planned_distance_m if facts else None,
            heart_rate_avg_bpm=round(sum(beats) / len(beats)) if beats else None,
            heart_rate_max_bpm=max(beats) if beats else None,
            saved_as=facts.saved_as if facts else None,
            recorded=facts is not None and facts.recording,
            not_saved=self.not_saved,
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
        event = message.event
        for utterance in self._planner.on_event(event):
            self._say(utterance)
        if isinstance(event, Telemetry) and event.heart_rate_bpm:
            self._heart_rates.append(event.heart_rate_bpm)
        if isinstance(event, Fault) and event.kind == JOURNAL_FAULT:
            self.not_saved = True
        if isinstance(event, Stop) and event.reason in _SIGNAL_REASONS and not self._leaving:
            # A session with its own signal handlers stopped for a signal: leave as we would.
            self.leave(event.reason, event.detail)
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
        view = present(
            state,
            self.settings.units,
            leaving=self._leaving,
            session_over=self._session_done.is_set(),
            not_saved=self.not_saved,
        )
        if view != self._view:
            self._view = view
        screen = self._session_screen
        if screen is not None and screen.is_mounted and self._view is not None:
            screen.show(self._view, muted=self.muted)

    def _voice_changed(self, description: str) -> None:
        # espeak-ng is installed but cannot speak (no audio device): say so, the start
        # notice said "cues: espeak-ng"
        self.notify(description, severity="warning", timeout=15)

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
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self.session_running
            and not self._dizzy_keys.isdisjoint(event.aliases)
        ):
            self.action_dizzy_stop()
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

    def action_dizzy_stop(self) -> None:
        session = self.session
        if session is None or not self.session_running:
            return
        session.request_stop(StopReason.DIZZY, "dizzy key")
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
        """Stop the belt first, then leave once the session has finished stopping; a second
        quit while waiting leaves at once."""
        if self._leaving:
            logger.warning("quit again while the session stops: leaving now (this stops it too)")
            self.exit(self._summary)
            return
        self.leave(StopReason.QUIT)

    def leave(self, reason: StopReason, detail: str = "") -> None:
        """Stop the belt for ``reason`` and exit once the session has finished stopping (at
        once when no session runs). The way out for quit and for signals."""
        if self._leaving:
            return
        self._leaving = True
        session = self.session
        if session is not None and self.session_running:
            session.request_stop(reason, detail)
            self.refresh_session()
            self.run_worker(self._exit_when_stopped(), name="leave", group="leave")
        else:
            self.exit(self._summary)

    @property
    def leaving(self) -> bool:
        """Quit (or a signal) was asked for: the app leaves once the belt has stopped."""
        return self._leaving

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
