"""Many users at once through the API: every edit succeeds and is stored exactly once.

All 32 callers send the same picture, which is what used to break: Gradio named the cached "before" picture by its
content and rewrote it while another response was being served.
"""
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
    from sqlalchemy import bindparam, create_engine, text

    # the app's database: its own PostgreSQL database when the suite runs there, else the data directory's file
    url_db = env.get("DATABASE_URL") or f"sqlite:///{env['EDITGUARD_DATA_DIR']}/editguard.db"
    with create_engine(url_db.replace("postgresql://", "postgresql+psycopg://", 1)).connect() as db:
        stored = dict(db.execute(text("select id, count(*) from edit_requests where id in :ids group by id")
                                 .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all())
        total = db.execute(text("select count(*) from edit_requests")).scalar()
    assert stored == {i: 1 for i in ids} and total == USERS


def test_32_pages_running_the_same_picture_are_all_served_whole(served):
    """The page's own Run event (as the browser sends it), 32 at once on one picture; each page then fetches the
    pictures it shows (before/after slider, gallery) while the others are still running: each decodes whole."""
    import io

    import httpx
    from PIL import Image

    from bench.load import fn_index, queue_call

    url, env, tmp = served
    src = tmp / "chelsea.jpg"
    photo("chelsea").save(src, quality=90)
    base = url.rstrip("/")
    run = fn_index(base, "on_run")
    with httpx.Client(base_url=base, timeout=120) as http:
        uploaded = http.post("/gradio_api/upload", files={"files": ("chelsea.jpg", src.read_bytes(), "image/jpeg")})
        image = {"path": uploaded.json()[0], "orig_name": "chelsea.jpg", "meta": {"_type": "gradio.FileData"}}
        inputs = [image, None, "make it sepia", "", 0, True, 30, 4.0, 1, False, None, None]

        def page():  # run, then fetch what the page shows at once, while the other pages' edits still finish
            with httpx.Client(base_url=base, timeout=120) as own:
                compare, gallery, *_ = queue_call(own, run, inputs)["data"]
                assert compare and len(gallery) == 1
                sizes = []
                for u in (compare[0]["url"], compare[1]["url"], gallery[0]["image"]["url"]):
                    response = own.get(u)
                    response.raise_for_status()
                    with Image.open(io.BytesIO(response.content)) as im:
                        im.load()  # a truncated file fails here
                        sizes.append(im.size)
                return sizes

        with ThreadPoolExecutor(USERS) as pool:
            sizes = [size for page_sizes in pool.map(lambda _: page(), range(USERS)) for size in page_sizes]
    assert set(sizes) == {(451, 300)}


def test_edit_concurrency_follows_the_backend_and_the_cores(make_runtime, monkeypatch):
    import os

    from review.pipeline.settings import Settings

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    assert rt.edit_concurrency == len(os.sched_getaffinity(0))  # the CPU editor: one edit per core
    assert rt.pool._max_workers == 4 * rt.edit_concurrency
    monkeypatch.setattr(rt.editor, "name", "qwen-image-edit")
    assert rt.edit_concurrency == 1  # a model: one pipeline, one edit at a time
    assert make_runtime(EDITGUARD_EDIT_CONCURRENCY="3").edit_concurrency == 3
    with pytest.raises(ValueError, match="EDITGUARD_EDIT_CONCURRENCY must be a whole number"):
        Settings.from_env({"EDITGUARD_EDIT_CONCURRENCY": "many"})
