"""``strongroom agent --config FILE``."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from strongroom.cli.agent import config as agent_config
from strongroom.cli.agent.runner import Agent
from strongroom.cli.failures import reports_failures


@reports_failures
def agent(
    config: Annotated[Path, typer.Option("--config", help="The agent's TOML configuration.", dir_okay=False)],
    once: Annotated[bool, typer.Option("--once", help="Render every template once, then exit (1 if any failed).")]
    = False,
) -> None:
    """Keep an access token valid and render secrets into files from templates, until SIGTERM."""
    runner = Agent(agent_config.load(config))

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        runner.log(f"received {signal.Signals(signum).name}, stopping")
        runner.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    raise typer.Exit(runner.run(once=once))


def register(app: typer.Typer) -> None:
    app.command("agent")(agent)
