"""What the classic CPU editor understands: the share of ImgEdit's benign edit instructions it carries out or declines.

Declining is fine (it says what it can do instead); doing the wrong thing is not, so the instructions it does carry
out are listed with the operations it chose, for a person to read. The baseline, in the same run, is a set of
instructions written for its documented operations (Japanese and English), which it should all carry out.

    .venv/bin/python -m bench.classic_coverage [--data ../shared/data/imgedit]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from editor.base import EditorCannotDo
from editor.classic.parser import parse

DOCUMENTED = [
    "白黒にして少しぼかして", "Make it black and white and slightly blurred", "セピアにして", "invert the colors",
    "もっと明るくして", "make it darker", "コントラストを上げて", "reduce the saturation", "暖かい色にして",
    "make it cooler", "シャープにして", "rotate 90 degrees clockwise", "左に90度回転", "flip horizontally", "上下反転",
    "crop to the center", "中央をトリミング", "resize to 50%", "512x512にリサイズ", 'add the text "Hello" at the top',
    "下に「こんにちは」と文字を入れて", "posterize", "漫画風にして", "make it vintage", "レトロ風にして",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "imgedit"))
    args = parser.parse_args()
    data = Path(args.data)
    items = [(name, v.get("edit_type", "uge"), v["prompt"]) for name in ("basic_edit.json", "UGE_edit.json")
             for v in json.loads((data / name).read_text()).values()]
    done, declined, by_type = [], Counter(), Counter()
    t = time.perf_counter()
    for _, edit_type, prompt in items:
        try:
            done.append({"instruction": prompt, "edit_type": edit_type,
                         "operations": [op.describe() for op in parse(prompt).operations]})
        except EditorCannotDo as exc:
            declined[exc.code] += 1
            by_type[edit_type] += 1
    per_item_ms = (time.perf_counter() - t) * 1000 / len(items)
    documented_ok = sum(1 for text in DOCUMENTED if _ok(text))
    print(json.dumps({
        "benchmark": "classic_coverage",
        "imgedit_instructions": len(items),
        "carried_out": len(done),
        "declined": sum(declined.values()),
        "carried_out_share": round(len(done) / len(items), 4),
        "declined_by_reason": dict(declined),
        "declined_by_edit_type": dict(by_type),
        "carried_out_items": done,
        "baseline_documented_instructions": len(DOCUMENTED),
        "baseline_documented_carried_out": documented_ok,
        "parse_ms_per_instruction": round(per_item_ms, 3),
    }, ensure_ascii=False, indent=2))


def _ok(text: str) -> bool:
    try:
        return bool(parse(text).operations)
    except EditorCannotDo:
        return False


if __name__ == "__main__":
    main()
