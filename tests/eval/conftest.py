"""A small real corpus for the probe: eSpeak NG voices (fast) reading the fake backend's sentences,
placed in the car cabin by the real acoustics stage, exported by the real exporter. QA is off (it
is tested elsewhere); the probe only needs labelled audio and the split assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
name: evalcar
description: In-car voice commands, small, for the probe's tests.
noise: {{environment: vehicle_cabin, min_snr_db: 5, max_snr_db: 15}}
languages:
  - language: en
    weight: 1
    accents: [{{accent: en-US, weight: 0.5}}, {{accent: en-GB, weight: 0.5}}]
intents:
  - name: set_temperature
    slots: {{temperature: {{number: {{min: 16, max: 28, unit: degrees}}}}}}
  - name: call_contact
    slots: {{contact: {{values: [Mom, Sarah, David, the office]}}}}
  - name: navigate_to
    slots: {{destination: {{values: [the airport, the library, home, the train station]}}}}
text: {{backend: fake}}
voices:
  registry: {registry}
  include: [espeak-en-us-hugo, espeak-en-us-david, espeak-en-us-grandma, espeak-en-gb-rp-belinda,
            espeak-en-gb-rp-steph2, espeak-en-gb-mr-serious]
  held_out: {held_out}
qa: {{enabled: false}}
size: {{n: {n}, splits: {{train: 0.8, validation: 0.1, test: 0.1}}}}
seed: 5
"""


def write_scenario(folder: Path, n: int = 36, held_out: str = "[espeak-en-us-grandma, espeak-en-gb-rp-steph2]") -> Path:
    p = folder / "evalcar.yaml"
    p.write_text(SCENARIO.format(registry=ROOT / "voices" / "espeak.yaml", held_out=held_out, n=n))
    return p


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    import scenavox as sv

    d = tmp_path_factory.mktemp("evalcar")
    sc = sv.load_scenario(str(write_scenario(d)), allow_paths=[ROOT / "voices"])
    run = sv.build(sc, out=d / "corpus", workers=0, progress=False)
    assert run.dataset is not None
    return sc, d / "corpus"
