// What an outside probe found (issue 10), each tried again against the built binary: deep JSON to
// every route that takes a body, client-chosen metric labels, bodies held before
// authentication, connection floods from one address, one user's heavy requests, ambiguous
// HTTP, and token hygiene.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Whether `raw` holds a whole response: its head and Content-Length bytes of body.
bool IsWholeResponse(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const auto length_at = raw.find("Content-Length: ");
  if (length_at == std::string::npos || length_at > head_end) return true;
  const std::size_t length = std::stoul(raw.substr(length_at + 16));
  return raw.size() >= head_end + 4 + length;
}

// A raw TCP connection to berth from a chosen loopback source address, closed on destruction.
class RawConnection {
 public:
  RawConnection(const char* source, unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // What arrives within `timeout`, until a whole response is in or the server closes; `closed`
  // says whether it did (after a whole response, only when `wait_for_close`).
  std::string Read(std::chrono::milliseconds timeout, bool* closed = nullptr,
                   bool wait_for_close = false) {
    std::string out;
    const auto deadline = SteadyClock::now() + timeout;
    if (closed) *closed = false;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
      if (!wait_for_close && IsWholeResponse(out)) return out;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Nested(char open, char close, std::size_t depth, const std::string& inner) {
  return std::string(depth, open) + inner + std::string(depth, close);
}
// 90,000 arrays deep, as the probe sent: about 180 KB.
std::string DeepArrays() { return Nested('[', ']', 90000, "1"); }
// 60,000 objects deep: {"a":{"a":...1...}}.
std::string DeepObjects() {
  std::string out;
  for (int i = 0; i < 60000; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(60000, '}');
  return out;
}

int StatusOf(const std::string& raw_answer) {
  if (raw_answer.rfind("HTTP/1.1 ", 0) != 0 && raw_answer.rfind("HTTP/1.0 ", 0) != 0) return 0;
  return std::stoi(raw_answer.substr(9, 3));
}

class ProbeE2e : public BerthE2eTest {
 protected:
  // A fresh berth on the same data dir with these settings on top of the fixture's.
  void Restart(const std::map<std::string, std::string>& settings) {
    berth_.reset();
    auto env = BaseEnv();
    for (const auto& [name, value] : settings) env[name] = value;
    berth_ = StartBerth(env);
    ASSERT_NE(berth_, nullptr);
  }
};

// Every route the OpenAPI document gives a request body gets deep arrays and deep objects, both
// as the whole body and inside the field that reaches the deepest code (models, messages), with
// the token that passes its access check: each is a 400, and berth stays up for everyone.
TEST_F(ProbeE2e, DeepJsonToEveryRouteThatTakesABodyIsA400AndBerthStaysUp) {
  auto [uid, token] = CreateUser("deep");
  auto provider = berth_->Post("/api/providers",
                               json{{"name", "p"},
                                    {"type", "openai"},
                                    {"baseUrl", "http://127.0.0.1:9/v1"},
                                    {"models", {"m"}}}
                                   .dump(),
                               token);
  ASSERT_EQ(provider.status, 201) << provider.body;
  const std::string provider_id = provider.Json()["provider"]["id"];

  auto doc = berth_->Get("/api/openapi.json").Json();
  ASSERT_TRUE(doc.contains("paths"));
  int routes_tried = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, operation] : methods.items()) {
      if (!operation.contains("requestBody")) continue;
      // berth's LLM gateway forwards an agent's body to its provider as it is, never parsing it
      // (llm_gateway_test probes it: a wrong key is refused on the head, a huge body is a 413).
      if (path.rfind("/api/internal/llm/", 0) == 0) continue;
      std::string target = path;
      auto fill = [&target](const std::string& name, const std::string& value) {
        auto at = target.find("{" + name + "}");
        if (at != std::string::npos) target.replace(at, name.size() + 2, value);
      };
      fill("id", target.find("/providers/") != std::string::npos ? provider_id : uid);
      const bool admin = path.rfind("/api/admin/", 0) == 0;
      const std::string& bearer = admin ? std::string(kAdminToken) : token;
      std::string verb = method;
      for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const std::vector<std::string> bodies = {
          DeepArrays(),
          DeepObjects(),
          R"({"models":)" + DeepArrays() + "}",
          R"({"model":"p/m","messages":)" + DeepArrays() + "}",
          R"({"model":"p/m","messages":[)" + DeepObjects() + "]}",
      };
      for (const std::string& body : bodies) {
        auto r = berth_->Send(verb, target, body, bearer);
        EXPECT_EQ(r.status, 400) << verb << " " << target << ": " << r.body.substr(0, 300);
        ASSERT_EQ(berth_->Get("/api/health").status, 200)
            << "berth died on " << verb << " " << target;
      }
      ++routes_tried;
    }
  }
  EXPECT_GE(routes_tried, 6);  // users, system containers, providers (2), agent config, chat
  // The one the probe crashed with first says why.
  auto deep = berth_->Post("/api/providers",
                           R"({"name":"q","type":"openai","models":)" + DeepArrays() + "}", token);
  EXPECT_EQ(deep.status, 400);
  EXPECT_NE(ErrorMessage(deep).find("nests deeper than"), std::string::npos) << deep.body;
  // Depth within the bound still works.
  auto fine = berth_->Send("PATCH", "/api/providers/" + provider_id,
                           R"({"models":["m",{"id":"n","name":"N"}]})", token);
  EXPECT_EQ(fine.status, 200) << fine.body;
}

TEST_F(ProbeE2e, MetricsLabelsComeFromAClosedSetWhateverMethodsClientsSend) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter('A', 'Z');
  for (int i = 0; i < 50; ++i) {
    std::string method(4000, 'X');
    for (char& c : method) c = static_cast<char>(letter(rng));
    auto r = berth_->Send(method, "/api/health", "");
    EXPECT_TRUE(r.status == 405 || r.status == 400) << r.status;
  }
  auto metrics = berth_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_LT(metrics.body.size(), 64u << 10) << "metrics grew with the methods sent";
  EXPECT_NE(metrics.body.find("method=\"other\""), std::string::npos);
  // Unknown paths are one label too, never the raw path.
  for (int i = 0; i < 20; ++i) berth_->Get("/probe/" + std::to_string(rng()));
  metrics = berth_->Get("/metrics");
  EXPECT_EQ(metrics.body.find("/probe/"), std::string::npos);
}

TEST_F(ProbeE2e, AnUnauthenticatedBodyIsNeverReadOrHeld) {
  RawConnection conn("127.0.0.1", berth_->port());
  ASSERT_TRUE(conn.connected());
  // Announces a 1 MiB body and sends none of it: the answer comes from the head alone.
  const auto start = SteadyClock::now();
  ASSERT_TRUE(
      conn.Send("POST /api/providers HTTP/1.1\r\nHost: berth\r\n"
                "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"));
  bool closed = false;
  std::string answer = conn.Read(3s, &closed, true);
  EXPECT_EQ(StatusOf(answer), 401) << answer;
  EXPECT_TRUE(closed);
  EXPECT_LT(SteadyClock::now() - start, 3s);
  EXPECT_NE(answer.find("Missing Bearer token"), std::string::npos);
  // The body was never read, so the connection does not serve another request.
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;

  // A wrong token and a 404 are answered from the head too.
  RawConnection wrong("127.0.0.1", berth_->port());
  ASSERT_TRUE(
      wrong.Send("POST /api/providers HTTP/1.1\r\nHost: berth\r\n"
                 "Authorization: Bearer bu_wrong\r\nContent-Length: 1048576\r\n\r\n"));
  EXPECT_EQ(StatusOf(wrong.Read(3s)), 401);
  RawConnection nowhere("127.0.0.1", berth_->port());
  ASSERT_TRUE(
      nowhere.Send("POST /api/nowhere HTTP/1.1\r\nHost: berth\r\n"
                   "Content-Length: 1048576\r\n\r\n"));
  EXPECT_EQ(StatusOf(nowhere.Read(3s)), 404);
}

TEST_F(ProbeE2e, BodiesInFlightAreBounded) {
  ASSERT_NO_FATAL_FAILURE(Restart({{"BERTH_BODY_MEMORY", "2m"}}));
  auto [uid, token] = CreateUser("uploader");
  const std::string head = "POST /api/providers HTTP/1.1\r\nHost: berth\r\nAuthorization: Bearer " +
                           token + "\r\nContent-Length: 1048576\r\n\r\n{\"name\":";
  // Two bodies of 1 MiB fill the 2 MiB budget while their senders stall mid-body ...
  auto first = std::make_unique<RawConnection>("127.0.0.1", berth_->port());
  RawConnection second("127.0.0.1", berth_->port());
  ASSERT_TRUE(first->Send(head));
  ASSERT_TRUE(second.Send(head));
  EXPECT_EQ(first->Read(300ms), "");  // both still being read
  EXPECT_EQ(second.Read(300ms), "");
  // ... and a third is turned away at once, before a byte of it is held.
  RawConnection third("127.0.0.1", berth_->port());
  ASSERT_TRUE(third.Send(head));
  std::string answer = third.Read(3s);
  EXPECT_EQ(StatusOf(answer), 503) << answer;
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
  // Small bodies of others still get through once a sender gives up.
  first.reset();
  std::this_thread::sleep_for(200ms);  // the server sees the close
  auto small = berth_->Post(
      "/api/providers",
      json{{"name", "ok"}, {"type", "openai"}, {"baseUrl", "http://127.0.0.1:9/v1"}}.dump(), token);
  EXPECT_EQ(small.status, 201) << small.body;
}

TEST_F(ProbeE2e, OneAddressCannotHoldEveryConnection) {
  ASSERT_NO_FATAL_FAILURE(
      Restart({{"BERTH_MAX_CONNECTIONS", "100"}, {"BERTH_MAX_CONNECTIONS_PER_ADDRESS", "40"}}));
  std::vector<std::unique_ptr<RawConnection>> flood;
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    flood.push_back(std::make_unique<RawConnection>("127.0.0.1", berth_->port()));
    ASSERT_TRUE(flood.back()->connected());
  }
  for (auto& conn : flood) {
    std::string answer = conn->Read(50ms);
    if (StatusOf(answer) == 429) ++refused;
  }
  EXPECT_EQ(refused, 20);
  // Another address is served at once.
  const auto start = SteadyClock::now();
  RawConnection other("127.0.0.2", berth_->port());
  ASSERT_TRUE(other.Send("GET /api/health HTTP/1.1\r\nHost: berth\r\n\r\n"));
  EXPECT_EQ(StatusOf(other.Read(5s)), 200);
  EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST_F(ProbeE2e, IdleConnectionsMakeRoomAtTheCap) {
  ASSERT_NO_FATAL_FAILURE(
      Restart({{"BERTH_MAX_CONNECTIONS", "50"}, {"BERTH_MAX_CONNECTIONS_PER_ADDRESS", "0"}}));
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 60; ++i) {
    idle.push_back(std::make_unique<RawConnection>("127.0.0.1", berth_->port()));
  }
  std::this_thread::sleep_for(300ms);
  // Today's idle timeout is 75 s; a health check from the same address is served at once.
  for (int i = 0; i < 3; ++i) {
    const auto start = SteadyClock::now();
    RawConnection check("127.0.0.1", berth_->port());
    ASSERT_TRUE(check.Send("GET /api/health HTTP/1.1\r\nHost: berth\r\n\r\n"));
    EXPECT_EQ(StatusOf(check.Read(5s)), 200) << "check " << i;
    EXPECT_LT(SteadyClock::now() - start, 2s);
  }
}

TEST_F(ProbeE2e, ProviderAndModelCountsAreLimited) {
  ASSERT_NO_FATAL_FAILURE(
      Restart({{"BERTH_MAX_PROVIDERS_PER_USER", "3"}, {"BERTH_MAX_MODELS_PER_PROVIDER", "5"}}));
  auto [uid, token] = CreateUser("collector");
  auto provider = [&](const std::string& name, int models) {
    json list = json::array();
    for (int i = 0; i < models; ++i) list.push_back("m" + std::to_string(i));
    return berth_->Post("/api/providers",
                        json{{"name", name},
                             {"type", "openai"},
                             {"baseUrl", "http://127.0.0.1:9/v1"},
                             {"models", list}}
                            .dump(),
                        token);
  };
  auto too_many_models = provider("big", 6);
  EXPECT_EQ(too_many_models.status, 400);
  EXPECT_NE(ErrorMessage(too_many_models).find("at most 5 models"), std::string::npos);
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(provider(name, 5).status, 201) << name;
  auto fourth = provider("d", 1);
  EXPECT_EQ(fourth.status, 400);
  EXPECT_NE(ErrorMessage(fourth).find("at most 3 providers"), std::string::npos);
  // Concurrent creations cannot pass the limit together.
  auto [uid2, token2] = CreateUser("racer");
  std::vector<std::future<int>> racing;
  for (int i = 0; i < 12; ++i) {
    racing.push_back(std::async(std::launch::async, [&, i, t = token2] {
      return berth_
          ->Post("/api/providers",
                 json{{"name", "r" + std::to_string(i)},
                      {"type", "openai"},
                      {"baseUrl", "http://127.0.0.1:9/v1"}}
                     .dump(),
                 t)
          .status;
    }));
  }
  int created = 0;
  for (auto& f : racing) created += f.get() == 201;
  EXPECT_EQ(created, 3);
  EXPECT_EQ(berth_->Get("/api/providers", token2).Json()["providers"].size(), 3u);
}

// One user's heavy requests run on the work pool, a few at a time, so /api/health and another
// user's requests do not wait behind them even with a single event loop.
TEST_F(ProbeE2e, OneHeavyUserDoesNotStarveOthers) {
  ASSERT_NO_FATAL_FAILURE(Restart({{"BERTH_THREADS", "1"},
                                   {"BERTH_MAX_PROVIDERS_PER_USER", "20"},
                                   {"BERTH_MAX_MODELS_PER_PROVIDER", "1024"}}));
  auto [heavy_id, heavy] = CreateUser("heavy");
  auto [light_id, light] = CreateUser("light");
  for (int p = 0; p < 20; ++p) {
    json list = json::array();
    for (int i = 0; i < 1024; ++i) {
      list.push_back(json{{"id", "model-" + std::to_string(i) + std::string(120, 'x')}});
    }
    ASSERT_EQ(berth_
                  ->Post("/api/providers",
                         json{{"name", "p" + std::to_string(p)},
                              {"type", "openai"},
                              {"baseUrl", "http://127.0.0.1:9/v1"},
                              {"models", list}}
                             .dump(),
                         heavy)
                  .status,
              201);
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> load;
  for (int i = 0; i < 32; ++i) {
    load.emplace_back([&, t = heavy] {
      while (!done) berth_->Get("/v1/models", t);
    });
  }
  std::this_thread::sleep_for(500ms);
  double worst_health = 0;
  double worst_light = 0;
  for (int i = 0; i < 10; ++i) {
    auto start = SteadyClock::now();
    EXPECT_EQ(berth_->Get("/api/health").status, 200);
    worst_health =
        std::max(worst_health, std::chrono::duration<double>(SteadyClock::now() - start).count());
    start = SteadyClock::now();
    EXPECT_EQ(berth_->Get("/api/me", light).status, 200);
    worst_light =
        std::max(worst_light, std::chrono::duration<double>(SteadyClock::now() - start).count());
  }
  done = true;
  for (auto& t : load) t.join();
  // The probe saw 18.2 s; with fair queuing these are milliseconds (generous bounds for CI).
  EXPECT_LT(worst_health, 2.0);
  EXPECT_LT(worst_light, 2.0);
}

TEST_F(ProbeE2e, AmbiguousRequestsAreRefusedAndTheConnectionClosed) {
  auto [uid, token] = CreateUser("strict");
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"two Authorization headers", "GET /api/me HTTP/1.1\r\nHost: b\r\n" + auth +
                                        "Authorization: Bearer " + kAdminToken + "\r\n\r\n"},
      {"two Host headers", "GET /api/me HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + auth + "\r\n"},
      {"no Host on HTTP/1.1", "GET /api/me HTTP/1.1\r\n" + auth + "\r\n"},
      {"Transfer-Encoding on HTTP/1.0",
       "POST /api/providers HTTP/1.0\r\nHost: b\r\n" + auth +
           "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
  };
  for (const auto& [what, bytes] : cases) {
    RawConnection conn("127.0.0.1", berth_->port());
    ASSERT_TRUE(conn.Send(bytes));
    bool closed = false;
    std::string answer = conn.Read(3s, &closed, true);
    EXPECT_EQ(StatusOf(answer), 400) << what << ": " << answer;
    EXPECT_TRUE(closed) << what;
  }
  // HTTP/1.0 without a Host is fine.
  RawConnection old("127.0.0.1", berth_->port());
  ASSERT_TRUE(old.Send("GET /api/health HTTP/1.0\r\n\r\n"));
  EXPECT_NE(old.Read(3s).find(" 200 "), std::string::npos);
}

TEST_F(ProbeE2e, AnswersCarryingASecretAreNeverCached) {
  auto created = berth_->Post("/api/admin/users", R"({"name":"cache"})", kAdminToken);
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.headers["cache-control"], "no-store");
  const std::string uid = created.Json()["user"]["id"];
  auto token = berth_->Post("/api/admin/users/" + uid + "/tokens", "", kAdminToken);
  EXPECT_EQ(token.headers["cache-control"], "no-store");
  auto container = berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken);
  EXPECT_EQ(container.headers["cache-control"], "no-store");
  auto system =
      berth_->Post("/api/admin/system-containers", R"({"name":"sys-cache"})", kAdminToken);
  EXPECT_EQ(system.headers["cache-control"], "no-store");
}

TEST_F(ProbeE2e, UsersListAndRevokeTheirTokensAndAdminsAnyones) {
  auto [uid, first] = CreateUser("holder");
  auto second = berth_->Post("/api/admin/users/" + uid + "/tokens", "", kAdminToken);
  ASSERT_EQ(second.status, 201);
  const std::string second_token = second.Json()["token"];
  ASSERT_EQ(berth_->Get("/api/me", first).status, 200);  // a use to record

  auto mine = berth_->Get("/api/me/tokens", first);
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json listed_mine = mine.Json()["tokens"];
  ASSERT_EQ(listed_mine.size(), 2u);
  std::string second_id;
  for (const auto& t : listed_mine) {
    const std::string prefix = t["prefix"];
    EXPECT_EQ(prefix.size(), 7u);
    EXPECT_TRUE(first.rfind(prefix, 0) == 0 || second_token.rfind(prefix, 0) == 0) << prefix;
    if (second_token.rfind(prefix, 0) == 0) second_id = t["id"];
    EXPECT_FALSE(t.contains("tokenHash"));
    EXPECT_EQ(mine.body.find(first.substr(7)), std::string::npos) << "a token leaked";
    if (first.rfind(prefix, 0) == 0) {
      EXPECT_TRUE(t["lastUsedAt"].is_string()) << t.dump();
    }
  }
  ASSERT_FALSE(second_id.empty());

  // Revoked: refused at once, although the token cache had it.
  ASSERT_EQ(berth_->Get("/api/me", second_token).status, 200);
  EXPECT_EQ(berth_->Delete("/api/me/tokens/" + second_id, first).status, 204);
  EXPECT_EQ(berth_->Get("/api/me", second_token).status, 401);
  EXPECT_EQ(berth_->Get("/api/me", first).status, 200);

  // Another user cannot see or revoke them.
  auto [other_id, other] = CreateUser("other");
  auto mine_now = berth_->Get("/api/me/tokens", first).Json()["tokens"];
  ASSERT_EQ(mine_now.size(), 1u);
  const std::string first_id = mine_now[0]["id"];
  EXPECT_EQ(berth_->Delete("/api/me/tokens/" + first_id, other).status, 404);

  // Admins: list and revoke any user's.
  auto listed = berth_->Get("/api/admin/users/" + uid + "/tokens", kAdminToken);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.Json()["tokens"].size(), 1u);
  EXPECT_EQ(berth_->Delete("/api/admin/users/" + uid + "/tokens/" + first_id, kAdminToken).status,
            204);
  EXPECT_EQ(berth_->Get("/api/me", first).status, 401);
  // BERTH_ADMIN_TOKEN is not stored: no stored admin token here.
  auto admins = berth_->Get("/api/admin/tokens", kAdminToken);
  ASSERT_EQ(admins.status, 200);
  EXPECT_TRUE(admins.Json()["tokens"].empty());
  EXPECT_EQ(berth_->Get("/api/admin/tokens", other).status, 403);
}

TEST_F(ProbeE2e, TheInternalEndpointAnswersOnlyOnTheInternalListenerWhenThatIsOn) {
  // The fixture sets MOSAIC_API_URL: agents use the public listener, which serves it.
  auto served = berth_->Get("/api/internal/agent-config/x");
  EXPECT_EQ(served.status, 401);
  // Without it, agents get the internal listener, and the public one does not know the route.
  berth_.reset();
  auto env = BaseEnv();
  env.erase("MOSAIC_API_URL");
  berth_ = StartBerth(env);
  ASSERT_NE(berth_, nullptr);
  auto hidden = berth_->Get("/api/internal/agent-config/x", "bc_anything");
  EXPECT_EQ(hidden.status, 404) << hidden.body;
}

TEST_F(ProbeE2e, ReservedProviderNamesAndControlCharactersAreRefused) {
  auto [uid, token] = CreateUser("names");
  for (const char* name : {".", ".."}) {
    auto r = berth_->Post(
        "/api/providers",
        json{{"name", name}, {"type", "openai"}, {"baseUrl", "http://127.0.0.1:9/v1"}}.dump(),
        token);
    EXPECT_EQ(r.status, 400) << name;
  }
  for (const char* field : {"displayName", "type"}) {
    json body = {{"name", "ctl"}, {"type", "openai"}, {"baseUrl", "http://127.0.0.1:9/v1"}};
    body[field] = "line\nbreak";
    auto r = berth_->Post("/api/providers", body.dump(), token);
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_NE(ErrorMessage(r).find("control characters"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace berth::testing
