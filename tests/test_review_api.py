"""Role checks on the server, through the Gradio API itself (not the page): no session, no reviewer functions."""
import pytest
from gradio_client import Client

from tests.conftest import cli_run, photo, serve_app

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
    yield Client(url, verbose=False)
    next(gen, None)


@pytest.mark.parametrize("api_name,args", [
    ("/review_list", FILTERS),
    ("/review_next", FILTERS),
    ("/review_open", (1, *FILTERS)),
    ("/review_approve", ("no_issue", "", *FILTERS)),
    ("/review_stats", ()),
    ("/review_export_csv", ()),
])
@pytest.mark.parametrize("token", ["", "forged-token"])
def test_reviewer_endpoints_refuse_callers_without_a_session(client, api_name, args, token):
    with pytest.raises(Exception, match="sign in as a reviewer"):
        client.predict(token, *args, api_name=api_name)


def test_a_signed_in_reviewer_can_use_them(client):
    token = client.predict("alice", PW, api_name="/on_signin")[0]
    assert isinstance(token, str) and len(token) > 20
    table, info = client.predict(token, *FILTERS, api_name="/review_list")
    assert len(table["data"]) == 1 and 'data-total="1"' in info
    with pytest.raises(Exception, match="sign in"):
        client.predict(token[:-1] + "x", *FILTERS, api_name="/review_list")


def test_wrong_password_gets_no_token(client):
    token, message, *_ = client.predict("alice", "not the password", api_name="/on_signin")
    assert token is None and "wrong" in message


@pytest.mark.parametrize("api_name,args", [
    ("/library_list", ()),
    ("/library_deactivate", (1,)),
    ("/library_remove", (1,)),
    ("/library_export_csv", ()),
])
def test_library_endpoints_are_for_admins_only(client, api_name, args):
    with pytest.raises(Exception, match="sign in as a reviewer"):
        client.predict("", *args, api_name=api_name)
    reviewer = client.predict("alice", PW, api_name="/on_signin")[0]
    with pytest.raises(Exception, match="Only an admin"):
        client.predict(reviewer, *args, api_name=api_name)


def test_an_admin_can_list_and_deactivate(client):
    admin = client.predict("root", PW, api_name="/on_signin")[0]
    table = client.predict(admin, api_name="/library_list")
    assert len(table["data"]) == 3 and table["data"][0][1].startswith("Eileen Collins")
    message, table = client.predict(admin, 3, api_name="/library_deactivate")
    assert "no longer matches" in message and table["data"][2][5] == "—"
    message, _ = client.predict(admin, 3, api_name="/library_activate")
    assert "matches again" in message
