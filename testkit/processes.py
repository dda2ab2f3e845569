"""Subprocesses that tests and the bench start: each in its own process group, its output in a
log file, stopped with its children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
START_SECONDS = 30.0  # a process must be ready within this


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], T], *, timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g}s waiting for {what}")
        time.sleep(every)


class Service:
    """One subprocess, its stdout and stderr appended to `<logs>/<name>.log`.

    `start()` launches it and, given `ready`, waits until `ready(service)` is true (failing
    with the log if the process exits first); `stop()` signals its whole process group.
    """

    started: ClassVar[list[Service]] = []  # every service started in this process, for reports

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        logs: Path,
        ready: Callable[[Service], bool] | None = None,
        cwd: Path = ROOT,
    ):
        self.name, self.argv, self.env, self.ready, self.cwd = name, argv, env, ready, cwd
        self.log_path = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at_offset = 0
        self.url = ""  # servers: their base URL

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not started"
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log(self, since: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[since:].decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_SECONDS) -> Self:
        self.started_at_offset = self.log_size()
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        if self not in Service.started:
            Service.started.append(self)
        ready = self.ready
        if ready is not None:

            def up() -> bool:
                if not self.alive():
                    raise AssertionError(f"{self.name} exited:\n{self.log(self.started_at_offset)}")
                return ready(self)

            wait_for(up, timeout=timeout, what=f"{self.name} to start")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                proc.wait(timeout=5)
        self.proc = None


S = TypeVar("S", bound=Service)


@contextmanager
def running(services: dict[str, S]) -> Iterator[dict[str, S]]:
    """Start each service in order (each ready before the next starts); stop them all after,
    also when one of them failed to start."""
    try:
        for service in services.values():
            service.start()
        yield services
    finally:
        for service in services.values():
            service.stop()
