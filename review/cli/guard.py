"""`python -m review guard`: judge texts with the text guard, from arguments or JSON lines on stdin."""
from __future__ import annotations

import json
import sys

from review.cli.common import CliError, print_json

NAME = "guard"


def add_parser(subparsers) -> None:
    g = subparsers.add_parser("guard", help="judge texts with the text guard")
    g.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin, write one verdict line each')
    g.add_argument("text", nargs="*", help="texts to judge (when not using --jsonl)")


def run(args) -> int:
    from review.guard.registry import load_text_guard
    from review.pipeline.settings import Settings

    settings = Settings.from_env()
    guard = load_text_guard(settings.guard_backend, settings.guard_model)
    if not args.jsonl:
        if not args.text:
            raise CliError("give a text to judge, or use --jsonl with JSON lines on stdin.")
        for text in args.text:
            print_json(guard.check_text(text).to_dict())
        return 0
    bad = 0
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            bad += 1
            print_json({"error": f"line {n} is not a JSON object with a text field"})
            continue
        print_json(guard.check_text(text).to_dict())
    if bad:
        print(f"error: {bad} input line(s) could not be read; see the error lines in the output.", file=sys.stderr)
    return 1 if bad else 0
