"""Security as a browser and an outsider meet it, in real Chromium against the real server (app.py).

- no password or session token in any storage a page script can read, after sign-in, reload and sign-out;
- every picture URL a reviewer's browser loaded is refused to a browser without that session (and after sign-out);
- every picture URL a requester's browser loaded is gone after Delete my data;
- a disabled account's open session stops working at its next call.
"""
import shutil

import pytest

from tests.conftest import cli_run, photo, serve_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
PASSWORD = "correct horse battery staple"
STORAGE_JS = """async () => {
  const out = [JSON.stringify({...localStorage}), JSON.stringify({...sessionStorage}), document.cookie];
  for (const info of (await indexedDB.databases())) {
    const db = await new Promise((ok, no) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result);
                                               r.onerror = () => no(r.error); });
    for (const name of db.objectStoreNames) {
      out.push(info.name + "/" + name + ":" + JSON.stringify(await new Promise((ok) => {
        const q = db.transaction(name, "readonly").objectStore(name).getAll();
        q.onsuccess = () => ok(q.result); q.onerror = () => ok(null); })));
    }
    db.close();
  }
  return out.join("\\n");
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")

    def setup(env):
        work = tmp / "registered.png"
        photo("coffee").save(work)
        cli_run(env, "library", "add", "--title", "Coffee", "--owner", "Someone", "--license", "All rights reserved",
                str(work))
        for name, role in (("alice", "reviewer"), ("bob", "reviewer"), ("root", "admin")):
            cli_run(env, "users", "add", name, "--role", role, stdin=PASSWORD + "\n")

    gen = serve_app(tmp, setup)
    url, env = next(gen)
    yield {"url": url, "tmp": tmp, "env": env}
    next(gen, None)


from tests.test_browser import browser  # noqa: E402,F401  (the suite's one Chromium launch)


def personal(urls) -> list[str]:
    """Picture URLs minus the shipped example pictures every visitor sees."""
    from ui.edit_tab import EXAMPLE_FILES

    return sorted({u for u in urls if u.rsplit("/", 1)[-1] not in EXAMPLE_FILES})


def open_page(browser, server):
    """A fresh browser profile (its own cookies and storage) on the page; records every picture URL it loads."""
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.pictures = []
    page.on("response", lambda r: page.pictures.append(r.url)
            if ("/pictures/" in r.url or "/gradio_api/file=" in r.url) and r.status == 200 else None)
    page.goto(server["url"])
    page.wait_for_selector("#eg-status", timeout=60_000)
    return page


def sign_in(page, name):
    page.locator("#eg-tab-review-button").click()
    page.locator("#eg-user").fill(name)
    page.locator("#eg-password").fill(PASSWORD)
    page.locator("#eg-signin-btn").click()
    page.wait_for_selector("#eg-signed-in", timeout=30_000)


def run_edit(page, image_path, instruction):
    page.locator("#eg-image input[type=file]").set_input_files(str(image_path))
    page.locator("#eg-image img").first.wait_for(timeout=30_000)
    page.locator("#eg-instruction textarea").fill(instruction)
    page.locator("#eg-run").click()
    page.wait_for_selector("#eg-decision, #eg-error", timeout=90_000)


def readable_storage(page) -> str:
    return page.evaluate(STORAGE_JS)


def session_cookie(page) -> dict:
    return next(c for c in page.context.cookies() if c["name"] == "editguard_session")


def status(context, url: str) -> int:
    return context.request.get(url, fail_on_status_code=False).status


def test_no_secret_in_browser_storage_after_sign_in_reload_and_sign_out(browser, server):
    page = open_page(browser, server)
    secret = server["env"]["EDITGUARD_SECRET"]
    for path in ("", "config", "gradio_api/info"):  # the page, its configuration and the API description
        assert secret not in page.context.request.get(server["url"] + path).text()
    sign_in(page, "alice")
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    requester = next(c for c in page.context.cookies() if c["name"] == "editguard_requester")
    assert requester["httpOnly"]
    page.locator("#eg-next").click()  # a reviewer call, whose inputs and outputs Gradio could record
    page.wait_for_selector("#eg-item .eg-card, #eg-empty, #eg-action .eg-card", timeout=30_000)
    for moment in ("signed in", "reload"):
        stored = readable_storage(page)
        assert PASSWORD not in stored and cookie["value"] not in stored and requester["value"] not in stored, moment
        assert "editguard_session" not in stored and "editguard_requester" not in stored, moment
        assert "run-history" not in stored, moment
        if moment == "signed in":
            page.reload()
            page.wait_for_selector("#eg-status", timeout=60_000)
            page.locator("#eg-tab-review-button").click()
            page.wait_for_selector("#eg-signed-in", timeout=30_000)  # a reload keeps the session
    page.locator("#eg-signout").click()
    page.wait_for_selector("#eg-signin-form", timeout=30_000)
    assert not page.locator("#eg-signed-in").is_visible()
    stored = readable_storage(page)
    assert PASSWORD not in stored and cookie["value"] not in stored
    assert not any(c["name"] == "editguard_session" for c in page.context.cookies())
    # the old token is revoked on the server: a browser that kept a copy of the cookie is not signed in
    thief = browser.new_context()
    thief.add_cookies([{**cookie}])
    other = thief.new_page()
    other.goto(server["url"] + "?tab=review")
    other.wait_for_selector("#eg-signin-form", timeout=60_000)
    assert not other.locator("#eg-signed-in").is_visible()
    thief.close()
    page.context.close()


def test_reviewer_pictures_are_refused_without_the_session(browser, server):
    requester = open_page(browser, server)
    src = server["tmp"] / "coffee-copy.png"
    photo("coffee").save(src)
    run_edit(requester, src, "make it a bit warmer")
    assert requester.locator("#eg-decision").get_attribute("data-decision") == "pending_review"
    reviewer = open_page(browser, server)
    sign_in(reviewer, "alice")
    reviewer.locator("#eg-next").click()
    reviewer.locator("#eg-review-compare img").first.wait_for(timeout=30_000)
    reviewer.locator("#eg-works img").first.wait_for(timeout=30_000)
    urls = sorted({u for u in reviewer.pictures if "/pictures/" in u})
    assert len(urls) >= 2  # the upload (here the very file of the matched work) and the unblurred result
    assert all(status(reviewer.context, u) == 200 for u in urls)  # the reviewer's own session opens them
    stranger = browser.new_context()
    assert [status(stranger, u) for u in urls] == [403] * len(urls)
    assert [status(requester.context, u) for u in urls] == [403] * len(urls)  # not even the requester's browser
    stranger.close()
    assert not [u for u in personal(reviewer.pictures) if "/gradio_api/file=" in u]  # none went through the cache
    reviewer.locator("#eg-signout").click()
    reviewer.wait_for_selector("#eg-signin-form", timeout=30_000)
    assert [status(reviewer.context, u) for u in urls] == [403] * len(urls)  # signed out: gone for them too
    reviewer.context.close()
    requester.context.close()


def test_every_picture_a_requester_saw_is_gone_after_delete_my_data(browser, server):
    from PIL import Image

    page = open_page(browser, server)
    cat = server["tmp"] / "cat.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (35.0, 39.0, 31.0)}  # GPS: where the photo was taken
    photo("chelsea").save(cat, exif=exif)
    assert Image.open(cat).getexif()[0x010F] == "SecretCam"
    run_edit(page, cat, "Make it warmer")
    assert page.locator("#eg-decision").get_attribute("data-decision") == "released"
    page.locator("#eg-compare img").first.wait_for(timeout=30_000)
    coffee = server["tmp"] / "coffee-again.png"
    photo("coffee").save(coffee)
    run_edit(page, coffee, "make it sepia")
    page.wait_for_selector("#eg-decision[data-decision=pending_review]", timeout=90_000)  # a registered work
    page.locator("#eg-compare img").first.wait_for(timeout=30_000)
    page.locator("#eg-tab-mine-button").click()
    page.wait_for_selector("#eg-mine", timeout=30_000)
    page.locator("#eg-mine-gallery img").first.wait_for(timeout=30_000)
    seen = personal(page.pictures)
    assert any("/pictures/" in u for u in seen) and any("/gradio_api/file=" in u for u in seen)
    assert all(status(page.context, u) == 200 for u in seen)
    import io

    uploads = [u for u in seen if u.endswith("/cat.jpg")]
    assert uploads  # the browser showed the upload from Gradio's cache: that copy has lost its metadata
    for u in uploads:
        kept = Image.open(io.BytesIO(page.context.request.get(u).body()))
        assert not kept.getexif() and b"SecretCam" not in page.context.request.get(u).body()
    page.locator("#eg-delete-box").click()
    page.locator("#eg-delete-confirm input").check()
    page.locator("#eg-delete").click()
    page.wait_for_selector("#eg-deleted", timeout=30_000)
    assert "Deleted 2 edit(s)" in page.locator("#eg-deleted").inner_text()
    still = [u for u in seen if status(page.context, u) == 200]
    assert still == []
    page.context.close()


def test_a_disabled_accounts_open_session_stops_at_its_next_call(browser, server):
    bob = open_page(browser, server)
    sign_in(bob, "bob")
    bob.locator("#eg-tab-review button:has-text('Refresh')").first.click()
    bob.wait_for_selector("#eg-queue-info [data-total]", timeout=30_000)
    admin = open_page(browser, server)
    sign_in(admin, "root")
    admin.locator("#eg-tab-accounts-button").click()
    admin.wait_for_function("(document.querySelector('#eg-accounts')?.innerText || '').includes('bob')",
                            timeout=30_000)
    admin.locator("#eg-acct-name textarea, #eg-acct-name input").first.fill("bob")
    admin.locator("#eg-acct-disable").click()
    admin.wait_for_selector("#eg-acct-done[data-action=disable]", timeout=30_000)
    bob.locator("#eg-next").click()
    bob.get_by_text("Please sign in as a reviewer.").first.wait_for(timeout=30_000)
    bob.reload()
    bob.wait_for_selector("#eg-status", timeout=60_000)
    bob.locator("#eg-tab-review-button").click()
    bob.wait_for_selector("#eg-signin-form", timeout=30_000)
    events = cli_run(server["env"], "users", "list").stdout
    assert "bob" in events and "disabled" in events
    admin.context.close()
    bob.context.close()
