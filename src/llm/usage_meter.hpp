#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::llm {

// The provider APIs berth's gateway forwards, by the path the agent called.
enum class WireApi {
  kOpenAiCompletions,  // POST …/chat/completions
  kOpenAiResponses,    // POST …/responses
  kAnthropicMessages,  // POST …/v1/messages
  kOther,              // GET …/models: nothing to count
};

// Tokens one call used, as the provider reported them. `input` excludes cache reads and writes
// (OpenAI's prompt_tokens include cached ones: they are split out); `reasoning` is part of
// `output` and kept for display only.
struct TokenUsage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
  int64_t reasoning = 0;
  bool reported = false;  // the provider said; false: nothing could be read

  int64_t total() const { return input + output + cache_read + cache_write; }
  friend bool operator==(const TokenUsage&, const TokenUsage&) = default;
};

// What berth reads of, and changes in, the agent's request body before forwarding it.
struct PreparedRequest {
  std::string body;   // as forwarded
  std::string model;  // "" when the body names none
  bool stream = false;
  // An openai-completions stream the agent did not ask usage for: berth asked (the provider
  // sends a last chunk with `usage` and no choices only then) and removes that chunk again.
  bool strip_usage_chunk = false;
  std::optional<int64_t> max_tokens;  // max_tokens / max_completion_tokens / max_output_tokens
};

// Reads the body as JSON; a body that is not a JSON object is forwarded untouched (the provider
// answers it) with nothing known of it.
PreparedRequest PrepareRequest(WireApi api, std::string body);

// Reads the usage out of a provider's answer as it streams past, piece by piece, without holding
// it: SSE streams line by line (a JSON `data:` payload at a time), a plain JSON answer whole up to
// kMaxPlainAnswer. Anthropic's message_delta counts are cumulative: the last one wins. Garbage is
// skipped, never fatal; a line longer than kMaxLine stops the reading (the answer still passes).
// When asked to strip the usage chunk it holds back each SSE event until it is whole.
class UsageMeter {
 public:
  static constexpr std::size_t kMaxLine = 1 << 20;
  static constexpr std::size_t kMaxPlainAnswer = 8 << 20;

  // `ok`: the provider answered 2xx (error bodies are passed, not read). `stream`: the answer is
  // an event stream (by its Content-Type).
  UsageMeter(WireApi api, bool ok, bool stream, bool strip_usage_chunk);

  // Appends to `out` what of `piece` goes on to the agent now.
  void Feed(std::string_view piece, std::string& out);
  // The end of the answer: appends anything held back, reads a plain answer.
  void Finish(std::string& out);

  const TokenUsage& usage() const { return usage_; }
  // The model the provider said it ran ("" when it did not say).
  const std::string& model() const { return model_; }

 private:
  void Line(std::string_view line);
  void Payload(std::string_view data);

  WireApi api_;
  bool reading_;
  bool stream_;
  bool strip_;
  std::string line_;   // the incomplete last line
  std::string event_;  // the event held back (strip mode)
  bool drop_event_ = false;
  std::string plain_;  // a plain JSON answer
  TokenUsage usage_;
  std::string model_;
};

}  // namespace berth::llm
