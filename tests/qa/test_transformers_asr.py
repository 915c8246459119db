"""The transformers Whisper backend, driven through real transformers code with a tiny random
Whisper model built here (its tokenizer is the bundled Whisper base's): the path users with
their own checkpoints take, minus the weights."""

import json

import numpy as np
import pytest

from scenavox.executors import LocalExecutor
from scenavox.qa import QAStage, run_qa, thresholds_for
from scenavox.store import Store

from .conftest import add_clip, scenario

pytest.importorskip("transformers", reason="needs transformers + torch (scenavox[qa-extra])")


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    from scenavox.qa.asr import whisper_base_dir

    tok = WhisperTokenizerFast(tokenizer_file=str(whisper_base_dir() / "tokenizer.json"), unk_token="<|endoftext|>",
                               bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|startoftranscript|>", "<|endoftext|>", "<|en|>",
                                                     "<|transcribe|>", "<|translate|>", "<|notimestamps|>")}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    cfg = WhisperConfig(vocab_size=len(tok), num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=64,
                        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(cfg)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, max_length=12, is_multilingual=True,
        lang_to_id={"<|en|>": ids["<|en|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"])
    out = tmp_path_factory.mktemp("tiny_whisper")
    model.save_pretrained(out)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(out)
    return out


def test_transformers_backend_runs_through_the_qa_stage(tmp_path, tiny_whisper):
    from scenavox.qa.asr import make_transcriber

    tr = make_transcriber("transformers", tiny_whisper, threads=1)
    assert isinstance(tr.transcribe(np.zeros(16000, np.float32), "en"), str)
    store = Store(tmp_path)
    rng = np.random.default_rng(0)
    clip, triple = add_clip(store, "Call Sarah", rng.normal(0, 0.05, 16000).astype(np.float32), "call_contact",
                            {"contact": "Sarah"})
    sc = scenario("low", f"qa: {{recognizer: transformers, recognizer_model: '{tiny_whisper}'}}\n")
    stage = QAStage(thresholds_for(sc), recognizer="transformers", recognizer_model=str(tiny_whisper), threads=1,
                    mos=False)
    results, summary = run_qa(store, sc, [clip], [triple], executor=LocalExecutor(), stage=stage, report=False,
                              extras=False)
    assert summary["recognizer"] == f"transformers:{tiny_whisper}"
    assert results[0].recognizer == summary["recognizer"] and not results[0].passed  # random weights hear nonsense
    # the stage the scenario configures
    again = run_qa(store, sc, [clip], [triple], executor=LocalExecutor(), report=False, extras=False)[1]
    assert again["reused"] == 1 and json.loads((store.root / "qa" / "summary.json").read_text())["clips"] == 1
