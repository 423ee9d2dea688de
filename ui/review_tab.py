"""The Review tab: the sign-in box, and the console (queue, item view, decision bar, stats, library, accounts).

Every console handler resolves the reviewer on the server first (ui/console.py's `signed_in`) from the request's
HttpOnly session cookie (set by ui/web.py's sign-in routes, never by a Gradio event); without a valid session it
raises, so a direct call to the Gradio API is refused just like the hidden buttons, and a disabled account stops at
its next click.
"""
from __future__ import annotations

from html import escape

import gradio as gr

from review.queue.accounts import Reviewer
from ui.accounts_tab import build_accounts_tab
from ui.console import oauth_enabled, request_language, session_token
from ui.library_tab import build_library_tab
from ui.review_decisions import build_decision_bar, wire_decisions, wire_undo_release_renew
from ui.review_item import build_item_view, wire_item_opening
from ui.review_queue import build_queue_list, choices, wire_queue_refresh
from ui.review_stats import build_stats_tab, export_html, wire_stats
from ui.strings import label, t


def signin_form_html(lang: str, outcome: str | None) -> str:
    """A plain form that posts to /auth/signin (ui/web.py): the password never becomes a Gradio event input."""
    message = {"failed": "err_auth.failed", "locked": "err_auth.locked", "not_listed": "err_auth.not_listed",
               "out": "signed_out"}.get(outcome or "")
    hf = (f'<a class="lg secondary eg-hf" id="eg-hf-signin" href="login/huggingface?_target_url=/auth/hf">'
          f'{escape(t(lang, "signin_hf"))}</a>' if oauth_enabled() else "")
    return (f'<form method="post" action="auth/signin" id="eg-signin-form" class="eg-form">'
            f'<label>{escape(t(lang, "user_name"))}<input name="name" id="eg-user" autocomplete="username" '
            f'maxlength="100" required></label>'
            f'<label>{escape(t(lang, "password"))}<input type="password" name="password" id="eg-password" '
            f'autocomplete="current-password" maxlength="1000" required></label>'
            f'<button type="submit" id="eg-signin-btn" class="lg primary">{escape(t(lang, "signin"))}</button>'
            f'{hf}</form>'
            + (f'<div class="eg-card" id="eg-signin-msg" data-outcome="{escape(outcome)}">{escape(t(lang, message))}'
               f'</div>' if message else ""))


def signed_in_html(lang: str, who: Reviewer) -> str:
    """Who is signed in, with the sign-out form (a plain post to /auth/signout)."""
    signout = (f'<form method="post" action="auth/signout" class="eg-form eg-signout">'
               f'<button type="submit" id="eg-signout" class="sm secondary">{escape(t(lang, "signout"))}</button>'
               f'</form>')
    who_text = t(lang, "signed_in_as", name=who.name, role=t(lang, "role_" + who.role))
    return f'<div class="eg-row"><div id="eg-signed-in">{escape(who_text)}</div>{signout}</div>'


def localised(lang: str) -> tuple:
    """The dropdowns' choices and the export links in the page's language."""
    c = choices(lang)
    return (gr.update(choices=c["status"]), gr.update(choices=c["reason_filter"]), gr.update(choices=c["label"]),
            gr.update(choices=c["category"]), gr.update(choices=c["decision_reason"]), export_html(lang))


def show_console(who: Reviewer | None, lang: str, outcome: str | None = None) -> tuple:
    """The sign-in box for nobody (with the last sign-in's outcome), else the console; Library and Accounts for
    admins only."""
    if who is None:
        return (gr.update(visible=True), gr.update(visible=False), "", gr.update(visible=False),
                gr.update(visible=False), signin_form_html(lang, outcome), *localised(lang))
    admin = who.role == "admin"
    return (gr.update(visible=False), gr.update(visible=True), signed_in_html(lang, who), gr.update(visible=admin),
            gr.update(visible=admin), "", *localised(lang))


def build_review_tab(rt, i18n):
    """Build the tab; returns the page load's handler for it and the components that handler fills."""
    token = gr.State(None)  # kept in the handlers' inputs for their signatures; the session is the HttpOnly cookie
    item_id = gr.State(None)

    with gr.Column(visible=True, elem_id="eg-signin") as signin_box:
        gr.Markdown(f"### {label(i18n, 'signin_title')}")
        gr.Markdown(label(i18n, "signin_note"))
        signin_form = gr.HTML(elem_id="eg-signin-box")
        if oauth_enabled():
            gr.LoginButton(visible=False)  # only so Gradio adds its Hugging Face routes; the link above uses them

    with gr.Column(visible=False, elem_id="eg-console") as console:
        who_html = gr.HTML(elem_id="eg-who")
        with gr.Tabs():
            with gr.Tab(label(i18n, "queue"), id="queue"):
                queue = build_queue_list(i18n)
                view = build_item_view(i18n, item_id)
                bar = build_decision_bar(i18n)
            stats = build_stats_tab(i18n)
            library_tab = build_library_tab(rt, i18n, token)
            accounts_tab = build_accounts_tab(rt, i18n)
    # made after every tab, so the components keep their ids (the API names unlabelled outputs by id)
    bar.last_decided = gr.State(None)

    wire_queue_refresh(rt, token, queue)
    wire_item_opening(rt, token, queue, view, bar)
    wire_decisions(rt, token, queue, view, bar)
    wire_undo_release_renew(rt, token, queue, view, bar)
    wire_stats(rt, token, stats)

    f = queue.filters
    shown = [signin_box, console, who_html, library_tab, accounts_tab, signin_form,  # in show_console's order
             f["status"], f["reason_f"], f["label_f"], f["category_f"], bar.reason, stats.export_links]

    def on_load(request: gr.Request):
        who = rt.auth.resolve(session_token(request))
        outcome = request.query_params.get("signin") if request else None
        return show_console(who, request_language(request), outcome if who is None else None)

    return on_load, shown
