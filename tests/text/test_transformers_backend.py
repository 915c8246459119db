"""The transformers text backend for real: a tiny random Llama built here (fast, runs on the GPU
when there is one) and the bundled SmolLM2 GGUF loaded through transformers' gguf_file (slow, CPU).

Needs the `transformers` extra (torch, transformers, gguf)."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from scenavox.errors import UserError  # noqa: E402
from scenavox.records import Command, TextTask  # noqa: E402
from scenavox.scenario import load_scenario  # noqa: E402
from scenavox.text.backends import make_backend  # noqa: E402
from scenavox.text.backends.transformers_backend import TransformersBackend, json_prefix  # noqa: E402
from scenavox.text.stage import ANSWER_SCHEMA, TextStage  # noqa: E402

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MESSAGES = [{"role": "system", "content": "You write JSON."}, {"role": "user", "content": "Intent: call_contact"}]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer Llama with random weights and a byte-level BPE tokenizer trained on a few sentences."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-llama")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(['{"utterance": "Call Mom please", "reply": "Calling Mom now."}',
                             "Take me to the airport. Set the temperature to 21 degrees."] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    fast.save_pretrained(d)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=fast.vocab_size + 8, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                      eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


def test_tiny_model_seeded_json_prefixed_usage_counted(tiny_model):
    import torch

    b = make_backend("transformers", model=str(tiny_model), threads=1)
    assert isinstance(b, TransformersBackend) and b.model == tiny_model.name
    kw = dict(schema=ANSWER_SCHEMA, temperature=0.8, max_tokens=24)
    a = b.complete(MESSAGES, seed=11, **kw)
    assert b.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert b.dtype == ("bfloat16" if torch.cuda.is_available() else "float32")
    assert next(b._model.parameters()).device.type == b.device.split(":")[0]
    assert a.startswith('{"utterance": "')  # the answer is opened for the model
    usage = b.take_usage()
    assert usage["requests"] == 1 and usage["prompt_tokens"] > 5 and 1 <= usage["completion_tokens"] <= 24
    assert b.complete(MESSAGES, seed=11, **kw) == a  # same seed, same text
    others = {b.complete(MESSAGES, seed=s, **kw) for s in (12, 13, 14)}
    assert others != {a}  # sampling does depend on the seed
    greedy = {b.complete(MESSAGES, seed=s, schema=ANSWER_SCHEMA, temperature=0.0, max_tokens=24) for s in (1, 2)}
    assert len(greedy) == 1  # temperature 0: greedy, the seed does not matter


def test_json_prefix_follows_the_schema():
    assert json_prefix(ANSWER_SCHEMA) == '{"utterance": "'
    assert json_prefix({"properties": {"n": {"type": "integer"}}, "required": ["n"]}) == '{"n": '
    assert json_prefix({}) == "{"


def test_missing_model_and_device_are_clear_errors(tmp_path):
    import torch

    with pytest.raises(UserError, match="text.model"):
        TransformersBackend(model=str(tmp_path / "nope")).load()
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="text.device"):
            TransformersBackend(model=str(tmp_path), device="cuda").load()


@pytest.fixture(scope="module")
def car():
    import os

    from ..conftest import ROOT

    old = os.getcwd()
    os.chdir(ROOT)
    try:
        # one request per item: the judge and best-of-k are the same code on every backend (tests/text/test_gate.py),
        # and each candidate costs this backend a full forward pass over the prompt (no KV cache across calls)
        yield load_scenario("car").with_text(backend="transformers", judge={"enabled": False})
    finally:
        os.chdir(old)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bundled_gguf_through_the_text_stage(car):
    pytest.importorskip("gguf")
    stage = TextStage(car, threads=2)
    stage.setup()
    assert stage.backend.model == "SmolLM2-135M-Instruct-Q4_1"
    tasks = [TextTask(id="t0", index=0, command=Command(intent="call_contact", slots={"contact": "Sarah"}), seed=21),
             TextTask(id="t1", index=1, command=Command(intent="navigate_to", slots={"destination": "the airport"}),
                      seed=22)]
    outs = [stage.run_one(t) for t in tasks]
    valid = [o.record for o in outs if o.record is not None]
    assert len(valid) == 2, [o.quarantined.reason for o in outs if o.quarantined]
    for t in valid:
        assert t.provenance["text_backend"] == "transformers"
        assert list(t.command.slots.values())[0].lower() in t.utterance.lower()
    assert all(o.metrics["prompt_tokens"] > 100 and o.metrics["completion_tokens"] > 3 for o in outs)
    # a second model instance (a resumed run) writes the same words for the same task and seed
    again = TextStage(car, threads=2).run_one(tasks[0])
    assert again.record.model_dump() == valid[0].model_dump()
    raw = stage.backend.complete(stage.prompts.messages(tasks[0]), schema=ANSWER_SCHEMA, seed=5, temperature=0.4,
                                 max_tokens=120)
    assert isinstance(json.loads(raw), dict)  # generation stopped at the end of the object
