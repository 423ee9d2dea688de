"""The requester's "My edits": their own records from this browser, with what they may see of each.

The requester is read from the request (their signed cookie, review/requester.py) on every call; pictures go out as
URLs bound to them (ui/pictures.py), so after Delete my data not one of them opens any more.
"""
from __future__ import annotations

from html import escape

import gradio as gr

from errors import UserError
from review.queue.states import MAX_APPEAL_CHARS, QueueError
from review.privacy.requester import VISIBLE, credential_of, forget_requester, my_edits, requester_for
from review.privacy.retention import delete_requester_data
from ui import render
from ui.console import oauth_enabled
from ui.edit_tab import browser_key
from ui.pictures import LEDGER, requester_url, serve_urls
from ui.strings import error_message, label, language, t


def build_my_edits_tab(rt, i18n, tab: gr.Tab) -> None:
    gr.Markdown(label(i18n, "my_edits_note"))
    if oauth_enabled():  # on a Space with hf_oauth: the Hub account, not the browser, owns the edits
        gr.Markdown(label(i18n, "my_edits_hub_note"))
        gr.LoginButton(elem_id="eg-mine-login")
    with gr.Row():
        refresh = gr.Button(label(i18n, "refresh"), size="sm", elem_id="eg-mine-refresh")
        newer = gr.Button(label(i18n, "mine_newer"), size="sm", elem_id="eg-mine-newer")
        older = gr.Button(label(i18n, "mine_older"), size="sm", elem_id="eg-mine-older")
    page_no = gr.State(0)
    gallery = serve_urls(gr.Gallery(columns=5, height="auto", object_fit="contain", interactive=False, preview=False,
                                    show_label=False, elem_id="eg-mine-gallery"))
    listing = gr.HTML(elem_id="eg-mine-list")
    with gr.Accordion(label(i18n, "appeal_title"), open=False, elem_id="eg-appeal-box"):
        gr.Markdown(label(i18n, "appeal_note"))
        with gr.Row():
            appeal_pick = gr.Dropdown([], label=label(i18n, "appeal_pick"), elem_id="eg-appeal-pick")
            appeal_text = gr.Textbox(label=label(i18n, "appeal_text"), max_length=MAX_APPEAL_CHARS, lines=2,
                                     elem_id="eg-appeal-text")
        appeal_btn = gr.Button(label(i18n, "appeal_send"), size="sm", elem_id="eg-appeal-send")
        appeal_msg = gr.HTML(elem_id="eg-appeal-msg")
    with gr.Accordion(label(i18n, "delete_my_data"), open=False, elem_id="eg-delete-box"):
        gr.Markdown(label(i18n, "delete_note"))
        confirm = gr.Checkbox(label=label(i18n, "delete_confirm"), value=False, elem_id="eg-delete-confirm")
        delete_btn = gr.Button(label(i18n, "delete_my_data"), variant="stop", size="sm", elem_id="eg-delete")
        deleted = gr.HTML(elem_id="eg-delete-msg")

    def on_delete(sure, request: gr.Request, profile: gr.OAuthProfile | None = None):
        lang = language(request.headers.get("accept-language") if request else None)
        if not sure:
            return gr.skip(), gr.skip(), f'<div class="eg-card">{escape(t(lang, "delete_tick_first"))}</div>', True
        LEDGER.forget(browser_key(rt, request))  # this browser's uploads still in Gradio's cache
        requester = requester_for(rt, request, profile)
        if requester is None:
            return [], "", f'<div class="eg-card">{escape(t(lang, "my_edits_empty"))}</div>', False
        report = delete_requester_data(rt.session_factory, rt.store, requester, keep_decided=rt.settings.keep_decided)
        # the log keeps the pseudonym; nothing ties this browser to it any more
        forget_requester(rt.session_factory, rt.secret, credential_of(rt.secret, request, profile))
        msg = t(lang, "delete_done", n=len(report.requests), images=report.images_removed, kept=report.kept_for_audit)
        return (*my_edits_page(rt, request, profile)[:2], f'<div class="eg-card" id="eg-deleted">{escape(msg)}</div>', False)

    def step(delta: int):
        def handler(page, request: gr.Request, profile: gr.OAuthProfile | None = None):
            return my_edits_page(rt, request, profile, max(0, int(page or 0) + delta))
        return handler

    def on_appeal(record_id, text, page, request: gr.Request, profile: gr.OAuthProfile | None = None):
        """The requester's one appeal; a plain sentence back whatever happens."""
        lang = language(request.headers.get("accept-language") if request else None)
        requester = requester_for(rt, request, profile)
        try:
            if not record_id or not requester:
                raise QueueError("Choose the rejected edit to appeal.", "queue.appeal_not_rejected")
            rt.queue.appeal(requester, record_id, text or "")
        except UserError as exc:
            return (*[gr.skip()] * 4, render.error_html(lang, error_message(lang, exc.code, exc.params),
                                                         "appeal_error_title"), gr.skip())
        return (*my_edits_page(rt, request, profile, page),
                f'<div class="eg-card" id="eg-appealed">{escape(t(lang, "appeal_done"))}</div>', "")

    mine = [gallery, listing, page_no, appeal_pick]
    appeal_btn.click(on_appeal, [appeal_pick, appeal_text, page_no], [*mine, appeal_msg, appeal_text],
                     api_visibility="private")
    delete_btn.click(on_delete, [confirm], [gallery, listing, deleted, confirm], api_visibility="private")
    refresh.click(step(0), page_no, mine, api_visibility="private")
    newer.click(step(-1), page_no, mine, api_visibility="private")
    older.click(step(1), page_no, mine, api_visibility="private")
    tab.select(step(0), page_no, mine, api_visibility="private")


MINE_PAGE = 20


def my_edits_page(rt, request, profile, page: int = 0) -> tuple:
    """One page of MINE_PAGE records, every variant of each: the gallery, the listing, the page shown (for Newer /
    Older) and the rejected edits still open to an appeal."""
    lang = language(request.headers.get("accept-language") if request else None)
    requester = requester_for(rt, request, profile)
    page = max(0, int(page or 0))
    records = my_edits(rt.session_factory, requester, limit=MINE_PAGE + 1, offset=page * MINE_PAGE)
    if not records and page:
        return my_edits_page(rt, request, profile, page - 1)
    if not records:
        return ([], f'<div class="eg-card" id="eg-mine-empty">{escape(t(lang, "my_edits_empty"))}</div>', 0,
                gr.update(choices=[], value=None))
    more, records = len(records) > MINE_PAGE, records[:MINE_PAGE]
    shown = [picture for r in records for picture in _pictures(rt, request, requester, lang, r)]
    where = t(lang, "mine_page", page=page + 1) + (" · " + t(lang, "mine_more") if more else "")
    appealable = [(f'{r["created_at"]:%Y-%m-%d %H:%M} · {r["instruction"][:60]}', r["id"]) for r in records
                  if r["status"] == "rejected" and not r["appealed"]]
    return (shown, f'<div class="eg-card" id="eg-mine" data-page="{page + 1}" data-more="{str(more).lower()}">'
            f'{"".join(_row_html(lang, r) for r in records)}<div class="eg-muted">{escape(where)}</div></div>', page,
            gr.update(choices=appealable, value=appealable[0][1] if appealable else None))


def _pictures(rt, request, requester, lang: str, r: dict) -> list[tuple[str, str]]:
    """What the requester may see of one record's variants, captioned: the stored file itself where visible (a
    download keeps its provenance labels), blurred while pending, nothing when blocked or rejected."""
    status_text = t(lang, f"mine_{r['status']}")
    shown = []
    for n, rel in enumerate(r["outputs"]):
        caption = status_text + (f" · {n + 1}/{len(r['outputs'])}" if len(r["outputs"]) > 1 else "")
        if r["status"] in VISIBLE:
            shown.append((requester_url(rt, request, rel, pseudonym=requester), caption))
        elif r["status"] == "pending":
            shown.append((requester_url(rt, request, rel, blur=True, pseudonym=requester), caption))
    return shown


def _row_html(lang: str, r: dict) -> str:
    """One record in the listing: its status, instruction, time and why it ended as it did."""
    status_text = t(lang, f"mine_{r['status']}")
    why = ""
    if r["status"] in ("rejected", "approved") and r["review_reason"]:
        why = t(lang, "reason_" + r["review_reason"])
    if r["appealed"]:
        why = (why + " · " if why else "") + t(lang, "appeal_sent")
    elif r["status"] == "blocked":
        why = ", ".join(t(lang, "reason_" + x) for x in r["reasons"])
    return (f'<div class="eg-row" data-record="{escape(r["id"])}" data-status="{escape(r["status"])}">'
            f'<span class="eg-pill eg-{_pill(r["status"])}">{escape(status_text)}</span>'
            f'<span>{escape(r["instruction"][:120])}</span>'
            f'<span class="eg-why">{escape(r["created_at"].strftime("%Y-%m-%d %H:%M"))} UTC'
            + (f" · {escape(why)}" if why else "") + "</span></div>")


def _pill(status: str) -> str:
    return {"released": "released", "approved": "released", "pending": "pending_review"}.get(status, "blocked")
