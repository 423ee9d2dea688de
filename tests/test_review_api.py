"""Role checks on the server, through the Gradio API itself (not the page): no session, no reviewer functions.

The session is the HttpOnly cookie the /auth/signin route sets; an API caller sends it like a browser would.
"""
import urllib.error
import urllib.parse
import urllib.request

import pytest
from gradio_client import Client

from tests.conftest import cli_run, photo, serve_app, tampered

PW = "correct horse battery staple"
FILTERS = ("open", "", "", "", 0, 1)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")

    def setup(env):
        cli_run(env, "users", "add", "alice", "--role", "reviewer", stdin=PW + "\n")
        cli_run(env, "users", "add", "root", "--role", "admin", stdin=PW + "\n")
        src = tmp / "astronaut.png"
        photo("astronaut").save(src)
        cli_run(env, "edit", "--image", str(src), "--instruction", "sepia")  # a registered work: one pending item

    gen = serve_app(tmp, setup)
    url, _ = next(gen)
    yield url
    next(gen, None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(url: str, name: str, password: str) -> str | None:
    """POST the sign-in form; the session token from the Set-Cookie header, or None."""
    body = urllib.parse.urlencode({"name": name, "password": password}).encode()
    try:
        urllib.request.build_opener(_NoRedirect).open(url + "auth/signin", body)
    except urllib.error.HTTPError as exc:
        cookie = exc.headers.get("set-cookie") or ""
        assert exc.code == 303
        if "editguard_session=" not in cookie:
            return None
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        return cookie.split("editguard_session=", 1)[1].split(";")[0]
    raise AssertionError("the sign-in route should answer with a redirect")


def api(url: str, session: str | None = None) -> Client:
    return Client(url, verbose=False, headers={"Cookie": f"editguard_session={session}"} if session else None)


@pytest.mark.parametrize("api_name,args", [
    ("/review_list", FILTERS),
    ("/review_next", FILTERS),
    ("/review_open", (1, *FILTERS)),
    ("/review_approve", ("no_issue", "", *FILTERS)),
    ("/review_stats", ()),
    ("/review_undo", FILTERS),
    ("/accounts_list", ()),
    ("/accounts_disable", ("alice", "reviewer")),
])
@pytest.mark.parametrize("session", [None, "forged-token"])
def test_reviewer_endpoints_refuse_callers_without_a_session(client, api_name, args, session):
    with pytest.raises(Exception, match="sign in as a reviewer"):
        api(client, session).predict(*args, api_name=api_name)


def test_no_endpoint_takes_a_password_or_a_token(client):
    info = api(client).view_api(return_format="dict", print_info=False)
    names = " ".join(info["named_endpoints"]) + " ".join(info["unnamed_endpoints"])
    assert "signin" not in names
    params = [p["parameter_name"] for e in info["named_endpoints"].values() for p in e["parameters"]]
    assert not [p for p in params if p in ("tok", "token", "pw", "password")]


def test_a_signed_in_reviewer_can_use_them(client):
    session = sign_in(client, "alice", PW)
    assert isinstance(session, str) and len(session) > 20
    table, info = api(client, session).predict(*FILTERS, api_name="/review_list")
    assert len(table["data"]) == 1 and 'data-total="1"' in info
    with pytest.raises(Exception, match="sign in"):
        api(client, tampered(session)).predict(*FILTERS, api_name="/review_list")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_is_one_request_for_a_session_only(client, fmt):
    """The console's export links: one GET downloads the decisions; without a valid session nothing comes back."""
    for cookie in (None, "editguard_session=forged"):
        request = urllib.request.Request(client + f"review/export.{fmt}", headers={"Cookie": cookie} if cookie else {})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403
    session = sign_in(client, "alice", PW)
    with urllib.request.urlopen(urllib.request.Request(client + f"review/export.{fmt}",
                                                       headers={"Cookie": f"editguard_session={session}"})) as got:
        body = got.read().decode()
        assert f'filename="editguard-decisions.{fmt}"' in got.headers["content-disposition"]
        assert "no-store" in got.headers["cache-control"]
    assert ("item_id" in body.splitlines()[0]) if fmt == "csv" else ('"item_id": 1' in body)


def test_wrong_password_gets_no_session(client):
    assert sign_in(client, "alice", "not the password") is None


@pytest.mark.parametrize("api_name,args", [
    ("/library_list", ()),
    ("/library_deactivate", (1,)),
    ("/library_remove", (1,)),
    ("/library_export_csv", ()),
    ("/accounts_list", ()),
])
def test_library_and_account_endpoints_are_for_admins_only(client, api_name, args):
    with pytest.raises(Exception, match="sign in as a reviewer"):
        api(client).predict(*args, api_name=api_name)
    reviewer = sign_in(client, "alice", PW)
    with pytest.raises(Exception, match="Only an admin"):
        api(client, reviewer).predict(*args, api_name=api_name)


def test_an_admin_can_list_and_deactivate(client):
    admin = api(client, sign_in(client, "root", PW))
    table = admin.predict(api_name="/library_list")
    assert len(table["data"]) == 3 and table["data"][0][1].startswith("Eileen Collins")
    message, table = admin.predict(3, api_name="/library_deactivate")
    assert "no longer matches" in message and table["data"][2][5] == "—"
    message, _ = admin.predict(3, api_name="/library_activate")
    assert "matches again" in message


def test_a_role_change_applies_to_an_open_session(client):
    alice = api(client, sign_in(client, "alice", PW))
    admin = api(client, sign_in(client, "root", PW))
    with pytest.raises(Exception, match="Only an admin"):
        alice.predict(api_name="/library_list")
    message, _ = admin.predict("alice", "admin", api_name="/accounts_set_role")
    assert "alice" in message
    assert len(alice.predict(api_name="/library_list")["data"]) == 3  # same session, new role
    admin.predict("alice", "reviewer", api_name="/accounts_set_role")


def test_an_admin_adds_an_account_with_a_password_shown_once(client):
    admin = api(client, sign_in(client, "root", PW))
    message, table = admin.predict("carol", "reviewer", api_name="/accounts_add")
    password = message.split('id="eg-acct-password">', 1)[1].split("<", 1)[0]
    assert len(password) >= 10 and "carol" in [row[0] for row in table["data"]]
    assert sign_in(client, "carol", password)
    again, _ = admin.predict("carol", "reviewer", api_name="/accounts_add")
    assert "already exists" in again
    admin.predict("carol", "reviewer", api_name="/accounts_remove")


def test_the_library_export_downloads_and_leaves_no_copy_behind(client):
    """The admin's export arrives whole; the temporary file Gradio copied it from is removed soon after (the
    removal itself is timed in tests/test_library.py::test_export_files_do_not_linger)."""
    from pathlib import Path

    from ui.library_tab import EXPORT_DIR

    admin = api(client, sign_in(client, "root", PW))
    got = Path(admin.predict(api_name="/library_export_csv"))
    lines = got.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,") and len(lines) == 4  # the header and the three sample works
    assert got.name.startswith("editguard-library-") and (EXPORT_DIR / got.name).exists()  # ours, in its own folder
