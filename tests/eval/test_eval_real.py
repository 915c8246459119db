"""The probe's real-data path on real human speech (the MFA test clips `make real-speech` fetches):
real rows are scored by source; these carry no intents, so the probe reports its confidence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

import scenavox as sv

from .conftest import ROOT, write_scenario

pytestmark = pytest.mark.slow
REAL = Path(os.environ.get("SCENAVOX_REAL_SPEECH") or ROOT / "data" / "real_speech") / "mfa"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    if not (REAL / "metadata.csv").is_file():
        pytest.skip(f"{REAL} not fetched: run `make real-speech` (CI runs it before the tests)")
    d = tmp_path_factory.mktemp("evalreal")
    p = write_scenario(d, n=30)
    data = yaml.safe_load(p.read_text())
    licence = json.loads((REAL / "SOURCE.json").read_text())["licence"]
    # real speech in the test split only, beside the held-out synthetic voices
    data["mix"] = {"real": str(REAL), "licence": licence, "name": "mfa-test-speech",
                   "synthetic_share": {"train": 1.0, "validation": 1.0, "test": 0.5}}
    p.write_text(yaml.safe_dump(data))
    sc = sv.load_scenario(str(p), allow_paths=[ROOT / "voices"])
    run = sv.build(sc, out=d / "corpus", workers=0, progress=False)
    assert run.dataset is not None
    return sc, d / "corpus"


def test_real_rows_are_scored_by_source_and_never_trained_on(mixed):
    sc, out = mixed
    res = sv.evaluate(sc, out=out, threads=2, progress=False)
    assert list(res["real"]) == ["mfa-test-speech"]
    block = res["real"]["mfa-test-speech"]
    assert block["rows"] >= 1 and block["with_intent"] == 0 and "error" not in block
    assert 0 < block["mean_confidence"] <= 1 and sum(block["predicted"].values()) == block["rows"]
    assert set(block["predicted"]) <= set(res["labels"])
    assert all(not v.startswith("real:") for v in res["train_voices"])
    card = (out / "dataset" / "README.md").read_text()
    assert "cc-by-4.0" in card.lower() and "mfa-test-speech" in card  # the real source's licence reaches the card
    text = (out / "eval" / "results.txt").read_text()
    assert "real 'mfa-test-speech'" in text and "confidence only" in text
