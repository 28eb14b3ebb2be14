"""``edgemcp schema lock`` / ``check``: tool schemas as contracts.

Nothing is mocked. The table test locks one base app (tests/apps/schema_base.py) and checks
each mutation of it twice: read in process as ``module:app``, and over HTTP from a real uvicorn
serving every variant. The official SDK's own server (tests/apps/schema_sdk.py) is locked and
checked over HTTP. Bad input runs the real command in a subprocess, which must end with one
line on stderr and exit 2, never a traceback.
"""

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from edgemcp import EdgeMCP
from edgemcp.cli import main
from edgemcp.schema import item_digest, surface_digest
from edgemcp.schema.changes import Change
from edgemcp.schema.compare import compare_surfaces
from edgemcp.schema.lock import build_lock, dumps, read_lock
from edgemcp.schema.schemadiff import SchemaDiff
from edgemcp.schema.surface import read_surface

from .apps.schema_base import CI_TOKEN, MUTATIONS
from .conftest import ROOT, TEST_SECRET, JSONHandler, Server, free_port, serve_http

BASE = "tests.apps.schema_base"
AUTH = ["--header", f"Authorization: Bearer {CI_TOKEN}"]


@dataclass(frozen=True)
class Case:
    mutation: str
    exit_code: int  # 1 breaking, 0 compatible
    item: str
    path: str
    says: str  # part of the message


BREAKING, COMPATIBLE = 1, 0
CASES = [
    Case("remove_tool", BREAKING, "tool 'delete_ticket'", "name", "tool removed"),
    Case("rename_param", BREAKING, "tool 'search_customers'", "inputSchema.properties.customer_email",
         "renamed customer_email -> email_address?"),
    Case("remove_optional_param", BREAKING, "tool 'search_customers'", "inputSchema.properties.region",
         "parameter 'region' removed"),
    Case("new_required_param", BREAKING, "tool 'search_customers'", "inputSchema.properties.account_id",
         "new required parameter 'account_id'"),
    Case("optional_made_required", BREAKING, "tool 'search_customers'", "inputSchema.properties.limit",
         "optional parameter 'limit' is now required"),
    Case("param_retyped", BREAKING, "tool 'create_ticket'", "inputSchema.properties.priority.type",
         "type changed from integer to string"),
    Case("enum_value_removed", BREAKING, "tool 'search_customers'", "inputSchema.properties.status.enum",
         'value "closed" removed'),
    Case("maximum_lowered", BREAKING, "tool 'search_customers'", "inputSchema.properties.limit.maximum",
         "upper bound lowered from 100 to 50"),
    Case("minimum_raised", BREAKING, "tool 'search_customers'", "inputSchema.properties.limit.minimum",
         "lower bound raised from 1 to 5"),
    Case("max_length_lowered", BREAKING, "tool 'create_ticket'", "inputSchema.properties.subject.maxLength",
         "maxLength lowered from 200 to 80"),
    Case("additional_properties_closed", BREAKING, "tool 'create_ticket'",
         "inputSchema.properties.address.additionalProperties", "additionalProperties closed"),
    Case("nested_ref_retyped", BREAKING, "tool 'create_ticket'", "inputSchema.properties.address.properties.zip.type",
         "type changed from string to integer"),
    Case("null_no_longer_accepted", BREAKING, "tool 'search_customers'", "inputSchema.properties.region",
         "null is no longer allowed"),
    Case("union_branch_removed", BREAKING, "tool 'delete_ticket'", "inputSchema.properties.ticket_id",
         "alternative integer removed"),
    Case("output_property_removed", BREAKING, "tool 'create_ticket'", "outputSchema.properties.eta_hours",
         "output property 'eta_hours' removed"),
    Case("output_property_retyped", BREAKING, "tool 'create_ticket'", "outputSchema.properties.ticket_id.type",
         "type changed from string to integer"),
    Case("output_enum_widened", BREAKING, "tool 'create_ticket'", "outputSchema.properties.status.enum",
         'value "escalated" added'),
    Case("output_nested_property_removed", BREAKING, "tool 'search_customers'",
         "outputSchema.properties.result.items.properties.email", "output property 'email' removed"),
    Case("output_now_nullable", BREAKING, "tool 'search_customers'",
         "outputSchema.properties.result.items.properties.name", "null is now allowed"),
    Case("read_only_now_destructive", BREAKING, "tool 'search_customers'", "annotations.readOnlyHint",
         "no longer read-only, now destructive"),
    Case("now_destructive", BREAKING, "tool 'create_ticket'", "annotations.destructiveHint", "now destructive"),
    Case("new_required_scope", BREAKING, "tool 'create_ticket'", "_meta.dev.edgemcp/scopes",
         "now requires scope tickets:admin"),
    Case("prompt_removed", BREAKING, "prompt 'triage'", "name", "prompt removed"),
    Case("prompt_new_required_argument", BREAKING, "prompt 'triage'", "arguments.agent",
         "new required argument 'agent'"),
    Case("resource_removed", BREAKING, "resource 'support://faq'", "uri", "resource removed"),
    Case("template_removed", BREAKING, "resource template 'support://tickets/{ticket_id}'", "uriTemplate",
         "resource template removed"),
    Case("new_tool", COMPATIBLE, "tool 'ticket_stats'", "name", "new tool"),
    Case("new_optional_param", COMPATIBLE, "tool 'search_customers'", "inputSchema.properties.page",
         "new optional parameter 'page'"),
    Case("enum_value_added", COMPATIBLE, "tool 'search_customers'", "inputSchema.properties.status.enum",
         'value "suspended" added'),
    Case("maximum_raised", COMPATIBLE, "tool 'search_customers'", "inputSchema.properties.limit.maximum",
         "upper bound raised from 100 to 500"),
    Case("required_made_optional", COMPATIBLE, "tool 'create_ticket'", "inputSchema.properties.subject",
         "parameter 'subject' is now optional"),
    Case("null_now_accepted", COMPATIBLE, "tool 'create_ticket'", "inputSchema.properties.priority",
         "null is now allowed"),
    Case("integer_widened_to_number", COMPATIBLE, "tool 'create_ticket'", "inputSchema.properties.priority.type",
         "type widened from integer to number"),
    Case("new_output_property", COMPATIBLE, "tool 'create_ticket'", "outputSchema.properties.assignee",
         "new output property 'assignee'"),
    Case("output_type_narrowed", COMPATIBLE, "tool 'create_ticket'", "outputSchema.properties.eta_hours.type",
         "type narrowed from number to integer"),
    Case("output_enum_narrowed", COMPATIBLE, "tool 'create_ticket'", "outputSchema.properties.status.const",
         'value "pending" removed'),
    Case("description_changed", COMPATIBLE, "tool 'create_ticket'", "description", "description changed"),
    Case("param_description_changed", COMPATIBLE, "tool 'search_customers'",
         "inputSchema.properties.customer_email.description", "description changed"),
    Case("placement_changed", COMPATIBLE, "tool 'search_customers'", "_meta.dev.edgemcp/placement",
         'from "edge" to "any"'),
    Case("cache_ttl_changed", COMPATIBLE, "tool 'search_customers'", "_meta.dev.edgemcp/cache", '"ttlMs":300000'),
    Case("new_prompt", COMPATIBLE, "prompt 'escalate'", "name", "new prompt"),
    Case("prompt_new_optional_argument", COMPATIBLE, "prompt 'triage'", "arguments.language",
         "new optional argument 'language'"),
    Case("new_resource", COMPATIBLE, "resource 'support://status'", "uri", "new resource"),
]


def test_every_mutation_has_a_case() -> None:
    assert sorted(c.mutation for c in CASES) == sorted(m for m in MUTATIONS if m != "base")
    assert sum(c.exit_code == BREAKING for c in CASES) >= 13 and sum(c.exit_code == COMPATIBLE for c in CASES) >= 12


# -- running the command ---------------------------------------------------------------------
def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``edgemcp schema ...`` through the real entry point, in this process (fast)."""
    with pytest.raises(SystemExit) as exited:
        main(["schema", *args])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def run_subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m edgemcp schema ...`` as a user runs it (cwd: the repository)."""
    return subprocess.run([sys.executable, "-m", "edgemcp", "schema", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # The in-process reader sets a secret when there is none; keep that out of this process.
    monkeypatch.setenv("EDGEMCP_SECRET", TEST_SECRET)


@pytest.fixture(scope="module")
def base_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lock") / "mcp.lock.json"
    done = run_subprocess("lock", f"{BASE}:app", "-o", str(path), *AUTH)
    assert done.returncode == 0, done.stderr
    assert "3 tools, 1 prompt, 1 resource, 1 resource template" in done.stdout
    return path


@pytest.fixture(scope="module")
def variants() -> Iterator[Server]:
    """Every mutation served over HTTP by one uvicorn: ``/<mutation>/mcp``."""
    server = Server(f"{BASE}:served")
    yield server
    server.stop()


def variant_url(server: Server, mutation: str) -> str:
    return f"http://127.0.0.1:{server.port}/{mutation}/mcp"


# -- the table -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.mutation for c in CASES])
def test_mutation_from_module(case: Case, base_lock: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(capsys, "check", f"{BASE}:{case.mutation}", "--lock", str(base_lock), *AUTH)
    assert (code, err) == (case.exit_code, ""), out
    kind = "BREAKING" if case.exit_code == BREAKING else "compatible"
    lines = [line for line in out.splitlines() if f"{case.item}  {case.path}: " in line and case.says in line]
    assert lines and lines[0].startswith(kind), out
    if case.exit_code == COMPATIBLE:
        assert "BREAKING" not in out


@pytest.mark.parametrize("case", CASES, ids=[c.mutation for c in CASES])
def test_mutation_over_http(case: Case, base_lock: Path, variants: Server, capsys: pytest.CaptureFixture[str]) -> None:
    url = variant_url(variants, case.mutation)
    code, out, err = run_in_process(capsys, "check", url, "--lock", str(base_lock), "--format", "json", *AUTH)
    assert (code, err) == (case.exit_code, ""), out
    report = json.loads(out)
    assert report["breaking"] is (case.exit_code == BREAKING)
    kind = "breaking" if case.exit_code == BREAKING else "compatible"
    assert any(c == {"kind": kind, "item": case.item, "path": case.path, "message": c["message"]}
               and case.says in c["message"] for c in report["changes"]), report["changes"]


def test_unchanged_app_is_compatible_both_ways(base_lock: Path, variants: Server,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for target in (f"{BASE}:base", variant_url(variants, "base")):
        code, out, _ = run_in_process(capsys, "check", target, "--lock", str(base_lock), *AUTH)
        assert (code, out.strip()) == (0, f"No changes: the surface matches {base_lock}.")


# -- one app, any route: the same lock -------------------------------------------------------
def test_lock_over_http_equals_lock_from_module(base_lock: Path, tmp_path: Path) -> None:
    server = Server(f"{BASE}:app")
    try:
        over_http = tmp_path / "http.lock.json"
        done = run_subprocess("lock", server.url, "-o", str(over_http), *AUTH)
        assert done.returncode == 0, done.stderr
        assert over_http.read_bytes() == base_lock.read_bytes()
    finally:
        server.stop()


async def test_both_protocol_eras_give_the_same_lock(base_lock: Path, variants: Server) -> None:
    url, headers = variant_url(variants, "base"), {"authorization": f"Bearer {CI_TOKEN}"}
    async with httpx.AsyncClient() as client:
        modern = await read_surface(client, url, headers, era="modern")
        handshake = await read_surface(client, url, headers, era="handshake")
    assert (modern.protocol_version, handshake.protocol_version) == ("2026-07-28", "2025-11-25")
    assert build_lock(handshake.server, handshake.lists) == build_lock(modern.server, modern.lists)
    assert dumps(build_lock(modern.server, modern.lists)) == await anyio.Path(base_lock).read_text()


# -- the official SDK's own server -----------------------------------------------------------
@pytest.fixture(scope="module")
def sdk_server() -> Iterator[Server]:
    server = Server("tests.apps.schema_sdk:app")
    yield server
    server.stop()


def test_lock_and_check_the_official_sdk_server(sdk_server: Server, tmp_path: Path) -> None:
    lock = tmp_path / "sdk.lock.json"
    done = run_subprocess("lock", sdk_server.url, "-o", str(lock))
    assert done.returncode == 0, done.stderr
    document = read_lock(lock)
    assert document["server"] == {"name": "schema-sdk", "version": "2.1.0"}
    assert sorted(document["tools"]) == ["cancel_order", "find_order"]
    assert document["tools"]["find_order"]["definition"]["annotations"] == {"readOnlyHint": True}
    assert [a["name"] for a in document["prompts"]["summarise_orders"]["definition"]["arguments"]] == [
        "customer", "since"]
    assert list(document["resources"]) == ["orders://recent"]
    assert list(document["resourceTemplates"]) == ["orders://{order_id}/invoice"]
    checked = run_subprocess("check", sdk_server.url, "--lock", str(lock))
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stdout
    assert checked.stdout.startswith("No changes")


async def test_the_sdk_server_in_the_handshake_era(sdk_server: Server) -> None:
    """The stateful SDK server answers the handshake era with SSE streams and a session,
    which the reader ends with DELETE; the lock is the one 2026-07-28 gives."""
    seen: list[tuple[str, str, str]] = []

    async def record(response: httpx.Response) -> None:
        seen.append((response.request.method, response.headers.get("content-type", ""),
                     response.request.headers.get("mcp-session-id", "")))

    async with httpx.AsyncClient(event_hooks={"response": [record]}) as client:
        handshake = await read_surface(client, sdk_server.url, era="handshake")
    async with httpx.AsyncClient() as client:
        modern = await read_surface(client, sdk_server.url, era="modern")
    assert build_lock(handshake.server, handshake.lists) == build_lock(modern.server, modern.lists)
    assert any(kind.startswith("text/event-stream") for _, kind, _ in seen), seen
    method, _, session = seen[-1]
    assert method == "DELETE" and session and session == seen[2][2], seen


async def test_every_page_is_read() -> None:
    app = EdgeMCP("paged", page_size=2)
    for n in range(5):
        app.tool(name=f"tool_{n}")(lambda: "x")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi())) as client:
        for era in ("modern", "handshake"):
            surface = await read_surface(client, "http://localhost/mcp", era=era)
            assert [t["name"] for t in surface.lists["tools"]] == [f"tool_{n}" for n in range(5)]


# -- output formats and --allow-breaking -----------------------------------------------------
def test_github_format_annotates_the_lock(base_lock: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_in_process(capsys, "check", f"{BASE}:remove_tool", "--lock", str(base_lock),
                                  "--format", "github", *AUTH)
    assert code == 1
    assert out.splitlines()[0] == (
        f"::error file={base_lock},title=Breaking MCP schema change::"
        "tool 'delete_ticket' name: tool removed (clients that use it break)")


def test_allow_breaking_rewrites_the_lock(base_lock: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "mcp.lock.json"
    lock.write_bytes(base_lock.read_bytes())
    target = f"{BASE}:rename_param"
    code, out, _ = run_in_process(capsys, "check", target, "--lock", str(lock), "--allow-breaking", *AUTH)
    assert code == 0
    assert "renamed customer_email -> email_address?" in out
    assert "bump the server version from 1.4.0 to 2.0.0" in out
    assert "email_address" in read_lock(lock)["tools"]["search_customers"]["definition"]["inputSchema"]["properties"]
    code, out, _ = run_in_process(capsys, "check", target, "--lock", str(lock), *AUTH)
    assert (code, out.strip()) == (0, f"No changes: the surface matches {lock}.")


# -- bad input: one line on stderr, exit 2, no traceback --------------------------------------
def assert_usage_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr, done.stderr


@pytest.mark.parametrize(("content", "says"), [
    (None, "cannot read lock"),
    ("{not json", "is not valid JSON (line 1"),
    ('{"lockVersion": 7}', "lockVersion is 7, expected 1"),
    ("edited", "does not match its digest (edited by hand?)"),
])
def test_bad_lock(content: str | None, says: str, base_lock: Path, tmp_path: Path) -> None:
    lock = tmp_path / "mcp.lock.json"
    if content == "edited":  # a reviewer "fixes" a bound in the lock instead of in the code
        text = base_lock.read_text()
        assert '"maximum": 100' in text
        lock.write_text(text.replace('"maximum": 100', '"maximum": 1000'))
    elif content is not None:
        lock.write_text(content)
    assert_usage_error(run_subprocess("check", f"{BASE}:app", "--lock", str(lock), *AUTH), says)


class _NotMCP(JSONHandler):
    """A web server that is not an MCP server: an HTML page for everything."""

    def do_POST(self) -> None:
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_url_that_is_not_an_mcp_server(tmp_path: Path) -> None:
    web = serve_http(_NotMCP)
    try:
        url = f"http://127.0.0.1:{web.server_address[1]}/mcp"
        assert_usage_error(run_subprocess("lock", url, "-o", str(tmp_path / "x.json")),
                           "does not look like an MCP server")
    finally:
        web.shutdown()
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(("args", "says"), [
    (["lock", "tests.apps.no_such_module:app"], "cannot import tests.apps.no_such_module (from tests.apps.no_such_module:app)"),
    (["lock", f"{BASE}:no_such_app"], f"module {BASE} has no attribute 'no_such_app'"),
    (["lock", f"{BASE}:app"], "HTTP 401 on server/discover"),  # scoped app, no credentials
    (["lock", f"{BASE}:app", "--header", "Bearer s3cret-value"], "--header #1 must look like 'Name: value'"),
    (["lock", "ftp://example.com/mcp"], "only http:// and https:// URLs are supported"),
    (["check", f"{BASE}:app", "--format", "xml"], "invalid choice: 'xml'"),
])
def test_bad_target_or_arguments(args: list[str], says: str, tmp_path: Path) -> None:
    done = run_subprocess(*args, *(["-o", str(tmp_path / "x.json")] if args[0] == "lock" else []))
    assert_usage_error(done, says)
    assert "s3cret-value" not in done.stdout + done.stderr


def test_nothing_listening(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    assert_usage_error(run_subprocess("lock", url, "-o", str(tmp_path / "x.json")), "cannot reach")


# -- the comparator on schemas the apps above do not produce ----------------------------------
TREE = {"$defs": {"Node": {"type": "object", "properties": {
    "label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
    "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}}


def _retyped_tree() -> dict[str, Any]:
    tree = json.loads(json.dumps(TREE))
    tree["$defs"]["Node"]["properties"]["label"] = {"type": "integer"}
    return tree


SCHEMA_CASES: list[tuple[str, Any, Any, str, list[tuple[str, str]]]] = [
    # (name, old, new, direction, [(kind, path)] expected, exactly)
    ("recursive $ref, unchanged", TREE, TREE, "input", []),
    ("recursive $ref, leaf retyped", TREE, _retyped_tree(), "input",
     [("breaking", "s.properties.root.properties.label.type")]),
    ("draft-7 definitions", {"definitions": {"A": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/A"}}},
     {"definitions": {"A": {"type": "string", "maxLength": 5}}, "properties": {"a": {"$ref": "#/definitions/A"}}},
     "input", [("breaking", "s.properties.a.maxLength")]),
    ("remote $ref is never fetched", {"$ref": "https://example.com/a.json"}, {"$ref": "https://example.com/b.json"},
     "input", [("breaking", "s")]),
    ("remote $ref unchanged", {"$ref": "https://example.com/a.json"}, {"$ref": "https://example.com/a.json"}, "input", []),
    ("type list and anyOf null are one thing", {"type": ["string", "null"]},
     {"anyOf": [{"type": "string"}, {"type": "null"}]}, "input", []),
    ("OpenAPI nullable dropped", {"type": "string", "nullable": True}, {"type": "string"}, "input",
     [("breaking", "s")]),
    ("draft-4 boolean exclusiveMaximum", {"type": "number", "maximum": 10},
     {"type": "number", "maximum": 10, "exclusiveMaximum": True}, "input", [("breaking", "s.maximum")]),
    ("exclusive bound made inclusive", {"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0},
     "input", [("compatible", "s.minimum")]),
    ("multipleOf 2 -> 4", {"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 4}, "input",
     [("breaking", "s.multipleOf")]),
    ("multipleOf 4 -> 2", {"type": "integer", "multipleOf": 4}, {"type": "integer", "multipleOf": 2}, "input",
     [("compatible", "s.multipleOf")]),
    ("pattern added", {"type": "string"}, {"type": "string", "pattern": "^[a-z]+$"}, "input",
     [("breaking", "s.pattern")]),
    ("array items narrowed", {"type": "array", "items": {"type": "number"}}, {"type": "array", "items": {"type": "integer"}},
     "input", [("breaking", "s.items.type")]),
    ("minItems raised", {"type": "array", "minItems": 0}, {"type": "array", "minItems": 1}, "input",
     [("breaking", "s.minItems")]),
    ("oneOf branch added", {"oneOf": [{"type": "string"}, {"type": "integer"}]},
     {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}, "input", [("compatible", "s")]),
    ("output property no longer required", {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
     {"type": "object", "properties": {"a": {"type": "string"}}}, "output", [("breaking", "s.properties.a")]),
    ("output additionalProperties closed", {"type": "object"}, {"type": "object", "additionalProperties": False},
     "output", [("compatible", "s.additionalProperties")]),
]


@pytest.mark.parametrize(("old", "new", "direction", "expected"), [c[1:] for c in SCHEMA_CASES],
                         ids=[c[0] for c in SCHEMA_CASES])
def test_schema_comparison(old: Any, new: Any, direction: Any, expected: list[tuple[str, str]]) -> None:
    changes: list[Change] = SchemaDiff("tool 't'", direction, old, new, "s").run()
    assert [(c.kind, c.path) for c in changes] == expected, changes


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({}, {"execution": {"taskSupport": "required"}}, ("breaking", "execution.taskSupport")),
    ({"execution": {"taskSupport": "required"}}, {"execution": {"taskSupport": "optional"}},
     ("compatible", "execution.taskSupport")),
    ({"_meta": {"dev.edgemcp/dryRun": True}}, {}, ("breaking", "_meta.dev.edgemcp/dryRun")),
    ({"_meta": {"dev.edgemcp/scopes": ["a", "b"]}}, {"_meta": {"dev.edgemcp/scopes": ["a"]}},
     ("compatible", "_meta.dev.edgemcp/scopes")),
    ({"_meta": {"dev.edgemcp/rateLimit": {"limit": 5, "periodSeconds": 60, "per": "agent"}}},
     {"_meta": {"dev.edgemcp/rateLimit": {"limit": 1, "periodSeconds": 60, "per": "agent"}}},
     ("compatible", "_meta.dev.edgemcp/rateLimit")),
    ({"outputSchema": {"type": "object"}}, {}, ("breaking", "outputSchema")),
], ids=["task support required", "task support relaxed", "dry run withdrawn", "scope dropped",
        "rate limit tightened", "output schema removed"])
def test_tool_policy_changes(old: dict[str, Any], new: dict[str, Any], expected: tuple[str, str]) -> None:
    def lock(**fields: Any) -> dict[str, Any]:
        tool = {"name": "t", "inputSchema": {"type": "object"}, **fields}
        return build_lock({"name": "s", "version": "1"}, {"tools": [tool]})

    changes = compare_surfaces(lock(**old), lock(**new))
    assert [(c.kind, c.path) for c in changes] == [expected], changes


# -- the lock document and its digests -------------------------------------------------------
def _canonical_sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_digests_are_sha256_of_canonical_json() -> None:
    tool = {"name": "café", "inputSchema": {"type": "object", "required": ["b", "a"]}}
    assert item_digest(tool) == _canonical_sha256({"name": "café", "inputSchema": {"type": "object",
                                                                                     "required": ["a", "b"]}})
    # What one response adds (and the digest itself) is not part of the contract.
    stamped = {**tool, "_meta": {"io.modelcontextprotocol/serverInfo": {}, "dev.edgemcp/schemaDigest": "x"}}
    assert item_digest(stamped) == item_digest(tool)
    assert item_digest({**tool, "_meta": {"dev.edgemcp/placement": "edge"}}) != item_digest(tool)
    digests = {"tools": {"a": "sha256:1", "b": "sha256:2"}}
    assert surface_digest(digests) == _canonical_sha256(digests)
    assert surface_digest({"prompts": {}, "tools": {"b": "sha256:2", "a": "sha256:1"}}) == surface_digest(digests)


def test_lock_is_stable_under_reordering() -> None:
    def tool(name: str, required: list[str]) -> dict[str, Any]:
        return {"name": name, "inputSchema": {"type": "object", "required": required,
                                              "properties": {"x": {"type": "string"}, "y": {}}}}

    forward = [tool(n, ["x", "y"]) for n in ("a", "b", "c")]
    backward = [dict(reversed(tool(n, ["y", "x"]).items())) for n in ("c", "b", "a")]
    server = {"name": "s", "version": "1"}
    text = dumps(build_lock(server, {"tools": forward}))
    assert text == dumps(build_lock(server, {"tools": backward}))
    # Readable in review: sorted keys, two-space indent, one key per line.
    assert text.startswith('{\n  "digest": "sha256:') and '\n  "lockVersion": 1,\n' in text


# ----- version skew at run time: the digests on every list ----------------------------------


async def list_result(app: EdgeMCP, method: str = "tools/list") -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi()), base_url="http://localhost") as http:
        response = await http.post("/mcp", headers={
            "accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28",
            "mcp-method": method}, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}})
    result: dict[str, Any] = response.json()["result"]
    return result


def digest_app(description: str) -> EdgeMCP:
    app = EdgeMCP("digests", secret=TEST_SECRET, audit=False, page_size=1)

    @app.tool(description=description)
    def lookup(customer_email: str) -> str:
        return customer_email

    @app.tool()
    def other(n: int) -> int:
        return n

    @app.prompt()
    def greet(name: str) -> str:
        return name

    return app


async def test_list_results_carry_the_digests_a_lock_holds() -> None:
    app = digest_app("Find a customer.")
    first = await list_result(app)
    tool = first["tools"][0]
    # Per tool: the same digest `edgemcp schema lock` records for it.
    assert tool["_meta"]["dev.edgemcp/schemaDigest"] == item_digest(tool)
    # Per list: one digest for all of it, the same on every page (page_size=1 here).
    whole = first["_meta"]["dev.edgemcp/schemaDigest"]
    assert whole.startswith("sha256:") and "nextCursor" in first
    prompts = await list_result(app, "prompts/list")
    assert prompts["_meta"]["dev.edgemcp/schemaDigest"] != whole
    # A changed tool changes both its digest and the list's.
    changed = await list_result(digest_app("Find a customer by email."))
    assert changed["tools"][0]["_meta"]["dev.edgemcp/schemaDigest"] != tool["_meta"]["dev.edgemcp/schemaDigest"]
    assert changed["_meta"]["dev.edgemcp/schemaDigest"] != whole
    assert (await list_result(digest_app("Find a customer.")))["_meta"]["dev.edgemcp/schemaDigest"] == whole
