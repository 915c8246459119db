import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SCENAVOX = str(Path(sys.executable).with_name("scenavox"))


@pytest.fixture
def repo_cwd(monkeypatch):
    """Run with the repository as working directory (prompts/ and voices/ resolve there)."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def fake_registry(tmp_path):
    """A voice registry with sine-wave voices, for orchestration tests only."""
    p = tmp_path / "fake_voices.yaml"
    p.write_text(
        """voices:
  - {id: fake-us-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
  - {id: fake-us-2, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
  - {id: fake-gb-1, backend: fake, model: sine, language: en, accent: en-GB, licence: CC-BY-4.0}
"""
    )
    return p


MINIMAL = """
name: mini
description: A tiny test scenario.
languages:
  - language: en
    weight: 1
    accents: [{accent: en-US, weight: 0.5}, {accent: en-GB, weight: 0.5}]
intents:
  - name: set_temperature
    slots:
      temperature: {number: {min: 18, max: 24, unit: degrees}}
  - name: call_contact
    slots:
      contact: {values: [Mom, Sarah, David]}
"""


@pytest.fixture
def mini_yaml(tmp_path, fake_registry):
    """A valid scenario file using the fake voices and the fake text backend."""
    p = tmp_path / "mini.yaml"
    # sine 'speech' cannot pass recognition: QA is tested on real audio in tests/qa and tests/test_e2e.py
    p.write_text(MINIMAL + f"text: {{backend: fake}}\nvoices: {{registry: {fake_registry}}}\nsize: {{n: 10}}\n"
                 "qa: {enabled: false}\n")
    return p


def copy_scenario(name: str, dest: Path) -> Path:
    shutil.copy(ROOT / "prompts" / f"{name}.yaml", dest / f"{name}.yaml")
    return dest / f"{name}.yaml"


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray (2 CPUs) for the whole test session: starting Ray costs seconds."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'scenavox[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
