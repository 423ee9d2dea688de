"""The decision teaches the system, in a real headless Chromium: "reject as copyright" registers the upload as a
work in the same click, "not a copy" keeps the same upload from being flagged against that work again, and a
lesson that does not go with the decision is refused before anything is decided."""
import json

import pytest

from tests.conftest import cli_run, photo, serve_app
from tests.test_console_browser import FITS
from tests.test_browser import CHROMIUM, PASSWORD, SHOTS, browser, open_page, sign_in, wait_for_text  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lessons")

    def setup(env):
        work = tmp / "work.png"
        photo("coffee").save(work)
        cli_run(env, "library", "add", "--title", "Morning Coffee", "--owner", "Ada Photo Co.", "--license",
                "All rights reserved", str(work))
        cli_run(env, "users", "add", "alice", "--role", "reviewer", stdin=PASSWORD + "\n")
        photo("coffee").resize((420, 280)).save(tmp / "copy.png")
        cli_run(env, "edit", "--image", str(tmp / "copy.png"), "--instruction", "make it warmer")  # item 1
        photo("chelsea").save(tmp / "cat.png")  # item 2: not in the library, pending for its instruction
        cli_run(env, "edit", "--image", str(tmp / "cat.png"), "--instruction",
                'add the text "call 03-1234-5678" at the bottom')

    gen = serve_app(tmp, setup)
    url, env = next(gen)
    yield {"url": url, "env": env, "tmp": tmp}
    next(gen, None)


def _open(page, number: int):
    page.locator("#eg-open-id input").fill(str(number))
    page.locator("#eg-open").click()
    page.wait_for_selector(f'#eg-item-view[data-item="{number}"][data-status=claimed]', timeout=20_000)


def _reason(page, name: str):
    page.locator("#eg-reason input").click()
    page.get_by_role("option", name=name, exact=True).click()


def _edit(server, image, instruction="make it warmer") -> dict:
    out = cli_run(server["env"], "edit", "--image", str(image), "--instruction", instruction, "--json")
    return json.loads(out.stdout)


def test_decisions_teach_the_library_and_the_matcher(browser, server):  # noqa: F811
    page = open_page(browser, server, "en-US")
    sign_in(page, "alice")

    _open(page, 1)  # a copy of the registered coffee photo, which the reviewer judges not a copy
    page.locator("#eg-teach-not-a-copy input").check()
    page.locator("#eg-reject").click()  # "not a copy" goes with an approval only: refused, nothing decided
    wait_for_text(page, "#eg-action", "goes with an approval")
    assert page.locator("#eg-item-view").get_attribute("data-status") == "claimed"
    _reason(page, "False positive")
    page.locator("#eg-approve").click()
    page.wait_for_selector('#eg-item-view[data-item="1"][data-status=approved]', timeout=20_000)
    wait_for_text(page, "#eg-action", "no longer be flagged against 1 matched work")
    assert not page.locator("#eg-teach-not-a-copy input").is_checked()  # reset after the decision

    _open(page, 2)  # the cat photo: rejected as a copy of someone's work, and registered in the same click
    page.wait_for_function("() => [...document.querySelectorAll('#eg-review-compare img')]"
                           ".some(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    for img in page.evaluate(FITS, "#eg-review-compare"):  # the reviewer sees the whole picture too
        assert img["fit"] == "contain" and img["drawnInsideBox"] and img["boxInside"], img
    _reason(page, "Copyright")
    page.locator("#eg-teach-register input").check()
    page.locator("#eg-teach-title textarea").fill("Chelsea the cat")
    page.locator("#eg-teach-owner textarea").fill("Cat Owner")
    page.locator("#eg-reject").click()
    page.wait_for_selector('#eg-item-view[data-item="2"][data-status=rejected]', timeout=20_000)
    page.wait_for_selector("#eg-action #eg-done", timeout=20_000)
    said = page.locator("#eg-action").inner_text()
    assert "The upload is now reference work #" in said, said
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "review-lessons-en.png"), full_page=True)
    page.close()

    again = _edit(server, server["tmp"] / "copy.png")  # the same upload: the same pair does not come back
    assert again["decision"] == "released" and again["matches"] == []
    resized = server["tmp"] / "cat-small.png"
    photo("chelsea").resize((400, 266)).save(resized)
    copy = _edit(server, resized)  # a copy of the newly registered work is now found
    assert copy["decision"] == "pending_review"
    assert {(m["title"], m["owner"]) for m in copy["matches"]} == {("Chelsea the cat", "Cat Owner")}
