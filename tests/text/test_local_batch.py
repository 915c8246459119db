"""The local backend's batched decoding (complete_many) on the real bundled SmolLM2 GGUF."""

import json

import jsonschema
import pytest

from scenavox.text.answers import MAX_CHARS, parse_answer
from scenavox.text.backends import complete_many
from scenavox.text.backends import local
from scenavox.text.backends.local import LocalLlamaBackend, _cut, _written
from scenavox.text.llama_batch import BatchDecoder
from scenavox.text.stage import ANSWER_SCHEMA

MESSAGES = [
    {"role": "system", "content": "You write what a driver says to the car's voice assistant, as JSON."},
    {"role": "user", "content": "Intent: set_temperature\n- temperature: 21 degrees"},
]
OTHER = [
    {"role": "system", "content": "You write what a driver says to the car's voice assistant, as JSON."},
    {"role": "user", "content": "Intent: call_contact\n- contact: Sarah"},
]
KW = dict(schema=ANSWER_SCHEMA, temperature=0.8, max_tokens=80)
# room for both strings at their maxLength (a token is at least one character): the answer always closes
ROOMY = 2 * MAX_CHARS + 40


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    # a cache folder of the module's own: KV files of the user's cache (or of an earlier run) never answer here
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENAVOX_CACHE", str(tmp_path_factory.mktemp("module-cache")))
        b = LocalLlamaBackend(threads=1)
        b.load()
        yield b


@pytest.mark.slow
def test_n_candidates_parse_and_match_the_schema_and_differ(backend):
    # a bare prompt: the model wanders (code, newlines), the grammar keeps every answer strict JSON.
    # Seed 5 gave raw newlines inside strings with llama-cpp-python's unamended grammar.
    out = backend.complete_many(MESSAGES, n=4, seed=5, schema=ANSWER_SCHEMA, temperature=0.8, max_tokens=ROOMY)
    assert len(out) == 4
    for raw in out:
        data, reason = parse_answer(raw)  # the stage's parser: strict JSON
        assert data is not None, (reason, raw)
        jsonschema.validate(data, ANSWER_SCHEMA)
    assert len(set(out)) >= 2


@pytest.mark.slow
def test_the_grammar_holds_a_schema_the_model_would_not_follow_by_itself(backend):
    schema = {"type": "object", "properties": {"colour": {"enum": ["teal", "ochre"]},
                                               "ok": {"type": "boolean"}},
              "required": ["colour", "ok"], "additionalProperties": False}
    out = backend.complete_many(MESSAGES, n=6, seed=3, schema=schema, temperature=1.0, max_tokens=40)
    for raw in out:
        data = json.loads(raw)
        jsonschema.validate(data, schema)


@pytest.mark.slow
def test_the_same_call_gives_the_same_candidates_whatever_the_worker_did_before(backend):
    many = backend.complete_many(MESSAGES, n=4, seed=11, **KW)
    assert backend.complete_many(MESSAGES, n=4, seed=11, **KW) == many  # its prompt held from the call before
    backend.complete(OTHER, seed=1, **KW)  # another prompt in between: the held one goes
    assert backend.complete_many(MESSAGES, n=4, seed=11, **KW) == many
    assert LocalLlamaBackend(threads=1).complete_many(MESSAGES, n=4, seed=11, **KW) == many
    assert backend.complete_many(MESSAGES, n=4, seed=12, **KW) != many
    # n=1 is one candidate decoded alone: its seed's answer, in other cells than in a batch of four
    single = backend.complete(MESSAGES, seed=11, **KW)
    assert parse_answer(single)[0] is not None
    assert backend.complete(MESSAGES, seed=11, **KW) == single


@pytest.mark.slow
def test_a_group_answers_each_request_with_its_own_seeds_the_same_every_time(backend):
    """Two items' requests in one batch (TextStage.process_group): n answers each, in order, that parse; the
    same group gives the same answers whatever the worker did before; one request alone is complete_many."""
    sarah = [MESSAGES[0], {"role": "user", "content": "Intent: set_temperature\n- temperature: 18 degrees"}]
    reqs = [(MESSAGES, 11), (sarah, 12)]
    backend.take_usage()
    kw = {**KW, "max_tokens": ROOMY}  # room to close every answer: a bare prompt wanders
    group = backend.complete_group(reqs, n=4, **kw)
    usage = backend.take_usage()
    assert usage["requests"] == 2 and usage["candidates"] == 8
    assert [len(g) for g in group] == [4, 4]
    for raws in group:
        assert all(parse_answer(r)[0] is not None for r in raws), raws
    assert sum("18" in r for r in group[1]) > sum("18" in r for r in group[0])  # each answers its own request
    assert backend.complete_group(reqs, n=4, **kw) == group
    backend.complete(OTHER, seed=1, **KW)
    assert LocalLlamaBackend(threads=1).complete_group(reqs, n=4, **kw) == group
    assert backend.complete_group([(MESSAGES, 11)], n=4, **kw)[0] == backend.complete_many(MESSAGES, n=4, seed=11,
                                                                                          **kw)


@pytest.mark.slow
def test_a_group_on_a_model_without_a_chat_template_is_answered_request_by_request():
    """The text stage pairs items for any local GGUF; one whose file holds no chat template is answered by
    llama-cpp-python's own requests (Llama.create_chat_completion), each with its own seeds."""
    b = LocalLlamaBackend(threads=1)
    b.load()
    b._formatter = None  # as load() leaves it for a GGUF without tokenizer.chat_template
    kw = {**KW, "max_tokens": ROOMY}
    group = b.complete_group([(MESSAGES, 11), (OTHER, 12)], n=2, **kw)
    assert [len(g) for g in group] == [2, 2]
    assert group[1] == b.complete_many(OTHER, n=2, seed=12, **kw)
    assert all(parse_answer(r)[0] is not None for g in group for r in g), group


@pytest.mark.slow
def test_the_bundled_model_runs_as_its_q8_0_copy(backend):
    assert "q8_0" in backend._llm.model_path and backend.model == "SmolLM2-135M-Instruct-Q4_1 (run as Q8_0)"


@pytest.mark.slow
def test_a_larger_batch_than_the_decoder_was_made_for(backend):
    few = backend.complete_many(MESSAGES, n=2, seed=21, **KW)
    many = backend.complete_many(MESSAGES, n=10, seed=21, **KW)  # more than its 8 sequences: made again
    assert len(many) == 10 and len({*many}) >= 2
    assert backend._decoder.max_seqs == 10
    assert backend.complete_many(MESSAGES, n=2, seed=21, **KW) == few  # the larger decoder answers the same


@pytest.mark.slow
def test_usage_counts_one_request_its_candidates_and_tokens(backend):
    backend.take_usage()
    out = backend.complete_many(MESSAGES, n=3, seed=2, **KW)
    usage = backend.take_usage()
    assert usage["requests"] == 1 and usage["candidates"] == 3
    prompt = backend._llm.tokenize(backend._formatter(messages=MESSAGES).prompt.encode(), add_bos=False,
                                   special=True)
    assert usage["prompt_tokens"] == len(prompt)
    # sampled tokens split the text at least as finely as the tokenizer would, and hold a character or more
    canonical = sum(len(backend._llm.tokenize(o.encode(), add_bos=False, special=False)) for o in out)
    assert canonical <= usage["completion_tokens"] <= sum(len(o.encode()) for o in out)


@pytest.mark.slow
def test_the_module_function_uses_the_batched_call(backend, monkeypatch):
    def no_single(*a, **k):
        raise AssertionError("complete_many fell back to single calls")

    monkeypatch.setattr(backend, "_complete_one", no_single)
    out = complete_many(backend, MESSAGES, n=2, seed=4, **KW)
    assert len(out) == 2


@pytest.mark.slow
def test_an_answer_ends_where_its_last_value_is_written(backend, monkeypatch):
    """Once the last property's string closes, the grammar allows only '}' and the end: the decoder stops there
    and complete_many writes the brace, two decoding steps fewer per candidate, the same answer."""
    finishes = []
    generate = BatchDecoder.generate

    def spy(self, *a, **k):
        gens = generate(self, *a, **k)
        finishes.extend(g.finish for g in gens)
        return gens

    monkeypatch.setattr(BatchDecoder, "generate", spy)
    backend.take_usage()
    early = [backend.complete_many(MESSAGES, n=1, seed=s, **KW)[0] for s in (1, 2, 3)]
    early_tokens = backend.take_usage()["completion_tokens"]
    assert finishes == ["complete"] * 3
    monkeypatch.setattr(local, "_written", lambda *a: None)  # as before: decoded until the model ends
    late = [backend.complete_many(MESSAGES, n=1, seed=s, **KW)[0] for s in (1, 2, 3)]
    assert backend.take_usage()["completion_tokens"] >= early_tokens + 3  # at least the brace each
    assert finishes[3:] == ["stop"] * 3
    assert [json.loads(x) for x in early] == [json.loads(x) for x in late]  # one candidate alone: same cells
    assert [x.replace(" ", "") for x in early] == [x.replace(" ", "") for x in late]
    many = backend.complete_many(OTHER, n=4, seed=9, **KW)
    assert all(parse_answer(raw)[0] is not None for raw in many)


class Pieces:
    """A tokenizer stand-in: token i is the i-th piece."""

    def __init__(self, *pieces):
        self.pieces = [p.encode() for p in pieces]

    def detokenize(self, tokens, prev_tokens=None):
        return b"".join(self.pieces[t] for t in tokens)


def test_written_needs_every_property_and_a_closed_string():
    two = {"type": "object", "properties": {"utterance": {"type": "string"}, "reply": {"type": "string"}}}
    llm = Pieces('Call', ' \\"', 'Sam', '."', ', "reply": "', 'OK', '"', ' \\')
    done = _written(two, '{"utterance": "', llm, [])
    assert not done([0]) and not done([0, 1])  # an escaped quote closes nothing
    assert not done([0, 1, 2, 3])  # the utterance is written, the reply is not
    assert not done([0, 1, 2, 3, 4, 5, 7])
    assert done([0, 1, 2, 3, 4, 5, 6])
    one = {"type": "object", "properties": {"utterance": {"type": "string"}}}
    done = _written(one, '{"utterance": "', llm, [])
    assert done([0, 3]) and not done([0, 1]) and done([0, 1, 2, 3])
    nested = {"type": "object", "properties": {"slots": {"type": "object"}, "utterance": {"type": "string"}}}
    llm = Pieces('{"a": "b"', '}, "utterance": "', 'Go', '"')
    done = _written(nested, '{"slots": ', llm, [])
    assert not done([0]) and not done([0, 1]) and done([0, 1, 2, 3])
    assert _written({"type": "string"}, "", llm, []) is None
    assert _written({**one, "additionalProperties": True}, "", llm, []) is None


def test_cut_at_the_first_stop_string():
    assert _cut('{"a": 1}<|im_end|>x', ["<|im_end|>"]) == '{"a": 1}'
    assert _cut('{"a": 1}', ["<|im_end|>"]) == '{"a": 1}'


@pytest.mark.slow
def test_a_kept_shared_prefix_never_makes_an_answer_depend_on_earlier_calls(backend):
    # shared=1: the system message stays in the KV cache between calls (what the text stage asks for);
    # an answer must still be the same whatever this worker wrote before (resume after kill -9)
    first = backend.complete_many(MESSAGES, n=3, seed=31, shared=1, **KW)
    backend.complete_many(OTHER, n=2, seed=4, shared=1, **KW)
    backend.complete_many(OTHER + [{"role": "assistant", "content": "{}"}, MESSAGES[1]], n=1, seed=4, shared=2,
                          **KW)  # a longer kept part in between
    assert backend.complete_many(MESSAGES, n=3, seed=31, shared=1, **KW) == first
    fresh = LocalLlamaBackend(threads=1)
    assert fresh.complete_many(MESSAGES, n=3, seed=31, shared=1, **KW) == first
    # the system message (about 30 tokens) is kept; the rest of the last prompt is held, but its last token
    prompt = backend._llm.tokenize(backend._formatter(messages=MESSAGES).prompt.encode(), add_bos=False,
                                   special=True)
    assert 10 < backend._decoder.kept < 50
    assert backend._decoder.cached == prompt[:-1]


@pytest.mark.slow
def test_another_attempt_at_a_held_prompt_answers_as_a_fresh_worker_would(backend):
    # the text stage's second attempt at an item: the same prompt, another seed; the worker holds the
    # prompt from the first attempt, a resumed build's fresh worker evaluates it again
    fresh = LocalLlamaBackend(threads=1)
    backend.complete_many(OTHER, n=2, seed=4, shared=1, **KW)
    backend.complete_many(MESSAGES, n=4, seed=40, shared=1, **KW)
    again = backend.complete_many(MESSAGES, n=4, seed=41, shared=1, **KW)
    assert fresh.complete_many(MESSAGES, n=4, seed=41, shared=1, **KW) == again
    backend.take_usage()
    # the held prompt is not counted as less: usage counts the prompt a request sends
    backend.complete_many(MESSAGES, n=4, seed=42, shared=1, **KW)
    assert backend.take_usage()["prompt_tokens"] == len(backend._decoder.cached) + 1


@pytest.mark.slow
def test_a_prefill_starts_every_answer_and_the_grammar_goes_on_from_it(backend):
    start = '{"utterance": "Could you'
    out = backend.complete_many(MESSAGES, n=3, seed=8, prefill=start, **KW)
    for raw in out:
        assert raw.startswith(start)
        data, reason = parse_answer(raw)
        assert data is not None, (reason, raw)
        jsonschema.validate(data, ANSWER_SCHEMA)
    # the prefill is part of the answer the seed gives: the same call gives it again
    assert backend.complete_many(MESSAGES, n=3, seed=8, prefill=start, **KW) == out
    with pytest.raises(ValueError, match="grammar"):  # the schema wants "utterance" first
        backend.complete_many(MESSAGES, n=1, seed=8, prefill='{"reply": "Sure', **KW)
    # the failed call left nothing behind
    assert backend.complete_many(MESSAGES, n=3, seed=8, prefill=start, **KW) == out


# an example of the item's intent between the shared system message and the request, as the text stage sends
EXAMPLE = [{"role": "user", "content": "Intent: set_temperature\n- temperature: 18 degrees"},
           {"role": "assistant", "content": '{"utterance": "Could you make it 18 degrees in here?", '
                                            '"reply": "Setting the cabin to 18 degrees."}'}]
WITH_EXAMPLE = [MESSAGES[0], *EXAMPLE, MESSAGES[1]]
OTHER_WITH_EXAMPLE = [MESSAGES[0], *EXAMPLE, {"role": "user", "content": "Intent: set_temperature\n- temperature: 25"}]
# a high temperature and room to wander: answers that depend on every KV value the prompt left
WANDER = dict(schema=ANSWER_SCHEMA, temperature=1.3, max_tokens=60)


def fresh_worker(monkeypatch, tmp_path):
    """A backend whose cache folder is empty: it evaluates every part, reads nothing from file."""
    folder = tmp_path / f"empty-cache-{len(list(tmp_path.glob('empty-cache-*')))}"
    monkeypatch.setenv("SCENAVOX_CACHE", str(folder))
    return LocalLlamaBackend(threads=1)


@pytest.mark.slow
def test_a_restored_example_answers_as_a_fresh_worker_that_evaluated_it(backend, monkeypatch, tmp_path):
    # grouped=3: the system message and the example recur in other items; the first call saves the
    # example's KV cells, the next one with the same example restores them instead of evaluating them
    backend.complete_many(OTHER_WITH_EXAMPLE, n=2, seed=9, shared=1, grouped=3, **WANDER)
    before = backend._decoder.restored
    restored = backend.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER)
    assert backend._decoder.restored == before + 1
    fresh = fresh_worker(monkeypatch, tmp_path)
    evaluated = fresh.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER)
    assert fresh._decoder.restored == 0
    assert restored == evaluated
    assert len(set(restored)) >= 3  # answers that differ: a wrong KV value would show
    # another kept part: the states saved after the old one are dropped, not restored
    read = backend._decoder.saved_read
    backend.complete_many([{"role": "system", "content": "Answer as JSON."}, *WITH_EXAMPLE[1:]], n=1, seed=3,
                          shared=1, grouped=3, **WANDER)
    assert backend._decoder.restored - (before + 1) == backend._decoder.saved_read - read  # none from memory


@pytest.mark.slow
def test_a_request_head_is_saved_with_the_example_and_restored_as_evaluated(monkeypatch, tmp_path):
    backend = fresh_worker(monkeypatch, tmp_path)  # its own saved states: the budget test counts the module's
    head = "Intent: set_temperature\n- temperature: "
    backend.complete_many(OTHER_WITH_EXAMPLE, n=2, seed=9, shared=1, grouped=3, grouped_head=head, **WANDER)
    dec = backend._decoder
    with_head = next(reversed(dec.states))  # the saved tokens: the example's, then the request's head
    backend.complete_many(WITH_EXAMPLE, n=2, seed=9, shared=1, grouped=3, **WANDER)
    without = next(reversed(dec.states))
    assert len(dec.states) == 2 and with_head[:len(without)] == without
    # the chat template's "<|im_start|>user\n", then "Intent: set_temperature\n- temperature:" (its last
    # space joins the value's first word)
    assert 8 <= len(with_head) - len(without) <= 16
    before = dec.restored
    third = [*WITH_EXAMPLE[:-1], {"role": "user", "content": head + "19 degrees"}]  # another prompt: not held
    restored = backend.complete_many(third, n=4, seed=21, shared=1, grouped=3, grouped_head=head, **WANDER)
    assert dec.restored == before + 1 and next(reversed(dec.states)) == with_head
    fresh = fresh_worker(monkeypatch, tmp_path)
    evaluated = fresh.complete_many(third, n=4, seed=21, shared=1, grouped=3, grouped_head=head, **WANDER)
    assert fresh._decoder.restored == 0 and restored == evaluated
    assert len(set(restored)) >= 3  # answers that differ: a wrong KV value would show
    # a head the request does not start with is not saved: the example alone is (restored)
    backend.complete_many(OTHER_WITH_EXAMPLE, n=1, seed=4, shared=1, grouped=3, grouped_head="Intent: play", **WANDER)
    assert dec.restored == before + 2 and next(reversed(dec.states)) == without


@pytest.mark.slow
def test_saved_states_stay_under_their_budget_and_the_oldest_goes_first(backend, monkeypatch):
    from scenavox.text import llama_batch

    first = backend.complete_many(WITH_EXAMPLE, n=2, seed=5, shared=1, grouped=3, **WANDER)
    one = len(backend._decoder.states[next(iter(backend._decoder.states))])
    monkeypatch.setattr(llama_batch, "STATES_MAX_BYTES", 2 * one)
    # shorter examples than the first: two of them fit the budget with it, not three
    others = [[MESSAGES[0], {"role": "user", "content": f"Intent: play_media\n- artist: Band {i}"},
               {"role": "assistant", "content": f'{{"utterance": "Play Band {i}.", "reply": "Playing."}}'},
               MESSAGES[1]] for i in range(3)]
    sizes = []
    for msgs in others:
        backend.complete_many(msgs, n=1, seed=1, shared=1, grouped=3, **WANDER)
        sizes.append(sum(len(b) for b in backend._decoder.states.values()))
    dec = backend._decoder
    assert one < sizes[0] <= 2 * one and sizes[1] < sizes[0] + one  # the first state went at the second other
    assert len(dec.states) == 2 and sum(len(b) for b in dec.states.values()) <= 2 * one
    before, read = dec.restored, dec.saved_read
    assert backend.complete_many(WITH_EXAMPLE, n=2, seed=5, shared=1, grouped=3, **WANDER) == first
    # its state went first: not restored from memory (evaluated again, or read from its file), the same answers
    assert dec.restored - before == dec.saved_read - read


@pytest.mark.slow
def test_the_k_cache_is_kept_in_8_bits_and_the_v_cache_in_16(backend):
    # the bytes a saved state holds per token: K in q8_0 (34 bytes per 32 values), V in f16 (2 per value)
    backend.complete_many(OTHER_WITH_EXAMPLE, n=1, seed=2, shared=1, grouped=3, **WANDER)
    dec, m = backend._decoder, backend._llm.metadata
    tokens = len(next(reversed(dec.states)))
    values = int(m["llama.block_count"]) * int(m["llama.attention.head_count_kv"]) \
        * int(m["llama.rope.dimension_count"])  # per token, in K or in V
    per_token = len(dec.states[next(reversed(dec.states))]) / tokens
    assert values * (34 / 32 + 2) <= per_token < values * (34 / 32 + 2) + 64  # a few bytes per cell: its position


@pytest.fixture
def kv_files(tmp_path, monkeypatch):
    """A cache folder of the test's own, and kept parts as short as this file's system message on file."""
    from scenavox.text import llama_batch

    monkeypatch.setenv("SCENAVOX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(llama_batch, "KEPT_FILE_MIN_TOKENS", 8)
    return tmp_path / "cache" / "llama-kv"


@pytest.mark.slow
def test_a_kept_part_read_from_its_file_answers_as_an_evaluated_one(kv_files):
    cold = LocalLlamaBackend(threads=1)
    evaluated = cold.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, **WANDER)
    assert cold._decoder.kept_read == 0
    files = list(kv_files.glob("kept-*.kv"))
    assert len(files) == 1 and not list(kv_files.glob("*.part"))
    warm = LocalLlamaBackend(threads=1)  # another worker, or the next run
    assert warm.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, **WANDER) == evaluated
    assert warm._decoder.kept_read == 1
    assert len(set(evaluated)) >= 3  # answers that differ: a wrong KV value would show
    # a damaged file is evaluated again (same answers) and written anew
    blob = bytearray(files[0].read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    files[0].write_bytes(bytes(blob))
    damaged = LocalLlamaBackend(threads=1)
    assert damaged.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, **WANDER) == evaluated
    assert damaged._decoder.kept_read == 0
    again = LocalLlamaBackend(threads=1)
    assert again.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, **WANDER) == evaluated
    assert again._decoder.kept_read == 1


@pytest.mark.slow
def test_kept_files_are_pruned_and_an_unwritable_cache_costs_only_the_evaluation(kv_files, tmp_path, monkeypatch):
    from scenavox.text import llama_batch

    monkeypatch.setattr(llama_batch, "KEPT_FILES_MAX", 2)
    b = LocalLlamaBackend(threads=1)
    for i in range(3):  # three system messages: three kept parts
        system = {"role": "system", "content": f"You write what driver number {i} says to the car, as JSON."}
        b.complete_many([system, MESSAGES[1]], n=1, seed=1, shared=1, **WANDER)
    assert len(list(kv_files.glob("kept-*.kv"))) == 2
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCENAVOX_CACHE", str(blocker / "cache"))
    nowhere = LocalLlamaBackend(threads=1)
    assert nowhere.complete_many(WITH_EXAMPLE, n=2, seed=5, shared=1, **WANDER) == \
        LocalLlamaBackend(threads=1).complete_many(WITH_EXAMPLE, n=2, seed=5, shared=1, **WANDER)
    # nor the bundled model's Q8_0 copy: the Q4_1 file answers, and the provenance's model says so
    assert nowhere.model == "SmolLM2-135M-Instruct-Q4_1" and nowhere._llm.model_path.endswith(".gguf")
    assert "q8_0" not in nowhere._llm.model_path


@pytest.mark.slow
def test_a_saved_example_read_from_its_file_answers_as_an_evaluated_one(kv_files, monkeypatch):
    from scenavox.text import llama_batch

    cold = LocalLlamaBackend(threads=1)
    evaluated = cold.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER)
    assert cold._decoder.saved_read == 0 and cold._decoder.restored == 0
    files = list(kv_files.glob("saved-*.kv"))
    assert len(files) == 1 and not list(kv_files.glob("*.part"))
    warm = LocalLlamaBackend(threads=1)  # another worker, or the next run: the kept part and the example from file
    assert warm.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER) == evaluated
    assert warm._decoder.kept_read == 1 and warm._decoder.saved_read == 1
    assert len(set(evaluated)) >= 3  # answers that differ: a wrong KV value would show
    # a damaged file is evaluated again (same answers) and written anew
    blob = bytearray(files[0].read_bytes())
    blob[len(blob) // 3] ^= 0xFF
    files[0].write_bytes(bytes(blob))
    damaged = LocalLlamaBackend(threads=1)
    assert damaged.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER) == evaluated
    assert damaged._decoder.saved_read == 0
    again = LocalLlamaBackend(threads=1)
    assert again.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER) == evaluated
    assert again._decoder.saved_read == 1
    # at most SAVED_FILES_MAX of them, the least recently used out; kept parts are counted apart
    monkeypatch.setattr(llama_batch, "SAVED_FILES_MAX", 2)
    for i in range(3):
        msgs = [MESSAGES[0], {"role": "user", "content": f"Intent: play_media\n- artist: Band {i}"},
                {"role": "assistant", "content": f'{{"utterance": "Play Band {i}.", "reply": "Playing."}}'},
                MESSAGES[1]]
        again.complete_many(msgs, n=1, seed=1, shared=1, grouped=3, **WANDER)
    assert len(list(kv_files.glob("saved-*.kv"))) == 2 and len(list(kv_files.glob("kept-*.kv"))) == 1


@pytest.mark.slow
def test_the_scenarios_utterance_cap_stops_decoding_there(backend):
    from scenavox.scenario import load_scenario
    from scenavox.text.stage import UTTERANCE_SCHEMA, TextStage, capped

    assert TextStage(load_scenario("car"), threads=1).schema["properties"]["utterance"]["maxLength"] == 72
    # a high temperature wanders: without the cap some answers run far past 24 characters
    free = backend.complete_many(MESSAGES, n=6, seed=8, schema=UTTERANCE_SCHEMA, temperature=1.3, max_tokens=ROOMY)
    assert max(len(json.loads(r)["utterance"]) for r in free) > 24
    out = backend.complete_many(MESSAGES, n=6, seed=8, schema=capped(UTTERANCE_SCHEMA, 24), temperature=1.3,
                                max_tokens=ROOMY)
    lengths = [len(json.loads(r)["utterance"]) for r in out]
    assert max(lengths) == 24 and sum(len(r) for r in out) < sum(len(r) for r in free)


@pytest.mark.slow
def test_a_saved_file_llama_cpp_refuses_is_removed_and_the_example_evaluated(kv_files):
    import hashlib

    evaluated = LocalLlamaBackend(threads=1).complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER)
    (path,) = kv_files.glob("saved-*.kv")
    data = path.read_bytes()[:-32]
    cut = data[: len(data) // 2]  # a torn state whose checksum holds: llama.cpp reads past its end and refuses it
    path.write_bytes(cut + hashlib.sha256(cut).digest())
    refused = LocalLlamaBackend(threads=1)
    assert refused.complete_many(WITH_EXAMPLE, n=4, seed=21, shared=1, grouped=3, **WANDER) == evaluated
    assert refused._decoder.saved_read == 0
    assert path.read_bytes()[:-32] == data  # evaluated again and written anew
