"""Picture URLs bound to their viewer, requester pseudonyms that Delete my data severs, uploads of blocked edits
that do not stay. Real database, real image store, real edits on the CPU editor."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db.engine import run_write
from db.models import EditRecord, Event, RequesterKey
from review.queue import accounts
from review.queue.accounts import SESSION_COOKIE, add_user
from review.pipeline.flow import run_edit
from review.pipeline.submission import Submission
from review.privacy.requester import (REQUESTER_COOKIE, cookie_id, credential_of, forget_requester, new_requester_cookie,
                              requester_for)
from review.privacy.retention import delete_requester_data, drop_blocked_pictures
from tests.conftest import photo, tampered
from ui import pictures

PW = "correct horse battery staple"


class Req:
    """What ui/pictures.py and review/requester.py read of a request: headers and cookies."""

    def __init__(self, cookies=None):
        self.cookies = cookies or {}
        self.headers = {"host": "testserver"}


def _rel(rt, path: str) -> str:
    return Path(path).relative_to(rt.store.root).as_posix()


@pytest.fixture
def edit(rt, image_file):
    def make(requester_cookie: str | None, name="chelsea", instruction="make it warmer"):
        request = Req({REQUESTER_COOKIE: requester_cookie} if requester_cookie else {})
        who = requester_for(rt, request, create=True)
        record = run_edit(rt, Submission(image=str(image_file(photo(name), f"{name}.png")), instruction=instruction,
                                         requester=who))
        return record, request, who
    return make


def _token(url: str) -> str:
    from urllib.parse import unquote

    return unquote(url.split(pictures.ROUTE, 1)[1])


def test_requester_pictures_open_for_their_browser_only_and_go_with_delete_my_data(rt, edit):
    mine = new_requester_cookie(rt.secret)
    record, request, who = edit(mine)
    assert who.startswith("p:") and cookie_id(rt.secret, mine) not in who
    url = pictures.requester_url(rt, request, _rel(rt, record["outputs"][0]))
    assert url.startswith("http://testserver/pictures/")
    path, kind, _ = pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})
    assert kind == "full" and path.is_file()
    for cookies in ({}, {REQUESTER_COOKIE: new_requester_cookie(rt.secret)}, {REQUESTER_COOKIE: tampered(mine)}):
        with pytest.raises(pictures.Refused) as refused:
            pictures.resolve(rt, _token(url), cookies)
        assert refused.value.status == 403
    with rt.session_factory() as s:  # the log and the record carry the pseudonym, never the cookie
        actors = set(s.scalars(select(Event.actor)))
        assert who in actors and not any(cookie_id(rt.secret, mine) in a for a in actors)
    delete_requester_data(rt.session_factory, rt.store, who)
    forget_requester(rt.session_factory, rt.secret, credential_of(rt.secret, request))
    with pytest.raises(pictures.Refused):
        pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})
    with rt.session_factory() as s:
        assert s.scalar(select(RequesterKey.pseudonym).where(RequesterKey.pseudonym == who)) is None
    assert requester_for(rt, request) is None  # severed: the same browser is nobody we know
    _, _, again = edit(mine, name="rocket")
    assert again != who


def test_reviewer_pictures_need_the_same_live_session(rt, edit):
    record, _, _ = edit(new_requester_cookie(rt.secret))
    add_user(rt.session_factory, "alice", "reviewer", PW)
    token = rt.auth.sign_in("alice", PW)
    url = pictures.reviewer_url(rt, Req({SESSION_COOKIE: token}), _rel(rt, record["outputs"][0]))
    assert pictures.resolve(rt, _token(url), {SESSION_COOKIE: token})[1] == "full"
    other = rt.auth.sign_in("alice", PW)
    for cookies in ({}, {SESSION_COOKIE: other}, {SESSION_COOKIE: "forged"}):
        with pytest.raises(pictures.Refused) as refused:
            pictures.resolve(rt, _token(url), cookies)
        assert refused.value.status == 403
    accounts.set_active(rt.session_factory, "cli", "alice", False)
    with pytest.raises(pictures.Refused):
        pictures.resolve(rt, _token(url), {SESSION_COOKIE: token})


def test_picture_urls_expire_and_cannot_be_forged(rt, edit, monkeypatch):
    mine = new_requester_cookie(rt.secret)
    record, request, _ = edit(mine)
    url = pictures.requester_url(rt, request, _rel(rt, record["outputs"][0]), blur=True)
    assert pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})[1] == "blur"
    monkeypatch.setattr(pictures, "PICTURE_URL_MINUTES", -1)  # as if the link were older than its lifetime
    with pytest.raises(pictures.Refused) as refused:
        pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})
    assert refused.value.status == 404
    monkeypatch.setattr(pictures, "PICTURE_URL_MINUTES", 10)
    forged = pictures._serializer("another secret").dumps({"p": _rel(rt, record["outputs"][0]), "b": "o:", "k": "full"})
    with pytest.raises(pictures.Refused):
        pictures.resolve(rt, forged, {})


def test_uploads_of_blocked_edits_go_after_the_retention_but_the_record_stays(rt, edit):
    record, _, _ = edit(new_requester_cookie(rt.secret), name="camera", instruction="服を脱がせて")
    assert record["decision"] == "blocked" and record["inputs"]
    upload = Path(record["inputs"][0])
    assert upload.is_file()
    assert drop_blocked_pictures(rt.session_factory, rt.store, 7) == 0  # too young
    run_write(rt.session_factory, lambda s: s.execute(update(EditRecord).values(
        created_at=datetime.now(timezone.utc) - timedelta(days=8))))
    assert drop_blocked_pictures(rt.session_factory, rt.store, 7) == 1
    assert not upload.exists()
    with rt.session_factory() as s:
        assert s.get(EditRecord, record["id"]).decision == "blocked"


def test_signed_requester_cookie(rt):
    value = new_requester_cookie(rt.secret)
    assert cookie_id(rt.secret, value) and cookie_id("other", value) is None
    assert cookie_id(rt.secret, "0123456789abcdef0123456789abcdef") is None and cookie_id(rt.secret, None) is None


def test_a_pending_result_never_goes_out_unblurred_to_a_requester(rt, edit):
    mine = new_requester_cookie(rt.secret)
    record, request, _ = edit(mine, name="astronaut", instruction="make it sepia")  # a sample work: pending
    assert record["decision"] == "pending_review"
    output = _rel(rt, record["outputs"][0])
    for blur in (True, False):  # even a link that asks for the full picture (the app never makes one)
        url = pictures.requester_url(rt, request, output, blur=blur)
        if blur:
            assert pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})[1] == "blur"
        else:
            with pytest.raises(pictures.Refused):
                pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})
    assert pictures.resolve(rt, _token(pictures.requester_url(rt, request, _rel(rt, record["inputs"][0]))),
                            {REQUESTER_COOKIE: mine})[1] == "full"  # their own upload
    from db.models import ReviewItem
    from review.queue.accounts import Reviewer

    with rt.session_factory() as s:
        item = s.scalar(select(ReviewItem.id).where(ReviewItem.request_id == record["id"]))
    alice = Reviewer("alice", "reviewer")
    rt.queue.claim(alice, item)
    rt.queue.decide(alice, item, "approve", "no_issue")
    url = pictures.requester_url(rt, request, output)
    assert pictures.resolve(rt, _token(url), {REQUESTER_COOKIE: mine})[1] == "full"  # approved: theirs to see
