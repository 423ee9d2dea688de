"""`python -m review edit`: one moderated edit, run exactly as the page runs it."""
from __future__ import annotations

from review.cli.common import MAX_SEED, CliError, finite, print_json, runtime, whole

NAME = "edit"


def add_parser(subparsers) -> None:
    e = subparsers.add_parser("edit", help="run one moderated edit exactly as the page does")
    e.add_argument("--image", required=True)
    e.add_argument("--reference", action="append", default=[], help="reference image (repeatable, up to 3)")
    e.add_argument("--instruction", required=True)
    e.add_argument("--negative-prompt", default="")
    e.add_argument("--steps", type=whole(1), default=30)
    e.add_argument("--seed", type=whole(0, MAX_SEED), default=None, help=f"0 to {MAX_SEED}; default: random (recorded)")
    e.add_argument("--guidance", type=finite(0.0, 20.0), default=4.0, help="0 to 20 (default 4)")
    e.add_argument("--outputs", type=whole(1), default=1, help="number of variants (model backends)")
    e.add_argument("--requester", default="cli")
    e.add_argument("--json", action="store_true", help="print the stored record as JSON")


def run(args) -> int:
    from review.pipeline.flow import run_edit
    from review.pipeline.submission import EditFailed, Submission

    rt = runtime(load_models=True)
    sub = Submission(image=args.image, instruction=args.instruction, references=args.reference,
                     negative_prompt=args.negative_prompt, seed=args.seed, steps=args.steps, guidance=args.guidance,
                     num_outputs=args.outputs, requester=args.requester)
    try:
        record = run_edit(rt, sub)
    except EditFailed as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json(record)
    else:
        print(f"{record['id']}: {record['decision']}" + (f" ({', '.join(record['reasons'])})" if record["reasons"] else ""))
        for path in record["outputs"]:
            print(f"  output: {path}")
    return 0
