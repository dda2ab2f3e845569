"""The throwaway full stack: a fresh PostgreSQL database, Redis index 8, uvicorn, a Celery worker
and the bare ASGI app; everything started here is stopped and dropped in `close()`."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
LOCK_FILE = Path(tempfile.gettempdir()) / "shop-bench.lock"


class StepError(RuntimeError):
    """A bench step failed (the run exits non-zero)."""


def log(msg: str) -> None:
    print(f"== bench: {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise StepError(f"no VmRSS for pid {pid}")


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path):
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    def __init__(self, *, worker_pool: str = "solo", keep_logs: bool = False):
        self.worker_pool = worker_pool
        self.keep_logs = keep_logs
        self.db_name = f"shop_bench_{os.getpid()}"
        self.tmp = Path(tempfile.mkdtemp(prefix="shop-bench."))
        self.procs: list[Proc] = []
        self.db_created = False
        self.redis_used = False
        self.failed = False
        self._lock: Any = None
        self.env = self._env()
        self.web: list[Proc] = []
        self.web_ports: list[int] = []
        self.workers: list[Proc] = []
        self.bare: Proc | None = None
        self.bare_port = 0

    # -- setup ---------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in {
                "CACHE_REDIS_URL",
                "CELERY_BROKER_URL",
                "CHANNEL_LAYER_REDIS_URL",
                "DJANGO_DEBUG",
                "DJANGO_SETTINGS_MODULE",
                "PYTHONPATH",
            }
        }
        env.update(
            DATABASE_URL=f"{PG_URL}/{self.db_name}",
            REDIS_URL=REDIS_URL,
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SETTINGS_MODULE="config.settings.base",
            DJANGO_DEBUG="0",
            # sign-in is not what is measured here; tokens must outlive the run
            AUTH_THROTTLE_RATE="1000000/min",
            JWT_ACCESS_MINUTES="600",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def open(self) -> None:
        self._lock = LOCK_FILE.open("w")
        deadline = time.monotonic() + 600
        while True:  # one bench at a time: runs share Redis index 8, which is flushed
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StepError(f"another bench holds {LOCK_FILE}") from None
                time.sleep(1)
        log(f"database {self.db_name}, Redis {REDIS_URL}, logs in {self.tmp}")
        r = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        r.ping()
        self.redis_used = True
        r.flushdb()
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=10) as c:
            c.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self.manage("migrate", "--noinput", "-v", "0", timeout=300)

    def manage(self, *args: str, timeout: float = 300) -> str:
        res = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if res.returncode != 0:
            raise StepError(
                f"manage.py {args[0]} failed ({res.returncode}):\n"
                f"{res.stdout[-2000:]}\n{res.stderr[-4000:]}"
            )
        return res.stdout

    def shell_json(self, code: str, timeout: float = 300) -> Any:
        """Run code with `manage.py shell -c`; it prints one line 'BENCH_JSON<json>'."""
        out = self.manage("shell", "-c", code, timeout=timeout)
        for line in out.splitlines():
            if line.startswith("BENCH_JSON"):
                return json.loads(line[len("BENCH_JSON") :])
        raise StepError(f"shell printed no BENCH_JSON line:\n{out[-2000:]}")

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True, connect_timeout=10) as c:
            return list(c.execute(query, params).fetchall())

    def start_web(self, count: int = 1) -> None:
        for i in range(count):
            port = free_port()
            p = self._spawn(
                f"uvicorn{i}",
                [
                    str(BIN / "uvicorn"),
                    "config.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
            )
            self.web.append(p)
            self.web_ports.append(port)
        for p, port in zip(self.web, self.web_ports, strict=True):
            self.wait_http(p, f"http://127.0.0.1:{port}/api/categories/", 90)

    def start_workers(self, count: int = 1) -> None:
        for i in range(count):
            pool = ["-P", "solo"] if self.worker_pool == "solo" else ["-P", "prefork", "-c", "2"]
            p = self._spawn(
                f"worker{i}",
                [
                    str(BIN / "celery"),
                    "-A",
                    "celery_app",
                    "worker",
                    *pool,
                    "-l",
                    "warning",
                    "-n",
                    f"bench{os.getpid()}-{i}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
            )
            self.workers.append(p)
        time.sleep(1.0)
        for p in self.workers:
            if not p.alive():
                raise StepError(f"{p.name} exited at start:\n{p.tail()}")
        # readiness is checked end to end by the first status change the bench waits for

    def start_bare(self, body: bytes, content_type: str) -> None:
        path = self.tmp / "bare_body.bin"
        path.write_bytes(body)
        self.bare_port = free_port()
        env = dict(self.env, BENCH_BARE_BODY=str(path), BENCH_BARE_CONTENT_TYPE=content_type)
        self.bare = self._spawn(
            "bare",
            [
                str(BIN / "uvicorn"),
                "bench.bare_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.bare_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        self.wait_http(self.bare, f"http://127.0.0.1:{self.bare_port}/api/products/", 60)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        p = Proc(name, argv, env or self.env, self.tmp)
        self.procs.append(p)
        return p

    @staticmethod
    def wait_http(proc: Proc, url: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if not proc.alive():
                raise StepError(f"{proc.name} exited before it was ready:\n{proc.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StepError(f"{proc.name} not ready after {seconds:.0f} s:\n{proc.tail()}")
            time.sleep(0.3)

    def check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise StepError(f"{p.name} died (exit {p.popen.returncode}):\n{p.tail()}")

    # -- teardown ------------------------------------------------------------------------
    def close(self) -> None:
        # no interruption while tearing down
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if self.failed:
                for p in self.procs:
                    text = p.tail()
                    if text.strip():
                        print(f"----- {p.name} log (tail) -----\n{text}", file=sys.stderr)
            for p in reversed(self.procs):
                try:
                    p.stop()
                except Exception as exc:  # noqa: BLE001
                    print(f"bench: could not stop {p.name}: {exc}", file=sys.stderr)
            if self.db_created:
                try:
                    with psycopg.connect(
                        f"{PG_URL}/postgres", autocommit=True, connect_timeout=10
                    ) as c:
                        c.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                    log(f"dropped database {self.db_name}")
                except Exception as exc:  # noqa: BLE001
                    print(f"bench: could not drop {self.db_name}: {exc}", file=sys.stderr)
            if self.redis_used:
                try:
                    redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
                except Exception as exc:  # noqa: BLE001
                    print(f"bench: could not flush {REDIS_URL}: {exc}", file=sys.stderr)
            if not (self.keep_logs or self.failed):
                shutil.rmtree(self.tmp, ignore_errors=True)
            elif self.failed:
                print(f"bench: logs kept in {self.tmp}", file=sys.stderr)
            if self._lock is not None:
                self._lock.close()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
