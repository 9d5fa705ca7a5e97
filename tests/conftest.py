from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401
import pytest

import aircore_mock

# Hypothesis loaded before any test, in every xdist worker as in a serial run: a worker whose
# first import of it happens inside a pytester run (which unloads what it imported) hits the
# entry-point hook's import of aircore_mock.strategies half-way (issue noted, not fixed here).

pytest_plugins = ["pytester"]


@pytest.fixture
def examples() -> dict[str, list[dict[str, Any]]]:
    """The documented example payloads, per callback type (fresh copies)."""
    return {
        event: copy.deepcopy(aircore_mock.get_schema(event)["examples"])
        for event in aircore_mock.callback_types()
    }


@pytest.fixture
def receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[aircore_mock.Receiver]:
    """A started capture `Receiver`, stopped after the test: the one receiver fixture.

    Its options come from the closest `receiver` marker (a test's, else its module's):
    `@pytest.mark.receiver(max_body=4096)`; `log=True` logs to `tmp_path / "log.jsonl"`.
    """
    marker = request.node.get_closest_marker("receiver")
    options = dict(marker.kwargs) if marker is not None else {}
    if options.get("log") is True:
        options["log"] = tmp_path / "log.jsonl"
    with aircore_mock.Receiver(**options) as started:
        yield started


# --- a real browser: Debian's Chromium driven by Playwright (the inspector pages) -----------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000  # the browser's own waits: bounded, never a fixed sleep


def _chromium() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "no Chromium on this machine (/usr/bin/chromium): `apt-get install chromium` "
            "(as .ci/run does) to run the inspector's browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
