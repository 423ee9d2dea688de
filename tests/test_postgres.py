"""Scale-out: two app processes on one PostgreSQL database and one picture store (a shared volume), serving edits
and reviews at once; each one's similarity index follows the library changes the other makes.

Runs in the suite's PostgreSQL pass (DATABASE_URL=postgresql://...; scripts/test.sh starts the server).
"""
from __future__ import annotations

import os
import threading

import pytest

from tests.conftest import POSTGRES_URL, cli_run, fresh_database_url, photo
from tests.test_browser import CHROMIUM, run_edit
from tests.test_durability import _fetched, _start_app

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL server of the suite's second run")
PW = "correct horse battery staple"
FILTERS = ("open", "", "", "", 0, 1)


@pytest.fixture
def two_apps(tmp_path):
    url = fresh_database_url()
    common = {**os.environ, "DATABASE_URL": url, "EDITGUARD_REPLICA": str(tmp_path / "shared-pictures"),
              "EDITGUARD_SEED_REFERENCES": "0", "EDITOR_BACKEND": "classic", "IMAGE_GUARD": "none",
              "GRADIO_ANALYTICS_ENABLED": "False", "EDITGUARD_SECRET": "two-apps"}
    common.pop("EDITGUARD_POLICY_MODE", None)
    envs = [{**common, "EDITGUARD_DATA_DIR": str(tmp_path / f"data-{name}")} for name in "ab"]
    cli_run(envs[0], "users", "add", "root", "--role", "admin", stdin=PW + "\n")
    cli_run(envs[0], "users", "add", "alice", "--role", "reviewer", stdin=PW + "\n")
    apps = [_start_app(env) for env in envs]
    yield [{"url": u, "env": env} for (_, u), env in zip(apps, envs)]
    for proc, _ in apps:
        proc.terminate()
        proc.wait(timeout=30)


def _edit_in_page(url: str, image, instruction: str) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(locale="en-US")
        page.goto(url)
        page.wait_for_selector("#eg-status", timeout=60_000)
        run_edit(page, image, instruction)
        decision = page.locator("#eg-decision").get_attribute("data-decision")
        browser.close()
        return decision


def _signed_in(url: str, name: str):
    """A gradio_client with `name`'s session cookie from the /auth/signin form; pictures come back as links."""
    from gradio_client import Client

    from tests.test_review_api import sign_in

    session = sign_in(url, name, PW)
    return Client(url, verbose=False, headers={"Cookie": f"editguard_session={session}"}, download_files=False), session


def test_two_apps_share_one_database_and_one_picture_store(two_apps, tmp_path):
    from gradio_client import handle_file

    work = tmp_path / "astronaut.png"
    photo("astronaut").save(work)
    assert _edit_in_page(two_apps[1]["url"], work, "make it sepia") == "released"  # B: nothing registered yet

    # A registers a work; B's index follows: the same edit on B now waits for review
    admin_a, _ = _signed_in(two_apps[0]["url"], "root")
    message, _, _ = admin_a.predict(handle_file(str(work)), "Astronaut", "NASA", "Public domain", "",
                                    api_name="/library_add")
    assert "Astronaut" in message
    assert _edit_in_page(two_apps[1]["url"], work, "make it sepia") == "pending_review"

    # at once: a reviewer on A takes and approves B's item while someone edits on B
    reviewer_a, session_a = _signed_in(two_apps[0]["url"], "alice")
    opened, decided = [], []

    def review():
        reviewer_a.predict(*FILTERS, api_name="/review_next")
        opened.append(reviewer_a.predict(1, *FILTERS, api_name="/review_open"))
        decided.append(reviewer_a.predict("no_issue", "", *FILTERS, api_name="/review_approve"))

    reviewer = threading.Thread(target=review)
    reviewer.start()
    coffee = tmp_path / "coffee.png"
    photo("coffee").save(coffee)
    assert _edit_in_page(two_apps[1]["url"], coffee, "make it black and white") == "released"
    reviewer.join(timeout=120)
    # A served B's pictures (fetched from the shared store), behind alice's session
    assert decided and len([b for b in _fetched(opened[0], session_a) if b]) >= 3
    export = cli_run(two_apps[1]["env"], "queue", "export").stdout
    assert '"approved"' in export

    # B deactivates the work; A's index follows: the same edit on A is released again
    admin_b, _ = _signed_in(two_apps[1]["url"], "root")
    admin_b.predict(1, api_name="/library_deactivate")
    assert _edit_in_page(two_apps[0]["url"], work, "make it sepia") == "released"
