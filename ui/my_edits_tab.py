"""The requester's "My edits": their own records from this browser, with what they may see of each.

The requester is read from the request (their signed cookie, review/requester.py) on every call; pictures go out as
URLs bound to them (ui/pictures.py), so after Delete my data not one of them opens any more.
"""
from __future__ import annotations

from html import escape

import gradio as gr

from review.requester import VISIBLE, credential_of, forget_requester, my_edits, requester_for
from review.retention import delete_requester_data
from ui.edit_tab import browser_key
from ui.pictures import LEDGER, requester_url, serve_urls
from ui.review_tab import oauth_enabled
from ui.strings import label, language, t


def build_my_edits_tab(rt, i18n, tab: gr.Tab) -> None:
    gr.Markdown(label(i18n, "my_edits_note"))
    if oauth_enabled():  # on a Space with hf_oauth: the Hub account, not the browser, owns the edits
        gr.Markdown(label(i18n, "my_edits_hub_note"))
        gr.LoginButton(elem_id="eg-mine-login")
    refresh = gr.Button(label(i18n, "refresh"), size="sm", elem_id="eg-mine-refresh")
    gallery = serve_urls(gr.Gallery(columns=5, height="auto", object_fit="contain", interactive=False, preview=False,
                                    show_label=False, elem_id="eg-mine-gallery"))
    listing = gr.HTML(elem_id="eg-mine-list")
    with gr.Accordion(label(i18n, "delete_my_data"), open=False, elem_id="eg-delete-box"):
        gr.Markdown(label(i18n, "delete_note"))
        confirm = gr.Checkbox(label=label(i18n, "delete_confirm"), value=False, elem_id="eg-delete-confirm")
        delete_btn = gr.Button(label(i18n, "delete_my_data"), variant="stop", size="sm", elem_id="eg-delete")
        deleted = gr.HTML(elem_id="eg-delete-msg")

    def on_refresh(request: gr.Request, profile: gr.OAuthProfile | None = None):
        lang = language(request.headers.get("accept-language") if request else None)
        requester = requester_for(rt, request, profile)
        records = my_edits(rt.session_factory, requester)
        if not records:
            return [], f'<div class="eg-card" id="eg-mine-empty">{escape(t(lang, "my_edits_empty"))}</div>'
        shown, rows = [], []
        for r in records:
            status_text = t(lang, f"mine_{r['status']}")
            for rel in r["outputs"][:1]:
                if r["status"] in VISIBLE:  # the stored file itself: a download keeps its provenance labels
                    shown.append((requester_url(rt, request, rel, pseudonym=requester), status_text))
                elif r["status"] == "pending":
                    shown.append((requester_url(rt, request, rel, blur=True, pseudonym=requester), status_text))
            why = ""
            if r["status"] in ("rejected", "approved") and r["review_reason"]:
                why = t(lang, "reason_" + r["review_reason"])
            elif r["status"] == "blocked":
                why = ", ".join(t(lang, "reason_" + x) for x in r["reasons"])
            rows.append(
                f'<div class="eg-row" data-record="{escape(r["id"])}" data-status="{escape(r["status"])}">'
                f'<span class="eg-pill eg-{_pill(r["status"])}">{escape(status_text)}</span>'
                f'<span>{escape(r["instruction"][:120])}</span>'
                f'<span class="eg-why">{escape(r["created_at"].strftime("%Y-%m-%d %H:%M"))} UTC'
                + (f" · {escape(why)}" if why else "") + "</span></div>")
        return shown, f'<div class="eg-card" id="eg-mine">{"".join(rows)}</div>'

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
        return (*on_refresh(request, profile), f'<div class="eg-card" id="eg-deleted">{escape(msg)}</div>', False)

    delete_btn.click(on_delete, [confirm], [gallery, listing, deleted, confirm], api_visibility="private")
    refresh.click(on_refresh, None, [gallery, listing], api_visibility="private")
    tab.select(on_refresh, None, [gallery, listing], api_visibility="private")


def _pill(status: str) -> str:
    return {"released": "released", "approved": "released", "pending": "pending_review"}.get(status, "blocked")
