"""Any OpenAI-compatible chat server (OpenAI, vLLM, SGLang, the llama.cpp server, Ollama)
through the official `openai` client.

- The API key comes from the environment variable named by `text.api_key_env`; it is never
  written to a file, a record or a log.
- Structured output: `json_schema` (OpenAI, vLLM, SGLang), `json_object` with the schema
  attached (what the llama.cpp Python server understands; it answers HTTP 500 to
  `json_schema`) or `none` (plain text, parsed and validated by the stage).
- Retries: tenacity, jittered exponential backoff on 408/409/429, 5xx, timeouts and
  connection errors. The client's own retries are off (max_retries=0) so they don't multiply.
- Privacy: when the scenario forbids cloud upload, a base URL that is not loopback or a
  private address is refused before any request.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from ...errors import UserError
from . import BackendRequestError, UsageMeter, candidate_seed

INSTALL_HINT = "pip install openai tenacity"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 429}


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def is_private_url(url: str) -> bool:
    """True when every address the URL's host names is loopback, private or link-local."""
    host = urlsplit(url).hostname or ""
    addrs = _addresses(host) if host else []
    return bool(addrs) and all(a.is_loopback or a.is_private or a.is_link_local for a in addrs)


def check_privacy(base_url: str, cloud_upload: bool) -> None:
    if cloud_upload or is_private_url(base_url):
        return
    host = urlsplit(base_url).hostname or base_url
    raise UserError(
        f"text.base_url: {base_url} is not on this machine or a private network (host '{host}'), and the "
        "scenario forbids cloud upload (privacy.cloud_upload: false). Point text.base_url at a local or "
        "private server (e.g. http://127.0.0.1:8000/v1), or set privacy.cloud_upload: true if sending the "
        "prompts to that server is allowed"
    )


def resolve_base_url(base_url: str | None) -> str:
    return (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


class OpenAIBackend(UsageMeter):
    name = "openai"
    remote = True
    config_fields = ("base_url", "api_key_env", "structured_output", "request_timeout_s", "max_retries")

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        structured_output: str = "json_schema",
        request_timeout_s: float = 60.0,
        max_retries: int = 6,
        cloud_upload: bool = False,
        retry_min_wait_s: float = 0.5,
        retry_max_wait_s: float = 20.0,
        **_: Any,
    ):
        if not model:
            raise UserError(
                "text.model: the openai backend needs the model name the server serves "
                "(e.g. gpt-4o-mini, or the --model of a vLLM / llama.cpp server); give it in the scenario or --model"
            )
        if structured_output not in ("json_schema", "json_object", "none"):
            raise UserError(f"text.structured_output: '{structured_output}'; use json_schema, json_object or none")
        self.model = model
        self.base_url = resolve_base_url(base_url)
        check_privacy(self.base_url, cloud_upload)  # before any client exists, let alone a request
        self.api_key_env = api_key_env
        self.structured_output = structured_output
        self.timeout = float(request_timeout_s)
        self.max_retries = int(max_retries)
        self.retry_min_wait_s = retry_min_wait_s
        self.retry_max_wait_s = retry_max_wait_s
        self._client: Any = None
        self._n_supported: bool | None = None  # does the server honour `n`? learned on the first best-of-n call

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_client"] = None
        return state

    def load(self) -> None:
        if self._client is not None:
            return
        try:
            import openai
            import tenacity  # noqa: F401
        except ImportError:
            raise UserError(f"the openai text backend needs the openai and tenacity packages; {INSTALL_HINT}") from None
        key = os.environ.get(self.api_key_env)
        if not key:
            if not is_private_url(self.base_url):
                raise UserError(
                    f"the openai text backend needs an API key for {self.base_url}: set the environment variable "
                    f"{self.api_key_env} (text.api_key_env names it)"
                )
            key = "not-needed"  # local servers usually take any key
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=self.timeout)

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        if self.structured_output == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        if self.structured_output == "json_object":
            return {"type": "json_object", "schema": schema}
        return None

    def complete(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
        resp = self._create(messages, schema=schema, seed=seed, temperature=temperature, max_tokens=max_tokens)
        if not resp.choices:
            return ""
        return resp.choices[0].message.content or ""

    def complete_many(self, messages, *, n, schema, seed, temperature, max_tokens) -> list[str]:  # noqa: ANN001
        """n candidates through the API's `n` (one request; the server samples them, so candidate i
        need not equal complete(seed=candidate_seed(seed, i))). A server that answers with fewer
        choices (the llama.cpp Python server ignores n) or refuses n gets the missing candidates one
        request each, with the candidate seeds; it is not asked with n again."""
        kw = dict(schema=schema, temperature=temperature, max_tokens=max_tokens)
        got: list[str] = []
        if n > 1 and self._n_supported is not False:
            try:
                resp = self._create(messages, seed=seed, n=n, **kw)
            except _NRefused:
                self._n_supported = False
            else:
                got = [c.message.content or "" for c in sorted(resp.choices, key=lambda c: c.index)]
                self._n_supported = len(got) >= n
        # one answer to `seed` is candidate 0 (candidate_seed(seed, 0) == seed): only the rest are asked for
        for i in range(len(got), n):
            got.append(self.complete(messages, seed=candidate_seed(seed, i), **kw))
        self.count(candidates=n)
        return got[:n]

    def _create(self, messages, *, schema, seed, temperature, max_tokens, n: int = 1) -> Any:  # noqa: ANN001
        import openai
        from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

        self.load()
        kwargs: dict[str, Any] = dict(
            model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        if n > 1:
            kwargs["n"] = n
        fmt = self._response_format(schema)
        if fmt is not None:
            kwargs["response_format"] = fmt

        def before_sleep(state: Any) -> None:
            self.count(retries=1)

        retrying = Retrying(
            retry=retry_if_exception(_transient),
            wait=wait_random_exponential(multiplier=self.retry_min_wait_s, max=self.retry_max_wait_s),
            stop=stop_after_attempt(self.max_retries + 1),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.count(requests=1)
                    resp = self._client.chat.completions.create(**kwargs)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise UserError(
                f"{self.base_url} refused the API key from ${self.api_key_env}: {_short(exc)}"
            ) from None
        except openai.NotFoundError as exc:
            raise UserError(f"text.model: {self.base_url} does not serve model '{self.model}': {_short(exc)}") from None
        except openai.APIStatusError as exc:
            if self.structured_output == "json_schema" and exc.status_code in (400, 422, 500) and "json_schema" in str(
                exc
            ):
                raise UserError(
                    f"{self.base_url} does not accept response_format json_schema (HTTP {exc.status_code}); "
                    "set text.structured_output: json_object (the llama.cpp server) or none"
                ) from None
            if n > 1 and exc.status_code in (400, 422):
                raise _NRefused() from None
            raise BackendRequestError(f"HTTP {exc.status_code} after {self._tries()}: {_short(exc)}") from None
        except (openai.APIConnectionError, openai.APIResponseValidationError, RetryError) as exc:
            raise BackendRequestError(f"{type(exc).__name__} after {self._tries()}: {_short(exc)}") from None
        usage = getattr(resp, "usage", None)
        if usage is not None:
            self.count(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0)
        return resp

    def _tries(self) -> str:
        n = self.max_retries + 1
        return f"{n} tr{'y' if n == 1 else 'ies'}"


class _NRefused(Exception):
    """The server answered HTTP 400/422 to a request with n > 1."""


def _transient(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        if "json_schema" in str(exc) and exc.status_code == 500:
            return False  # llama.cpp server's answer to an unsupported response_format: retrying cannot help
        return exc.status_code >= 500 or exc.status_code in RETRY_STATUS
    return False


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."
