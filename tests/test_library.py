"""The reference library as its users meet it: bulk import (folder, CSV), bad items, export, the CLI, re-hashing."""
import csv
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from db.engine import run_write
from db.models import Event, ReferenceHashes, ReferenceWork
from review.similarity import bulk_import, hashes, library, rehash
from review.pipeline.runtime import Runtime
from tests.conftest import photo


def _folder(tmp_path):
    d = tmp_path / "works"
    d.mkdir()
    photo("astronaut").save(d / "a_astronaut.png")
    (d / "b_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    photo("coffee").save(d / "c_coffee.jpg", quality=90)
    Image.new("RGB", (300, 200), (10, 200, 30)).save(d / "d_flat.png")
    frames = [photo("rocket", (160, 120)), photo("camera", (160, 120))]
    frames[0].save(d / "e_animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    photo("coffee").resize((300, 200)).save(d / "f_coffee_small.png")  # the same work again
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(d / "g_tiny.png")
    (d / "notes.txt").write_text("not an image; ignored")
    return d


def test_folder_import_reports_each_item_and_completes(make_runtime, tmp_path):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    seen = []
    items = library.read_manifest(_folder(tmp_path), {"owner": "Studio", "license": "All rights reserved"})
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="admin", index=rt.index,
                                     progress=lambda n, total, name: seen.append((n, total, name)))
    assert [n for n, _, _ in seen] == list(range(1, 8)) and seen[0][1] == 7
    assert [i for i, _ in summary.added] == ["a_astronaut.png", "c_coffee.jpg", "e_animated.gif", "g_tiny.png"]
    failed = dict(summary.failed)
    assert set(failed) == {"b_broken.jpg", "d_flat.png"}
    assert "damaged" in failed["b_broken.jpg"] and "flat colour" in failed["d_flat.png"]
    assert [i for i, _ in summary.duplicates] == ["f_coffee_small.png"]
    assert "c coffee" in dict(summary.duplicates)["f_coffee_small.png"]
    # the animated GIF was registered by its first frame: that frame is found, the second is not
    assert [m.title for m in rt.index.search(photo("rocket", (320, 240)))] == ["e animated"]
    refs = library.list_references(rt.session_factory)
    assert {r["owner"] for r in refs} == {"Studio"} and len(refs) == 4
    with rt.session_factory() as s:
        ev = s.scalars(select(Event).where(Event.kind == "library.imported")).one()
        assert ev.payload == {"added": 4, "duplicates": 1, "failed": 2} and ev.actor == "admin"


def test_csv_manifest_with_bad_rows(make_runtime, tmp_path):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    photo("astronaut").save(tmp_path / "one.png")
    photo("chelsea").save(tmp_path / "two.png")
    (tmp_path / "manifest.csv").write_text(
        "file,title,owner,license,source\n"
        "one.png,Astronaut,NASA,Public domain,https://example.org/a\n"
        "missing.png,Gone,X,Y,\n"
        ",No file,X,Y,\n"
        "../escape.png,Outside,X,Y,\n"
        "two.png,,Cat owner,,\n", encoding="utf-8")
    items = library.read_manifest(tmp_path / "manifest.csv", {"license": "CC BY 4.0"})
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="cli")
    assert [i for i, _ in summary.added] == ["row 2 (one.png)", "row 6 (two.png)"]
    failed = dict(summary.failed)
    assert "No image file" in failed["row 3 (missing.png)"] and "names no file" in failed["row 4 (no file)"]
    assert "inside the manifest's folder" in failed["row 5 (../escape.png)"]
    refs = {r["title"]: r for r in library.list_references(rt.session_factory)}
    assert refs["two"]["license"] == "CC BY 4.0" and refs["Astronaut"]["source"] == "https://example.org/a"


def test_manifest_without_file_column_is_a_clear_error(tmp_path):
    (tmp_path / "m.csv").write_text("name,title\nx.png,X\n")
    with pytest.raises(library.LibraryError, match="'file' column"):
        library.read_manifest(tmp_path / "m.csv", {})
    with pytest.raises(library.LibraryError, match="Nothing to import"):
        library.read_manifest(tmp_path / "nowhere", {})


def test_export_is_a_manifest_that_defuses_formulas(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    from db.engine import run_write

    run_write(rt.session_factory, lambda s: library.add_reference(
        s, rt.store, photo("coffee"), title="=HYPERLINK(\"http://evil\")", owner="O", license="L"))
    rows = list(csv.DictReader(io.StringIO(library.export_library(rt.session_factory, "csv"))))
    assert rows[0]["title"].startswith("'=") and rows[0]["active"] == "True"
    data = json.loads(library.export_library(rt.session_factory, "json"))
    assert data[0]["title"] == "=HYPERLINK(\"http://evil\")" and len(data[0]["sha256"]) == 64


def test_references_from_an_older_version_are_rehashed_at_start(make_runtime):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    from db.engine import run_write

    ref_id = run_write(rt.session_factory, lambda s: library.add_reference(
        s, rt.store, photo("coffee"), title="Coffee", owner="O", license="L").id)

    def age(s):  # as the first version left it: pHash only, no PDQ codes
        s.query(ReferenceHashes).filter(ReferenceHashes.kind.in_(["pdq", "orb"])).delete()
        s.get(ReferenceWork, ref_id).hash_version = 0

    run_write(rt.session_factory, age)
    again = Runtime.start(rt.settings, load_models=False)
    again.rehashing.join(60)  # beside serving, in the background
    with again.session_factory() as s:
        kinds = {h.kind: len(h.views) for h in s.scalars(select(ReferenceHashes))}
        assert s.get(ReferenceWork, ref_id).hash_version == hashes.HASH_VERSION
    assert kinds["pdq"] > 8 and kinds["phash"] == 9  # 8 turns and the centre window (version 5)
    assert kinds["orb"] == 1  # and the keypoint sketch (version 6)
    assert [m.hash_kind for m in again.index.search(photo("coffee").crop((60, 40, 560, 360)))] == ["pdq"]


def test_cli_import_check_export_and_lifecycle(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITGUARD_SEED_REFERENCES", "0")
    folder = _folder(tmp_path)
    proc = cli("library", "import", str(folder), "--owner", "Studio", "--license", "ARR", "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and (out["added"], out["duplicates"], out["failed"]) == (4, 1, 2)
    photo("astronaut").crop((50, 50, 480, 480)).save(tmp_path / "q.png")
    checked = json.loads(cli("library", "check", "--json", str(tmp_path / "q.png")).stdout)
    (m,) = checked[0]["matches"]
    assert m["title"] == "a astronaut" and m["hash_kind"] in ("pdq", "phash") and m["level"] in ("warn", "review")
    assert set(m) >= {"reference_id", "owner", "license", "distance", "score", "transform", "query_view"}
    assert cli("library", "deactivate", str(m["reference_id"])).returncode == 0
    assert json.loads(cli("library", "check", "--json", str(tmp_path / "q.png")).stdout)[0]["matches"] == []
    assert cli("library", "remove", str(m["reference_id"])).returncode == 0
    listed = json.loads(cli("library", "list", "--json").stdout)
    assert m["reference_id"] not in {r["id"] for r in listed} and len(listed) == 3
    exported = cli("library", "export").stdout
    assert exported.splitlines()[0] == "id,title,owner,license,source,active,sha256,image"
    bad = cli("library", "remove", "9999")
    assert bad.returncode == 1 and "There is no reference #9999" in bad.stderr
    text = cli("library", "import", str(folder))  # again: everything is a duplicate or still broken
    assert text.returncode == 1 and "0 added" in text.stdout and "[1/7]" in text.stderr


def test_browser_upload_with_a_manifest_names_files_by_their_names(tmp_path):
    from ui.library_tab import uploaded_items

    upload = tmp_path / "gradio-tmp-123"
    upload.mkdir()
    photo("coffee").save(upload / "cup.png")
    (upload / "works.csv").write_text("file,title,owner,license\nsome/dir/cup.png,Cup,Me,CC0\ngone.png,Gone,Me,CC0\n")
    items = uploaded_items([str(upload / "cup.png"), str(upload / "works.csv")], {"source": "upload"})
    assert [(i.name, i.title, i.path, i.source) for i in items[:1]] == [
        ("row 2 (some/dir/cup.png)", "Cup", upload / "cup.png", "upload")]
    assert items[1].path is None and "not uploaded" in items[1].error
    plain = uploaded_items([str(upload / "cup.png")], {"owner": "O", "license": "L", "source": ""})
    assert [(i.title, i.owner) for i in plain] == [("cup", "O")]


def test_an_oversized_picture_is_refused_by_name_and_the_rest_goes_in(make_runtime, tmp_path):
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    photo("coffee", (200, 150)).save(tmp_path / "small.png")
    photo("astronaut", (400, 400)).save(tmp_path / "big.png")
    items = library.read_manifest(tmp_path, {"owner": "O", "license": "L"})
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="t", max_pixels=50_000)
    assert [i for i, _ in summary.added] == ["small.png"]
    assert summary.failed[0][0] == "big.png" and "too large" in summary.failed[0][1]
    assert summary.codes["big.png"][0] == "image.too_many_pixels"


def test_the_library_pages_and_searches(make_runtime):
    from review.similarity.library import add_reference, page_references

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    ids = {}
    for name in ("astronaut", "coffee", "rocket"):
        ids[name] = run_write(rt.session_factory, lambda s, name=name: add_reference(
            s, rt.store, photo(name), title=f"{name} 100%", owner="Owner", license="CC BY").id)
    rows, total = page_references(rt.session_factory, "", 0, per_page=2)
    assert total == 3 and [r["id"] for r in rows] == [ids["astronaut"], ids["coffee"]]
    rows, total = page_references(rt.session_factory, "", 1, per_page=2)
    assert [r["id"] for r in rows] == [ids["rocket"]]
    assert [r["id"] for r in page_references(rt.session_factory, "COFF")[0]] == [ids["coffee"]]
    assert [r["id"] for r in page_references(rt.session_factory, f"#{ids['rocket']}")[0]] == [ids["rocket"]]
    assert page_references(rt.session_factory, "_")[1] == 0  # wildcards are searched as themselves
    assert page_references(rt.session_factory, "0%")[1] == 3


def test_export_files_do_not_linger(tmp_path, monkeypatch):
    from ui import library_tab

    monkeypatch.setattr(library_tab, "EXPORT_DIR", tmp_path / "exports")
    monkeypatch.setattr(library_tab, "EXPORT_LINGER_S", 0.3)
    stale = tmp_path / "exports" / "editguard-library-old.csv"
    path = Path(library_tab.export_file("csv", "id,title\n1,x\n"))
    assert path.read_text() == "id,title\n1,x\n" and path.parent == tmp_path / "exports"
    stale.write_text("left by a process that died")
    old = time.time() - 60
    os.utime(stale, (old, old))
    library_tab.export_file("json", "[]")  # the next export collects what an earlier process left
    assert not stale.exists()
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists()


def test_a_large_import_hashes_in_worker_processes_and_commits_in_batches(make_runtime, tmp_path, monkeypatch):
    """More works than one batch, hashed by worker processes: every work goes in once, in order, with its codes; a
    broken file and a repeated picture are reported by name; the batch size shows in the number of commits."""
    from bench.similarity_data import procedural

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    monkeypatch.setattr(bulk_import, "BATCH", 16)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        procedural(500 + i).resize((160, 120)).save(folder / f"w{i:02d}.png")
    (folder / "w40.png").write_bytes(b"\x89PNG broken")
    procedural(503).resize((160, 120)).save(folder / "w41.png")  # the same file as w03
    items = library.read_manifest(folder, {"owner": "o", "license": "l"})
    commits = []
    real = bulk_import._commit
    monkeypatch.setattr(bulk_import, "_commit", lambda *a: (commits.append(len(a[2])), real(*a)))
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="t", index=rt.index, workers=2)
    assert [name for name, _ in summary.added] == [f"w{i:02d}.png" for i in range(40)]
    assert [r for _, r in summary.added] == sorted(r for _, r in summary.added)
    assert [n for n, _ in summary.failed] == ["w40.png"] and summary.codes["w40.png"][0] == "image.not_image"
    assert [n for n, _ in summary.duplicates] == ["w41.png"] and "already registered" in summary.duplicates[0][1]
    assert commits[:2] == [16, 16] and sum(commits) == 40
    with rt.session_factory() as s:
        assert s.scalar(select(func.count(func.distinct(ReferenceHashes.reference_id)))) == 40  # every work's codes
    assert [m.title for m in rt.index.search(procedural(517).resize((320, 240)))] == ["w17"]


def test_an_older_library_is_rehashed_in_batches_and_two_processes_write_each_work_once(make_runtime, tmp_path):
    """Works with codes of an older version get the current codes: hashed by worker processes, in batches; two
    re-hashers running at once (replicas starting together) write each work once; a work whose file is gone keeps
    its old codes and is left for the next start."""
    from concurrent.futures import ThreadPoolExecutor

    from bench.similarity_data import procedural
    from db.models import LibraryChange, StoredImage

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        procedural(700 + i).resize((160, 120)).save(folder / f"w{i:02d}.png")
    items = library.read_manifest(folder, {"owner": "o", "license": "l"})
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="t", workers=2)
    ids = [r for _, r in summary.added]
    with rt.session_factory() as s:
        current = {(h.reference_id, h.kind): (list(h.views), h.codes) for h in s.scalars(select(ReferenceHashes))}
        gone = s.scalar(select(StoredImage.relpath).join(ReferenceWork, ReferenceWork.image_sha256 == StoredImage.sha256)
                        .where(ReferenceWork.id == ids[5]))

    def age(s):
        s.query(ReferenceHashes).filter(ReferenceHashes.kind == "pdq").delete()
        s.query(ReferenceWork).update({ReferenceWork.hash_version: hashes.HASH_VERSION - 1})
        return s.scalar(select(func.max(LibraryChange.seq))) or 0

    mark = run_write(rt.session_factory, age)
    (rt.store.root / gone).unlink()
    assert rehash.stale_references(rt.session_factory)
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: rehash.rehash_references(rt.session_factory, rt.store, workers=2,
                                                                     batch=16), range(2)))
    assert sum(done) == 39
    with rt.session_factory() as s:
        versions = dict(s.execute(select(ReferenceWork.id, ReferenceWork.hash_version)).all())
        changed = s.scalars(select(LibraryChange.reference_id).where(LibraryChange.seq > mark)).all()
        renewed = {(h.reference_id, h.kind): (list(h.views), h.codes) for h in s.scalars(select(ReferenceHashes))}
    assert versions.pop(ids[5]) == hashes.HASH_VERSION - 1 and set(versions.values()) == {hashes.HASH_VERSION}
    assert sorted(changed) == sorted(i for i in ids if i != ids[5])  # each work written once
    assert sum(kind == "pdq" for _, kind in current) > 30  # most of these works have PDQ codes
    assert (ids[5], "pdq") not in renewed and renewed == {k: v for k, v in current.items() if k != (ids[5], "pdq")}


def test_worker_processes_exit_when_their_parent_is_killed(tmp_path):
    """A kill -9 of the app mid-import (or mid re-hash) leaves nobody to shut the worker processes down: they notice
    their parent is gone and exit instead of waiting for work for ever."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from review.similarity import bulk_import\n"
        "if __name__ == '__main__':\n"
        "    with bulk_import.mapper(2, 100) as run:\n"
        "        list(run(time.sleep, [0.01] * 40))\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        children = [int(c) for c in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]
        workers = [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1][:4]
        except (FileNotFoundError, IndexError):
            return False

    deadline = time.monotonic() + 15
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(w) for w in workers)


def test_a_small_import_asks_the_index_instead_of_loading_the_library(make_runtime, tmp_path, monkeypatch):
    """A few files into a library: nothing is loaded per work (LookAlikes is never built); the same file, a
    look-alike of a registered work and a repeat within the import are still reported, the rest goes in."""
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    run_write(rt.session_factory, lambda s: library.add_reference(s, rt.store, photo("rocket"), title="Rocket",
                                                                  owner="o", license="l"))
    folder = tmp_path / "few"
    folder.mkdir()
    (folder / "a_same.png").write_bytes(rt.store.encode(photo("rocket")).data)  # the registered work's own file
    photo("rocket").resize((320, 213)).save(folder / "b_small.jpg", quality=85)  # looks the same
    photo("coffee").save(folder / "c_coffee.png")
    photo("coffee").resize((300, 200)).save(folder / "d_coffee_again.jpg", quality=85)  # repeats c within the import
    monkeypatch.setattr(bulk_import, "LookAlikes", lambda *a, **k: pytest.fail("loaded the whole library"))
    items = library.read_manifest(folder, {"owner": "o", "license": "l"})
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="t", index=rt.index)
    assert [n for n, _ in summary.added] == ["c_coffee.png"]
    reasons = dict(summary.duplicates)
    assert set(reasons) == {"a_same.png", "b_small.jpg", "d_coffee_again.jpg"}
    assert "already registered" in reasons["a_same.png"] and "looks the same" in reasons["b_small.jpg"]
    assert "“c coffee”" in reasons["d_coffee_again.jpg"]  # its title, from the file name


def test_a_work_registered_meanwhile_is_reported_and_its_batch_still_goes_in(make_runtime, tmp_path, monkeypatch):
    """Another import registers the same file between the duplicate check and the commit: that work's savepoint is
    undone and it is reported as a duplicate; the rest of its batch is registered."""
    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    for name in ("astronaut", "coffee", "rocket"):
        photo(name).save(tmp_path / f"{name}.png")
    items = library.read_manifest(tmp_path, {"owner": "o", "license": "l"})
    for checker in (bulk_import.LookAlikes, bulk_import.AskedLookAlikes):
        monkeypatch.setattr(checker, "find", lambda self, ready: None)  # the check saw nothing yet
    from db.image_store import encode_file
    from review.pipeline.image_input import load_image

    data = (tmp_path / "coffee.png").read_bytes()
    run_write(rt.session_factory, lambda s: library.add_reference(
        s, rt.store, None, title="first", owner="o", license="l",
        codes=library.reference_codes(load_image(data)), encoded=encode_file(data, load_image(data))))
    batches = []
    real = bulk_import._insert_batch
    monkeypatch.setattr(bulk_import, "_insert_batch", lambda *a: batches.append(len(a[1])) or real(*a))
    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="t", index=rt.index)
    assert batches == [3]  # the batch was tried in one go, then went in work by work
    assert [n for n, _ in summary.added] == ["astronaut.png", "rocket.png"]
    assert [n for n, _ in summary.duplicates] == ["coffee.png"] and "“first”" in summary.duplicates[0][1]


def test_the_start_up_check_for_stale_codes_is_an_index_lookup(make_runtime):
    """At a million works the check for codes of an older hash version runs at every start: it must not scan."""
    from sqlalchemy import inspect

    rt = make_runtime(EDITGUARD_SEED_REFERENCES="0")
    indexes = {i["name"]: i["column_names"] for i in inspect(rt.engine).get_indexes("reference_works")}
    assert indexes.get("ix_reference_works_hash_version") == ["hash_version"]
    assert indexes.get("ix_reference_works_active") == ["active"]  # `auto` counts the active works at start
    assert not rehash.stale_references(rt.session_factory)
    if rt.engine.dialect.name == "sqlite":  # PostgreSQL's planner scans a table this small whatever its indexes
        with rt.engine.connect() as c:
            plan = c.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM reference_works "
                                     f"WHERE hash_version < {hashes.HASH_VERSION} LIMIT 1").fetchall()
        assert any("ix_reference_works_hash_version" in str(row) for row in plan), plan
