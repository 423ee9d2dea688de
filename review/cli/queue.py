"""`python -m review queue`: the human review queue — list what is open, export every item."""
from __future__ import annotations

import sys

from review.cli.common import CliError, print_json, runtime

NAME = "queue"


def add_parser(subparsers) -> None:
    queue = subparsers.add_parser("queue", help="the human review queue").add_subparsers(dest="queue_command",
                                                                                         required=True)
    qlist = queue.add_parser("list", help="pending and claimed items")
    qlist.add_argument("--json", action="store_true")
    qexp = queue.add_parser("export", help="every item with its verdicts and decision")
    qexp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    qexp.add_argument("--output", "-o", help="file to write (default: standard output)")


def run(args) -> int:
    rt = runtime(load_models=False)
    if args.queue_command == "list":
        return _list(rt, args)
    return _export(rt, args)


def _list(rt, args) -> int:
    items, _ = rt.queue.list(status="open", page_size=10**9)
    rows = [{k: i[k] for k in ("id", "request_id", "status", "reasons", "priority", "age_minutes", "claimed_by",
                               "escalated", "created_at")} for i in items]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"#{r['id']} {r['status']:<9} p{r['priority']} {r['age_minutes']:>8.1f} min  {', '.join(r['reasons'])}"
                  + (f"  ({r['claimed_by']})" if r["claimed_by"] else ""))
    return 0


def _export(rt, args) -> int:
    from review.queue.export import write_csv, write_jsonl

    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}; choose a writable file path.") from None
    try:
        (write_csv if args.format == "csv" else write_jsonl)(rt.queue.export(), out)
    finally:
        if args.output:
            out.close()
    return 0
