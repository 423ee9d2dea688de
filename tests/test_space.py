"""The app as a Space runs it: a data directory outside the working directory and the temp folder (API and page),
the documented `/edit` endpoint, Hugging Face identity for My edits, requirements.txt as the Space installs it."""
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.conftest import REPO, cli_run, photo, serve_app

PW = "correct horse battery staple"
FILTERS = ("open", "", "", "", 0, 1)


def outside_dir() -> Path:
    """A fresh folder that is neither under the working directory nor under the temp folder (like a /data volume)."""
    tmp = Path(tempfile.gettempdir()).resolve()
    for base in (Path("/var/tmp"), Path.home(), Path("/dev/shm")):
        try:
            base = base.resolve()
            if base == tmp or tmp in base.parents or base in tmp.parents or REPO in (base, *base.parents):
                continue
            folder = Path(tempfile.mkdtemp(prefix="editguard-volume-", dir=base))
        except OSError:
            continue
        if tmp not in folder.parents and REPO not in folder.parents and Path.cwd() not in folder.parents:
            return folder
    pytest.skip("no writable folder outside the working directory and the temp folder")


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("space")
    volume = outside_dir()

    def setup(env):
        env["EDITGUARD_DATA_DIR"] = str(volume / "data")
        cli_run(env, "users", "add", "alice", "--role", "reviewer", stdin=PW + "\n")

    gen = serve_app(tmp, setup)
    url, env = next(gen)
    try:
        yield {"url": url, "tmp": tmp, "data_dir": volume / "data", "client": Client(url, verbose=False)}
    finally:
        next(gen, None)
        shutil.rmtree(volume, ignore_errors=True)


def sharpness(image: Image.Image) -> float:
    a = np.asarray(image.convert("L"), dtype=np.float64)
    return float(np.abs(np.diff(a, axis=1)).mean())


def test_edit_endpoint_returns_the_labelled_picture_from_a_volume(space):
    src = space["tmp"] / "cat.png"
    photo("chelsea").save(src)
    record, pictures = space["client"].predict(handle_file(str(src)), "make it sepia", api_name="/edit")
    assert record["decision"] == "released" and record["verdicts"]["instruction"]["label"] == "Safe"
    assert [v["label"] for v in record["verdicts"]["outputs"]] == ["Safe"] and "seed" not in record["params"]
    assert str(space["data_dir"]) not in json.dumps(record)  # no server paths leave the app
    assert len(pictures) == 1
    from review.provenance.verify import verify

    labels = verify(Path(pictures[0]["image"]).read_bytes(), (space["data_dir"] / "provenance" / "ca.pem").read_bytes())
    assert labels["c2pa"]["state"] == "Trusted" and labels["record_id"] == record["id"]
    assert labels["watermark"]["present"]


def test_the_volume_itself_is_not_served(space):
    """Pictures leave as copies of what a caller may see; the data directory is not an allowed path."""
    import urllib.error
    import urllib.request

    stored = next((space["data_dir"] / "images").rglob("*.png"))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(space["url"] + "gradio_api/file=" + str(stored), timeout=10)
    assert err.value.code in (403, 404)


def test_edit_endpoint_options_and_a_pending_result_is_blurred(space):
    src = space["tmp"] / "astronaut.png"
    photo("astronaut").save(src)  # a registered sample work: the edit waits for a person
    record, pictures = space["client"].predict(handle_file(str(src)), "make it sepia", "", -1, 12, 4.0, 2, False,
                                               api_name="/edit")
    assert record["decision"] == "pending_review" and record["review_status"] == "pending"
    assert record["matches"][0]["title"].startswith("Eileen Collins") and "reference_image" not in record["matches"][0]
    # the CPU editor ran: its record holds what its filters used, not the steps and seed it was sent
    assert record["params"]["filters"] == ["sepia"] and "steps" not in record["params"]
    stored = sorted((space["data_dir"] / "images").rglob("*.png"), key=os.path.getmtime)[-1]
    seen = Image.open(pictures[0]["image"])
    assert seen.size == Image.open(stored).size and sharpness(seen) < sharpness(Image.open(stored)) / 3


def test_edit_endpoint_explains_bad_input_in_words(space):
    bad = space["tmp"] / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(Exception, match="not an image this app can read") as err:
        space["client"].predict(handle_file(str(bad)), "make it sepia", api_name="/edit")
    assert "Traceback" not in str(err.value)
    src = space["tmp"] / "coffee.png"
    photo("coffee").save(src)
    record, pictures = space["client"].predict(handle_file(str(src)), "undress her", api_name="/edit")
    assert record["decision"] == "blocked" and pictures == []


def _urls(value) -> list[str]:
    if isinstance(value, dict):
        return [value["url"]] if isinstance(value.get("url"), str) else [u for v in value.values() for u in _urls(v)]
    if isinstance(value, (list, tuple)):
        return [u for v in value for u in _urls(v)]
    return []


def test_a_reviewer_decides_through_the_api(space):
    src = space["tmp"] / "astro2.png"
    photo("astronaut").save(src)
    record, _ = space["client"].predict(handle_file(str(src)), "make it darker", api_name="/edit")
    from tests.test_review_api import sign_in

    session = sign_in(space["url"], "alice", PW)  # the session cookie from the /auth route
    # pictures come back as links bound to the session (not /gradio_api/file= copies): take them as links
    client = Client(space["url"], verbose=False, headers={"Cookie": f"editguard_session={session}"},
                    download_files=False)
    item = client.predict(*FILTERS, api_name="/review_next")
    links = [u for u in _urls(item) if "/pictures/" in u]
    assert links, item
    import urllib.error
    import urllib.request

    with_session = urllib.request.Request(links[0], headers={"Cookie": f"editguard_session={session}"})
    assert urllib.request.urlopen(with_session, timeout=10).status == 200
    with pytest.raises(urllib.error.HTTPError):  # the same link without the session
        urllib.request.urlopen(links[0], timeout=10)
    answer = client.predict("no_issue", "", *FILTERS, api_name="/review_approve")
    assert 'data-status="approved"' in str(answer)
    table, _ = client.predict("decided", "", "", "", 0, 1, api_name="/review_list")
    assert len(table["data"]) == 1


# ---- the page, in Chromium, with the data directory on the "volume" ----------------------------------------------
from tests.test_browser import CHROMIUM, browser  # noqa: E402,F401


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_page_shows_results_and_my_edits_from_a_volume(space, browser):  # noqa: F811
    src = space["tmp"] / "cat-page.png"
    photo("chelsea").save(src)
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1100})
    page.goto(space["url"])
    page.wait_for_selector("#eg-status", timeout=60_000)
    page.locator("#eg-image input[type=file]").set_input_files(str(src))
    page.locator("#eg-image img").first.wait_for(timeout=30_000)
    page.locator("#eg-instruction textarea").fill("make it black and white")
    page.locator("#eg-run").click()
    page.wait_for_selector("#eg-decision, #eg-error", timeout=60_000)
    assert page.locator("#eg-decision").get_attribute("data-decision") == "released"
    loaded = "(sel) => [...document.querySelectorAll(sel + ' img')].some(i => i.complete && i.naturalWidth > 0)"
    page.wait_for_function(loaded, arg="#eg-outputs", timeout=30_000)
    with page.expect_download() as download:
        page.locator("#eg-download").click()
    assert download.value.suggested_filename.startswith("editguard-")
    page.locator("#eg-tab-mine-button").click()
    page.wait_for_selector("#eg-mine [data-status=released]", timeout=30_000)
    page.wait_for_function(loaded, arg="#eg-mine-gallery", timeout=30_000)
    assert page.locator("#eg-error").count() == 0
    page.close()


# ---- who is asking -----------------------------------------------------------------------------------------------
def hub_profile(username: str):
    """What Gradio injects for a person signed in with Hugging Face (the OpenID userinfo fields it reads)."""
    import gradio as gr

    return gr.OAuthProfile({"name": username.title(), "preferred_username": username, "orgs": [],
                            "profile": f"https://huggingface.co/{username}", "picture": ""})


class _Browser:
    """What a handler's gr.Request offers of one browser: its cookies (the server-signed requester cookie)."""

    def __init__(self, secret: str):
        from review.privacy.requester import REQUESTER_COOKIE, new_requester_cookie

        self.cookies = {REQUESTER_COOKIE: new_requester_cookie(secret)}


def test_requester_is_the_hub_account_when_signed_in_else_the_browser(rt):
    from review.privacy.requester import credential_of

    browser_a, browser_b = _Browser(rt.secret), _Browser(rt.secret)
    profile = hub_profile("Alice-Dev")
    assert credential_of(rt.secret, browser_a, profile) == credential_of(rt.secret, browser_b, profile) == "hf:alice-dev"
    assert credential_of(rt.secret, browser_a).startswith("cookie:")
    assert credential_of(rt.secret, browser_a) != credential_of(rt.secret, browser_b)
    forged = type("R", (), {"cookies": {"editguard_requester": "abc.def"}})()
    assert credential_of(rt.secret, forged) is None and credential_of(rt.secret, None) is None
    assert credential_of(rt.secret, browser_a, {"preferred_username": "../x"}) == credential_of(rt.secret, browser_a)


def test_my_edits_follow_a_signed_in_person_to_another_browser(rt, image_file):
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import Submission
    from review.privacy.requester import my_edits, requester_for

    profile = hub_profile("bo")
    laptop, phone = _Browser(rt.secret), _Browser(rt.secret)
    who = requester_for(rt, laptop, profile, create=True)
    assert who.startswith("p:") and "bo" not in who  # records and the log carry a pseudonym, never the account
    rec = run_edit(rt, Submission(image=image_file(photo("coffee")), instruction="sepia", requester=who))
    assert [r["id"] for r in my_edits(rt.session_factory, requester_for(rt, phone, profile))] == [rec["id"]]
    assert my_edits(rt.session_factory, requester_for(rt, phone)) == []  # anonymous elsewhere: not theirs
    assert my_edits(rt.session_factory, requester_for(rt, laptop)) == []  # the account owns it, not the laptop


# ---- the Space rehearsal, the part that fits CI's time (no fresh install) ----------------------------------------
def test_space_rehearsal_without_the_install():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "scripts/space_rehearsal.py", "--python", sys.executable], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], report
    assert report["edit"]["decision"] == "released" and report["review"] == "approved"
    assert report["verify"]["c2pa"] == "Trusted" and report["packages_txt"]


# ---- what a Space installs ---------------------------------------------------------------------------------------
def requirement_lines(name: str) -> list[str]:
    return [line.strip() for line in (REPO / name).read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_txt_is_the_whole_product_in_one_file():
    full = requirement_lines("requirements.txt")
    assert not [line for line in full if line.startswith("-")]  # a Space build mounts this file alone: no -r, no flags
    names = {re.split(r"[<>=\[ ]", line)[0].lower() for line in full}
    assert {"torch", "diffusers", "transformers", "accelerate", "peft", "spaces", "gradio"} <= names
    assert set(requirement_lines("requirements-cpu.txt")) <= set(full)  # the light local set is a true subset
    packages = [line for line in (REPO / "packages.txt").read_text().splitlines() if line.strip()]
    assert packages and all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", p) for p in packages)  # apt package names only
