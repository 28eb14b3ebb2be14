"""``edgemcp schema``: the lock document and its digests."""

import hashlib
import json
from typing import Any

from edgemcp.schema import item_digest, surface_digest
from edgemcp.schema.lock import build_lock, dumps


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
