"""``oaklake serve``: the recommendations API (``oaklake.server``) under uvicorn, one process."""

from __future__ import annotations

import gc
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

from oaklake.cli import _lake, fail, workspace_option

# Thread pools that numpy/scipy/implicit may start. Several BLAS threads per request make a
# server's tail latency worse (they fight the event loop and each other for two cores).
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class _Stop(Exception):
    """SIGINT/SIGTERM after uvicorn's graceful shutdown (or before it started)."""


def one_blas_thread() -> None:
    """One BLAS thread for this process: the variables work if numpy is not imported yet,
    threadpoolctl limits the pools already loaded."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on ([server] host; 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port ([server] port; 8080; 0 = any free).")
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve without an API key (only on a trusted machine or network).",
)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How often to look for newly trained versions and serve them ([server] "
    "reload_interval; 5; 0 = keep the version loaded at start).",
)
@workspace_option
def serve(
    host: str | None,
    port: int | None,
    no_auth: bool,
    reload_interval: float | None,
    workspace: Path | None,
) -> None:
    """Serve recommendations over HTTP: Personalize's runtime API plus PutEvents.

    The API key comes from OAKLAKE_API_KEY or [server] api_key in oaklake.toml (a literal or
    { env = "NAME" }); without one the server refuses to start unless --no-auth is given.
    Ctrl-C or SIGTERM stops it after writing the events still queued.
    """
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    lake: Any = None
    try:
        try:
            from oaklake.errors import ConfigError
            from oaklake.server.settings import KEY_ENV, server_settings

            lake = _lake(workspace)
            conf = server_settings(lake.settings)
            key = None if no_auth else conf.api_key()
            if key is None and not no_auth:
                raise ConfigError(
                    "no API key is configured, so the server would answer anyone",
                    code="API_KEY_REQUIRED",
                    hint=f'set {KEY_ENV}, or add api_key = {{ env = "NAME" }} under [server] in '
                    "oaklake.toml; or pass --no-auth on a trusted machine",
                )
            # Before numpy is imported (by the app), and only once the server will really run.
            one_blas_thread()
            # The event writer commits to Iceberg from a thread; a 1 ms GIL switch interval
            # (default 5) hands the GIL back to the request loop sooner: p99 ~20 -> ~12 ms then.
            sys.setswitchinterval(0.001)
            server = _server(
                lake,
                key,
                host or conf.host,
                conf.port if port is None else port,
                conf.reload_interval if reload_interval is None else reload_interval,
            )
        except _Stop:
            raise
        except Exception as e:
            raise fail(e) from None
        if no_auth:
            click.echo("warning: --no-auth: the API answers anyone who can reach it", err=True)
        try:
            server.run()
        except _Stop:
            pass
        except SystemExit:  # uvicorn exits when it cannot listen; it logged why
            pass
        if not server.started:
            raise click.exceptions.Exit(2)  # uvicorn said why (e.g. the port is taken)
    except _Stop:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if lake is not None:
            lake.close()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def _server(lake: Any, key: str | None, host: str, port: int, reload_interval: float) -> Any:
    import uvicorn

    from oaklake.server.app import create_app

    class Server(uvicorn.Server):
        """Says where it listens (uvicorn says so only at info level, which is too chatty)."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                # Everything loaded so far (the models, the libraries) lives as long as the
                # process: out of the collector's sight, a full collection no longer walks it
                # while requests wait.
                gc.collect()
                gc.freeze()
                for server in self.servers:
                    for sock in server.sockets:
                        h, p = sock.getsockname()[:2]
                        click.echo(f"oaklake API listening on http://{h}:{p}", err=True)

    app = create_app(lake, api_key=key, preload=True, reload_interval=reload_interval)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    return Server(config)
