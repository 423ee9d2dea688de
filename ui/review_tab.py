"""The Review tab: sign-in, the queue with filters, the item view with decisions and shortcuts, stats and export.

Every handler resolves the reviewer on the server first (`_reviewer`) from the request's HttpOnly session cookie
(set by ui/web.py's sign-in routes, never by a Gradio event); without a valid session it raises, so a direct call to
the Gradio API is refused just like the hidden buttons, and a disabled account stops at its next click.
"""
from __future__ import annotations

import logging
import math
import os
from html import escape

import gradio as gr
import pandas as pd

from db.engine import StorageUnavailable
from errors import UserError
from review.queue.accounts import SESSION_COOKIE, Reviewer
from review.guard.labels import CATEGORIES
from review.queue.service import DECISION_REASONS, UNDO_WINDOW
from ui import render
from ui.accounts_tab import build_accounts_tab
from ui.library_tab import build_library_tab
from ui.pictures import reviewer_url, serve_urls
from ui.strings import category, error_message, label, language, t

log = logging.getLogger(__name__)
STATUS_CHOICES = ("open", "pending", "claimed", "escalated", "decided")
REASON_CHOICES = ("appeal", "instruction:controversial", "input:controversial", "output:controversial",
                  "instruction:guard_unavailable", "input:guard_unavailable", "output:guard_unavailable", "similarity:input", "similarity:reference", "similarity:output")

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


def _lang(request: gr.Request | None) -> str:
    return language(request.headers.get("accept-language") if request else None)


def session_token(request) -> str | None:
    return (getattr(request, "cookies", None) or {}).get(SESSION_COOKIE) if request else None


def _reviewer(rt, token, profile, request) -> Reviewer:
    """The signed-in reviewer, read afresh from the session cookie (`token` and `profile` are kept for the callers'
    signatures; neither is trusted)."""
    who = rt.auth.resolve(session_token(request))
    if who is None:
        raise gr.Error(t(_lang(request), "need_signin"))
    return who


def _fail(lang: str, exc: Exception) -> str:
    """A refused console action in words, headed for the console (not "The edit could not be done")."""
    title = "review_error_title"
    if isinstance(exc, UserError):
        return render.error_html(lang, error_message(lang, exc.code, exc.params), title)
    if isinstance(exc, StorageUnavailable):  # busy or gone: its own code says which
        return render.error_html(lang, error_message(lang, exc.code, {}), title)
    log.exception("review action failed")
    return render.error_html(lang, error_message(lang, "error", {}), title)


LABEL_CHOICES = ("Controversial", "Unsafe")


def choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    """The dropdowns' choices in the browser's language (set when the page loads: gr.I18n cannot reach choices)."""
    return {
        "status": [(t(lang, "status_" + s), s) for s in STATUS_CHOICES],
        "reason_filter": [("—", "")] + [(t(lang, "reason_" + r), r) for r in REASON_CHOICES],
        "label": [("—", "")] + [(t(lang, "label_" + x), x) for x in LABEL_CHOICES],
        "category": [("—", "")] + [(category(lang, c), c) for c in CATEGORIES],
        "decision_reason": [(t(lang, "choose_reason"), "")] + [(t(lang, "reason_" + r), r) for r in DECISION_REASONS],
    }


def export_html(lang: str) -> str:
    """Plain links to ui/web.py's export route: one click downloads the decisions as they are now (the route checks
    the session cookie like every console call)."""
    return "".join(f'<a class="lg secondary eg-export-link" id="eg-export-{fmt}" href="review/export.{fmt}" download>'
                   f'{escape(t(lang, "export_" + fmt))}</a>' for fmt in ("csv", "jsonl"))


def oauth_enabled() -> bool:
    return bool(os.environ.get("SPACE_ID") and os.environ.get("OAUTH_CLIENT_ID"))


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


def build_review_tab(rt, i18n) -> None:
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
                with gr.Row():
                    en = choices("en")
                    f_status = gr.Dropdown(en["status"], value="open", label=label(i18n, "filter_status"),
                                           elem_id="eg-f-status")
                    f_reason = gr.Dropdown(en["reason_filter"], value="", label=label(i18n, "filter_reason"),
                                           elem_id="eg-f-reason")
                    f_label = gr.Dropdown(en["label"], value="", label=label(i18n, "filter_label"))
                    f_category = gr.Dropdown(en["category"], value="", label=label(i18n, "filter_category"))
                    f_age = gr.Number(value=0, minimum=0, label=label(i18n, "filter_age"))
                    f_page = gr.Number(value=1, minimum=1, precision=0, label=label(i18n, "page"))
                with gr.Row():
                    refresh = gr.Button(label(i18n, "refresh"), size="sm")
                    next_btn = gr.Button(label(i18n, "next_item"), variant="primary", size="sm", elem_id="eg-next")
                    open_id = gr.Number(1, label=label(i18n, "open_item"), precision=0, minimum=1, scale=0,
                                        elem_id="eg-open-id")
                    open_btn = gr.Button(label(i18n, "open"), size="sm", scale=0, elem_id="eg-open")
                queue_info = gr.HTML(elem_id="eg-queue-info")
                table = gr.Dataframe(interactive=False, wrap=True, max_height=320, elem_id="eg-queue")
                item_html = gr.HTML(elem_id="eg-item")
                with gr.Row():
                    compare = serve_urls(gr.ImageSlider(label=label(i18n, "reviewer_images"), type="pil",
                                                        max_height=420, interactive=False, elem_id="eg-review-compare"))
                    works = serve_urls(gr.Gallery(label=label(i18n, "matched_works"), columns=3, height=420,
                                                  object_fit="contain", interactive=False, elem_id="eg-works"))
                with gr.Row():
                    reason = gr.Dropdown(en["decision_reason"], value="", label=label(i18n, "decision_reason"),
                                         elem_id="eg-reason")
                    note = gr.Textbox(label=label(i18n, "note"), lines=2, max_length=200_000, elem_id="eg-note")
                with gr.Row():
                    approve = gr.Button(label(i18n, "approve"), variant="primary", elem_id="eg-approve")
                    reject = gr.Button(label(i18n, "reject"), variant="stop", elem_id="eg-reject")
                    escalate = gr.Button(label(i18n, "escalate"), elem_id="eg-escalate")
                    release = gr.Button(label(i18n, "release"), elem_id="eg-release")
                    undo = gr.Button(label(i18n, "undo"), visible=False, elem_id="eg-undo")
                action_msg = gr.HTML(elem_id="eg-action")
                renew_timer = gr.Timer(60)
            with gr.Tab(label(i18n, "stats"), id="stats", elem_id="eg-tab-stats") as stats_tab:
                stats_refresh = gr.Button(label(i18n, "refresh"), size="sm")
                median_html = gr.HTML(elem_id="eg-median")
                with gr.Row():
                    plot_status = gr.BarPlot(y_lim=[0, None], x="status", y="count", label=label(i18n, "stats_counts"))
                    plot_day = gr.BarPlot(y_lim=[0, None], x="day", y="count", color="status", label=label(i18n, "stats_per_day"))
                with gr.Row():
                    plot_labels = gr.BarPlot(y_lim=[0, None], x="label", y="count", label=label(i18n, "stats_labels"))
                    plot_cats = gr.BarPlot(y_lim=[0, None], x="category", y="count", label=label(i18n, "stats_categories"))
                plot_throughput = gr.BarPlot(y_lim=[0, None], x="day", y="decisions", color="reviewer",
                                             label=label(i18n, "stats_throughput"))
                export_links = gr.HTML(elem_id="eg-export")
            library_tab = build_library_tab(rt, i18n, token)
            accounts_tab = build_accounts_tab(rt, i18n)

    filters = [f_status, f_reason, f_label, f_category, f_age, f_page]

    # ---- sign-in --------------------------------------------------------------------------------------------
    def localised(lang: str) -> tuple:
        c = choices(lang)
        return (gr.update(choices=c["status"]), gr.update(choices=c["reason_filter"]), gr.update(choices=c["label"]),
                gr.update(choices=c["category"]), gr.update(choices=c["decision_reason"]), export_html(lang))

    def show_console(who: Reviewer | None, lang: str, outcome: str | None = None):
        if who is None:
            return (gr.update(visible=True), gr.update(visible=False), "", gr.update(visible=False),
                    gr.update(visible=False), signin_form_html(lang, outcome), *localised(lang))
        signout = (f'<form method="post" action="auth/signout" class="eg-form eg-signout">'
                   f'<button type="submit" id="eg-signout" class="sm secondary">{escape(t(lang, "signout"))}</button>'
                   f'</form>')
        return (gr.update(visible=False), gr.update(visible=True),
                f'<div class="eg-row"><div id="eg-signed-in">{escape(t(lang, "signed_in_as", name=who.name, role=t(lang, "role_" + who.role)))}'
                f'</div>{signout}</div>',
                gr.update(visible=who.role == "admin"), gr.update(visible=who.role == "admin"), "", *localised(lang))

    def on_load(request: gr.Request):
        who = rt.auth.resolve(session_token(request))
        outcome = request.query_params.get("signin") if request else None
        return show_console(who, _lang(request), outcome if who is None else None)

    # ---- queue ----------------------------------------------------------------------------------------------
    def queue_page(lang, status, reason_f, label_f, category_f, age, page):
        items, total = rt.queue.list(status=status or "open", reason=reason_f or None, label=label_f or None,
                                     category=category_f or None, min_age_minutes=age or None, page=int(page or 1))
        pages = max(1, math.ceil(total / 50))
        frame = pd.DataFrame([{
            t(lang, "col_id"): i["id"], t(lang, "col_status"): t(lang, "status_" + i["status"]),
            t(lang, "col_priority"): i["priority"], t(lang, "col_reasons"): "; ".join(t(lang, "reason_" + r) for r in i["reasons"]),
            t(lang, "col_age"): i["age_minutes"], t(lang, "col_claimed"): i["claimed_by"] or "",
        } for i in items], columns=[t(lang, k) for k in ("col_id", "col_status", "col_priority", "col_reasons",
                                                          "col_age", "col_claimed")])
        info = t(lang, "queue_total", total=total, page=int(page or 1), pages=pages)
        return frame, f'<div class="eg-muted" data-total="{total}">{escape(info)}</div>'

    def on_refresh(tok, status, reason_f, label_f, category_f, age, page, request: gr.Request, profile: gr.OAuthProfile | None = None):
        _reviewer(rt, tok, profile, request)
        return queue_page(_lang(request), status, reason_f, label_f, category_f, age, page)

    def item_view(lang, who: Reviewer, item: int, request=None):
        """The item in words, the input beside its first result, and a gallery of every result (with its own
        verdict), each reference image and each matched work, captioned in the page's language."""
        d = rt.queue.detail(item)
        images = {(im["role"], im["position"]): reviewer_url(rt, request, im["relpath"]) for im in d["images"]}
        before = images.get(("input", 0))
        after = images.get(("output", 0))
        compare_value = (before, after) if before is not None and after is not None else None
        verdict_of = {v["position"]: v for v in d["verdicts"] if v["target"] == "output"}
        gallery = []
        for (role, pos), im in sorted(images.items(), key=lambda kv: ({"output": 0, "reference": 1}.get(kv[0][0], 2),
                                                                       kv[0][1])):
            if role == "output":
                v = verdict_of.get(pos)
                verdict = f" · {t(lang, 'label_' + v['label'])}" if v else ""
                gallery.append((im, t(lang, "verdict_output", n=pos + 1) + verdict))
            elif role == "reference":
                gallery.append((im, t(lang, "similar_on_reference", n=pos + 1)))
        seen = {}
        for m in d["matches"]:  # one tile per matched work, naming every place it matched
            seen.setdefault(m["reference_id"], (m, []))[1].append(
                t(lang, f"review_on_{m['target']}", n=m["position"] + 1))
        # the stored work by its reviewer-only URL, the verified region drawn on it on the fly (a drawn copy would go
        # through Gradio's cache, open to anyone holding its name)
        gallery += [(reviewer_url(rt, request, m["reference_relpath"], [
                        x["evidence"]["region"] for x in d["matches"] if x["reference_id"] == m["reference_id"]
                        and x.get("evidence") and len(x["evidence"].get("region") or []) >= 3]),
                     t(lang, "match_caption", title=m["title"], owner=m["owner"], license=m["license"],
                       where=", ".join(dict.fromkeys(where)))) for m, where in seen.values()]
        return render.item_html(lang, d, rt.store.root), compare_value, gallery

    def open_item(lang, who, item, request=None):
        html, compare_value, gallery = item_view(lang, who, item, request)
        return item, html, compare_value, gallery

    def on_next(tok, status, reason_f, label_f, category_f, age, page, request: gr.Request, profile: gr.OAuthProfile | None = None):
        who = _reviewer(rt, tok, profile, request)
        lang = _lang(request)
        try:
            item = rt.queue.next(who)
        except Exception as exc:
            return (None, "", None, [], _fail(lang, exc), *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                    *FRESH)
        if item is None:
            return (None, "", None, [], f'<div class="eg-card" id="eg-empty">{escape(t(lang, "queue_empty"))}</div>',
                    *queue_page(lang, status, reason_f, label_f, category_f, age, page), *FRESH)
        return (*open_item(lang, who, item, request), "", *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                *FRESH)

    def on_open(tok, wanted, status, reason_f, label_f, category_f, age, page, request: gr.Request, profile: gr.OAuthProfile | None = None):
        who = _reviewer(rt, tok, profile, request)
        lang = _lang(request)
        try:
            item = int(wanted)
            rt.queue.claim(who, item)
            return (*open_item(lang, who, item, request), "", *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                    *FRESH)
        except Exception as exc:
            view = (None, "", None, [])
            if isinstance(exc, UserError) and exc.code == "queue.already_decided":  # read-only view of a decided item
                view = (None, *item_view(lang, who, int(wanted), request))
            return (*view, _fail(lang, exc), *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                    *FRESH)

    def decide(decision: str):
        def handler(tok, item, why, text, status, reason_f, label_f, category_f, age, page, request: gr.Request,
                    profile: gr.OAuthProfile | None = None):
            who = _reviewer(rt, tok, profile, request)
            lang = _lang(request)
            keep = (gr.update(), gr.update(), gr.update(visible=False), gr.update())
            if item is None:
                return (item, gr.update(), render.error_html(lang, t(lang, "no_item_open"), "review_error_title"),
                        *queue_page(lang, status, reason_f, label_f, category_f, age, page), *keep)
            try:
                outcome = rt.queue.decide(who, int(item), decision, why or "", text or "")
            except Exception as exc:
                return (item, gr.update(), _fail(lang, exc), *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                        *keep)
            msg = t(lang, "done_repeat") if outcome.repeated else t(lang, f"done_{outcome.status}")
            final = outcome.status in ("approved", "rejected") and not outcome.repeated
            if final:
                msg += " " + t(lang, "undo_hint", seconds=int(UNDO_WINDOW.total_seconds()))
            html, _, _ = item_view(lang, who, int(item), request)
            return (None, html, f'<div class="eg-card" id="eg-done" data-status="{escape(outcome.status)}">'
                    f'{escape(msg)}</div>', *queue_page(lang, status, reason_f, label_f, category_f, age, page),
                    *FRESH[:2], gr.update(visible=final), int(item) if final else None)
        return handler

    def on_undo(tok, last, status, reason_f, label_f, category_f, age, page, request: gr.Request,
                profile: gr.OAuthProfile | None = None):
        who = _reviewer(rt, tok, profile, request)
        lang = _lang(request)
        if last is not None and rt.queue.undo(who, int(last)):
            return (int(last), *item_view(lang, who, int(last), request),
                    f'<div class="eg-card" id="eg-undone">{escape(t(lang, "done_undone"))}</div>',
                    *queue_page(lang, status, reason_f, label_f, category_f, age, page), gr.update(visible=False), None)
        return (gr.update(), gr.update(), gr.update(), gr.update(),
                render.error_html(lang, t(lang, "undo_too_late"), "review_error_title"),
                *queue_page(lang, status, reason_f, label_f, category_f, age, page), gr.update(visible=False), None)

    def on_release(tok, item, status, reason_f, label_f, category_f, age, page, request: gr.Request, profile: gr.OAuthProfile | None = None):
        who = _reviewer(rt, tok, profile, request)
        lang = _lang(request)
        if item is not None:
            rt.queue.release(who, int(item))
        return (None, "", None, [], f'<div class="eg-card">{escape(t(lang, "done_released"))}</div>',
                *queue_page(lang, status, reason_f, label_f, category_f, age, page))

    def on_renew(tok, item, request: gr.Request, profile: gr.OAuthProfile | None = None):
        who = rt.auth.resolve(session_token(request))
        if who is not None and item is not None:
            rt.queue.renew(who, int(item))

    # ---- stats and export -----------------------------------------------------------------------------------
    def on_stats(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
        _reviewer(rt, tok, profile, request)
        lang = _lang(request)
        st = rt.queue.stats()
        median = (t(lang, "stats_median", minutes=st["median_minutes_to_decision"], n=st["decisions"])
                  if st["decisions"] else t(lang, "stats_none"))
        status_df = pd.DataFrame([{"status": t(lang, "status_" + k), "count": v} for k, v in st["by_status"].items()],
                                 columns=["status", "count"])
        day_df = pd.DataFrame([{**r, "status": t(lang, "status_" + r["status"])} for r in st["per_day"]],
                              columns=["day", "status", "count"])
        cat_df = pd.DataFrame([{"category": category(lang, r["category"]), "count": r["count"]}
                               for r in st["categories"]], columns=["category", "count"])
        return (f'<div class="eg-card" id="eg-median-text">{escape(median)}</div>'
                + render.agreement_html(lang, rt.queue.appeal_agreement()), status_df, day_df,
                pd.DataFrame(st["labels"], columns=["label", "count"]), cat_df,
                pd.DataFrame(st["throughput"], columns=["reviewer", "day", "decisions"]))


    # ---- wiring ---------------------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    shown = [signin_box, console, who_html, library_tab, accounts_tab, signin_form, f_status, f_reason, f_label,
             f_category, reason, export_links]
    last_decided = gr.State(None)  # the item an Undo would take back
    FRESH = ("", "", gr.update(visible=False), None)  # note, reason, undo button, last decided
    fresh = [note, reason, undo, last_decided]
    refresh.click(on_refresh, [token, *filters], [table, queue_info], api_name="review_list")
    next_btn.click(on_next, [token, *filters], [item_id, item_html, compare, works, action_msg, table, queue_info,
                                                *fresh], api_name="review_next")
    open_btn.click(on_open, [token, open_id, *filters], [item_id, item_html, compare, works, action_msg, table,
                                                         queue_info, *fresh], api_name="review_open")
    for button, decision in ((approve, "approve"), (reject, "reject"), (escalate, "escalate")):
        button.click(decide(decision), [token, item_id, reason, note, *filters],
                     [item_id, item_html, action_msg, table, queue_info, *fresh], api_name=f"review_{decision}")
    undo.click(on_undo, [token, last_decided, *filters], [item_id, item_html, compare, works, action_msg, table,
                                                          queue_info, undo, last_decided], api_name="review_undo")
    release.click(on_release, [token, item_id, *filters], [item_id, item_html, compare, works, action_msg, table,
                                                           queue_info], **private)
    renew_timer.tick(on_renew, [token, item_id], None, **private)
    stats_outputs = [median_html, plot_status, plot_day, plot_labels, plot_cats, plot_throughput]
    stats_refresh.click(on_stats, [token], stats_outputs, api_name="review_stats")
    stats_tab.select(on_stats, [token], stats_outputs, **private)
    return on_load, shown
