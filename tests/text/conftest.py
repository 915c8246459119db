import pytest

from scenavox.scenario import parse_scenario

SCENARIO = """
name: mini-openai
description: A tiny test scenario for the openai backend.
languages:
  - language: en
    weight: 1
    accents: [{{accent: en-US, weight: 1}}]
intents:
  - name: set_temperature
    slots:
      temperature: {{number: {{min: 18, max: 24, unit: degrees}}}}
  - name: call_contact
    slots:
      contact: {{values: [Mom, Sarah, David]}}
privacy: {{cloud_upload: {cloud}}}
text:
  backend: openai
  model: {model}
  base_url: {base_url}
  structured_output: {mode}
  concurrency: {concurrency}
  request_timeout_s: {timeout}
  max_retries: {retries}
  max_attempts: {attempts}
  judge: {{enabled: false}}  # the server's canned answers test the transport; the gate is tested in test_gate.py
voices: {{registry: {registry}}}
qa: {{enabled: false}}
size: {{n: {n}}}
"""


@pytest.fixture
def make_scenario(tmp_path, fake_registry):
    """make_scenario(base_url, **overrides) -> a Scenario using the openai backend and sine-wave voices."""

    def make(base_url: str, *, model: str = "test-model", mode: str = "json_object", concurrency: int = 4,
             timeout: float = 10.0, retries: int = 2, attempts: int = 2, n: int = 6, cloud: bool = False,
             extra: str = ""):
        text = SCENARIO.format(base_url=base_url, model=model, mode=mode, concurrency=concurrency, timeout=timeout,
                               retries=retries, attempts=attempts, n=n, cloud=str(cloud).lower(),
                               registry=fake_registry) + extra
        path = tmp_path / "mini-openai.yaml"
        path.write_text(text)
        return parse_scenario(text, path)

    return make
