"""What every command shares: the error type, the number checks for arguments, JSON printing and the runtime."""
from __future__ import annotations

import argparse
import json
import math


class CliError(Exception):
    pass


MAX_SEED = 2**31 - 1  # the page's seed field allows the same range


def whole(lo: int, hi: int | None = None):
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


def finite(lo: float, hi: float):
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


STARTED: list = []  # the runtimes this command started; main() finishes them (EDITGUARD_REPLICA) before it returns


def runtime(load_models: bool):
    from review.pipeline.runtime import Runtime

    rt = Runtime.start(load_models=load_models, replicate=False)
    STARTED.append(rt)
    return rt


def print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))
