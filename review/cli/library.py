"""`python -m review library`: the reference library — add, check, list, import, export, (de)activate, remove."""
from __future__ import annotations

import sys

from review.cli.common import CliError, print_json, runtime, whole

NAME = "library"


def add_parser(subparsers) -> None:
    lib = subparsers.add_parser("library", help="the reference library").add_subparsers(dest="library_command",
                                                                                        required=True)
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
        cmd.add_argument("ids", nargs="+", type=whole(1, 2**63 - 1), metavar="ID")


def run(args) -> int:
    rt = runtime(load_models=False)
    return HANDLERS[args.library_command](rt, args)


def _load(rt, path: str):
    from review.pipeline.image_input import BadImage, load_image

    try:
        return load_image(path, max_pixels=rt.settings.max_pixels)
    except BadImage as exc:
        raise CliError(f"{path}: {exc}") from None


def _add(rt, args) -> int:
    from db.engine import run_write
    from review.similarity import library

    images = [(path, _load(rt, path)) for path in args.images]  # every image is read before any is registered
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


def _check(rt, args) -> int:
    results, found_matches = [], []
    for path in args.images:
        image = _load(rt, path)
        found_matches.append(rt.index.search(image))
        results.append({"image": path, "matches": [m.to_dict() for m in found_matches[-1]]})
    if args.json:
        print_json(results)
    else:
        for image, matches in zip(args.images, found_matches):
            found = ", ".join(f"#{m.reference_id} {m.title} ({m.level}, {m.basis()}, confidence {m.score:.2%})"
                              for m in matches) or "no match"
            print(f"{image}: {found}")
    return 0


def _list(rt, args) -> int:
    from review.similarity import library

    refs = library.list_references(rt.session_factory)
    if args.json:
        print_json(refs)
    else:
        for r in refs:
            print(f"#{r['id']} {r['title']} — {r['owner']} ({r['license']}){'' if r['active'] else ' [inactive]'}")
    return 0


def _import(rt, args) -> int:
    from pathlib import Path

    from review.similarity import bulk_import, library

    try:
        items = library.read_manifest(Path(args.source), {"owner": args.owner, "license": args.license,
                                                          "source": args.default_source})
    except library.LibraryError as exc:
        raise CliError(str(exc)) from None

    def progress(n: int, total: int, name: str) -> None:
        if not args.json:
            print(f"[{n}/{total}] {name}", file=sys.stderr, flush=True)

    summary = bulk_import.import_library(rt.session_factory, rt.store, items, actor="cli", index=rt.index,
                                         max_pixels=rt.settings.max_pixels, progress=progress)
    if args.json:
        print_json(summary.to_dict())
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


def _export(rt, args) -> int:
    from review.similarity import library

    sys.stdout.write(library.export_library(rt.session_factory, args.format))
    return 0


def _each_id(args, change, done: str) -> int:
    """Apply `change` to every ID in turn; one that fails is reported and the rest still go ahead."""
    from review.similarity import library

    failures = 0
    for ref_id in args.ids:
        try:
            change(ref_id)
            print(f"{done} reference #{ref_id}")
        except library.LibraryError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def _deactivate(rt, args) -> int:
    from review.similarity import library

    return _each_id(args, lambda ref_id: library.set_active(rt.session_factory, ref_id, False, actor="cli"),
                    "deactivated")


def _activate(rt, args) -> int:
    from review.similarity import library

    return _each_id(args, lambda ref_id: library.set_active(rt.session_factory, ref_id, True, actor="cli"),
                    "activated")


def _remove(rt, args) -> int:
    from review.similarity import library

    return _each_id(args, lambda ref_id: library.remove_reference(rt.session_factory, ref_id, actor="cli"), "removed")


HANDLERS = {"add": _add, "check": _check, "list": _list, "import": _import, "export": _export,
            "deactivate": _deactivate, "activate": _activate, "remove": _remove}
