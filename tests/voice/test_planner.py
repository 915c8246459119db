"""Speaker sampling: accent shares, voice variety, held-out voices, prosody values per clip."""

from collections import Counter

import pytest

from scenavox.records import Clip, Command, Triple
from scenavox.scenario import load_scenario
from scenavox.voice.stage import VoicePlanner


def triples(n):
    return [Triple(id=f"t{i:04d}", index=i, command=Command(intent="x"), utterance="Call Mom now.", reply="ok")
            for i in range(n)]


def plan(scenario, n, seed=7):
    planner = VoicePlanner(scenario, seed)
    return [planner.task_for(t, slot) for t, slot in zip(triples(n), planner.schedule(n))]


def test_default_car_plan_uses_many_voices_and_follows_accent_weights(repo_cwd):
    sc = load_scenario("prompts/car.yaml")
    n = sc.size.n
    tasks = plan(sc, n)
    voices = Counter(t.voice["id"] for t in tasks)
    accents = Counter(t.voice["accent"] for t in tasks)
    assert len(voices) >= 12 and len(accents) >= 4
    for accent, weight in sc.accent_weights.items():
        assert abs(accents[accent] / n - weight) <= 0.05, (accent, accents[accent] / n, weight)
    assert not any(t.voice["accent_fallback"] for t in tasks)
    # voices within an accent follow their registry weights: within one item of the exact quota
    from scenavox.voice.registry import load_registry

    weight = {v.id: v.weight for v in load_registry("default")}
    for accent in sc.accent_weights:
        ids = {t.voice["id"] for t in tasks if t.voice["accent"] == accent}
        total = sum(voices[v] for v in ids)
        wsum = sum(weight[v] for v in ids)
        for v in ids:
            assert abs(voices[v] - total * weight[v] / wsum) <= 1, (accent, v, voices[v])


def test_every_task_records_prosody_within_the_scenario_ranges(repo_cwd):
    sc = load_scenario("prompts/car.yaml")
    p = sc.audio.prosody
    for t in plan(sc, 40):
        pr = t.prosody
        assert p.min_rate <= pr["rate"] <= p.max_rate
        assert p.min_level_dbfs <= pr["level_dbfs"] <= p.max_level_dbfs
        assert p.min_pause_ms <= pr["pause_ms"] <= p.max_pause_ms
        if t.voice["backend"] == "espeak":
            assert p.min_pitch_semitones <= pr["pitch_semitones"] <= p.max_pitch_semitones
        else:
            assert pr["pitch_semitones"] == 0.0  # no native pitch control: nothing applied, nothing claimed


def test_plan_is_a_pure_function_of_seed_and_index(repo_cwd):
    sc = load_scenario("prompts/car.yaml")
    a = [(t.id, t.voice["id"], t.prosody) for t in plan(sc, 30)]
    b = [(t.id, t.voice["id"], t.prosody) for t in plan(sc, 60)[:30]]
    assert a == b
    assert a != [(t.id, t.voice["id"], t.prosody) for t in plan(sc, 30, seed=8)]


@pytest.mark.parametrize("n", [100, 400])
def test_held_out_voices_only_in_test_split_and_within_quota(repo_cwd, n):
    from scenavox.splits import Member, assign_splits

    sc = load_scenario("prompts/car.yaml")
    held = ["kokoro-am-adam", "kokoro-bf-lily"]
    sc.voices.held_out = held
    tasks = plan(sc, n)
    clips = [Clip(id=t.id, triple_id=t.triple.id, audio_path=f"audio/{t.id}.flac", text="x", sample_rate=16000,
                  duration_s=1.0, voice_id=t.voice["id"], accent=t.voice["accent"], language="en",
                  prosody=t.prosody) for t in tasks]
    splits = assign_splits([Member.of_clip(c) for c in clips], sc.size.splits, 7, set(held))
    held_clips = [c for c in clips if c.voice_id in held]
    assert held_clips and all(splits[c.id] == "test" for c in held_clips)
    train_voices = {c.voice_id for c in clips if splits[c.id] != "test"}
    assert not train_voices & set(held)
    # quota: held-out voices take about the test share of their accent, not an equal turn
    for h in held:
        accent = next(c.accent for c in held_clips if c.voice_id == h)
        in_accent = [c for c in clips if c.accent == accent]
        share = sum(c.voice_id == h for c in in_accent) / len(in_accent)
        assert share <= 0.15, (h, share)


def test_a_held_out_voice_holds_out_its_other_accents_within_the_quota(repo_cwd):
    # piper-joe-en-us-nyc is joe reading New York phonemes: the same person as piper-joe-en-us
    from scenavox.voice.stage import VoicePlanner

    sc = load_scenario("prompts/car.yaml")
    free = VoicePlanner(sc, 7)
    sc.voices.held_out = ["piper-joe-en-us"]
    p = VoicePlanner(sc, 7)
    for accent in ("en-US-nyc", "en-029"):
        ids = [v.id for v in p.by_accent[accent]]
        joe = next(i for i, v in enumerate(ids) if v.startswith("piper-joe"))
        share = p.voice_weights[accent][joe] / sum(p.voice_weights[accent])
        # the test split's share of the accent (0.1), as for the declared id; 1/8 without the hold-out
        assert share == pytest.approx(sc.size.splits["test"]), (accent, share)
        assert free.voice_weights[accent][joe] / sum(free.voice_weights[accent]) == pytest.approx(1 / len(ids))


def test_voice_weights_set_shares_within_an_accent(tmp_path, repo_cwd):
    reg = tmp_path / "reg.yaml"
    reg.write_text(
        "voices:\n"
        "  - {id: natural, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0, weight: 3}\n"
        "  - {id: robot-1, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}\n"
        "  - {id: robot-2, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}\n")
    sc = load_scenario("prompts/car.yaml")
    sc.voices.registry = str(reg)
    sc.voices.exclude = []  # car.yaml excludes a voice of the default registry
    sc.languages[0].accents = sc.languages[0].accents[:1]
    sc.languages[0].accents[0].weight = 1.0
    counts = Counter(t.voice["id"] for t in plan(sc, 100))
    assert counts == {"natural": 60, "robot-1": 20, "robot-2": 20}


def test_default_car_pool_at_200_items_is_mostly_natural_and_keeps_accent_shares(repo_cwd):
    """The voice planner alone (no synthesis) on the default car scenario at n=200: every accent within
    5 points of its weight, at least 80% of the clips from neural voices, and eSpeak NG only in accents
    that no natural voice covers."""
    sc = load_scenario("prompts/car.yaml")
    n = 200
    tasks = plan(sc, n, seed=sc.seed)
    accents = Counter(t.voice["accent"] for t in tasks)
    for accent, weight in sc.accent_weights.items():
        assert abs(accents[accent] / n - weight) <= 0.05, (accent, accents[accent] / n, weight)
    neural = [t for t in tasks if t.voice["backend"] != "espeak"]
    assert len(neural) / n >= 0.8, len(neural) / n
    natural_accents = {t.voice["accent"] for t in neural}
    assert not [t.voice["id"] for t in tasks if t.voice["backend"] == "espeak" and t.voice["accent"] in natural_accents]
