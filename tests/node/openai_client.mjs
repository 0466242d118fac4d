// The official openai npm client against berth: a plain and a streamed completion,
// models.list(), and an error. berth's URL, a user token and what the answers must hold come
// from the environment (tests/chat_e2e drives this). Exits non-zero on the first mismatch.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.BERTH_URL + "/v1",
  apiKey: process.env.BERTH_TOKEN,
  maxRetries: 0,
  timeout: 120_000,
});
const expected = process.env.EXPECTED_REPLY;
const messages = [{ role: "user", content: "say something" }];

const models = [];
for await (const model of client.models.list()) models.push(model.id);
assert.deepEqual(models, JSON.parse(process.env.EXPECTED_MODELS));

const plain = await client.chat.completions.create({ model: "openclaw", messages });
assert.equal(plain.choices[0].message.content, expected);
assert.ok(plain.usage && plain.usage.total_tokens > 0, "usage in the plain answer");

const stream = await client.chat.completions.create({
  model: process.env.STREAM_MODEL,
  messages,
  stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let pieces = 0;
let usage = null;
for await (const chunk of stream) {
  const delta = chunk.choices[0]?.delta?.content;
  if (delta) {
    text += delta;
    pieces += 1;
  }
  if (chunk.usage) usage = chunk.usage;
}
assert.equal(text, process.env.EXPECTED_STREAM_REPLY);
assert.ok(pieces > 1, `the stream came in pieces (${pieces})`);
assert.ok(usage && usage.total_tokens > 0, "usage at the end of the stream");

let error = null;
try {
  await client.chat.completions.create({ model: "no-such-model", messages });
} catch (e) {
  error = e;
}
assert.ok(error instanceof OpenAI.BadRequestError, `a BadRequestError, got ${error}`);
assert.equal(error.status, 400);
assert.equal(error.type, "invalid_request_error");
assert.match(error.message, /valid models: openclaw/);

console.log(JSON.stringify({ models, plain: plain.choices[0].message.content, text, pieces, error: error.message }));
