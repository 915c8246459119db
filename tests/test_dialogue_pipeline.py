"""Dialogue orchestration with the fake text backend and sine 'voices': voices per dialogue, voiced
replies, the rendered timeline, resume, incomplete dialogues and the `dialogues` export."""

import io
import json
import tempfile

import numpy as np
import pytest
import soundfile as sf
from datasets import Audio, load_dataset

from scenavox.api import build
from scenavox.scenario import load_scenario

from .conftest import MINIMAL

VOICES = """voices:
  - {id: fake-us-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
  - {id: fake-us-2, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
  - {id: fake-gb-1, backend: fake, model: sine, language: en, accent: en-GB, licence: CC-BY-4.0}
  - {id: fake-gb-2, backend: fake, model: sine, language: en, accent: en-GB, licence: CC-BY-4.0}
  - {id: fake-device, backend: fake, model: sine, language: en, accent: en-AU, licence: CC0-1.0}
"""


@pytest.fixture
def dialogue_yaml(tmp_path):
    def make(mode="barge_in", form="voiced_replies", lo=2, hi=3, n=14, extra=""):
        (tmp_path / "voices.yaml").write_text(VOICES)
        p = tmp_path / f"dlg_{mode}_{form}.yaml"
        p.write_text(MINIMAL + f"output_form: {form}\ninteraction_rhythm: {{mode: {mode}, min_turns: {lo}, "
                     f"max_turns: {hi}}}\ntext: {{backend: fake}}\nvoices: {{registry: voices.yaml}}\n"
                     f"size: {{n: {n}}}\nqa: {{enabled: false}}\n" + extra)
        return load_scenario(p)

    return make


def jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def check_timeline(out, d, clips, triples):
    x, sr = sf.read(out / d["audio_path"])
    assert sr == d["sample_rate"] == 16000 and abs(len(x) / sr - d["duration_s"]) < 1e-3
    segs = d["segments"]
    assert segs[0]["start_s"] == 0.25 and segs[-1]["end_s"] <= d["duration_s"]
    users = [s for s in segs if s["role"] == "user"]
    assert [s["turn"] for s in users] == list(range(d["n_turns"]))
    for s in users:  # each user segment is its clip's speech, at the recorded place
        c, t = clips[s["clip_id"]], triples[clips[s["clip_id"]]["triple_id"]]
        assert abs((s["end_s"] - s["start_s"]) - c["duration_s"]) < 2e-3
        assert s["text"] == t["utterance"] and s["command"] == t["command"] and s["kind"] == t["dialogue"]["kind"]
        a, b = int(s["start_s"] * sr), int(s["end_s"] * sr)
        assert np.abs(x[a + 100 : b - 100]).max() > 0.01  # speech is there
    for prev, s in zip(segs, segs[1:]):
        if s["role"] == "user" and s["barge_in"]:
            assert prev["role"] == "assistant" and s["start_s"] < prev["end_s"]  # overlap
            assert abs(prev["end_s"] - s["start_s"] - s["overlap_s"]) < 1e-3 and 0.3 * 0.8 <= s["overlap_s"] <= 1.0
        else:
            assert 0.2 - 1e-3 <= s["start_s"] - prev["end_s"] <= 1.0 + 1e-3  # a natural gap
    return segs


def test_barge_in_dialogues_with_voiced_replies(dialogue_yaml, tmp_path):
    sc = dialogue_yaml()
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    out = res.out
    assert res.summary["utterances"] == 14
    clips = {c["id"]: c for c in jsonl(out / "clips.jsonl")}
    triples = {t["id"]: t for t in jsonl(out / "triples.jsonl")}
    # every user turn has its own command and a voiced reply by the device voice
    for c in clips.values():
        t = triples[c["triple_id"]]
        assert t["dialogue"] is not None and t["command"]["intent"]
        assert c["reply_voice_id"] == "fake-device" and c["reply_audio_path"].startswith("replies/")
        y, sr = sf.read(out / c["reply_audio_path"])
        assert sr == 16000 and abs(len(y) / sr - c["reply_duration_s"]) < 1e-3 and np.abs(y).max() > 0.01
    # one voice per dialogue, and the voices rotate over dialogues
    voice_of = {}
    for c in clips.values():
        voice_of.setdefault(triples[c["triple_id"]]["dialogue"]["id"], set()).add(c["voice_id"])
    assert all(len(v) == 1 for v in voice_of.values()) and len(set.union(*voice_of.values())) >= 3
    dialogues = jsonl(out / "dialogues.jsonl")
    complete = {d for d, turns in _turns(triples).items() if len(turns) == turns[0]["dialogue"]["n_turns"]}
    assert {d["id"] for d in dialogues} == complete and len(complete) >= 4
    barges = 0
    for d in dialogues:
        segs = check_timeline(out, d, clips, triples)
        assert [s["role"] for s in segs] == ["user", "assistant"] * d["n_turns"]
        barges += sum(s["barge_in"] for s in segs)
        assert d["acoustics"]["acoustics_preset"] == "quiet_indoor"  # one noise bed for the whole scene
    assert barges >= len(dialogues)  # barge_in mode: at least one per dialogue
    assert sorted(p.name for p in (out / "dialogues").iterdir()) == sorted(f"{d['id']}.flac" for d in dialogues)

    # the dataset: a dialogue's turns share a split; the dialogues config loads with `datasets`
    ds = load_dataset(str(res.dataset), cache_dir=tempfile.mkdtemp())
    split_of = {r["id"]: s for s in ds for r in ds[s].remove_columns("audio")}
    for d in dialogues:
        assert len({split_of[s["clip_id"]] for s in d["segments"]}) == 1
    dd = load_dataset(str(res.dataset), "dialogues", cache_dir=tempfile.mkdtemp())
    rows = {r["id"]: (s, r) for s in dd for r in dd[s].cast_column("audio", Audio(decode=False))}
    assert rows.keys() == {d["id"] for d in dialogues}
    for d in dialogues:
        s, r = rows[d["id"]]
        assert s == split_of[d["segments"][0]["clip_id"]]
        assert r["audio"]["bytes"] == (out / d["audio_path"]).read_bytes()
        assert [(t["role"], t["start_s"], t["end_s"], t["text"]) for t in r["turns"]] == [
            (x["role"], x["start_s"], x["end_s"], x["text"]) for x in d["segments"]]
        assert r["mode"] == "barge_in" and r["voiced_replies"] is True
    card = (res.dataset / "README.md").read_text()
    assert "config_name: dialogues" in card and "## Dialogues" in card
    assert "fake-device" in card  # the assistant voice's licence is listed with the others
    # the default configuration says where each utterance sits in its dialogue
    flat = {r["id"]: r for s in ds for r in ds[s].remove_columns("audio")}
    for c in clips.values():
        r, d = flat[c["id"]], triples[c["triple_id"]]["dialogue"]
        assert (r["dialogue_id"], r["turn"], r["n_turns"], r["turn_kind"], r["barge_in"], r["reply_voice_id"]) == (
            d["id"], d["turn"], d["n_turns"], d["kind"], d["barge_in"], "fake-device")

    # a rerun reuses every item and writes the same dialogue bytes
    before = {p.name: p.read_bytes() for p in (out / "dialogues").iterdir()}
    again = build(sc, out=out, workers=0, progress=False)
    assert again.summary["stages"]["voice"]["reused"] >= 14 and again.summary["stages"]["voice"]["done"] == 0
    assert {p.name: p.read_bytes() for p in (out / "dialogues").iterdir()} == before


def _turns(triples):
    by = {}
    for t in triples.values():
        by.setdefault(t["dialogue"]["id"], []).append(t)
    return by


def test_a_dialogue_missing_a_turn_is_not_rendered_but_its_turns_count(dialogue_yaml, tmp_path, monkeypatch):
    import scenavox.text.backends.fake as fake

    real = fake.FakeBackend.complete

    def flaky(self, messages, **kw):  # every correction fails validation: its dialogue loses a turn
        if "changes their previous request" in messages[-1]["content"]:
            return '{"utterance": "hello there friend", "reply": "hi"}'
        return real(self, messages, **kw)

    monkeypatch.setattr(fake.FakeBackend, "complete", flaky)
    sc = dialogue_yaml(mode="multi_turn", form="text_only", lo=3, hi=3, n=18)
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] == 18 and res.summary["set_aside"] >= 1
    triples = {t["id"]: t for t in jsonl(res.out / "triples.jsonl")}
    clips = {c["id"]: c for c in jsonl(res.out / "clips.jsonl")}
    assert all(c["reply_audio_path"] is None for c in clips.values())  # text_only: replies stay text
    assert not (res.out / "replies").exists()
    dialogues = jsonl(res.out / "dialogues.jsonl")
    by = _turns(triples)
    broken = [d for d, turns in by.items() if len(turns) < 3]
    assert broken and not {d["id"] for d in dialogues} & set(broken)
    assert {d["id"] for d in dialogues} == {d for d, turns in by.items() if len(turns) == 3}
    for d in dialogues:
        segs = check_timeline(res.out, d, clips, triples)
        assert all(s["role"] == "user" for s in segs)


def test_hand_over_gives_the_second_speaker_another_voice(dialogue_yaml, tmp_path):
    sc = dialogue_yaml(mode="hand_over", form="text_only", lo=2, hi=3, n=12,
                       extra="")
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    triples = {t["id"]: t for t in jsonl(res.out / "triples.jsonl")}
    voices = {}
    for c in jsonl(res.out / "clips.jsonl"):
        d = triples[c["triple_id"]]["dialogue"]
        voices.setdefault(d["id"], {}).setdefault(d["speaker_index"], set()).add(c["voice_id"])
    assert voices and all(len(v) == 1 for sp in voices.values() for v in sp.values())
    both = [sp for sp in voices.values() if len(sp) == 2]
    assert both and all(sp[0] != sp[1] for sp in both)


def test_one_turn_voiced_replies_keep_the_user_audio_and_ids(mini_yaml, tmp_path):
    """Voicing replies adds files; the user clips of a one-turn corpus keep their ids and bytes."""
    from scenavox.scenario import OutputForm

    sc = load_scenario(mini_yaml)
    a = build(sc, out=tmp_path / "a", workers=0, progress=False)
    assert all(c.reply_audio_path is None for c in a.clips)
    assert not (a.out / "dialogues.jsonl").exists() and not (a.out / "replies").exists()
    audio = {c.id: (a.out / c.audio_path).read_bytes() for c in a.clips}
    voiced = sc.model_copy(update={"output_form": OutputForm.voiced_replies})
    b = build(voiced, out=tmp_path / "a", workers=0, progress=False)  # resume the same folder
    assert {c.id for c in b.clips} == audio.keys()
    assert b.summary["stages"]["voice"]["done"] == 10  # the stored clips lacked a reply: voiced again
    for c in b.clips:
        assert (b.out / c.audio_path).read_bytes() == audio[c.id]
        y, sr = sf.read(io.BytesIO((b.out / c.reply_audio_path).read_bytes()))
        assert sr == 16000 and len(y) > 0.1 * sr
    again = build(voiced, out=tmp_path / "a", workers=0, progress=False)
    assert again.summary["stages"]["voice"]["reused"] == 10


def test_dialogue_scenes_use_the_users_noise_folder(dialogue_yaml, tmp_path):
    """Regression: dialogue scenes were placed without acoustics.noise_dirs / rir_dirs (only single clips had
    them). The scene's recorded acoustics name the user's file, and the noise before the first word is it."""
    hum_hz, sr = 1000.0, 16000
    (tmp_path / "my_noise").mkdir()
    sf.write(tmp_path / "my_noise" / "fan.wav", 0.1 * np.sin(2 * np.pi * hum_hz * np.arange(sr) / sr), sr)
    sc = dialogue_yaml(mode="multi_turn", form="text_only", lo=2, hi=2, n=6,
                       extra="acoustics: {noise_dirs: [my_noise], user_noise_weight: 1.0}\n")
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert all(c.acoustics["noise.noise_file"] == "fan.wav" for c in res.clips)
    dialogues = jsonl(res.out / "dialogues.jsonl")
    assert dialogues
    for d in dialogues:
        assert d["acoustics"].get("noise.noise_file") == "fan.wav", d["acoustics"]
        x, got = sf.read(res.out / d["audio_path"])
        lead = x[: int(0.2 * got)]  # before the first word (EDGE_S = 0.25 s): the noise bed alone
        spec = np.abs(np.fft.rfft(lead))
        assert abs(np.fft.rfftfreq(len(lead), 1 / got)[spec.argmax()] - hum_hz) < 10
