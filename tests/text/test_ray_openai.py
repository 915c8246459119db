"""The openai backend under the Ray executor keeps `concurrency` requests in flight per actor
and gives the same triples as the local executor (orchestration: a scripted server)."""

import pytest

from scenavox.api import build

from .servers import FakeOpenAI

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'scenavox[ray]'")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_ray_keeps_requests_in_flight_and_matches_local(ray_cluster, make_scenario, tmp_path):
    from scenavox.executor_ray import RayExecutor

    with FakeOpenAI(delay_s=0.4) as srv:
        sc = make_scenario(srv.url, n=8, concurrency=4)
        local = build(sc, n=8, seed=3, out=tmp_path / "local", workers=0, progress=False)
        srv.max_in_flight = 0
        remote = build(sc, n=8, seed=3, out=tmp_path / "ray", workers=1, progress=False, executor=RayExecutor())
        in_flight = srv.max_in_flight
    assert in_flight >= 3, f"Ray actor sent requests one at a time (max in flight {in_flight})"
    assert [t.model_dump() for t in remote.triples] == [t.model_dump() for t in local.triples]
    assert len(remote.triples) == 8
