"""Browser tests of the airlock web app: a real JupyterHub + CHP, Debian's Chromium, Playwright.

One hub per module (``tests/integration/sandbox_fixtures.start_hub``: a temporary ENCLAVE_HOME
seeded with ``enclave demo``). No sandbox container is started: the tests write the analyst's
outbox files on the host, as the sandbox would. Screenshots go to test-artifacts/screenshots/.
Chromium comes from apt (scripts/ensure-browser.sh); ``playwright install`` is never used.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from sandbox_fixtures import RunningHub, free_port, start_hub  # noqa: E402

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PASSWORDS = {"analyst1": "Analyst-demo-2025a", "analyst2": "Analyst-demo-2025b",
             "reviewer1": "Review-demo-2025a", "reviewer2": "Review-demo-2025b"}
# An aggregate whose one zero cell is an SDC_ZERO finding: `review` at level 3 (policy
# default.yaml, sdc.verdicts.SDC_ZERO), so two reviewers are needed.
AGGREGATE = ("district,month,trips\n航空港区,2025-01,120\n航空港区,2025-02,0\n"
             "新郑市,2025-01,85\n新郑市,2025-02,64\n")
RESIDENT_ID = "name,id_number,trips\nzhang,110101199003077571,12\n"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/ensure-browser.sh (未安装 Chromium)")
    previous = os.environ.get("ENCLAVE_AIRLOCK_PORT")
    os.environ["ENCLAVE_AIRLOCK_PORT"] = str(free_port())
    try:
        yield from start_hub(tmp_path_factory.mktemp("airlock-ui"), "enclave-notebook:unused")
    finally:
        if previous is None:
            os.environ.pop("ENCLAVE_AIRLOCK_PORT", None)
        else:
            os.environ["ENCLAVE_AIRLOCK_PORT"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def app_url(hub: RunningHub, path: str = "") -> str:
    return f"{hub.client.url}/services/airlock/{path}"


def login(browser: Any, hub: RunningHub, username: str) -> Any:
    """A fresh browser context signed in through the hub's login page; returns its page."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(app_url(hub))
    page.wait_for_url(re.compile(r".*/hub/login.*"))
    page.fill("#username_input", username)
    page.fill("#password_input", PASSWORDS[username])
    page.click("#login_submit")
    page.wait_for_url(re.compile(r".*/services/airlock/(\?.*)?$"))
    return page


def put_outbox(hub: RunningHub, username: str, grant: int, name: str, text: str) -> None:
    outbox = hub.home / "workspaces" / username / str(grant) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / name).write_text(text, encoding="utf-8")


def submit_in_ui(page: Any, hub: RunningHub, grant: int, name: str) -> int:
    """The analyst picks ``name`` on the new-request page and submits; returns the request id."""
    page.goto(app_url(hub, "new"))
    form = page.locator(f"#new-grant-{grant}")
    form.locator(f'input[id="pick-{grant}-{name}"]').check()
    form.locator(f'textarea.context[data-file="{name}"]').fill("按月统计的出行次数 <b>汇总</b>")
    form.locator(f'textarea.justification[data-file="{name}"]').fill("用于年度物流报告")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def state_of(page: Any) -> str:
    return page.locator("#request-state").get_attribute("data-state")


def post_form(page: Any, hub: RunningHub, path: str, data: dict[str, str]) -> Any:
    """POST as the page's signed-in user, with a valid XSRF token (the cookie's value)."""
    token = next(c["value"] for c in page.context.cookies()
                 if c["name"] == "_xsrf" and c["path"].startswith("/services/airlock"))
    return page.request.post(app_url(hub, path), form={**data, "_xsrf": token},
                             max_redirects=0)


def screenshot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_review_level_file_two_reviewers_release_and_verify(hub: RunningHub, browser: Any
                                                            ) -> None:
    put_outbox(hub, "analyst1", 1, "trips_by_month.csv", AGGREGATE)
    analyst = login(browser, hub, "analyst1")
    request_id = submit_in_ui(analyst, hub, 1, "trips_by_month.csv")
    assert state_of(analyst) == "pending_review"
    assert analyst.locator("#required-reviews").inner_text() == "2"
    assert analyst.locator("#decide-form").count() == 0  # a requester never gets the form

    after = {"reviewer1": "pending_review", "reviewer2": "released"}  # blinded, then both in
    for reviewer, expected in after.items():
        page = login(browser, hub, reviewer)
        row = page.locator(f'#queue-review tr[data-request="{request_id}"]')
        assert row.count() == 1
        if reviewer == "reviewer1":
            screenshot(page, "01_queue_reviewer.png")
        row.locator("a").click()
        flagged = page.locator("table.data td.flagged")
        assert flagged.count() == 1 and flagged.inner_text() == "0"  # the SDC_ZERO cell
        assert page.locator("tr.finding td").first.inner_text() == "SDC_ZERO"
        assert "<b>" in page.locator("dd.context").inner_text()  # escaped, not rendered
        if reviewer == "reviewer1":
            screenshot(page, "02_request_highlighted.png")
        page.check("#decision-approve")
        page.fill("#decide-comment", f"{reviewer}: aggregate, zero cell acceptable")
        page.fill("#decide-note", "private: checked against the policy")
        page.click("#decide-submit")
        page.wait_for_url(re.compile(rf".*/requests/{request_id}$"))
        assert state_of(page) == expected
        page.context.close()

    analyst.goto(app_url(hub, "products"))
    row = analyst.locator(f'#products tr[data-request="{request_id}"]')
    assert row.get_attribute("data-state") == "published"
    assert "公益" in row.inner_text()  # grant 1 is public welfare: a free product
    screenshot(analyst, "03_products.png")
    with analyst.expect_download() as download:
        row.locator("a.download").click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == AGGREGATE

    bundle = hub.home / "releases" / row.get_attribute("data-product")
    ok = hub.enclave("release", "verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    released = bundle / "files" / "trips_by_month.csv"
    data = bytearray(released.read_bytes())
    data[-2] ^= 0x01  # one byte of one figure
    released.write_bytes(bytes(data))
    bad = hub.enclave("release", "verify", str(bundle))
    assert bad.returncode != 0
    assert "trips_by_month.csv" in bad.stdout + bad.stderr
    analyst.context.close()


def test_resident_id_is_blocked_and_never_approvable(hub: RunningHub, browser: Any) -> None:
    put_outbox(hub, "analyst1", 1, "people.csv", RESIDENT_ID)
    analyst = login(browser, hub, "analyst1")
    request_id = submit_in_ui(analyst, hub, 1, "people.csv")
    assert state_of(analyst) == "blocked"
    assert "CN_RESIDENT_ID" in analyst.locator("#state-reason").inner_text()
    analyst.context.close()

    reviewer = login(browser, hub, "reviewer1")
    reviewer.goto(app_url(hub, f"requests/{request_id}"))
    assert state_of(reviewer) == "blocked"
    assert reviewer.locator("#decide-form").count() == 0
    assert reviewer.locator("table.data td.flagged").count() >= 1  # the whole ID column
    assert "110101199003077571" not in reviewer.content()  # masked, preview included
    screenshot(reviewer, "04_request_blocked.png")
    refused = post_form(reviewer, hub, f"requests/{request_id}/decide",
                        {"decision": "approve", "comment": "try"})
    assert refused.status == 409, refused.text()  # blocked: no review step in the table
    reviewer.goto(app_url(hub, f"requests/{request_id}"))
    assert state_of(reviewer) == "blocked"
    reviewer.context.close()


def _cli_request(hub: RunningHub, name: str) -> int:
    put_outbox(hub, "analyst1", 1, name, AGGREGATE)
    made = hub.enclave("airlock", "submit", "--grant", "1", name, "--context", "c",
                       "--justification", "j", "--as", "analyst1", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    return int(json.loads(made.stdout)["id"])


def test_analyst_cannot_post_a_decision(hub: RunningHub, browser: Any) -> None:
    request_id = _cli_request(hub, "for_analyst_post.csv")
    analyst = login(browser, hub, "analyst1")
    analyst.goto(app_url(hub, f"requests/{request_id}"))
    assert state_of(analyst) == "pending_review"
    refused = post_form(analyst, hub, f"requests/{request_id}/decide",
                        {"decision": "approve", "comment": ""})
    assert refused.status == 403 and "XSRF" not in refused.text()  # refused by permission
    no_xsrf = analyst.request.post(app_url(hub, f"requests/{request_id}/decide"),
                                   form={"decision": "approve"}, max_redirects=0)
    assert no_xsrf.status == 403 and "XSRF" in no_xsrf.text()
    analyst.goto(app_url(hub, f"requests/{request_id}"))
    assert state_of(analyst) == "pending_review"
    assert analyst.locator("#decisions").count() == 0
    analyst.context.close()


def test_other_analyst_cannot_see_the_request(hub: RunningHub, browser: Any) -> None:
    request_id = _cli_request(hub, "for_analyst2.csv")
    other = login(browser, hub, "analyst2")
    assert other.locator(f'tr[data-request="{request_id}"]').count() == 0
    response = other.goto(app_url(hub, f"requests/{request_id}"))
    assert response.status == 404
    image = other.request.get(app_url(hub, f"requests/{request_id}/files/1/image"))
    assert image.status == 404
    other.context.close()


def test_security_headers(hub: RunningHub, browser: Any) -> None:
    page = login(browser, hub, "reviewer2")
    response = page.goto(app_url(hub))
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    page.goto(app_url(hub, "?lang=en"))
    assert "Requests waiting for my review" in page.content()
    page.goto(app_url(hub))  # the choice is kept in a cookie
    assert "Requests waiting for my review" in page.content()
    page.context.close()



def test_hub_home_links_to_the_airlock(hub: RunningHub, browser: Any) -> None:
    page = login(browser, hub, "reviewer1")
    page.goto(f"{hub.client.url}/hub/home")
    assert page.locator('a[href$="/services/airlock/"]').count() >= 1
    page.context.close()


def test_png_served_as_image_html_shown_as_source(hub: RunningHub, browser: Any
                                                           ) -> None:
    import io

    from PIL import Image

    outbox = hub.home / "workspaces" / "analyst1" / "1" / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    picture = io.BytesIO()
    Image.new("RGB", (40, 20), (30, 90, 160)).save(picture, format="PNG")
    (outbox / "chart.png").write_bytes(picture.getvalue())
    analyst = login(browser, hub, "analyst1")
    request_id = submit_in_ui(analyst, hub, 1, "chart.png")
    image = analyst.locator("img.preview-image")
    assert image.count() == 1
    served = analyst.request.get(hub.client.url + image.get_attribute("src"))
    assert served.status == 200 and served.headers["content-type"] == "image/png"
    assert served.body() == picture.getvalue()
    assert analyst.evaluate("document.querySelector('img.preview-image').naturalWidth") == 40
    assert state_of(analyst) == "pending_review"  # images always need a person at level 3
    analyst.goto(app_url(hub))
    assert analyst.locator(f'#queue-mine tr[data-request="{request_id}"]').count() == 1

    markup = '<h1>t</h1><script>document.title="pwned"</script><img src=x onerror="alert(1)">'
    (outbox / "page.html").write_text(markup, encoding="utf-8")
    submit_in_ui(analyst, hub, 1, "page.html")
    assert analyst.locator("pre.source").inner_text().count("<script>") == 1
    assert analyst.locator("main script, main img[src=x], main h1:text-is('t')").count() == 0
    assert analyst.title() != "pwned"
    analyst.context.close()
