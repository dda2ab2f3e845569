"""Our stack for live tests: the environment of a server process pointed at the test's
database and Redis, and its processes as production starts them (bin/web, the Celery worker
and beat), plus a plain JSON HTTP call. The process supervision itself is `testkit.processes`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

from .processes import ROOT, Service, free_port

BIN = ROOT / ".venv" / "bin"


def server_database_url() -> str:
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(db['NAME'], safe='')}"


def stack_env(*, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a server process: the test's database, secret and Redis."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=server_database_url(),
        REDIS_URL=redis_url or settings.REDIS_URL,
        CACHE_REDIS_URL=redis_url or settings.CACHE_REDIS_URL,
        CELERY_BROKER_URL=redis_url or settings.CELERY_BROKER_URL,
        CHANNEL_LAYER_REDIS_URL=redis_url or settings.CHANNEL_LAYER_REDIS_URL,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _http_ready(service: Service) -> bool:
    try:
        return call("GET", f"{service.url}/api/categories/")[0] == 200
    except OSError:
        return False


def _logged_since_start(text: str) -> Callable[[Service], bool]:
    return lambda service: text in service.log(service.started_at_offset)


class WebServer(Service):
    """uvicorn as production starts it: the one server command, bin/web, on a free port."""

    def __init__(self, name: str, *, env: dict[str, str], logs: Path):
        port = free_port()
        env = dict(env, WEB_HOST="127.0.0.1", WEB_PORT=str(port))
        super().__init__(name, [str(ROOT / "bin" / "web")], env=env, logs=logs, ready=_http_ready)
        self.url = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/ws/orders/"


def uvicorn(name: str, *, env: dict[str, str], logs: Path) -> WebServer:
    return WebServer(name, env=env, logs=logs)


def worker(name: str, *, env: dict[str, str], logs: Path, pool: str = "solo") -> Service:
    argv = [
        str(BIN / "celery"),
        "-A",
        "celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        "1",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}-{uuid.uuid4().hex[:8]}@%h",
    ]
    return Service(name, argv, env=env, logs=logs, ready=_logged_since_start(" ready."))


def beat(name: str, *, env: dict[str, str], logs: Path) -> Service:
    argv = [str(BIN / "celery"), "-A", "celery_app", "beat", "-l", "info"]
    argv += ["--schedule", str(logs / f"{name}-schedule")]
    return Service(name, argv, env=env, logs=logs, ready=_logged_since_start("beat: Starting..."))


def call(method: str, url: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def two_webs_and_a_worker(prefix: str, *, env: dict[str, str], logs: Path) -> dict[str, Service]:
    """uvicorn A and B and Celery worker C: a change made through one web process, pushed by
    the worker, is heard on a socket held by the other."""
    return {
        "a": uvicorn(f"{prefix}-uvicorn-a", env=env, logs=logs),
        "b": uvicorn(f"{prefix}-uvicorn-b", env=env, logs=logs),
        "c": worker(f"{prefix}-worker-c", env=env, logs=logs),
    }
