"""``edgemcp router --upstream NAME=URL [--upstream ...] [--route GLOB=NAME ...]``: serve a
gateway under uvicorn (the parser is in ``edgemcp.cli``)."""

import argparse
import sys


def run_router(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("edgemcp router needs uvicorn: pip install 'edgemcp[server]'", file=sys.stderr)
        return 2
    from .config import build_router

    try:
        router = build_router(args.upstream, routes=args.route, prefixes=args.prefix,
                              fail_closed=args.fail_closed, timeout=args.timeout)
    except ValueError as exc:
        print(f"edgemcp router: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(router, host=args.host, port=args.port, log_level="info", lifespan="on")
    return 0
