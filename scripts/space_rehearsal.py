"""Rehearse a Hugging Face Space deployment on this machine, and measure it.

    python scripts/space_rehearsal.py                      # the whole rehearsal: fresh venv, install, run, check
    python scripts/space_rehearsal.py --tiny-models        # the same with the model backend on tiny checkpoints
    python scripts/space_rehearsal.py --python .venv/bin/python   # skip the install (what CI runs)

What a Space does, and what this does in its place:
- the build mounts requirements.txt alone and runs `pip install -r requirements.txt`: here the file is copied
  alone into an empty folder and installed from there into a fresh virtualenv (timed: install_s). This machine's
  pip reads a local wheel mirror and cache, so the figure is a lower bound for a Space's build;
- the build apt-installs packages.txt: here each name is checked (installed, or at least known to apt);
- the Space runs `python app.py` with SPACE_ID, SYSTEM=spaces, GRADIO_SERVER_NAME=0.0.0.0 and, with
  `hf_oauth: true`, the OAuth variables (placeholders here: nobody signs in during a rehearsal), and the data on a
  volume: here a folder outside the checkout and the temp folder. cold_start_s: process start to the first page;
- then through gradio_client: one edit on `/edit` (first_edit_s), one edit of a registered work that waits for
  review, one review decision (a local reviewer account, made with the CLI beforehand: on a Space reviewers sign in
  with Hugging Face), and the released picture downloaded and verified with `python -m review provenance verify`
  (C2PA signature and invisible watermark).
Prints one JSON object; exits 1 if any check failed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "rehearsal password 1"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", help="use this interpreter instead of a fresh virtualenv (skips the install)")
    ap.add_argument("--work", help="folder for the venv, data and logs (default: a new folder in /var/tmp)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tiny-models", action="store_true",
                    help="run EDITOR_BACKEND=qwen-image-edit on a tiny checkpoint built in code (start-up and "
                         "edit through the real pipeline code, on the CPU)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="editguard-rehearsal-", dir=_outside()))
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"work": str(work), "checks": {}}
    try:
        report["packages_txt"] = check_packages()
        python = args.python or install(work, report)
        env = space_env(work, args.port or _free_port())
        if args.tiny_models:
            env.update(tiny_models(python, work))
        run([python, "-m", "review", "users", "add", "rehearsal", "--role", "reviewer"], env, stdin=PASSWORD + "\n")
        with serve(python, env, work, report) as url:
            drive(url, python, env, work, report)
    except Failure as exc:
        report["error"] = str(exc)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    report["ok"] = "error" not in report and all(report["checks"].values())
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["ok"] else 1


class Failure(Exception):
    pass


def _outside() -> str:
    """/var/tmp: outside the checkout and the temp folder, as a Space volume at /data is."""
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else str(Path.home())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env=None, stdin=None, timeout=1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=REPO, env=env, input=stdin, text=True, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise Failure(f"{' '.join(map(str, cmd[:4]))} failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc


def check_packages() -> dict:
    """Every line of packages.txt must be a Debian package apt knows; say which are installed here."""
    names = [n.strip() for n in (REPO / "packages.txt").read_text().splitlines() if n.strip() and not n.startswith("#")]
    out = {}
    for name in names:
        installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
        if "install ok installed" in installed.stdout:
            out[name] = "installed"
            continue
        known = subprocess.run(["apt-cache", "show", name], capture_output=True, text=True)
        if known.returncode != 0:
            raise Failure(f"packages.txt names {name!r}, which apt does not know")
        out[name] = "known to apt, not installed here"
    return out


def install(work: Path, report: dict) -> str:
    """A fresh virtualenv with requirements.txt installed from a folder that holds only that file (as a Space)."""
    build = work / "build"
    build.mkdir(exist_ok=True)
    shutil.copyfile(REPO / "requirements.txt", build / "requirements.txt")
    venv = work / "venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                           "requirements.txt"], cwd=build, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise Failure("pip install -r requirements.txt failed: " + proc.stderr.strip()[-1500:])
    report["install_s"] = round(time.perf_counter() - started, 1)
    report["installed"] = subprocess.run([python, "-c", "from importlib.metadata import version as v; print(', '.join("
                                          "f'{p} {v(p)}' for p in ('torch', 'diffusers', 'transformers', 'spaces', "
                                          "'gradio')))"], capture_output=True, text=True).stdout.strip()
    return python


def space_env(work: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDITGUARD_", "GRADIO_", "EDITOR_", "GUARD_"))}
    env.pop("DATABASE_URL", None)
    env.update({
        "SPACE_ID": "rehearsal/editguard", "SYSTEM": "spaces", "SPACE_HOST": "rehearsal-editguard.hf.space",
        "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
        # hf_oauth: true makes the Space set these; placeholders, since nobody signs in during a rehearsal
        "OAUTH_CLIENT_ID": "rehearsal", "OAUTH_CLIENT_SECRET": "rehearsal", "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": "https://huggingface.co",
        "EDITGUARD_DATA_DIR": str(work / "data"),  # a volume at /data on a Space
        "PYTHONUNBUFFERED": "1",
    })
    return env


def tiny_models(python: str, work: Path) -> dict:
    folder = work / "tiny-qwen-edit"
    if not (folder / "model_index.json").exists():
        run([python, "-c", "import sys; from pathlib import Path; from tests.tiny_models import save_tiny_edit_model;"
                           " save_tiny_edit_model(Path(sys.argv[1]))", str(folder)])
    return {"EDITOR_BACKEND": "qwen-image-edit", "EDITOR_MODEL": str(folder)}


class serve:
    """`python app.py` as the Space starts it; cold_start_s is process start to the first page served."""

    def __init__(self, python: str, env: dict, work: Path, report: dict):
        self.python, self.env, self.work, self.report = python, env, work, report

    def __enter__(self) -> str:
        self.log = open(self.work / "app.log", "w")
        started = time.perf_counter()
        self.proc = subprocess.Popen([self.python, "app.py"], cwd=REPO, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{self.env['GRADIO_SERVER_PORT']}/"
        while True:
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise Failure("the app exited: " + (self.work / "app.log").read_text()[-1500:])
                if time.perf_counter() - started > 600:
                    raise Failure("the app did not start within 10 minutes")
                time.sleep(0.2)
        self.report["cold_start_s"] = round(time.perf_counter() - started, 1)
        return url

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        log = (self.work / "app.log").read_text()
        self.report["checks"]["no InvalidPathError in the log"] = "InvalidPathError" not in log
        # Gradio in Spaces mode (its hot-reload server) leaves event loops for the garbage collector, which logs
        # "Exception ignored in: BaseEventLoop.__del__"; it happens without this app's code too, so it is counted apart
        noise = log.count("Exception ignored in: <function BaseEventLoop.__del__")
        self.report["event_loop_gc_noise"] = noise
        self.report["checks"]["no traceback in the log"] = log.count("Traceback") == noise


def drive(url: str, python: str, env: dict, work: Path, report: dict) -> None:
    """One edit, one review decision, one download, verified; all through gradio_client, like any API caller."""
    # gradio_client comes with gradio: it runs in the Space's interpreter, so the install is tested as well
    script = r"""
import json, sys, time
from pathlib import Path
from gradio_client import Client, handle_file
url, pw, photo, registered = sys.argv[1:5]
out = {}
client = Client(url, verbose=False)
t = time.perf_counter()
record, pictures = client.predict(handle_file(photo), "make it warmer", api_name="/edit")
out["first_edit_s"] = round(time.perf_counter() - t, 2)
out["edit"] = {"decision": record["decision"], "backend": record["backend"], "model": record["model"],
               "id": record["id"], "pictures": len(pictures)}
out["download"] = pictures[0]["image"] if pictures else None
pending, _ = client.predict(handle_file(registered), "make it sepia", api_name="/edit")
out["pending"] = {"decision": pending["decision"], "review_status": pending["review_status"]}
# sign-in is a form post to /auth/signin (never a Gradio event); the session lives in an HttpOnly cookie
import urllib.error, urllib.parse, urllib.request
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
try:
    urllib.request.build_opener(NoRedirect).open(
        url + "auth/signin", urllib.parse.urlencode({"name": "rehearsal", "password": pw}).encode())
    cookie = ""
except urllib.error.HTTPError as exc:
    cookie = exc.headers.get("set-cookie") or ""
session = cookie.split("editguard_session=", 1)[1].split(";")[0] if "editguard_session=" in cookie else ""
reviewer = Client(url, verbose=False, headers={"Cookie": "editguard_session=" + session}, download_files=False)
filters = ("open", "", "", "", 0, 1)
reviewer.predict(*filters, api_name="/review_next")
answer = reviewer.predict("no_issue", "", *filters, api_name="/review_approve")
out["review"] = "approved" if 'data-status="approved"' in str(answer) else str(answer)[:300]
print(json.dumps(out))
"""
    photo, registered = REPO / "assets" / "examples" / "coffee.jpg", REPO / "assets" / "references" / "astronaut.jpg"
    proc = run([python, "-c", script, url, PASSWORD, str(photo), str(registered)], env, timeout=900)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    report.update({k: result[k] for k in ("first_edit_s", "edit", "pending", "review")})
    checks = report["checks"]
    checks["edit released"] = result["edit"]["decision"] == "released" and result["edit"]["pictures"] >= 1
    checks["registered work awaits review"] = result["pending"]["decision"] == "pending_review"
    checks["review decision recorded"] = result["review"] == "approved"
    if result["download"]:
        saved = work / "downloaded.png"
        shutil.copyfile(result["download"], saved)
        verify = subprocess.run([python, "-m", "review", "provenance", "verify", "--json", str(saved)], cwd=REPO,
                                env=env, capture_output=True, text=True)
        labels = json.loads(verify.stdout) if verify.stdout.strip().startswith("{") else {"raw": verify.stdout[-500:]}
        report["verify"] = {"c2pa": (labels.get("c2pa") or {}).get("state"),
                            "watermark": (labels.get("watermark") or {}).get("present"),
                            "record_id": labels.get("record_id")}
        checks["download: C2PA Trusted"] = report["verify"]["c2pa"] == "Trusted"
        checks["download: watermark present"] = bool(report["verify"]["watermark"])
        checks["download: names the record"] = report["verify"]["record_id"] == result["edit"]["id"]


if __name__ == "__main__":
    sys.exit(main())
