"""Every ``_meta`` key edgemcp reads or writes, and its vendor prefix, in one place.

Keys under ``io.modelcontextprotocol/`` are the spec's; keys under ``dev.edgemcp/`` are
edgemcp's own (vendor metadata goes under a reverse-DNS prefix, as the spec asks).
"""

from typing import Final

# -- the spec's (2026-07-28 per-request metadata, and the results' server info) ----------
PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
PROGRESS_TOKEN: Final = "progressToken"
# The tasks extension (SEP-2663): its id, declared under ``extensions`` in the client's
# per-request capabilities (``_meta[CLIENT_CAPABILITIES]``) and in the server's.
TASKS_EXTENSION: Final = "io.modelcontextprotocol/tasks"
# W3C trace context carried inside a request (SEP-414).
TRACE_CONTEXT: Final = ("traceparent", "tracestate", "baggage")

# -- edgemcp's ---------------------------------------------------------------------------
VENDOR: Final = "dev.edgemcp/"
# On tool definitions: where the tool may run, its result cache policy, what it requires.
PLACEMENT: Final = VENDOR + "placement"
CACHE: Final = VENDOR + "cache"  # also on results: hit, miss, bypass... (see guards.cache)
SCOPES: Final = VENDOR + "scopes"
RATE_LIMIT: Final = VENDOR + "rateLimit"
DRY_RUN: Final = VENDOR + "dryRun"  # also on a request: "run this as a dry run"
TASK: Final = VENDOR + "task"  # the tool's task support: {"support", "ttlMs", "pollIntervalMs"}
# On requests and results.
IDEMPOTENCY_KEY: Final = VENDOR + "idempotencyKey"
IDEMPOTENCY: Final = VENDOR + "idempotency"  # "replayed" on a replayed result
CORRELATION_ID: Final = VENDOR + "correlationId"
# On a tool definition: its contract's digest (as `edgemcp schema lock` records it); on a
# list result: the digest of the whole list, so a client or gateway notices a changed server.
SCHEMA_DIGEST: Final = VENDOR + "schemaDigest"
