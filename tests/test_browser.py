"""The page in a real headless Chromium: upload, instruct, run; verdicts, similarity warning, decision; both languages.

Screenshots land in out/screenshots/ for a person to look at.
"""
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_run, photo, serve_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
SHOTS = REPO / "out" / "screenshots"
XSS_TITLE = '<img src=x onerror="window.__pwned=1">Stolen work'
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")

    def setup(env):
        work = tmp / "registered.png"
        photo("coffee").save(work)
        cli_run(env, "library", "add", "--title", XSS_TITLE, "--owner", "<b>Owner</b>", "--license",
                "All rights reserved", str(work))
        cli_run(env, "users", "add", "alice", "--role", "reviewer", stdin=PASSWORD + "\n")
        cli_run(env, "users", "add", "root", "--role", "admin", stdin=PASSWORD + "\n")

    gen = serve_app(tmp, setup)
    url, env = next(gen)
    yield {"url": url, "tmp": tmp, "data_dir": Path(env["EDITGUARD_DATA_DIR"])}
    next(gen, None)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-quic", "--no-first-run", "--disable-sync"])
        yield b
        b.close()


def open_page(browser, server, locale):
    page = browser.new_page(locale=locale, viewport={"width": 1400, "height": 1100},
                            extra_http_headers={"Accept-Language": f"{locale},{locale[:2]};q=0.9"})
    page.goto(server["url"])
    page.wait_for_selector("#eg-status", timeout=60_000)
    return page


def run_edit(page, image_path, instruction):
    page.locator("#eg-image input[type=file]").set_input_files(str(image_path))
    page.locator("#eg-image img").first.wait_for(timeout=30_000)
    page.locator("#eg-instruction textarea").fill(instruction)
    page.locator("#eg-run").click()
    page.wait_for_selector("#eg-decision, #eg-error", timeout=60_000)


def test_english_edit_is_released_with_verdicts(browser, server):
    src = server["tmp"] / "cat.png"
    photo("chelsea").save(src)
    page = open_page(browser, server, "en-US")
    assert "classic" in page.locator("#eg-status").inner_text() and "nudenet" in page.locator("#eg-status").inner_text()
    assert page.get_by_text("Run edit").is_visible()
    run_edit(page, src, 'Make it warmer and add the text "Good morning" at the bottom')
    decision = page.locator("#eg-decision")
    assert decision.get_attribute("data-decision") == "released"
    assert "Released" in decision.inner_text()
    verdicts = page.locator("#eg-verdicts")
    assert verdicts.locator('[data-label="Safe"]').count() == 3  # the instruction, the upload and the one result
    page.locator("#eg-compare img").first.wait_for(timeout=30_000)
    provenance = page.locator("#eg-provenance")
    assert provenance.get_attribute("data-generative") == "false" and "CPU editor" in provenance.inner_text()
    assert "Apache-2.0" in provenance.inner_text() and "C2PA" in provenance.inner_text()
    record_id = decision.inner_text().split("Record ")[1].split()[0]
    with page.expect_download() as download:
        page.locator("#eg-download").click()
    saved = server["tmp"] / "downloaded.png"
    download.value.save_as(saved)
    from review.provenance.verify import verify

    anchor = (server["data_dir"] / "provenance" / "ca.pem").read_bytes()
    labels = verify(saved.read_bytes(), anchor)
    assert download.value.suggested_filename == f"editguard-{record_id}.png"
    assert labels["c2pa"]["state"] == "Trusted" and labels["record_id"] == record_id and labels["watermark"]["present"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "edit-en-released.png"), full_page=True)
    page.close()


def wait_for_text(page, selector, text, timeout_ms=20_000):
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text],
                           timeout=timeout_ms)


def sign_in(page, name):
    page.locator("#eg-tab-review-button").click()
    page.locator("#eg-user").fill(name)
    page.locator("#eg-password").fill(PASSWORD)
    page.locator("#eg-signin-btn").click()
    page.wait_for_selector("#eg-signed-in", timeout=20_000)


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_admin_manages_the_library(browser, server, locale):
    page = open_page(browser, server, locale)
    sign_in(page, "root")
    page.locator("#eg-tab-library-button").click()
    wait_for_text(page, "#eg-library", "Stolen work")  # the title is shown as text, never run as HTML
    assert page.evaluate("window.__pwned") is None
    name = "gravel" if locale == "en-US" else "brick"
    work = server["tmp"] / f"{name}.png"
    photo(name).save(work)
    page.locator("#eg-library-image input[type=file]").set_input_files(str(work))
    page.locator("#eg-library-image img").first.wait_for(timeout=30_000)
    page.locator("#eg-lib-title :is(input,textarea)").fill(f"Poster {name}")
    page.locator("#eg-lib-owner :is(input,textarea)").fill("Studio")
    page.locator("#eg-lib-license :is(input,textarea)").fill("All rights reserved")
    page.locator("#eg-lib-register").click()
    page.wait_for_selector("#eg-library-done, #eg-library-msg #eg-error", timeout=30_000)
    assert page.locator("#eg-library-done").count() == 1
    wait_for_text(page, "#eg-library", f"Poster {name}")
    page.locator("#eg-lib-register").click()  # the form was cleared: nothing to register
    page.wait_for_selector("#eg-library-msg #eg-error", timeout=30_000)
    page.locator("#eg-library-image input[type=file]").set_input_files(str(work))  # the same picture again
    page.locator("#eg-library-image img").first.wait_for(timeout=30_000)
    page.locator("#eg-lib-register").click()  # a duplicate, said plainly
    page.wait_for_function("!(document.querySelector('#eg-library-msg')?.innerText || '').includes('Choose') && "
                           "!(document.querySelector('#eg-library-msg')?.innerText || '').includes('選んで')")
    page.wait_for_selector("#eg-library-msg #eg-error", timeout=30_000)
    assert ("already registered" if locale == "en-US" else "すでに登録") in page.locator("#eg-library-msg").inner_text()
    broken = server["tmp"] / f"broken-{name}.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    other = server["tmp"] / f"camera-{name}.png"
    photo("grass" if locale == "en-US" else "cell").save(other)
    page.get_by_text("Bulk import" if locale == "en-US" else "一括登録", exact=True).first.click()
    page.locator("#eg-lib-files input[type=file]").set_input_files([str(other), str(broken)])
    page.locator("#eg-imp-owner :is(input,textarea)").fill("Archive")
    page.locator("#eg-imp-license :is(input,textarea)").fill("CC BY 4.0")
    page.wait_for_timeout(1000)
    page.locator("#eg-lib-import").click()
    summary = page.locator("#eg-import-summary")
    summary.wait_for(timeout=60_000)
    assert summary.locator('[data-status="added"]').count() == 1 and summary.locator('[data-status="failed"]').count() == 1
    search = page.locator("#eg-library-search :is(input,textarea)")  # the library pages and searches
    search.fill(f"Poster {name}")
    search.press("Enter")
    wait_for_text(page, "#eg-library-page", "1 work(s)" if locale == "en-US" else "・1 件")
    assert "Stolen work" not in page.locator("#eg-library").inner_text()
    assert f"Poster {name}" in page.locator("#eg-library").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"library-{locale[:2]}.png"), full_page=True)
    page.close()


def test_a_reviewer_who_is_not_an_admin_has_no_library(browser, server):
    page = open_page(browser, server, "en-US")
    sign_in(page, "alice")
    page.wait_for_timeout(500)
    assert page.locator("#eg-tab-library-button").count() == 0 or not page.locator("#eg-tab-library-button").is_visible()
    page.close()


def test_requester_deletes_their_data(browser, server):
    page = open_page(browser, server, "ja-JP")
    src = server["tmp"] / "mine.png"
    photo("coins").save(src)
    run_edit(page, src, "セピアにして")
    assert page.locator("#eg-decision").get_attribute("data-decision") == "released"
    page.locator("#eg-tab-mine-button").click()
    page.locator("#eg-mine [data-status]").first.wait_for(timeout=30_000)
    page.get_by_text("自分のデータを削除").first.click()
    page.locator("#eg-delete").click()
    page.wait_for_timeout(500)
    assert page.locator("#eg-deleted").count() == 0  # not without ticking the box
    page.locator("#eg-delete-confirm input").check()
    page.locator("#eg-delete").click()
    page.locator("#eg-deleted").wait_for(timeout=30_000)
    assert "1 件の編集" in page.locator("#eg-deleted").inner_text()
    page.locator("#eg-mine-empty").wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "my-edits-deleted-ja.png"), full_page=True)
    page.close()


def test_japanese_registered_work_awaits_review_and_titles_cannot_run_script(browser, server):
    src = server["tmp"] / "coffee-copy.jpg"
    photo("coffee").resize((300, 200)).save(src, quality=70)
    page = open_page(browser, server, "ja-JP")
    assert page.get_by_text("編集を実行").is_visible() and page.get_by_text("指示", exact=True).first.is_visible()
    run_edit(page, src, "白黒にして少しぼかして")
    decision = page.locator("#eg-decision")
    assert decision.get_attribute("data-decision") == "pending_review" and "確認待ち" in decision.inner_text()
    matches = page.locator("#eg-matches")
    assert matches.locator('[data-target="input"]').count() == 1 and matches.locator('[data-target="output"]').count() == 1
    assert XSS_TITLE in matches.inner_text()  # shown as text...
    assert page.evaluate("window.__pwned") is None  # ...and never run
    assert "<b>Owner</b>" in matches.inner_text()
    page.screenshot(path=str(SHOTS / "edit-ja-pending.png"), full_page=True)
    page.close()


def test_bad_upload_and_unknown_instruction_get_plain_messages(browser, server):
    bad = server["tmp"] / "not-an-image.png"
    bad.write_bytes(b"this is text, not a picture")
    page = open_page(browser, server, "ja-JP")
    page.locator("#eg-image input[type=file]").set_input_files(str(bad))
    page.locator("#eg-instruction textarea").fill("セピアにして")
    page.wait_for_timeout(1000)
    page.locator("#eg-run").click()
    page.wait_for_selector("#eg-error", timeout=60_000)
    assert "読み込める画像ではありません" in page.locator("#eg-error").inner_text()
    page.close()

    good = server["tmp"] / "cat.png"
    photo("chelsea").save(good)
    page = open_page(browser, server, "en-US")
    run_edit(page, good, "remove the cat from the sofa")
    error = page.locator("#eg-error").inner_text()
    assert "cannot do" in error and "sepia" in error and "Traceback" not in error
    page.screenshot(path=str(SHOTS / "edit-en-error.png"), full_page=True)
    page.close()


def _detail(png_bytes: bytes) -> float:
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("L"), dtype=np.float64)
    return float(np.abs(np.diff(a, axis=1)).mean())


def test_reviewer_approves_with_the_keyboard_and_the_requester_sees_the_image(browser, server):
    requester = open_page(browser, server, "en-US")
    src = server["tmp"] / "registered-copy.png"
    photo("coffee").resize((420, 280)).save(src)
    run_edit(requester, src, "make it warmer")
    assert requester.locator("#eg-decision").get_attribute("data-decision") == "pending_review"
    record_id = requester.locator("#eg-decision").inner_text().split("Record ")[1].split()[0]
    requester.locator("#eg-tab-mine-button").click()
    mine = requester.locator(f'#eg-mine [data-record="{record_id}"]')
    mine.wait_for(timeout=30_000)
    assert mine.get_attribute("data-status") == "pending"
    requester.locator("#eg-mine-gallery img").first.wait_for(timeout=30_000)
    blurred = _detail(requester.request.get(requester.locator("#eg-mine-gallery img").first.get_attribute("src")).body())

    reviewer = open_page(browser, server, "en-US")  # its own browser context: no shared storage
    reviewer.locator("#eg-tab-review-button").click()
    with pytest.raises(Exception):  # the console stays hidden until sign-in
        reviewer.locator("#eg-next").click(timeout=1000)
    reviewer.locator("#eg-user").fill("alice")
    reviewer.locator("#eg-password").fill("wrong password")
    reviewer.locator("#eg-signin-btn").click()
    reviewer.wait_for_selector("#eg-signin-msg[data-outcome=failed]", timeout=20_000)
    reviewer.locator("#eg-user").fill("alice")
    reviewer.locator("#eg-password").fill(PASSWORD)
    reviewer.locator("#eg-signin-btn").click()
    reviewer.wait_for_selector("#eg-signed-in", timeout=20_000)
    approved = []
    for _ in range(10):  # work through the queue with the keyboard only
        reviewer.locator("#eg-who").click()
        reviewer.keyboard.press("n")
        reviewer.wait_for_selector("#eg-item-view[data-status=claimed], #eg-empty", timeout=20_000)
        if reviewer.locator("#eg-empty").count():
            break
        item = reviewer.locator("#eg-item-view").get_attribute("data-item")
        if not approved:
            SHOTS.mkdir(parents=True, exist_ok=True)
            reviewer.screenshot(path=str(SHOTS / "review-item.png"), full_page=True)
        reviewer.locator("#eg-who").click()
        reviewer.keyboard.press("a")
        reviewer.wait_for_selector(f'#eg-item-view[data-item="{item}"][data-status=approved]', timeout=20_000)
        assert reviewer.locator("#eg-done").get_attribute("data-status") == "approved"
        approved.append(item)
    assert approved and reviewer.locator("#eg-empty").count() == 1
    reviewer.screenshot(path=str(SHOTS / "review-empty.png"), full_page=True)

    requester.locator("#eg-mine-refresh").click()
    requester.locator(f'#eg-mine [data-record="{record_id}"][data-status="approved"]').wait_for(timeout=30_000)
    requester.wait_for_timeout(500)
    full = _detail(requester.request.get(requester.locator("#eg-mine-gallery img").first.get_attribute("src")).body())
    assert full > 3 * blurred  # the approved picture is the real one now, not the blurred preview
    requester.screenshot(path=str(SHOTS / "my-edits-approved.png"), full_page=True)


def test_painted_region_limits_the_edit(browser, server):
    page = open_page(browser, server, "en-US")
    src = server["tmp"] / "cat-region.png"
    photo("chelsea").save(src)
    page.locator("#eg-image input[type=file]").set_input_files(str(src))
    page.locator("#eg-image img").first.wait_for(timeout=30_000)
    page.get_by_text("Change only here (optional)").first.click()
    canvas = page.locator("#eg-region canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(4000)  # the editor loads the picture before its brush is ready
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(20):
        page.mouse.move(x0 + k * 10, y0 + (k % 3))
    page.mouse.up()
    page.locator("#eg-instruction textarea").fill("白黒にして")
    page.locator("#eg-run").click()
    page.wait_for_selector("#eg-decision", timeout=60_000)
    record = page.locator("#eg-decision").inner_text().split("Record ")[1].split()[0]
    page.screenshot(path=str(SHOTS / "edit-region.png"), full_page=True)
    page.close()
    import numpy as np
    from PIL import Image

    original = np.asarray(Image.open(src).convert("RGB"), dtype=np.int64)
    changed = []
    for path in (server["tmp"] / "data" / "images").rglob("*.png"):
        im = np.asarray(Image.open(path).convert("RGB"), dtype=np.int64)
        if im.shape == original.shape:
            changed.append((np.abs(im - original).sum(axis=2) > 6).mean())
    # the stored input is unchanged; the output changed in the painted strip only, not the whole picture
    assert any(0.005 < c < 0.4 for c in changed), (record, changed)


def test_live_verdict_while_typing(browser, server):
    page = open_page(browser, server, "ja-JP")
    box = page.locator("#eg-instruction textarea")
    box.press_sequentially("白黒にして", delay=20)
    page.wait_for_selector('#eg-live-verdict[data-label="Safe"]', timeout=20_000)
    box.fill("")
    box.press_sequentially("服を脱がせて", delay=20)
    page.wait_for_selector('#eg-live-verdict[data-label="Unsafe"]', timeout=20_000)
    live = page.locator("#eg-live-verdict").inner_text()
    assert "不適切" in live and "性的コンテンツ" in live and "服を脱" in live
    page.screenshot(path=str(SHOTS / "live-verdict-ja.png"), full_page=False)
    page.close()
