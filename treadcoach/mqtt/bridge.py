"""The MQTT bridge: session state out, stop/pause (and, if enabled, resume/speed) in.

One ``MqttBridge.run()`` task per session, owned by the session's TaskGroup. It never ends on its
own: a broker that is down at start or goes away mid-session is retried with exponential backoff
and jitter while the session carries on; ``connected`` and ``on_status`` tell the TUI/event stream.
Cancelling ``run()`` publishes ``offline`` and disconnects (a clean disconnect does not fire the
broker's last will, so we say it ourselves).

The stop path: a message is handled synchronously the moment paho decodes it, inside the
socket's read callback (aiomqtt's ``queue_type`` seam: :func:`_acting_queue`), so no loop turn --
no screen repaint, no other task that is ready -- comes between the bytes and the session; for
``stop``/``pause`` and the MQTT buttons the session's ``request_stop``/``request_pause`` is the
first thing called, before any await (the command result is queued and published afterwards).

Messages that arrive *retained* on the command or button topics are ignored with a warning: they
were published before we subscribed, so they describe some earlier moment, and honouring a stale
``speed`` or ``resume`` would move the belt nobody asked to move now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import ssl
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Protocol, TypeVar

import aiomqtt
import pydantic

from treadcoach.coach.events import Connected, Event, Fault, SegmentStarted, Stop, Summary
from treadcoach.coach.state import SessionState
from treadcoach.errors import MqttBridgeError
from treadcoach.mqtt import topics
from treadcoach.mqtt.buttons import ButtonTrigger
from treadcoach.mqtt.discovery import discovery_configs
from treadcoach.mqtt.payloads import (
    CommandName,
    CommandResult,
    StatePayload,
    parse_command,
)
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.stop import RemoteControl

__all__ = ["BridgedSession", "MqttBridge", "StatusCallback"]

log = logging.getLogger(__name__)

StatusCallback = Callable[[bool, str], None]
T = TypeVar("T")

# Events after which the state topic should not wait for the next 1 Hz tick.
_SIGNIFICANT = (SegmentStarted, Stop, Summary, Connected, Fault)
_OUTBOX_SIZE = 32


class BridgedSession(RemoteControl, Protocol):
    """What the bridge needs of a session (``SessionHandle`` provides it)."""

    @property
    def state(self) -> SessionState: ...

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]: ...


class MqttBridge:
    def __init__(
        self,
        session: BridgedSession,
        *,
        hostname: str,
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        device_id: str,
        discovery_prefix: str = "homeassistant",
        discovery: bool = True,
        remote_control: bool = False,
        buttons: Iterable[tuple[str, str]] = (),
        state_interval_s: float = 1.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        keepalive_s: int = 15,
        timeout_s: float = 5.0,
        on_status: StatusCallback | None = None,
    ) -> None:
        if not (state_interval_s > 0 and 0 < reconnect_min_s <= reconnect_max_s):
            raise MqttBridgeError(
                "MQTT bridge intervals must be positive, with reconnect_min_s <= reconnect_max_s."
            )
        self._session = session
        self._hostname = hostname
        self._port = port
        self._username = username
        self._password = password
        self._tls_context = tls_context
        self.device_id = topics.check_device_id(device_id)
        self._prefix = topics.check_discovery_prefix(discovery_prefix)
        self._discovery = discovery
        self.remote_control = remote_control
        self._buttons = tuple(ButtonTrigger.parse(topic, payload) for topic, payload in buttons)
        self._state_interval_s = state_interval_s
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._on_status = on_status
        self._random = random.Random()

        self.state_topic = topics.state_topic(self.device_id)
        self.availability_topic = topics.availability_topic(self.device_id)
        self.command_topic = topics.command_topic(self.device_id)
        self.result_topic = topics.command_result_topic(self.device_id)
        self._ha_status_topic = topics.ha_status_topic(self._prefix)

        self.connected = False
        # Whether the connection being served is one we keep: cleared the moment it is given
        # up (cancelled, or its tasks failed). Messages are acted on in paho's read callback
        # (_acting_queue), which keeps reading while a cancelled bridge says offline; only a
        # stop or a pause is still taken then, never what moves the belt (red team 4-1).
        self._live = False
        self.status_detail = "not connected yet"
        # Filled by the sync message handler and the session listener, drained by the publisher.
        self._wake = asyncio.Event()
        self._state_dirty = False
        self._rediscover = False
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(_OUTBOX_SIZE)

    @property
    def broker(self) -> str:
        return f"{self._hostname}:{self._port}"

    # --- lifetime -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until cancelled, reconnecting for ever. Only a bug in the bridge raises."""
        remove_listener = self._session.add_listener(self._on_event)
        failures = 0
        try:
            while True:
                error = await self._connect_and_serve()
                if self.connected:  # the connection was up: this is a fresh outage
                    failures = 0
                    lost = f"lost the MQTT broker {self.broker} ({error})"
                else:
                    lost = f"cannot reach the MQTT broker {self.broker} ({error})"
                failures += 1
                delay = self._backoff(failures)
                self._set_status(False, f"{lost}; retrying in {delay:.1f} s")
                await asyncio.sleep(delay)
        finally:
            remove_listener()
            if self.connected:
                self._set_status(False, "MQTT bridge stopped", level=logging.INFO)

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._reconnect_max_s, self._reconnect_min_s * 2 ** min(failures - 1, 30))
        # "Equal jitter": half fixed, half random, so many clients don't retry in lockstep.
        return max(self._reconnect_min_s, self._random.uniform(ceiling / 2, ceiling))

    async def _connect_and_serve(self) -> str:
        """One connection's life; returns why it ended (the broker's fault, never ours)."""
        error = ""
        try:
            async with self._client() as client:
                await self._serve(client)
        except* (aiomqtt.MqttError, OSError) as group:
            error = "; ".join(str(exc) or type(exc).__name__ for exc in _leaves(group))
        return error or "connection closed"

    def _client(self) -> aiomqtt.Client:
        # A fresh client per attempt: aiomqtt 2.x clients don't reconnect, and a new one carries
        # no half-reset state from the connection that just died.
        return aiomqtt.Client(
            self._hostname,
            self._port,
            username=self._username,
            password=self._password,
            identifier=f"treadcoach-{self.device_id}-{secrets.token_hex(3)}",
            will=aiomqtt.Will(self.availability_topic, topics.NOT_AVAILABLE, qos=1, retain=True),
            tls_context=self._tls_context,
            keepalive=self._keepalive_s,
            timeout=self._timeout_s,
            logger=log,
            queue_type=_acting_queue(self._act),
        )

    async def _serve(self, client: aiomqtt.Client) -> None:
        # Drop what was queued for a previous connection: results of old commands are stale.
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._live = True
        try:
            await _checked(client.subscribe(self.command_topic, qos=1))
            for button in self._buttons:
                await _checked(client.subscribe(button.topic, qos=1))
            if self._discovery:
                await _checked(client.subscribe(self._ha_status_topic, qos=1))
            await self._announce(client)
            self._set_status(True, f"connected to the MQTT broker {self.broker}")
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._receive(client))
                tasks.create_task(self._publish_loop(client))
        except asyncio.CancelledError:
            self._live = False
            await self._say_offline(client)
            raise
        finally:
            self._live = False

    async def _announce(self, client: aiomqtt.Client) -> None:
        """Availability, discovery and state: after every (re)connect and every HA birth."""
        await _checked(
            client.publish(self.availability_topic, topics.AVAILABLE, qos=1, retain=True)
        )
        if self._discovery:
            for config in discovery_configs(
                self.device_id, self._prefix, remote_control=self.remote_control
            ):
                await _checked(client.publish(config.topic, config.payload, qos=1, retain=True))
        await self._publish_state(client)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
            async with asyncio.timeout(self._timeout_s):
                await client.publish(
                    self.availability_topic, topics.NOT_AVAILABLE, qos=1, retain=True
                )

    def _set_status(self, connected: bool, detail: str, *, level: int | None = None) -> None:
        self.connected = connected
        self.status_detail = detail
        if level is None:
            level = logging.INFO if connected else logging.WARNING
        log.log(level, "%s", detail)
        if self._on_status is not None:
            try:
                self._on_status(connected, detail)
            except Exception:
                log.exception("MQTT on_status callback failed")

    # --- out: state, results, rediscovery -------------------------------------------------------

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        payload = StatePayload.from_state(self._session.state).model_dump_json()
        await _checked(client.publish(self.state_topic, payload, qos=0, retain=False))

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self._state_interval_s
        while True:
            wait_s = next_tick - loop.time()
            if wait_s > 0 and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        await self._wake.wait()
            self._wake.clear()
            while not self._outbox.empty():
                topic, payload = self._outbox.get_nowait()
                await _checked(client.publish(topic, payload, qos=0, retain=False))
            if self._rediscover:
                self._rediscover = False
                await self._announce(client)
                next_tick = loop.time() + self._state_interval_s
            if self._state_dirty or loop.time() >= next_tick:
                self._state_dirty = False
                await self._publish_state(client)
                next_tick = loop.time() + self._state_interval_s

    def _on_event(self, event: Event) -> None:
        # Session listener: runs on the loop inside the controller, so only set flags here.
        if isinstance(event, _SIGNIFICANT):
            self._state_dirty = True
            self._wake.set()

    def _queue_result(self, result: CommandResult) -> None:
        try:
            self._outbox.put_nowait((self.result_topic, result.model_dump_json()))
        except asyncio.QueueFull:
            log.warning("MQTT command results are piling up; dropping one")
            return
        self._wake.set()

    # --- in: commands, buttons, HA birth --------------------------------------------------------

    async def _receive(self, client: aiomqtt.Client) -> None:
        # Messages were acted on as they were read (_acting_queue): none is ever queued. The
        # iteration is what notices a broker that went away, and ends this connection's tasks.
        async for message in client.messages:
            self._act(message)

    def _act(self, message: aiomqtt.Message) -> None:
        self.handle_message(message.topic, message.payload, retained=message.retain)

    def handle_message(self, topic: aiomqtt.Topic, data: bytes, *, retained: bool) -> None:
        """Act on one incoming message at once (synchronous: stop/pause never wait on I/O)."""
        try:
            if topic.matches(self.command_topic):
                self._handle_command(topic, data, retained)
            for button in self._buttons:
                if button.matches(topic, data):
                    self._handle_button(button, topic, retained)
                    break
            if (
                self._discovery
                and topic.matches(self._ha_status_topic)
                and data.strip() == b"online"
            ):
                log.info("Home Assistant came online: re-sending discovery and state")
                self._rediscover = True
                self._wake.set()
        except Exception:
            # A bad message must never take the bridge (or the session) down.
            log.exception("MQTT message on %s could not be handled; ignored", topic)

    def _handle_command(self, topic: aiomqtt.Topic, data: bytes, retained: bool) -> None:
        if retained:
            log.warning(
                "ignoring a retained message on %s: commands are only taken live "
                "(clear it with an empty retained publish)",
                topic,
            )
            return
        try:
            command = parse_command(data)
        except ValueError as exc:
            log.warning("ignoring a bad MQTT command on %s: %s", topic, _one_line(exc))
            self._queue_result(
                CommandResult(
                    command=None, accepted=False, detail=f"not a command: {_one_line(exc)}"
                )
            )
            return
        name = command.command
        if name is CommandName.STOP:
            self._session.request_stop(command.stop_reason, f"mqtt command on {topic}")
            detail = "dizzy stop requested" if command.dizzy else "stop requested"
        elif name is CommandName.PAUSE:
            self._session.request_pause(StopReason.MQTT)
            detail = "pause requested"
        elif not self._live:
            log.warning("ignoring MQTT %r on %s: this connection is closing", name.value, topic)
            return
        elif not self.remote_control:
            log.warning(
                "refused MQTT %r on %s: remote control is not enabled (stop and pause are always "
                "allowed; enable remote control to let MQTT resume or change speed)",
                name.value,
                topic,
            )
            self._queue_result(
                CommandResult(
                    command=name,
                    kmh=command.kmh,
                    accepted=False,
                    detail="refused: remote control is not enabled",
                )
            )
            return
        elif name is CommandName.RESUME:
            self._session.request_resume(StopReason.MQTT)
            detail = "resume requested"
        else:
            assert command.kmh is not None  # the model guarantees it for speed
            self._session.request_speed(command.kmh, StopReason.MQTT)
            detail = f"speed {command.kmh:g} km/h requested"
        log.info("MQTT command %r on %s: %s", name.value, topic, detail)
        self._queue_result(
            CommandResult(command=name, kmh=command.kmh, accepted=True, detail=detail)
        )

    def _handle_button(self, button: ButtonTrigger, topic: aiomqtt.Topic, retained: bool) -> None:
        if retained:
            log.warning(
                "ignoring a retained message on MQTT button topic %s: only live presses stop", topic
            )
            return
        self._session.request_stop(StopReason.MQTT, f"mqtt button {topic}")
        log.info("MQTT button %s (%s) pressed: stop requested", topic, button.payload)


def _acting_queue(
    act: Callable[[aiomqtt.Message], None],
) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A class for aiomqtt's ``queue_type``: a "queue" whose ``put_nowait`` acts on the message.

    aiomqtt puts each message in its queue from paho's ``on_message``, which runs in the loop's
    reader callback for the socket; a task then takes it out a loop turn or two later, behind
    whatever else became ready (a 1-8 ms screen update, another session starting in the
    benchmark). Acting in ``put_nowait`` calls the session in that read callback instead.
    ``handle_message`` never raises and never awaits, as a paho callback must.
    """

    class ActingQueue(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            act(item)

    return ActingQueue


async def _checked(call: Awaitable[T]) -> T:
    """Await an aiomqtt call, and honour a cancellation it may have swallowed.

    aiomqtt waits with ``asyncio.wait_for``, which on Python 3.11 returns the result instead of
    raising when the cancel and the broker's answer arrive together (CPython gh-86296, fixed in
    3.12). At 1 Hz that race is real: the session's TaskGroup would wait for ever for a bridge
    that ignored its cancel. ``Task.cancelling()`` still counts the swallowed request. Compare
    with the count before the call, not with zero: 3.11's TaskGroup can leave a stale count on
    its parent task when a child fails while the parent already waits in ``__aexit__``.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    result = await call
    if task is not None and task.cancelling() > before:
        raise asyncio.CancelledError
    return result


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, pydantic.ValidationError):  # its str() is a multi-line essay with URLs
        text = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()
        )
    else:
        text = str(exc)
    return " ".join(text.split())[:200]
