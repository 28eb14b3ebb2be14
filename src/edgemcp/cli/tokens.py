"""``edgemcp tokens add|revoke``: bearer tokens kept in an app's store. Each change names
the store it was written to and is refused on ``memory://``; the token itself is never
printed."""

import argparse

from .common import UsageError, refuse_memory, resolve_store, shown
from .tools import APP_HELP, STORE_HELP, Target, opened


def add_tokens_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    tokens = commands.add_parser("tokens", help="bearer tokens kept in the store")
    tokens.add_argument("action", choices=["add", "revoke"])
    tokens.add_argument("token")
    tokens.add_argument("--agent", help="agent id (add)")
    tokens.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    tokens.add_argument("--store", help=STORE_HELP)
    tokens.add_argument("--app", help=APP_HELP)


async def run_tokens(args: argparse.Namespace) -> int:
    from ..guards import BearerTokens
    from ..store import Keyspace

    if not args.app:
        raise UsageError("--app is required: module:attribute, or the app's name")
    if args.action == "add" and not args.agent:
        raise UsageError("tokens add needs --agent")
    target = Target(args.app)
    url = resolve_store(args.store)
    refuse_memory(url)
    async with opened(url) as store:
        tokens = BearerTokens(keyspace=Keyspace(store, target.namespace))
        if args.action == "add":
            await tokens.add(args.agent, args.token, args.scope)
        else:
            await tokens.revoke(args.token)
    where = f"in {shown(url)} for {target.describe()}"
    print(f"token added for agent {args.agent} {where}" if args.action == "add" else f"token revoked {where}")
    return 0
