"""Instruction parser for the classic editor, Japanese and English.

It finds the operations it knows (in the order they are written), then checks that nothing else was asked:
any word left over that is not filler ("make", "the image", "少し", "ください") means the instruction asks for more
than this editor can do, and it declines rather than doing part of it silently.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from editor.base import EditorCannotDo
from editor.classic.operations import Operation

# What the classic editor can do, in words for people (English, Japanese).
CAPABILITIES = (
    ("greyscale / black and white", "白黒・モノクロ"),
    ("sepia", "セピア"),
    ("invert colours", "色の反転"),
    ("brighter / darker", "明るく・暗く"),
    ("more / less contrast", "コントラストを上げる・下げる"),
    ("more / less saturation", "彩度を上げる・下げる"),
    ("warmer / cooler", "暖かく・寒色に"),
    ("blur", "ぼかし"),
    ("sharpen", "シャープに"),
    ("rotate (90°, 180°, any angle)", "回転（90度・180度・任意の角度）"),
    ("flip horizontally / vertically", "左右反転・上下反転"),
    ("crop or zoom to the centre", "中央をトリミング・ズーム"),
    ("resize (50%, 512x512, half, double)", "リサイズ（50%、512x512、半分、2倍）"),
    ('caption text at the top or bottom ("…")', "上か下に文字を入れる（「…」）"),
    ("posterize", "ポスタライズ"),
    ("cartoon", "漫画風"),
    ("vintage", "ビンテージ・レトロ"),
)

_Q = r"⟦q(\d+)⟧"  # placeholder for a quoted caption, so its words are neither parsed nor counted as unknown
_IMG = r"(?:\s+(?:it|the\s+(?:image|photo|picture|pic)))?"
_DIR_WORDS = {
    "clockwise": 1, "cw": 1, "right": 1, "右": 1, "時計回り": 1,
    "counterclockwise": -1, "counter-clockwise": -1, "anticlockwise": -1, "anti-clockwise": -1, "ccw": -1,
    "left": -1, "左": -1, "反時計回り": -1,
}


@dataclass(frozen=True)
class Rule:
    op: str
    pattern: re.Pattern
    params: object  # dict, or a function of the match returning a dict
    strength: bool = False  # takes "a bit" / "much"


def _rule(op, pattern, params=None, strength=False):
    return Rule(op, re.compile(pattern), params if params is not None else {}, strength)


def _rotation(m: re.Match) -> dict:
    g = m.groupdict()
    degrees = float(g.get("deg") or 0) or None
    direction = 1
    for key in ("dir1", "dir2"):
        if g.get(key):
            direction = _DIR_WORDS.get(g[key].replace(" to the ", "").strip(), 1)
    if degrees is None:
        degrees = 180.0 if g.get("half") else 90.0
    return {"degrees": (direction * degrees) % 360 or 360.0}


def _resize(m: re.Match) -> dict:
    g = m.groupdict()
    if g.get("w") or g.get("w2"):
        return {"width": int(g.get("w") or g["w2"]), "height": int(g.get("h") or g["h2"])}
    if g.get("pct") or g.get("pct2"):
        return {"scale": float(g.get("pct") or g["pct2"]) / 100.0}
    if g.get("times"):
        return {"scale": float(g["times"])}
    raise EditorCannotDo(
        "Say what size to resize to, for example “resize to 50%”, “resize to 512x512” or “half size”.",
        unknown=m.group(0),
        capabilities=tuple(en for en, _ in CAPABILITIES),
        code="editor.resize_size",
    )


def _crop(m: re.Match) -> dict:
    pct = m.groupdict().get("pct")
    return {"keep": min(max(float(pct) / 100.0, 0.1), 1.0)} if pct else {}


def _caption(m: re.Match) -> dict:
    g = m.groupdict()
    where = g.get("pos") or g.get("pos2") or ""
    return {"quote": int(g["q"]), "position": "top" if where in ("top", "上", "上部", "上の方") else "bottom"}


RULES: tuple[Rule, ...] = (
    # captions first: they hold quoted text
    _rule("caption", r"(?:(?P<pos>上|下|上部|下部|上の方|下の方)に)?\s*" + _Q.replace("(\\d+)", "(?P<q>\\d+)")
          + r"\s*(?:という|と|の)?\s*(?:文字|テキスト|キャプション|文言|言葉|タイトル|字幕)?\s*(?:を)?\s*"
          r"(?:(?:画像の)?(?P<pos2>上|下|上部|下部)に)?\s*(?:入れ|追加|書|載せ|のせ|表示|付け|つけ|加え|配置)", _caption),
    _rule("caption", r"(?:(?:add|put|write|overlay|place|insert|draw)\s+)?(?:(?:a|the|some)\s+)?"
          r"(?:text|caption|words?|title|label|subtitle|banner)?\s*(?:saying|that\s+says|reading|with)?\s*"
          + _Q.replace("(\\d+)", "(?P<q>\\d+)")
          + r"(?:\s*(?:at|on|along|to|across)\s+(?:the\s+)?(?P<pos>top|bottom)(?:\s+of\s+(?:it|the\s+(?:image|photo|picture)))?)?",
          _caption),
    # flips before "反転" (invert); rotations before "upside down" flips
    _rule("flip", r"flip(?:ped)?" + _IMG + r"\s+(?:vertically|upside[- ]down|top[- ]to[- ]bottom)|上下(?:を)?(?:反転|逆転|ひっくり返)",
          {"axis": "vertical"}),
    _rule("flip", r"flip(?:ped)?" + _IMG + r"(?:\s+(?:horizontally|left[- ]to[- ]right|sideways))?|mirror(?:ed)?" + _IMG
          + r"(?:\s+horizontally)?|左右(?:を)?(?:反転|逆転)|鏡像|鏡写し|ミラー", {"axis": "horizontal"}),
    _rule("rotate", r"rotate[ds]?" + _IMG + r"(?:\s+by)?(?:\s+(?P<deg>\d{1,3}(?:\.\d+)?)\s*(?:°|degrees?|deg)?)?"
          r"(?:\s+(?:to\s+the\s+)?(?P<dir1>clockwise|counter-?clockwise|anti-?clockwise|left|right|cw|ccw))?"
          r"|turn" + _IMG + r"\s+(?P<half>upside[- ]down)", _rotation),
    _rule("rotate", r"(?:(?P<dir1>右|左|時計回り|反時計回り)に?)?\s*(?:(?P<deg>\d{1,3}(?:\.\d+)?)\s*(?:度|°))?\s*"
          r"(?:(?P<dir2>右|左|時計回り|反時計回り)に?)?\s*回転|(?P<half>逆さ(?:ま|に))", _rotation),
    _rule("invert", r"invert(?:ed)?(?:\s+(?:the\s+)?colou?rs?)?|colou?r\s+inversion|negative|色(?:を)?反転|ネガ(?:ポジ)?(?:反転)?|反転"),
    _rule("greyscale", r"gr[ae]y\s*scale|monochrome|black[\s-]*(?:and|&|n)[\s-]*white|b\s*&\s*w|b/w|gr[ae]y|"
          r"白黒|モノクロ(?:ーム)?|グレースケール|グレー|灰色"),
    _rule("sepia", r"sepia(?:[- ]tone[ds]?)?|セピア(?:色|調)?"),
    _rule("contrast", r"(?:increase|boost|raise|more|higher|stronger|enhance|add|up)\s+(?:the\s+)?contrast|"
          r"contrast\s+(?:up|higher|boost)|high(?:er)?[- ]contrast|punchier|"
          r"コントラスト(?:を)?(?:少し|ちょっと|やや|かなり|もっと|とても|すごく|大きく|軽く)?(?:上げ|あげ|強く|強め|高く|高め|アップ|強調)", {"direction": 1}, True),
    _rule("contrast", r"(?:decrease|reduce|lower|less|soften|down)\s+(?:the\s+)?contrast|contrast\s+down|low(?:er)?[- ]contrast|"
          r"コントラスト(?:を)?(?:少し|ちょっと|やや|かなり|もっと|とても|すごく|大きく|軽く)?(?:下げ|さげ|弱く|弱め|低く|低め|抑え)", {"direction": -1}, True),
    _rule("saturation", r"desaturat(?:e|ed)|(?:decrease|reduce|lower|less)\s+(?:the\s+)?saturation|"
          r"less\s+(?:vivid|vibrant|saturated|colou?rful)|muted(?:\s+colou?rs?)?|washed[- ]out|"
          r"彩度(?:を)?(?:少し|ちょっと|やや|かなり|もっと|とても|すごく|大きく|軽く)?(?:下げ|さげ|低く|低め|弱く|弱め|落と|抑え)|淡く", {"direction": -1}, True),
    _rule("saturation", r"(?:increase|boost|raise|more|higher)\s+(?:the\s+)?saturation|(?<!de)saturat(?:e|ed)|"
          r"(?:more\s+)?(?:vivid|vibrant|colou?rful)|鮮やか|彩度(?:を)?(?:少し|ちょっと|やや|かなり|もっと|とても|すごく|大きく|軽く)?(?:上げ|あげ|高く|高め|強く|強め|アップ)|ビビッド",
          {"direction": 1}, True),
    _rule("brightness", r"bright(?:en|er)|lighten|lighter|(?:increase|boost|raise|more|higher|up)\s+(?:the\s+)?brightness|"
          r"brightness\s+up|明る(?:く|め|い|さ(?:を)?(?:上げ|あげ|強く|高く|増や|アップ))", {"direction": 1}, True),
    _rule("brightness", r"dark(?:en|er)|dimmer|dim|(?:decrease|reduce|lower|less|down)\s+(?:the\s+)?brightness|"
          r"brightness\s+down|暗(?:く|め|い)|明るさ(?:を)?(?:少し|ちょっと|やや|かなり|もっと|とても|すごく|大きく|軽く)?(?:下げ|さげ|落と|抑え|弱く|低く)", {"direction": -1}, True),
    _rule("warmth", r"warm(?:er|th)?(?:\s+(?:tones?|colou?rs?|tint|up))?|(?:increase|raise|more)\s+(?:the\s+)?warmth|"
          r"暖か(?:く|い|み)|温か(?:く|い|み)|あたたか(?:く|い)|暖色|ウォーム", {"direction": 1}, True),
    _rule("warmth", r"cool(?:er|\s+(?:tones?|colou?rs?|tint))|colder|cold\s+(?:tones?|colou?rs?)|"
          r"(?:decrease|reduce|less)\s+(?:the\s+)?warmth|寒色|冷た(?:く|い)|涼し(?:く|げ)|クール(?:な色|トーン)|青みを?(?:足|加え|強く)",
          {"direction": -1}, True),
    _rule("sharpen", r"sharpen(?:ed)?|sharper|crisper|シャープ(?:に|な)?|くっきり|鮮明", {}, True),
    _rule("blur", r"blur(?:ry|red)?|soften|defocus(?:ed)?|out\s+of\s+focus|ぼか(?:し|す)?|ぼやか|ぼやけ|ボケ|ブラー", {}, True),
    _rule("crop_center", r"(?:crop|trim)(?:ped)?" + _IMG + r"(?:\s+(?:to|into|on|around|in))?(?:\s+the)?"
          r"(?:\s+(?:cent(?:er|re)|middle))?(?:\s+(?:to\s+)?(?P<pct>\d{1,3})\s*%)?"
          r"|zoom(?:ed)?(?:\s*in)?(?:\s+(?:on\s+|to\s+)?(?:the\s+)?(?:cent(?:er|re)|middle))?"
          r"|(?:中央|中心|真ん中)(?:を|で)?(?:トリミング|切り抜|切り取|クロップ|ズーム|拡大)|トリミング|切り抜|クロップ|ズーム(?:イン)?",
          _crop),
    _rule("resize", r"(?:resize|scale)(?:d)?" + _IMG + r"(?:\s+(?:to|by))?\s*"
          r"(?:(?P<w>\d{1,5})\s*[x×*]\s*(?P<h>\d{1,5})|(?P<pct>\d{1,4}(?:\.\d+)?)\s*%|(?P<times>\d{1,2}(?:\.\d+)?)\s*x\b)?"
          r"|(?P<w2>\d{1,5})\s*[x×]\s*(?P<h2>\d{1,5})\s*(?:に|へ)?\s*(?:リサイズ|サイズ変更)"
          r"|(?P<pct2>\d{1,4})\s*%\s*(?:に|へ)?\s*(?:縮小|拡大|リサイズ)", _resize),
    _rule("resize", r"half\s+(?:the\s+)?size|halve" + _IMG + r"|shrink" + _IMG + r"|smaller|"
          r"半分(?:の)?(?:サイズ|大きさ)?(?:に)?(?:縮小)?|縮小", {"scale": 0.5}),
    _rule("resize", r"double\s+(?:the\s+)?size|enlarge" + _IMG + r"|upscale" + _IMG + r"|bigger|larger|"
          r"2倍(?:の大きさ|のサイズ)?(?:に)?(?:拡大)?|拡大", {"scale": 2.0}),
    _rule("posterize", r"posteri[sz](?:e|ed)|poster\s+effect|ポスタリゼーション|ポスタライズ|ポスター(?:調|風)", {}),
    _rule("cartoon", r"cartoon(?:ish|ize|ify)?|comic(?:\s+book)?|漫画|マンガ|まんが|カートゥーン|コミック", {}),
    _rule("vintage", r"vintage|retro|old(?:-|\s+)(?:photo|film|fashioned)|film\s+look|ビンテージ|ヴィンテージ|レトロ|"
          r"昔の写真|古い写真|古写真|フィルム風", {}),
)

_LOW = re.compile(r"\b(?:slightly|slight|a\s+bit|a\s+little|a\s+touch|subtle|subtly|gently|lightly|mildly)\b|少し|ちょっと|やや|軽く|少々|弱め|控えめ")
_HIGH = re.compile(r"\b(?:much|very|a\s+lot|strongly|heavily|greatly|significantly|extremely|really|way)\b|かなり|とても|すごく|強く|強め|大きく|思いっきり|思い切り|しっかり")

# Words that carry no operation of their own.
_EN_FILLER = set("""
a an the it its it's this that these those image images photo photos photograph photographs picture pictures pic pics my your our
make makes made making turn turned convert apply applied give add put use change transfer transform render
set look looks looking like effect effects filter filters style styled tone tones toned toning colour colours
color colors version mode whole entire overall all of to into in on at with by and then also plus too so
please can could would you i want wanna need just some bit little slightly slight more much very lot lots
really quite somewhat gently lightly strongly heavily significantly subtle subtly touch way degrees degree
deg x up down be is are should amount level again now kind sort feel vibe
""".split())
_JA_FILLER = sorted("""
画像 写真 全体的 全体 この その 少し ちょっと もっと やや かなり とても すごく 軽く 強め 弱め 控えめ 少々 しっかり
思いっきり 思い切り 大きく 風 調 加工 効果 フィルター 仕上げ 感じ 雰囲気 色調 色 トーン ください 下さい お願い
します しましょう してから して させて させる する にして にする てから から また さらに それから そして
ように よう ぐらい くらい ほど だけ 度 で は を に の が も と へ て く な い た し ね よ
""".split(), key=len, reverse=True)
_QUOTES = re.compile(r"[\"“”]([^\"“”]+)[\"“”]|「([^」]+)」|『([^』]+)』|(?<![\w])'([^']+)'(?![\w])")


@dataclass(frozen=True)
class ParsedInstruction:
    operations: list[Operation]
    captions: list[str]


def clean(text: str) -> str:
    """NFKC (full-width to plain forms) without invisible format and control characters."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t")


def normalise(text: str) -> str:
    return clean(text).lower()


def parse(instruction: str) -> ParsedInstruction:
    """Return the operations the instruction asks for, or raise EditorCannotDo naming what it cannot do."""
    quotes: list[str] = []

    def _stash(m: re.Match) -> str:
        quotes.append(next(g for g in m.groups() if g is not None).strip())
        return f" ⟦q{len(quotes) - 1}⟧ "

    original_captions = [next(g for g in m.groups() if g is not None).strip()
                         for m in _QUOTES.finditer(clean(instruction))]
    text = _QUOTES.sub(_stash, normalise(instruction))

    found: list[tuple[int, int, Rule, re.Match]] = []
    masked = text
    for rule in RULES:
        for m in rule.pattern.finditer(masked):
            if not m.group(0).strip() or not _word_bounded(masked, m):
                continue
            found.append((m.start(), m.end(), rule, m))
        masked = rule.pattern.sub(lambda m: " " * len(m.group(0)) if _word_bounded(masked, m) else m.group(0), masked)
    found.sort(key=lambda f: f[0])

    leftover = _leftover_words(masked)
    if leftover or not found:
        what = " ".join(leftover)
        message = (f"The CPU editor cannot do “{what}”." if what else "The CPU editor found no edit it knows in this instruction.")
        raise EditorCannotDo(message + " It can: " + "; ".join(en for en, _ in CAPABILITIES) + ".",
                             unknown=what, capabilities=tuple(en for en, _ in CAPABILITIES),
                             code="editor.cannot" if what else "editor.no_edit")

    ops, used_captions = [], []
    for i, (start, end, rule, m) in enumerate(found):
        params = rule.params(m) if callable(rule.params) else dict(rule.params)
        if rule.op == "caption":
            idx = params.pop("quote")
            caption_text = original_captions[idx] if idx < len(original_captions) else quotes[idx]
            params = {"text": caption_text, **params}
            used_captions.append(caption_text)
        if rule.strength:
            lo = found[i - 1][1] if i else 0
            hi = found[i + 1][0] if i + 1 < len(found) else len(text)
            params["strength"] = _strength(text[lo:hi])
        ops.append(Operation(rule.op, params))
    return ParsedInstruction(ops, used_captions)


def _word_bounded(text: str, m: re.Match) -> bool:
    """A Latin-letter match must not start or end inside a word ("dim" in "dimension", "aged" in "managed")."""
    s, e = m.start(), m.end()
    before = text[s - 1] if s else " "
    after = text[e] if e < len(text) else " "
    starts_latin = m.group(0)[:1].isascii() and m.group(0)[:1].isalnum()
    ends_latin = m.group(0)[-1:].isascii() and m.group(0)[-1:].isalnum()
    return not ((starts_latin and before.isascii() and before.isalnum()) or (ends_latin and after.isascii() and after.isalnum()))


def _strength(context: str) -> str:
    if _HIGH.search(context):
        return "high"
    if _LOW.search(context):
        return "low"
    return "normal"


def _leftover_words(masked: str) -> list[str]:
    rest = re.sub(r"⟦q\d+⟧", " ", masked)
    for word in _JA_FILLER:
        rest = rest.replace(word, " ")
    words = []
    for token in re.findall(r"[\w']+|[^\w\s.,;:!?、。！？・…()（）\[\]{}\-~〜]+", rest):
        token = token.strip("'")
        if token.endswith("'s"):
            token = token[:-2]
        if token and token not in _EN_FILLER and not token.isdigit():
            words.append(token)
    return words
