"""The Library tab of the review console (admins): list, register, deactivate/activate/remove, bulk import, export.

Every handler resolves the caller on the server and refuses anyone who is not an admin, so the Gradio API cannot be
used to change the library without the role either.
"""
from __future__ import annotations

import logging
import os
import tempfile
from html import escape
from pathlib import Path

import gradio as gr
import pandas as pd

from db.engine import StorageUnavailable, run_write
from errors import UserError
from review.pipeline.image_input import load_image
from review.similarity import library
from ui import render
from ui.strings import EN, error_message, label, t

log = logging.getLogger(__name__)
LIBRARY_ERROR = "library_error_title"
COLUMNS = ("id", "title", "owner", "license", "source", "active", "quality", "added")


def _admin(rt, token, profile, request, lang: str):
    from ui.review_tab import _reviewer

    who = _reviewer(rt, token, profile, request)
    if who.role != "admin":
        raise gr.Error(t(lang, "need_admin"))
    return who


def _message(lang: str, code: str, params: dict, fallback: str | None = None) -> str:
    """A library error in the reader's language (field names too); `fallback` where the code has no translation."""
    if fallback is not None and f"err_{code}" not in EN:
        return fallback
    if "field" in params:
        params = {**params, "field": t(lang, "library_" + params["field"])}
    return error_message(lang, code, params)


def _fail(lang: str, exc: Exception) -> str:
    if isinstance(exc, (UserError, StorageUnavailable)):  # StorageUnavailable's own code says busy or gone
        return render.error_html(lang, _message(lang, exc.code, getattr(exc, "params", {})), LIBRARY_ERROR)
    log.exception("library action failed")
    return render.error_html(lang, error_message(lang, "error", {}), LIBRARY_ERROR)


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


def summary_html(lang: str, summary: library.ImportSummary, total: int) -> str:
    head = t(lang, "library_summary", added=len(summary.added), duplicates=len(summary.duplicates),
             failed=len(summary.failed), total=total)
    rows = [f'<li data-status="added">{escape(i)} — {escape(t(lang, "library_status_added", id=r))}</li>'
            for i, r in summary.added]
    def said(item: str, message: str) -> str:
        code, params = summary.codes.get(item, ("", {}))
        return _message(lang, code, params, fallback=message)

    rows += [f'<li data-status="duplicate">{escape(i)} — {escape(t(lang, "library_status_duplicate"))}: '
             f'{escape(said(i, m))}</li>' for i, m in summary.duplicates]
    rows += [f'<li data-status="failed">{escape(i)} — {escape(t(lang, "library_status_failed"))}: '
             f'{escape(said(i, m))}</li>' for i, m in summary.failed]
    return f'<div class="eg-card" id="eg-import-summary"><strong>{escape(head)}</strong><ul>{"".join(rows)}</ul></div>'


def build_library_tab(rt, i18n, token) -> gr.Tab:
    from ui.review_tab import _lang

    with gr.Tab(label(i18n, "tab_library"), id="library", elem_id="eg-tab-library", visible=False) as tab:
        gr.Markdown(label(i18n, "library_note"))
        with gr.Row():
            search = gr.Textbox(label=label(i18n, "library_search"), max_length=300, scale=3,
                                elem_id="eg-library-search")
            refresh = gr.Button(label(i18n, "refresh"), size="sm", scale=0)
            previous = gr.Button(label(i18n, "library_previous"), size="sm", scale=0, elem_id="eg-library-prev")
            following = gr.Button(label(i18n, "library_next"), size="sm", scale=0, elem_id="eg-library-next")
        page = gr.State(0)
        works = gr.Dataframe(interactive=False, wrap=True, max_height=320, elem_id="eg-library")
        where = gr.HTML(elem_id="eg-library-where")
        message = gr.HTML(elem_id="eg-library-msg")
        with gr.Accordion(label(i18n, "library_add"), open=True):
            with gr.Row():
                image = gr.Image(type="filepath", label=label(i18n, "library_image"), height=220, sources=["upload"],
                                 elem_id="eg-library-image")
                with gr.Column():
                    title = gr.Textbox(label=label(i18n, "library_title"), max_length=300, elem_id="eg-lib-title")
                    owner = gr.Textbox(label=label(i18n, "library_owner"), max_length=300, elem_id="eg-lib-owner")
                    license_ = gr.Textbox(label=label(i18n, "library_license"), max_length=200,
                                          elem_id="eg-lib-license")
                    source = gr.Textbox(label=label(i18n, "library_source"), max_length=500, elem_id="eg-lib-source")
                    register = gr.Button(label(i18n, "library_register"), variant="primary", elem_id="eg-lib-register")
        with gr.Accordion(label(i18n, "library_manage"), open=True):
            with gr.Row():
                ref_id = gr.Number(None, label=label(i18n, "library_id"), precision=0, minimum=1, scale=0,
                                   elem_id="eg-lib-id")
                deactivate = gr.Button(label(i18n, "library_deactivate"), elem_id="eg-lib-deactivate")
                activate = gr.Button(label(i18n, "library_activate"), elem_id="eg-lib-activate")
                remove = gr.Button(label(i18n, "library_remove"), variant="stop", elem_id="eg-lib-remove")
        with gr.Accordion(label(i18n, "library_import"), open=False):
            gr.Markdown(label(i18n, "library_import_note"))
            files = gr.File(file_count="multiple", label=label(i18n, "library_files"), elem_id="eg-lib-files",
                            file_types=sorted(library.IMAGE_SUFFIXES) + [".csv"])
            with gr.Row():
                imp_owner = gr.Textbox(label=label(i18n, "library_owner"), max_length=300, elem_id="eg-imp-owner")
                imp_license = gr.Textbox(label=label(i18n, "library_license"), max_length=200,
                                         elem_id="eg-imp-license")
                imp_source = gr.Textbox(label=label(i18n, "library_source"), max_length=500)
            import_btn = gr.Button(label(i18n, "library_import_btn"), variant="primary", elem_id="eg-lib-import")
            import_summary = gr.HTML(elem_id="eg-lib-summary")
        with gr.Row():
            export_csv = gr.DownloadButton(label(i18n, "library_export_csv"), elem_id="eg-lib-export-csv")
            export_json = gr.DownloadButton(label(i18n, "library_export_json"), elem_id="eg-lib-export-json")

    def browse(step: int | None):
        """Refresh or search (back to the first page: step None), or turn a page (step -1 / +1)."""
        def handler(tok, wanted, current, request: gr.Request, profile: gr.OAuthProfile | None = None):
            lang = _lang(request)
            _admin(rt, tok, profile, request, lang)
            return page_of(rt, lang, wanted, 0 if step is None else max(0, (current or 0) + step))
        return handler

    def on_refresh(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
        lang = _lang(request)
        _admin(rt, tok, profile, request, lang)
        return table(rt, lang)

    def on_register(tok, path, title_, owner_, license_v, source_, request: gr.Request,
                    profile: gr.OAuthProfile | None = None):
        lang = _lang(request)
        who = _admin(rt, tok, profile, request, lang)
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

    def change(action: str):
        def handler(tok, wanted, request: gr.Request, profile: gr.OAuthProfile | None = None):
            lang = _lang(request)
            who = _admin(rt, tok, profile, request, lang)
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

    def on_import(tok, paths, owner_, license_v, source_, request: gr.Request, profile: gr.OAuthProfile | None = None,
                  progress=gr.Progress()):
        lang = _lang(request)
        who = _admin(rt, tok, profile, request, lang)
        try:
            if not paths:
                raise library.LibraryError("no files", "library.no_files")
            items = uploaded_items(list(paths), {"owner": owner_ or "", "license": license_v or "",
                                                 "source": source_ or ""})
            summary = library.import_library(
                rt.session_factory, rt.store, items, actor=who.name, index=rt.index,
                max_pixels=rt.settings.max_pixels,
                progress=lambda n, total, name: progress((n - 1, total), desc=name))
            return summary_html(lang, summary, len(items)), table(rt, lang), None
        except Exception as exc:  # noqa: BLE001
            return _fail(lang, exc), gr.skip(), gr.skip()

    def export(fmt: str):
        def handler(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
            who = _admin(rt, tok, profile, request, _lang(request))
            fd, path = tempfile.mkstemp(prefix="editguard-library-", suffix=f".{fmt}")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(library.export_library(rt.session_factory, fmt))
            log.info("%s exported the library as %s", who.name, fmt)
            return path
        return handler

    refresh.click(on_refresh, [token], works, api_name="library_list")
    shown = [works, where, page]
    for trigger, step in ((tab.select, None), (search.submit, None), (previous.click, -1), (following.click, 1)):
        trigger(browse(step), [token, search, page], shown, api_visibility="private")
    register.click(on_register, [token, image, title, owner, license_, source], [message, works, image],
                   api_name="library_add")
    for button, action in ((deactivate, "deactivate"), (activate, "activate"), (remove, "remove")):
        button.click(change(action), [token, ref_id], [message, works], api_name=f"library_{action}")
    import_btn.click(on_import, [token, files, imp_owner, imp_license, imp_source], [import_summary, works, files],
                     api_name="library_import")
    export_csv.click(export("csv"), [token], export_csv, api_name="library_export_csv")
    export_json.click(export("json"), [token], export_json, api_name="library_export_json")
    return tab
