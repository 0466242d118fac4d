#include "proxy/chat_request.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_parse.hpp"

namespace berth::proxy {
namespace {

using nlohmann::json;

bool IsAgentModel(std::string_view model) {
  if (model == kAgentModel) return true;
  // "openclaw/<agentId>": the gateway picks the agent and validates the id itself.
  return model.size() > kAgentModel.size() + 1 &&
         model.substr(0, kAgentModel.size()) == kAgentModel && model[kAgentModel.size()] == '/';
}

std::string ListForMessage(const std::vector<std::string>& models) {
  constexpr std::size_t kMaxListed = 50;
  std::string out;
  for (std::size_t i = 0; i < models.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += models[i];
  }
  if (models.size() > kMaxListed) {
    out += ", and " + std::to_string(models.size() - kMaxListed) + " more (GET /v1/models)";
  }
  return out;
}

// Validates a whole JSON text and records what berth routes on, its top-level "model" and
// "stream", without building the document: a chat body carries the whole conversation, and
// all of it but two fields passes through untouched. Duplicate keys: the last one counts, as
// in a parsed document.
class TopLevelScan final : public JsonBoundsScan {
 public:
  enum class Kind { kAbsent, kNull, kBool, kString, kOther };
  struct Field {
    Kind kind = Kind::kAbsent;
    bool boolean = false;
    std::string text;
  };

  TopLevelScan() : JsonBoundsScan(JsonLimits{}) {}

  bool top_is_object = false;
  Field model;
  Field stream;

  bool null() override { return Value(Kind::kNull); }
  bool boolean(bool b) override { return Value(Kind::kBool, nullptr, b); }
  bool number_integer(number_integer_t) override { return Value(Kind::kOther); }
  bool number_unsigned(number_unsigned_t) override { return Value(Kind::kOther); }
  bool number_float(number_float_t, const string_t&) override { return Value(Kind::kOther); }
  bool string(string_t& s) override { return Value(Kind::kString, &s); }
  bool binary(binary_t&) override { return Value(Kind::kOther); }
  bool start_object(std::size_t) override {
    if (depth() == 0) top_is_object = true;
    Record(Kind::kOther);
    return Enter();
  }
  bool key(string_t& k) override {
    if (depth() == 1) pending_ = k == "model" ? &model : k == "stream" ? &stream : nullptr;
    return true;
  }
  bool start_array(std::size_t) override {
    Record(Kind::kOther);
    return Enter();
  }

 private:
  bool Value(Kind kind, const string_t* text = nullptr, bool b = false) {
    Record(kind, text, b);
    return Count();
  }
  void Record(Kind kind, const string_t* text = nullptr, bool b = false) {
    if (depth() == 1 && pending_ != nullptr) {
      pending_->kind = kind;
      pending_->boolean = b;
      if (text != nullptr) pending_->text = *text;
    }
    pending_ = nullptr;
  }

  Field* pending_ = nullptr;
};

}  // namespace

std::vector<std::string> ModelIds(const std::vector<std::string>& usable) {
  std::vector<std::string> ids;
  ids.reserve(usable.size() + 1);
  ids.emplace_back(kAgentModel);
  ids.insert(ids.end(), usable.begin(), usable.end());
  return ids;
}

Result<ChatScan> ScanChatRequest(std::string_view body) {
  using Kind = TopLevelScan::Kind;
  TopLevelScan scan;
  if (!json::sax_parse(body, &scan)) {
    Status bound = scan.BoundError("request body");
    return bound.ok() ? InvalidArgument("request body is not valid JSON") : bound;
  }
  if (!scan.top_is_object) return InvalidArgument("request body must be a JSON object");
  ChatScan out;
  if (scan.stream.kind != Kind::kAbsent && scan.stream.kind != Kind::kNull) {
    if (scan.stream.kind != Kind::kBool) return InvalidArgument("'stream' must be true or false");
    out.stream = scan.stream.boolean;
  }
  if (scan.model.kind == Kind::kAbsent || scan.model.kind == Kind::kNull) {
    return InvalidArgument("'model' is required: use \"openclaw\" or one of GET /v1/models");
  }
  if (scan.model.kind != Kind::kString) return InvalidArgument("'model' must be a string");
  out.model = std::move(scan.model.text);
  out.names_agent = IsAgentModel(out.model);
  return out;
}

Result<ChatRoute> RouteScannedChatRequest(std::string body, const ChatScan& scan,
                                          const UsableModelsFn& usable) {
  ChatRoute route;
  route.stream = scan.stream;
  if (scan.names_agent) {
    route.body = std::move(body);  // byte for byte
    return route;
  }
  const std::string& name = scan.model;
  auto models = usable();
  if (!models.ok()) return models.status();
  if (std::find(models->begin(), models->end(), name) == models->end()) {
    return InvalidArgument("model '" + name + "' is not available; valid models: " +
                           ListForMessage(ModelIds(*models)) + " (or openclaw/<agentId>)");
  }
  // Rewritten: the document is built only on this path, within the same bounds as the scan.
  auto parsed_body = ParseJson(body, "request body");
  if (!parsed_body.ok()) return parsed_body.status();
  json parsed = std::move(*parsed_body);
  parsed["model"] = std::string(kAgentModel);
  route.body = parsed.dump(-1, ' ', false, json::error_handler_t::replace);
  route.model_header = name;
  return route;
}

Result<ChatRoute> RouteChatRequest(std::string body, const UsableModelsFn& usable) {
  auto scan = ScanChatRequest(body);
  if (!scan.ok()) return scan.status();
  return RouteScannedChatRequest(std::move(body), *scan, usable);
}

}  // namespace berth::proxy
