"""EDITGUARD_REPLICA: what the setting means, and a CLI command's writes in a folder replica when it exits."""
import json
import shutil

import pytest

from db.replica import Target
from tests.conftest import photo, sqlite_only


def test_replica_urls():
    s3 = Target.parse("s3://bucket/space/one?endpoint=https://s3.example.org&region=eu-west-1", env={})
    assert (s3.kind, s3.bucket, s3.prefix, s3.endpoint, s3.region) == (
        "s3", "bucket", "space/one", "https://s3.example.org", "eu-west-1")
    assert s3.litestream()["path"] == "space/one/db" and s3.litestream()["force-path-style"] is True
    aws = Target.parse("s3://bucket", env={"AWS_REGION": "ap-northeast-1"})
    assert aws.endpoint == "" and aws.region == "ap-northeast-1" and "force-path-style" not in aws.litestream()
    assert Target.parse("s3://b/p", env={"AWS_ENDPOINT_URL_S3": "http://minio:9000"}).endpoint == "http://minio:9000"
    assert Target.parse("file:///mnt/volume/eg", env={}).folder == "/mnt/volume/eg"
    assert Target.parse("/mnt/volume/eg", env={}).kind == "file"
    for bad in ("ftp://host/x", "s3:///no-bucket"):
        with pytest.raises(ValueError, match="EDITGUARD_REPLICA"):
            Target.parse(bad, env={})


@sqlite_only
def test_a_cli_command_leaves_its_writes_in_the_replica(cli, env, image_file):
    volume = env / "volume"
    extra = {"EDITGUARD_REPLICA": str(volume), "EDITOR_BACKEND": "classic", "IMAGE_GUARD": "none"}
    rec = json.loads(cli("edit", "--image", str(image_file(photo("coffee"))), "--instruction", "sepia", "--json",
                         extra_env=extra).stdout)
    assert list((volume / "db").rglob("*.ltx"))  # Litestream's files, written before the command returned
    shutil.rmtree(env / "data")  # a new machine
    listed = cli("purge", "--older-than", "0", "--dry-run", "--json", extra_env=extra)
    assert listed.returncode == 0 and rec["id"] in json.loads(listed.stdout)["ids"]  # the row came back
