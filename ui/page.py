"""The whole page: header, status line, tabs. Later tabs (Review, Library) plug in here."""
from __future__ import annotations

import gradio as gr

from ui import render
from ui.edit_tab import build_edit_tab, new_browser_token
from ui.my_edits_tab import build_my_edits_tab
from ui.review_tab import SHORTCUTS_JS, build_review_tab
from ui.strings import i18n_tables, label, language


def build_page(rt) -> tuple[gr.Blocks, gr.I18n]:
    i18n = gr.I18n(**i18n_tables())
    with gr.Blocks(title="EditGuard") as page:
        browser_token = gr.BrowserState(None, storage_key="editguard_requester", secret=rt.secret)
        gr.Markdown(f"# {label(i18n, 'title')}")
        gr.Markdown(label(i18n, "tagline"))
        status = gr.HTML(elem_id="eg-status-box")
        with gr.Tabs():
            with gr.Tab(label(i18n, "tab_edit"), id="edit"):
                build_edit_tab(rt, i18n, browser_token)
            with gr.Tab(label(i18n, "tab_my_edits"), id="mine", elem_id="eg-tab-mine") as mine_tab:
                build_my_edits_tab(rt, i18n, browser_token, mine_tab)
            with gr.Tab(label(i18n, "tab_review"), id="review", elem_id="eg-tab-review"):
                reviewer_token, review_on_load, review_outputs = build_review_tab(rt, i18n)

        def on_load(token, reviewer, request: gr.Request, profile: gr.OAuthProfile | None = None):
            lang = language(request.headers.get("accept-language") if request else None)
            card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else None
            return (new_browser_token(token), render.status_html(lang, rt.status(), card),
                    *review_on_load(reviewer, request, profile))

        page.load(on_load, [browser_token, reviewer_token], [browser_token, status, *review_outputs],
                  api_visibility="private")
    return page, i18n


def launch_kwargs(rt, i18n: gr.I18n) -> dict:
    return {"i18n": i18n, "css": render.CSS, "max_file_size": f"{rt.settings.max_upload_mb}mb",
            "theme": gr.themes.Soft(), "footer_links": ["api", "settings"], "head": SHORTCUTS_JS}
