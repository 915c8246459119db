"""Publishing over HTTP to a local Hub stand-in (hub_server.py) and reading it back.

The client side runs in a subprocess: huggingface_hub and datasets read HF_ENDPOINT (and
the other settings) when they are imported, so they need a fresh interpreter with the
test server's address, xet disabled, a throwaway HF_HOME and a dummy token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from scenavox.errors import UserError
from scenavox.publish.export import export_dataset
from scenavox.publish.hub import check_folder, check_repo_id, resolve_token

from .conftest import SCENARIO_YAML
from .hub_server import HubServer

SRC = Path(__file__).resolve().parents[2] / "src"
TOKEN = "hf_dummy_test_token"


@pytest.fixture
def hub():
    srv = HubServer({TOKEN}).start()
    yield srv
    srv.stop()


def client_env(hub: HubServer, tmp_path: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=hub.base_url, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1",
               PYTHONPATH=os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if token:
        env["HF_TOKEN"] = token
    return env


def publish_cli(hub, tmp_path, corpus, repo="org/tiny", *extra: str, token: str | None = TOKEN):
    scenario = tmp_path / "tinycar.yaml"
    scenario.write_text(SCENARIO_YAML)
    return subprocess.run(
        [sys.executable, "-m", "scenavox.cli", "publish", "--scenario", str(scenario), "--repo", repo,
         "--out", str(corpus["store"].root), *extra],
        env=client_env(hub, tmp_path, token), capture_output=True, text=True, timeout=120)


READ_BACK = r"""
import io, json, sys
import datasets, soundfile as sf
from datasets import Audio
from huggingface_hub import DatasetCard
repo = sys.argv[1]
ds = datasets.load_dataset(repo, cache_dir=sys.argv[2])
card = DatasetCard.load(repo, repo_type="dataset")
out = {"splits": {k: len(v) for k, v in ds.items()}, "columns": ds["train"].column_names,
       "card": card.data.to_dict(), "text": card.text, "durations": {}}
for split in ds:
    for row in ds[split].cast_column("audio", Audio(decode=False)):
        x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
        out["durations"][row["id"]] = len(x) / sr
print(json.dumps(out))
"""


def read_back(hub, tmp_path, repo="org/tiny"):
    r = subprocess.run([sys.executable, "-c", READ_BACK, repo, str(tmp_path / "ds_cache")],
                       env=client_env(hub, tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:] + f"\nunhandled routes: {hub.state.unhandled}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def get(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_publish_then_read_back(hub, tmp_path, corpus):
    r = publish_cli(hub, tmp_path, corpus)
    assert r.returncode == 0, r.stderr[-3000:] + f"\nunhandled routes: {hub.state.unhandled}"
    assert "published" in r.stdout and "private" in r.stdout
    files = hub.files("org/tiny")
    assert {"README.md", "scenario.yaml", "run_config.json", "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet", "data/validation-00000-of-00001.parquet",
            "data/test-00000-of-00001.parquet"} <= set(files)
    assert TOKEN.encode() not in b"".join(files.values())  # the token is never written into the repo
    assert not any(TOKEN in p.read_text(errors="ignore") for p in (tmp_path / "hf_home").rglob("*") if p.is_file())

    got = read_back(hub, tmp_path)
    assert got["splits"] == corpus["counts"]
    assert {"audio", "text", "intent", "voice_licence", "provenance", "source"} <= set(got["columns"])
    clips = {c.id: c for c in corpus["clips"]}
    assert got["durations"].keys() == clips.keys()
    for cid, d in got["durations"].items():
        assert d == pytest.approx(clips[cid].duration_s, abs=1e-3)
    card = got["card"]
    assert card["license"] == "gpl-3.0"
    assert "synthetic" in card["tags"] and card["synthetic_data"]["contains_synthetic_data"] is True
    assert card["compliance"]["training_use"] is True
    assert "Synthetic data disclosure" in got["text"]


def test_private_repo_refuses_requests_without_token(hub, tmp_path, corpus):
    assert publish_cli(hub, tmp_path, corpus).returncode == 0
    assert hub.state.repos["org/tiny"].private
    info = f"{hub.base_url}/api/datasets/org/tiny"
    readme = f"{hub.base_url}/datasets/org/tiny/resolve/main/README.md"
    assert get(info) == 401 and get(readme) == 401
    assert get(info, "wrong-token") == 401
    assert get(info, TOKEN) == 200 and get(readme, TOKEN) == 200
    # --public makes a repo anyone can read
    r = publish_cli(hub, tmp_path, corpus, "org/open", "--public")
    assert r.returncode == 0, r.stderr[-2000:]
    assert get(f"{hub.base_url}/api/datasets/org/open") == 200


def test_republish_keeps_hub_yaml_and_replaces_shards(hub, tmp_path, corpus):
    assert publish_cli(hub, tmp_path, corpus).returncode == 0
    # a colleague edits the card on the Hub: adds a field and changes one we own
    readme = hub.files("org/tiny")["README.md"].decode()
    head, body = readme.split("\n---\n", 1)
    meta = yaml.safe_load(head.removeprefix("---\n"))
    meta["extra_field"] = {"owner": "speech-team", "keep": True}
    meta["license"] = "mit"
    hub.set_file("org/tiny", "README.md", f"---\n{yaml.safe_dump(meta)}---\n{body}".encode())
    # re-export with one shard per split, then publish again
    c = corpus
    export_dataset(c["store"], c["scenario"], c["clips"], c["triples"], 3, SCENARIO_YAML, {"seed": 3}, shard_size=100)
    r = publish_cli(hub, tmp_path, corpus)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "removed 2 old shard(s)" in r.stdout  # train-0000{0,1}-of-00002
    files = hub.files("org/tiny")
    assert sorted(p for p in files if p.startswith("data/")) == [
        "data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet"]
    new_meta = yaml.safe_load(files["README.md"].decode().split("\n---\n", 1)[0].removeprefix("---\n"))
    assert new_meta["extra_field"] == {"owner": "speech-team", "keep": True}  # Hub-only field kept
    assert new_meta["license"] == "gpl-3.0"  # ours updated
    assert new_meta["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*"}
    assert read_back(hub, tmp_path)["splits"] == corpus["counts"]


def test_interrupted_push_can_be_rerun(hub, tmp_path, corpus):
    hub.state.fail_next_commit = True  # the connection dies after the LFS uploads, before the commit
    r = publish_cli(hub, tmp_path, corpus)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("error: ") and "rerun" in r.stderr
    assert "README.md" not in hub.files("org/tiny")  # nothing half-committed
    puts = sum(1 for m, p, _ in hub.state.log if m == "PUT")
    r = publish_cli(hub, tmp_path, corpus)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sum(1 for m, p, _ in hub.state.log if m == "PUT") == puts  # LFS objects were not sent again
    assert "README.md" in hub.files("org/tiny")


def test_missing_token_is_a_one_line_error(hub, tmp_path, corpus):
    r = publish_cli(hub, tmp_path, corpus, token=None)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip().splitlines()[-1]]
    assert "no Hugging Face token" in r.stderr
    assert "org/tiny" not in hub.state.repos


def test_user_errors_without_network(tmp_path, monkeypatch):
    from scenavox.cli import main

    for bad in ("noslash", "a/b/c", "org/bad name", "org/x--y", "org/x.git", ""):
        with pytest.raises(UserError, match="namespace/name"):
            check_repo_id(bad)
    assert check_repo_id("my-org/car.v2_x") == "my-org/car.v2_x"
    with pytest.raises(UserError, match="no exported dataset"):
        check_folder(tmp_path / "nope")
    (tmp_path / "half" / "data").mkdir(parents=True)
    with pytest.raises(UserError, match="not a complete dataset export"):
        check_folder(tmp_path / "half")
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(UserError, match="HF_TOKEN"):
        resolve_token()
    scenario = tmp_path / "tinycar.yaml"
    scenario.write_text(SCENARIO_YAML)
    runner = CliRunner()
    res = runner.invoke(main, ["publish", "-s", str(scenario), "--repo", "bad", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "namespace/name" in res.output
    res = runner.invoke(main, ["publish", "-s", str(scenario), "--repo", "org/x", "--out", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no exported dataset" in res.output


def test_publish_waits_for_no_running_build(hub, tmp_path, corpus):
    with corpus["store"].lock():  # a `scenavox corpus` run holds the folder
        r = publish_cli(hub, tmp_path, corpus)
    assert r.returncode == 2 and "another scenavox run" in r.stderr
    assert "org/tiny" not in hub.state.repos
