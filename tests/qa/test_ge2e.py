"""The numpy GE2E encoder (scenavox.qa.ge2e) against resemblyzer's own, on real speech."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from scenavox.qa import ge2e

from .conftest import speak

pytest.importorskip("resemblyzer")  # the qa-extra install: the weights and the reference encoder


@pytest.fixture(scope="module")
def reference():
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


def test_the_weights_are_torch_loads(reference):
    state = reference.state_dict()
    mine = ge2e.weights()
    assert set(mine) == {k for k in state if k.startswith(("lstm", "linear"))}
    for k, v in mine.items():
        assert np.array_equal(v, state[k].numpy()), k


def test_a_weights_file_naming_another_class_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, f)
        pickle.dump({"model_state": Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match="builtins.print is not allowed"):
        ge2e.read_torch_legacy(path)


def test_embeddings_are_resemblyzers(piper, reference):
    from resemblyzer import preprocess_wav

    silence = np.zeros(16000, np.float32)
    texts = ["Take me to the train station, please.", "Call Doctor Patel on his mobile.", "Play something calm.",
             "Set the cabin temperature to twenty one degrees and turn the fan down a little, thank you."]
    # quiet speech with a long pause inside: the volume is raised and the pause trimmed
    clips = [0.05 * speak(piper, texts[0]), np.concatenate([speak(piper, texts[1]), silence, speak(piper, texts[2])]),
             speak(piper, texts[3]), speak(piper, texts[2])[:4000]]
    theirs_pre = [preprocess_wav(c, source_sr=16000) for c in clips]
    mine_pre = [ge2e.preprocess(c) for c in clips]
    for a, b in zip(theirs_pre, mine_pre):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-6)
    assert len(mine_pre[1]) < len(clips[1]) - 8000  # the pause went
    assert max(len(ge2e.partial_slices(len(w))) for w in mine_pre) >= 3  # the long clip has several partials
    theirs = np.stack([reference.embed_utterance(w) for w in theirs_pre])
    mine = ge2e.embed(mine_pre)
    assert mine.shape == theirs.shape and np.allclose(np.linalg.norm(mine, axis=1), 1, atol=1e-5)
    assert np.abs(mine - theirs).max() < 1e-4
    # one clip alone gives what it gives among others (the partials share a batch, not their numbers)
    assert np.abs(ge2e.embed(mine_pre[2:3])[0] - mine[2]).max() < 1e-5
