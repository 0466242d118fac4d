#include "llm/usage_meter.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/json_parse.hpp"

namespace berth::llm {
namespace {

using nlohmann::json;

// The request's top-level fields berth needs, read in one pass without building a tree (the body
// may be a long conversation).
class RequestScan final : public JsonBoundsScan {
 public:
  RequestScan() : JsonBoundsScan(JsonLimits{}) {}

  bool key(string_t& k) override {
    if (depth() == 1) {
      top_key_ = k;
      if (k == "stream_options") has_stream_options_ = true;
    }
    if (depth() == 2 && in_stream_options_) options_key_ = k;
    return true;
  }
  bool start_object(std::size_t n) override {
    if (depth() == 1 && top_key_ == "stream_options") in_stream_options_ = true;
    return JsonBoundsScan::start_object(n);
  }
  bool end_object() override {
    if (depth() == 2) in_stream_options_ = false;
    if (depth() == 1) top_level_object_ = true;
    return JsonBoundsScan::end_object();
  }
  bool start_array(std::size_t n) override {
    if (depth() == 0) return false;  // not an object
    return JsonBoundsScan::start_array(n);
  }
  bool boolean(bool value) override {
    if (depth() == 1 && top_key_ == "stream") stream = value;
    if (depth() == 2 && in_stream_options_ && options_key_ == "include_usage")
      include_usage = value;
    return JsonBoundsScan::boolean(value);
  }
  bool string(string_t& value) override {
    if (depth() == 1 && top_key_ == "model") model = value;
    return JsonBoundsScan::string(value);
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (depth() == 1 && IsMaxTokensKey()) {
      max_tokens = static_cast<int64_t>(
          std::min<number_unsigned_t>(value, std::numeric_limits<int32_t>::max()));
    }
    return JsonBoundsScan::number_unsigned(value);
  }
  bool number_integer(number_integer_t value) override {
    if (depth() == 1 && IsMaxTokensKey() && value >= 0) max_tokens = value;
    return JsonBoundsScan::number_integer(value);
  }

  bool top_level_object() const { return top_level_object_; }
  bool has_stream_options() const { return has_stream_options_; }

  std::string model;
  bool stream = false;
  bool include_usage = false;
  std::optional<int64_t> max_tokens;

 private:
  bool IsMaxTokensKey() const {
    return top_key_ == "max_tokens" || top_key_ == "max_completion_tokens" ||
           top_key_ == "max_output_tokens";
  }

  std::string top_key_;
  std::string options_key_;
  bool in_stream_options_ = false;
  bool has_stream_options_ = false;
  bool top_level_object_ = false;
};

// A token count from the provider: a non-negative integer, else 0.
int64_t Count(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) return 0;
  const int64_t value = it->get<int64_t>();
  return std::clamp<int64_t>(value, 0, int64_t{1} << 40);
}

const json* Child(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_object() ? &*it : nullptr;
}

void ReadModel(const json& object, std::string& model) {
  const auto it = object.find("model");
  if (it != object.end() && it->is_string()) model = it->get<std::string>();
}

// OpenAI's usage objects: the input count includes the cached tokens. Chat completions call
// its fields prompt_tokens/completion_tokens(_details), responses input_tokens/output_tokens.
struct OpenAiNames {
  const char* input;
  const char* output;
  const char* input_details;
  const char* output_details;
};
constexpr OpenAiNames kCompletionsNames{"prompt_tokens", "completion_tokens",
                                        "prompt_tokens_details", "completion_tokens_details"};
constexpr OpenAiNames kResponsesNames{"input_tokens", "output_tokens", "input_tokens_details",
                                      "output_tokens_details"};

void ReadOpenAiUsage(const json& usage, const OpenAiNames& names, TokenUsage& out) {
  const json* input = Child(usage, names.input_details);
  const json* output = Child(usage, names.output_details);
  const int64_t cached = input != nullptr ? Count(*input, "cached_tokens") : 0;
  out.cache_read = cached;
  out.input = std::max<int64_t>(0, Count(usage, names.input) - cached);
  out.output = Count(usage, names.output);
  out.reasoning = output != nullptr ? Count(*output, "reasoning_tokens") : 0;
  out.reported = true;
}

// Anthropic: input_tokens exclude cache reads and writes; each count given replaces the last.
void ReadAnthropicUsage(const json& usage, TokenUsage& out) {
  if (usage.contains("input_tokens")) out.input = Count(usage, "input_tokens");
  if (usage.contains("output_tokens")) out.output = Count(usage, "output_tokens");
  if (usage.contains("cache_read_input_tokens")) {
    out.cache_read = Count(usage, "cache_read_input_tokens");
  }
  if (usage.contains("cache_creation_input_tokens")) {
    out.cache_write = Count(usage, "cache_creation_input_tokens");
  }
  out.reported = true;
}

// One JSON document of the answer (an SSE payload or the whole plain answer). True when it is
// OpenAI's extra usage chunk (usage, no choices).
bool ReadDocument(WireApi api, const json& doc, TokenUsage& usage, std::string& model) {
  if (!doc.is_object()) return false;
  switch (api) {
    case WireApi::kOpenAiCompletions: {
      ReadModel(doc, model);
      const json* found = Child(doc, "usage");
      if (found == nullptr) return false;
      ReadOpenAiUsage(*found, kCompletionsNames, usage);
      const auto choices = doc.find("choices");
      return choices == doc.end() || (choices->is_array() && choices->empty());
    }
    case WireApi::kOpenAiResponses: {
      // Streamed: the usage is in response.completed (or .incomplete / .failed) → response.
      const json* response = Child(doc, "response");
      const json& body = response != nullptr ? *response : doc;
      ReadModel(body, model);
      if (const json* found = Child(body, "usage")) {
        ReadOpenAiUsage(*found, kResponsesNames, usage);
      }
      return false;
    }
    case WireApi::kAnthropicMessages: {
      // Streamed: message_start → message.usage, then message_delta → usage.
      const json* message = Child(doc, "message");
      const json& body = message != nullptr ? *message : doc;
      ReadModel(body, model);
      if (const json* found = Child(body, "usage")) ReadAnthropicUsage(*found, usage);
      return false;
    }
    case WireApi::kOther:
      return false;
  }
  return false;
}

}  // namespace

PreparedRequest PrepareRequest(WireApi api, std::string body) {
  PreparedRequest out;
  if (api == WireApi::kOther) {
    out.body = std::move(body);
    return out;
  }
  RequestScan scan;
  if (!json::sax_parse(body, &scan) || !scan.top_level_object()) {
    out.body = std::move(body);
    return out;
  }
  out.model = std::move(scan.model);
  out.stream = scan.stream;
  out.max_tokens = scan.max_tokens;
  if (api == WireApi::kOpenAiCompletions && scan.stream && !scan.include_usage) {
    // The provider reports a stream's usage only when asked. Without stream_options the key is
    // added in front (no re-serialising of a long conversation); with it, the tree is rebuilt.
    out.strip_usage_chunk = true;
    if (!scan.has_stream_options()) {
      const std::size_t brace = body.find('{');
      body.insert(brace + 1, R"("stream_options":{"include_usage":true},)");
    } else if (auto tree = ParseJson(body, "request body"); tree.ok()) {
      json& options = (*tree)["stream_options"];
      if (!options.is_object()) options = json::object();
      options["include_usage"] = true;
      body = tree->dump();
    } else {
      out.strip_usage_chunk = false;
    }
  }
  out.body = std::move(body);
  return out;
}

UsageMeter::UsageMeter(WireApi api, bool ok, bool stream, bool strip_usage_chunk)
    : api_(api),
      reading_(ok && api != WireApi::kOther),
      stream_(stream),
      strip_(reading_ && stream && strip_usage_chunk) {}

void UsageMeter::Feed(std::string_view piece, std::string& out) {
  if (!reading_) {
    out.append(piece);
    return;
  }
  if (!stream_) {
    out.append(piece);
    if (plain_.size() + piece.size() > kMaxPlainAnswer) {
      reading_ = false;  // too big to read: the call is charged its reservation
      plain_.clear();
      plain_.shrink_to_fit();
    } else {
      plain_.append(piece);
    }
    return;
  }
  if (!strip_) out.append(piece);
  while (!piece.empty()) {
    const std::size_t end = piece.find('\n');
    if (end == std::string_view::npos) {
      line_.append(piece);
      if (line_.size() > kMaxLine) {  // not an event stream berth can read: let it pass
        reading_ = false;
        if (strip_) out.append(event_).append(line_);
        event_.clear();
        line_.clear();
      }
      return;
    }
    line_.append(piece.substr(0, end + 1));
    piece.remove_prefix(end + 1);
    if (strip_) event_.append(line_);
    std::string_view line(line_);
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool event_ended = line.empty();
    if (!event_ended) Line(line);
    line_.clear();
    if (strip_ && event_ended) {
      if (!drop_event_) out.append(event_);
      event_.clear();
      drop_event_ = false;
    }
  }
}

// One line of an event: only `data:` carries what berth reads.
void UsageMeter::Line(std::string_view line) {
  if (line.substr(0, 5) != "data:") return;
  std::string_view data = line.substr(5);
  if (!data.empty() && data.front() == ' ') data.remove_prefix(1);
  Payload(data);
}

void UsageMeter::Payload(std::string_view data) {
  // Only a payload that mentions usage is parsed: most chunks of a stream are text deltas.
  if (data.find("\"usage\"") == std::string_view::npos) return;
  auto doc = ParseJson(data, "provider event");
  if (!doc.ok()) return;
  if (ReadDocument(api_, *doc, usage_, model_) && strip_) drop_event_ = true;
}

void UsageMeter::Finish(std::string& out) {
  if (reading_ && !stream_ && !plain_.empty()) {
    if (auto doc = ParseJson(plain_, "provider answer"); doc.ok()) {
      ReadDocument(api_, *doc, usage_, model_);
    }
    plain_.clear();
  }
  if (strip_) out.append(event_).append(line_);
  event_.clear();
  line_.clear();
}

}  // namespace berth::llm
