"""Small CLI commands: init, schema, scenarios, voices list."""

import json
import subprocess

import yaml

from scenavox.scenario import Scenario, load_scenario

from .conftest import ROOT, SCENAVOX


def run(*args, cwd=ROOT):
    return subprocess.run([SCENAVOX, *args], capture_output=True, text=True, cwd=cwd)


def test_init_scaffolds_a_valid_commented_scenario(tmp_path):
    target = tmp_path / "kiosk.yaml"
    r = run("init", "kiosk", "--path", str(target))
    assert r.returncode == 0, r.stderr
    text = target.read_text()
    for question in ("Output form", "Interaction rhythm", "Environmental noise", "Languages and accents",
                     "Privacy and authorization", "Failure cost"):
        assert question in text
    assert load_scenario(target).name == "kiosk"
    again = run("init", "kiosk", "--path", str(target))
    assert again.returncode == 2 and "exists" in again.stderr
    bad = run("init", "Bad Name", "--path", str(tmp_path / "x.yaml"))
    assert bad.returncode == 2 and "not a valid scenario name" in bad.stderr


def test_committed_json_schema_is_current():
    committed = json.loads((ROOT / "prompts" / "scenario.schema.json").read_text())
    assert committed == Scenario.model_json_schema(), "run: scenavox schema --out prompts/scenario.schema.json"


def test_scenarios_and_voices_list():
    r = run("scenarios")
    assert r.returncode == 0 and {"car", "clinic", "street_food"} <= {ln.split()[0] for ln in r.stdout.splitlines()}
    v = run("voices", "list", "--scenario", "car")
    assert v.returncode == 0, v.stderr
    by_accent: dict[str, float] = {}
    for ln in v.stdout.splitlines():  # id backend accent share
        by_accent[ln.split()[-2]] = by_accent.get(ln.split()[-2], 0.0) + float(ln.split()[-1].rstrip("%"))
    car = yaml.safe_load((ROOT / "prompts" / "car.yaml").read_text())
    want = {a["accent"]: a["weight"] * 100 for a in car["languages"][0]["accents"]}
    for accent, share in want.items():
        assert abs(by_accent[accent] - share) <= 1, (accent, by_accent)
