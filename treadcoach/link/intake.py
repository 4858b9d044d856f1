"""What the machine says, in (asyncio shell): bleak's notification callbacks, into the event queue.

Bleak's callbacks run on the loop; each is decoded right there by ``observe.MachineView`` (the
one owner of the belt belief) and bridged once into an ``asyncio.Queue`` of typed events
(``stream``, the link's ``events()``). A frame that does not decode is counted, reported
(``BadFrameEvent``) and skipped: it never drops the link. Control point indications go to the
``ControlChannel``; a success it decodes comes back here (``accepted``) in the same callback, so
the belief takes every word in the order the machine said it (model finding 9).

The asyncio events here are the belief's waiters: ``running`` (``start_before_speed`` waits on
it) and ``learn_belt_state`` (Start waits for the belt's state before deciding).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

from bleak.backends.characteristic import BleakGATTCharacteristic

from treadcoach.errors import FtmsDecodeError
from treadcoach.ftms import ControlRequest
from treadcoach.link.channel import ControlChannel
from treadcoach.link.events import BadFrameEvent, LinkEvent
from treadcoach.link.gatt import Handlers
from treadcoach.link.observe import MachineView

__all__ = ["EventStream", "Intake"]

logger = logging.getLogger(__name__)

_END: Final = object()


class EventStream:
    """The async iterator over one link's events; ends when the link closes or gives up."""

    def __init__(self, queue: asyncio.Queue[object]) -> None:
        self._queue = queue
        self._ended = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> LinkEvent:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        return item  # type: ignore[return-value]


def _now() -> float:
    return asyncio.get_running_loop().time()


class Intake:
    """Notifications in, events out, for one link (every connection of it)."""

    def __init__(
        self, view: MachineView, channel: Callable[[], ControlChannel], name: Callable[[], str]
    ) -> None:
        self.view = view
        self._channel, self._name = channel, name
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.stream = EventStream(self._queue)
        #: set while the belief says the belt runs
        self.running = asyncio.Event()
        self._state_known = asyncio.Event()
        self._news = asyncio.Event()  # set on every change of the belief
        self.handlers = Handlers(
            self._on_control_point,
            self._on_treadmill_data,
            self._on_machine_status,
            self._on_training_status,
            lambda uuid, error, raw: self.publish([self.view.bad_frame(uuid, error, raw, _now())]),
        )

    # --- out --------------------------------------------------------------------------------

    def emit(self, event: LinkEvent) -> None:
        self._queue.put_nowait(event)

    def end(self) -> None:
        """The stream ends after what is queued (the link closed or gave up)."""
        self._queue.put_nowait(_END)

    def publish(self, events: list[LinkEvent]) -> None:
        for event in events:
            if isinstance(event, BadFrameEvent):
                logger.debug(
                    "%s: bad %s frame %s: %s",
                    self._name(),
                    event.characteristic,
                    event.data.hex(" "),
                    event.error,
                )
            self.emit(event)
        self.belt_changed()

    def belt_changed(self) -> None:
        """The belief may have moved: wake its waiters."""
        self._news.set()
        running = self.view.belt.running
        if running is not None:
            self._state_known.set()
        if running:
            self.running.set()
        else:
            self.running.clear()

    async def learn_belt_state(self, *, toggles: bool, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) until the belief can decide Start: on a machine where
        Start toggles, the belt known stopped or running; elsewhere, any state at all."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                if not toggles:
                    if self.view.belt.running is None:
                        await self._state_known.wait()
                    return
                while not (self.view.belt.known_stopped or self.view.belt.running):
                    self._news.clear()
                    await self._news.wait()

    # --- in (bleak callbacks, on the loop) ------------------------------------------------------

    def accepted(self, request: ControlRequest, starts_at_write: int | None) -> None:
        """The machine accepted ``request``; called as its indication is decoded."""
        self.view.accepted(request, _now(), starts_at_write)
        self.belt_changed()

    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            self._channel().indication(raw)
        except FtmsDecodeError as error:
            self.publish([self.view.bad_frame("Control Point", error, raw, _now())])

    def _on_treadmill_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.publish(self.view.treadmill_data(bytes(data), _now()))

    def _on_machine_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        events, status = self.view.machine_status(bytes(data), _now())
        self.publish(events)
        if status is not None:
            self._channel().machine_status(status)

    def _on_training_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.publish(self.view.training_status_changed(bytes(data), _now()))
