"""One declared row schema: the parquet shards, the card and the manifests follow publish/schema.py."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from scenavox.publish import schema
from scenavox.publish.export import export_dataset
from scenavox.publish.manifests import _EXTRAS

from .conftest import SCENARIO_YAML, make_corpus


def test_shards_have_the_declared_columns_and_types(corpus):
    want = schema.columns_for(schema.COLUMNS.keys() - {n for n, _ in schema.DIALOGUE_TURN + schema.QA})
    for f in sorted((corpus["folder"] / "data").glob("*.parquet")):
        s = pq.read_schema(f)
        assert s.names == want
        # the clips carry no acoustics: snr_db is empty, and still a number column, as declared
        assert str(s.field("snr_db").type) == "double" and str(s.field("seed").type) == "int64"
    card = (corpus["folder"] / "README.md").read_text()
    assert ", ".join(f"`{c}`" for c in want if c != "audio") in card


def test_qa_columns_follow_the_declaration_and_undeclared_ones_are_refused(tmp_path):
    store, sc, clips, triples = make_corpus(tmp_path / "c", n=2)
    qa = {c.id: {"qa_passed": True, "qa_wer": 0, "qa_snr_db": None} for c in clips}  # an int WER is a float
    export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {}, extra_columns=qa)
    s = pq.read_schema(next((store.root / "dataset" / "data").glob("*.parquet")))
    assert s.names[-len(schema.QA) - 1:] == [n for n, _ in schema.QA] + ["text_normalized"]
    assert str(s.field("qa_wer").type) == "double" and str(s.field("qa_passed").type) == "bool"
    with pytest.raises(ValueError, match="qa_new_score.*not declared"):
        export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {},
                       extra_columns={c.id: {"qa_new_score": 1.0} for c in clips})


def test_manifest_columns_are_declared():
    assert set(_EXTRAS) <= set(schema.COLUMNS)
    assert [n for n, _ in schema.DIALOGUES] == list(schema.dialogue_features())
