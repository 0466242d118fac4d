// A whole request to berth's API, as bytes from a client, through the server's Beast parser, the
// router (matching, percent-decoding, authentication) and the handlers into the services and a
// real SQLite store in a temp dir: every JSON body of the user, admin, provider and internal
// routes, and the agent routes (start, stop, restart, the fleet, reap, health check, system
// containers) through the whole lifecycle down to an in-memory engine (tests/mocks/
// fake_runtime.hpp: the real engine is proven by the lifecycle tests, not here). Streaming routes
// are only admitted, not run. The lifecycle's background loops are not started (the runs stay
// deterministic); its starts, stops and sweeps run on the calling request.
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
#include "crypto/tokens.hpp"
#include "http/api.hpp"
#include "http/api_routes.hpp"
#include "image/agent_contract.hpp"
#include "lifecycle/agent_manager.hpp"
#include "mocks/fake_runtime.hpp"
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
    berth::lifecycle::LifecycleOptions options;
    options.api_url = "http://172.30.0.1:3001/api";
    options.image = "berth/test-agent:fuzz";
    options.contract = berth::image::AgentContract();
    options.ready_poll_interval = std::chrono::milliseconds(1);
    options.start_timeout = std::chrono::seconds(2);
    options.stop_grace = std::chrono::seconds(0);
    s.agents = std::make_shared<berth::lifecycle::AgentManager>(
        options, s.store, std::make_shared<berth::testing::FakeRuntime>(), s.containers,
        s.providers, secrets, std::make_shared<berth::testing::FakeProbe>(), clock);
    if (!s.agents->Initialize().ok()) Die("lifecycle");
    s.blocking = std::make_shared<net::thread_pool>(2);
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
    // A system container with a fixed id ("sa", in the dictionary) for the routes that take one.
    berth::store::SystemContainer system;
    system.id = "sa";
    system.name = "fuzz";
    system.container_name = std::string(berth::service::kSystemContainerPrefix) + system.name;
    const std::string token = berth::crypto::NewToken(berth::crypto::kContainerTokenPrefix);
    system.gateway_token = secrets->Seal(token);
    system.token_hash = berth::crypto::TokenHash(token);
    system.created_at = system.updated_at = 1;
    if (!s.store->CreateSystemContainer(system).ok()) Die("system container");
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

  // BERTH_FUZZ_TRACE=1: each answer on stderr (for writing seeds; run with -runs=0).
  static const bool trace = std::getenv("BERTH_FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "%s %s -> %d %.200s\n", std::string(request.raw.method_string()).c_str(),
                 std::string(request.raw.target()).c_str(), response.result_int(),
                 response.body().c_str());
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
