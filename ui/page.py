"""The whole page: header, status line, tabs. Later tabs (Review, Library) plug in here."""
from __future__ import annotations

import gradio as gr

from ui import render
from ui.edit_tab import build_edit_tab
from ui.my_edits_tab import build_my_edits_tab
from ui.review_decisions import SHORTCUTS_JS
from ui.review_tab import build_review_tab
from ui.strings import i18n_tables, label, language


# Gradio's cache (uploads, editor backgrounds, exports) is emptied every 10 minutes of files older than 30 minutes:
# long enough to finish an edit, short enough that nothing lingers (stored pictures never enter it: ui/pictures.py)
CACHE_SWEEP = (600, 1800)


def build_page(rt) -> tuple[gr.Blocks, gr.I18n]:
    i18n = gr.I18n(**i18n_tables())
    with gr.Blocks(title="EditGuard", delete_cache=CACHE_SWEEP) as page:
        gr.Markdown(f"# {label(i18n, 'title')}")
        gr.Markdown(label(i18n, "tagline"))
        status = gr.HTML(elem_id="eg-status-box")
        with gr.Tabs() as tabs:
            with gr.Tab(label(i18n, "tab_edit"), id="edit"):
                build_edit_tab(rt, i18n)
            with gr.Tab(label(i18n, "tab_my_edits"), id="mine", elem_id="eg-tab-mine") as mine_tab:
                build_my_edits_tab(rt, i18n, mine_tab)
            with gr.Tab(label(i18n, "tab_review"), id="review", elem_id="eg-tab-review"):
                review_on_load, review_outputs = build_review_tab(rt, i18n)

        def on_load(request: gr.Request):
            lang = language(request.headers.get("accept-language") if request else None)
            card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else None
            # after a sign-in form post the server sends the browser back here with ?tab=review
            tab = gr.Tabs(selected="review") if request and request.query_params.get("tab") == "review" else gr.skip()
            return (tab, render.status_html(lang, rt.status(), card), *review_on_load(request))

        page.load(on_load, None, [tabs, status, *review_outputs], api_visibility="private")
    return page, i18n


def launch_kwargs(rt, i18n: gr.I18n) -> dict:
    return {"i18n": i18n, "css": render.CSS, "max_file_size": f"{rt.settings.max_upload_mb}mb",
            "theme": gr.themes.Soft(), "footer_links": ["api", "settings"], "head": SHORTCUTS_JS}
