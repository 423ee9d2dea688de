"""`python -m review purge`: remove old edits and their images (the retention rule)."""
from __future__ import annotations

from review.cli.common import print_json, runtime

NAME = "purge"


def add_parser(subparsers) -> None:
    purge = subparsers.add_parser("purge", help="remove old edits and their images (what waits for review, what a "
                                                "reviewer decided and what was blocked stay; see EDITGUARD_KEEP_DECIDED)")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    purge.add_argument("--json", action="store_true")


def run(args) -> int:
    from review.privacy.retention import purge

    rt = runtime(load_models=False)
    report = purge(rt.session_factory, rt.store, args.older_than, keep_decided=rt.settings.keep_decided,
                   dry_run=args.dry_run)
    if args.json:
        print_json({"dry_run": args.dry_run, **report.to_dict()})
    else:
        verb = "would remove" if args.dry_run else "removed"
        print(f"{verb} {len(report.requests)} edit(s) older than {args.older_than} day(s) and "
              f"{report.images_removed} image file(s) ({report.bytes_freed:,} bytes); kept {report.kept_open} waiting "
              f"for review and {report.kept_for_audit} for the audit trail.")
    return 0
