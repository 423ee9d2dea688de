"""Tiny randomly-initialised Qwen models built in code and saved in the real repository layout (no hub needed).

The image pipeline follows Qwen-Image-Edit's component layout (tokenizer + processor, Qwen2.5-VL text encoder,
QwenImage transformer and VAE, flow-match scheduler) at a few thousand parameters; the VAE keeps the real
3-downsample layout so the pipeline's 1-megapixel VAE pass stays fast on a CPU.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import AddedToken
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
           "<|image_pad|>", "<|video_pad|>"]
GUARD_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _byte_alphabet() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tiny_tokenizer(special=SPECIAL) -> Qwen2Tokenizer:
    vocab = {ch: i for i, ch in enumerate(_byte_alphabet())}
    for t in special:
        vocab[t] = len(vocab)
    tok = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token="<|endoftext|>", eos_token="<|im_end|>",
                         pad_token="<|endoftext|>")
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    return tok


def tiny_edit_components() -> dict:
    from diffusers import AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageTransformer2DModel

    from editor.hub import image_only_processor_class

    try:
        from transformers import Qwen2VLImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import Qwen2VLImageProcessor as ImageProcessor
    tokenizer = tiny_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL}
    image_processor = ImageProcessor(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, temporal_patch_size=2,
                                     merge_size=2)
    processor = image_only_processor_class()(image_processor=image_processor, tokenizer=tokenizer)
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(patch_size=2, in_channels=16, out_channels=4, num_layers=2,
                                              attention_head_dim=16, num_attention_heads=3, joint_attention_dim=16,
                                              guidance_embeds=False, axes_dims_rope=(8, 4, 4))
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(base_dim=8, z_dim=4, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
                                 temperal_downsample=[False, True, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    torch.manual_seed(0)
    config = Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "num_key_value_heads": 2,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 1e6},
                     "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                     "pad_token_id": ids["<|endoftext|>"]},
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16,
                       "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2, "fullatt_block_indexes": [1]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    return dict(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                text_encoder=text_encoder, tokenizer=tokenizer, processor=processor)


def save_tiny_edit_model(path: Path) -> Path:
    """A tiny Qwen-Image-Edit-2509-style checkpoint in the real layout (model_index.json names Qwen2VLProcessor)."""
    from diffusers import QwenImageEditPlusPipeline

    pipe = QwenImageEditPlusPipeline(**tiny_edit_components())
    pipe.save_pretrained(path)
    index = json.loads((path / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]  # as in the published repository
    (path / "model_index.json").write_text(json.dumps(index, indent=2))
    return path


def save_tiny_lightning_lora(model_dir: Path, out: Path, rank: int = 4) -> Path:
    """A LoRA on the tiny transformer's attention projections, saved the way diffusers LoRAs are published."""
    from diffusers import QwenImageEditPlusPipeline, QwenImageTransformer2DModel
    from peft import LoraConfig, get_peft_model_state_dict

    transformer = QwenImageTransformer2DModel.from_pretrained(model_dir, subfolder="transformer")
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # a LoRA that visibly changes the output
    QwenImageEditPlusPipeline.save_lora_weights(out, transformer_lora_layers=get_peft_model_state_dict(transformer),
                                                weight_name="tiny-lightning.safetensors")
    return out


def save_tiny_guard_model(path: Path, answers: dict[str, str], steps: int = 300) -> Path:
    """A tiny Qwen3ForCausalLM taught (a few hundred Adam steps) to answer each prompt with the given text.

    It is a real checkpoint loaded through the production code; what it generates is whatever it learned, so the
    parser meets genuine model output, including the cases where it does not say what we hoped.
    """
    from transformers import Qwen3Config, Qwen3ForCausalLM

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = tiny_tokenizer(special)
    tok.chat_template = GUARD_TEMPLATE
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=1024,
        bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=True))
    batch = []
    for prompt, answer in answers.items():
        head = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tok(head + answer + "<|im_end|>")["input_ids"]
        n_head = len(tok(head)["input_ids"])
        labels = [-100] * n_head + ids[n_head:]
        batch.append((torch.tensor([ids]), torch.tensor([labels])))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(model(input_ids=i, labels=lab).loss for i, lab in batch)
        loss.backward()
        opt.step()
    model.eval()
    tok.save_pretrained(path)
    model.save_pretrained(path)
    return path


VL_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
               "{% else %}{% for c in m['content'] %}{{ c['text'] }}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
               "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def save_tiny_qwen_image21(path: Path) -> Path:
    """A tiny Qwen-Image-2.1-style checkpoint: Qwen3-VL text encoder, QwenImage21 transformer and VAE."""
    from diffusers import (AutoencoderKLQwenImage21, FlowMatchEulerDiscreteScheduler, QwenImage21Pipeline,
                           QwenImage21Transformer2DModel)
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from editor.hub import image_only_processor_class

    try:
        from transformers import Qwen2VLImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import Qwen2VLImageProcessor as ImageProcessor
    tok = tiny_tokenizer()
    tok.chat_template = VL_TEMPLATE
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
    image_processor = ImageProcessor(min_pixels=64 * 64, max_pixels=64 * 64, patch_size=16, temporal_patch_size=2,
                                     merge_size=2)
    processor = image_only_processor_class("Qwen3VLProcessor")(image_processor=image_processor, tokenizer=tok,
                                                               chat_template=VL_TEMPLATE)
    torch.manual_seed(0)
    text_encoder = Qwen3VLForConditionalGeneration(Qwen3VLConfig(
        text_config={"vocab_size": len(tok), "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 8,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 1e6,
                                         "mrope_interleaved": True},
                     "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                     "pad_token_id": ids["<|endoftext|>"]},
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16,
                       "patch_size": 16, "temporal_patch_size": 2, "spatial_merge_size": 2,
                       "num_position_embeddings": 16, "deepstack_visual_indexes": [1]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])).eval()
    torch.manual_seed(0)
    transformer = QwenImage21Transformer2DModel(patch_size=1, in_channels=8, out_channels=8, num_layers=2,
                                                attention_head_dim=16, num_attention_heads=2, context_in_dim=16,
                                                mlp_ratio=2, axes_dims_rope=(4, 6, 6))
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage21(base_dim=8, decoder_base_dim=8, z_dim=8, dim_mult=[1, 2, 4, 4, 4], num_res_blocks=1,
                                   temperal_downsample=[False, True, True, True], latents_mean=[0.0] * 8,
                                   latents_std=[1.0] * 8)
    pipe = QwenImage21Pipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                               processor=processor, transformer=transformer)
    pipe.save_pretrained(path)
    index = json.loads((path / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen3VLProcessor"]  # as in the published repository
    (path / "model_index.json").write_text(json.dumps(index, indent=2))
    return path


VL_JUDGE_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def save_tiny_vl_judge(path: Path, answers: list[tuple["Image.Image", str]], steps: int = 200) -> Path:
    """A tiny Qwen2.5-VL Instruct checkpoint in the hub layout (config, weights, tokenizer, preprocessor config),
    taught (Adam, a few hundred steps) to answer the image judge's request for each picture with the given text.

    Its prompt comes from the production code (review/guard/vl_judge.py), so the test exercises the real chat
    template, processor, generation and parser."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from editor.hub import image_only_processor_class
    from review.guard.vl_judge import MAX_SIDE, POLICY

    try:
        from transformers import Qwen2VLImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import Qwen2VLImageProcessor as ImageProcessor
    tok = tiny_tokenizer()
    tok.chat_template = VL_JUDGE_TEMPLATE
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
    image_processor = ImageProcessor(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, temporal_patch_size=2,
                                     merge_size=2)
    processor = image_only_processor_class("Qwen2_5_VLProcessor")(image_processor=image_processor, tokenizer=tok,
                                                                  chat_template=VL_JUDGE_TEMPLATE)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tok), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 2,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6},
                     "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                     "pad_token_id": ids["<|endoftext|>"], "tie_word_embeddings": True},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 64,
                       "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2, "fullatt_block_indexes": [1]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"]))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": POLICY}]}]
    head = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    batch = []
    for image, answer in answers:
        picture = image.convert("RGB")
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        enc = processor(text=[head + answer + "<|im_end|>"], images=[picture], return_tensors="pt")
        n_head = processor(text=[head], images=[picture], return_tensors="pt")["input_ids"].shape[1]
        labels = enc["input_ids"].clone()
        labels[:, :n_head] = -100
        batch.append((enc, labels))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(model(**enc, labels=labels).loss for enc, labels in batch)
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    image_processor.save_pretrained(path)
    return path
