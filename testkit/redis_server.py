"""A redis-server of a test's own on a free port (never the machine's shared one), which the
test may stop, kill, pause or restart."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import redis

from .processes import Service, free_port


def _answers(service: Service) -> bool:
    return isinstance(service, RedisServer) and service.answers()


class RedisServer(Service):
    def __init__(self, logs: Path, port: int | None = None):
        self.port = port or free_port()
        binary = shutil.which("redis-server") or "redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        super().__init__(f"redis-{self.port}", argv, env={}, logs=logs, ready=_answers)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
