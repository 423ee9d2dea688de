"""`python -m review users`: reviewer and admin accounts; every change is logged with the actor `cli`."""
from __future__ import annotations

import sys

from review.cli.common import CliError, print_json, runtime

NAME = "users"


def add_parser(subparsers) -> None:
    users = subparsers.add_parser("users", help="reviewer and admin accounts").add_subparsers(dest="users_command",
                                                                                              required=True)
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


def run(args) -> int:
    """Accounts; every change is written to the event log with the actor `cli`."""
    from review.queue import accounts as auth

    rt = runtime(load_models=False)
    try:
        if args.users_command == "list":
            _list(auth.list_users(rt.session_factory), args.json)
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


def _list(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print_json([{**r, "created_at": r["created_at"].isoformat()} for r in rows])
        return
    for r in rows:
        print(f"{r['name']:<30} {r['role']:<9} {'enabled' if r['active'] else 'disabled':<9} "
              f"{r['via']:<12} {r['open_sessions']} open session(s)")


def _read_password() -> str:
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the passwords differ.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password
