"""The acoustics stage on real speech: an eSpeak clip voiced by the voice stage, placed in scenes.

Also the stage in the pipeline: a run stopped between voice and acoustics resumes from the voiced
clips without voicing them again, and ends as an uninterrupted run does.
"""

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("espeakng_loader")

from scenavox.acoustics.stage import AcousticsStage, clip_scene, placed_clip
from scenavox.errors import UserError
from scenavox.records import Command, SceneTask, Triple
from scenavox.scenario import load_scenario
from scenavox.audio import encode, encode_lossless, read_mono as decode
from scenavox.voice.stage import VoicePlanner, VoiceStage

SR = 16000
HUM_HZ = 1000.0
TEXT = "Set the temperature to twenty one degrees, please."

SCENARIO = """
name: cabin
description: The acoustics stage test scenario.
languages:
  - language: en
    weight: 1
    accents: [{accent: en-US, weight: 1}]
intents:
  - name: set_temperature
    slots:
      temperature: {number: {min: 18, max: 24, unit: degrees}}
output_form: text_only
noise: {environment: vehicle_cabin, min_snr_db: 5, max_snr_db: 10}
voices: {registry: voices.yaml}
"""
VOICES = """voices:
  - {id: espeak-us, backend: espeak, model: espeak-ng, language: en, accent: en-US, licence: GPL-3.0-or-later,
     engine_licence: GPL-3.0-or-later, options: {espeak_voice: en-us}}
"""


@pytest.fixture
def scenario(tmp_path):
    """A car scenario voiced by eSpeak; `extra` YAML adds to it (user folders are relative to it)."""
    (tmp_path / "voices.yaml").write_text(VOICES)
    noise = tmp_path / "my_noise"
    noise.mkdir()
    sf.write(noise / "fan.wav", 0.1 * np.sin(2 * np.pi * HUM_HZ * np.arange(SR) / SR), SR)
    rirs = tmp_path / "my_rirs"
    rirs.mkdir()
    h = np.zeros(800, np.float32)
    h[0], h[400] = 1.0, 0.5  # a direct path and one strong echo
    sf.write(rirs / "hall.wav", h, SR, subtype="FLOAT")

    def make(extra=""):
        p = tmp_path / "cabin.yaml"
        p.write_text(SCENARIO + extra)
        return load_scenario(p)

    return make


def voiced(sc):
    """(voice task, clean clip, its speech) for one real eSpeak clip."""
    planner = VoicePlanner(sc, seed=3)
    t = Triple(id="t0", index=0, command=Command(intent="set_temperature", slots={"temperature": "21 degrees"}),
               utterance=TEXT, reply="Okay.")
    task = planner.task_for(t, planner.schedule(1)[0])
    out = VoiceStage(threads=1).process(task)
    assert out.record is not None, out.quarantined
    return task, out.record, out.files[out.record.audio_path]


def hum_share(x):
    """Share of the signal's energy within 20 Hz of the user's hum."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[np.abs(f - HUM_HZ) < 20].sum() / spec.sum())


def test_handed_over_speech_is_exact_and_its_bytes_depend_on_the_samples_only():
    import time

    x = (0.3 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    a = encode_lossless(x, SR)
    time.sleep(1.1)  # a float WAV would differ now: its PEAK chunk carries the time of writing
    assert encode_lossless(x, SR) == a
    y, sr = decode(a)
    assert sr == SR and y.dtype == np.float32 and np.array_equal(x, y)


def test_a_voiced_clip_is_placed_in_its_scene_with_every_parameter_recorded(scenario):
    task, clean, speech = voiced(scenario())
    # the voice stage hands over clean speech only, losslessly
    assert clean.acoustics == {} and clean.clean_audio_path is None and clean.audio_path.startswith("voice/")
    x, sr = decode(speech)
    assert sr == SR and x.dtype == np.float32 and encode_lossless(x, sr) == speech
    scene = clip_scene(task, speech)
    assert scene.scene == task.acoustics and "speech" not in scene.model_dump()  # quarantine records stay small
    out = AcousticsStage().process(scene)
    p = out.record
    assert set(out.files) == {f"audio/{task.id}.flac", f"clean/{task.id}.flac"}
    assert out.files[p.clean_audio_path] == encode(x, SR)  # the clean file is the voiced speech itself
    y, _ = decode(out.files[p.audio_path])
    assert len(y) == len(x) and not np.allclose(y, decode(out.files[p.clean_audio_path])[0], atol=1e-3)
    a = p.acoustics
    assert a["acoustics_preset"] == "vehicle_cabin" and a["acoustics_seed"] == task.clip_seed()
    assert 5 <= a["snr_db"] <= 10 and abs(a["measured_snr_db"] - a["snr_db"]) < 1.0
    assert any(k.startswith("cabin.") for k in a)
    clip = placed_clip(clean, p)  # the corpus record: the voice's clip with where the scene put it
    assert (clip.audio_path, clip.clean_audio_path, clip.acoustics) == (p.audio_path, p.clean_audio_path, a)
    assert clip.model_dump(exclude={"audio_path", "clean_audio_path", "acoustics"}) == clean.model_dump(
        exclude={"audio_path", "clean_audio_path", "acoustics"})


def test_same_seed_same_bytes(scenario):
    task, _, speech = voiced(scenario())
    scene = clip_scene(task, speech)
    a, b = AcousticsStage().process(scene), AcousticsStage().process(scene)
    assert a.files == b.files and a.record == b.record
    other = AcousticsStage().process(scene.model_copy(update={"seed": scene.seed + 1}))
    assert other.files[scene.clean_path] == a.files[scene.clean_path]
    assert other.files[scene.audio_path] != a.files[scene.audio_path] and other.record.acoustics != a.record.acoustics


def test_the_users_noise_and_rir_folders_are_used(scenario):
    sc = scenario("acoustics: {noise_dirs: [my_noise], rir_dirs: [my_rirs], user_noise_weight: 1.0}\n")
    task, _, speech = voiced(sc)
    out = AcousticsStage().process(clip_scene(task, speech))
    a = out.record.acoustics
    assert "fan.wav" in a.values() and "hall.wav" in a.values(), a
    x, _ = decode(speech)
    y, _ = decode(out.files[out.record.audio_path])
    assert hum_share(y) > 20 * hum_share(x)  # the audio carries the user's 1 kHz fan


def test_a_noise_folder_without_audio_stops_the_run_with_one_line(scenario, tmp_path):
    (tmp_path / "empty").mkdir()  # the scenario checks that the folder exists; what is in it is seen here
    (tmp_path / "empty" / "readme.txt").write_text("no audio")
    sc = scenario("acoustics: {noise_dirs: [empty]}\n")
    task, _, speech = voiced(sc)
    with pytest.raises(UserError, match="no .wav/.flac noise files found in .*empty.*acoustics.noise_dirs"):
        AcousticsStage().run_one(clip_scene(task, speech))


def test_a_clean_scene_only_limits_the_peak(scenario):
    task, _, speech = voiced(scenario("acoustics: {enabled: false}\n"))
    assert task.acoustics is None
    x, _ = decode(speech)
    out = AcousticsStage().process(clip_scene(task, speech))
    assert set(out.files) == {f"audio/{task.id}.flac"} and out.record.acoustics == {}
    assert out.files[out.record.audio_path] == encode(x, SR)  # what the voice stage made, nothing added
    loud = SceneTask(id="d", speech=encode_lossless(3 * x, SR), sample_rate=SR, format="flac", seed=0,
                     audio_path="dialogues/d.flac")  # e.g. overlapping turns of a dialogue
    y, _ = decode(AcousticsStage().process(loud).files["dialogues/d.flac"])
    assert 0.98 < np.abs(y).max() <= 0.99 + 1 / 32768


class Stop(BaseException):
    """Ends a run as kill -9 would: no stage catches it."""


def test_a_run_stopped_between_voice_and_acoustics_resumes_from_the_voiced_clips(mini_yaml, tmp_path, monkeypatch):
    from scenavox.acoustics import stage as acoustics_stage
    from scenavox.api import build

    sc = load_scenario(mini_yaml)
    whole = build(sc, out=tmp_path / "whole", workers=0, progress=False)
    real = acoustics_stage.AcousticsStage.process
    placed = []

    def stop_after_four(self, task):
        if len(placed) == 4:
            raise Stop
        placed.append(task.id)
        return real(self, task)

    monkeypatch.setattr(acoustics_stage.AcousticsStage, "process", stop_after_four)
    with pytest.raises(Stop):
        build(sc, out=tmp_path / "c", workers=0, progress=False)
    monkeypatch.setattr(acoustics_stage.AcousticsStage, "process", real)
    waiting = sorted(p.stem for p in (tmp_path / "c" / "voice").glob("*.json"))
    assert waiting and not set(waiting) & set(placed)  # voiced, not placed: kept for the next run
    again = build(sc, out=tmp_path / "c", workers=0, progress=False)
    v = again.summary["stages"]["voice"]
    assert v["done"] == 10 - 4 - len(waiting) and v["reused"] == 4 + len(waiting)
    assert not (tmp_path / "c" / "voice").exists()  # placed clips leave no voice output (nor its folder) behind

    def corpus(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and p.name not in ("run.json", ".lock")}

    assert corpus(tmp_path / "c") == corpus(tmp_path / "whole")
