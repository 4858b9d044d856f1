"""A throwaway mosquitto on a free loopback port, for the MQTT tests and the stop-latency benchmark.

Not used by a session: real users point ``--mqtt`` at their own broker (Home Assistant's add-on,
a NAS, ...). This only starts ``mosquitto -c <temp conf>`` with anonymous access on 127.0.0.1 (and,
if asked, a listener that requires a user and password, and a TLS one), waits until it accepts
connections, and can kill and restart it on the same port to play a broker outage.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from treadcoach.errors import MqttBridgeError

__all__ = ["LocalMosquitto", "find_mosquitto", "free_port"]

_SEARCH = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str:
    """Path of the mosquitto binary, or MqttBridgeError saying how to install it."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in _SEARCH:
        if os.access(candidate, os.X_OK):
            return candidate
    raise MqttBridgeError(
        "mosquitto is not installed, and the MQTT tests and benchmark need a real broker: "
        "install it with 'sudo apt-get install mosquitto' (or run scripts/test, which does)."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalMosquitto:
    """``with LocalMosquitto() as broker: broker.port`` -- anonymous listener on 127.0.0.1."""

    def __init__(
        self,
        *,
        auth_user: tuple[str, str] | None = None,
        tls: bool = False,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.binary = find_mosquitto()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.auth_port: int | None = None
        self.tls_port: int | None = None
        self.ca_file: Path | None = None  # the TLS listener's self-signed certificate
        self._auth_user = auth_user
        self._tls = tls
        self._startup_timeout_s = startup_timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="treadcoach-mosquitto-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._config = self._write_config()

    def _write_config(self) -> Path:
        lines = [
            "per_listener_settings true",
            "persistence false",
            f"log_dest file {self._dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            # As root, mosquitto would drop to the 'mosquitto' user, which cannot read our temp dir.
            f"user {getpass.getuser()}",
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
        ]
        if self._auth_user is not None:
            user, password = self._auth_user
            password_file = self._dir / "passwords"
            passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            subprocess.run(
                [passwd, "-c", "-b", str(password_file), user, password],
                check=True,
                capture_output=True,
            )
            password_file.chmod(0o600)
            self.auth_port = free_port()
            lines += [
                f"listener {self.auth_port} {self.host}",
                "allow_anonymous false",
                f"password_file {password_file}",
            ]
        if self._tls:
            self.ca_file, key_file = self._make_certificate()
            self.tls_port = free_port()
            lines += [
                f"listener {self.tls_port} {self.host}",
                "allow_anonymous true",
                f"certfile {self.ca_file}",
                f"keyfile {key_file}",
            ]
        config = self._dir / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def _make_certificate(self) -> tuple[Path, Path]:
        """A one-day self-signed certificate for 127.0.0.1/localhost (it is its own CA)."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise MqttBridgeError(
                "openssl is not installed, and the MQTT TLS test needs it to make a certificate: "
                "install it with 'sudo apt-get install openssl'."
            )
        cert, key = self._dir / "broker.crt", self._dir / "broker.key"
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return cert, key

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return (self._dir / "mosquitto.log").read_text(errors="replace")
        return ""

    def start(self) -> None:
        """Start (or restart, same ports) and return once it accepts connections."""
        if self.running:
            return
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self._config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self._startup_timeout_s
        ports = [p for p in (self.port, self.auth_port, self.tls_port) if p is not None]
        while True:
            if self._process.poll() is not None:
                stderr = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise MqttBridgeError(
                    f"mosquitto exited at start (code {self._process.returncode}): "
                    f"{(stderr + self.log_text()).strip()[-500:]}"
                )
            if all(_accepts(self.host, port) for port in ports):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise MqttBridgeError(
                    f"mosquitto did not accept connections on {self.host}:{self.port} within "
                    f"{self._startup_timeout_s:g} s."
                )
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a goodbye, as on a crash or power cut."""
        self._terminate(signal.SIGKILL)

    def stop(self) -> None:
        self._terminate(signal.SIGTERM)

    def _terminate(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalMosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
