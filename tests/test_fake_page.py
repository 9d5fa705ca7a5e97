"""The control page of `serve` (issue 22, item 4, for `serve`): served at the fake's control
prefix to browsers, JSON to everyone else, its controls only from its own origin; and the
page itself in a real browser, Debian's Chromium driven by Playwright, with the same setup
and skip rules as the receive inspector's tests (the `browser` and `page` fixtures of
conftest.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aircore_mock import FakeAircore, Receiver

from .helpers import (
    AUTH,
    KEY,
    cross_origin_json_post,
    hostile_site,
    start_body,
    start_cli,
    stop_cli,
)

CONTROL = "/_aircore-mock/"


@pytest.fixture
def fake() -> Iterator[FakeAircore]:
    with FakeAircore(seed=22, api_keys=[KEY]) as served:  # a manual clock
        yield served


@pytest.fixture
def target() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def _start(fake: FakeAircore, receiver: Receiver) -> dict[str, Any]:
    answer = httpx.post(f"{fake.url}/recording", json=start_body(receiver.url), headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _page_url(fake: FakeAircore) -> str:
    return fake.url + CONTROL


# --- over HTTP ------------------------------------------------------------------------------


def test_the_prefix_answers_json_to_clients_and_the_page_to_browsers(fake: FakeAircore) -> None:
    url = _page_url(fake)
    assert httpx.get(url).json()["clock"] == "manual"  # curl, httpx, the library: as before
    assert httpx.get(url, headers={"accept": "application/json"}).json()["clock"] == "manual"
    html = httpx.get(url, headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.headers["content-type"].startswith("text/html")
    assert "/_aircore-mock/static/control.js" in html.text
    assert html.headers["vary"] == "Accept" and html.headers["x-frame-options"] == "DENY"
    for name, kind in (("control.js", "text/javascript"), ("control.css", "text/css")):
        answer = httpx.get(f"{url}static/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(kind)
    assert httpx.get(f"{url}static/nothing.js").status_code == 404
    choices = httpx.get(f"{url}choices").json()
    assert "serverError" in choices["stop_reasons"]
    assert "access-denied" in choices["failure_families"]


def test_stop_control_stops_a_recording_as_its_client_would(
    fake: FakeAircore, target: Receiver
) -> None:
    started = _start(fake, target)
    fake.inject("error", status=503)  # waits for the next API call: the stop control is not one
    stopped = httpx.post(f"{_page_url(fake)}stop", json={"recording": started["url"]})
    assert stopped.status_code == 200 and stopped.json()["stop_reason"] == "clientStopped"
    assert (
        httpx.post(f"{_page_url(fake)}stop", json={"recording": started["url"]}).status_code == 404
    )
    assert httpx.post(f"{_page_url(fake)}stop", json={}).status_code == 400
    assert [i.what for i in fake.backend.injections] == ["error"]
    assert [e.path for e in fake.journal] == ["/recording"]  # the control is not journaled


def test_controls_refuse_other_origins_forms_and_hosts(fake: FakeAircore, target: Receiver) -> None:
    _start(fake, target)
    own = fake.url
    reset = f"{_page_url(fake)}reset"
    refused = [
        ({"origin": "http://evil.test"}, 403),  # another site's fetch or form
        ({"origin": "null"}, 403),  # a sandboxed frame
        ({"origin": own, "sec-fetch-site": "cross-site"}, 403),
        ({"sec-fetch-site": "cross-site"}, 403),  # a browser that sent no Origin
        ({"origin": own, "content-type": "text/plain"}, 415),  # what a form can send
        ({"origin": own, "content-type": "application/x-www-form-urlencoded"}, 415),
    ]
    for headers, status in refused:
        answer = httpx.post(reset, content=b"{}", headers=headers)
        assert answer.status_code == status, (headers, answer.text)
    rebound = {
        "host": "evil.test",
        "origin": "http://evil.test",
        "content-type": "application/json",
    }
    assert httpx.post(reset, content=b"{}", headers=rebound).status_code == 403  # DNS rebinding
    read = httpx.get(f"{_page_url(fake)}journal", headers={"host": "evil.test", "origin": "x"})
    assert read.status_code == 403
    assert len(fake.recordings) == 1  # nothing was reset
    page_like = {"origin": own, "sec-fetch-site": "same-origin", "content-type": "application/json"}
    assert httpx.post(reset, content=b"{}", headers=page_like).status_code == 204
    assert fake.recordings == []
    _start(fake, target)
    assert httpx.post(reset).status_code == 204  # curl without a body or type: as documented
    assert fake.recordings == []


# --- in the browser -------------------------------------------------------------------------


def test_start_through_the_api_stop_from_the_page_and_see_the_callbacks_delivered(
    fake: FakeAircore, target: Receiver, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(_page_url(fake))
    expect(page.locator("#live")).to_have_text("live")
    _start(fake, target)
    recording = page.locator(f'#recordings > li[data-recording="{fake.recordings[0].id}"]')
    expect(recording).to_contain_text("started")
    expect(recording.locator('[data-event="recording-started"]')).to_contain_text("delivered 204")
    expect(page.locator("#journal tbody tr")).to_have_count(1)
    expect(page.locator("#journal")).to_contain_text("POST /recording")
    recording.get_by_role("button", name="Stop").click()
    expect(page.locator("#result")).to_contain_text("stopped")
    expect(recording.locator(".state")).to_have_text("stopped")
    expect(recording.locator('[data-event="recording-stopped"]')).to_contain_text("delivered 204")
    target.wait_for(2)
    assert [c.event for c in target.captures] == ["recording-started", "recording-stopped"]
    assert fake.recordings[0].stop_reason == "clientStopped"


def test_advance_the_clock_from_the_page_by_keyboard(
    fake: FakeAircore, target: Receiver, page: Any
) -> None:
    from playwright.sync_api import expect

    _start(fake, target)
    before = fake.clock.now()
    page.goto(_page_url(fake))
    stop = page.get_by_role("button", name="Stop recording")
    expect(stop).to_have_count(1)
    stop.focus()
    page.keyboard.press("Enter")  # buttons work from the keyboard
    expect(page.locator("#result")).to_contain_text("stopped")
    seconds = page.locator("#advance-seconds")
    seconds.focus()
    seconds.fill("90")
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#result")).to_contain_text("advanced 90 s: 1 step ran")
    assert fake.clock.now() - before == 90_000
    expect(page.locator('[data-event="recording-uploaded"]')).to_contain_text("delivered 204")
    target.wait_for(3)
    assert target.captures[-1].event == "recording-uploaded"


def test_inject_an_upload_failure_from_the_page(
    fake: FakeAircore, target: Receiver, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(_page_url(fake))
    expect(page.locator("#live")).to_have_text("live")
    page.locator("#inject-what").select_option("upload-failure")
    expect(page.locator("#inject-family")).to_be_visible()
    page.locator("#inject-family").select_option("access-denied")
    page.locator("#inject").click()  # for the next recording started
    expect(page.locator("#result")).to_contain_text("injected upload-failure for the next")
    expect(page.locator("#injections")).to_contain_text("upload-failure for the next")
    _start(fake, target)
    page.get_by_role("button", name="Stop recording").click()
    expect(page.locator("#result")).to_contain_text("stopped")
    page.locator("#advance-seconds").fill("60")
    page.locator("#advance").click()
    failed = page.locator('[data-event="recording-upload-failed"]')
    expect(failed).to_contain_text("delivered 204")
    expect(page.locator("#recordings")).to_contain_text("failure: access-denied")
    target.wait_for(3)
    assert target.captures[-1].event == "recording-upload-failed"


def test_inject_a_stop_reason_and_an_error_then_reset_from_the_page(
    fake: FakeAircore, target: Receiver, page: Any
) -> None:
    from playwright.sync_api import expect

    _start(fake, target)
    rid = fake.recordings[0].id
    page.goto(_page_url(fake))
    expect(page.locator("#inject-recording option")).to_have_count(2)
    page.locator("#inject-recording").select_option(rid)
    page.locator("#inject-reason").select_option("serverError")
    page.locator("#inject").click()  # stop reason, after 0 s: on the next advance
    expect(page.locator("#result")).to_contain_text(f"injected stop for {rid}")
    page.locator("#advance-seconds").fill("0")
    page.locator("#advance").click()
    expect(page.locator(f'li[data-recording="{rid}"]')).to_contain_text("stopped: serverError")
    page.locator("#inject-what").select_option("error")
    page.locator("#inject-recording").select_option("")
    page.locator("#inject-status").fill("503")
    page.locator("#inject").click()
    expect(page.locator("#injections")).to_contain_text("error for the next (503)")
    answer = httpx.post(f"{fake.url}/recording", json=start_body(target.url), headers=AUTH)
    assert answer.status_code == 503  # the next API call
    expect(page.locator("#journal tbody tr.error")).to_have_count(1)
    page.locator("#reset").click()
    expect(page.locator("#recordings > li")).to_have_count(0)
    expect(page.locator("#journal tbody tr")).to_have_count(0)
    assert fake.recordings == [] and fake.journal == []


def test_a_cross_origin_post_to_a_control_is_refused(
    fake: FakeAircore, target: Receiver, page: Any
) -> None:
    from playwright.sync_api import expect

    _start(fake, target)
    control = _page_url(fake)
    attack = f"""<form id=f method=post enctype=text/plain action="{control}reset">
      <input name='{{"x":"' value='"}}'></form>
      <script>document.getElementById('f').submit()</script>"""

    with hostile_site(attack) as site:
        page.goto(site)  # another origin: a cross-site form posts to a control
        expect(page.locator("body")).to_contain_text("from the control page only")
        result = cross_origin_json_post(page, site, f"{control}advance", '{"seconds": 60}')
        assert result == "blocked"  # cross-origin JSON: preflighted, and never allowed
        simple = page.evaluate(
            """async (url) => {
              await fetch(url, {method: "POST", mode: "no-cors", body: "{}"});
              return "sent"; }""",
            f"{control}reset",
        )
        assert simple == "sent"  # a no-cors POST leaves; the server refuses it
    assert len(fake.recordings) == 1 and fake.clock.now() == fake.recordings[0].start_time


def test_the_page_needs_nothing_from_outside() -> None:
    from importlib import resources

    folder = resources.files("aircore_mock.fake") / "static"
    for name in ("index.html", "control.js", "control.css"):
        text = (folder / name).read_text()
        for outside in ('src="http', 'href="http', "url(http", "@import", 'from "http'):
            assert outside not in text, (name, outside)


def test_the_control_page_section_runs_as_written(tmp_path: Path) -> None:
    import re
    import shlex
    import subprocess

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("**The control page.**") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    serve, *curls = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(curls) == 4 and all(line.startswith("curl ") for line in curls)
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine to run the README's lines")
    args = shlex.split(serve)[1:]
    args[args.index("--port") + 1] = "0"
    process, address = start_cli(args, tmp_path)
    try:
        for line in curls:
            done = subprocess.run(
                line.replace("localhost:8080", address),
                shell=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if "| grep -c" in line:
                assert done.stdout.strip() == "1", (line, done.stdout)
            if "/advance" in line:
                assert json.loads(done.stdout)["steps"] == 0
    finally:
        stop_cli(process)
