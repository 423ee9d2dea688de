"""The review item view: the item in words, its input beside its result, a gallery of results and matched works."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import gradio as gr

from errors import UserError
from ui import render
from ui.console import failure_html, request_language, signed_in
from ui.pictures import reviewer_url, serve_urls
from ui.review_queue import QueueFilters, QueueList, queue_page
from ui.strings import label, t

if TYPE_CHECKING:  # the decision bar's module imports this one
    from ui.review_decisions import DecisionBar

CLOSED = (None, "", None, [])  # no item open: id, words, before/after, gallery


@dataclass
class ItemView:
    item_id: gr.State  # the item open in this browser, None when none is
    html: gr.HTML
    compare: gr.ImageSlider
    works: gr.Gallery

    @property
    def shown(self) -> list:
        """What open_item fills, in its order."""
        return [self.item_id, self.html, self.compare, self.works]


def build_item_view(i18n, item_id: gr.State) -> ItemView:
    html = gr.HTML(elem_id="eg-item")
    with gr.Row():
        compare = serve_urls(gr.ImageSlider(label=label(i18n, "reviewer_images"), type="pil", max_height=420,
                                            interactive=False, elem_id="eg-review-compare"))
        works = serve_urls(gr.Gallery(label=label(i18n, "matched_works"), columns=3, height=420, object_fit="contain",
                                      interactive=False, elem_id="eg-works"))
    return ItemView(item_id, html, compare, works)


def item_view(rt, lang: str, item: int, request=None):
    """The item in words, the input beside its first result, and a gallery of every result (with its own verdict),
    each reference image and each matched work, captioned in the page's language."""
    d = rt.queue.detail(item)
    images = {(im["role"], im["position"]): reviewer_url(rt, request, im["relpath"]) for im in d["images"]}
    before = images.get(("input", 0))
    after = images.get(("output", 0))
    compare_value = (before, after) if before is not None and after is not None else None
    gallery = _result_tiles(lang, d, images) + _matched_work_tiles(rt, lang, d, request)
    return render.item_html(lang, d, rt.store.root), compare_value, gallery


def _result_tiles(lang: str, d: dict, images: dict) -> list[tuple[str, str]]:
    """Every result (captioned with its own verdict), then every reference image."""
    verdict_of = {v["position"]: v for v in d["verdicts"] if v["target"] == "output"}
    tiles = []
    for (role, pos), im in sorted(images.items(), key=lambda kv: ({"output": 0, "reference": 1}.get(kv[0][0], 2),
                                                                   kv[0][1])):
        if role == "output":
            v = verdict_of.get(pos)
            verdict = f" · {t(lang, 'label_' + v['label'])}" if v else ""
            tiles.append((im, t(lang, "verdict_output", n=pos + 1) + verdict))
        elif role == "reference":
            tiles.append((im, t(lang, "similar_on_reference", n=pos + 1)))
    return tiles


def _matched_work_tiles(rt, lang: str, d: dict, request) -> list[tuple[str, str]]:
    """One tile per matched work, naming every place it matched. The stored work goes by its reviewer-only URL, the
    verified region drawn on it on the fly (a drawn copy would go through Gradio's cache, open to anyone holding its
    name)."""
    seen = {}
    for m in d["matches"]:
        seen.setdefault(m["reference_id"], (m, []))[1].append(t(lang, f"review_on_{m['target']}", n=m["position"] + 1))
    return [(reviewer_url(rt, request, m["reference_relpath"], [
                x["evidence"]["region"] for x in d["matches"] if x["reference_id"] == m["reference_id"]
                and x.get("evidence") and len(x["evidence"].get("region") or []) >= 3]),
             t(lang, "match_caption", title=m["title"], owner=m["owner"], license=m["license"],
               where=", ".join(dict.fromkeys(where)))) for m, where in seen.values()]


def open_item(rt, lang: str, item: int, request=None) -> tuple:
    return (item, *item_view(rt, lang, item, request))


def wire_item_opening(rt, token: gr.State, queue: QueueList, view: ItemView, bar: DecisionBar) -> None:
    """Next item (the queue picks and claims one) and Open item (claim it by number); either clears the decision
    bar."""
    cleared = bar.CLEARED

    def on_next(tok, request: gr.Request, profile: gr.OAuthProfile | None = None, **filter_values):
        who = signed_in(rt, request)
        lang = request_language(request)
        filters = QueueFilters(**filter_values)
        try:
            item = rt.queue.next(who)
        except Exception as exc:
            return (*CLOSED, failure_html(lang, exc), *queue_page(rt, lang, filters), *cleared)
        if item is None:
            return (*CLOSED, f'<div class="eg-card" id="eg-empty">{escape(t(lang, "queue_empty"))}</div>',
                    *queue_page(rt, lang, filters), *cleared)
        return (*open_item(rt, lang, item, request), "", *queue_page(rt, lang, filters), *cleared)

    def on_open(tok, wanted, request: gr.Request, profile: gr.OAuthProfile | None = None, **filter_values):
        who = signed_in(rt, request)
        lang = request_language(request)
        filters = QueueFilters(**filter_values)
        try:
            item = int(wanted)
            rt.queue.claim(who, item)
            return (*open_item(rt, lang, item, request), "", *queue_page(rt, lang, filters), *cleared)
        except Exception as exc:
            view_now = CLOSED
            if isinstance(exc, UserError) and exc.code == "queue.already_decided":  # read-only view of a decided item
                view_now = (None, *item_view(rt, lang, int(wanted), request))
            return (*view_now, failure_html(lang, exc), *queue_page(rt, lang, filters), *cleared)

    opened = [*view.shown, bar.message, *queue.shown, *bar.cleared]
    queue.next_item.click(on_next, [token], opened, inputs_kwargs=queue.filters, api_name="review_next")
    queue.open_item.click(on_open, [token, queue.open_id], opened, inputs_kwargs=queue.filters,
                          api_name="review_open")
