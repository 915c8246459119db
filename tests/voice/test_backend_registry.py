"""TTS backends by registry: a backend defined here, registered with one line, voices a scenario;
the voice registry takes backend names and option checks from it; heavy packages stay unimported."""

import json
import subprocess
import sys

import numpy as np
import pytest

from scenavox.errors import UserError
from scenavox.api import build
from scenavox.scenario import load_scenario
from scenavox.voice import backends
from scenavox.voice.backends import TTSBackend
from scenavox.voice.registry import load_registry

from ..conftest import MINIMAL


class ChirpBackend(TTSBackend):
    """A tiny backend: one rising chirp per word, pitch shifted natively."""

    name = "chirp"
    licence = "CC0-1.0"
    native_controls = frozenset({"rate", "pitch_semitones"})
    options = {"base_hz": "the chirp's start frequency"}

    @classmethod
    def check_voice(cls, voice):
        if float(voice.options.get("base_hz", 200)) <= 0:
            raise ValueError("chirp voices need a positive options.base_hz")

    def native_prosody(self, voice, prosody):
        return {"start_hz": round(self._f0(voice, prosody), 2)}

    @staticmethod
    def _f0(voice, prosody):
        return float(voice["options"].get("base_hz", 200)) * 2 ** (prosody["pitch_semitones"] / 12)

    def synthesize(self, text, voice, prosody, seed=0):
        sr = 16000
        t = np.arange(int(sr * 0.25 / prosody["rate"])) / sr
        f0 = self._f0(voice, prosody)
        word = np.sin(2 * np.pi * (f0 + 400 * t) * t) * 0.3
        gap = np.zeros(int(sr * 0.05))
        return np.concatenate([np.concatenate([word, gap]) for _ in text.split()]).astype(np.float32), sr


@pytest.fixture
def chirp():
    backends.register("chirp", ChirpBackend)  # the one registry line a new backend needs
    yield ChirpBackend
    backends.unregister("chirp")


def _registry(tmp_path, options="{base_hz: 180}"):
    p = tmp_path / "chirps.yaml"
    p.write_text("voices:\n"
                 f"  - {{id: chirp-us, backend: chirp, model: chirp-1, language: en, accent: en-US, licence: CC0-1.0, "
                 f"options: {options}}}\n"
                 "  - {id: chirp-gb, backend: chirp, model: chirp-1, language: en, accent: en-GB, licence: CC0-1.0}\n")
    return p


def test_a_backend_registered_from_a_test_module_voices_a_scenario(chirp, tmp_path):
    reg = _registry(tmp_path)
    sc_file = tmp_path / "mini.yaml"
    sc_file.write_text(MINIMAL + f"text: {{backend: fake}}\nvoices: {{registry: {reg}}}\nsize: {{n: 6}}\n"
                       "audio: {prosody: {min_pitch_semitones: 2, max_pitch_semitones: 3}}\n"
                       "qa: {enabled: false}\nacoustics: {enabled: false}\n")
    res = build(load_scenario(sc_file), n=6, out=tmp_path / "out", workers=0, progress=False)
    assert res.summary["utterances"] == 6 and set(res.summary["voices"]) == {"chirp-us", "chirp-gb"}
    for clip in res.clips:
        prov = clip.provenance
        assert prov["tts_backend"] == "chirp" and prov["source_sample_rate"] == 16000
        # pitch is native to this backend: the drawn shift is kept, and the backend's own value recorded
        assert 2 <= clip.prosody["pitch_semitones"] <= 3
        base = 180 if clip.voice_id == "chirp-us" else 200
        assert prov["native_prosody"]["start_hz"] == round(base * 2 ** (clip.prosody["pitch_semitones"] / 12), 2)
        assert (res.out / clip.audio_path).is_file()
    assert (res.out / "dataset" / "README.md").is_file()


def test_the_planner_records_no_pitch_for_a_backend_without_pitch_control(chirp, tmp_path):
    from scenavox.voice.stage import VoicePlanner

    class Flat(ChirpBackend):
        native_controls = frozenset({"rate"})

    backends.register("chirp", Flat)
    reg = _registry(tmp_path)
    sc_file = tmp_path / "mini.yaml"
    sc_file.write_text(MINIMAL + f"voices: {{registry: {reg}}}\n"
                       "audio: {prosody: {min_pitch_semitones: 2, max_pitch_semitones: 3}}\n")
    from scenavox.records import Command, Triple

    planner = VoicePlanner(load_scenario(sc_file), 7)
    t = Triple(id="t0", index=0, command=Command(intent="call_contact", slots={"contact": "Mom"}),
               utterance="Call Mom", reply="Calling Mom.")
    assert planner.task_for(t, planner.schedule(1)[0]).prosody["pitch_semitones"] == 0.0


def test_a_backend_registered_at_run_time_reaches_worker_processes(chirp, tmp_path):
    """Workers start from the built-in registry lines; the stage carries the registry with it."""
    from scenavox.executors import LocalExecutor
    from scenavox.records import Command, Triple
    from scenavox.voice.stage import VoicePlanner, VoiceStage

    sc_file = tmp_path / "mini.yaml"
    sc_file.write_text(MINIMAL + f"voices: {{registry: {_registry(tmp_path)}}}\nacoustics: {{enabled: false}}\n")
    planner = VoicePlanner(load_scenario(sc_file), 7)
    triples = [Triple(id=f"t{i}", index=i, command=Command(intent="call_contact", slots={"contact": "Mom"}),
                      utterance=f"Call Mom {'now ' * i}please", reply="Calling Mom.") for i in range(2)]
    tasks = [planner.task_for(t, slot) for t, slot in zip(triples, planner.schedule(len(triples)))]
    outcomes = list(LocalExecutor().map(VoiceStage(threads=1), tasks, workers=1))
    assert all(o.record is not None and o.record.provenance["tts_backend"] == "chirp" for o in outcomes), \
        [o.quarantined for o in outcomes]


def test_voice_registry_takes_names_and_options_from_the_backend(chirp, tmp_path):
    assert [v.backend for v in load_registry(str(_registry(tmp_path)))] == ["chirp", "chirp"]
    with pytest.raises(UserError) as err:
        load_registry(str(_registry(tmp_path, "{base_hz: 180, colour: red}")))
    msg = str(err.value)
    assert "unknown chirp option(s) colour; allowed: base_hz" in msg and "\n" not in msg
    with pytest.raises(UserError, match="chirp voices need a positive options.base_hz"):
        load_registry(str(_registry(tmp_path, "{base_hz: -1}")))
    backends.unregister("chirp")
    with pytest.raises(UserError) as err:
        load_registry(str(_registry(tmp_path)))
    assert "unknown TTS backend 'chirp'; available: piper, espeak" in str(err.value)


def test_an_unimportable_backend_says_how_to_install_it():
    backends.register("ghost", "scenavox_no_such_package.tts:Ghost", "pip install ghost-tts")
    try:
        with pytest.raises(UserError) as err:
            backends.backend_class("ghost")
        msg = str(err.value)
        assert "ghost TTS backend cannot be imported" in msg and msg.endswith("pip install ghost-tts")
        assert "\n" not in msg
    finally:
        backends.unregister("ghost")


def test_builtin_backends_declare_the_protocol():
    assert backends.names() == ["piper", "espeak", "kokoro", "hibari", "coqui", "openai", "fake"]
    for name in backends.names():
        cls = backends.backend_class(name)
        assert cls.name == name and cls.licence and isinstance(cls.native_controls, frozenset), name
        assert cls.options is None or all(isinstance(v, str) and v for v in cls.options.values()), name
        assert callable(cls.synthesize) and callable(cls.native_prosody) and callable(cls.check_voice)
    assert [n for n in backends.names() if backends.is_cloud(n)] == ["openai"]
    assert [n for n in backends.names() if backends.pitch_native(n)] == ["espeak"]


def test_loading_the_registry_imports_no_engine(repo_cwd):
    """The registry imports backend classes to read their declarations; the engines (and their
    models) load only when a voice of theirs is synthesized."""
    code = ("import sys, json; from scenavox.voice.registry import load_registry; load_registry('default'); "
            "load_registry('coqui_vctk'); print(json.dumps(sorted(m for m in ('piper', 'onnxruntime', 'kokoro_onnx', "
            "'espeakng_loader', 'TTS', 'torch', 'openai', 'hibari') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_cwd)
    assert json.loads(out.stdout) == []
