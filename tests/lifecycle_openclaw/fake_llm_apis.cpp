#include "lifecycle_openclaw/fake_llm_apis.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "lifecycle_openclaw/fake_llm.hpp"

namespace berth::testing::fake_llm {
namespace {

using nlohmann::json;

// One SSE event: its `event:` name and its `data:` JSON (which also gets the name as "type").
using Event = std::pair<std::string, json>;
// Sends one event; false once the peer is gone.
using EventSender = std::function<bool(const std::string& type, json data)>;

// A streamed answer: the events before the text, one event per piece of the text, and the
// events after it.
struct EventScript {
  std::vector<Event> opening;
  std::string delta_type;
  std::function<json(const std::string& piece)> delta;
  std::vector<Event> closing;
};

bool SendEvent(FakeExchange& exchange, const std::string& type, json data) {
  data["type"] = type;
  return exchange.Chunk("event: " + type + "\ndata: " + data.dump() + "\n\n");
}

// The whole chunked text/event-stream answer, each piece of the reply after the chunk gap (as
// the chat completions stream does); it stops where the peer goes away.
void Stream(const Ask& ask, const EventScript& script, FakeExchange& exchange,
            const EventSender& send) {
  exchange.StartChunked(200, "text/event-stream");
  for (const auto& [type, data] : script.opening) {
    if (!send(type, data)) return;
  }
  for (const std::string& piece : FakeLlm::Pieces(ask.model)) {
    std::this_thread::sleep_for(ask.chunk_gap);
    if (!send(script.delta_type, script.delta(piece))) return;
  }
  for (const auto& [type, data] : script.closing) {
    if (!send(type, data)) return;
  }
  exchange.EndChunked();
}

// `base` with the members of `more` added.
json With(json base, const json& more) {
  base.update(more);
  return base;
}

// --- OpenAI Responses ---------------------------------------------------------------------

json ResponsesUsage() {
  return {{"input_tokens", kInputTokens},
          {"input_tokens_details", {{"cached_tokens", 0}}},
          {"output_tokens", kOutputTokens},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", kInputTokens + kOutputTokens}};
}

json OutputText(const std::string& text) {
  return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
}

std::string MessageItemId(const Ask& ask) { return "msg_fake_" + ask.id_suffix; }

// The one output item: the assistant's message.
json MessageItem(const Ask& ask, const std::string& status, json content) {
  return {{"id", MessageItemId(ask)},
          {"type", "message"},
          {"status", status},
          {"role", "assistant"},
          {"content", std::move(content)}};
}

json CompletedMessageItem(const Ask& ask) {
  return MessageItem(ask, "completed", json::array({OutputText(FakeLlm::Reply(ask.model))}));
}

// The response object: as response.created announces it (in progress, no output, no usage
// yet) or as response.completed and a non-streamed answer carry it.
json ResponseObject(const Ask& ask, bool completed) {
  return {{"id", "resp_fake_" + ask.id_suffix},
          {"object", "response"},
          {"created_at", kCreated},
          {"status", completed ? "completed" : "in_progress"},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"model", ask.model},
          {"output", completed ? json::array({CompletedMessageItem(ask)}) : json::array()},
          {"usage", completed ? ResponsesUsage() : json(nullptr)}};
}

// Where an event about the text belongs: the message item, its first content part.
json TextPartRef(const Ask& ask) {
  return {{"item_id", MessageItemId(ask)}, {"output_index", 0}, {"content_index", 0}};
}

EventScript ResponsesScript(const Ask& ask) {
  const std::string reply = FakeLlm::Reply(ask.model);
  const json in_progress = ResponseObject(ask, false);
  const json part = TextPartRef(ask);
  return EventScript{
      .opening = {{"response.created", {{"response", in_progress}}},
                  {"response.in_progress", {{"response", in_progress}}},
                  {"response.output_item.added",
                   {{"output_index", 0}, {"item", MessageItem(ask, "in_progress", json::array())}}},
                  {"response.content_part.added", With(part, {{"part", OutputText("")}})}},
      .delta_type = "response.output_text.delta",
      .delta =
          [part](const std::string& piece) {
            return With(part, {{"delta", piece}, {"logprobs", json::array()}});
          },
      .closing = {{"response.output_text.done",
                   With(part, {{"text", reply}, {"logprobs", json::array()}})},
                  {"response.content_part.done", With(part, {{"part", OutputText(reply)}})},
                  {"response.output_item.done",
                   {{"output_index", 0}, {"item", CompletedMessageItem(ask)}}},
                  {"response.completed", {{"response", ResponseObject(ask, true)}}}},
  };
}

// --- Anthropic Messages -------------------------------------------------------------------

json MessagesUsage(int output_tokens) {
  return {{"input_tokens", kInputTokens},
          {"output_tokens", output_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0}};
}

json Message(const Ask& ask, json content, json stop_reason, json usage) {
  return {{"id", "msg_fake_" + ask.id_suffix},
          {"type", "message"},
          {"role", "assistant"},
          {"model", ask.model},
          {"content", std::move(content)},
          {"stop_reason", std::move(stop_reason)},
          {"stop_sequence", nullptr},
          {"usage", std::move(usage)}};
}

// As Anthropic streams: message_start counts the input (and 1 output token so far), a ping,
// the text block's deltas, and message_delta the final output count.
EventScript MessagesScript(const Ask& ask) {
  return EventScript{
      .opening = {{"message_start",
                   {{"message", Message(ask, json::array(), nullptr, MessagesUsage(1))}}},
                  {"content_block_start",
                   {{"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}}},
                  {"ping", json::object()}},
      .delta_type = "content_block_delta",
      .delta =
          [](const std::string& piece) {
            return json{{"index", 0}, {"delta", {{"type", "text_delta"}, {"text", piece}}}};
          },
      .closing = {{"content_block_stop", {{"index", 0}}},
                  {"message_delta",
                   {{"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                    {"usage", {{"output_tokens", kOutputTokens}}}}},
                  {"message_stop", json::object()}},
  };
}

}  // namespace

void AnswerResponses(const Ask& ask, FakeExchange& exchange) {
  if (!ask.stream) {
    exchange.Respond(200, ResponseObject(ask, true).dump());
    return;
  }
  int sequence_number = 0;
  Stream(ask, ResponsesScript(ask), exchange, [&](const std::string& type, json data) {
    data["sequence_number"] = sequence_number++;
    return SendEvent(exchange, type, std::move(data));
  });
}

void AnswerMessages(const Ask& ask, FakeExchange& exchange) {
  if (!ask.stream) {
    const json text = {{"type", "text"}, {"text", FakeLlm::Reply(ask.model)}};
    exchange.Respond(
        200, Message(ask, json::array({text}), "end_turn", MessagesUsage(kOutputTokens)).dump());
    return;
  }
  Stream(ask, MessagesScript(ask), exchange, [&](const std::string& type, json data) {
    return SendEvent(exchange, type, std::move(data));
  });
}

}  // namespace berth::testing::fake_llm
