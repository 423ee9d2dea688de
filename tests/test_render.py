"""Server-rendered HTML: every piece of user or library text is escaped; labels read in both languages."""
import pytest

from ui import render
from ui.strings import EN, JA, error_message, language

RECORD = {
    "id": "abc", "decision": "pending_review", "reasons": ["similarity:output"], "warnings": [],
    "backend": "classic", "model": "editguard/classic", "model_license": "Apache-2.0",
    "verdicts": {"instruction": {"label": "Controversial", "categories": ["PII"], "available": True,
                                 "evidence": [{"rule": "pii.email", "span": "<script>alert(1)</script>"}]},
                 "outputs": [{"label": "Safe", "categories": [], "available": False, "evidence": []}]},
    "matches": [{"title": '<img src=x onerror="alert(1)">', "owner": "O&O", "license": "L", "level": "review",
                 "distance": 3, "target": "output", "position": 0, "reference_image": None}],
}


def test_user_and_library_text_is_escaped():
    html = render.verdicts_html("en", RECORD) + render.matches_html("en", RECORD) + render.decision_html("en", RECORD)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "O&amp;O" in html


def test_japanese_rendering_and_unavailable_guard():
    html = render.verdicts_html("ja", RECORD)
    assert "要注意" in html and "個人情報" in html and "担当者が確認します" in html
    assert "確認待ち" in render.decision_html("ja", RECORD)


def test_every_key_has_both_languages():
    assert set(EN) == set(JA)


def test_language_from_accept_language():
    assert language("ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert language("fr-FR,fr;q=0.9,en;q=0.5") == "en"
    assert language(None) == "en"


def test_error_messages_are_translated_with_parameters():
    assert error_message("ja", "text.too_long", {"n": 20000, "limit": 2000, "field": "instruction"}) == \
        "指示が長すぎます（20,000 文字）。2,000 文字までです。"
    assert "ぼかし" in error_message("ja", "editor.cannot", {"unknown": "remove cat"})
    assert error_message("en", "image.damaged", {"reference": 2}).startswith("Reference image 2: ")
    assert error_message("en", "no.such.code", {}) == EN["err_error"]


@pytest.mark.parametrize("size", [(256, 256), (1024, 768), (4000, 3000)])
def test_pending_output_is_blurred_beyond_recognition_at_any_size(tmp_path, size):
    """Nothing local survives: no ORB keypoint (the original has thousands), and no detail finer than
    PENDING_BLUR_CELLS across, whatever the picture's size (the old 1/8 downscale left 615 keypoints at 4000 px)."""
    import cv2
    import numpy as np
    from PIL import Image

    from tests.conftest import photo

    path = tmp_path / "o.png"
    photo("astronaut", size).save(path)
    shown = render.blurred(str(path))
    assert max(shown.size) == min(max(size), render.BLURRED_MAX_SIDE)
    orb = cv2.ORB_create(5000)

    def keypoints(im) -> int:
        grey = cv2.cvtColor(np.asarray(im.convert("RGB").resize((512, 384), Image.Resampling.BOX)), cv2.COLOR_RGB2GRAY)
        return len(orb.detect(grey, None))

    assert keypoints(Image.open(path)) > 1000 and keypoints(shown) == 0
    cells = render.PENDING_BLUR_CELLS
    coarse = shown.resize((cells, max(1, round(cells * shown.height / shown.width))), Image.Resampling.BOX)
    again = np.asarray(coarse.resize(shown.size, Image.Resampling.BICUBIC), dtype=np.float64)
    assert np.abs(again - np.asarray(shown, dtype=np.float64)).mean() < 4  # all it holds is those few cells


def test_item_view_escapes_notes_and_marks_evidence():
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    detail = {
        "item": {"id": 7, "status": "approved", "claimed_by": None, "lease_expires_at": None, "escalated": False,
                 "decided_by": "alice<b>", "decided_at": now, "decision_reason": "other",
                 "decision_note": "<script>alert(1)</script>\n'; DROP TABLE x; --", "reasons": ["output:controversial"],
                 "priority": 1},
        "request": {"id": "r1", "instruction": "Add <b>blood</b> and a KNIFE", "negative_prompt": "", "params": {"seed": 1},
                    "backend": "classic", "model": "m", "model_license": "l", "requester": "browser:abc",
                    "created_at": now, "policy_mode": "review", "applied": []},
        "images": [], "matches": [], "events": [{"at": now, "actor": "<i>x</i>", "kind": "review.claimed", "payload": {}}],
        "verdicts": [{"target": "instruction", "position": None, "label": "Controversial", "guard": "rules",
                      "categories": ["Violent"], "available": True,
                      "evidence": [{"rule": "violent.weapon.en", "span": "knife"}, {"rule": "violent.weapon.en", "span": "blood"}]}],
    }
    html = render.item_html("en", detail)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<i>x</i>" not in html
    assert "<mark>KNIFE</mark>" in html and "&lt;b&gt;<mark>blood</mark>&lt;/b&gt;" in html
    assert "alice&lt;b&gt;" in html


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_provenance_says_how_the_result_was_made(lang):
    record = {"backend": "qwen-image-edit", "model": "Qwen/Qwen-Image-Edit-2511", "model_license": "Apache-2.0"}
    card = {"credit": "Qwen team <script>alert(1)</script>"}
    labels = "XMP (IPTC source type) + C2PA (local authority) + invisible watermark"
    ai = render.provenance_html(lang, record, card, labels)
    assert 'data-generative="true"' in ai and "Apache-2.0" in ai and "Qwen/Qwen-Image-Edit-2511" in ai
    assert "<script>" not in ai and "&lt;script&gt;" in ai
    assert ("AI-generated" if lang == "en" else "AI 生成") in ai
    assert ("invisible watermark" if lang == "en" else "不可視透かし") in ai
    classic = render.provenance_html(lang, {**record, "backend": "classic", "model": "editguard/classic"}, {}, labels)
    assert 'data-generative="false"' in classic and ("no generative AI" if lang == "en" else "生成 AI は使っていません") in classic


def test_a_verified_match_states_its_basis_and_outlines_its_region():
    from PIL import Image

    from ui.render import matches_html, outlined

    evidence = {"basis": "verified", "inliers": 212, "matches": 230, "region": [[0.1, 0.1], [0.7, 0.1], [0.7, 0.9],
                                                                                 [0.1, 0.9]], "region_share": 0.48}
    match = {"target": "output", "position": 0, "title": "Work", "owner": "O", "license": "L", "level": "warn",
             "distance": 40, "hash_kind": "pdq", "score": 0.9997, "evidence": evidence}
    html = matches_html("en", {"matches": [match]})
    assert "verified: 212 matching keypoints, region 48% of the work" in html and "99.97%" in html
    assert "照合済み：一致する特徴点 212 個" in matches_html("ja", {"matches": [match]})
    by_detail = {**match, "evidence": {**evidence, "inliers": 8, "detail": 0.61}}
    assert "verified: 8 matching keypoints and the same fine detail, region 48%" in matches_html("en", {"matches": [by_detail]})
    assert "一致する特徴点 8 個と細部の一致" in matches_html("ja", {"matches": [by_detail]})
    hash_only = {**match, "evidence": {"basis": "hash"}, "score": 0.4}
    assert "PDQ hash distance 40/256 only" in matches_html("en", {"matches": [hash_only]})
    picture = outlined(Image.new("RGB", (100, 100), "white"), [evidence])
    assert picture.getpixel((10, 50)) != (255, 255, 255) and picture.getpixel((40, 50)) == (255, 255, 255)
