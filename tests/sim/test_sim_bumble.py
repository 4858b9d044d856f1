"""The simulated treadmill as a real BLE peripheral on bumble's stack (skipped without bumble).

A bumble central and the peripheral share an in-memory LocalLink: advertising, connection, ATT
discovery, CCCD writes and indications are bumble's own, on the virtual clock.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

bumble = pytest.importorskip("bumble")

from bumble.att import ATT_Error  # noqa: E402
from bumble.controller import Controller  # noqa: E402
from bumble.core import UUID  # noqa: E402
from bumble.device import Device, Peer  # noqa: E402
from bumble.hci import Address  # noqa: E402
from bumble.host import Host  # noqa: E402
from bumble.link import LocalLink  # noqa: E402
from bumble.transport.common import AsyncPipeSink  # noqa: E402

from sim import SimTreadmill  # noqa: E402
from sim.bumble_peripheral import BumblePeripheral  # noqa: E402
from treadcoach import clock  # noqa: E402
from treadcoach.ftms import uuids  # noqa: E402


def _device(link: Any, address: str, name: str) -> Any:
    controller = Controller(name, link=link, public_address=address)
    return Device(
        name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
    )


def test_bumble_central_finds_connects_and_drives_the_treadmill_over_att() -> None:
    async def scenario() -> None:
        link = LocalLink()
        central = _device(link, "F0:0D:00:00:00:B1", "central")
        async with (
            SimTreadmill(name="BumbleTread", address="F0:0D:00:00:00:B0") as treadmill,
            BumblePeripheral(treadmill, _device(link, "F0:0D:00:00:00:B0", "tread")),
        ):
            await central.power_on()
            heard: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            central.on("advertisement", lambda adv: heard.done() or heard.set_result(adv))
            await central.start_scanning()
            adv = await asyncio.wait_for(heard, 5)
            await central.stop_scanning()
            assert "BumbleTread" in str(adv.data)
            assert "data=010100" in str(adv.data)

            peer = Peer(await central.connect(adv.address))
            await peer.discover_services()
            await peer.discover_characteristics()
            (cp,) = peer.get_characteristics_by_uuid(UUID(uuids.CONTROL_POINT_UUID))
            (td,) = peer.get_characteristics_by_uuid(UUID(uuids.TREADMILL_DATA_UUID))

            with pytest.raises(ATT_Error) as caught:  # indications not enabled yet
                await cp.write_value(b"\x00", with_response=True)
            assert caught.value.error_code == 0xFD

            replies: asyncio.Queue[bytes] = asyncio.Queue()
            speeds: list[float] = []
            await cp.subscribe(lambda v: replies.put_nowait(bytes(v)), prefer_notify=False)
            await td.subscribe(lambda v: speeds.append(int.from_bytes(v[2:4], "little") / 100))
            for request in (b"\x00", b"\x07", b"\x02" + (483).to_bytes(2, "little")):
                await cp.write_value(request, with_response=True)
                assert await asyncio.wait_for(replies.get(), 2) == bytes([0x80, request[0], 1])
            await asyncio.sleep(8)
            assert speeds[-1] == 4.83
            assert treadmill.belt_speed_kmh == 4.83

            treadmill.inject("disconnect")
            await asyncio.sleep(1)
            assert not treadmill.connected

    clock.run(scenario(), speedup=math.inf)
