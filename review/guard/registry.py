"""Guard backends by name, as chosen with GUARD_BACKEND, IMAGE_GUARD and IMAGE_GUARD_MODEL."""
from __future__ import annotations

from review.guard.base import ImageGuard, TextGuard

TEXT_GUARDS = ("context", "rules", "qwen3guard")
IMAGE_GUARDS = ("nudenet", "qr", "vl", "none")


def load_text_guard(name: str = "auto", model: str | None = None) -> TextGuard:
    """`auto`: Qwen3Guard when its weights are a local folder or already cached, else the context guard (rules plus
    the shipped classifier); `rules` is the rule guard alone."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        from editor.hub import weights_present_file
        from review.guard.qwen3guard import DEFAULT_MODEL

        name = "qwen3guard" if weights_present_file(model or DEFAULT_MODEL, "config.json") else "context"
    if name == "qwen3guard":
        try:
            from review.guard.qwen3guard import DEFAULT_MODEL, Qwen3Guard
        except ImportError as exc:
            raise ValueError(f"GUARD_BACKEND=qwen3guard needs torch and transformers ({exc}).") from None
        return Qwen3Guard(model or DEFAULT_MODEL)
    if name == "context":
        from review.guard.context import ContextTextGuard

        return ContextTextGuard()
    if name == "rules":
        from review.guard.rules import RuleTextGuard

        return RuleTextGuard()
    raise ValueError(f"Unknown guard backend {name!r}; choose one of: auto, {', '.join(TEXT_GUARDS)}.")


def _vl_can_run(model: str) -> bool:
    """The vision-language judge joins `auto` only where it can really run: CUDA and the weights already local."""
    try:
        import torch
    except ImportError:
        return False
    from editor.hub import weights_present_file

    return torch.cuda.is_available() and weights_present_file(model, "config.json")


def load_image_guard(name: str = "auto", model: str | None = None, text_guard: TextGuard | None = None):
    """A comma-separated list of checks (`nudenet,qr,vl`); `auto` is `nudenet,qr`, plus `vl` where it can run;
    `none` turns image checks off (the status line then says so). A named check that cannot load raises."""
    from review.guard.image_guards import ImageGuards
    from review.guard.vl_judge import DEFAULT_MODEL

    raw = (name or "auto").strip().lower()
    if raw == "none":
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if names == ["auto"]:
        names = ["nudenet", "qr"] + (["vl"] if _vl_can_run(model or DEFAULT_MODEL) else [])
    unknown = [n for n in names if n not in IMAGE_GUARDS or n == "none"]
    if unknown or not names:
        raise ValueError(f"Unknown image guard {raw!r}; choose auto, none, or a comma-separated list of: "
                         f"{', '.join(IMAGE_GUARDS[:-1])}.")
    guards: list[ImageGuard] = []
    for n in dict.fromkeys(names):
        if n == "nudenet":
            from review.guard.nudenet_guard import NudeNetGuard

            guards.append(NudeNetGuard())
        elif n == "qr":
            from review.guard.image_guards import QRCodeGuard

            guards.append(QRCodeGuard(text_guard or load_text_guard("context")))
        elif n == "vl":
            try:
                from review.guard.vl_judge import VisionLanguageJudge
            except ImportError as exc:
                raise ValueError(f"IMAGE_GUARD=vl needs torch and transformers ({exc}).") from None
            guards.append(VisionLanguageJudge(model or DEFAULT_MODEL))
    return ImageGuards(guards)
