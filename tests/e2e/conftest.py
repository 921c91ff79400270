"""Browser tests: Playwright drives Debian's Chromium against a live server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import make_test_app

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium); "
            "set CHROMIUM_PATH to use another"
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory) -> Flask:
    """The app the live server serves (CSRF on): a test may reach its database, e.g. to let
    time pass for a loan."""
    return make_test_app("sqlite", str(tmp_path_factory.mktemp("e2e")), WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """The app with CSRF on, served in a thread; yields its base URL."""
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def screenshot_dir() -> str:
    """Where tests save screenshots (for people to look at); kept out of git."""
    path = os.environ.get("SCREENSHOT_DIR", os.path.join(os.getcwd(), "screenshots"))
    os.makedirs(path, exist_ok=True)
    return path
