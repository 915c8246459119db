"""`scenavox ...`: a thin command line over the library."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import UserError


class _Group(click.Group):
    """Turns UserError into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished items are saved; rerun the same command to resume", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scenavox")
def main() -> None:
    """scenavox: scenario-first synthetic speech corpora."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@main.command()
@click.option("--scenario", "-s", required=True, help="A name from prompts/ (e.g. car) or a path to a .yaml file.")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Utterances to generate [scenario size.n].")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=None, help="Random seed [scenario seed].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder [outputs/<scenario name>].")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Cores to use; 0 runs everything in this process [all cores].")
@click.option("--text-backend", type=click.Choice(["local", "fake", "openai"]), default=None,
              help="Override the scenario's text.backend (fake: no model, for trying the pipeline; "
                   "openai: any OpenAI-compatible server).")
@click.option("--model", default=None, help="Override text.model (a GGUF path for local, a model name for openai).")
@click.option("--base-url", default=None, help="Override text.base_url for the openai backend "
                                               "(e.g. http://127.0.0.1:8000/v1).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def corpus(scenario: str, n: int | None, seed: int | None, out: Path | None, workers: int | None,
           text_backend: str | None, model: str | None, base_url: str | None, quiet: bool) -> None:
    """Build (or resume) a corpus for a scenario."""
    from .pipeline import build, format_summary
    from .scenario import load_scenario

    sc = load_scenario(scenario).with_text(backend=text_backend, model=model, base_url=base_url)
    result = build(sc, n=n, seed=seed, out=out, workers=workers, progress=not quiet)
    click.echo(format_summary(result.summary))
    if result.dataset:
        click.echo(f"dataset: {result.dataset}")
    else:
        click.echo("no clip passed; nothing exported (see quarantine.jsonl)", err=True)
        sys.exit(1)


@main.command()
def scenarios() -> None:
    """List the scenarios in prompts/."""
    from .scenario import available_scenarios, load_scenario

    for name in available_scenarios():
        sc = load_scenario(name)
        first = sc.description.strip().splitlines()[0]
        click.echo(f"{name:14s} {first}")


@main.command()
@click.argument("scenario")
def validate(scenario: str) -> None:
    """Check a scenario file and print what it will produce."""
    from .scenario import load_scenario
    from .voice.stage import VoicePlanner

    sc = load_scenario(scenario)
    VoicePlanner(sc, sc.seed)
    accents = ", ".join(f"{a} {w:.0%}" for a, w in sc.accent_weights.items())
    click.echo(f"{sc.source_path}: ok: {len(sc.intents)} intents, accents {accents}, n={sc.size.n}")


@main.group()
def voices() -> None:
    """The voice registry."""


@voices.command("list")
@click.option("--scenario", "-s", default=None, help="Show the voices a scenario would use and their shares.")
def voices_list(scenario: str | None) -> None:
    from collections import Counter

    from .scenario import load_scenario
    from .voice.registry import load_registry
    from .voice.stage import VoicePlanner

    if scenario is None:
        for v in load_registry("default"):
            click.echo(f"{v.id:24s} {v.backend:7s} {v.accent:12s} {v.gender:7s} {v.licence}")
        return
    sc = load_scenario(scenario)
    planner = VoicePlanner(sc, sc.seed)
    shares = Counter()
    for accent, k in planner.schedule(sc.size.n):
        shares[planner.by_accent[accent][k % len(planner.by_accent[accent])].id] += 1
    for v in planner.voices:
        click.echo(f"{v.id:24s} {v.backend:7s} {v.accent:12s} {shares[v.id] / sc.size.n:6.1%}")


# HF_HUB_OFFLINE as the user set it, before `main` defaults it to 1 for the offline commands.
_USER_HF_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE")


@main.command()
@click.option("--scenario", "-s", required=True, help="The scenario whose corpus to publish (name or .yaml path).")
@click.option("--repo", required=True, help="Hub dataset id, namespace/name (e.g. my-org/car-commands).")
@click.option("--public", is_flag=True, help="Create the repo public [private]. An existing repo keeps its visibility.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder (or its dataset/ folder) [outputs/<scenario name>].")
@click.option("--message", "-m", default=None, help="Commit message.")
def publish(scenario: str, repo: str, public: bool, out: Path | None, message: str | None) -> None:
    """Push the exported dataset to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    from .publish.hub import check_folder, check_repo_id, default_folder, publish_folder
    from .scenario import load_scenario

    check_repo_id(repo)
    folder = check_folder(default_folder(load_scenario(scenario).name, out))
    if (_USER_HF_HUB_OFFLINE or "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
        raise UserError("HF_HUB_OFFLINE is set: unset it to publish to the Hub")
    os.environ["HF_HUB_OFFLINE"] = "0"  # main() defaulted it to 1; publishing is the one online command
    result = publish_folder(folder, repo, private=not public, commit_message=message)
    visibility = "private" if result.private else "public"
    extra = f", removed {len(result.deleted)} old shard(s)" if result.deleted else ""
    click.echo(f"published {folder} to {result.url} ({visibility}, commit {(result.commit or '?')[:12]}{extra})")
    if not result.created and result.private == public:
        click.echo(f"note: {result.repo_id} already existed and stays {visibility}; change its visibility in the "
                   "repo settings on the Hub", err=True)


if __name__ == "__main__":
    main()
