"""The `classic` CPU editor: deterministic Pillow operations driven by a Japanese/English instruction parser."""
