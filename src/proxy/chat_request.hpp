#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::proxy {

// The model a client names when it wants its agent's own choice.
inline constexpr std::string_view kAgentModel = "openclaw";

// A chat completion request as berth forwards it to the user's gateway.
struct ChatRoute {
  std::string body;          // what the gateway gets: the client's bytes, or "model" rewritten
  std::string model_header;  // value of x-openclaw-model, empty for none
  bool stream = false;       // the client asked for server-sent events
};

// Lists the user's "<provider>/<model>" models; called only when the request names one.
using UsableModelsFn = std::function<Result<std::vector<std::string>>()>;

// What berth routes on, read from a body in one bounded SAX pass (common/json_parse.hpp) without
// building its tree.
struct ChatScan {
  std::string model;
  bool stream = false;
  // "openclaw" or "openclaw/<agentId>": the body passes through untouched, no store read.
  bool names_agent = false;
};

// The first half of RouteChatRequest: kInvalidArgument for a body that is not a JSON object (or
// exceeds the nesting and size bounds), a missing or non-string "model", a non-boolean "stream".
Result<ChatScan> ScanChatRequest(std::string_view body);
// The second half, for a body `scan` came from.
Result<ChatRoute> RouteScannedChatRequest(std::string body, const ChatScan& scan,
                                          const UsableModelsFn& usable);

// Routes a /v1/chat/completions body (ARCHITECTURE.md, "Gateway facts"): "openclaw" and
// "openclaw/<agentId>" pass through untouched; a "<provider>/<model>" among `usable` is sent as
// "openclaw" with the x-openclaw-model header; anything else is kInvalidArgument whose message
// lists the valid models. A body that is not a JSON object, a missing or non-string "model" and
// a non-boolean "stream" are kInvalidArgument too. Errors of `usable` pass through.
Result<ChatRoute> RouteChatRequest(std::string body, const UsableModelsFn& usable);

// The models a user can name, as GET /v1/models lists them: "openclaw", then `usable`.
std::vector<std::string> ModelIds(const std::vector<std::string>& usable);

}  // namespace berth::proxy
