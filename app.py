"""EditGuard: AI image edits behind a moderation gate (Gradio app; a Hugging Face Space's entry point).

Table of contents (docs/ARCHITECTURE.md draws the spine and the packages):
  settings   review/pipeline/settings.py  environment variables -> Settings
  runtime    review/pipeline/runtime.py   database (migrated), image store, editor, guards, reference index
  the flow   review/pipeline/flow.py      validate -> guard -> similarity -> edit -> guard -> similarity -> policy -> persist
  provenance review/provenance/           XMP, C2PA, watermark on every output
  retention  review/privacy/retention.py  purge by age (daily when EDITGUARD_RETENTION_DAYS is set), delete my data
  the page   ui/page.py                   header, status line, tabs (ui/edit_tab.py, ...)
  the server ui/web.py                    the page on FastAPI, with sign-in routes, session cookies and picture URLs
"""
from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from db.engine import StorageUnavailable
from review.pipeline.runtime import Runtime
from review.privacy.retention import purge_daily
from ui.page import build_page, launch_kwargs
from ui.web import build_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the EditGuard web app (configuration: see README, environment variables).")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (default 127.0.0.1; GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (default 7860; GRADIO_SERVER_PORT)")
    args = parser.parse_args(argv)
    try:
        rt = Runtime.start()
    except (StorageUnavailable, ValueError) as exc:  # a setting or the storage needs fixing: one sentence, no traceback
        sys.exit(f"error: {exc}")
    purge_daily(rt)
    rt.warm_index()
    page, i18n = build_page(rt)
    app = build_app(rt, page.queue(default_concurrency_limit=max(2, rt.edit_concurrency)), server_name=args.host, server_port=args.port,
                    **launch_kwargs(rt, i18n))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
