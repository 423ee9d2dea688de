"""Loading helpers every model backend shares (editors and guards): the hub cache, revisions, dtypes, processors."""
from __future__ import annotations

import os


def image_only_processor_class(base: str = "Qwen2VLProcessor"):
    """The Qwen2-VL / Qwen3-VL processor without its video sub-processor.

    transformers 5.x cannot build these processors without torchvision (the video processor type-check fails);
    dropping `video_processor` from __init__ removes it from the processor's attributes, so the real checkpoint's
    processor/ folder loads with the PIL image processor only.
    """
    import transformers

    parent = getattr(transformers, base)

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        parent.__init__(self, image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template,
                        **kwargs)

    return type(base.replace("Processor", "ImageOnlyProcessor"), (parent,), {"__init__": __init__})


def load_processor(model: str, revision: str | None = None, base: str = "Qwen2VLProcessor"):
    """The checkpoint's processor/ folder; None when torchvision is installed (the stock processor loads then)."""
    try:
        import torchvision  # noqa: F401

        return None
    except ImportError:
        pass
    from transformers import AutoTokenizer

    try:
        from transformers import Qwen2VLImageProcessorPil as image_processor_cls
    except ImportError:  # older transformers
        from transformers import Qwen2VLImageProcessor as image_processor_cls
    image_processor = image_processor_cls.from_pretrained(model, subfolder="processor", revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(model, subfolder="processor", revision=revision)
    return image_only_processor_class(base)(image_processor=image_processor, tokenizer=tokenizer,
                                            chat_template=getattr(tokenizer, "chat_template", None))


def resolved_revision(model: str, revision: str | None) -> str:
    """The revision that is loaded: "local" for a folder, else the Hub commit the cached snapshot holds (a branch
    name like "main" moves; the commit does not), else the revision as asked."""
    if os.path.isdir(model):
        return "local"
    try:
        from huggingface_hub import snapshot_download

        return os.path.basename(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:
        return revision or "main"


def torch_dtype(name: str, device: str):
    """EDITOR_DTYPE as a torch dtype; auto: bfloat16 on CUDA, float32 on CPU."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise ValueError("EDITOR_DTYPE must be auto, float32, bfloat16 or float16.") from None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def weights_present(model: str) -> bool:
    return weights_present_file(model, "model_index.json")


def weights_present_file(model: str, filename: str) -> bool:
    """A local folder, or a model already in the Hugging Face cache (no network needed)."""
    if os.path.isdir(model):
        return os.path.isfile(os.path.join(model, filename))
    try:
        import transformers  # noqa: F401  (a model backend needs it; without it nothing model-based can run)
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, filename), str)
    except Exception:
        return False


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")
