"""NeMo JSONL and lhotse CutSet manifests, read back with lhotse."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from scenavox.publish.manifests import cuts_path, load_cuts, nemo_path

lhotse = pytest.importorskip("lhotse")


def test_lhotse_reads_the_cuts(corpus):
    root = corpus["store"].root
    clips = {c.id: c for c in corpus["clips"]}
    seen = 0
    for split, n in corpus["counts"].items():
        cuts = load_cuts(root, split)
        assert len(cuts) == n
        for cut in cuts:
            info = sf.info(str(root / clips[cut.id].audio_path))
            assert cut.duration == pytest.approx(info.frames / info.samplerate)
            assert cut.duration == pytest.approx(clips[cut.id].duration_s, abs=1e-3)
            assert cut.supervisions[0].text == clips[cut.id].text
            assert cut.supervisions[0].speaker == clips[cut.id].voice_id
            audio = cut.load_audio()  # the relative path resolves against the corpus folder
            assert audio.shape == (1, info.frames)
            seen += 1
    assert seen == len(clips)
    # the plain file is a valid CutSet too (paths relative to the corpus folder)
    raw = lhotse.CutSet.from_file(cuts_path(root, "train"))
    assert all(not c.recording.sources[0].source.startswith("/") for c in raw)


def test_nemo_manifest(corpus):
    root = corpus["store"].root
    clips = {c.id: c for c in corpus["clips"]}
    lines = [json.loads(x) for s in ("train", "validation", "test") for x in nemo_path(root, s).read_text().splitlines()]
    assert len(lines) == len(clips)
    for e in lines:
        assert set(e) >= {"audio_filepath", "duration", "text", "intent", "voice_id", "accent", "lang"}
        p = root / e["audio_filepath"]  # NeMo resolves relative paths against the manifest's folder
        assert p.is_file()
        assert e["duration"] == pytest.approx(sf.info(str(p)).duration)
        assert e["text"] == clips[e["id"]].text
