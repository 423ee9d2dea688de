"""The Edit tab's results: their components, and what an edit shows its requester on the page and through the API."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ui import render
from ui.pictures import api_blurred, api_copy, requester_url, serve_urls
from ui.strings import label


@dataclass
class EditResults:
    """What comes back: the decision, the pictures the requester may see, provenance, verdicts, matches."""
    decision: gr.HTML
    compare: gr.ImageSlider
    outputs: gr.Gallery
    provenance: gr.HTML
    download: gr.DownloadButton
    verdicts: gr.HTML
    matches: gr.HTML
    api_result: gr.JSON  # the /edit endpoint's answer (API callers only)
    api_pictures: gr.Gallery  # ... and what it may see

    def shown(self, seed: gr.Number) -> list:
        """What a run fills, in show_record's order (the seed the run used goes back into the form's field)."""
        return [self.compare, self.outputs, self.decision, self.verdicts, self.matches, seed, self.provenance,
                self.download]


def build_edit_results(i18n: gr.I18n) -> EditResults:
    decision = gr.HTML(elem_id="eg-decision-box")
    compare = serve_urls(gr.ImageSlider(label=label(i18n, "compare"), type="pil", max_height=420,
                                        interactive=False, elem_id="eg-compare"))
    outputs = serve_urls(gr.Gallery(label=label(i18n, "outputs"), columns=4, height="auto", object_fit="contain",
                                    preview=False, elem_id="eg-outputs", interactive=False))
    provenance = gr.HTML(elem_id="eg-provenance-box")
    download = serve_urls(gr.DownloadButton(label(i18n, "download_labelled"), visible=False, elem_id="eg-download"))
    verdicts = gr.HTML(elem_id="eg-verdicts-box")
    matches = gr.HTML(elem_id="eg-matches-box")
    api_result = gr.JSON(visible=False, label="result")
    api_pictures = gr.Gallery(visible=False, label="pictures", format="png")
    return EditResults(decision, compare, outputs, provenance, download, verdicts, matches, api_result, api_pictures)


def picture_urls(rt, record: dict, request=None, requester: str | None = None):
    """(before, shown, download) as URLs for this requester only (ui/pictures.py), never as cache copies: released,
    the labelled files themselves (a download keeps their metadata, Content Credentials and watermark); pending
    review, blurred on the server; blocked, nothing."""
    def url(path, **kw):
        rel = Path(path).relative_to(rt.store.root).as_posix()
        return requester_url(rt, request, rel, pseudonym=requester, **kw)

    before, download = url(record["inputs"][0]), None
    if record["decision"] == "released":
        shown = [url(p) for p in record["outputs"]]
        if shown:
            download = url(record["outputs"][0], download=f"editguard-{record['id']}.png")
    elif record["decision"] == "pending_review":
        shown = [url(p, blur=True) for p in record["outputs"]]
    else:
        shown = []
    return before, shown, download


def api_pictures_for(rt, record: dict) -> list:
    """What an API caller may see, as files gradio_client can fetch: released, the labelled files byte for byte;
    pending review, blurred on the server; blocked, nothing."""
    if record["decision"] == "released":
        return [api_copy(p, f"editguard-{record['id']}-{i + 1}.png") for i, p in enumerate(record["outputs"])]
    if record["decision"] == "pending_review":
        return [api_blurred(p, f"editguard-{record['id']}-{i + 1}-blurred.png") for i, p in enumerate(record["outputs"])]
    return []


API_FIELDS = ("id", "created_at", "decision", "reasons", "warnings", "review_status", "params", "backend", "model",
              "model_license", "policy_mode", "applied", "edit_ms", "verdicts")


def api_record(record: dict) -> dict:
    """The record as an API caller gets it: no server paths, matched works without their pictures."""
    out = {k: record[k] for k in API_FIELDS}
    out["matches"] = [{k: v for k, v in m.items() if k != "reference_image"} for m in record["matches"]]
    return out


def show_record(rt, lang: str, record: dict, request=None, requester: str | None = None) -> tuple:
    """A finished edit as the page shows it to its requester, in EditResults.shown's order."""
    before, shown, download_url = picture_urls(rt, record, request, requester)
    compare = (before, shown[0]) if shown else None
    download = gr.update(visible=bool(download_url), value=download_url)
    card = rt.editor.model_card() if hasattr(rt.editor, "model_card") else {}
    provenance = render.provenance_html(lang, record, card, rt.labeller.status()) if record["outputs"] else ""
    return (compare, shown, render.decision_html(lang, record), render.verdicts_html(lang, record),
            render.matches_html(lang, record), record["params"].get("seed", gr.skip()), provenance, download)
