"""The review queue's list: its filters, the buttons above it, one page of items as a table."""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import gradio as gr
import pandas as pd

from review.guard.labels import CATEGORIES
from review.queue.states import DECISION_REASONS
from ui.console import request_language, signed_in
from ui.strings import category, label, t

STATUS_CHOICES = ("open", "pending", "claimed", "escalated", "decided")
REASON_CHOICES = ("appeal", "instruction:controversial", "input:controversial", "output:controversial",
                  "instruction:guard_unavailable", "input:guard_unavailable", "output:guard_unavailable",
                  "similarity:input", "similarity:reference", "similarity:output")
LABEL_CHOICES = ("Controversial", "Unsafe")
PER_PAGE = 50  # review.queue.service's page size


def choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    """The dropdowns' choices in the browser's language (set when the page loads: gr.I18n cannot reach choices)."""
    return {
        "status": [(t(lang, "status_" + s), s) for s in STATUS_CHOICES],
        "reason_filter": [("—", "")] + [(t(lang, "reason_" + r), r) for r in REASON_CHOICES],
        "label": [("—", "")] + [(t(lang, "label_" + x), x) for x in LABEL_CHOICES],
        "category": [("—", "")] + [(category(lang, c), c) for c in CATEGORIES],
        "decision_reason": [(t(lang, "choose_reason"), "")] + [(t(lang, "reason_" + r), r) for r in DECISION_REASONS],
    }


@dataclass(frozen=True)
class QueueFilters:
    """The queue list's filters as one event sends them. The field names are the filters' parameter names in the
    Gradio API (`inputs_kwargs`), so API callers keep them."""

    status: str | None = "open"
    reason_f: str | None = ""
    label_f: str | None = ""
    category_f: str | None = ""
    age: float | None = 0
    page: float | None = 1

    @property
    def page_number(self) -> int:
        return int(self.page or 1)

    def items(self, rt) -> tuple[list[dict], int]:
        """This page of the queue and the number of items the filters let through."""
        return rt.queue.list(status=self.status or "open", reason=self.reason_f or None, label=self.label_f or None,
                             category=self.category_f or None, min_age_minutes=self.age or None,
                             page=self.page_number)


@dataclass
class QueueList:
    filters: dict[str, gr.components.Component]  # by QueueFilters field: an event's `inputs_kwargs`
    refresh: gr.Button
    next_item: gr.Button
    open_id: gr.Number
    open_item: gr.Button
    info: gr.HTML
    table: gr.Dataframe

    @property
    def shown(self) -> list:
        """What queue_page fills, in its order."""
        return [self.table, self.info]


def build_queue_list(i18n) -> QueueList:
    with gr.Row():
        en = choices("en")
        filters = {
            "status": gr.Dropdown(en["status"], value="open", label=label(i18n, "filter_status"),
                                  elem_id="eg-f-status"),
            "reason_f": gr.Dropdown(en["reason_filter"], value="", label=label(i18n, "filter_reason"),
                                    elem_id="eg-f-reason"),
            "label_f": gr.Dropdown(en["label"], value="", label=label(i18n, "filter_label")),
            "category_f": gr.Dropdown(en["category"], value="", label=label(i18n, "filter_category")),
            "age": gr.Number(value=0, minimum=0, label=label(i18n, "filter_age")),
            "page": gr.Number(value=1, minimum=1, precision=0, label=label(i18n, "page")),
        }
    with gr.Row():
        refresh = gr.Button(label(i18n, "refresh"), size="sm")
        next_item = gr.Button(label(i18n, "next_item"), variant="primary", size="sm", elem_id="eg-next")
        open_id = gr.Number(1, label=label(i18n, "open_item"), precision=0, minimum=1, scale=0, elem_id="eg-open-id")
        open_item = gr.Button(label(i18n, "open"), size="sm", scale=0, elem_id="eg-open")
    info = gr.HTML(elem_id="eg-queue-info")
    table = gr.Dataframe(interactive=False, wrap=True, max_height=320, elem_id="eg-queue")
    return QueueList(filters, refresh, next_item, open_id, open_item, info, table)


def queue_page(rt, lang: str, filters: QueueFilters) -> tuple[pd.DataFrame, str]:
    """One page of the queue as a table in the reader's language, and the line that says how much there is."""
    items, total = filters.items(rt)
    pages = max(1, math.ceil(total / PER_PAGE))
    columns = ("col_id", "col_status", "col_priority", "col_reasons", "col_age", "col_claimed")
    frame = pd.DataFrame([{
        t(lang, "col_id"): i["id"], t(lang, "col_status"): t(lang, "status_" + i["status"]),
        t(lang, "col_priority"): i["priority"],
        t(lang, "col_reasons"): "; ".join(t(lang, "reason_" + r) for r in i["reasons"]),
        t(lang, "col_age"): i["age_minutes"], t(lang, "col_claimed"): i["claimed_by"] or "",
    } for i in items], columns=[t(lang, k) for k in columns])
    info = t(lang, "queue_total", total=total, page=filters.page_number, pages=pages)
    return frame, f'<div class="eg-muted" data-total="{total}">{escape(info)}</div>'


def wire_queue_refresh(rt, token: gr.State, queue: QueueList) -> None:
    def on_refresh(tok, request: gr.Request, profile: gr.OAuthProfile | None = None, **filter_values):
        signed_in(rt, request)
        return queue_page(rt, request_language(request), QueueFilters(**filter_values))

    queue.refresh.click(on_refresh, [token], queue.shown, inputs_kwargs=queue.filters, api_name="review_list")
