// The official openai npm client against berth's LLM gateway for a user whose budget has no room:
// berth's 429 must surface as the client's RateLimitError carrying berth's code and message.
// The gateway's URL and the agent's key come from the environment (tests/http drives this).
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.GATEWAY_URL,
  apiKey: process.env.AGENT_KEY,
  maxRetries: 0,
  timeout: 30_000,
});
let error = null;
try {
  await client.chat.completions.create({
    model: "gpt-4o",
    max_tokens: 1000,
    messages: [{ role: "user", content: "hi" }],
  });
} catch (e) {
  error = e;
}
assert.ok(error instanceof OpenAI.RateLimitError, `a RateLimitError, got ${error}`);
assert.equal(error.status, 429);
assert.equal(error.code, "budget_exceeded");
console.log(JSON.stringify({ status: error.status, code: error.code, message: error.message }));
