"""`python -m review`: the moderated edit, the guard and the reference library from the command line.

Every command honours DATABASE_URL and EDITGUARD_DATA_DIR. Errors print one plain sentence and exit non-zero.
Each command group lives in a module of its own (review/cli/<command>.py) with its `add_parser` and `run`;
this module assembles the parser from them and runs the chosen one.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from db.engine import StorageUnavailable
from review.cli import edit, guard, library, provenance, purge, queue, status, users
from review.cli.common import STARTED, CliError

EPILOG = """environment:
  EDITGUARD_REVIEWERS  Hugging Face users (or org:NAME) who may review on a Space
  EDITGUARD_ADMINS     Hugging Face users (or org:NAME) who may review and decide escalations
  EDITGUARD_DATA_DIR   data directory (database, images); default ./data
  DATABASE_URL         SQLAlchemy URL; default sqlite:///$EDITGUARD_DATA_DIR/editguard.db
  EDITGUARD_REPLICA    s3://BUCKET/PREFIX?endpoint=URL or a folder: database and files replicated there
  EDITGUARD_POLICY_MODE strict | review (default) | loose
  EDITOR_BACKEND       auto (default) | classic | qwen-image-edit | qwen-image-2.1 (EDITOR_MODEL)
  GUARD_BACKEND        auto (default) | context | rules | qwen3guard   (GUARD_MODEL: hub id or folder)
  IMAGE_GUARD          auto (default) | none | a list of nudenet,qr,vl   (IMAGE_GUARD_MODEL: the vl checkpoint)
  EDITGUARD_RETENTION_DAYS, EDITGUARD_KEEP_DECIDED, EDITGUARD_C2PA, EDITGUARD_WATERMARK, EDITGUARD_C2PA_CERT,
  EDITGUARD_C2PA_KEY, EDITGUARD_SIMILARITY_INDEX, EDITGUARD_BLOCKED_PICTURE_DAYS, EDITGUARD_SECRET: see the README
"""

GROUPS = (guard, library, edit, users, queue, provenance, purge, status)  # the order `--help` lists them in
COMMANDS = {group.NAME: group.run for group in GROUPS}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m review", description="EditGuard: moderated image edits.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("EDITGUARD_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    args = build_parser().parse_args(argv)
    code = _run(args)
    try:
        for rt in STARTED:  # EDITGUARD_REPLICA: this command's writes are in the replica before it returns
            rt.finish()
    except StorageUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


def _run(args) -> int:
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except StorageUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ValueError as exc:  # bad settings or arguments, worded for people
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
    return 1
