"""`python -m review`: the moderated edit, the guard and the reference library from the command line.

Every command honours DATABASE_URL and EDITGUARD_DATA_DIR. Errors print one plain sentence and exit non-zero.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from db.engine import StorageUnavailable

EPILOG = """environment:
  EDITGUARD_REVIEWERS  Hugging Face users (or org:NAME) who may review on a Space
  EDITGUARD_ADMINS     Hugging Face users (or org:NAME) who may review and decide escalations
  EDITGUARD_DATA_DIR   data directory (database, images); default ./data
  DATABASE_URL         SQLAlchemy URL; default sqlite:///$EDITGUARD_DATA_DIR/editguard.db
  EDITGUARD_POLICY_MODE strict | review (default) | loose
  EDITOR_BACKEND       auto (default) | classic | qwen-image-edit | qwen-image-2.1 (EDITOR_MODEL)
  GUARD_BACKEND        auto (default) | context | rules | qwen3guard   (GUARD_MODEL: hub id or folder)
  IMAGE_GUARD          auto (default) | none | a list of nudenet,qr,vl   (IMAGE_GUARD_MODEL: the vl checkpoint)
  EDITGUARD_RETENTION_DAYS, EDITGUARD_KEEP_DECIDED, EDITGUARD_C2PA, EDITGUARD_WATERMARK, EDITGUARD_C2PA_CERT,
  EDITGUARD_C2PA_KEY, EDITGUARD_SIMILARITY_INDEX: see the README
"""


class CliError(Exception):
    pass


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
        cmd.add_argument("ids", nargs="+", type=int, metavar="ID")

    e = sub.add_parser("edit", help="run one moderated edit exactly as the page does")
    e.add_argument("--image", required=True)
    e.add_argument("--reference", action="append", default=[], help="reference image (repeatable, up to 3)")
    e.add_argument("--instruction", required=True)
    e.add_argument("--negative-prompt", default="")
    e.add_argument("--steps", type=int, default=30)
    e.add_argument("--seed", type=int, default=None, help="default: random (recorded)")
    e.add_argument("--guidance", type=float, default=4.0)
    e.add_argument("--outputs", type=int, default=1, help="number of variants (model backends)")
    e.add_argument("--requester", default="cli")
    e.add_argument("--json", action="store_true", help="print the stored record as JSON")

    users = sub.add_parser("users", help="reviewer and admin accounts").add_subparsers(dest="users_command", required=True)
    uadd = users.add_parser("add", help="create an account (password from a prompt, or from stdin when piped)")
    uadd.add_argument("name")
    uadd.add_argument("--role", choices=["reviewer", "admin"], required=True)

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


def _runtime(load_models: bool):
    from review.runtime import Runtime

    return Runtime.start(load_models=load_models)


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def cmd_guard(args) -> int:
    from review.guard.registry import load_text_guard
    from review.settings import Settings

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
    from editor.image_input import BadImage, load_image
    from review import library

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
        results = []
        for path in args.images:
            try:
                image = load_image(path, max_pixels=rt.settings.max_pixels)
            except BadImage as exc:
                raise CliError(f"{path}: {exc}") from None
            results.append({"image": path, "matches": [m.to_dict() for m in rt.index.search(image)]})
        if args.json:
            _print_json(results)
        else:
            for r in results:
                found = ", ".join(f"#{m['reference_id']} {m['title']} ({m['level']}, {m['hash_kind']} distance "
                                  f"{m['distance']}, score {m['score']:.4f})" for m in r["matches"]) or "no match"
                print(f"{r['image']}: {found}")
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
    from review.flow import EditFailed, Submission, run_edit

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
    import getpass

    from review.auth import AuthError, add_user

    rt = _runtime(load_models=False)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the passwords differ.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        add_user(rt.session_factory, args.name, args.role, password)
    except AuthError as exc:
        raise CliError(str(exc)) from None
    print(f"added {args.role} {args.name}")
    return 0


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
    from review.export import write_csv, write_jsonl

    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
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
    from review.settings import Settings

    settings = Settings.from_env()
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


def _read(path: str) -> bytes:
    from pathlib import Path

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"{Path(path).name}: {exc.strerror}.") from None


def cmd_purge(args) -> int:
    from review.retention import purge

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
