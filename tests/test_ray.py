"""The Ray executor runs the same stages and gives the same corpus as the local one."""

import tempfile

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'scenavox[ray]'")

from datasets import Audio, load_dataset  # noqa: E402

from scenavox.executor_ray import RayExecutor  # noqa: E402
from scenavox.api import build  # noqa: E402
from scenavox.scenario import load_scenario  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def rows(path):
    ds = load_dataset(str(path), cache_dir=tempfile.mkdtemp())
    return {r["id"]: r for s in ds for r in ds[s].cast_column("audio", Audio(decode=False))}


def test_ray_corpus_equals_local_with_real_piper(ray_cluster, tmp_path, monkeypatch):
    from .conftest import ROOT

    monkeypatch.chdir(ROOT)
    import yaml

    data = yaml.safe_load((ROOT / "prompts" / "car.yaml").read_text())
    data["text"] = {"backend": "fake"}  # the LLM is covered elsewhere; Piper runs for real here
    data["qa"] = {"enabled": False}  # QA runs in the driver, the same for both executors
    p = tmp_path / "car.yaml"
    p.write_text(yaml.safe_dump(data))
    sc = load_scenario(p)
    local = build(sc, n=6, seed=4, out=tmp_path / "local", workers=0, progress=False)
    remote = build(sc, n=6, seed=4, out=tmp_path / "ray", workers=2, progress=False, executor=RayExecutor())
    assert remote.summary["run_config"]["executor"] == "ray"
    a, b = rows(local.dataset), rows(remote.dataset)
    assert a.keys() == b.keys() and len(a) == 6
    for k in a:
        assert a[k]["audio"]["bytes"] == b[k]["audio"]["bytes"]
        assert {c: v for c, v in a[k].items() if c != "audio"} == {c: v for c, v in b[k].items() if c != "audio"}
