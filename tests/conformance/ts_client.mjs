// Drive an MCP server with the official TypeScript SDK v1 client and print what it saw
// as one JSON object, for tests/test_typescript_sdk.py to check.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const url = new URL(process.argv[2]);
const client = new Client(
  { name: "edgemcp-ts-test", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: {} } },
);
client.setRequestHandler(CreateMessageRequestSchema, async () => ({
  role: "assistant",
  content: { type: "text", text: "Paris, from the TypeScript client" },
  model: "test-model",
  stopReason: "endTurn",
}));
client.setRequestHandler(ElicitRequestSchema, async () => ({
  action: "accept",
  content: { username: "ts-user", email: "ts@example.com" },
}));
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);

const logs = [];
client.fallbackNotificationHandler = async (notification) => {
  if (notification.method === "notifications/message") logs.push(notification.params.data);
};
await client.setLoggingLevel("info");

const out = {
  protocolVersion: transport.protocolVersion,
  sessionId: transport.sessionId,
  server: client.getServerVersion(),
  tools: (await client.listTools()).tools.map((t) => t.name),
  simple: await client.callTool({ name: "test_simple_text", arguments: {} }),
  sampling: await client.callTool({ name: "test_sampling", arguments: { prompt: "Capital of France?" } }),
  elicitation: await client.callTool({ name: "test_elicitation", arguments: { message: "Who are you?" } }),
  logging: await client.callTool({ name: "test_tool_with_logging", arguments: {} }),
  resource: await client.readResource({ uri: "test://template/7/data" }),
  prompt: await client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } }),
  completion: await client.complete({
    ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
    argument: { name: "arg1", value: "par" },
  }),
};
out.logs = logs;
await transport.terminateSession();
await client.close();
console.log(JSON.stringify(out));
