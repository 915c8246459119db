"""The architecture contract in pyproject.toml ([tool.importlinter], run by `make test`) has teeth: each
rule, given a copy of the source with one offending import added, reports exactly that import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")

# contract id -> (file to append to, the import, the import chain the report must add)
CASES = {
    "stages-below-entry-points": ("text/stage.py", "from .. import pipeline",
                                  "scenavox.text.stage -> scenavox.pipeline"),
    "stages-below-entry-points:executor": ("voice/stage.py", "from ..executors import LocalExecutor",
                                           "scenavox.voice.stage -> scenavox.executors"),
    "stages-below-entry-points:cli": ("publish/card.py", "from .. import cli",
                                      "scenavox.publish.card -> scenavox.cli"),
    "stage-independence": ("acoustics/core.py", "from ..voice import audio",
                           "scenavox.acoustics.core -> scenavox.voice.audio"),
    "backend-independence": ("text/backends/fake.py", "from . import local",
                             "scenavox.text.backends.fake -> scenavox.text.backends.local"),
    "backend-independence:voice": ("voice/backends/piper.py", "from . import espeak",
                                   "scenavox.voice.backends.piper -> scenavox.voice.backends.espeak"),
    "store-knows-no-backend": ("store.py", "from .voice import registry",
                               "scenavox.store -> scenavox.voice.registry"),
    "no-cycles": ("text/normalize.py", "from . import dedup", "No cycles are allowed in scenavox.text."),
}


def lint(src: Path, contract: str) -> str:
    r = subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--contract", contract, "--no-cache"],
                       capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert "Contracts:" in r.stdout, r.stdout + r.stderr  # it ran (an error in the config stops it earlier)
    return " ".join(r.stdout.split())  # rich wraps long lines


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of src/scenavox, with voice backends laid out as voice/backends/<name>.py beside a base
    module every backend imports (the registry layout; the copy gets it whatever this tree has)."""
    if not LINT.is_file():
        pytest.fail("lint-imports is missing: install the dev extra (make install)")
    root = tmp_path_factory.mktemp("contract") / "src"
    shutil.copytree(ROOT / "src" / "scenavox", root / "scenavox", ignore=shutil.ignore_patterns("__pycache__"))
    backends = root / "scenavox" / "voice" / "backends"
    if not (backends / "piper.py").is_file():
        backends.mkdir(exist_ok=True)
        (backends / "__init__.py").write_text("from .base import TTSBackend\n")
        (backends / "base.py").write_text("class TTSBackend: ...\n")
        for name in ("piper", "espeak"):
            (backends / f"{name}.py").write_text("from .base import TTSBackend\nfrom ..audio import encode\n")
    return root


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_contract_reports_an_offending_import(source, tmp_path, case):
    contract = case.split(":")[0]
    rel, line, report = CASES[case]
    assert report not in lint(source, contract)  # not there before ...
    src = tmp_path / "src"
    shutil.copytree(source, src)
    with open(src / "scenavox" / rel, "a", encoding="utf-8") as f:
        f.write(f"\n{line}  # injected by the test\n")
    assert report in lint(src, contract)  # ... and there after one import


def test_a_backend_may_import_its_base_and_helpers(source):
    """Backends share the protocol module and non-backend helpers without breaking the rule."""
    out = lint(source, "backend-independence")
    assert "-> scenavox.voice.backends.base" not in out and "-> scenavox.voice.audio" not in out
