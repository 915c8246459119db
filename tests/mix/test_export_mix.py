"""The exporter blends real rows in: the folder loads with `datasets` and has the requested shares."""

from __future__ import annotations

import io
import json
import tempfile

import pytest
import soundfile as sf

from scenavox.publish.export import export_dataset
from scenavox.publish.manifests import nemo_path

from .conftest import dialogue_corpus, real_records, scenario, synthetic_corpus, write_manifest

SHARES = {"train": 0.5, "validation": 0.5, "test": 0.0}


def test_exported_dataset_has_source_column_and_shares(tmp_path):
    import datasets
    from datasets import Audio

    man = write_manifest(tmp_path / "real", real_records(speakers=8, per_speaker=10))
    sc = scenario({"real": str(man), "synthetic_share": SHARES, "licence": "CC-BY-4.0", "name": "tiny-real"},
                  size={"n": 60, "splits": {"train": 0.8, "validation": 0.1, "test": 0.1}})
    store, clips, triples = synthetic_corpus(tmp_path / "corpus", sc, n=60, with_files=True)
    counts = export_dataset(store, sc, clips, triples, 3, sc.to_yaml(), {"seed": 3}, shard_size=50)
    mix = counts.mix
    assert mix["mode"] == "blended" and mix["speaker_disjoint"]
    assert dict(counts) == {s: mix["splits"][s]["rows"] for s in ("train", "validation", "test")}

    ds = datasets.load_dataset(str(store.root / "dataset"), cache_dir=tempfile.mkdtemp())
    assert isinstance(ds["train"].features["audio"], Audio)
    speakers = {}
    for split, want in SHARES.items():
        d = ds[split]
        assert "source" in d.column_names and "text_normalized" in d.column_names
        src = d["source"]
        assert abs(src.count("synthetic") / len(src) - want) <= 0.01, (split, src.count("synthetic"), len(src))
        speakers[split] = {v for v, s in zip(d["voice_id"], src) if s == "real"}
        raw = d.cast_column("audio", Audio(decode=False))
        for row in raw.select(range(min(5, len(raw)))):
            x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
            assert sr == 16000 and abs(len(x) / sr - row["duration_s"]) < 1e-3
    assert not (speakers["train"] & speakers["validation"]) and not (speakers["train"] & speakers["test"])
    prov = json.loads(ds["test"]["provenance"][0])["real"]
    assert prov["source"] == "tiny-real" and prov["licence"] == "CC-BY-4.0"

    # manifests list the real rows with files inside the corpus folder
    lines = [json.loads(x) for x in nemo_path(store.root, "test").read_text().splitlines()]
    assert lines and all(ln["source"] == "real" for ln in lines)
    assert all((store.root / ln["audio_filepath"]).is_file() for ln in lines)
    card = (store.root / "dataset" / "README.md").read_text()
    assert "license: cc-by-4.0" in card and "**Real recordings**" in card and "| tiny-real | CC-BY-4.0 |" in card
    assert not list(store.root.glob("*.tmp-*"))


@pytest.mark.parametrize("speakers,per_speaker", [(8, 10), (4, 6)])
def test_a_dialogue_has_the_same_split_in_both_configurations(tmp_path, speakers, per_speaker):
    """Regression: the `dialogues` configuration kept the splits from before the mixer moved rows.

    With real recordings, test is real only by default, so the mixer moves the synthetic rows
    planned for test to the other splits; a dialogue's turns must move together, and its row in
    the `dialogues` configuration must land in the split its turns have in the default one. With
    little real speech (4 x 6 rows) the mixer also drops synthetic rows to keep the shares: it drops
    whole dialogues, which are then left out of the `dialogues` configuration."""
    import datasets

    man = write_manifest(tmp_path / "real", real_records(speakers=speakers, per_speaker=per_speaker))
    sc = scenario({"real": str(man)}, size={"n": 60, "splits": {"train": 0.8, "validation": 0.1, "test": 0.1}})
    assert sc.mix.shares()["test"] == 0.0
    store, clips, triples, dialogues = dialogue_corpus(tmp_path / "corpus", sc, n_dialogues=20, turns=3)
    assert len(dialogues) == 20
    counts = export_dataset(store, sc, clips, triples, 3, sc.to_yaml(), {"seed": 3}, dialogues=dialogues)

    cache = tempfile.mkdtemp()
    default = datasets.load_dataset(str(store.root / "dataset"), cache_dir=cache)
    split_of = {i: split for split, d in default.items() for i in d["id"]}
    config = datasets.load_dataset(str(store.root / "dataset"), "dialogues", cache_dir=cache)
    placed = set()
    for split, d in config.items():
        for did, turns in zip(d["id"], d["turns"]):
            assert {split_of.get(t["clip_id"]) for t in turns} == {split}, (did, split)
            placed.add(did)
    turns_in = {}
    for split, d in default.items():
        for dia in d["dialogue_id"]:
            if dia is not None:  # real rows belong to no dialogue
                turns_in.setdefault(dia, []).append(split)
    # the mixer moves and drops a dialogue whole
    assert all(len(s) == 3 and len(set(s)) == 1 for s in turns_in.values()), turns_in
    assert placed == set(turns_in)  # a dialogue is left out exactly when the mixer dropped its turns
    card = (store.root / "dataset" / "README.md").read_text()
    if counts.mix["synthetic_dropped"]:
        assert 0 < len(placed) < 20 and f"{20 - len(placed)} rendered dialogue(s) are left out" in card
    else:
        assert len(placed) == 20 and "left out" not in card
