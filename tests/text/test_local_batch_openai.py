"""The openai backend's complete_many: the API's `n` where the server honours it, single requests
with the candidate seeds where it ignores or refuses it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scenavox.text.backends import candidate_seed, complete_many
from scenavox.text.backends.openai_backend import OpenAIBackend
from scenavox.text.bundled import bundled_gguf
from scenavox.text.stage import ANSWER_SCHEMA

from .servers import FakeOpenAI, LlamaServer

MESSAGES = [
    {"role": "system", "content": "You write what a driver says to the car's voice assistant, as JSON."},
    {"role": "user", "content": "Intent: call_contact\n- contact: Sarah"},
]
KW = dict(schema=ANSWER_SCHEMA, temperature=0.8, max_tokens=120)


class NServer:
    """Answers n choices per request (as vLLM or OpenAI do), or HTTP 400 to any n > 1 when `refuse_n`."""

    def __init__(self, refuse_n: bool = False):
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.bodies.append(body)
                n = body.get("n", 1)
                if refuse_n and n > 1:
                    code, payload = 400, {"error": {"message": "n > 1 is not supported", "type": "invalid_request"}}
                else:
                    code, payload = 200, {
                        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                        "choices": [{"index": i, "finish_reason": "stop", "message": {
                            "role": "assistant",
                            "content": json.dumps({"utterance": f"call Sarah {body['seed']}/{i}", "reply": "Calling."})}}
                            for i in reversed(range(n))],  # out of order: the backend sorts by index
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5 * n, "total_tokens": 10 + 5 * n}}
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def backend(url: str) -> OpenAIBackend:
    return OpenAIBackend(model="m", base_url=url, structured_output="json_object", max_retries=0)


def test_a_server_that_honours_n_gets_one_request():
    srv = NServer()
    try:
        b = backend(srv.url)
        out = complete_many(b, MESSAGES, n=3, seed=7, **KW)
        assert [json.loads(o)["utterance"] for o in out] == [f"call Sarah 7/{i}" for i in range(3)]
        assert len(srv.bodies) == 1 and srv.bodies[0]["n"] == 3 and srv.bodies[0]["seed"] == 7
        assert b.take_usage() == {"requests": 1, "candidates": 3, "prompt_tokens": 10, "completion_tokens": 15}
    finally:
        srv.close()


def test_a_server_that_refuses_n_gets_single_requests_with_the_candidate_seeds_and_is_not_asked_again():
    srv = NServer(refuse_n=True)
    try:
        b = backend(srv.url)
        out = b.complete_many(MESSAGES, n=3, seed=7, **KW)
        assert len(out) == 3
        seeds = [candidate_seed(7, i) for i in range(3)]
        assert [(x.get("n", 1), x["seed"]) for x in srv.bodies] == [(3, 7)] + [(1, s) for s in seeds]
        srv.bodies.clear()
        b.complete_many(MESSAGES, n=2, seed=9, **KW)
        assert [(x.get("n", 1), x["seed"]) for x in srv.bodies] == [(1, 9), (1, candidate_seed(9, 1))]
    finally:
        srv.close()


def test_a_server_that_ignores_n_keeps_its_one_answer_as_candidate_0():
    with FakeOpenAI() as fake:  # answers one choice whatever n says, as the llama.cpp Python server does
        b = backend(fake.url)
        out = b.complete_many(MESSAGES, n=3, seed=7, **KW)
        assert [(x.get("n", 1), x["seed"]) for x in fake.bodies] == [(3, 7), (1, candidate_seed(7, 1)),
                                                                      (1, candidate_seed(7, 2))]
        assert out[0] == b.complete(MESSAGES, seed=7, **KW)
        assert b.take_usage()["requests"] == 4


@pytest.mark.slow
def test_the_llama_cpp_server_gives_n_answers(tmp_path):
    server = LlamaServer(bundled_gguf(), log=tmp_path / "server.log").start()
    try:
        b = backend(server.url)
        out = b.complete_many(MESSAGES, n=3, seed=5, **KW)
        assert len(out) == 3
        # (not parsed here: the server's grammar lets raw newlines into strings, see local.py)
        assert all(raw.lstrip().startswith("{") for raw in out)
        assert len(set(out)) >= 2  # the candidates had different seeds
        usage = b.take_usage()
        assert usage["requests"] == 3 and usage["candidates"] == 3 and usage["completion_tokens"] > 0
        assert b._n_supported is False  # it ignored n: the next best-of-n call asks one candidate per request
    finally:
        server.stop()
