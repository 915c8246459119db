"""A real dialogue corpus: the bundled SmolLM2 writes the turns, Piper speaks the customers and
eSpeak NG the stall's replies (the shipped street_food scenario: barge_in, 2-3 turns, replies voiced)."""

import tempfile

import numpy as np
import pytest
import soundfile as sf
import yaml
from datasets import Audio, load_dataset

from scenavox.api import build
from scenavox.scenario import load_scenario

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_street_food_dialogues_with_real_models(tmp_path):
    data = yaml.safe_load((ROOT / "prompts" / "street_food.yaml").read_text())
    assert data["interaction_rhythm"]["mode"] == "barge_in" and data["output_form"] in ("voiced_replies", "both")
    data["size"]["n"] = 8
    data["interaction_rhythm"].update(min_turns=2, max_turns=2)  # the 135M model fails some turns: short dialogues complete more often
    data["voices"]["include"] = ["piper-joe-en-us", "piper-joe-en-gb-rp", "piper-joe-en-029"]
    data["qa"] = {"enabled": False}  # QA on dialogue turns is the same code as on single turns (tests/qa)
    p = tmp_path / "street_food.yaml"
    p.write_text(yaml.safe_dump(data))
    res = build(load_scenario(p), out=tmp_path / "c", workers=2, progress=False)
    assert res.summary["utterances"] == 8
    out = res.out
    by_id = {c.id: c for c in res.clips}
    triples = {t.id: t for t in res.triples}
    for c in res.clips:  # every turn: the user's words by Piper, the reply by the assistant voice
        t = triples[c.triple_id]
        assert t.dialogue is not None and c.voice_id.startswith("piper-")
        assert c.reply_voice_id == "kokoro-hm-omega"
        y, sr = sf.read(out / c.reply_audio_path)
        words = len(t.reply.split())
        assert sr == 16000 and 0.08 * words <= len(y) / sr <= 2.0 * words + 1.0
        if t.dialogue.kind == "correction":
            changed = t.dialogue.changed[0]
            assert t.command.slots[changed] != t.dialogue.previous.slots[changed]
    from scenavox.dialogues import Dialogue

    dialogues = [Dialogue.model_validate_json(x) for x in (out / "dialogues.jsonl").read_text().splitlines()]
    assert dialogues, "at least one complete dialogue"
    overlaps = 0
    for d in dialogues:
        x, sr = sf.read(out / d.audio_path)
        assert sr == 16000 and abs(len(x) / sr - d.duration_s) < 1e-3
        assert d.segments[-1].end_s <= d.duration_s and d.segments[0].start_s == 0.25
        assert [s.role for s in d.segments] == ["user", "assistant"] * d.n_turns
        for prev, s in zip(d.segments, d.segments[1:]):
            assert s.start_s >= prev.start_s
            if s.barge_in:
                assert prev.role == "assistant" and s.start_s < prev.end_s
                overlaps += 1
            else:
                assert s.start_s > prev.end_s
        for s in d.segments:
            c = by_id[s.clip_id]
            dur = c.duration_s if s.role == "user" else c.reply_duration_s
            assert abs((s.end_s - s.start_s) - dur) < 2e-3
            seg = x[int(s.start_s * sr) : int(s.end_s * sr)]
            assert np.sqrt(np.mean(seg**2)) > 0.005  # speech (in the stall's noise) where the timeline says
    assert overlaps >= len(dialogues)
    ds = load_dataset(str(res.dataset), "dialogues", cache_dir=tempfile.mkdtemp())
    rows = [r for s in ds for r in ds[s].cast_column("audio", Audio(decode=False))]
    assert sorted(r["id"] for r in rows) == sorted(d.id for d in dialogues)
    for r in rows:
        y, sr = sf.read(__import__("io").BytesIO(r["audio"]["bytes"]))
        assert abs(len(y) / sr - r["duration_s"]) < 1e-3 and r["turns"][0]["role"] == "user"
