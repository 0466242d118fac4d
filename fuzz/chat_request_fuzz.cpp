// A client's /v1/chat/completions body through the routing scan and the rewrite: never a crash,
// and a routed body that was rewritten must still be JSON naming the agent's model.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_parse.hpp"
#include "proxy/chat_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  berth::Result<berth::proxy::ChatScan> scan = berth::proxy::ScanChatRequest(body);
  if (!scan.ok()) return 0;
  const berth::proxy::UsableModelsFn usable = [] {
    return berth::Result<std::vector<std::string>>(
        std::vector<std::string>{"work/gpt-4.1", "local/llama3", "a/b"});
  };
  berth::Result<berth::proxy::ChatRoute> route =
      berth::proxy::RouteScannedChatRequest(body, *scan, usable);
  if (route.ok() && !route->model_header.empty()) {
    // Rewritten by berth: must still parse within the bounds it was scanned with.
    if (!berth::CheckJson(route->body, "rewritten body").ok()) __builtin_trap();
  }
  return 0;
}
