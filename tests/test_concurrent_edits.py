"""Many users at once through the API: every edit succeeds and is stored exactly once.

All 32 callers send the same picture, which is what used to break: Gradio named the cached "before" picture by its
content and rewrote it while another response was being served.
"""
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

from tests.conftest import photo, serve_app

USERS = 32


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load")
    gen = serve_app(tmp)
    url, env = next(gen)
    yield url, env, tmp
    next(gen, None)


def test_32_concurrent_api_edits_all_succeed_and_store_one_record_each(served):
    url, env, tmp = served
    src = tmp / "coffee.jpg"
    photo("coffee").save(src, quality=90)
    clients = [Client(url, verbose=False) for _ in range(USERS)]

    def one(client):
        record, pictures = client.predict(handle_file(str(src)), "白黒にして", api_name="/edit")
        return record, pictures

    with ThreadPoolExecutor(USERS) as pool:
        results = list(pool.map(one, clients))  # any client error raises here
    ids = [record["id"] for record, _ in results]
    assert len(set(ids)) == USERS
    assert all(record["decision"] == "released" and len(pictures) == 1 for record, pictures in results)
    with sqlite3.connect(f"{env['EDITGUARD_DATA_DIR']}/editguard.db") as db:
        stored = dict(db.execute(f"select id, count(*) from edit_requests where id in ({','.join('?' * USERS)}) "
                                 "group by id", ids).fetchall())
        total = db.execute("select count(*) from edit_requests").fetchone()[0]
    assert stored == {i: 1 for i in ids} and total == USERS
