"""Text items answered in pairs: which items pair (Pairing), the group stage, the Q8_0 copy of the bundled
model, and a resumed build that rewrites an item whose partner is stored (tests/test_e2e.py has the rest)."""

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from scenavox.scenario import load_scenario
from scenavox.text.bundled import bundled_gguf, q8_copy
from scenavox.text.commands import plan_commands
from scenavox.text import stage as text_stage
from scenavox.text.stage import GroupedTextStage, Pairing, TextGroup, TextStage

ROOT = Path(__file__).resolve().parents[2]


def test_items_pair_with_the_next_of_their_key_within_the_window_whatever_is_asked_first(monkeypatch):
    monkeypatch.setattr(text_stage, "PAIR_WINDOW", 4)
    keys = "abacbdcaxa" + "e" + "....." + "e"  # the two e's are 6 places apart: past the window
    plan = [SimpleNamespace(id=str(i), key=None if k == "." else k) for i, k in enumerate(keys)]
    by_id = {t.id: t for t in plan}

    def pairs(order):
        p = Pairing(plan, lambda t: t.key)
        found = {t.id: p.of(t) for t in (by_id[i] for i in order)}
        return {i: (m.id if m else None) for i, m in found.items()}

    want = {"0": "2", "2": "0", "1": "4", "4": "1", "3": "6", "6": "3", "7": "9", "9": "7",
            "5": None, "8": None, "10": None, "16": None, "11": None}
    assert pairs(list(want)) == want
    assert pairs(list(reversed(list(want)))) == want  # asked in another order (a top-up, a resumed pass)
    calls = []
    p = Pairing(plan, lambda t: calls.append(t.id) or t.key)
    assert p.of(by_id["0"]).id == "2"
    assert len(calls) == 5  # keys computed only up to the window past the item: not the whole plan


def test_group_key_pairs_items_of_one_example_and_never_free_mode_or_other_backends():
    sc = load_scenario("car")
    stage = TextStage(sc)
    tasks = plan_commands(sc, 40, seed=7)
    keys = [stage.group_key(t) for t in tasks]
    assert all(k is not None for k in keys)
    for t, k in zip(tasks, keys):  # same key: same messages but the request's, and the same request head
        for u, j in zip(tasks, keys):
            if k == j:
                a, b = stage.prompts.messages(t), stage.prompts.messages(u)
                assert a[:-1] == b[:-1] and t.command.intent == u.command.intent
    assert 4 <= len(set(keys)) < 40  # car's examples: several keys, most of them shared by several items
    fake = TextStage(sc.with_text(backend="fake"))
    assert fake.group_key(tasks[0]) is None  # the fake backend answers one request at a time


def test_the_group_stage_keeps_the_wanted_outcomes_and_sets_aside_a_failed_group(monkeypatch):
    sc = load_scenario("car")
    stage = TextStage(sc.with_text(backend="fake"))
    t1, t2 = plan_commands(sc, 2, seed=7)
    grouped = GroupedTextStage(stage)
    out = grouped.run_one(TextGroup(id=t1.id, tasks=[t1, t2], keep=[t2.id]))
    assert [o.id for o in out.parts] == [t2.id] and out.parts[0].record is not None

    def boom(tasks):
        raise RuntimeError("decoder gone")

    monkeypatch.setattr(stage, "process_group", boom)
    out = grouped.run_one(TextGroup(id=t1.id, tasks=[t1, t2], keep=[t1.id, t2.id]))
    assert [o.id for o in out.parts] == [t1.id, t2.id]
    assert all(o.quarantined is not None and "decoder gone" in o.quarantined.reason for o in out.parts)
    assert out.parts[0].quarantined.input["id"] == t1.id  # what a user needs to see what was asked


@pytest.mark.slow
def test_q8_copy_is_made_once_and_loads(tmp_path):
    src = bundled_gguf()
    copy = q8_copy(src, tmp_path)
    assert copy.is_file() and copy.stat().st_size > src.stat().st_size  # 8-bit weights take more room
    mtime = copy.stat().st_mtime_ns
    assert q8_copy(src, tmp_path) == copy and copy.stat().st_mtime_ns == mtime  # not made again
    assert not list(tmp_path.glob("*.part"))
    import llama_cpp as lc

    params = lc.llama_model_default_params()
    model = lc.llama_model_load_from_file(str(copy).encode(), params)
    assert model
    buf = ctypes.create_string_buffer(256)
    lc.llama_model_desc(model, buf, 256)
    lc.llama_model_free(model)
    assert b"Q8_0" in buf.value


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_an_item_whose_partner_is_stored_is_written_again_as_in_the_first_run(tmp_path):
    """Delete one paired item's text (as a crash right before it was stored would leave it): the rerun
    writes it with its partner again, so its answer is the first run's."""
    data = yaml.safe_load((ROOT / "prompts" / "car.yaml").read_text())
    data["qa"] = {"enabled": False}
    sc = tmp_path / "car_small.yaml"
    sc.write_text(yaml.safe_dump(data))
    out = tmp_path / "corpus"
    env = {**os.environ, "SCENAVOX_CACHE": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "scenavox.cli", "corpus", "--scenario", str(sc), "--n", "8", "--seed", "5",
            "-q", "--out", str(out)]
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    records = {p: json.loads(p.read_text()) for p in (out / "text").glob("*.json")}
    corpus = {json.loads(line)["id"] for line in (out / "triples.jsonl").read_text().splitlines()}
    paired = {p: rec for p, rec in records.items() if rec["id"] in corpus and rec["provenance"].get("answered_with")}
    assert paired, "no two of 8 car items were answered together"
    by_index = {rec["index"]: p for p, rec in records.items()}
    path, rec = max(paired.items(), key=lambda kv: kv[1]["index"])
    mate = by_index[rec["provenance"]["answered_with"][0]]  # in the corpus, or written ahead for a later pass
    path.unlink()  # the item goes, its partner stays
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(path.read_text()) == rec  # written again, the same answer
    assert json.loads(mate.read_text()) == records[mate]
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert stages["text"]["done"] == 1, stages  # only that item was written: its partner's new answer is not kept
    assert rec["id"] in {json.loads(line)["id"] for line in (out / "triples.jsonl").read_text().splitlines()}


def test_a_groups_usage_is_shared_whole_among_its_items():
    from scenavox.text.stage import _share

    assert [_share(5, j, 2) for j in range(2)] == [3, 2]  # requests and tokens stay whole; the sum is the call's
    assert [_share(7, j, 3) for j in range(3)] == [3, 2, 2]
    assert _share(0.3, 1, 2) == pytest.approx(0.15)  # a price splits evenly
    assert _share(4, 0, 1) == 4
