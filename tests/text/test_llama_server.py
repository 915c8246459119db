"""The openai backend against a REAL llama.cpp server (python -m llama_cpp.server) on 127.0.0.1,
serving the bundled SmolLM2 in json_object mode. The test starts, kills, restarts and stops it."""

import threading
import time

import pytest

from scenavox.errors import UserError
from scenavox.executors import LocalExecutor
from scenavox.api import build
from scenavox.scenario import load_scenario
from scenavox.text.bundled import bundled_gguf
from scenavox.text.commands import plan_commands
from scenavox.text.stage import TextStage

from ..conftest import ROOT
from .servers import LlamaServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

N = 4
EXAMPLES = """examples:
  - {intent: call_contact, slots: {contact: Mom}, utterance: Please call Mom for me., reply: Calling Mom now.}
  - {intent: set_temperature, slots: {temperature: 19 degrees}, utterance: Set the temperature to 19 degrees.,
     reply: Temperature set to 19 degrees.}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LlamaServer(bundled_gguf(), log=tmp_path_factory.mktemp("llama") / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _server_up(server):
    """A test that kills the server and fails to bring it back must not fail the tests after it."""
    if not server.alive:
        server.start()


@pytest.fixture(scope="module")
def car(server):
    import os

    old = os.getcwd()
    os.chdir(ROOT)
    try:
        sc = load_scenario("car")
    finally:
        os.chdir(old)
    # the same scenario, switched from the local backend to the server
    return sc.with_text(backend="openai", model="smollm2", base_url=server.url, structured_output="json_object",
                        concurrency=2, max_retries=10, request_timeout_s=60)


@pytest.fixture(scope="module")
def first_run(car):
    stage = TextStage(car)
    tasks = plan_commands(car, N, seed=3)
    outs = sorted(LocalExecutor().map(stage, tasks), key=lambda o: o.id)
    return tasks, outs


def _records(outs):
    return [o.record.model_dump() if o.record else o.quarantined.reason for o in sorted(outs, key=lambda o: o.id)]


def test_valid_triples_from_a_llama_cpp_server(first_run):
    tasks, outs = first_run
    valid = [o.record for o in outs if o.record is not None]
    assert len(valid) >= N - 2, [o.quarantined.reason for o in outs if o.quarantined]
    for t in valid:
        assert t.provenance["text_backend"] == "openai" and t.provenance["text_model"] == "smollm2"
        assert t.utterance and t.reply and t.utterance != t.reply
    assert all(o.metrics.get("prompt_tokens", 0) > 0 and o.metrics.get("completion_tokens", 0) > 0 for o in outs)
    for o in outs:  # every set-aside item has a content reason, not a transport failure
        assert o.quarantined is None or "request failed" not in o.quarantined.reason


def test_server_killed_and_restarted_mid_run(car, server):
    # one request per item (no judge, no best-of-k): this is about the transport, and it halves the test
    plain = car.with_text(judge={"enabled": False})
    stage = TextStage(plain)
    tasks = plan_commands(plain, N, seed=5)
    before = list(LocalExecutor().map(stage, tasks))
    outs = []
    restarted = threading.Event()
    errors = []

    def restart():
        time.sleep(2.0)
        try:
            server.start()
        except Exception as e:  # reported by the assertion below, with the server's log
            errors.append(e)
        restarted.set()

    for out in LocalExecutor().map(stage, tasks):
        outs.append(out)
        if len(outs) == 1:
            server.stop()  # kill -9 while the next requests are in flight or queued
            threading.Thread(target=restart, daemon=True).start()
    assert restarted.wait(120) and not errors, errors
    assert len(outs) == N
    assert all(o.quarantined is None or "request failed" not in o.quarantined.reason for o in outs)
    assert sum(o.metrics.get("retries", 0) for o in outs) >= 1  # someone hit the dead server and retried
    # same tasks and seeds -> same words, across a server restart and the concurrency of the run
    assert _records(outs) == _records(before)


def test_json_schema_mode_is_refused_with_a_hint(car):
    stage = TextStage(car.with_text(structured_output="json_schema"))
    task = plan_commands(car, 1, seed=3)[0]
    with pytest.raises(UserError, match="structured_output: json_object"):
        stage.run_one(task)


def test_pipeline_on_the_server_and_rerun_sends_nothing(server, make_scenario, tmp_path):
    sc = make_scenario(server.url, model="smollm2", n=3, concurrency=2, retries=4, attempts=4, timeout=60,
                       extra=EXAMPLES)
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] >= 2, res.summary["set_aside_reasons"]
    assert res.summary["text_usage"]["requests"] >= 3
    again = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert again.summary["text_usage"]["requests"] == 0
    assert again.summary["stages"]["text"]["done"] == 0
    assert (res.out / "triples.jsonl").read_bytes() == (again.out / "triples.jsonl").read_bytes()
