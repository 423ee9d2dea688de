"""The Library tab of the review console (admins): list, register, deactivate/activate/remove, bulk import, export.

Every handler resolves the caller on the server and refuses anyone who is not an admin, so the Gradio API cannot be
used to change the library without the role either.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import gradio as gr
import pandas as pd

from db.engine import run_write
from review.pipeline.image_input import load_image
from review.similarity import bulk_import, library
from ui.console import failure_html, request_language, signed_in_admin
from ui.strings import EN, error_message, label, t

log = logging.getLogger(__name__)
LIBRARY_ERROR = "library_error_title"
COLUMNS = ("id", "title", "owner", "license", "source", "active", "quality", "added")


def _message(lang: str, code: str, params: dict, fallback: str | None = None) -> str:
    """A library error in the reader's language (field names too); `fallback` where the code has no translation."""
    if fallback is not None and f"err_{code}" not in EN:
        return fallback
    if "field" in params:
        params = {**params, "field": t(lang, "library_" + params["field"])}
    return error_message(lang, code, params)


def _fail(lang: str, exc: Exception) -> str:
    return failure_html(lang, exc, LIBRARY_ERROR, words=_message)


def _ok(text: str) -> str:
    return f'<div class="eg-card eg-ok" id="eg-library-done">{escape(text)}</div>'


PER_PAGE = 50


def table(rt, lang: str, search: str = "", page: int = 0) -> pd.DataFrame:
    return page_of(rt, lang, search, page)[0]


def page_of(rt, lang: str, search: str = "", page: int = 0) -> tuple[pd.DataFrame, str, int]:
    """One page of the library (by number), the line that says where it is, and the page shown (clamped)."""
    rows, total = library.page_references(rt.session_factory, search, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page >= pages:  # the library shrank, or the search narrowed it
        page = pages - 1
        rows, total = library.page_references(rt.session_factory, search, page, PER_PAGE)
    frame = pd.DataFrame([[r["id"], r["title"], r["owner"], r["license"], r["source"], "✓" if r["active"] else "—",
                           r["pdq_quality"] if r["pdq_quality"] is not None else "", r["created_at"][:10]]
                          for r in rows], columns=[t(lang, "col_id" if c == "id" else f"col_{c}") for c in COLUMNS])
    info = t(lang, "library_page", page=page + 1, pages=pages, total=total)
    return frame, f'<div class="eg-muted" id="eg-library-page">{escape(info)}</div>', page


def uploaded_items(paths: list[str], defaults: dict[str, str]) -> list[library.ImportItem]:
    """Import items from files dropped in the browser: a CSV among them is the manifest, naming the others."""
    by_name = {Path(p).name: Path(p) for p in paths}
    manifests = [p for p in by_name.values() if p.suffix.lower() == ".csv"]
    if not manifests:
        return library.folder_items(sorted(by_name.values(), key=lambda p: p.name), defaults)
    return library.manifest_items(
        manifests[0], lambda file: by_name.get(Path(file).name) or "the file named in this row was not uploaded",
        defaults)


def summary_html(lang: str, summary: bulk_import.ImportSummary, total: int) -> str:
    head = t(lang, "library_summary", added=len(summary.added), duplicates=len(summary.duplicates),
             failed=len(summary.failed), total=total)
    rows = [f'<li data-status="added">{escape(i)} — {escape(t(lang, "library_status_added", id=r))}</li>'
            for i, r in summary.added]
    def reason_in_words(item: str, message: str) -> str:
        """Why the importer skipped an item, in the reader's language (its English message where untranslated)."""
        code, params = summary.codes.get(item, ("", {}))
        return _message(lang, code, params, fallback=message)

    rows += [f'<li data-status="duplicate">{escape(i)} — {escape(t(lang, "library_status_duplicate"))}: '
             f'{escape(reason_in_words(i, m))}</li>' for i, m in summary.duplicates]
    rows += [f'<li data-status="failed">{escape(i)} — {escape(t(lang, "library_status_failed"))}: '
             f'{escape(reason_in_words(i, m))}</li>' for i, m in summary.failed]
    return f'<div class="eg-card" id="eg-import-summary"><strong>{escape(head)}</strong><ul>{"".join(rows)}</ul></div>'


@dataclass
class LibraryList:
    """The search box, the page buttons and one page of works; `message` says what the last change did."""
    search: gr.Textbox
    refresh: gr.Button
    previous: gr.Button
    following: gr.Button
    page: gr.State  # the page shown, from 0
    works: gr.Dataframe
    where: gr.HTML
    message: gr.HTML


@dataclass
class RegisterForm:
    image: gr.Image
    title: gr.Textbox
    owner: gr.Textbox
    license: gr.Textbox
    source: gr.Textbox
    register: gr.Button


@dataclass
class ManageBar:
    ref_id: gr.Number
    deactivate: gr.Button
    activate: gr.Button
    remove: gr.Button


@dataclass
class ImportForm:
    files: gr.File
    owner: gr.Textbox
    license: gr.Textbox
    source: gr.Textbox
    start: gr.Button
    summary: gr.HTML


def build_library_tab(rt, i18n, token) -> gr.Tab:
    with gr.Tab(label(i18n, "tab_library"), id="library", elem_id="eg-tab-library", visible=False) as tab:
        gr.Markdown(label(i18n, "library_note"))
        works = build_library_list(i18n)
        form = build_register_form(i18n)
        manage = build_manage_bar(i18n)
        imports = build_import_form(i18n)
        with gr.Row():
            export_csv = gr.DownloadButton(label(i18n, "library_export_csv"), elem_id="eg-lib-export-csv")
            export_json = gr.DownloadButton(label(i18n, "library_export_json"), elem_id="eg-lib-export-json")
    wire_browsing(rt, token, tab, works)
    wire_register(rt, token, works, form)
    wire_changes(rt, token, works, manage)
    wire_import(rt, token, works, imports)
    wire_export(rt, token, export_csv, export_json)
    return tab


def build_library_list(i18n) -> LibraryList:
    with gr.Row():
        search = gr.Textbox(label=label(i18n, "library_search"), max_length=300, scale=3, elem_id="eg-library-search")
        refresh = gr.Button(label(i18n, "refresh"), size="sm", scale=0)
        previous = gr.Button(label(i18n, "library_previous"), size="sm", scale=0, elem_id="eg-library-prev")
        following = gr.Button(label(i18n, "library_next"), size="sm", scale=0, elem_id="eg-library-next")
    page = gr.State(0)
    works = gr.Dataframe(interactive=False, wrap=True, max_height=320, elem_id="eg-library")
    where = gr.HTML(elem_id="eg-library-where")
    message = gr.HTML(elem_id="eg-library-msg")
    return LibraryList(search, refresh, previous, following, page, works, where, message)


def build_register_form(i18n) -> RegisterForm:
    with gr.Accordion(label(i18n, "library_add"), open=True):
        with gr.Row():
            image = gr.Image(type="filepath", label=label(i18n, "library_image"), height=220, sources=["upload"],
                             elem_id="eg-library-image")
            with gr.Column():
                title = gr.Textbox(label=label(i18n, "library_title"), max_length=300, elem_id="eg-lib-title")
                owner = gr.Textbox(label=label(i18n, "library_owner"), max_length=300, elem_id="eg-lib-owner")
                license_ = gr.Textbox(label=label(i18n, "library_license"), max_length=200, elem_id="eg-lib-license")
                source = gr.Textbox(label=label(i18n, "library_source"), max_length=500, elem_id="eg-lib-source")
                register = gr.Button(label(i18n, "library_register"), variant="primary", elem_id="eg-lib-register")
    return RegisterForm(image, title, owner, license_, source, register)


def build_manage_bar(i18n) -> ManageBar:
    with gr.Accordion(label(i18n, "library_manage"), open=True):
        with gr.Row():
            ref_id = gr.Number(None, label=label(i18n, "library_id"), precision=0, minimum=1, scale=0,
                               elem_id="eg-lib-id")
            deactivate = gr.Button(label(i18n, "library_deactivate"), elem_id="eg-lib-deactivate")
            activate = gr.Button(label(i18n, "library_activate"), elem_id="eg-lib-activate")
            remove = gr.Button(label(i18n, "library_remove"), variant="stop", elem_id="eg-lib-remove")
    return ManageBar(ref_id, deactivate, activate, remove)


def build_import_form(i18n) -> ImportForm:
    with gr.Accordion(label(i18n, "library_import"), open=False):
        gr.Markdown(label(i18n, "library_import_note"))
        files = gr.File(file_count="multiple", label=label(i18n, "library_files"), elem_id="eg-lib-files",
                        file_types=sorted(library.IMAGE_SUFFIXES) + [".csv"])
        with gr.Row():
            owner = gr.Textbox(label=label(i18n, "library_owner"), max_length=300, elem_id="eg-imp-owner")
            license_ = gr.Textbox(label=label(i18n, "library_license"), max_length=200, elem_id="eg-imp-license")
            source = gr.Textbox(label=label(i18n, "library_source"), max_length=500)
        start = gr.Button(label(i18n, "library_import_btn"), variant="primary", elem_id="eg-lib-import")
        summary = gr.HTML(elem_id="eg-lib-summary")
    return ImportForm(files, owner, license_, source, start, summary)


def _admin(rt, request) -> tuple:
    """The signed-in admin (anyone else is refused) and the request's language."""
    return signed_in_admin(rt, request, "need_admin"), request_language(request)


def wire_browsing(rt, token, tab: gr.Tab, works: LibraryList) -> None:
    def browse(step: int | None):
        """Refresh or search (back to the first page: step None), or turn a page (step -1 / +1)."""
        def handler(tok, wanted, current, request: gr.Request, profile: gr.OAuthProfile | None = None):
            _, lang = _admin(rt, request)
            return page_of(rt, lang, wanted, 0 if step is None else max(0, (current or 0) + step))
        return handler

    def on_refresh(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
        _, lang = _admin(rt, request)
        return table(rt, lang)

    works.refresh.click(on_refresh, [token], works.works, api_name="library_list")
    shown = [works.works, works.where, works.page]
    for trigger, step in ((tab.select, None), (works.search.submit, None), (works.previous.click, -1),
                          (works.following.click, 1)):
        trigger(browse(step), [token, works.search, works.page], shown, api_visibility="private")


def wire_register(rt, token, works: LibraryList, form: RegisterForm) -> None:
    def on_register(tok, path, title_, owner_, license_v, source_, request: gr.Request,
                    profile: gr.OAuthProfile | None = None):
        who, lang = _admin(rt, request)
        try:
            if not path:
                raise library.LibraryError("no image", "library.no_image")
            picture = load_image(path, max_pixels=rt.settings.max_pixels)
            ref = run_write(rt.session_factory, lambda s: (lambda r: (r.id, r.title))(library.add_reference(
                s, rt.store, picture, title=title_, owner=owner_, license=license_v, source=source_, actor=who.name,
                index=rt.index)))
            return _ok(t(lang, "library_registered", id=ref[0], title=ref[1])), table(rt, lang), None
        except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence, never a trace
            return _fail(lang, exc), gr.skip(), gr.skip()

    form.register.click(on_register, [token, form.image, form.title, form.owner, form.license, form.source],
                        [works.message, works.works, form.image], api_name="library_add")


def wire_changes(rt, token, works: LibraryList, manage: ManageBar) -> None:
    def change(action: str):
        def handler(tok, wanted, request: gr.Request, profile: gr.OAuthProfile | None = None):
            who, lang = _admin(rt, request)
            try:
                if not wanted:
                    raise library.LibraryError("no id", "library.not_found", id="?")
                wanted = int(wanted)
                if action == "remove":
                    library.remove_reference(rt.session_factory, wanted, actor=who.name)
                else:
                    library.set_active(rt.session_factory, wanted, action == "activate", actor=who.name)
                return _ok(t(lang, f"library_done_{action}", id=wanted)), table(rt, lang)
            except Exception as exc:  # noqa: BLE001
                return _fail(lang, exc), gr.skip()
        return handler

    for button, action in ((manage.deactivate, "deactivate"), (manage.activate, "activate"),
                           (manage.remove, "remove")):
        button.click(change(action), [token, manage.ref_id], [works.message, works.works],
                     api_name=f"library_{action}")


def wire_import(rt, token, works: LibraryList, imports: ImportForm) -> None:
    def on_import(tok, paths, owner_, license_v, source_, request: gr.Request, profile: gr.OAuthProfile | None = None,
                  progress=gr.Progress()):
        who, lang = _admin(rt, request)
        try:
            if not paths:
                raise library.LibraryError("no files", "library.no_files")
            items = uploaded_items(list(paths), {"owner": owner_ or "", "license": license_v or "",
                                                 "source": source_ or ""})
            summary = bulk_import.import_library(
                rt.session_factory, rt.store, items, actor=who.name, index=rt.index,
                max_pixels=rt.settings.max_pixels,
                progress=lambda n, total, name: progress((n - 1, total), desc=name))
            return summary_html(lang, summary, len(items)), table(rt, lang), None
        except Exception as exc:  # noqa: BLE001
            return _fail(lang, exc), gr.skip(), gr.skip()

    imports.start.click(on_import, [token, imports.files, imports.owner, imports.license, imports.source],
                        [imports.summary, works.works, imports.files], api_name="library_import")


EXPORT_DIR = Path(tempfile.gettempdir()) / "editguard-exports"
EXPORT_LINGER_S = 30  # Gradio copies the returned file into its own (swept) cache at once; ours goes soon after


def export_file(fmt: str, text: str) -> str:
    """The export as a temporary file for Gradio to hand out, removed again `EXPORT_LINGER_S` later (and any left by
    a process that stopped before its timer, at the next export): no copy of the library lingers in the temp folder.
    """
    EXPORT_DIR.mkdir(mode=0o700, exist_ok=True)
    now = time.time()
    for old in EXPORT_DIR.glob("editguard-library-*"):
        if now - old.stat().st_mtime > EXPORT_LINGER_S * 4:
            old.unlink(missing_ok=True)
    fd, path = tempfile.mkstemp(prefix="editguard-library-", suffix=f".{fmt}", dir=EXPORT_DIR)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    timer = threading.Timer(EXPORT_LINGER_S, Path(path).unlink, kwargs={"missing_ok": True})
    timer.daemon = True
    timer.start()
    return path


def wire_export(rt, token, export_csv: gr.DownloadButton, export_json: gr.DownloadButton) -> None:
    def export(fmt: str):
        """One download button's handler: the whole library as a file of that format."""
        def handler(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
            who, _ = _admin(rt, request)
            path = export_file(fmt, library.export_library(rt.session_factory, fmt))
            log.info("%s exported the library as %s", who.name, fmt)
            return path
        return handler

    export_csv.click(export("csv"), [token], export_csv, api_name="library_export_csv")
    export_json.click(export("json"), [token], export_json, api_name="library_export_json")
