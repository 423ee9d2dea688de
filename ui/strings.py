"""Every word the page shows, in English and Japanese.

Static labels go to the browser through `gr.I18n` (it follows the browser's language); text the server renders
(verdict badges, warnings, errors) is looked up here with the language of the request's Accept-Language header.
"""
from __future__ import annotations

from editor.classic.parser import CAPABILITIES
from review.labels import COPYRIGHT, ILLEGAL, JAILBREAK, PII, POLITICAL, SELF_HARM, SEXUAL, UNETHICAL, VIOLENT

EN = {
    # page
    "title": "EditGuard",
    "tagline": "AI image edits with a safety gate: every instruction and result is checked, look-alikes of registered works are flagged, and anything unclear goes to a human reviewer.",
    "tab_edit": "Edit",
    "image": "Image to edit",
    "references": "Reference images (optional, for subject-driven edits; up to 3)",
    "instruction": "Instruction",
    "instruction_placeholder": "e.g. Make it black and white and blur it slightly / 白黒にして少しぼかして",
    "negative": "Negative prompt (model backends)",
    "advanced": "Model options",
    "advanced_note": "Seed, steps, guidance and variants are used by the GPU model backends; the CPU editor is deterministic and makes one result.",
    "seed": "Seed",
    "randomize": "Random seed",
    "steps": "Steps",
    "guidance": "Guidance (true CFG)",
    "variants": "Variants",
    "run": "Run edit",
    "compare": "Before / after",
    "outputs": "Results",
    "verdicts": "Checks",
    "examples": "Examples",
    "status_line": "Active: editor {editor} · text guard {text_guard} · image guard {image_guard} · similarity {similarity} · policy {policy} · database {database}",
    # decisions
    "decision_released": "Released",
    "decision_pending_review": "Awaiting review",
    "decision_blocked": "Blocked",
    "why_released": "All checks passed; the result is yours.",
    "why_pending_review": "A person will review this result before it is shown in full. It stays blurred until then.",
    "why_blocked": "This edit was refused. No image was produced or kept.",
    "record": "Record {id}",
    # verdicts
    "verdict_instruction": "Instruction",
    "verdict_output": "Result {n}",
    "label_Safe": "Safe",
    "label_Controversial": "Controversial",
    "label_Unsafe": "Unsafe",
    "unavailable": "the guard could not judge this; a person will look",
    "why": "why",
    "no_evidence": "nothing of concern found",
    # reasons
    "reason_instruction:unsafe": "the instruction asks for something not allowed",
    "reason_output:unsafe": "the result contains something not allowed",
    "reason_instruction:controversial": "the instruction touches a sensitive subject",
    "reason_output:controversial": "the result touches a sensitive subject",
    "reason_instruction:guard_unavailable": "the instruction could not be checked",
    "reason_output:guard_unavailable": "the result could not be checked",
    "reason_similarity:input": "the uploaded image closely matches a registered work",
    "reason_similarity:reference": "a reference image closely matches a registered work",
    "reason_similarity:output": "the result closely matches a registered work",
    # similarity
    "similar_title": "Resembles a registered work",
    "similar_on_input": "your uploaded image",
    "similar_on_reference": "reference image {n}",
    "similar_on_output": "result {n}",
    "similar_level_review": "very close: sent to review",
    "similar_level_warn": "similar: possible copyright issue",
    "similar_detail": "{where} · distance {distance}/64 · owner {owner} · license {license}",
    # errors
    "error_title": "The edit could not be done",
    "err_image.missing": "Please upload an image to edit.",
    "err_image.empty": "The file is empty.",
    "err_image.not_found": "The image file could not be found. Please upload it again.",
    "err_image.not_image": "The file is not an image this app can read (PNG, JPEG, WebP, GIF, TIFF, BMP).",
    "err_image.damaged": "The image file is damaged or incomplete and cannot be read.",
    "err_image.too_big": "The file is too big: at most {mb} MB are accepted.",
    "err_image.too_many_pixels": "The image is too large: at most {max_pixels:,} pixels are accepted.",
    "err_image.too_small": "The image is too small: each side needs at least {min_side} pixels.",
    "err_refs.too_many": "At most {n} reference images are accepted.",
    "err_text.empty": "Please type an instruction.",
    "err_text.too_long": "The instruction is too long ({n:,} characters); at most {limit:,} are accepted.",
    "err_text.not_text": "The instruction must be text.",
    "err_editor.cannot": "The CPU editor cannot do “{unknown}”. It can do: {capabilities}.",
    "err_editor.no_edit": "The CPU editor found no edit it knows in this instruction. It can do: {capabilities}.",
    "err_editor.resize_size": "Say what size to resize to, e.g. “resize to 50%”, “resize to 512x512” or “half size”.",
    "err_editor.font": "Captions in Japanese need a CJK font on the server (fonts-noto-cjk, or EDITGUARD_FONT).",
    "err_editor.too_large": "The result would be larger than this app allows.",
    "err_editor.failed": "The editor failed unexpectedly; nothing was saved. Please try again.",
    "err_db.busy": "The database is busy; nothing was saved. Please try again in a moment.",
    "err_db.unavailable": "The database is unavailable; nothing was saved. Please try again later.",
    "err_param.range": "The {name} must be between {lo} and {hi}.",
    "err_error": "Something went wrong; nothing was saved.",
    "reference_prefix": "Reference image {reference}: ",
}

JA = {
    "title": "EditGuard",
    "tagline": "安全チェック付きの AI 画像編集。指示と結果はすべて確認され、登録作品に似た画像には警告が出て、判断が難しいものは担当者が確認します。",
    "tab_edit": "編集",
    "image": "編集する画像",
    "references": "参照画像（任意・被写体を使った生成用、3 枚まで）",
    "instruction": "指示",
    "instruction_placeholder": "例：白黒にして少しぼかして / Make it black and white and blur it slightly",
    "negative": "ネガティブプロンプト（モデル使用時）",
    "advanced": "モデルの設定",
    "advanced_note": "シード・ステップ数・ガイダンス・バリエーション数は GPU モデルで使われます。CPU エディタは決定的で、結果は 1 枚です。",
    "seed": "シード",
    "randomize": "シードをランダムにする",
    "steps": "ステップ数",
    "guidance": "ガイダンス（true CFG）",
    "variants": "バリエーション数",
    "run": "編集を実行",
    "compare": "編集前 / 編集後",
    "outputs": "結果",
    "verdicts": "チェック結果",
    "examples": "例",
    "status_line": "使用中：エディタ {editor} ・テキストガード {text_guard} ・画像ガード {image_guard} ・類似検索 {similarity} ・ポリシー {policy} ・データベース {database}",
    "decision_released": "公開済み",
    "decision_pending_review": "確認待ち",
    "decision_blocked": "ブロック",
    "why_released": "すべてのチェックを通過しました。結果をご利用いただけます。",
    "why_pending_review": "担当者が確認するまで、結果はぼかして表示されます。",
    "why_blocked": "この編集はお受けできません。画像は生成・保存されていません。",
    "record": "記録 {id}",
    "verdict_instruction": "指示",
    "verdict_output": "結果 {n}",
    "label_Safe": "安全",
    "label_Controversial": "要注意",
    "label_Unsafe": "不適切",
    "unavailable": "ガードが判定できなかったため、担当者が確認します",
    "why": "理由",
    "no_evidence": "問題は見つかりませんでした",
    "reason_instruction:unsafe": "指示に許可されていない内容が含まれています",
    "reason_output:unsafe": "結果に許可されていない内容が含まれています",
    "reason_instruction:controversial": "指示が慎重な扱いを要する内容に触れています",
    "reason_output:controversial": "結果が慎重な扱いを要する内容に触れています",
    "reason_instruction:guard_unavailable": "指示を確認できませんでした",
    "reason_output:guard_unavailable": "結果を確認できませんでした",
    "reason_similarity:input": "アップロードした画像が登録作品とよく似ています",
    "reason_similarity:reference": "参照画像が登録作品とよく似ています",
    "reason_similarity:output": "結果が登録作品とよく似ています",
    "similar_title": "登録作品に似ています",
    "similar_on_input": "アップロードした画像",
    "similar_on_reference": "参照画像 {n}",
    "similar_on_output": "結果 {n}",
    "similar_level_review": "非常に近いため確認に回されました",
    "similar_level_warn": "似ています（著作権に注意）",
    "similar_detail": "{where}・距離 {distance}/64・権利者 {owner}・ライセンス {license}",
    "error_title": "編集できませんでした",
    "err_image.missing": "編集する画像をアップロードしてください。",
    "err_image.empty": "ファイルが空です。",
    "err_image.not_found": "画像ファイルが見つかりません。もう一度アップロードしてください。",
    "err_image.not_image": "このファイルは読み込める画像ではありません（PNG・JPEG・WebP・GIF・TIFF・BMP に対応）。",
    "err_image.damaged": "画像ファイルが壊れているか途中までしかないため、読み込めません。",
    "err_image.too_big": "ファイルが大きすぎます。{mb} MB までです。",
    "err_image.too_many_pixels": "画像が大きすぎます。{max_pixels:,} ピクセルまでです。",
    "err_image.too_small": "画像が小さすぎます。各辺 {min_side} ピクセル以上必要です。",
    "err_refs.too_many": "参照画像は {n} 枚までです。",
    "err_text.empty": "指示を入力してください。",
    "err_text.too_long": "指示が長すぎます（{n:,} 文字）。{limit:,} 文字までです。",
    "err_text.not_text": "指示は文字で入力してください。",
    "err_editor.cannot": "CPU エディタでは「{unknown}」はできません。できること：{capabilities}。",
    "err_editor.no_edit": "CPU エディタが分かる編集が指示に見つかりませんでした。できること：{capabilities}。",
    "err_editor.resize_size": "リサイズ後の大きさを指定してください（例：「50%に縮小」「512x512にリサイズ」「半分のサイズ」）。",
    "err_editor.font": "日本語の文字入れにはサーバーに日本語フォントが必要です（fonts-noto-cjk または EDITGUARD_FONT）。",
    "err_editor.too_large": "結果の画像がこのアプリの上限を超えてしまいます。",
    "err_editor.failed": "エディタで予期しないエラーが起きました。何も保存されていません。もう一度お試しください。",
    "err_db.busy": "データベースが混み合っています。何も保存されていません。少し待ってからお試しください。",
    "err_db.unavailable": "データベースに接続できません。何も保存されていません。時間をおいてお試しください。",
    "err_param.range": "{name} は {lo} から {hi} の間で指定してください。",
    "err_error": "問題が発生しました。何も保存されていません。",
    "reference_prefix": "参照画像 {reference}：",
}

CATEGORY_JA = {
    VIOLENT: "暴力", ILLEGAL: "違法行為（非暴力）", SEXUAL: "性的コンテンツ", PII: "個人情報", SELF_HARM: "自殺・自傷",
    UNETHICAL: "非倫理的行為", POLITICAL: "政治的に敏感な話題", COPYRIGHT: "著作権侵害", JAILBREAK: "ジェイルブレイク",
}
STRINGS = {"en": EN, "ja": JA}


def language(accept_language: str | None) -> str:
    """The first language in Accept-Language that the page speaks; English otherwise."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in STRINGS:
            return code
    return "en"


def t(lang: str, key: str, **params) -> str:
    table = STRINGS.get(lang, EN)
    template = table.get(key) or EN.get(key) or key
    try:
        return template.format(**params)
    except (KeyError, ValueError, IndexError):
        return template


def category(lang: str, name: str) -> str:
    return CATEGORY_JA.get(name, name) if lang == "ja" else name


def capabilities(lang: str) -> str:
    return ("、" if lang == "ja" else "; ").join(ja if lang == "ja" else en for en, ja in CAPABILITIES)


def error_message(lang: str, code: str, params: dict) -> str:
    """The user's error in their language; unknown codes fall back to a generic sentence."""
    params = dict(params)
    prefix = t(lang, "reference_prefix", **params) if "reference" in params else ""
    key = f"err_{code}" if f"err_{code}" in EN else "err_error"
    return prefix + t(lang, key, capabilities=capabilities(lang), **params)


I18N_PREFIX = "eg_"  # keeps our keys clear of Gradio's own translation keys ("image", "upload", ...)


def i18n_tables() -> dict[str, dict[str, str]]:
    """The tables for gr.I18n, with prefixed keys; look them up with `label(i18n, key)`."""
    return {lang: {I18N_PREFIX + k: v for k, v in table.items()} for lang, table in STRINGS.items()}


def label(i18n, key: str):
    """A static label that the browser translates."""
    return i18n(I18N_PREFIX + key)
