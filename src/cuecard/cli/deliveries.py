"""`cuecard deliveries run`: the webhook delivery worker on its own.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from cuecard.cli._common import needs_server

app = typer.Typer(help="Deliver webhook events.", no_args_is_help=True)


@app.command("run")
@needs_server
def deliveries_run(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
) -> None:
    """Run the webhook delivery worker alone (`cuecard serve` runs one in every process too).

    Any number of these and of servers may share one PostgreSQL database: each delivery is
    claimed by one of them. Stops on SIGTERM or Ctrl-C after the attempts in flight.
    """
    import asyncio
    import signal

    from cuecard.cli import _server
    from cuecard.core.db import Database
    from cuecard.webhooks.delivery import DeliveryWorker

    settings = _server.settings()
    key = _server.secret_key(settings)

    async def go() -> int:
        db = await Database.connect(settings.database_url)
        worker = DeliveryWorker(db, settings, key)
        try:
            if once:
                return await worker.run_once()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            typer.echo("Delivering webhook events; Ctrl-C stops.", err=True)
            await worker.run(stop)
            return 0
        finally:
            await worker.close()
            await db.close()

    sent = _server.guard(go())
    if once:
        typer.echo(f"Sent {sent} deliveries.", err=True)
