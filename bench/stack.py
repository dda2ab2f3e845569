"""The throwaway stacks: ours (a fresh PostgreSQL database, Redis index 8, uvicorn, a Celery
worker and the bare ASGI app) and the reference design (bench/reference: its own database and
Redis index, gunicorn or uvicorn); everything started here is stopped and dropped in
`close()`."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import redis

from testkit.processes import Service, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python")


def procfile_argv(name: str) -> list[str]:
    """The Procfile's command for process `name`, split as a shell would (the bench measures
    what operators run; `.venv/bin/...` resolves from the project root, the processes' cwd)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        head, _, command = line.partition(":")
        if head.strip() == name:
            return [str(ROOT / a) if a.startswith(".venv/") else a for a in shlex.split(command)]
    raise StepError(f"the Procfile has no {name!r} process")


# Pools to compare the shipped socket worker with (`--worker-pool`).
POOLS = {
    "solo": ["-P", "solo"],
    "prefork": ["-P", "prefork", "-c", "2"],
    "threads": ["-P", "threads", "-c", "4"],
}


def worker_argv(name: str, pool: str = "procfile") -> list[str]:
    """A Celery worker's command: the Procfile's line `name` as shipped, or for the socket
    worker (`worker`) the same line with another pool."""
    argv = procfile_argv(name)
    if name != "worker" or pool == "procfile":
        return argv
    shipped = [i for i, a in enumerate(argv) if a in ("-P", "--pool", "-c", "--concurrency")]
    kept = [a for i, a in enumerate(argv) if i not in shipped and i - 1 not in shipped]
    return kept + POOLS[pool]


PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
REF_REDIS_URL = os.environ.get("BENCH_REF_REDIS_URL", "redis://127.0.0.1:6379/7")
LOCK_FILE = Path(tempfile.gettempdir()) / "shop-bench.lock"


# 1 staff + n customers sharing one password, access tokens minted for the customers by the
# stack's own `tok(user)` (its `mint_code`); every product gets stock enough for the order phases,
# the 7th active one 40 units for the race.
USERS_CODE = r"""
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from %(product_module)s import Product
%(mint_code)s
U = get_user_model()
pw = make_password(%(pw)r)  # hashed once, shared: PBKDF2 per user would take minutes
staff = U.objects.create(username="bench_staff", email="bench_staff@example.com",
                         is_staff=True, password=pw)
U.objects.bulk_create([U(username=f"bench_c{i:05d}", email=f"bench_c{i:05d}@example.com",
                         password=pw) for i in range(%(n)d)])
ids = list(Product.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
Product.objects.update(stock=1000000)
Product.objects.filter(pk=ids[6]).update(stock=40)
customers = [{"id": u.pk, "username": u.username, "token": tok(u)}
             for u in U.objects.filter(username__startswith="bench_c").order_by("pk")]
print("BENCH_JSON" + json.dumps({"customers": customers, "active_ids": ids}))
"""


class StepError(RuntimeError):
    """A bench step failed (the run exits non-zero)."""


def log(msg: str) -> None:
    print(f"== bench: {msg}", flush=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise StepError(f"no VmRSS for pid {pid}")


class Stack:
    """Our stack. The class attributes are what the reference stack changes."""

    label = "ours"
    db_prefix = "shop_bench"
    redis_url = REDIS_URL
    asgi_app = "config.asgi:application"
    ready_path = "/api/categories/"  # 200 once the app is up
    product_module = "catalog.models"
    # A customer's access token, from the shop's own sign-in service (what POST /api/token/ calls
    # once the password is checked: checking it for each customer would take a second each)
    mint_code = (
        "from accounts.services import session_start\n"
        "def tok(u):\n"
        "    return session_start(user=u)['access']"
    )
    ws_token_in = "subprotocol"  # how a socket carries its token (see aclient.ws_connect)
    tables = {"product": "catalog_product", "order": "orders_order", "item": "orders_orderitem"}

    def __init__(self, *, worker_pool: str = "procfile", keep_logs: bool = False):
        self.worker_pool = worker_pool
        self.keep_logs = keep_logs
        self.db_name = f"{self.db_prefix}_{os.getpid()}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.db_prefix.replace('_', '-')}."))
        self.procs: list[Service] = []
        self.db_created = False
        self.redis_used = False
        self.failed = False
        self._lock: Any = None
        self.env = self._env()
        self.web: list[Service] = []
        self.web_ports: list[int] = []
        self.workers: list[Service] = []
        self.notify: Service | None = None
        self.bare: Service | None = None
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
            REDIS_URL=self.redis_url,
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SETTINGS_MODULE="config.settings.base",
            DJANGO_DEBUG="0",
            # sign-in is not what is measured here; tokens must outlive the run
            AUTH_THROTTLE_RATE="1000000/min",
            JWT_ACCESS_MINUTES="600",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            # the webhook phase's receivers are local, and a day's retry schedule must fit it.
            # 16 attempts: a receiver failing half the time at random leaves a delivery dead once
            # in 65,536 (with the default 8, once in 256: about 4 of the phase's 1,000)
            WEBHOOK_ALLOW_PRIVATE_URLS="1",
            WEBHOOK_RETRY_SCHEDULE="0.5,1,1,2,2,2,2,2,2,2,2,2,2,2,2",
            WEBHOOK_DISABLE_AFTER="100000",
        )
        return env

    def open(self) -> None:
        self._take_lock()
        self._create()

    def _take_lock(self) -> None:
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

    def _create(self) -> None:
        log(f"database {self.db_name}, Redis {self.redis_url}, logs in {self.tmp}")
        r = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        r.ping()
        self.redis_used = True
        r.flushdb()
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=10) as c:
            c.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self.manage("migrate", "--noinput", "-v", "0", timeout=300)

    def load_catalog(self) -> None:
        log("catalog: load_demo_catalog --categories 10 --per-category 100")
        self.manage(
            "load_demo_catalog", "--categories", "10", "--per-category", "100", "--no-progress"
        )

    def make_users(self, n_customers: int, password: str) -> Any:
        """1 staff (`bench_staff`) + customers with tokens: {"customers", "active_ids"}."""
        log(f"users: 1 staff + {n_customers} customers")
        return self.shell_json(
            USERS_CODE
            % {
                "pw": password,
                "n": n_customers,
                "mint_code": self.mint_code,
                "product_module": self.product_module,
            }
        )

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
            quiet = ["--no-access-log", "--log-level", "warning"]
            if self.asgi_app == "config.asgi:application":
                # Ours runs as the Procfile says: the one server command with its limits.
                env = dict(self.env, WEB_HOST="127.0.0.1", WEB_PORT=str(port))
                p = self._spawn(f"uvicorn{i}", [str(ROOT / "bin" / "web"), *quiet], env=env)
            else:
                argv = [str(BIN / "uvicorn"), self.asgi_app, "--host", "127.0.0.1"]
                p = self._spawn(f"uvicorn{i}", [*argv, "--port", str(port), *quiet])
            self.web.append(p)
            self.web_ports.append(port)
        for p, port in zip(self.web, self.web_ports, strict=True):
            self.wait_http(p, f"http://127.0.0.1:{port}{self.ready_path}", 90)

    def stop_workers(self) -> None:
        """Stop every Celery worker (warm shutdown); queued tasks stay in the broker."""
        for p in self.workers:
            p.stop()
            self.procs.remove(p)  # stopped on purpose: no longer checked by check_alive()
        self.workers.clear()

    def worker_argv(self, name: str) -> list[str]:
        return worker_argv(name, self.worker_pool)

    def start_workers(self, count: int = 1) -> None:
        for i in range(len(self.workers), len(self.workers) + count):
            # The Procfile's worker, named apart so two can run side by side.
            p = self._spawn(f"worker{i}", [*self.worker_argv("worker"), "-n", f"bench{i}@%h"])
            self.workers.append(p)
        time.sleep(1.0)
        for p in self.workers:
            if not p.alive():
                raise StepError(f"{p.name} exited at start:\n{p.tail()}")
        # readiness is checked end to end by the first status change the bench waits for

    def start_notify_worker(self) -> None:
        """The `notify` queue's worker (fan-out, e-mail, webhooks), as in the Procfile; once."""
        if self.notify is not None:
            return
        p = self.notify = self._spawn("notify", self.worker_argv("notify"))
        time.sleep(1.0)
        if not p.alive():
            raise StepError(f"{p.name} exited at start:\n{p.tail()}")

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

    def start_variant(self, name: str, asgi_app: str) -> tuple[int, Service]:
        """Another ASGI app of ours, served by bin/web's exact uvicorn options (read by running
        bin/web with UVICORN=echo): only the app differs from the shipped web process."""
        port = free_port()
        env = dict(self.env, WEB_HOST="127.0.0.1", WEB_PORT=str(port))
        quiet = ["--no-access-log", "--log-level", "warning"]
        shown = subprocess.run(
            [str(ROOT / "bin" / "web"), *quiet],
            env=dict(env, UVICORN="echo"),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if shown[0] != "config.asgi:application":
            raise StepError(f"bin/web serves {shown[0]!r}, not config.asgi:application")
        p = self._spawn(name, [str(BIN / "uvicorn"), asgi_app, *shown[1:]], env=env)
        self.wait_http(p, f"http://127.0.0.1:{port}{self.ready_path}", 90)
        return port, p

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Service:
        # Started as it is; readiness is checked by the caller (wait_http, a first event).
        p = Service(name, argv, env=env or self.env, logs=self.tmp).start()
        self.procs.append(p)
        return p

    @staticmethod
    def wait_http(proc: Service, url: str, seconds: float) -> None:
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
                raise StepError(f"{p.name} died (exit {p.returncode}):\n{p.tail()}")

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
                    redis.Redis.from_url(self.redis_url, socket_timeout=5).flushdb()
                except Exception as exc:  # noqa: BLE001
                    print(f"bench: could not flush {self.redis_url}: {exc}", file=sys.stderr)
            if not (self.keep_logs or self.failed):
                shutil.rmtree(self.tmp, ignore_errors=True)
            elif self.failed:
                print(f"bench: logs kept in {self.tmp}", file=sys.stderr)
            if self._lock is not None:
                self._lock.close()
        finally:
            for s, h in old.items():
                signal.signal(s, h)


class ReferenceStack(Stack):
    """The reference design (bench/reference) on its own database and Redis index (7 unless
    BENCH_REF_REDIS_URL says otherwise). It runs while our stack holds the bench lock, so it does
    not take the lock itself; Redis index 7 is flushed at the start and in `close()`."""

    label = "reference"
    db_prefix = "shop_bench_ref"
    redis_url = REF_REDIS_URL
    asgi_app = "bench.reference.asgi:application"
    ready_path = "/api/products/"
    product_module = "bench.reference.core.models"
    # what its own sign-in (SimpleJWT's TokenObtainPairView) mints
    mint_code = (
        "from rest_framework_simplejwt.serializers import TokenObtainPairSerializer\n"
        "def tok(u):\n"
        "    return str(TokenObtainPairSerializer.get_token(u).access_token)"
    )
    ws_token_in = "query"  # ws/orders/?token=..., as the reference's consumer reads it
    tables = {"product": "core_product", "order": "core_order", "item": "core_orderitem"}

    def __init__(self, *, keep_logs: bool = False):
        super().__init__(keep_logs=keep_logs)
        self.wsgi: Service | None = None

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "CACHE_", "CELERY_", "CHANNEL_")) and k != "PYTHONPATH"
        }
        env.update(
            DATABASE_URL=f"{PG_URL}/{self.db_name}",
            REDIS_URL=self.redis_url,
            SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SETTINGS_MODULE="bench.reference.settings",
            JWT_ACCESS_MINUTES="600",  # tokens must outlive the run (SimpleJWT's default is 5)
            PYTHONUNBUFFERED="1",
        )
        return env

    def open(self) -> None:
        self._create()

    def load_catalog(self) -> None:
        log("reference catalog: load_reference_catalog --categories 10 --per-category 100")
        self.manage("load_reference_catalog", "--categories", "10", "--per-category", "100")

    def start_wsgi(self) -> int:
        """gunicorn with one sync worker, the reference's fastest plain-HTTP deployment."""
        port = free_port()
        self.wsgi = self._spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "bench.reference.wsgi",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
        )
        self.wait_http(self.wsgi, f"http://127.0.0.1:{port}{self.ready_path}", 60)
        return port

    def stop_wsgi(self) -> None:
        if self.wsgi is not None:
            self.wsgi.stop()
            self.procs.remove(self.wsgi)
            self.wsgi = None
