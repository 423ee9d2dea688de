"""`python -m review provenance verify`: read an output's labels back (source type, C2PA, model, record, watermark)."""
from __future__ import annotations

from review.cli.common import CliError, print_json

NAME = "provenance"


def add_parser(subparsers) -> None:
    prov = subparsers.add_parser("provenance", help="read an output's labels back").add_subparsers(
        dest="provenance_command", required=True)
    ver = prov.add_parser("verify", help="source type, C2PA manifest and signature, model, record id, watermark")
    ver.add_argument("--json", action="store_true")
    ver.add_argument("--trust", metavar="PEM", help="trust this CA certificate too (default: this app's authority)")
    ver.add_argument("file", metavar="FILE")


def run(args) -> int:
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
        print_json({"file": args.file, **result})
    else:
        _print_text(args.file, result, state)
    return 0 if state == "Trusted" else 1


def _print_text(file: str, result: dict, state: str) -> None:
    meta, mark = result["metadata"] or {}, result["watermark"]
    print(f"file:          {file} ({result['format']})")
    print(f"source type:   {result['source_type'] or 'not stated'}")
    print(f"AI-generated:  {'yes' if result['ai_generated'] else 'not stated'}")
    print(f"model:         {result['model'] or '-'} ({meta.get('model_license') or 'license not stated'})")
    print(f"record id:     {result['record_id'] or '-'}")
    print(f"C2PA:          {state}" + "".join(f"\n               {e}" for e in (result["c2pa"] or {}).get("errors", [])))
    found = {True: f"present {mark['payload']}", False: "none found"}.get(mark["present"], mark.get("note", "-"))
    print(f"watermark:     {found}" + (" (matches the record)" if mark.get("matches_record") else ""))


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
