"""Browser tests of the airlock app's build pages on a real hub (Debian's Chromium, Playwright).

Uses ``test_airlock_ui``'s hub and browser fixtures (a test hub whose notebook image does not
exist, so a build that starts fails; these tests are about the pages, the end-to-end test in
``test_story_e2e.py`` runs a real build). The analyst's notebook is written on the host, as an
upload into the sandbox workspace would.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_airlock_ui import (  # noqa: E402, F401  (hub and browser are fixtures)
    RunningHub,
    app_url,
    browser,
    hub,
    login,
    post_form,
    screenshot,
)

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "products" / \
    "logistics_monthly_volume.ipynb"


def _put_notebook(hub: RunningHub) -> None:  # noqa: F811
    workspace = hub.home / "workspaces" / "analyst1" / "1" / "products"
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NOTEBOOK, workspace / NOTEBOOK.name)


def _fill(page: Any, name: str, value: str) -> None:
    form = page.locator("#build-grant-1")
    form.locator('input.param-name[data-row="0"]').fill(name)
    form.locator('input.param-value[data-row="0"]').fill(value)
    form.locator('button[type="submit"]').click()


def test_bad_parameters_are_refused_with_the_service_message(hub: RunningHub,  # noqa: F811
                                                             browser: Any) -> None:  # noqa: F811
    _put_notebook(hub)
    page = login(browser, hub, "analyst1")
    page.goto(app_url(hub, "builds"))
    options = page.locator("#build-grant-1 select.notebook option").all_inner_texts()
    assert options == [f"products/{NOTEBOOK.name}"]
    _fill(page, "min_cell", '"ten"')  # the notebook's default is an int
    problem = page.locator("#build-problem")
    assert "min_cell" in problem.inner_text() and "参数" in problem.inner_text()
    screenshot(page, "05_build_bad_parameter.png")
    _fill(page, "__import__('os').system('id')", "1")  # code in a name
    assert "参数" in page.locator("#build-problem").inner_text()
    assert page.locator("#builds").count() == 0  # nothing was queued
    page.goto(app_url(hub, "builds?lang=en"))
    _fill(page, "make_chart", "3")
    assert "make_chart" in page.locator("#build-problem").inner_text()
    assert "parameter" in page.locator("#build-problem").inner_text()
    page.context.close()


def test_build_page_is_the_owners_and_staffs_only(hub: RunningHub,  # noqa: F811
                                                 browser: Any) -> None:  # noqa: F811
    _put_notebook(hub)
    analyst = login(browser, hub, "analyst1")
    analyst.goto(app_url(hub, "builds"))
    _fill(analyst, "make_chart", "false")
    analyst.wait_for_url(re.compile(r".*/builds/\d+$"))
    build_id = int(analyst.url.rsplit("/", 1)[1])
    assert analyst.locator("#build-state").get_attribute("data-state") in (
        "queued", "running", "failed")  # the test hub's image does not exist
    assert analyst.locator("#build-parameters").inner_text() == '{"make_chart": false}'
    screenshot(analyst, "06_build_page.png")
    analyst.goto(app_url(hub, "builds"))
    assert analyst.locator(f'#builds tr[data-build="{build_id}"]').count() == 1
    analyst.context.close()

    other = login(browser, hub, "analyst2")
    assert other.goto(app_url(hub, f"builds/{build_id}")).status == 404
    other.goto(app_url(hub, "builds"))
    assert other.locator(f'#builds tr[data-build="{build_id}"]').count() == 0
    refused = post_form(other, hub, f"builds/{build_id}/cancel", {})
    assert refused.status == 404
    other.context.close()

    reviewer = login(browser, hub, "reviewer1")
    reviewer.goto(app_url(hub, f"builds/{build_id}"))
    assert reviewer.locator("#build-notebook-sha").inner_text() and \
        reviewer.locator("form.build-form").count() == 0  # staff see builds, submit none
    reviewer.goto(app_url(hub, "builds"))
    assert reviewer.locator("form.build-form").count() == 0
    refused = post_form(reviewer, hub, "builds", {"grant": "1",
                                                  "notebook": f"products/{NOTEBOOK.name}"})
    assert refused.status == 403
    reviewer.context.close()
