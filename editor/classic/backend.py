"""The classic backend: parse the instruction, apply the operations in order, report what was done."""
from __future__ import annotations

from PIL import Image

from editor.base import EditorCannotDo, EditOutput, EditRequest, ProgressFn
from editor.classic import operations
from editor.classic.parser import parse
from errors import UserError


class ClassicEditor:
    """Runs anywhere in milliseconds; one output per request, since it has no randomness to vary."""

    name = "classic"
    model_id = "editguard/classic"
    model_license = "Apache-2.0"
    device = "cpu"
    deterministic = True
    revision = "built-in"
    credit = "EditGuard's classic CPU editor (Pillow)"

    def model_card(self) -> dict:
        return {"id": self.model_id, "revision": self.revision, "license": self.model_license, "credit": self.credit,
                "device": self.device, "fast": False}

    def refuse_unsupported(self, request: EditRequest) -> None:
        """Filters use neither reference photos nor a Lightning LoRA: asking for them is refused, not ignored."""
        if request.references:
            raise UserError("The CPU editor cannot use reference images; remove them to apply its filters.",
                            "editor.no_refs")
        if request.fast:
            raise UserError("Fast mode is for the GPU model backends; the CPU editor has none. Untick Fast.",
                            "editor.no_fast")

    def edit(self, request: EditRequest, progress: ProgressFn | None = None) -> EditOutput:
        self.refuse_unsupported(request)
        parsed = parse(request.instruction)
        image = request.image
        for i, op in enumerate(parsed.operations):
            if progress:
                progress(i / len(parsed.operations), op.name)
            try:
                image = operations.apply(image, op)
            except operations.MissingFont as exc:
                raise EditorCannotDo(str(exc), unknown=op.name, code="editor.font") from None
            except ValueError as exc:
                raise EditorCannotDo(str(exc), unknown=op.name, code="editor.too_large") from None
        if request.mask is not None:  # change only the painted region
            if image.size != request.image.size:
                raise EditorCannotDo("Rotating, cropping or resizing cannot be limited to a painted region.",
                                     unknown="mask", code="editor.mask_geometry")
            image = Image.composite(image, request.image, request.mask.resize(image.size))
        if progress:
            progress(1.0, "done")
        # only what the filters used: no steps, guidance or seed (there is no diffusion and no randomness)
        return EditOutput(images=[image], applied=[op.describe() for op in parsed.operations],
                          captions=parsed.captions,
                          params={"filters": [op.describe() for op in parsed.operations], "mask": request.mask is not None})
