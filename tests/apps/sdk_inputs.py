"""Asking the client for input from an ``MCPServer`` tool or prompt, in either protocol era,
with the official Python SDK's public API (used by tests/apps/sdk_conformance_server.py).

On a handshake session (2024-11-05 .. 2025-11-25) ``Inputs.ask`` sends each question
(``elicitation/create``, ``sampling/createMessage``, ``roots/list``) as a request on the
call's own SSE stream and waits for the reply, which the SDK routes back through the session
held in this process. On 2026-07-28 it returns an ``InputRequiredResult`` (MRTR) instead,
whose ``requestState`` carries the answers so far; the SDK's ``RequestStateBoundary`` seals
it on the way out and refuses a tampered echo before the tool runs again.
"""

import json
from typing import Any

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    ClientCapabilities,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitationCapability,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequest,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    RootsCapability,
    SamplingCapability,
    SamplingMessage,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel

Answers = dict[str, dict[str, Any]]


def elicitation(message: str, schema: dict[str, Any]) -> ElicitRequest:
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def sampling(prompt: str, max_tokens: int) -> CreateMessageRequest:
    text = TextContent(type="text", text=prompt)
    return CreateMessageRequest(
        params=CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=text)], max_tokens=max_tokens
        )
    )


def roots() -> ListRootsRequest:
    return ListRootsRequest()


def required_capability(request: InputRequest) -> ClientCapabilities:
    if isinstance(request, ElicitRequest):
        return ClientCapabilities(elicitation=ElicitationCapability())
    if isinstance(request, CreateMessageRequest):
        return ClientCapabilities(sampling=SamplingCapability())
    return ClientCapabilities(roots=RootsCapability())


def declared(ctx: Context, request: InputRequest) -> bool:
    capabilities = ctx.client_capabilities or ClientCapabilities()
    if isinstance(request, ElicitRequest):
        return capabilities.elicitation is not None
    if isinstance(request, CreateMessageRequest):
        return capabilities.sampling is not None
    return capabilities.roots is not None


class Inputs:
    """The client's answers one call has so far.

    2026-07-28: answers come from this round's ``inputResponses`` plus the ones carried in
    ``requestState`` from earlier rounds; a question not yet answered makes ``ask`` return an
    ``InputRequiredResult`` the tool hands back as its result. Handshake era: ``ask`` sends
    each question as a request on the call's stream and waits for the reply.
    """

    def __init__(self, ctx: Context, **state: Any) -> None:
        """``state`` is the first round's; later rounds see only what came back in requestState."""
        self.ctx = ctx
        self.modern = is_version_at_least(ctx.protocol_version or "", "2026-07-28")
        # requestState is plaintext here: the SDK's RequestStateBoundary sealed it when it
        # left and refused the call if the echo was not byte-for-byte what it sealed.
        carried = json.loads(ctx.request_state) if ctx.request_state else {}
        first_round = not (ctx.request_state or ctx.input_responses)
        self.state: dict[str, Any] = dict(state) if first_round else carried.get("state", {})
        self.answers: Answers = carried.get("answers", {})

    async def ask(self, questions: dict[str, InputRequest]) -> Answers | InputRequiredResult:
        for request in questions.values():
            if not declared(self.ctx, request):
                # Never rely on a capability the client did not declare (-32021, HTTP 400).
                data = MissingRequiredClientCapabilityErrorData(
                    required_capabilities=required_capability(request)
                )
                raise MCPError(
                    code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                    message=f"This tool needs the client capability for {request.method}",
                    data=data.model_dump(by_alias=True, mode="json", exclude_none=True),
                )
        if self.modern:
            return self.from_rounds(questions)
        for key, request in questions.items():
            self.answers[key] = await self.send(request)
        return {key: self.answers[key] for key in questions}

    def from_rounds(self, questions: dict[str, InputRequest]) -> Answers | InputRequiredResult:
        # Only answers to questions asked are taken: extra keys in inputResponses are ignored.
        for key, answer in (self.ctx.input_responses or {}).items():
            if key in questions and key not in self.answers:
                self.answers[key] = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
        missing = {key: request for key, request in questions.items() if key not in self.answers}
        if missing:
            state = json.dumps({"answers": self.answers, "state": self.state}, separators=(",", ":"))
            return InputRequiredResult(input_requests=missing, request_state=state)
        return {key: self.answers[key] for key in questions}

    async def send(self, request: InputRequest) -> dict[str, Any]:
        # related_request_id routes the request onto this call's SSE stream.
        metadata = ServerMessageMetadata(related_request_id=self.ctx.request_context.request_id)
        result_type: type[BaseModel] = (
            ElicitResult if isinstance(request, ElicitRequest)
            else CreateMessageResult if isinstance(request, CreateMessageRequest)
            else ListRootsResult
        )
        answer = await self.ctx.request_context.session.send_request(request, result_type, metadata=metadata)
        return answer.model_dump(by_alias=True, mode="json", exclude_none=True)


def content_of(answer: dict[str, Any]) -> dict[str, Any]:
    """An elicitation answer's form content ({} when declined or cancelled)."""
    content = answer.get("content")
    return content if isinstance(content, dict) else {}


def text_of(answer: dict[str, Any]) -> str:
    """A sampling answer's text."""
    content = answer.get("content")
    return str(content.get("text", "")) if isinstance(content, dict) else ""
