"""The Accounts tab of the review console (admins): list accounts; add, disable, enable, change role, reset, remove.

A Space has no shell, so this page does what `python -m review users ...` does; every change goes to the event log
(review/auth.py). A new password is made on the server and shown once: no password is ever an event's input.
"""
from __future__ import annotations

import logging
import secrets
from html import escape

import gradio as gr
import pandas as pd

from errors import UserError
from review.queue import accounts as auth
from ui import render
from ui.console import request_language, signed_in_admin
from ui.strings import error_message, label, t

log = logging.getLogger(__name__)


def _admin(rt, request):
    return signed_in_admin(rt, request, "need_admin_accounts")


def accounts_frame(rt, lang: str) -> pd.DataFrame:
    cols = [t(lang, k) for k in ("acct_col_name", "acct_col_role", "acct_col_active", "acct_col_via",
                                 "acct_col_sessions", "acct_col_created")]
    return pd.DataFrame([[u["name"], t(lang, "role_" + u["role"]), t(lang, "yes" if u["active"] else "no"), t(lang, "via_" + u["via"]),
                          u["open_sessions"], u["created_at"].strftime("%Y-%m-%d %H:%M")]
                         for u in auth.list_users(rt.session_factory)], columns=cols)


def build_accounts_tab(rt, i18n) -> gr.Tab:
    with gr.Tab(label(i18n, "accounts"), id="accounts", visible=False, elem_id="eg-tab-accounts") as tab:
        gr.Markdown(label(i18n, "accounts_note"))
        refresh = gr.Button(label(i18n, "refresh"), size="sm", elem_id="eg-acct-refresh")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="eg-accounts")
        with gr.Row():
            name = gr.Textbox(label=label(i18n, "user_name"), max_length=100, elem_id="eg-acct-name")
            role = gr.Dropdown([(label(i18n, "role_reviewer"), "reviewer"), (label(i18n, "role_admin"), "admin")],
                               value="reviewer", label=label(i18n, "acct_role"), elem_id="eg-acct-role")
        with gr.Row():
            add = gr.Button(label(i18n, "acct_add"), variant="primary", size="sm", elem_id="eg-acct-add")
            disable = gr.Button(label(i18n, "acct_disable"), variant="stop", size="sm", elem_id="eg-acct-disable")
            enable = gr.Button(label(i18n, "acct_enable"), size="sm", elem_id="eg-acct-enable")
            set_role = gr.Button(label(i18n, "acct_set_role"), size="sm", elem_id="eg-acct-set-role")
            reset = gr.Button(label(i18n, "acct_reset"), size="sm", elem_id="eg-acct-reset")
            remove = gr.Button(label(i18n, "acct_remove"), variant="stop", size="sm", elem_id="eg-acct-remove")
        message = gr.HTML(elem_id="eg-acct-msg")

    def on_refresh(request: gr.Request):
        _admin(rt, request)
        return accounts_frame(rt, request_language(request))

    def action(kind: str):
        def handler(who_name, new_role, request: gr.Request):
            admin = _admin(rt, request)
            lang = request_language(request)
            who_name = (who_name or "").strip()
            try:
                if kind == "disable":
                    auth.set_active(rt.session_factory, admin.name, who_name, False)
                elif kind == "enable":
                    auth.set_active(rt.session_factory, admin.name, who_name, True)
                elif kind == "set_role":
                    auth.set_role(rt.session_factory, admin.name, who_name, new_role)
                elif kind == "remove":
                    auth.remove_user(rt.session_factory, admin.name, who_name)
                else:
                    if kind == "add":
                        password = secrets.token_urlsafe(12)
                        auth.add_user(rt.session_factory, who_name, new_role, password, actor=admin.name)
                    else:
                        password = auth.reset_password(rt.session_factory, admin.name, who_name)
                    return (f'<div class="eg-card" id="eg-acct-done" data-action="{kind}">'
                            f'{escape(t(lang, "acct_new_password", name=who_name))} '
                            f'<code id="eg-acct-password">{escape(password)}</code></div>',
                            accounts_frame(rt, lang))
            except UserError as exc:
                return render.error_html(lang, error_message(lang, exc.code, exc.params)), accounts_frame(rt, lang)
            return (f'<div class="eg-card" id="eg-acct-done" data-action="{kind}">'
                    f'{escape(t(lang, "acct_done_" + kind, name=who_name, role=t(lang, "role_" + new_role)))}</div>',
                    accounts_frame(rt, lang))
        return handler

    refresh.click(on_refresh, None, table, api_name="accounts_list")
    tab.select(on_refresh, None, table, api_visibility="private")
    for button, kind in ((add, "add"), (disable, "disable"), (enable, "enable"), (set_role, "set_role"), (reset, "reset"),
                         (remove, "remove")):
        button.click(action(kind), [name, role], [message, table], api_name=f"accounts_{kind}")
    return tab
