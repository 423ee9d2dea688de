"""The review decision bar: reason and note, Approve / Reject / Escalate / Release / Undo, keyboard shortcuts."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import ClassVar

import gradio as gr

from errors import UserError
from review.queue import lessons
from review.queue.states import UNDO_WINDOW
from ui import render
from ui.console import failure_html, request_language, session_token, signed_in
from ui.review_item import CLOSED, ItemView, item_view
from ui.review_queue import QueueFilters, QueueList, choices, queue_page
from ui.strings import error_message, label, t

SHORTCUTS_JS = """
<script>
document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" ||
      t.tagName === "SELECT" || t.isContentEditable))) return;
  const id = {a: "eg-approve", r: "eg-reject", e: "eg-escalate", n: "eg-next"}[e.key.toLowerCase()];
  const el = id && document.getElementById(id);
  if (el && el.offsetParent !== null && !el.disabled) { e.preventDefault(); el.click(); }
});
</script>
"""


@dataclass
class DecisionBar:
    reason: gr.Dropdown
    note: gr.Textbox
    approve: gr.Button
    reject: gr.Button
    escalate: gr.Button
    release: gr.Button
    undo: gr.Button
    message: gr.HTML  # what the last action did, in words
    renew_timer: gr.Timer  # keeps the open item's claim while the reviewer reads it
    register: gr.Checkbox  # with a copyright reject: register the upload as a reference work
    work_title: gr.Textbox
    work_owner: gr.Textbox
    not_a_copy: gr.Checkbox  # with an approval: the upload is not a copy of the works it matched
    last_decided: gr.State | None = None  # the item an Undo would take back (see build_review_tab)

    # for `cleared`: nothing typed, no Undo, nothing to teach
    CLEARED: ClassVar[tuple] = ("", "", gr.update(visible=False), None, False, "", "", False)

    @property
    def cleared(self) -> list:
        """What a fresh item clears: note, reason, the Undo button and its item, and what the decision would teach."""
        return [self.note, self.reason, self.undo, self.last_decided, *self.teach.values()]

    @property
    def teach(self) -> dict[str, gr.components.Component]:
        """What a decision can teach, by the decide handlers' parameter names (an event's `inputs_kwargs`, after the
        queue filters, so API callers that pass only reason, note and filters keep working)."""
        return {"register": self.register, "work_title": self.work_title, "work_owner": self.work_owner,
                "not_a_copy": self.not_a_copy}


def build_decision_bar(i18n) -> DecisionBar:
    with gr.Row():
        reason = gr.Dropdown(choices("en")["decision_reason"], value="", label=label(i18n, "decision_reason"),
                             elem_id="eg-reason")
        note = gr.Textbox(label=label(i18n, "note"), lines=2, max_length=200_000, elem_id="eg-note")
    with gr.Row(equal_height=True):
        register = gr.Checkbox(False, label=label(i18n, "teach_register"), elem_id="eg-teach-register", scale=2)
        work_title = gr.Textbox(label=label(i18n, "teach_title"), max_length=500, elem_id="eg-teach-title", scale=1)
        work_owner = gr.Textbox(label=label(i18n, "teach_owner"), max_length=500, elem_id="eg-teach-owner", scale=1)
    not_a_copy = gr.Checkbox(False, label=label(i18n, "teach_not_a_copy"), elem_id="eg-teach-not-a-copy")
    with gr.Row():
        approve = gr.Button(label(i18n, "approve"), variant="primary", elem_id="eg-approve")
        reject = gr.Button(label(i18n, "reject"), variant="stop", elem_id="eg-reject")
        escalate = gr.Button(label(i18n, "escalate"), elem_id="eg-escalate")
        release = gr.Button(label(i18n, "release"), elem_id="eg-release")
        undo = gr.Button(label(i18n, "undo"), visible=False, elem_id="eg-undo")
    message = gr.HTML(elem_id="eg-action")
    renew_timer = gr.Timer(60)
    return DecisionBar(reason, note, approve, reject, escalate, release, undo, message, renew_timer,
                       register, work_title, work_owner, not_a_copy)


def done_html(lang: str, status: str, repeated: bool, taught: str = "") -> tuple[str, bool]:
    """What a decision did, in words, and whether it is final (then Undo is offered for UNDO_WINDOW)."""
    msg = t(lang, "done_repeat") if repeated else t(lang, f"done_{status}")
    final = status in ("approved", "rejected") and not repeated
    if final:
        msg += " " + t(lang, "undo_hint", seconds=int(UNDO_WINDOW.total_seconds()))
    if taught:
        msg += " " + taught
    return f'<div class="eg-card" id="eg-done" data-status="{escape(status)}">{escape(msg)}</div>', final


def teach(rt, lang: str, who, item: int, register: bool, title: str, owner: str, not_a_copy: bool) -> str:
    """Carry out what the decision teaches; what it did, in words (a refusal here leaves the decision standing)."""
    said = []
    try:
        if register:
            ref_id = lessons.register_rejected_upload(rt.session_factory, rt.store, rt.index, who, item, title, owner)
            said.append(t(lang, "done_registered", id=ref_id))
        if not_a_copy:
            said.append(t(lang, "done_not_a_copy", n=lessons.remember_not_a_copy(rt.session_factory, who, item)))
    except UserError as exc:
        said.append(error_message(lang, exc.code, exc.params))
    return " ".join(said)


def wire_decisions(rt, token: gr.State, queue: QueueList, view: ItemView, bar: DecisionBar) -> None:
    """Approve, Reject and Escalate the open item (an API endpoint each), with what the decision teaches."""
    def decide(decision: str):
        def handler(tok, item, why, text, request: gr.Request, profile: gr.OAuthProfile | None = None,
                    register: bool = False, work_title: str | None = None, work_owner: str | None = None,
                    not_a_copy: bool = False,
                    **filter_values):
            who = signed_in(rt, request)
            lang = request_language(request)
            filters = QueueFilters(**filter_values)
            keep = (gr.update(), gr.update(), gr.update(visible=False), gr.update(), *[gr.update()] * 4)
            if item is None:
                return (item, gr.update(), render.error_html(lang, t(lang, "no_item_open"), "review_error_title"),
                        *queue_page(rt, lang, filters), *keep)
            try:
                lessons.refuse_unfitting(decision, why or "", bool(register), bool(not_a_copy))
                outcome = rt.queue.decide(who, int(item), decision, why or "", text or "")
            except Exception as exc:
                return (item, gr.update(), failure_html(lang, exc), *queue_page(rt, lang, filters), *keep)
            message, final = done_html(lang, outcome.status, outcome.repeated,
                                       teach(rt, lang, who, int(item), bool(register), work_title or "",
                                             work_owner or "", bool(not_a_copy)))
            html, _, _ = item_view(rt, lang, int(item), request)
            return (None, html, message, *queue_page(rt, lang, filters), *bar.CLEARED[:2], gr.update(visible=final),
                    int(item) if final else None, *bar.CLEARED[4:])
        return handler

    decided = [view.item_id, view.html, bar.message, *queue.shown, *bar.cleared]
    for button, decision in ((bar.approve, "approve"), (bar.reject, "reject"), (bar.escalate, "escalate")):
        button.click(decide(decision), [token, view.item_id, bar.reason, bar.note], decided,
                     inputs_kwargs={**queue.filters, **bar.teach}, api_name=f"review_{decision}")


def wire_undo_release_renew(rt, token: gr.State, queue: QueueList, view: ItemView, bar: DecisionBar) -> None:
    """Undo the last final decision, hand the open item back to the queue, and keep its claim alive."""
    def on_undo(tok, last, request: gr.Request, profile: gr.OAuthProfile | None = None, **filter_values):
        who = signed_in(rt, request)
        lang = request_language(request)
        filters = QueueFilters(**filter_values)
        if last is not None and rt.queue.undo(who, int(last)):
            return (int(last), *item_view(rt, lang, int(last), request),
                    f'<div class="eg-card" id="eg-undone">{escape(t(lang, "done_undone"))}</div>',
                    *queue_page(rt, lang, filters), gr.update(visible=False), None)
        return (gr.update(), gr.update(), gr.update(), gr.update(),
                render.error_html(lang, t(lang, "undo_too_late"), "review_error_title"),
                *queue_page(rt, lang, filters), gr.update(visible=False), None)

    def on_release(tok, item, request: gr.Request, profile: gr.OAuthProfile | None = None, **filter_values):
        who = signed_in(rt, request)
        lang = request_language(request)
        if item is not None:
            rt.queue.release(who, int(item))
        return (*CLOSED, f'<div class="eg-card">{escape(t(lang, "done_released"))}</div>',
                *queue_page(rt, lang, QueueFilters(**filter_values)))

    def on_renew(tok, item, request: gr.Request, profile: gr.OAuthProfile | None = None):
        who = rt.auth.resolve(session_token(request))
        if who is not None and item is not None:
            rt.queue.renew(who, int(item))

    reopened = [*view.shown, bar.message, *queue.shown]
    bar.undo.click(on_undo, [token, bar.last_decided], [*reopened, bar.undo, bar.last_decided],
                   inputs_kwargs=queue.filters, api_name="review_undo")
    bar.release.click(on_release, [token, view.item_id], reopened, inputs_kwargs=queue.filters,
                      api_visibility="private")
    bar.renew_timer.tick(on_renew, [token, view.item_id], None, api_visibility="private")
