"""Orchestration with the fake text backend and sine 'voices': resume, executors, export."""

import tempfile
import json

import numpy as np
import soundfile as sf
from datasets import Audio, load_dataset

from scenavox.api import build
from scenavox.records import Command, TextTask
from scenavox.scenario import load_scenario
from scenavox.text.backends.fake import FakeBackend
from scenavox.text.stage import TextStage, check_answer


def rows(dataset_dir):
    ds = load_dataset(str(dataset_dir), cache_dir=tempfile.mkdtemp())  # no shared cache between corpora
    out = {}
    for split in ds:
        d = ds[split].cast_column("audio", Audio(decode=False))
        for r in d:
            out[r["id"]] = {**r, "split": split}
    return out


def test_build_exports_a_dataset_that_loads(mini_yaml, tmp_path):
    sc = load_scenario(mini_yaml)
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] == 10
    got = rows(res.dataset)
    assert len(got) == 10
    r = next(iter(got.values()))
    for col in ("text", "intent", "slots", "reply", "voice_id", "accent", "duration_s", "provenance", "source"):
        assert col in r
    x, sr = sf.read(__import__("io").BytesIO(r["audio"]["bytes"]))
    assert sr == 16000 and abs(len(x) / sr - r["duration_s"]) < 0.01
    # command first: every row carries exactly the command planned for its item
    from scenavox.text.dialogue import plan_tasks
    from scenavox.text.stage import PromptBuilder

    plan = {t.id: t.command for t in plan_tasks(sc, 50, sc.seed, extra_fingerprint=PromptBuilder(sc).fingerprint)}
    for row in got.values():
        planned = plan[row["triple_id"]]
        assert row["intent"] == planned.intent and json.loads(row["slots"]) == planned.slots != {}
    # default noise answer: quiet_indoor at 20-30 dB SNR, every parameter recorded
    assert r["noise_type"] == "quiet_indoor" and 20 <= r["snr_db"] <= 30
    assert abs(r["measured_snr_db"] - r["snr_db"]) <= 0.5
    assert json.loads(r["acoustics"])["acoustics_preset"] == "quiet_indoor"
    assert {v["split"] for v in got.values()} <= {"train", "validation", "test"}
    assert (res.out / "dataset" / "scenario.yaml").is_file()
    assert (res.out / "triples.jsonl").read_text().count("\n") == 10
    assert not (res.out / "voice").exists()  # every voiced clip was placed: no empty waiting room left behind


def test_rerun_reuses_everything_and_repairs_deletions(mini_yaml, tmp_path):
    sc = load_scenario(mini_yaml)
    out = tmp_path / "c"
    first = build(sc, out=out, workers=0, progress=False)
    again = build(sc, out=out, workers=0, progress=False)
    assert again.summary["stages"]["text"]["reused"] == 10 and again.summary["stages"]["text"]["done"] == 0
    assert again.summary["stages"]["voice"]["reused"] == 10
    # lose some finished work, as a crash between files would
    for p in sorted((out / "text").glob("*.json"))[:3]:
        p.unlink()
    for p in sorted((out / "clips").glob("*.json"))[:2]:
        p.unlink()
    third = build(sc, out=out, workers=0, progress=False)
    assert third.summary["stages"]["text"]["done"] == 3
    assert rows(first.dataset) == rows(third.dataset)


def test_process_pool_equals_in_process(mini_yaml, tmp_path):
    sc = load_scenario(mini_yaml)
    a = build(sc, out=tmp_path / "a", workers=0, progress=False)
    b = build(sc, out=tmp_path / "b", workers=2, progress=False)
    ra, rb = rows(a.dataset), rows(b.dataset)
    assert ra.keys() == rb.keys()
    assert all(ra[k]["audio"]["bytes"] == rb[k]["audio"]["bytes"] for k in ra)


def test_accent_shares_and_voice_rotation(mini_yaml, tmp_path):
    sc = load_scenario(mini_yaml)
    res = build(sc, n=20, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["accents"] == {"en-GB": 10, "en-US": 10}
    assert res.summary["voices"] == {"fake-gb-1": 10, "fake-us-1": 5, "fake-us-2": 5}


def test_garbage_answers_are_retried_then_quarantined_with_reasons(repo_cwd):
    sc = load_scenario("car")
    stage = TextStage(sc, backend="fake")
    stage._backend = FakeBackend(fail_every=1)  # every answer is garbage
    task = TextTask(id="t1", index=0, command=Command(intent="call_contact", slots={"contact": "Mom"}), seed=5)
    out = stage.run_one(task)
    q = out.quarantined
    assert out.record is None and q is not None
    assert q.reason == "answer is not valid JSON"
    assert len(q.attempts) == sc.text.max_attempts
    assert all(a["raw"] == "not json at all" for a in q.attempts)
    assert len({a["seed"] for a in q.attempts}) == sc.text.max_attempts  # each retry with a new seed


def test_check_answer_reasons():
    task = TextTask(id="t", index=0, command=Command(intent="x", slots={"temp": "21 degrees"}), seed=0)
    ok = json.dumps({"utterance": "Make it twenty-one degrees please", "reply": "Done."})
    assert check_answer(ok, task, 2, 30)[0] is not None
    cases = {
        "[1, 2]": "not a JSON object",
        json.dumps({"utterance": "Make it warmer please", "reply": "Done."}): "lacks slot value(s) temp='21 degrees'",
        json.dumps({"utterance": "21 degrees", "reply": "21 degrees"}): "the same",
        json.dumps({"utterance": "", "reply": "ok"}): "empty",
        json.dumps({"utterance": "21 degrees " + "very " * 40, "reply": "ok"}): "words; allowed",
        json.dumps({"utterance": "Make it 21 degrees", "reply": " , "}): "reply has no words",
        json.dumps({"utterance": "Make it 21 degrees " + "x" * 92, "reply": "ok"}): "cut off at 110 characters",
        json.dumps({"utterance": "Make it 21 degrees", "reply": "I will " + "x" * 110}): "reply was cut off",
        '```json\n{"utterance": "Make it 21 degrees", "reply": "Make it 21 degrees."}\n```': "the same",
    }
    for raw, reason in cases.items():
        fields, why = check_answer(raw, task, 2, 30)
        assert fields is None and reason in why, (raw, why)


def test_quarantined_item_does_not_stop_the_run(mini_yaml, tmp_path, monkeypatch):
    import scenavox.text.backends.fake as fake

    real = fake.FakeBackend.complete

    def flaky(self, messages, **kw):
        if "Sarah" in messages[-1]["content"]:
            return '{"utterance": "hello there friend", "reply": "hi"}'  # never contains the slot
        return real(self, messages, **kw)

    monkeypatch.setattr(fake.FakeBackend, "complete", flaky)
    sc = load_scenario(mini_yaml)
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["set_aside"] >= 1
    # set-aside items are replaced by further planned ones: the corpus still has n utterances
    assert res.summary["utterances"] == 10
    assert max(t.index for t in res.triples) >= 10
    assert all("Sarah" not in t.command.slots.values() for t in res.triples)
    q = [json.loads(line) for line in (res.out / "quarantine.jsonl").read_text().splitlines()]
    assert all("contact='Sarah'" in x["reason"] and x["attempts"][0]["raw"] for x in q)
    assert "utterance lacks slot value(s)" in next(iter(res.summary["set_aside_reasons"]))


def _failing_voice(monkeypatch, voice_id, keep_every):
    """The fake voice `voice_id` fails every item except one in `keep_every` (by text), as an
    unintelligible voice fails QA; the other voices always succeed."""
    from scenavox.voice.backends.fake import FakeBackend as FakeTTS

    real = FakeTTS.synthesize

    def synth(self, text, voice, prosody, seed=0):
        if voice["id"] == voice_id and int(__import__("hashlib").md5(text.encode()).hexdigest(), 16) % keep_every:
            raise RuntimeError("this voice failed")
        return real(self, text, voice, prosody, seed)

    monkeypatch.setattr(FakeTTS, "synthesize", synth)


def test_top_up_keeps_accent_weights_when_one_accent_fails_more(mini_yaml, tmp_path, monkeypatch):
    _failing_voice(monkeypatch, "fake-gb-1", keep_every=3)  # about 2 of 3 en-GB items are lost
    sc = load_scenario(mini_yaml)
    res = build(sc, n=20, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["utterances"] == 20
    assert res.summary["accents"] == {"en-GB": 10, "en-US": 10}  # the weights, after the losses
    assert res.summary["accent_shortfall"] == {}
    # the top-ups were spent on en-GB: far fewer en-US items tried than en-GB ones
    quarantined = [json.loads(line) for line in (res.out / "quarantine.jsonl").read_text().splitlines()]
    assert quarantined and all(q["input"]["voice"]["accent"] == "en-GB" for q in quarantined)
    us = sum(1 for p in (res.out / "clips").glob("*.json") if json.loads(p.read_text())["accent"] == "en-US")
    assert us <= 12, us
    # a rerun takes the same decisions from the stored work
    again = build(sc, n=20, out=tmp_path / "c", workers=0, progress=False)
    assert again.summary["stages"]["voice"]["done"] == 0
    assert rows(res.dataset).keys() == rows(again.dataset).keys()


def test_an_accent_that_never_passes_is_reported_short(mini_yaml, tmp_path, monkeypatch):
    _failing_voice(monkeypatch, "fake-gb-1", keep_every=10**9)  # en-GB never succeeds
    sc = load_scenario(mini_yaml)
    res = build(sc, n=10, out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["accent_shortfall"] == {"en-GB": 5}
    assert res.summary["accents"] == {"en-US": 10}  # its places go to the accent that passes
    assert "en-GB 5 fewer" in __import__("scenavox.summary", fromlist=["x"]).format_summary(res.summary)


def test_the_worker_pools_end_before_the_final_checks_and_the_export(mini_yaml, tmp_path, monkeypatch):
    """Every pass is done by then: idle text and voice workers (a loaded model each) would only add their
    memory to what the final checks load (the default car build's process tree peaked at 4.8 GB on 40 items)."""
    import scenavox.pipeline as pipeline
    from scenavox.executors import LocalExecutor

    events: list[str] = []

    class Recording(LocalExecutor):
        def map(self, stage, items, workers=0):
            for o in super().map(stage, items, workers):
                events.append(f"map {stage.name}")
                yield o

        def close(self):
            events.append(f"close {len(self._pools)} pools")
            super().close()

    real_export = pipeline.export_dataset
    monkeypatch.setattr(pipeline, "export_dataset", lambda *a, **k: events.append("export") or real_export(*a, **k))
    res = build(load_scenario(mini_yaml), out=tmp_path / "c", workers=2, progress=False, executor=Recording())
    assert res.summary["utterances"] == 10
    closes = [i for i, e in enumerate(events) if e.startswith("close")]
    assert events[closes[0]] == "close 2 pools"  # the text and the voice pool, both still open
    assert max(i for i, e in enumerate(events) if e in ("map text", "map voice")) < closes[0] < events.index("export")


def test_measure_clip_reports_a_clip_it_could_not_measure(mini_yaml, tmp_path):
    """The early QA of a build (pipeline._Run._measure_ahead) counts a clip only when its result is stored: a
    clip whose audio is gone is left to the per-pass QA, which reports why."""
    from scenavox.qa import thresholds_for
    from scenavox.qa.run import measure_clip, qa_stage
    from scenavox.records import Clip, Triple
    from scenavox.store import Store

    sc = load_scenario(mini_yaml)
    res = build(sc, n=2, out=tmp_path / "c", workers=0, progress=False)
    clip = Clip(**json.loads(next(iter(sorted((res.out / "clips").glob("*.json")))).read_text()))
    triple = Triple(**json.loads((res.out / "text" / f"{clip.triple_id}.json").read_text()))
    (res.out / clip.audio_path).unlink()
    stage = qa_stage(sc, thresholds_for(sc), threads=1)
    assert measure_clip(Store(res.out), clip, triple, stage) is False
    assert stage._asr is None  # nothing was loaded for it
