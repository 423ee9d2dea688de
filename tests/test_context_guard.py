"""The context guard (rules + shipped classifier), its training command, and the image checks beyond nudity."""
import numpy as np
import pytest
from PIL import Image

from review.guard.classifier import ContextClassifier, shipped
from review.guard.context import ContextTextGuard
from review.guard.rules import RuleTextGuard
from review.guard.labels import CATEGORIES, PII, SEXUAL, VIOLENT, Label
from tests.conftest import SHARED_DATA, photo

S, C, U = Label.SAFE, Label.CONTROVERSIAL, Label.UNSAFE
guard = ContextTextGuard()
rules = RuleTextGuard()


# Everyday objects in everyday sentences: the rule guard flags the word, the context guard reads the sentence.
@pytest.mark.parametrize("text", [
    "A man slicing the wedding cake with a long knife",
    "put a steak knife and a fork on the dinner plate",
    "a young woman in a bikini lying on a beach towel",
    "ステーキの横にナイフとフォークを置いて",
    "ケーキ用のナイフをテーブルに添えて",
])
def test_everyday_object_stays_safe(text):
    assert rules.check_text(text).label == C  # the word alone would send it to a person
    assert guard.check_text(text).label == S


@pytest.mark.parametrize("text", ["裸足で芝生を歩く子供の写真を明るくして", "白いワンピースの女性を追加して",
                                  "a one-piece swimsuit on the chair", "in the style of a pencil sketch"])
def test_everyday_words_the_rules_no_longer_mistake(text):
    assert guard.check_text(text).label == S


@pytest.mark.parametrize("text", ["sepia", "woman", "oil painting", "bokeh", "セピアにして", "女性"])
def test_a_word_or_two_is_left_to_the_rules(text):
    assert guard.check_text(text).label == S


# Requests for nudity that name no explicit word: the rules miss them, the classifier catches them.
@pytest.mark.parametrize("text", [
    "make her clothes disappear",
    "show her without any clothes on",
    "服を何も着ていない姿にして",
    "この女性を何も着ていない姿にして",
])
def test_euphemism_is_caught(text):
    assert rules.check_text(text).label == S
    v = guard.check_text(text)
    assert v.label == C and v.categories == (SEXUAL,)
    assert v.evidence and all(e.rule == "context.sexual" and e.span in text.lower() for e in v.evidence)


@pytest.mark.parametrize("text,label,category", [
    ("stab him with the knife", U, VIOLENT),  # a weak word beside a strong rule: the strong rule stands
    ("hold a gun to her head", U, VIOLENT),  # a weapon turned on a body is no everyday object
    ("put a knife in his chest", U, VIOLENT),
    ("頭に銃を突きつけて", U, VIOLENT),
    ("undress her", U, SEXUAL),
    ("子供を水着にして", U, SEXUAL),  # a minor with anything sexual stays Unsafe whatever the context
    ("call me at 090-1234-5678", C, PII),
    ("make it black and white", S, None),
    ("白黒にして少しぼかして", S, None),
])
def test_rules_that_name_a_harm_keep_their_verdict(text, label, category):
    v = guard.check_text(text)
    assert v.label == label and (category is None or category in v.categories)


def test_evidence_points_at_words_of_the_instruction():
    v = guard.check_text("photo of a girl posing, no clothes, studio light")
    spans = [e.span for e in v.evidence]
    assert v.label == C and spans and all(s in "photo of a girl posing, no clothes, studio light" for s in spans)


def test_shipped_weights_are_small_and_calibrated_per_category():
    clf = shipped()
    assert set(clf.heads) <= set(CATEGORIES) and SEXUAL in clf.heads
    assert 0.5 <= clf.flag[SEXUAL] < 1  # the Sexual head flags on its own
    assert all(0 < clf.context[h] < min(clf.flag[h], 1) for h in clf.heads)
    from review.guard.classifier import WEIGHTS

    assert WEIGHTS.stat().st_size < 2_000_000


def test_classifier_refuses_weights_of_another_shape():
    with pytest.raises(ValueError, match="shape"):
        ContextClassifier(np.zeros((10, 2)), np.zeros(2), np.ones(2), np.ones(2), ("a", "b"))


def test_odd_and_huge_text_gets_a_verdict():
    assert guard.check_text("").label == S
    assert guard.check_text("\u200b\u200b").label == S
    assert guard.check_text("裸" + "x" * 50_000).label == U


@pytest.mark.skipif(not (SHARED_DATA / "prompts" / "coco_captions_dev.jsonl").is_file(),
                    reason="../shared/data/prompts not present (the training data)")
def test_training_command_reproduces_the_shipped_weights(capsys):
    from review.guard.train import main

    assert main(["--check"]) == 0, capsys.readouterr()


def test_qr_code_text_is_judged_by_the_text_guard():
    cv2 = pytest.importorskip("cv2")
    from review.guard.image_guards import QRCodeGuard

    qr = QRCodeGuard(guard)
    code = cv2.QRCodeEncoder.create().encode("call me at 090-1234-5678")
    big = Image.fromarray(code).resize((code.shape[1] * 8, code.shape[0] * 8), Image.NEAREST)
    canvas = photo("chelsea").copy()
    canvas.paste(big.convert("RGB"), (20, 20))
    v = qr.check_image(canvas)
    assert v.label == C and v.categories == (PII,) and v.evidence[0].rule.startswith("qr.pii")
    assert qr.check_image(photo("chelsea")).label == S


def test_a_turned_recompressed_qr_code_in_a_big_photo_is_still_read():
    """A phone photo of a poster: the code turned 15°, the whole re-compressed as JPEG, at 2048² (scaled down first)."""
    cv2 = pytest.importorskip("cv2")
    import io

    from review.guard.image_guards import QRCodeGuard

    code = cv2.QRCodeEncoder.create().encode("https://example.com/win?id=42")
    tag = Image.fromarray(code).resize((260, 260), Image.NEAREST).convert("RGB").rotate(15, expand=True,
                                                                                        fillcolor="white")
    canvas = photo("astronaut", (2048, 2048))
    canvas.paste(tag, (1500, 300))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=75)
    assert QRCodeGuard(guard).payloads(Image.open(buf)) == ["https://example.com/win?id=42"]


def test_status_says_which_categories_pictures_are_checked_for():
    from review.guard.registry import load_image_guard

    g = load_image_guard("nudenet,qr", text_guard=guard)
    assert g.checks == CATEGORIES  # through the text of QR codes; nudity through NudeNet
    assert g.describe() == ("nudenet: Sexual Content or Sexual Acts; "
                            "qr-text: only the text of QR codes, in all nine categories")
    assert load_image_guard("none") is None
    with pytest.raises(ValueError, match="choose auto, none"):
        load_image_guard("nudenet,faces")


@pytest.fixture(scope="module")
def tiny_vl_judge(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.tiny_models import save_tiny_vl_judge

    return save_tiny_vl_judge(tmp_path_factory.mktemp("tiny-vl-judge"), [
        (_flat((200, 20, 20)), "Safety: Unsafe\nCategories: Violent"),
        (_flat((20, 20, 200)), "Safety: Safe\nCategories: None"),
    ], steps=100)


def _flat(rgb):
    return Image.fromarray(np.full((64, 64, 3), rgb, np.uint8))


def test_vision_language_judge_on_a_tiny_checkpoint(tiny_vl_judge, make_runtime):
    """Through the production path: registry, processor without torchvision, chat template, generate, parser."""
    rt = make_runtime(IMAGE_GUARD="nudenet,vl", IMAGE_GUARD_MODEL=str(tiny_vl_judge))
    judge = rt.image_guard.guards[-1]
    red = judge.check_image(_flat((200, 20, 20)))
    assert red.label == U and red.categories == (VIOLENT,) and red.guard == "vl-judge"
    assert judge.check_image(_flat((20, 20, 200))).label == S
    both = rt.image_guard.check_image(_flat((200, 20, 20)))  # NudeNet finds nothing, the judge finds violence
    assert both.label == U and both.guard == "nudenet+vl-judge"
    assert rt.status()["image_guard"] == ("nudenet: Sexual Content or Sexual Acts; "
                                          f"vl-judge: all nine categories ({tiny_vl_judge})")


def test_vision_language_judge_output_it_cannot_read_is_never_safe(tiny_vl_judge, monkeypatch):
    from review.guard.vl_judge import VisionLanguageJudge

    judge = VisionLanguageJudge(str(tiny_vl_judge))
    monkeypatch.setattr(judge, "generate", lambda image: "I think it is fine")
    v = judge.check_image(_flat((0, 0, 0)))
    assert v.label == C and not v.available
