"""The page in a real headless Chromium: upload, instruct, run; verdicts, similarity warning, decision; both languages.

Screenshots land in out/screenshots/ for a person to look at.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO, photo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
SHOTS = REPO / "out" / "screenshots"
XSS_TITLE = '<img src=x onerror="window.__pwned=1">Stolen work'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "EDITGUARD_DATA_DIR": str(tmp / "data"), "EDITGUARD_SECRET": "browser-test",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("DATABASE_URL", None)
    env.pop("EDITGUARD_POLICY_MODE", None)
    work = tmp / "registered.png"
    photo("coffee").save(work)
    subprocess.run([sys.executable, "-m", "review", "library", "add", "--title", XSS_TITLE, "--owner", "<b>Owner</b>",
                    "--license", "All rights reserved", str(work)], cwd=REPO, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the app exited: " + proc.stdout.read())
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("the app did not start within 90 s")
    yield {"url": url, "tmp": tmp}
    proc.terminate()
    proc.wait(timeout=20)


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
    assert verdicts.locator('[data-label="Safe"]').count() == 2  # the instruction and the one result
    page.locator("#eg-compare img").first.wait_for(timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "edit-en-released.png"), full_page=True)
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
