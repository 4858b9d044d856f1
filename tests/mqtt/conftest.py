"""A real mosquitto per test session (and a private one for tests that kill it).

If mosquitto is missing this FAILS, it does not skip: the README's test command installs it, and
skipping would let CI pass without ever testing the bridge against a broker.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from treadcoach.errors import MqttBridgeError
from treadcoach.mqtt.localbroker import LocalMosquitto

_ids = itertools.count()


def _start(**kwargs: object) -> LocalMosquitto:
    try:
        broker = LocalMosquitto(**kwargs)  # type: ignore[arg-type]
        broker.start()
    except MqttBridgeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return broker


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[LocalMosquitto]:
    """Shared broker: anonymous on ``.port``, user 'coach'/'s3cret' required on ``.auth_port``."""
    broker = _start(auth_user=("coach", "s3cret"))
    yield broker
    broker.close()


@pytest.fixture(scope="session")
def tls_mosquitto() -> Iterator[LocalMosquitto]:
    """A broker with a TLS listener on ``.tls_port``; its certificate is ``.ca_file``."""
    broker = _start(tls=True)
    yield broker
    broker.close()


@pytest.fixture
def own_mosquitto() -> Iterator[LocalMosquitto]:
    """A broker this test alone may kill (``.kill()``) and restart on the same port (``.start()``)."""
    broker = _start()
    yield broker
    broker.close()


@pytest.fixture
def device_id(request: pytest.FixtureRequest) -> str:
    """A device id no other test uses, so retained messages never leak between tests."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"t{next(_ids)}_{request.node.name}")[:48]
