"""What the link believes about the belt: is it running (as a machine state), and how fast.

Pure and clock-free (times are passed in). The belief decides whether Start may be sent, and a
wrong "not running" on a toggle machine (TM11GY) turns Start into a pause, so the rules lean on
the machine's own word and distrust lone zeros:

* Machine Status (started / stopped, paused, safety key, reset) and our own accepted Start or
  Stop/Pause set the state outright.
* Telemetry moving from standstill means running (started at the console, no status sent).
* Telemetry at 0 means stopped only once the belt has had time to spin up after a start
  (``spin_up_s``; QZ waits 10 s) and the zero is not a lone glitch (``zero_glitch_s`` after the
  last non-zero speed; Merach sends single 0 frames while running).
* A belt coasting down after Stop keeps its speed above 0 for a while but is *not* running --
  as long as telemetry shows it slowing: a speed that has not fallen for ``coast_stall_s``
  means the machine ignored the Stop (TM11GY answers 0x80 xx 01 to everything), so the belt
  is running again, fresh telemetry over an old acknowledgement. From then on this machine's
  acknowledgements of Stop are not believed (``acks_ignored``): only telemetry or Machine
  Status can say it stopped.

``known_stopped`` is stricter, for machines where Start toggles (``start_toggles``): two
standstill records in a row, or Training Status idle, and nothing since saying it runs. One 0 km/h
frame, or no telemetry yet, is not "stopped" there.
"""

from __future__ import annotations

__all__ = ["BeltBelief"]


class BeltBelief:
    __slots__ = (
        "_coast_by_ack",
        "_coast_low",
        "_coast_low_at",
        "_idle",
        "_moving_at",
        "_started_at",
        "_zeros",
        "acks_ignored",
        "coast_stall_s",
        "running",
        "speed_kmh",
        "spin_up_s",
        "starts_seen",
        "zero_glitch_s",
    )

    def __init__(
        self, *, spin_up_s: float = 10.0, zero_glitch_s: float = 3.0, coast_stall_s: float = 3.0
    ) -> None:
        self.spin_up_s = spin_up_s
        self.zero_glitch_s = zero_glitch_s
        #: after a Stop, the belt must show a lower speed at least this often to be coasting
        #: (records come at ~1 Hz; a belt slows at ~1 km/h per s, so three equal records
        #: are a belt that runs on)
        self.coast_stall_s = coast_stall_s
        #: an acknowledged Stop was followed by a belt that did not slow down: this machine's
        #: acknowledgements do not say the belt stops
        self.acks_ignored = False
        #: None until anything said; True = the machine is in a running state.
        self.running: bool | None = None
        #: the last reported belt speed (true km/h), None before the first record
        self.speed_kmh: float | None = None
        #: how often the machine reported the belt starting (Machine Status, or telemetry
        #: moving from standstill or not slowing after a Stop): an acknowledged Stop/Pause
        #: written before the latest of these says nothing about the belt now
        self.starts_seen = 0
        self._started_at: float | None = None
        self._moving_at: float | None = None
        self._zeros = 0  # standstill records in a row
        self._idle = False  # Training Status idle, and not started since
        # coasting after a Stop: the lowest speed since, when it was reached, and whether the
        # Stop was our acknowledged command (None: not coasting)
        self._coast_low: float | None = None
        self._coast_low_at = 0.0
        self._coast_by_ack = False

    @property
    def known_stopped(self) -> bool:
        """Standing still beyond doubt: safe to send Start to a machine that toggles on it."""
        return self.running is not True and (self._zeros >= 2 or self._idle)

    @property
    def coasting(self) -> bool:
        """Stopped, and telemetry still shows the belt slowing down."""
        return self._coast_low is not None

    def started(self, now: float, *, reported: bool = True) -> None:
        """Machine Status "started or resumed"; or (``reported`` False) our Start accepted."""
        self.starts_seen += reported
        self.running = True
        self._started_at = now
        self._zeros = 0
        self._idle = False
        self._coast_low = None

    def stopped(
        self, now: float, *, acknowledged: bool = False, starts_at_write: int | None = None
    ) -> None:
        """Machine Status stopped/paused, safety key, reset; or (``acknowledged``) our
        Stop/Pause accepted -- which says nothing on a machine whose acks were ignored, nor
        when the machine reported the belt starting after we wrote it (``starts_at_write``:
        ``starts_seen`` then): which came first is unknowable, so the belt counts as running
        until the machine or telemetry says it stopped."""
        if acknowledged and self.acks_ignored:
            return
        if acknowledged and starts_at_write is not None and starts_at_write != self.starts_seen:
            return
        self.running = False
        self._started_at = None
        self._coast_low = self.speed_kmh if self.speed_kmh is not None else float("inf")
        self._coast_low_at = now
        self._coast_by_ack = acknowledged

    def telemetry(self, speed_kmh: float, now: float) -> None:
        before = self.speed_kmh
        self.speed_kmh = speed_kmh
        if speed_kmh > 0.0:
            self._zeros = 0
            self._idle = False
            self._moving_at = now
            if self.running is None or (before is not None and before <= 0.0):
                self.starts_seen += 1
                self.running = True
                self._coast_low = None
            elif self._coast_low is not None:
                self._coast(speed_kmh, now)
            return
        self._zeros += 1
        self._coast_low = None  # it came to a stand
        if self.running is not True:
            self.running = False
            return
        spinning_up = self._started_at is not None and now - self._started_at < self.spin_up_s
        glitch = self._moving_at is not None and now - self._moving_at < self.zero_glitch_s
        if not (spinning_up or glitch):
            self.running = False

    def _coast(self, speed_kmh: float, now: float) -> None:
        assert self._coast_low is not None
        if speed_kmh < self._coast_low:
            self._coast_low, self._coast_low_at = speed_kmh, now
        elif now - self._coast_low_at >= self.coast_stall_s:
            # not slowing down: the Stop did not take, the belt runs
            self.starts_seen += 1
            self.running = True
            self._coast_low = None
            self.acks_ignored = self.acks_ignored or self._coast_by_ack

    def idle(self) -> None:
        """Training Status says idle: not running, if nothing else said otherwise."""
        self._idle = self.running is not True
        if self.running is None:
            self.running = False
