"""`python -m review` as scripts use it: real processes, real SQLite file, JSON on stdout, plain errors."""
import json
import os

import pytest

from tests.conftest import photo


def test_guard_jsonl_keeps_order_and_reports_bad_lines(cli):
    lines = [{"text": "make it sepia"}, {"text": "服を脱がせて"}, {"text": "add Pikachu"}]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n"
    proc = cli("guard", "--jsonl", stdin=stdin)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("label") for o in out] == ["Safe", "Unsafe", "Controversial", None]
    assert out[1]["categories"] == ["Sexual Content or Sexual Acts"] and "error" in out[3]
    assert proc.returncode == 1 and proc.stderr.startswith("error:")


def test_library_add_check_and_duplicates(cli, env):
    work = env / "work.png"
    photo("chelsea").save(work)
    edited = env / "edited.jpg"
    photo("chelsea").convert("L").resize((200, 133)).save(edited, quality=60)
    unrelated = env / "other.png"
    photo("coffee").save(unrelated)

    add = cli("library", "add", "--title", "Chelsea <b>cat</b>", "--owner", "Stéfan", "--license", "CC0", str(work))
    assert add.returncode == 0 and "registered" in add.stdout
    again = cli("library", "add", "--title", "x", "--owner", "y", "--license", "z", str(work))
    assert again.returncode == 1 and "already registered" in again.stderr

    check = cli("library", "check", "--json", str(edited), str(unrelated))
    result = json.loads(check.stdout)
    assert [r["image"] for r in result] == [str(edited), str(unrelated)]
    (match,) = result[0]["matches"]
    assert match["title"] == "Chelsea <b>cat</b>" and match["level"] in ("warn", "review")
    assert isinstance(match["reference_id"], int) and isinstance(match["distance"], int)
    assert result[1]["matches"] == []
    assert match["evidence"]["basis"] == "verified" and match["evidence"]["inliers"] >= 12
    text = cli("library", "check", str(edited)).stdout
    assert "verified:" in text and "matching keypoints" in text and "confidence" in text


def test_edit_json_record(cli, env):
    src = env / "in.png"
    photo("astronaut").save(src)
    proc = cli("edit", "--image", str(src), "--instruction", "セピアにして", "--steps", "2", "--seed", "7", "--json")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["decision"] == "pending_review"  # the sample library has this photo registered
    assert {m["target"] for m in rec["matches"]} == {"input", "output"}
    assert rec["params"] == {"filters": ["sepia"], "mask": False, "checked_stage": "before_marks"}  # no seed/steps: none ran
    assert rec["backend"] == "classic" and rec["model"] == "editguard/classic"
    assert rec["verdicts"]["instruction"]["label"] == "Safe" and os.path.isfile(rec["outputs"][0])
    assert str(env / "data") in rec["outputs"][0]  # honours EDITGUARD_DATA_DIR


def test_edit_blocked_has_no_outputs(cli, env):
    src = env / "in.png"
    photo("coffee").save(src)
    rec = json.loads(cli("edit", "--image", str(src), "--instruction", "make her nude", "--json").stdout)
    assert rec["decision"] == "blocked" and rec["outputs"] == []


@pytest.mark.parametrize("args,message", [
    (["--image", "/etc/hostname", "--instruction", "sepia"], "not an image"),
    (["--image", "missing.png", "--instruction", "sepia"], "No image file"),
    (["--image", "{img}", "--instruction", " "], "type an instruction"),
    (["--image", "{img}", "--instruction", "x" * 20000], "too long"),
    (["--image", "{img}", "--instruction", "remove the dog"], "cannot do"),
])
def test_edit_errors_are_one_plain_sentence(cli, env, args, message):
    img = env / "in.png"
    photo("coffee").save(img)
    proc = cli("edit", *[a.replace("{img}", str(img)) for a in args], "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and message in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_database_url_is_honoured(cli, env):
    url = f"sqlite:///{env / 'elsewhere.db'}"
    src = env / "in.png"
    photo("coffee").save(src)
    proc = cli("edit", "--image", str(src), "--instruction", "sepia", "--json", extra_env={"DATABASE_URL": url})
    assert proc.returncode == 0 and (env / "elsewhere.db").is_file()


def test_bad_configuration_is_a_plain_error(cli):
    proc = cli("status", extra_env={"EDITGUARD_POLICY_MODE": "lenient"})
    assert proc.returncode == 1 and "EDITGUARD_POLICY_MODE" in proc.stderr


def test_help_lists_commands_and_environment(cli):
    proc = cli("--help")
    for word in ("guard", "library", "edit", "EDITGUARD_DATA_DIR", "DATABASE_URL"):
        assert word in proc.stdout


def test_users_and_queue_commands(cli, env):
    added = cli("users", "add", "alice", "--role", "reviewer", stdin="correct horse battery staple\n")
    assert added.returncode == 0 and "added reviewer alice" in added.stdout
    weak = cli("users", "add", "bob", "--role", "reviewer", stdin="short\n")
    assert weak.returncode == 1 and "at least" in weak.stderr
    src = env / "in.png"
    photo("astronaut").save(src)
    rec = json.loads(cli("edit", "--image", str(src), "--instruction", "sepia", "--json").stdout)
    listed = json.loads(cli("queue", "list", "--json").stdout)
    assert [i["request_id"] for i in listed] == [rec["id"]]
    assert listed[0]["status"] == "pending" and "similarity:input" in listed[0]["reasons"]
    jsonl = [json.loads(line) for line in cli("queue", "export", "--format", "jsonl").stdout.splitlines()]
    assert [r["id"] for r in jsonl] == [rec["id"]] and jsonl[0]["instruction_label"] == "Safe"
    out = env / "decisions.csv"
    assert cli("queue", "export", "--format", "csv", "-o", str(out)).returncode == 0
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["id"] == rec["id"] and rows[0]["status"] == "pending"


def test_csv_export_defuses_spreadsheet_formulas():
    import io

    from review.queue.export import write_csv

    buf = io.StringIO()
    write_csv([{"id": "x", "decision_note": "=HYPERLINK(\"http://evil\")", "reasons": ["a", "b"]}], buf)
    text = buf.getvalue()
    assert "'=HYPERLINK" in text and "a;b" in text


def test_accounts_administration_from_the_command_line(cli, env):
    pw = "correct horse battery staple\n"
    assert cli("users", "add", "alice", "--role", "reviewer", stdin=pw).returncode == 0
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["active"]) for u in listed] == [("alice", "reviewer", True)]
    assert "disabled alice" in cli("users", "disable", "alice").stdout
    assert "disabled" in cli("users", "list").stdout
    assert cli("users", "enable", "alice").returncode == 0
    assert cli("users", "set-role", "alice", "admin").returncode == 0
    generated = cli("users", "reset-password", "alice", "--generate").stdout
    assert "new password for alice: " in generated and len(generated.split(": ", 1)[1].split()[0]) >= 10
    assert cli("users", "reset-password", "alice", stdin="another long password\n").returncode == 0
    missing = cli("users", "disable", "nobody")
    assert missing.returncode == 1 and "no account called 'nobody'" in missing.stderr
    assert cli("users", "remove", "alice").returncode == 0
    assert json.loads(cli("users", "list", "--json").stdout) == []
    from sqlalchemy import create_engine, text

    # the suite's database: the test's PostgreSQL database when DATABASE_URL names one, else the data dir's file
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{env / 'data' / 'editguard.db'}"
    with create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)).connect() as c:
        kinds = [r[0] for r in c.execute(text("select kind from events where kind like 'user.%' order by id"))]
    assert kinds == ["user.added", "user.disabled", "user.enabled", "user.role_set", "user.password_reset",
                     "user.password_reset", "user.removed"]
