"""The openai backend against a stdlib fake server on 127.0.0.1: faults, privacy, resume, concurrency.

The real llama.cpp server is exercised in test_llama_server.py."""

import json

import pytest

from scenavox.errors import UserError
from scenavox.executors import LocalExecutor
from scenavox.api import build
from scenavox.pipeline import plan_workers
from scenavox.scenario import parse_scenario
from scenavox.text.backends.openai_backend import OpenAIBackend, is_private_url
from scenavox.text.commands import plan_commands
from scenavox.text.stage import TextStage

from .servers import FakeOpenAI


def _quarantine(out):
    path = out / "quarantine.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_valid_triples_and_usage(make_scenario, tmp_path):
    with FakeOpenAI() as srv:
        sc = make_scenario(srv.url, n=6)
        res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] == 6 and res.summary["set_aside"] == 0
    assert srv.requests == 6
    body = srv.bodies[0]
    assert body["model"] == "test-model" and body["response_format"]["type"] == "json_object"
    assert body["response_format"]["schema"]["required"] == ["utterance", "reply"]  # llama.cpp needs the schema
    usage = res.summary["text_usage"]
    assert usage == {"requests": 6, "retries": 0, "prompt_tokens": 60, "completion_tokens": 30}
    t = res.triples[0]
    assert t.provenance["text_backend"] == "openai" and t.provenance["text_model"] == "test-model"


@pytest.mark.parametrize("mode", ["json_schema", "none"])
def test_structured_output_modes(make_scenario, tmp_path, mode):
    with FakeOpenAI() as srv:
        sc = make_scenario(srv.url, n=2, mode=mode)
        build(sc, out=tmp_path / "c", workers=0, progress=False)
    fmt = srv.bodies[0].get("response_format")
    if mode == "none":
        assert fmt is None
    else:
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["utterance", "reply"]


def test_faults_do_not_stop_the_run(make_scenario, tmp_path):
    """Garbage for Sarah, HTTP 500 for David (always), a slow answer past the timeout for Mom;
    every other prompt fails once with 503 / 429 and then succeeds (retried, not set aside)."""

    def behave(n, body, k):
        last = body["messages"][-1]["content"]
        if "Sarah" in last:
            return "garbage"
        if "David" in last:
            return "500"
        if "Mom" in last:
            return ("slow", 1.5)
        return "503" if k == 1 else ("429" if k == 2 else "ok")

    with FakeOpenAI(behave) as srv:
        sc = make_scenario(srv.url, n=12, timeout=0.5, retries=2, attempts=2)
        res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    s = res.summary
    q = {x["input"]["command"]["slots"].get("contact", ""): x for x in _quarantine(res.out)}
    assert set(q) == {"Sarah", "David", "Mom"}
    assert "not valid JSON" in q["Sarah"]["reason"] and q["Sarah"]["attempts"][0]["raw"].startswith("this is not")
    assert len(q["Sarah"]["attempts"]) == 2  # retried with a new seed, then set aside
    assert "request failed: HTTP 500 after 3 tries" in q["David"]["reason"]
    assert "request failed" in q["Mom"]["reason"] and "Timeout" in q["Mom"]["reason"]
    # set_temperature items get 503, then 429, then succeed; every contact item is set aside and
    # replaced by further planned items, so the corpus still reaches n = 12
    assert s["utterances"] == 12 and s["stages"]["text"]["done"] >= 12 and s["set_aside"] >= 6
    assert s["set_aside"] == s["stages"]["text"]["quarantined"]
    assert s["text_usage"]["retries"] >= 12
    assert all(t.command.intent == "set_temperature" for t in res.triples)
    assert any(r.startswith("text: request failed: HTTP 500") for r in s["set_aside_reasons"])


def test_rerun_sends_zero_requests(make_scenario, tmp_path):
    with FakeOpenAI() as srv:
        sc = make_scenario(srv.url, n=5)
        first = build(sc, out=tmp_path / "c", workers=0, progress=False)
        assert srv.requests == 5
        again = build(sc, out=tmp_path / "c", workers=0, progress=False)
        assert srv.requests == 5  # finished items come from the store
        # a different concurrency, timeout or server address is transport only: still nothing to do
        other = make_scenario(srv.url.replace("127.0.0.1", "localhost"), n=5, concurrency=2, timeout=30)
        build(other, out=tmp_path / "c", workers=0, progress=False)
        assert srv.requests == 5
    assert again.summary["stages"]["text"]["reused"] == 5 and again.summary["text_usage"]["requests"] == 0
    assert [t.utterance for t in first.triples] == [t.utterance for t in again.triples]


def test_output_does_not_depend_on_concurrency(make_scenario, tmp_path):
    outs = {}
    for conc in (1, 4):
        with FakeOpenAI(delay_s=0.05) as srv:
            sc = make_scenario(srv.url, n=8, concurrency=conc)
            res = build(sc, out=tmp_path / f"c{conc}", workers=0, progress=False)
        outs[conc] = (res.out / "triples.jsonl").read_bytes()
        if conc == 4:
            assert srv.max_in_flight > 1  # requests really overlapped
        else:
            assert srv.max_in_flight == 1
    assert outs[1] == outs[4]


def test_thread_pool_bounds_in_flight(make_scenario):
    with FakeOpenAI(delay_s=0.1) as srv:
        sc = make_scenario(srv.url, n=12, concurrency=3)
        stage = TextStage(sc)
        assert stage.resources.concurrency == 3 and stage.resources.cpus == 0
        tasks = plan_commands(sc, 12, 0)
        outs = list(LocalExecutor().map(stage, tasks, workers=0))
    assert len(outs) == 12 and all(o.record is not None for o in outs)
    assert srv.max_in_flight == 3


def test_plan_workers_gives_the_cores_to_voice_when_text_is_remote():
    assert plan_workers(2, text_remote=True) == (0, 1, 2, 1)  # voice: a single-threaded worker per core
    assert plan_workers(2) == (2, 1, 1, 1)  # local LLM: a single-threaded worker per core
    assert plan_workers(0, text_remote=True)[0] == 0


def test_api_key_from_env_never_written(make_scenario, tmp_path, monkeypatch):
    secret = "sk-test-3f9a1c0ffee"
    monkeypatch.setenv("SCENAVOX_TEST_KEY", secret)
    with FakeOpenAI() as srv:
        sc = make_scenario(srv.url, n=3, extra="")
        sc = sc.with_text(api_key_env="SCENAVOX_TEST_KEY")
        res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert srv.auth == {f"Bearer {secret}"}
    for f in res.out.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


# --- privacy and configuration errors: refused before any request -------------------------------
@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://8.8.8.8:8000/v1", "http://[2001:4860::1]/v1"])
def test_cloud_url_refused_when_cloud_upload_is_false(make_scenario, tmp_path, url):
    sc = make_scenario(url, n=2)
    with pytest.raises(UserError, match="cloud_upload"):
        TextStage(sc)
    with pytest.raises(UserError, match="privacy.cloud_upload: false"):
        build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert not (tmp_path / "c" / "text").exists()


def test_private_urls_allowed_and_cloud_allowed_when_permitted(make_scenario, monkeypatch):
    for url in ("http://127.0.0.1:8000/v1", "http://localhost:1/v1", "http://10.1.2.3/v1", "http://192.168.0.7/v1",
                "http://[::1]:8000/v1"):
        assert is_private_url(url), url
        TextStage(make_scenario(url))
    assert not is_private_url("http://8.8.8.8/v1")
    TextStage(make_scenario("http://8.8.8.8/v1", cloud=True))  # allowed by the scenario; no request made


def test_missing_key_for_cloud_server_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    b = OpenAIBackend(model="m", base_url="http://8.8.8.8/v1", api_key_env="NO_SUCH_KEY_VAR", cloud_upload=True)
    with pytest.raises(UserError, match="NO_SUCH_KEY_VAR"):
        b.load()


@pytest.mark.parametrize(
    "text, match",
    [
        ("backend: openai\n  api_key_env: sk-abc123", "NAME of an environment variable"),
        ("backend: openai\n  base_url: ftp://host/v1", "not an http"),
        ("backend: openai\n  structured_output: xml", "structured_output"),
        ("backend: openai\n  concurrency: 0", "concurrency"),
        ("backend: openai\n  request_timeout_s: -1", "request_timeout_s"),
    ],
)
def test_config_errors(text, match):
    yaml = f"""name: x
description: d
languages: [{{language: en, weight: 1}}]
intents: [{{name: a}}]
text:
  {text}
"""
    with pytest.raises(UserError, match=match) as err:
        parse_scenario(yaml, "x.yaml")
    assert "x.yaml: text." in str(err.value)


def test_openai_without_model_is_refused(make_scenario):
    sc = make_scenario("http://127.0.0.1:9/v1").with_text(model="")
    with pytest.raises(UserError, match="text.model"):
        TextStage(sc)


def test_cli_overrides(make_scenario, tmp_path):
    from click.testing import CliRunner

    from scenavox.cli import main

    with FakeOpenAI() as srv:
        sc = make_scenario("http://127.0.0.1:9/v1", model="other", n=3)
        r = CliRunner().invoke(main, ["corpus", "-s", str(sc.source_path), "--out", str(tmp_path / "c"), "--workers",
                                      "0", "-q", "--text-backend", "openai", "--base-url", srv.url, "--model", "cli-m"])
        assert r.exit_code == 0, r.output
        assert srv.requests == 3 and srv.bodies[0]["model"] == "cli-m"
        assert "text usage: 3 requests" in r.output
        r = CliRunner().invoke(main, ["corpus", "-s", str(sc.source_path), "--out", str(tmp_path / "d"), "-q",
                                      "--base-url", "https://api.example.com/v1"])
        assert r.exit_code == 2 and "cloud_upload" in r.output
