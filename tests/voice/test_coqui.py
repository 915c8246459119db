"""Coqui backend (the `coqui` extra): a small randomly initialised multi-speaker VITS, built here and
saved the way coqui saves models, driven through the registry, the planner, the voice stage and
the pipeline; the cloning gate (scenario permission + consent records)."""

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("TTS")  # coqui-tts: pip install -e '.[coqui]'

from scenavox.audio import read_mono
from scenavox.errors import UserError
from scenavox.records import Command, Triple
from scenavox.scenario import load_scenario
from scenavox.audio import read_mono
from scenavox.voice.backends.coqui import CoquiBackend
from scenavox.voice.registry import load_registry, scenario_voices
from scenavox.voice.stage import VoicePlanner, VoiceStage

pytestmark = [pytest.mark.coqui, pytest.mark.slow]  # ~1 s per sentence on a busy 2-core machine

SPEAKERS = ["spk_a", "spk_b", "spk_c"]
FRAMES_PER_CHAR = 5  # the random duration predictor is biased so that rate visibly changes the length


def build_tiny_vits(folder: Path) -> Path:
    """A random 3-speaker VITS (~1.5 M parameters), graphemes only (no espeak-ng binary needed)."""
    import torch
    from trainer.io import save_checkpoint
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    torch.manual_seed(0)
    args = VitsArgs(use_speaker_embedding=True, init_discriminator=False, use_sdp=False, hidden_channels=32,
                    hidden_channels_ffn_text_encoder=64, num_layers_text_encoder=2, num_layers_posterior_encoder=2,
                    num_layers_flow=2, upsample_initial_channel_decoder=32, resblock_kernel_sizes_decoder=[3],
                    resblock_dilation_sizes_decoder=[[1, 3, 5]], speaker_embedding_channels=16)
    config = VitsConfig(speakers=SPEAKERS, use_phonemes=False, text_cleaner="english_cleaners", model_args=args)
    config.audio.do_trim_silence = False  # coqui's end-point trim would cut random audio at a random place
    model = Vits(config)
    with torch.no_grad():  # log-duration ~ log(5) frames per character, whatever the random encoder says
        model.duration_predictor.proj.weight.mul_(0.01)
        model.duration_predictor.proj.bias.fill_(math.log(FRAMES_PER_CHAR))
        model.emb_g.weight.mul_(10.0)  # random speakers far apart, as trained ones are
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(config, model, str(folder), current_step=0, epoch=0)
    config.save_json(str(folder / "config.json"))
    return folder


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """A folder with the model, a voice registry naming it by relative path, and a scenario."""
    d = tmp_path_factory.mktemp("coqui")
    build_tiny_vits(d / "tiny_vits")
    common = "backend: coqui, model: tiny_vits, language: en, licence: CC-BY-4.0, engine_licence: MPL-2.0"
    (d / "voices.yaml").write_text(f"""voices:
  - {{id: rand-a, {common}, speaker: spk_a, accent: en-US, gender: female, age: 23, region: Testshire}}
  - {{id: rand-b, {common}, speaker: spk_b, accent: en-US, gender: male}}
  - {{id: rand-c, {common}, speaker: spk_c, accent: en-GB-scotland}}
""")
    (d / "scenario.yaml").write_text("""
name: coqui-mini
description: A tiny scenario voiced by a random coqui VITS.
languages:
  - language: en
    weight: 1
    accents: [{accent: en-US, weight: 0.5}, {accent: en-GB-scotland, weight: 0.5}]
intents:
  - name: call_contact
    slots:
      contact: {values: [Mom, Sarah, David]}
text: {backend: fake}
voices: {registry: voices.yaml}
acoustics: {enabled: false}
qa: {enabled: false}
size: {n: 4}
""")
    return d


@pytest.fixture(scope="module")
def backend():
    return CoquiBackend(threads=1)


def voice(corpus_dir, speaker="spk_a", **extra):
    return {"id": f"rand-{speaker}", "backend": "coqui", "model": str(corpus_dir / "tiny_vits"), "speaker": speaker,
            "language": "en", "options": {}, **extra}


PROSODY = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "pause_ms": 0}
TEXT = "Call Sarah on her phone."


def test_speakers_differ_and_seed_reproduces(corpus_dir, backend):
    a, sr = backend.synthesize(TEXT, voice(corpus_dir, "spk_a"), PROSODY, seed=1)
    assert sr == 22050 and a.ndim == 1 and a.dtype == np.float32
    assert len(a) > 0.5 * sr and np.abs(a).max() > 0
    again, _ = backend.synthesize(TEXT, voice(corpus_dir, "spk_a"), PROSODY, seed=1)
    assert again.tobytes() == a.tobytes()
    other_seed, _ = backend.synthesize(TEXT, voice(corpus_dir, "spk_a"), PROSODY, seed=2)
    assert other_seed.tobytes() != a.tobytes()  # the VITS noise is drawn from the seeded generator
    b, _ = backend.synthesize(TEXT, voice(corpus_dir, "spk_b"), PROSODY, seed=1)
    n = min(len(a), len(b))  # the durations are conditioned on the speaker too
    assert abs(len(a) - len(b)) < 0.2 * n
    assert np.mean(np.abs(a[:n] - b[:n])) > 0.1 * np.mean(np.abs(a[:n]))  # seed alone: ~0.04


def test_rate_sets_length_scale_and_is_restored(corpus_dir, backend):
    base, sr = backend.synthesize(TEXT, voice(corpus_dir), PROSODY, seed=1)
    slow, _ = backend.synthesize(TEXT, voice(corpus_dir), {**PROSODY, "rate": 0.5}, seed=1)
    fast, _ = backend.synthesize(TEXT, voice(corpus_dir), {**PROSODY, "rate": 2.0}, seed=1)
    assert 1.7 < len(slow) / len(base) < 2.3 and 0.4 < len(fast) / len(base) < 0.65
    m = backend._models[voice(corpus_dir)["model"]]
    assert m.model.length_scale == m.defaults["length_scale"] == 1.0
    assert m.model.inference_noise_scale == m.defaults["inference_noise_scale"]
    native = backend.native_prosody(voice(corpus_dir), {**PROSODY, "rate": 0.8})
    assert native["length_scale"] == 1.25 and native["noise_w_scale"] == 0.8
    # sentences are synthesized one by one, the clip's pause between them
    two, _ = backend.synthesize("Call Sarah. Call Mom.", voice(corpus_dir), {**PROSODY, "pause_ms": 400}, seed=1)
    two_nopause, _ = backend.synthesize("Call Sarah. Call Mom.", voice(corpus_dir), PROSODY, seed=1)
    assert len(two) - len(two_nopause) == int(0.4 * sr)


def test_unknown_speaker_and_bad_model_are_user_errors(corpus_dir, backend, tmp_path):
    with pytest.raises(UserError, match="no speaker 'p999'; it has spk_a, spk_b, spk_c"):
        backend.synthesize(TEXT, voice(corpus_dir, "p999"), PROSODY)
    with pytest.raises(UserError, match="neither a model folder"):
        backend.synthesize(TEXT, {**voice(corpus_dir), "model": str(tmp_path / "missing")}, PROSODY)


def test_registry_planner_and_stage(corpus_dir):
    voices = {v.id: v for v in load_registry(str(corpus_dir / "voices.yaml"))}
    assert voices["rand-a"].model == str((corpus_dir / "tiny_vits").resolve())  # relative to the registry file
    sc = load_scenario(corpus_dir / "scenario.yaml")
    planner = VoicePlanner(sc, seed=3)
    triples = [Triple(id=f"t{i}", index=i, command=Command(intent="call_contact"), utterance=TEXT, reply="ok")
               for i in range(4)]
    tasks = [planner.task_for(t, slot) for t, slot in zip(triples, planner.schedule(4))]
    assert {t.voice["id"] for t in tasks} == {"rand-a", "rand-b", "rand-c"}
    stage = VoiceStage(threads=1)
    outs = [stage.process(t) for t in tasks]
    for task, out in zip(tasks, outs):
        assert out.record is not None, out.quarantined
        clip = out.record
        x, sr = read_mono(out.files[clip.audio_path])
        assert sr == sc.audio.sample_rate == clip.sample_rate and x.ndim == 1 and len(x) > 0.3 * sr
        prov = clip.provenance
        assert prov["tts_backend"] == "coqui" and prov["speaker"] == task.voice["speaker"]
        assert prov["voice_licence"] == "CC-BY-4.0" and prov["engine_licence"] == "MPL-2.0"
        assert prov["native_prosody"]["length_scale"] == round(1 / task.prosody["rate"], 4)
        assert clip.prosody == task.prosody and prov["source_sample_rate"] == 22050
        if task.voice["id"] == "rand-a":
            assert prov["region"] == "Testshire" and prov["age"] == 23
        else:
            assert "region" not in prov
    # a fresh stage (as in another worker) gives the same bytes
    again = VoiceStage(threads=1).process(tasks[0])
    assert again.files == outs[0].files


def test_pipeline_builds_a_coqui_corpus(corpus_dir, tmp_path):
    from scenavox.api import build

    sc = load_scenario(corpus_dir / "scenario.yaml")
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] == 4 and len(res.clips) == 4
    for clip in res.clips:
        assert clip.provenance["tts_backend"] == "coqui"
        x, sr = read_mono(res.out / clip.audio_path)
        assert sr == clip.sample_rate and len(x) > 0


# --- cloning: scenario permission and consent records ---------------------------------------------

CONSENT = """speaker: Test Speaker
consented_by: Test Speaker
date: 2025-01-15
scope: synthetic speech for testing scenavox
allows_cloning: true
"""


def cloning_setup(d: Path, consent: str | None, allow: bool, include: bool = True) -> Path:
    import soundfile as sf

    (d / "clips").mkdir(parents=True, exist_ok=True)
    sf.write(d / "clips" / "speaker1.wav", np.zeros(16000, np.float32), 16000)
    if consent is not None:
        (d / "clips" / "speaker1.consent.yaml").write_text(consent)
    (d / "voices.yaml").write_text("""voices:
  - {id: xtts-clone, backend: coqui, model: tts_models/multilingual/multi-dataset/xtts_v2, reference: clips/speaker1.wav,
     language: en, accent: en-US, licence: CPML, engine_licence: MPL-2.0, origin: cloned, options: {language: en}}
  - {id: stock, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
""")
    (d / "scenario.yaml").write_text(f"""
name: clone-mini
description: Cloning gate test.
languages: [{{language: en, weight: 1, accents: [{{accent: en-US, weight: 1}}]}}]
intents: [{{name: call_contact, slots: {{contact: {{values: [Mom]}}}}}}]
text: {{backend: fake}}
privacy: {{voice_cloning: {str(allow).lower()}}}
voices: {{registry: voices.yaml{', include: [xtts-clone, stock]' if include else ''}}}
""")
    return d / "scenario.yaml"


def test_cloning_refused_when_the_scenario_forbids_it(tmp_path):
    sc = load_scenario(cloning_setup(tmp_path, CONSENT, allow=False))
    with pytest.raises(UserError, match="xtts-clone are cloned voices, but privacy.voice_cloning is false"):
        scenario_voices(sc)
    # not named in include: cloned voices are left out, the rest is used
    sc = load_scenario(cloning_setup(tmp_path, CONSENT, allow=False, include=False))
    assert [v.id for v in scenario_voices(sc)] == ["stock"]


@pytest.mark.parametrize("consent, message", [
    (None, "needs a consent record at .*speaker1.consent.yaml"),
    (CONSENT.replace("allows_cloning: true", "allows_cloning: false"), "allows_cloning is false"),
    (CONSENT.replace("scope: synthetic speech for testing scenavox\n", ""), "scope: Field required"),
    (CONSENT + "expires: 2025-02-01\n", "consent expired on 2025-02-01"),
])
def test_cloning_needs_a_valid_consent_record(tmp_path, consent, message):
    sc = load_scenario(cloning_setup(tmp_path, consent, allow=True))
    with pytest.raises(UserError, match=message):
        VoicePlanner(sc, seed=1)


def test_cloned_voice_with_consent_is_planned_and_the_backend_checks_again(tmp_path, backend):
    sc = load_scenario(cloning_setup(tmp_path, CONSENT, allow=True))
    planner = VoicePlanner(sc, seed=1)
    t = Triple(id="t0", index=0, command=Command(intent="call_contact"), utterance=TEXT, reply="ok")
    tasks = [planner.task_for(t, (("en-US", k))) for k in range(2)]
    clone = next(task for task in tasks if task.voice["id"] == "xtts-clone")
    assert clone.voice["cloning_allowed"] is True and clone.voice["licence"] == "CPML"
    from scenavox.publish.card import normalize_licence

    assert normalize_licence("CPML") == ("other", 6, "coqui-public-model-license")  # the card says non-commercial
    assert clone.voice["reference"] == [str((tmp_path / "clips" / "speaker1.wav").resolve())]
    # the check before synthesis does not rely on the planner alone (no model is loaded for it)
    m = type("M", (), {"is_xtts": True, "model": None})()
    with pytest.raises(UserError, match="does not allow cloning"):
        backend._speaker_args(m, {**clone.voice, "cloning_allowed": False})
    (tmp_path / "clips" / "speaker1.consent.yaml").unlink()  # consent withdrawn after planning
    with pytest.raises(UserError, match="needs a consent record"):
        backend._speaker_args(m, clone.voice)
