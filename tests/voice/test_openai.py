"""OpenAI TTS backend against a local OpenAI-compatible speech server; refused without cloud upload."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("openai")

from scenavox.errors import UserError
from scenavox.records import Command, Triple
from scenavox.scenario import load_scenario
from scenavox.voice.backends.openai import OpenAIBackend
from scenavox.voice.stage import VoicePlanner


@pytest.fixture
def speech_server():
    """POST /v1/audio/speech -> a WAV of eSpeak NG reading the input (or a tone without eSpeak)."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            try:
                from scenavox.voice.backends.espeak import EspeakBackend

                x, sr = EspeakBackend().synthesize(body["input"], {"options": {"espeak_voice": "en-us"}},
                                                   {"rate": body.get("speed", 1.0)}, 0)
            except ImportError:
                sr = 24000
                x = (0.3 * np.sin(2 * np.pi * 180 * np.arange(sr) / sr)).astype(np.float32)
            buf = io.BytesIO()
            sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
            data = buf.getvalue()
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1", seen
    srv.shutdown()


def voice(base_url, allowed=True):
    return {"id": "oa-coral", "backend": "openai", "model": "gpt-4o-mini-tts", "cloud_upload_allowed": allowed,
            "options": {"voice": "coral", "instructions": "Speak with a Scottish accent.", "base_url": base_url,
                        "api_key_env": "SCENAVOX_TEST_KEY"}}


def test_speech_request_and_audio(speech_server, monkeypatch):
    url, seen = speech_server
    monkeypatch.setenv("SCENAVOX_TEST_KEY", "sk-test")
    x, sr = OpenAIBackend().synthesize("Call Sarah now.", voice(url), {"rate": 1.2}, seed=0)
    assert x.dtype == np.float32 and len(x) / sr > 0.3 and np.abs(x).max() > 0.05
    req = seen[-1]
    assert req["path"] == "/v1/audio/speech" and req["auth"] == "Bearer sk-test"
    assert req["voice"] == "coral" and req["model"] == "gpt-4o-mini-tts" and req["speed"] == 1.2
    assert req["instructions"] == "Speak with a Scottish accent." and req["input"] == "Call Sarah now."


def test_refused_without_cloud_upload(speech_server, monkeypatch, tmp_path, repo_cwd):
    url, seen = speech_server
    monkeypatch.setenv("SCENAVOX_TEST_KEY", "sk-test")
    with pytest.raises(UserError, match="cloud_upload"):
        OpenAIBackend().synthesize("Call Sarah now.", voice(url, allowed=False), {"rate": 1.0}, seed=0)
    assert not seen  # nothing left the machine
    reg = tmp_path / "reg.yaml"
    reg.write_text(
        "voices:\n"
        "  - {id: oa-coral, backend: openai, model: gpt-4o-mini-tts, language: en, accent: en-US, licence: "
        "OpenAI-terms, options: {voice: coral}}\n"
        "  - {id: es-us, backend: espeak, model: espeak-ng, language: en, accent: en-US, licence: "
        "GPL-3.0-or-later, options: {espeak_voice: en-us}}\n")
    sc = load_scenario("prompts/car.yaml")
    sc.voices.registry = str(reg)
    sc.voices.exclude = []  # car.yaml excludes a voice of the default registry
    sc.languages[0].accents = sc.languages[0].accents[:1]
    sc.languages[0].accents[0].weight = 1.0
    planner = VoicePlanner(sc, 1)  # cloud_upload: false -> the cloud voice is dropped
    assert [v.id for v in planner.voices] == ["es-us"]
    sc.voices.include = ["oa-coral"]
    with pytest.raises(UserError, match="privacy.cloud_upload is false"):
        VoicePlanner(sc, 1)
    sc.voices.include = []
    sc.privacy.cloud_upload = True
    planner = VoicePlanner(sc, 1)
    t = Triple(id="t0", index=0, command=Command(intent="x"), utterance="Call Mom.", reply="ok")
    tasks = [planner.task_for(t, slot) for slot in planner.schedule(2)]
    oa = [x for x in tasks if x.voice["backend"] == "openai"]
    assert oa and oa[0].voice["cloud_upload_allowed"] is True
