"""The Gradio page: one module per tab, the words in strings.py, the HTML pieces in render.py."""
