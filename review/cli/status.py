"""`python -m review status`: the active backends and settings."""
from __future__ import annotations

from review.cli.common import runtime

NAME = "status"


def add_parser(subparsers) -> None:
    subparsers.add_parser("status", help="show the active backends and settings")


def run(args) -> int:
    rt = runtime(load_models=True)
    for key, value in rt.status().items():
        print(f"{key}: {value}")
    return 0
