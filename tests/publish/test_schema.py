"""One declared row schema: the parquet shards, the card and the manifests follow row_schema.py."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from scenavox import row_schema as schema
from scenavox.publish.export import export_dataset
from scenavox.publish.manifests import _EXTRAS

from .conftest import SCENARIO_YAML, make_corpus


def test_shards_have_the_declared_columns_and_types(corpus):
    absent = schema.REPLY_AUDIO + schema.DIALOGUE_TURN + schema.qa_block()  # the fixture's clips have no voiced reply
    want = schema.columns_for(schema.declared().keys() - {n for n, _ in absent})
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
    assert s.names[-len(schema.qa_block()) - 1:] == [n for n, _ in schema.qa_block()] + ["text_normalized"]
    assert str(s.field("qa_wer").type) == "double" and str(s.field("qa_passed").type) == "bool"
    with pytest.raises(ValueError, match="qa_new_score.*not declared"):
        export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {},
                       extra_columns={c.id: {"qa_new_score": 1.0} for c in clips})


def test_manifest_columns_are_declared():
    assert set(_EXTRAS) <= set(schema.declared())
    assert [n for n, _ in schema.DIALOGUES] == list(schema.dialogue_features())


def test_a_registered_qa_check_declares_its_own_columns():
    from scenavox.qa import QACheck, register, unregister

    class Accent(QACheck):
        name = "accent_guess"
        label = "accent guess"
        columns = {"qa_accent_guess": "accent_guess", "qa_accent_score": "accent_score"}
        column_types = {"qa_accent_guess": "string"}

    assert "qa_accent_guess" not in schema.declared()
    with pytest.raises(ValueError, match="not declared"):
        schema.columns_for({"id", "qa_accent_guess"})
    register(Accent)
    try:
        cols = schema.columns_for({"id", "qa_passed", "qa_accent_guess"})
        assert cols[-2:] == ["qa_accent_guess", "qa_accent_score"]
        feats = schema.features(cols)
        assert feats["qa_accent_guess"].dtype == "string" and feats["qa_accent_score"].dtype == "float64"
    finally:
        unregister("accent_guess")
