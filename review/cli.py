"""`python -m review`: the moderated edit, the guard and the reference library from the command line.

Every command honours DATABASE_URL and EDITGUARD_DATA_DIR. Errors print one plain sentence and exit non-zero.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys

from db.engine import StorageUnavailable

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


class CliError(Exception):
    pass


MAX_SEED = 2**31 - 1  # the page's seed field allows the same range


def _whole(lo: int, hi: int | None = None):
    """An argparse type: a whole number in [lo, hi], refused in plain words otherwise (no silent replacement)."""
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lo} to {hi})" if hi is not None
                                             else f"{value} is out of range (at least {lo})")
        return value
    return parse


def _finite(lo: float, hi: float):
    """An argparse type: a finite number in [lo, hi]; NaN and infinities are refused, not stored."""
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{raw} is not a number from {lo:g} to {hi:g}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m review", description="EditGuard: moderated image edits.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("guard", help="judge texts with the text guard")
    g.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin, write one verdict line each')
    g.add_argument("text", nargs="*", help="texts to judge (when not using --jsonl)")

    lib = sub.add_parser("library", help="the reference library").add_subparsers(dest="library_command", required=True)
    add = lib.add_parser("add", help="register reference works")
    add.add_argument("--title", required=True)
    add.add_argument("--owner", required=True)
    add.add_argument("--license", required=True)
    add.add_argument("--source", default="")
    add.add_argument("images", nargs="+", metavar="IMAGE")
    chk = lib.add_parser("check", help="find registered works that images resemble")
    chk.add_argument("--json", action="store_true", help="print one JSON list")
    chk.add_argument("images", nargs="+", metavar="IMAGE")
    ls = lib.add_parser("list", help="list registered works")
    ls.add_argument("--json", action="store_true")
    imp = lib.add_parser("import", help="register every image of a folder, or the rows of a CSV manifest "
                                        "(columns file,title,owner,license,source)")
    imp.add_argument("source", metavar="DIR|CSV")
    imp.add_argument("--owner", default="", help="owner for items that name none")
    imp.add_argument("--license", default="", help="license for items that name none")
    imp.add_argument("--source", dest="default_source", default="", help="source for items that name none")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")
    exp = lib.add_parser("export", help="write the library as CSV (a manifest) or JSON to stdout")
    exp.add_argument("--format", choices=("csv", "json"), default="csv")
    for name, what in (("deactivate", "stop matching against works (kept, can be activated again)"),
                       ("activate", "match against deactivated works again"),
                       ("remove", "delete works that no past edit was matched against")):
        cmd = lib.add_parser(name, help=what)
        cmd.add_argument("ids", nargs="+", type=_whole(1, 2**63 - 1), metavar="ID")

    e = sub.add_parser("edit", help="run one moderated edit exactly as the page does")
    e.add_argument("--image", required=True)
    e.add_argument("--reference", action="append", default=[], help="reference image (repeatable, up to 3)")
    e.add_argument("--instruction", required=True)
    e.add_argument("--negative-prompt", default="")
    e.add_argument("--steps", type=_whole(1), default=30)
    e.add_argument("--seed", type=_whole(0, MAX_SEED), default=None, help=f"0 to {MAX_SEED}; default: random (recorded)")
    e.add_argument("--guidance", type=_finite(0.0, 20.0), default=4.0, help="0 to 20 (default 4)")
    e.add_argument("--outputs", type=_whole(1), default=1, help="number of variants (model backends)")
    e.add_argument("--requester", default="cli")
    e.add_argument("--json", action="store_true", help="print the stored record as JSON")

    users = sub.add_parser("users", help="reviewer and admin accounts").add_subparsers(dest="users_command", required=True)
    uadd = users.add_parser("add", help="create an account (password from a prompt, or from stdin when piped)")
    uadd.add_argument("name")
    uadd.add_argument("--role", choices=["reviewer", "admin"], required=True)
    ulist = users.add_parser("list", help="every account: role, enabled, open sessions")
    ulist.add_argument("--json", action="store_true")
    for name, text in (("disable", "disable an account (its open sessions end at once)"),
                       ("enable", "let a disabled account sign in again"),
                       ("remove", "remove an account (its open sessions end at once)")):
        users.add_parser(name, help=text).add_argument("name")
    ureset = users.add_parser("reset-password", help="set a new password (from a prompt or stdin; with --generate, "
                                                     "a random one is printed once); open sessions end")
    ureset.add_argument("name")
    ureset.add_argument("--generate", action="store_true")
    urole = users.add_parser("set-role", help="change an account's role (applies at its next click)")
    urole.add_argument("name")
    urole.add_argument("role", choices=["reviewer", "admin"])

    queue = sub.add_parser("queue", help="the human review queue").add_subparsers(dest="queue_command", required=True)
    qlist = queue.add_parser("list", help="pending and claimed items")
    qlist.add_argument("--json", action="store_true")
    qexp = queue.add_parser("export", help="every item with its verdicts and decision")
    qexp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    qexp.add_argument("--output", "-o", help="file to write (default: standard output)")

    prov = sub.add_parser("provenance", help="read an output's labels back").add_subparsers(
        dest="provenance_command", required=True)
    ver = prov.add_parser("verify", help="source type, C2PA manifest and signature, model, record id, watermark")
    ver.add_argument("--json", action="store_true")
    ver.add_argument("--trust", metavar="PEM", help="trust this CA certificate too (default: this app's authority)")
    ver.add_argument("file", metavar="FILE")
    purge = sub.add_parser("purge", help="remove old edits and their images (what waits for review, what a reviewer "
                                         "decided and what was blocked stay; see EDITGUARD_KEEP_DECIDED)")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    purge.add_argument("--json", action="store_true")
    sub.add_parser("status", help="show the active backends and settings")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("EDITGUARD_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    args = build_parser().parse_args(argv)
    code = _run(args)
    try:
        for rt in _started:  # EDITGUARD_REPLICA: this command's writes are in the replica before it returns
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


_started: list = []


def _runtime(load_models: bool):
    from review.pipeline.runtime import Runtime

    rt = Runtime.start(load_models=load_models, replicate=False)
    _started.append(rt)
    return rt


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def cmd_guard(args) -> int:
    from review.guard.registry import load_text_guard
    from review.pipeline.settings import Settings

    settings = Settings.from_env()
    guard = load_text_guard(settings.guard_backend, settings.guard_model)
    if not args.jsonl:
        if not args.text:
            raise CliError("give a text to judge, or use --jsonl with JSON lines on stdin.")
        for text in args.text:
            _print_json(guard.check_text(text).to_dict())
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
            _print_json({"error": f"line {n} is not a JSON object with a text field"})
            continue
        _print_json(guard.check_text(text).to_dict())
    if bad:
        print(f"error: {bad} input line(s) could not be read; see the error lines in the output.", file=sys.stderr)
    return 1 if bad else 0


def cmd_library(args) -> int:
    from pathlib import Path

    from db.engine import run_write
    from review.pipeline.image_input import BadImage, load_image
    from review.similarity import library

    rt = _runtime(load_models=False)
    cmd = args.library_command
    if cmd == "add":
        images = []
        for path in args.images:
            try:
                images.append((path, load_image(path, max_pixels=rt.settings.max_pixels)))
            except BadImage as exc:
                raise CliError(f"{path}: {exc}") from None
        failures = 0
        for path, image in images:
            try:
                ref_id = run_write(rt.session_factory, lambda s: library.add_reference(
                    s, rt.store, image, title=args.title, owner=args.owner, license=args.license, source=args.source,
                    actor="cli", index=rt.index).id)
                print(f"registered {path} as reference #{ref_id}")
            except library.LibraryError as exc:
                failures += 1
                print(f"error: {path}: {exc}", file=sys.stderr)
        return 1 if failures else 0
    if cmd == "check":
        results, found_matches = [], []
        for path in args.images:
            try:
                image = load_image(path, max_pixels=rt.settings.max_pixels)
            except BadImage as exc:
                raise CliError(f"{path}: {exc}") from None
            found_matches.append(rt.index.search(image))
            results.append({"image": path, "matches": [m.to_dict() for m in found_matches[-1]]})
        if args.json:
            _print_json(results)
        else:
            for image, matches in zip(args.images, found_matches):
                found = ", ".join(f"#{m.reference_id} {m.title} ({m.level}, {m.basis()}, confidence {m.score:.2%})"
                                  for m in matches) or "no match"
                print(f"{image}: {found}")
        return 0
    if cmd == "import":
        try:
            items = library.read_manifest(Path(args.source), {"owner": args.owner, "license": args.license,
                                                              "source": args.default_source})
        except library.LibraryError as exc:
            raise CliError(str(exc)) from None

        def progress(n: int, total: int, name: str) -> None:
            if not args.json:
                print(f"[{n}/{total}] {name}", file=sys.stderr, flush=True)

        summary = library.import_library(rt.session_factory, rt.store, items, actor="cli", index=rt.index,
                                         max_pixels=rt.settings.max_pixels, progress=progress)
        if args.json:
            _print_json(summary.to_dict())
        else:
            for item, ref_id in summary.added:
                print(f"added {item} as reference #{ref_id}")
            for item, message in summary.duplicates:
                print(f"duplicate {item}: {message}")
            for item, message in summary.failed:
                print(f"failed {item}: {message}")
            print(f"{len(summary.added)} added, {len(summary.duplicates)} duplicate(s), {len(summary.failed)} failed "
                  f"of {len(items)}.")
        return 1 if summary.failed else 0
    if cmd == "export":
        sys.stdout.write(library.export_library(rt.session_factory, args.format))
        return 0
    if cmd in ("deactivate", "activate", "remove"):
        failures = 0
        for ref_id in args.ids:
            try:
                if cmd == "remove":
                    library.remove_reference(rt.session_factory, ref_id, actor="cli")
                else:
                    library.set_active(rt.session_factory, ref_id, cmd == "activate", actor="cli")
                print(f"{cmd}d reference #{ref_id}" if cmd != "remove" else f"removed reference #{ref_id}")
            except library.LibraryError as exc:
                failures += 1
                print(f"error: {exc}", file=sys.stderr)
        return 1 if failures else 0
    refs = library.list_references(rt.session_factory)
    if args.json:
        _print_json(refs)
    else:
        for r in refs:
            print(f"#{r['id']} {r['title']} — {r['owner']} ({r['license']}){'' if r['active'] else ' [inactive]'}")
    return 0


def cmd_edit(args) -> int:
    from review.pipeline.flow import EditFailed, Submission, run_edit

    rt = _runtime(load_models=True)
    sub = Submission(image=args.image, instruction=args.instruction, references=args.reference,
                     negative_prompt=args.negative_prompt, seed=args.seed, steps=args.steps, guidance=args.guidance,
                     num_outputs=args.outputs, requester=args.requester)
    try:
        record = run_edit(rt, sub)
    except EditFailed as exc:
        raise CliError(str(exc)) from None
    if args.json:
        _print_json(record)
    else:
        print(f"{record['id']}: {record['decision']}" + (f" ({', '.join(record['reasons'])})" if record["reasons"] else ""))
        for path in record["outputs"]:
            print(f"  output: {path}")
    return 0


def cmd_status(args) -> int:
    rt = _runtime(load_models=True)
    for key, value in rt.status().items():
        print(f"{key}: {value}")
    return 0


def cmd_users(args) -> int:
    """Accounts; every change is written to the event log with the actor `cli`."""
    from review.queue import accounts as auth

    rt = _runtime(load_models=False)
    try:
        if args.users_command == "list":
            rows = auth.list_users(rt.session_factory)
            if args.json:
                _print_json([{**r, "created_at": r["created_at"].isoformat()} for r in rows])
            for r in rows if not args.json else []:
                print(f"{r['name']:<30} {r['role']:<9} {'enabled' if r['active'] else 'disabled':<9} "
                      f"{r['via']:<12} {r['open_sessions']} open session(s)")
            return 0
        if args.users_command in ("disable", "enable"):
            auth.set_active(rt.session_factory, "cli", args.name, args.users_command == "enable")
        elif args.users_command == "remove":
            auth.remove_user(rt.session_factory, "cli", args.name)
        elif args.users_command == "set-role":
            auth.set_role(rt.session_factory, "cli", args.name, args.role)
        elif args.users_command == "reset-password":
            new = auth.reset_password(rt.session_factory, "cli", args.name,
                                      None if args.generate else _read_password())
            if args.generate:
                print(f"new password for {args.name}: {new}")
        else:
            auth.add_user(rt.session_factory, args.name, args.role, _read_password())
    except auth.AuthError as exc:
        raise CliError(str(exc)) from None
    if args.users_command == "add":
        print(f"added {args.role} {args.name}")
        return 0
    verb = {"disable": "disabled", "enable": "enabled", "remove": "removed",
            "set-role": "changed the role of", "reset-password": "reset the password of"}[args.users_command]
    print(f"{verb} {args.name}")
    return 0


def _read_password() -> str:
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the passwords differ.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password


def cmd_queue(args) -> int:
    rt = _runtime(load_models=False)
    if args.queue_command == "list":
        items, _ = rt.queue.list(status="open", page_size=10**9)
        rows = [{k: i[k] for k in ("id", "request_id", "status", "reasons", "priority", "age_minutes", "claimed_by",
                                   "escalated", "created_at")} for i in items]
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                print(f"#{r['id']} {r['status']:<9} p{r['priority']} {r['age_minutes']:>8.1f} min  {', '.join(r['reasons'])}"
                      + (f"  ({r['claimed_by']})" if r["claimed_by"] else ""))
        return 0
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


def cmd_provenance(args) -> int:
    from pathlib import Path

    from review.provenance.signing import trust_anchors
    from review.provenance.verify import NotAnImage, verify
    from review.pipeline.settings import Settings

    settings = Settings.from_env()
    _restore(settings)
    anchors = (_read(args.trust) if args.trust else b"") + (
        trust_anchors(settings.data_dir / "provenance", settings.provenance.cert_path) or b"")
    try:
        result = verify(_read(args.file), anchors or None)
    except NotAnImage as exc:
        raise CliError(f"{Path(args.file).name}: {exc}") from None
    state = (result["c2pa"] or {}).get("state", "none")
    if args.json:
        _print_json({"file": args.file, **result})
    else:
        meta, mark = result["metadata"] or {}, result["watermark"]
        print(f"file:          {args.file} ({result['format']})")
        print(f"source type:   {result['source_type'] or 'not stated'}")
        print(f"AI-generated:  {'yes' if result['ai_generated'] else 'not stated'}")
        print(f"model:         {result['model'] or '-'} ({meta.get('model_license') or 'license not stated'})")
        print(f"record id:     {result['record_id'] or '-'}")
        print(f"C2PA:          {state}" + "".join(f"\n               {e}" for e in (result["c2pa"] or {}).get("errors", [])))
        found = {True: f"present {mark['payload']}", False: "none found"}.get(mark["present"], mark.get("note", "-"))
        print(f"watermark:     {found}" + (" (matches the record)" if mark.get("matches_record") else ""))
    return 0 if state == "Trusted" else 1


def _restore(settings) -> None:
    """Commands that need no database still read the data directory: bring it back first on a wiped disk."""
    from db.image_store import prepare_data_dir
    from db.replica import open_replica

    replica = open_replica(settings.replica, settings.data_dir, settings.database_url)
    if replica:
        prepare_data_dir(settings.data_dir)
        replica.restore()


def _read(path: str) -> bytes:
    from pathlib import Path

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"{Path(path).name}: {exc.strerror}.") from None


def cmd_purge(args) -> int:
    from review.privacy.retention import purge

    rt = _runtime(load_models=False)
    report = purge(rt.session_factory, rt.store, args.older_than, keep_decided=rt.settings.keep_decided,
                   dry_run=args.dry_run)
    if args.json:
        _print_json({"dry_run": args.dry_run, **report.to_dict()})
    else:
        verb = "would remove" if args.dry_run else "removed"
        print(f"{verb} {len(report.requests)} edit(s) older than {args.older_than} day(s) and "
              f"{report.images_removed} image file(s) ({report.bytes_freed:,} bytes); kept {report.kept_open} waiting "
              f"for review and {report.kept_for_audit} for the audit trail.")
    return 0


COMMANDS = {"guard": cmd_guard, "library": cmd_library, "edit": cmd_edit, "status": cmd_status, "users": cmd_users,
            "queue": cmd_queue, "provenance": cmd_provenance, "purge": cmd_purge}
