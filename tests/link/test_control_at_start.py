"""Request Control refused at session start: the message says what the result code means.

0x05 (control not permitted) is what a machine answers while another client holds control;
0x04 (operation failed) is not that -- the machine could not do it (a workout running from its
console, a busy controller) -- and naming another app sends the user looking for the wrong
thing.
"""

from __future__ import annotations

import pytest
from link_helpers import Wire, on_virtual_time
from transports import Transport

from treadcoach.errors import ControlRejected
from treadcoach.ftms.enums import OpCode, ResultCode

RC = bytes([0x00])


def _refusal(transport: Transport, code: ResultCode) -> ControlRejected:
    wire = Wire(answers={RC: bytes([0x80, 0x00, code])})

    async def scenario() -> ControlRejected:
        with pytest.raises(ControlRejected) as refused:
            async with transport.link(wrap_client=wire.client):
                pass
        return refused.value

    return on_virtual_time(scenario)


def test_request_control_failed_at_start_is_not_blamed_on_another_app(
    transport: Transport,
) -> None:
    error = _refusal(transport, ResultCode.FAILED)
    assert error.opcode == OpCode.REQUEST_CONTROL
    assert error.result_code == ResultCode.FAILED
    text = str(error)
    assert "another app" not in text
    assert "0x04 (failed)" in text
    assert "could not grant control" in text


def test_request_control_not_permitted_at_start_names_another_controller(
    transport: Transport,
) -> None:
    text = str(_refusal(transport, ResultCode.CONTROL_NOT_PERMITTED))
    assert "0x05 (control not permitted)" in text
    assert "another app" in text
