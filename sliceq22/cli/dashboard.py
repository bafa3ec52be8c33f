"""``sliceq22 dashboard``: optuna-dashboard on a study storage, on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys

from sliceq22.cli import add_storage_argument
from sliceq22.errors import Sliceq22Error

#: optuna-dashboard's own default port.
DEFAULT_PORT = 8080


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value} is not a port number (0-65535; 0 picks a free one)"
        )
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dashboard``."""
    parser = subparsers.add_parser(
        "dashboard",
        help="open the studies of a storage in optuna-dashboard (on 127.0.0.1)",
        description="Serve optuna-dashboard for the study storage on 127.0.0.1 until Ctrl-C. "
        "With NAME, check that the study exists and print its page. The server listens only "
        "on this machine; reach it from elsewhere through an SSH tunnel "
        "(ssh -L PORT:127.0.0.1:PORT HOST). Opening it never creates tables; optuna-dashboard "
        "itself can write notes and delete studies from its pages.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="a study to check and link to")
    add_storage_argument(parser)
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.set_defaults(handler=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    import warnings
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import optuna

    from sliceq22.search.storage import mask_url, open_storage, resolve_storage

    try:
        import optuna_dashboard
    except ImportError:
        raise Sliceq22Error(
            "optuna-dashboard is not installed (pip install optuna-dashboard)"
        ) from None

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(args.storage, create=False)
    page = "dashboard/"
    if args.name is not None:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
        names = sorted(s.study_name for s in summaries)
        if args.name not in names:
            known = ", ".join(names) or "none"
            raise Sliceq22Error(f"no study named {args.name!r} in this storage (studies: {known})")
        page = f"dashboard/studies/{storage.get_study_id_from_name(args.name)}"

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True  # Ctrl-C does not wait for a browser's open connections

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would bury everything else on stderr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna-dashboard's notices about optional features
        app = optuna_dashboard.wsgi(storage)
    try:
        server = make_server(
            "127.0.0.1", args.port, app, server_class=Server, handler_class=QuietHandler
        )
    except OSError as exc:
        raise Sliceq22Error(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc} "
            "(give another --port, or 0 for a free one)"
        ) from None
    port = server.server_address[1]
    print(
        f"optuna-dashboard for {mask_url(resolve_storage(args.storage))}: "
        f"http://127.0.0.1:{port}/{page}  (Ctrl-C stops it)",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        sys.stdout.flush()
    return 0
