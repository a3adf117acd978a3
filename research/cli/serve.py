"""`hems research serve --data DIR [--host H] [--port P] [--cert FILE --key FILE] [--k K] [--workers N]`."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "serve"
HELP = "receive the boxes' telemetry (HTTPS; the box's endpoint is https://HOST:PORT/v1)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the server's data directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="port (default 8443)")
    parser.add_argument("--cert", help="TLS certificate chain (PEM)")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument(
        "--k", type=int, default=5, help="smallest released postcode-prefix group (default 5)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving requests, one per core to spare (default 1); a token's rate limit is "
        "shared out among them",
    )


def run(args: argparse.Namespace) -> int:
    from research.server import ServeOptions, serve

    opts = ServeOptions(
        Path(args.data),
        host=args.host,
        port=args.port,
        cert=Path(args.cert) if args.cert else None,
        key=Path(args.key) if args.key else None,
        k=args.k,
        workers=args.workers,
    )
    opts.check()
    serve(opts)
    return 0
