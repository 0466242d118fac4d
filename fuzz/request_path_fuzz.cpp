// A whole request to berth's API, as bytes from a client, through the server's Beast parser, the
// router (matching, percent-decoding, authentication) and the handlers into the services and a
// real SQLite store in a temp dir: every JSON body of the user, admin, provider and internal
// routes. The agent routes (agents_api.cpp) are left out: they need the whole lifecycle and an
// engine, and of the bodies only POST /api/admin/system-containers' is theirs. Streaming routes
// are only admitted, not run.
//
// Input: byte 0 picks the caller (none, the admin, user A, user B, user A's container token, or
// the input's own Authorization header); the rest is the request (method, target, headers,
// body). Ids of the seeded records are in the dictionary, so routes with ids find them.
//
// Oracle: no crash, leak or UB; never a 500 (every failure berth can meet here has its own status
// and code); every answer is JSON, and every error has a string code and message.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.hpp"
#include "crypto/key_provider.hpp"
#include "crypto/secret_box.hpp"
#include "http/api.hpp"
#include "http/api_routes.hpp"
#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/sqlite_store.hpp"

namespace bh = berth::http;
namespace bhttp = berth::bhttp;
namespace net = berth::net;
using berth::store::SqliteStore;

namespace {

constexpr const char* kAdminToken = "fuzz-admin-token-0123456789abcdefghijklmnop";

struct World {
  std::string dir;
  bh::Router router;
  std::string user_a, user_b, container_a;  // tokens

  World() {
    char tmpl[] = "/tmp/berth-fuzz-request-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto store = SqliteStore::Open(dir + "/berth.db");
    if (!store.ok()) Die("store: " + store.status().ToString());
    auto clock = std::make_shared<berth::SystemClock>();
    auto secrets = std::make_shared<berth::crypto::SecretBox>(
        std::make_shared<berth::crypto::StaticKeyProvider>(std::string(32, 'k')));
    bh::ApiServices s;
    s.store = *store;
    s.accounts = std::make_shared<berth::service::AccountService>(s.store, clock, kAdminToken);
    s.providers = std::make_shared<berth::service::ProviderService>(s.store, secrets, clock);
    s.containers =
        std::make_shared<berth::service::ContainerService>(s.store, secrets, s.providers, clock);
    bh::RegisterApiRoutes(router, s);
    // Seeded with fixed ids (in request_path.dict) so that routes with ids find them.
    auto a = s.accounts->CreateUser({"Ada", std::string("ada@example.com"), std::string("ua")});
    auto b = s.accounts->CreateUser({"Bob", std::nullopt, std::string("ub")});
    if (!a.ok() || !b.ok()) Die("users");
    user_a = a->token;
    user_b = b->token;
    auto container = s.containers->ProvisionUserContainer("ua", false);
    if (!container.ok()) Die("container: " + container.status().ToString());
    container_a = container->token;
  }

  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "request_path fuzz setup failed: %s\n", what.c_str());
    std::abort();
  }
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World();
    std::atexit([] {
      // The temp dir goes with the process.
      std::string cmd = "rm -rf '" + TheWorld().dir + "'";
      if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove the temp dir\n");
    });
    return w;
  }();
  return *world;
}

[[noreturn]] void Fail(const char* why, const bh::Response& r) {
  std::fprintf(stderr, "request_path: %s: %d %s\n", why, r.result_int(), r.body().c_str());
  __builtin_trap();
}

}  // namespace

// Registered by RegisterApiRoutes; left out of this target (see the top of the file).
void berth::http::api::RegisterAgentRoutes(Router&, const ApiServices&) {}
// The lifecycle is absent (ApiServices::agents is null): handlers must not call it. These two are
// what the other routes' handlers name; called, they stop the run as a finding.
berth::Result<berth::lifecycle::AgentView> berth::lifecycle::AgentManager::GetAgent(
    const std::string&) {
  __builtin_trap();
}
berth::Result<std::string> berth::lifecycle::AgentManager::EnginePing() { __builtin_trap(); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& world = TheWorld();
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  berth::beast::error_code ec;
  parser.put(boost::asio::buffer(data + 1, size - 1), ec);
  if (!ec && parser.got_some() && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;  // the server answers 400 before any route

  bh::Request request;
  request.raw = parser.release();
  request.peer = "127.0.0.1";
  const std::string tokens[] = {"", kAdminToken, world.user_a, world.user_b, world.container_a};
  const unsigned pick = data[0] % 6;
  if (pick < 5) {
    request.raw.erase(bhttp::field::authorization);
    if (!tokens[pick].empty()) {
      request.raw.set(bhttp::field::authorization, "Bearer " + tokens[pick]);
    }
  }

  bh::Router::Admission admission = world.router.Admit(request, request.raw);
  bh::Response response;
  if (admission.route == nullptr) {
    response = std::move(*admission.answer);
  } else if (admission.route->stream_handler) {
    return 0;  // admitted; its body is a stream (not this target's)
  } else {
    net::io_context io;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          bh::Request copy = request;
          response = co_await world.router.DispatchAsync(copy);
        },
        net::detached);
    io.run();
  }

  if (response.result_int() >= 500 && response.result_int() != 503) Fail("a 5xx", response);
  if (response.body().empty()) {
    if (response.result_int() != 204 && request.raw.method() != bhttp::verb::head) {
      Fail("an empty body", response);
    }
    return 0;
  }
  const nlohmann::json body = nlohmann::json::parse(response.body(), nullptr, false);
  if (body.is_discarded() && response.result_int() != 200) Fail("not JSON", response);
  if (response.result_int() >= 400) {
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object() ||
        !body["error"].value("code", nlohmann::json()).is_string() ||
        !body["error"].value("message", nlohmann::json()).is_string()) {
      Fail("an error without code and message", response);
    }
  }
  return 0;
}
