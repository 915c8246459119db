"""Small CLI commands: init, schema, scenarios, voices list; where a user's files go."""

import json
import os
import subprocess

import yaml

from scenavox.cli import scenario_schema
from scenavox.scenario import load_scenario

from .conftest import MINIMAL, ROOT, SCENAVOX

# the source under test even when a command runs from another folder (a relative PYTHONPATH would not follow)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])}


def run(*args, cwd=ROOT):
    return subprocess.run([SCENAVOX, *args], capture_output=True, text=True, cwd=cwd, env=ENV)


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
    assert committed == scenario_schema(), "run: scenavox schema --out prompts/scenario.schema.json"


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


def test_init_writes_into_the_working_folder_and_names_are_found_there_first(tmp_path):
    """A user who installed scenavox keeps scenarios in their own project, not in the package."""
    bundled = sorted(p.name for p in (ROOT / "prompts").iterdir())
    r = run("init", "kiosk", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mine = tmp_path / "prompts" / "kiosk.yaml"
    assert mine.is_file() and "scenavox validate kiosk" in r.stdout
    assert sorted(p.name for p in (ROOT / "prompts").iterdir()) == bundled  # the package is untouched
    v = run("validate", "kiosk", cwd=tmp_path)
    assert v.returncode == 0 and v.stdout.startswith(f"{mine}: ok"), v.stderr
    names = {ln.split()[0] for ln in run("scenarios", cwd=tmp_path).stdout.splitlines()}
    assert {"kiosk", "car", "clinic"} <= names  # own and bundled ones
    # a name in ./prompts wins over the bundled one of the same name
    own_car = tmp_path / "prompts" / "car.yaml"
    own_car.write_text(MINIMAL.replace("name: mini", "name: car"))
    v = run("validate", "car", cwd=tmp_path)
    assert v.returncode == 0 and v.stdout.startswith(f"{own_car}: ok: 2 intents"), v.stdout + v.stderr
    assert run("validate", "car", cwd=ROOT).stdout.startswith(str(ROOT / "prompts" / "car.yaml"))
    # --path still writes exactly there
    r = run("init", "other", "--path", "elsewhere/o.yaml", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "elsewhere" / "o.yaml").is_file(), r.stderr


def test_outputs_go_to_the_working_folder(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "fake_voices.yaml").write_text(
        "voices:\n  - {id: fake-us-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}\n"
        "  - {id: fake-gb-1, backend: fake, model: sine, language: en, accent: en-GB, licence: CC0-1.0}\n")
    (prompts / "mini.yaml").write_text(MINIMAL + "text: {backend: fake}\nvoices: {registry: fake_voices.yaml}\n"
                                       "size: {n: 4}\nqa: {enabled: false}\n")
    r = run("corpus", "--scenario", "mini", "--workers", "0", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "outputs" / "mini" / "dataset" / "README.md").is_file()
    assert json.loads((tmp_path / "outputs" / "mini" / "run.json").read_text())["utterances"] == 4
    assert not (ROOT / "outputs" / "mini").exists()


def test_a_short_corpus_exits_3_with_one_line_unless_allowed(tmp_path):
    """Nine of ten values make the utterance too long, so five times n planned items deliver fewer than n."""
    from scenavox.api import EXIT_SHORT

    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "fake_voices.yaml").write_text(
        "voices:\n  - {id: fake-us-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}\n")
    long = ", ".join(f"'{' '.join(['word'] * 30)} {k}'" for k in range(9))
    (prompts / "short.yaml").write_text(
        "name: short\ndescription: a test\nlanguages: [{language: en, weight: 1, accents: [{accent: en-US, weight: 1}]}]\n"
        f"intents:\n  - name: say_it\n    slots:\n      what: {{values: ['hello there', {long}]}}\n"
        "text: {backend: fake}\nvoices: {registry: fake_voices.yaml}\nsize: {n: 4}\nqa: {enabled: false}\n")
    r = run("corpus", "--scenario", "short", "--workers", "0", "-q", cwd=tmp_path)
    assert r.returncode == EXIT_SHORT == 3, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    got = json.loads((tmp_path / "outputs" / "short" / "run.json").read_text())["utterances"]
    assert 0 < got < 4
    assert last.startswith(f"error: short corpus: {got} of 4 utterances") and "top reasons: text: utterance length" in last
    assert "--allow-short" in last and "to change:" in last
    ok = run("corpus", "--scenario", "short", "--workers", "0", "-q", "--allow-short", cwd=tmp_path)
    assert ok.returncode == 0 and "warning: short corpus" in ok.stderr, ok.stderr


def test_build_raises_short_corpus_unless_allowed(tmp_path):
    import pytest

    import scenavox as sv

    (tmp_path / "fake_voices.yaml").write_text(
        "voices:\n  - {id: fake-us-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}\n")
    long = ", ".join(f"'{' '.join(['word'] * 30)} {k}'" for k in range(9))
    text = ("name: short\ndescription: a test\nlanguages: [{language: en, weight: 1}]\n"
            f"intents:\n  - name: say_it\n    slots:\n      what: {{values: ['hello there', {long}]}}\n"
            "text: {backend: fake}\nvoices: {registry: fake_voices.yaml}\nqa: {enabled: false}\n")
    sc = sv.parse_scenario(text, tmp_path / "short.yaml")
    with pytest.raises(sv.ShortCorpus) as exc:
        sv.build(sc, n=4, out=tmp_path / "c", workers=0, progress=False)
    assert str(exc.value).startswith("short corpus:") and exc.value.result.summary["utterances"] < 4
    res = sv.build(sc, n=4, out=tmp_path / "c", workers=0, progress=False, allow_short=True)
    assert res.summary["utterances"] == exc.value.result.summary["utterances"]
