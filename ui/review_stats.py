"""The console's Stats tab: counts, decisions per day, labels, categories, throughput, and the export links."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import gradio as gr
import pandas as pd

from ui import render
from ui.console import request_language, signed_in
from ui.strings import category, label, t


def export_html(lang: str) -> str:
    """Plain links to ui/web.py's export route: one click downloads the decisions as they are now (the route checks
    the session cookie like every console call)."""
    return "".join(f'<a class="lg secondary eg-export-link" id="eg-export-{fmt}" href="review/export.{fmt}" download>'
                   f'{escape(t(lang, "export_" + fmt))}</a>' for fmt in ("csv", "jsonl"))


@dataclass
class StatsTab:
    tab: gr.Tab
    refresh: gr.Button
    plots: list  # the median line, then the bar plots, in on_stats's order
    export_links: gr.HTML  # filled in the page's language when it loads


def build_stats_tab(i18n) -> StatsTab:
    with gr.Tab(label(i18n, "stats"), id="stats", elem_id="eg-tab-stats") as tab:
        refresh = gr.Button(label(i18n, "refresh"), size="sm")
        median = gr.HTML(elem_id="eg-median")
        with gr.Row():
            by_status = gr.BarPlot(y_lim=[0, None], x="status", y="count", label=label(i18n, "stats_counts"))
            per_day = gr.BarPlot(y_lim=[0, None], x="day", y="count", color="status",
                                 label=label(i18n, "stats_per_day"))
        with gr.Row():
            labels = gr.BarPlot(y_lim=[0, None], x="label", y="count", label=label(i18n, "stats_labels"))
            categories = gr.BarPlot(y_lim=[0, None], x="category", y="count", label=label(i18n, "stats_categories"))
        throughput = gr.BarPlot(y_lim=[0, None], x="day", y="decisions", color="reviewer",
                                label=label(i18n, "stats_throughput"))
        export_links = gr.HTML(elem_id="eg-export")
    return StatsTab(tab, refresh, [median, by_status, per_day, labels, categories, throughput], export_links)


def stats_values(rt, lang: str) -> tuple:
    """The queue's statistics as the Stats tab shows them, labelled in the reader's language."""
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


def wire_stats(rt, token: gr.State, stats: StatsTab) -> None:
    def on_stats(tok, request: gr.Request, profile: gr.OAuthProfile | None = None):
        signed_in(rt, request)
        return stats_values(rt, request_language(request))

    stats.refresh.click(on_stats, [token], stats.plots, api_name="review_stats")
    stats.tab.select(on_stats, [token], stats.plots, api_visibility="private")
