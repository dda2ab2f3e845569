"""The README's curl walk-through runs as printed, top to bottom, on the embedded default.

The block is read from the README (so docs and code cannot drift), run by bash with `-e` and
`pipefail` against a real uvicorn process serving a fresh SQLite database prepared the way
`make run` prepares it, and the state it leaves behind is checked.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.processes import Service, free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PRINTED_BASE = "http://127.0.0.1:8000"
SERVER_URLS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_REDIS_URL",
    "CELERY_BROKER_URL",
    "CHANNEL_LAYER_REDIS_URL",
)


def walkthrough() -> str:
    match = re.search(r"<!-- walkthrough -->\n```sh\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md has no <!-- walkthrough --> sh block"
    return match.group(1)


def embedded_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_URLS}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        SQLITE_PATH=str(home / "db.sqlite3"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    home = tmp_path_factory.mktemp("walkthrough")
    env = embedded_env(home)
    for command in (
        ["migrate", "--noinput"],
        ["load_demo_catalog", "--no-progress"],
        ["load_demo_orders"],
        ["ensure_demo_admin"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    port = free_port()

    def answers(service: Service) -> bool:
        try:
            with urllib.request.urlopen(f"{service.url}/api/categories/", timeout=1):
                return True
        except OSError:
            return False

    web = Service(
        "walkthrough-web",
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)],
        env=env,
        logs=home,
        ready=answers,
    )
    web.url = f"http://127.0.0.1:{port}"
    web.start()
    yield web, home
    web.stop()


def test_the_readme_walkthrough_runs_as_printed(server: tuple[Service, Path]) -> None:
    web, home = server
    script = walkthrough()
    assert script.count(PRINTED_BASE) == 1  # B=... is the one place the server is named
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script.replace(PRINTED_BASE, web.url)],
        cwd=home,  # where `make run` would have left .demo-admin
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"

    # The search found the lamp the admin created; 12 opened + 5 received - 2 (cancelled,
    # given back) - 1 shipped.
    with urllib.request.urlopen(f"{web.url}/api/products/?search=lamp") as response:
        found = json.load(response)
    assert [(p["name"], p["stock"]) for p in found["items"]] == [("Desk lamp", 16)]
    with sqlite3.connect(home / "db.sqlite3") as db:
        statuses = [
            row[0]
            for row in db.execute(
                "SELECT o.status FROM orders_order o JOIN accounts_user u ON u.id = o.customer_id"
                " WHERE u.username = 'testuser' ORDER BY o.id"
            )
        ]
        ledger = list(
            db.execute(
                "SELECT m.kind, m.delta FROM catalog_stockmovement m JOIN catalog_product p"
                " ON p.id = m.product_id WHERE p.name = 'Desk lamp' ORDER BY m.id"
            )
        )
    assert statuses == ["cancelled", "shipped"]
    assert ledger == [
        ("opening", 12),
        ("adjustment", 5),
        ("sale", -2),
        ("cancellation", 2),
        ("sale", -1),
    ]
    # Signing out everywhere was the last call, and it answered 200.
    assert json.loads(result.stdout.splitlines()[-1]) == {"detail": "Signed out everywhere."}
