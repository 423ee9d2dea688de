"""HTML for verdict badges, similarity warnings and the decision. Every piece of user or library text is escaped."""
from __future__ import annotations

import base64
import io
from functools import lru_cache
from html import escape
from pathlib import Path

from PIL import Image, ImageFilter

from ui.strings import category, has, provenance_labels, status_words, t

BADGE_CLASS = {"Safe": "eg-safe", "Controversial": "eg-controversial", "Unsafe": "eg-unsafe"}
PENDING_BLUR_CELLS = 12  # a pending picture keeps 12 averaged cells across its long side, at any size
BLURRED_MAX_SIDE = 512  # the blurred preview's long side in pixels (it has no detail to show at more)


CSS = """
.eg-card {border:1px solid var(--border-color-primary); border-radius:10px; padding:12px 14px; margin:6px 0;}
.eg-decision {display:flex; gap:12px; align-items:center; font-size:1.05em;}
.eg-pill {display:inline-block; border-radius:999px; padding:2px 10px; font-weight:600; font-size:.9em; color:#fff;}
.eg-safe {background:#1f7a3d;} .eg-controversial {background:#b26a00;} .eg-unsafe {background:#b3261e;}
.eg-unavailable {background:#5f6368;}
.eg-released {background:#1f7a3d;} .eg-pending_review {background:#b26a00;} .eg-blocked {background:#b3261e;}
.eg-row {display:flex; gap:8px; align-items:baseline; flex-wrap:wrap; margin:4px 0;}
.eg-why {color:var(--body-text-color-subdued); font-size:.9em;}
.eg-span {font-family:var(--font-mono); background:var(--background-fill-secondary); padding:0 4px; border-radius:4px;}
.eg-match {display:flex; gap:12px; align-items:center; margin:6px 0;}
.eg-match img {width:72px; height:72px; object-fit:cover; border-radius:6px;}
.eg-match .eg-outlined img {display:block; width:auto; max-width:144px; object-fit:contain;}
.eg-muted {color:var(--body-text-color-subdued); font-size:.85em;}
.eg-status {color:var(--body-text-color-subdued); font-size:.85em;}
.eg-note {white-space:pre-wrap; max-height:12em; overflow:auto; border-left:3px solid var(--border-color-primary); padding-left:8px;}
#eg-item-view mark {background:#ffe08a; color:#000; border-radius:3px; padding:0 2px;}
.eg-form {display:flex; gap:12px; align-items:flex-end; flex-wrap:wrap; margin:6px 0;}
.eg-form label {display:flex; flex-direction:column; gap:4px; margin:0; font-size:var(--block-label-text-size); color:var(--body-text-color);}
.eg-form input {margin:0; border:1px solid var(--border-color-primary); background:var(--input-background-fill); color:var(--body-text-color);
  border-radius:var(--input-radius); padding:8px 10px; min-width:220px; font-size:var(--input-text-size);}
.eg-form button, .eg-form a.eg-hf {border-radius:var(--button-large-radius); padding:8px 18px; font-weight:600; cursor:pointer; text-decoration:none;}
.eg-form .primary {background:var(--button-primary-background-fill); color:var(--button-primary-text-color); border:none;}
.eg-form .secondary {background:var(--button-secondary-background-fill); color:var(--button-secondary-text-color);
  border:1px solid var(--button-secondary-border-color);}
.eg-signout {margin:0 0 0 auto;}
/* galleries show each whole picture, whatever its shape: a tile is as tall as the row, the picture fits inside it */
#eg-outputs .grid-container, #eg-works .grid-container, #eg-mine-gallery .grid-container {
  grid-template-columns:repeat(auto-fit, minmax(180px, 1fr)) !important; grid-auto-rows:280px !important;}
#eg-outputs .thumbnail-item, #eg-works .thumbnail-item, #eg-mine-gallery .thumbnail-item {aspect-ratio:auto !important;
  height:280px;}
#eg-outputs .thumbnail-item img, #eg-works .thumbnail-item img, #eg-mine-gallery .thumbnail-item img {width:100%;
  height:100%; object-fit:contain;}
.eg-export-link {display:inline-block; margin:6px 8px 6px 0; padding:8px 18px; border-radius:var(--button-large-radius);
  background:var(--button-secondary-background-fill); color:var(--button-secondary-text-color); font-weight:600;
  border:1px solid var(--button-secondary-border-color); text-decoration:none;}
#eg-compare .slider-wrap, #eg-compare img, #eg-review-compare .slider-wrap, #eg-review-compare img {max-width:100%;}
.eg-mine {display:grid; grid-template-columns:repeat(auto-fill,minmax(220px,1fr)); gap:10px;}
"""


def decision_html(lang: str, record: dict) -> str:
    """The headline never contradicts the lines under it: a release that carries warnings says so, naming the
    registered works it resembles."""
    d = record["decision"]
    reasons = "".join(f"<li>{escape(t(lang, 'reason_' + r))}</li>" for r in record["reasons"])
    warnings = "".join(f"<li>{escape(t(lang, 'reason_' + w))}</li>" for w in record["warnings"])
    headline, why = t(lang, "decision_" + d), t(lang, "why_" + d)
    if d == "released" and record["warnings"]:
        titles = list(dict.fromkeys(m["title"] for m in record.get("matches", [])))
        headline = t(lang, "decision_released_warned")
        why = (t(lang, "why_released_resembles", titles=t(lang, "list_sep").join(f"“{x}”" for x in titles))
               if titles else t(lang, "why_released_warned"))
    return (
        f'<div class="eg-card" id="eg-decision" data-decision="{escape(d)}" data-warned="{str(bool(warnings)).lower()}">'
        f'<div class="eg-decision"><span class="eg-pill eg-{escape(d)}{" eg-warned" if warnings else ""}">'
        f'{escape(headline)}</span><span>{escape(why)}</span></div>'
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + (f'<ul class="eg-why">{warnings}</ul>' if warnings else "")
        + f'<div class="eg-muted">{escape(t(lang, "record", id=record["id"]))} · {escape(record["backend"])} · '
          f'{escape(record["model"])} ({escape(record["model_license"])})</div></div>'
    )


def provenance_html(lang: str, record: dict, card: dict, labels: str) -> str:
    """Says what made the result and how the file is labelled: AI-generated (model, credit, license) or, for the CPU
    editor, filters without generative AI."""
    generative = record["backend"] != "classic"
    text = t(lang, "prov_ai" if generative else "prov_classic", model=record["model"],
             credit=status_words(lang, card.get("credit") or record["model"]), license=record["model_license"])
    return (f'<div class="eg-card" id="eg-provenance" data-generative="{str(generative).lower()}">'
            f'<span class="eg-pill {"eg-controversial" if generative else "eg-released"}">'
            f'{escape(t(lang, "prov_badge_ai" if generative else "prov_badge_classic"))}</span> {escape(text)}'
            f'<div class="eg-muted">{escape(t(lang, "prov_labels", labels=provenance_labels(lang, labels)))}</div></div>')


def verdicts_html(lang: str, record: dict) -> str:
    rows = [_verdict_row(lang, t(lang, "verdict_instruction"), record["verdicts"]["instruction"])]
    rows += [_verdict_row(lang, t(lang, "verdict_input"), v) for v in record["verdicts"].get("inputs", [])[:1]]
    rows += [_verdict_row(lang, t(lang, "verdict_output", n=i + 1), v)
             for i, v in enumerate(record["verdicts"]["outputs"])]
    return f'<div class="eg-card" id="eg-verdicts">{"".join(rows)}</div>'


def _verdict_row(lang: str, what: str, v: dict) -> str:
    label = v["label"]
    badge_class = BADGE_CLASS.get(label, "eg-unavailable") if v.get("available", True) else "eg-unavailable"
    cats = ", ".join(category(lang, c) for c in v["categories"])
    evidence = " ".join(f'<span class="eg-span" title="{escape(e["rule"])}">{escape(e["span"])}</span>'
                        for e in v.get("evidence", []))
    why = evidence or escape(t(lang, "no_evidence"))
    if not v.get("available", True):
        why = escape(t(lang, "unavailable"))
    return (f'<div class="eg-row" data-target="{escape(what)}" data-label="{escape(label)}"><strong>{escape(what)}</strong>'
            f'<span class="eg-pill {badge_class}">{escape(t(lang, "label_" + label))}</span>'
            + (f"<span>{escape(cats)}</span>" if cats else "")
            + f'<span class="eg-why">{escape(t(lang, "why"))}: {why}</span></div>')


BITS = {"pdq": 256, "phash": 64}


def matches_html(lang: str, record: dict, reviewer: bool = False) -> str:
    """Each matched work by title, owner and license, its thumbnail with the matched region outlined; `reviewer`
    words the places for the console ("the uploaded image") rather than for the requester ("your uploaded image")."""
    if not record["matches"]:
        return ""
    items = []
    for m in record["matches"]:
        n = m["position"] + 1
        where = t(lang, f"{'review' if reviewer else 'similar'}_on_{m['target']}", n=n)
        thumb = thumbnail_data_uri(m.get("reference_image"))
        evidence = m.get("evidence") or {}
        img = f'<img src="{thumb}" alt="">' if thumb else ""
        if img and evidence.get("region"):  # outline the part of the work the upload shows
            points = " ".join(f"{float(x):.4f},{float(y):.4f}" for x, y in evidence["region"])
            img = (f'<span class="eg-outlined" style="position:relative;display:inline-block">{img}'
                   '<svg viewBox="0 0 1 1" preserveAspectRatio="none" style="position:absolute;inset:0;width:100%;'
                   f'height:100%"><polygon points="{points}" fill="none" stroke="#e5484d" stroke-width="2" '
                   'vector-effect="non-scaling-stroke"/></svg></span>')
        score = "—" if m.get("score") is None else "{:.2f}%".format(m["score"] * 100)
        kind, bits = (m.get("hash_kind") or "").upper(), BITS.get(m.get("hash_kind"), 64)
        if evidence.get("basis") in ("verified", "hash"):
            basis = (t(lang, "similar_basis_detail" if "detail" in evidence else "similar_basis_verified",
                       inliers=evidence["inliers"], region=round(100 * evidence["region_share"]))
                     if evidence["basis"] == "verified" else
                     t(lang, "similar_basis_hash", kind=kind, distance=m["distance"], bits=bits))
            detail = t(lang, "similar_detail_basis", where=where, basis=basis, score=score, owner=m["owner"],
                       license=m["license"])
        else:  # recorded before verification existed
            detail = t(lang, "similar_detail", where=where, kind=kind, distance=m["distance"], bits=bits, score=score,
                       owner=m["owner"], license=m["license"])
        items.append(
            f'<div class="eg-match" data-level="{escape(m["level"])}" data-target="{escape(m["target"])}">{img}<div>'
            f'<div><strong>{escape(m["title"])}</strong> — '
            f'<span class="eg-pill {"eg-controversial" if m["level"] == "warn" else "eg-unsafe"}">'
            f'{escape(t(lang, "similar_level_" + m["level"]))}</span></div>'
            f'<div class="eg-muted">{escape(detail)}</div>'
            f"</div></div>"
        )
    return f'<div class="eg-card" id="eg-matches"><strong>⚠ {escape(t(lang, "similar_title"))}</strong>{"".join(items)}</div>'


def agreement_html(lang: str, rows: list[dict]) -> str:
    """Per reviewer: of their decisions that were appealed and looked at again, how many a second reviewer upheld."""
    if not rows:
        return f'<div class="eg-muted" id="eg-agreement">{escape(t(lang, "agreement_none"))}</div>'
    body = "".join(f'<tr data-reviewer="{escape(r["reviewer"])}"><td>{escape(r["reviewer"])}</td><td>{r["appealed"]}</td>'
                   f'<td>{r["upheld"]}</td><td>{round(100 * r["agreement"])}%</td></tr>' for r in rows)
    head = "".join(f"<th>{escape(t(lang, k))}</th>" for k in ("agreement_reviewer", "agreement_appealed",
                                                                "agreement_upheld", "agreement_share"))
    return (f'<div class="eg-card" id="eg-agreement"><strong>{escape(t(lang, "agreement_title"))}</strong>'
            f'<table><tr>{head}</tr>{body}</table></div>')


def live_verdict_html(lang: str, verdict: dict) -> str:
    """One line under the instruction box: the label, its categories and the words that triggered it."""
    label = verdict["label"]
    cats = ", ".join(category(lang, c) for c in verdict["categories"])
    spans = " ".join(f'<span class="eg-span">{escape(e["span"])}</span>' for e in verdict["evidence"][:5])
    return (f'<div class="eg-row" id="eg-live-verdict" data-label="{escape(label)}">'
            f'<span class="eg-pill {BADGE_CLASS.get(label, "eg-unavailable")}">{escape(t(lang, "label_" + label))}</span>'
            + (f"<span>{escape(cats)}</span>" if cats else "") + (f'<span class="eg-why">{spans}</span>' if spans else "")
            + "</div>")


def item_html(lang: str, d: dict, store_root=None) -> str:
    """The reviewer's view of one item: status, why it is here (in words), request, instruction with the guard's
    evidence marked, every verdict, the matched works (title, owner, license, thumbnail with the region), history."""
    item, req = d["item"], d["request"]
    spans = [e["span"] for v in d["verdicts"] for e in v["evidence"] if e.get("span")]
    verdict_rows = []
    for v in d["verdicts"]:
        what = {"instruction": t(lang, "verdict_instruction"), "input": t(lang, "verdict_input")}.get(
            v["target"]) or t(lang, "verdict_output", n=(v["position"] or 0) + 1)
        verdict_rows.append(_verdict_row(lang, what, v))
    lease = ""
    if item["status"] == "claimed" and item["lease_expires_at"]:
        until = item["lease_expires_at"].strftime("%H:%M:%S UTC")
        lease = (f'<div class="eg-muted">{escape(item["claimed_by"] or "")} · '
                 f'{escape(t(lang, "item_lease", until=until))}</div>')
    decided = ""
    if item["decided_by"]:
        decided = (f'<div>{escape(item["decided_by"])} · {item["decided_at"].strftime("%Y-%m-%d %H:%M")} UTC · '
                   f'{escape(t(lang, "reason_" + (item["decision_reason"] or "other")))}</div>'
                   + (f'<div class="eg-note">{escape(item["decision_note"])}</div>' if item["decision_note"] else ""))
    history = "".join(f'<li>{e["at"].strftime("%Y-%m-%d %H:%M:%S")} · {escape(e["actor"])} · '
                      f'{escape(t(lang, "event_" + e["kind"]) if has(lang, "event_" + e["kind"]) else e["kind"])}</li>'
                      for e in d["events"])
    appeal = ""
    if d.get("appeal"):
        a = d["appeal"]
        appeal = (f'<div class="eg-card eg-appeal" id="eg-item-appeal"><span class="eg-pill eg-controversial">'
                  f'{escape(t(lang, "appeal_flag"))}</span> '
                  f'{escape(t(lang, "appeal_by_requester", first=a["first_decider"]))}'
                  f'<div class="eg-note">{escape(a["text"])}</div></div>')
    matches = ""
    if d.get("matches") and store_root is not None:
        found = [{**m, "reference_image": str(Path(store_root) / m["reference_relpath"])} for m in d["matches"]]
        matches = matches_html(lang, {"matches": found}, reviewer=True)
    reasons = "".join(f"<li>{escape(t(lang, 'reason_' + r))}</li>" for r in item["reasons"])
    params = ", ".join(f"{escape(str(k))}={escape(str(v))}" for k, v in req["params"].items())
    request_line = t(lang, "item_request", id=req["id"], created=req["created_at"].strftime("%Y-%m-%d %H:%M UTC"),
                     requester=req["requester"] or "anonymous")  # a pseudonym (review/requester.py), never a credential
    return (
        f'<div class="eg-card" id="eg-item-view" data-item="{item["id"]}" data-status="{escape(item["status"])}">'
        f'<h3>{escape(t(lang, "item_title", id=item["id"], status=t(lang, "status_" + item["status"])))}</h3>'
        f'<div class="eg-muted">{escape(request_line)}</div>'
        f'{appeal}<div id="eg-item-reasons"><strong>{escape(t(lang, "item_why"))}</strong><ul>{reasons}</ul></div>{lease}{decided}'
        f'<div class="eg-row"><strong>{escape(t(lang, "item_instruction"))}</strong>'
        f'<span id="eg-item-instruction">{mark_spans(req["instruction"], spans)}</span></div>'
        + "".join(verdict_rows) + matches
        + f'<div class="eg-muted">{escape(t(lang, "item_model"))}: {escape(req["backend"])} · {escape(req["model"])} '
          f'({escape(req["model_license"])}) · {escape(t(lang, "item_params"))}: {params}</div>'
        + f'<details><summary>{escape(t(lang, "item_history"))}</summary><ul>{history}</ul></details></div>'
    )


def mark_spans(text: str, spans: list[str]) -> str:
    """Escape `text` and wrap each evidence span (matched case-insensitively) in <mark>."""
    lowered = text.lower()
    marks = []
    for span in {s for s in spans if s}:
        start = lowered.find(span.lower())
        while start >= 0:
            marks.append((start, start + len(span)))
            start = lowered.find(span.lower(), start + len(span))
    out, pos = [], 0
    for start, end in sorted(marks):
        if start < pos:
            continue
        out.append(escape(text[pos:start]) + f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    return "".join(out) + escape(text[pos:])


def status_html(lang: str, status: dict, card: dict | None = None) -> str:
    status = {k: status_words(lang, v) if isinstance(v, str) else v for k, v in status.items()}
    if "provenance" in status:
        status = {**status, "provenance": provenance_labels(lang, status["provenance"])}
    line = escape(t(lang, "status_line", **status))
    if card:
        card = {k: status_words(lang, v) if isinstance(v, str) else v for k, v in card.items()}
        line += f'<br><span id="eg-model-card">{escape(t(lang, "model_card", **card))}</span>'
    return f'<div class="eg-status" id="eg-status">{line}</div>'


def error_html(lang: str, message: str, title_key: str = "error_title") -> str:
    return (f'<div class="eg-card" id="eg-error" role="alert"><span class="eg-pill eg-unsafe">'
            f'{escape(t(lang, title_key))}</span> {escape(message)}</div>')


def outlined(picture, evidence: list[dict | None]):
    """The work with the region each verified match showed outlined (review.verify's polygon, in fractions)."""
    regions = [e["region"] for e in evidence if e and len(e.get("region") or []) >= 3]
    if not regions:
        return picture
    from PIL import ImageDraw

    picture = picture.convert("RGB")
    draw = ImageDraw.Draw(picture)
    for region in regions:
        points = [(float(x) * picture.width, float(y) * picture.height) for x, y in region]
        draw.polygon(points, outline=(229, 72, 77), width=max(2, picture.width // 200))
    return picture


@lru_cache(maxsize=512)  # stored images are content-addressed: a path's picture never changes
def thumbnail_data_uri(path: str | None, size: int = 144) -> str:
    if not path or not Path(path).is_file():
        return ""
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((size, size))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def blurred(path: str) -> Image.Image:
    """What a requester sees of a pending result: the pixels never leave the server unblurred.

    The picture is averaged down to PENDING_BLUR_CELLS cells on its long side, whatever its size (a fixed share of
    the picture, not a fixed number of pixels: a 4000-pixel photo keeps no more than a 400-pixel one), softened, and
    drawn at most BLURRED_MAX_SIDE pixels wide: colours and layout remain, nothing recognisable does."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = PENDING_BLUR_CELLS / max(im.size)
        small = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BOX)
        small = small.filter(ImageFilter.GaussianBlur(0.8))
        shown = min(1.0, BLURRED_MAX_SIDE / max(im.size))
        return small.resize((max(1, round(im.width * shown)), max(1, round(im.height * shown))),
                            Image.Resampling.BICUBIC)
