"""The scenario file format: the shipped scenarios load, broken files get one-line errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from scenavox.errors import UserError
from scenavox.scenario import available_scenarios, load_scenario, parse_scenario

from .conftest import MINIMAL, ROOT, SCENAVOX


@pytest.mark.parametrize("name", ["car", "street_food", "clinic"])
def test_shipped_scenarios_load(repo_cwd, name):
    sc = load_scenario(name)
    assert sc.name == name
    assert sc.intents and sc.languages
    assert abs(sum(sc.accent_weights.values()) - 1) < 1e-9
    assert sc.compliance.purpose


def test_available_lists_the_shipped_scenarios(repo_cwd):
    assert {"car", "street_food", "clinic"} <= set(available_scenarios())


def test_clinic_is_high_cost_and_car_is_cabin(repo_cwd):
    assert load_scenario("clinic").failure_cost.value == "high"
    assert load_scenario("car").noise.environment.value == "vehicle_cabin"


BROKEN = {
    # name: (yaml appended/replaced, expected fragments of the one-line message)
    "unknown_top": (MINIMAL + "noize: loud\n", ["(top level)", "unknown field 'noize'", "allowed:", "noise"]),
    "unknown_nested": (MINIMAL + "noise: {environment: vehicle_cabin, snr: 5}\n", ["noise", "unknown field 'snr'", "min_snr_db"]),
    "wrong_type": (MINIMAL + "seed: lots\n", ["seed", "integer"]),
    "bad_enum": (MINIMAL + "failure_cost: extreme\n", ["failure_cost", "'low', 'medium' or 'high'"]),
    "empty_intents": (MINIMAL.split("intents:")[0] + "intents: []\n", ["intents", "at least 1"]),
    "weights_sum": (MINIMAL.replace("weight: 0.5}, {accent: en-GB, weight: 0.5}", "weight: 0.5}, {accent: en-GB, weight: 0.7}"),
                    ["languages.0", "accent weights sum to 1.2", "sum to 1", "100"]),
    "negative_snr_range": (MINIMAL + "noise: {min_snr_db: 20, max_snr_db: 5}\n", ["noise", "min_snr_db must be <= max_snr_db"]),
    "two_sources": (MINIMAL.replace("values: [Mom, Sarah, David]", "values: [Mom], number: {min: 1, max: 2}"),
                    ["intents.1.slots.contact", "exactly one value source"]),
    "missing_file": (MINIMAL.replace("values: [Mom, Sarah, David]", "file: nowhere.txt"), ["intents.1.slots.contact.file", "not found"]),
    "bad_accent": (MINIMAL.replace("accent: en-GB", "accent: British"), ["languages.0.accents.1.accent", "BCP-47"]),
    "yaml_syntax": ("name: x\ndescription: [unclosed\n", ["line", "YAML syntax error"]),
    "not_mapping": ("- just\n- a list\n", ["(top level)", "expected a mapping"]),
    "empty": ("", ["empty"]),
    "bad_name": (MINIMAL.replace("name: mini", "name: ../../etc"), ["name", "not a valid name"]),
    "example_unknown_intent": (MINIMAL + "examples: [{intent: fly, utterance: a, reply: b}]\n", ["examples.0.intent", "not a declared intent"]),
    "splits": (MINIMAL + "size: {splits: {train: 0.8, dev: 0.2}}\n", ["size.splits", "unknown split", "validation"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_scenario_message(tmp_path, case):
    text, fragments = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        parse_scenario(text, path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    for frag in fragments:
        assert frag in msg, (frag, msg)


@pytest.mark.parametrize("case", ["unknown_top", "weights_sum", "empty_intents", "yaml_syntax"])
def test_cli_broken_scenario_one_line_exit_2_nothing_written(tmp_path, case):
    text, _ = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    r = subprocess.run([SCENAVOX, "corpus", "--scenario", str(path), "--out", str(out)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("ref", ["nope", "../../etc/passwd", "/etc/passwd", "car; rm -rf /"])
def test_cli_unknown_scenario_lists_available(ref):
    r = subprocess.run([SCENAVOX, "corpus", "--scenario", ref], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "\n" not in line
    assert "unknown scenario" in line and "car" in line and "clinic" in line


def test_make_rejects_path_traversal(tmp_path):
    # make with this test's own venv, its install stamp taken as done: the test checks the target's argument
    # handling, and must not start a whole `make install` in a checkout whose stamp is older than pyproject.toml
    venv = Path(sys.prefix)
    r = subprocess.run(["make", "-s", "-o", str(venv / ".installed"), "corpus", f"VENV={venv}",
                        "SCENARIO=../../etc/passwd"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0
    assert "unknown scenario '../../etc/passwd'" in r.stderr


def test_validate_command(repo_cwd):
    r = subprocess.run([SCENAVOX, "validate", "car"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "ok: 4 intents" in r.stdout and "en-US 45%" in r.stdout
