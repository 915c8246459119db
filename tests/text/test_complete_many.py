"""The best-of-n contract: a backend without a batched call gets n single calls with the candidate seeds."""

from scenavox.text.backends import candidate_seed, complete_many


class _OneAtATime:
    name = "one"
    model = "m"

    def __init__(self):
        self.seeds = []

    def complete(self, messages, *, schema, seed, temperature, max_tokens):
        self.seeds.append(seed)
        return f'{{"seed": {seed}}}'


def test_fallback_asks_once_per_candidate_with_the_candidate_seeds():
    backend = _OneAtATime()
    out = complete_many(backend, [{"role": "user", "content": "x"}], n=3, schema={}, seed=11,
                        temperature=0.7, max_tokens=8)
    assert backend.seeds == [11, candidate_seed(11, 1), candidate_seed(11, 2)]
    assert out == [f'{{"seed": {s}}}' for s in backend.seeds]
    assert len(set(backend.seeds)) == 3
