// A handshake-era-only upstream for the router tests: the official TypeScript SDK v1 server
// (McpServer + stateful StreamableHTTPServerTransport, sessions in this process), which does
// not speak 2026-07-28. Prints {"url": ...} once it listens on 127.0.0.1.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ElicitResultSchema, isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

function build() {
  const server = new McpServer({ name: "ts-handshake-upstream", version: "1.0.0" },
    { capabilities: { logging: {} } });
  server.registerTool("ts_echo", { description: "Echo a text", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text: `ts says: ${text}` }] }));
  server.registerTool("ts_ask", { description: "Ask the user a question", inputSchema: { question: z.string() } },
    async ({ question }, extra) => {
      // Both on this call's own stream (related to the request), not the session's GET stream.
      await extra.sendNotification({ method: "notifications/message",
        params: { level: "info", data: `asking: ${question}` } });
      const answer = await extra.sendRequest({ method: "elicitation/create", params: {
        message: question,
        requestedSchema: { type: "object", properties: { reply: { type: "string" } }, required: ["reply"] },
      } }, ElicitResultSchema);
      return { content: [{ type: "text", text: `answered ${answer.action}: ${answer.content?.reply ?? ""}` }] };
    });
  return server;
}

const transports = new Map();
const http = createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  const parsed = body ? JSON.parse(body) : undefined;
  const sessionId = req.headers["mcp-session-id"];
  let transport = sessionId ? transports.get(sessionId) : undefined;
  if (!transport) {
    if (sessionId || !isInitializeRequest(parsed)) {
      res.writeHead(sessionId ? 404 : 400, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "no session" } }));
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    await build().connect(transport);
  }
  await transport.handleRequest(req, res, parsed);
});
http.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${http.address().port}/mcp` }));
});
