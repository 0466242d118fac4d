// An admin sets a user's idle timeout (PATCH /api/admin/users/:id/agent) end to end: the built
// binary, a real socket, on SQLite and on PostgreSQL. That the running lifecycle honours the new
// value at once is tests/lifecycle/idle_timeout_test.cpp's (these berths have no engine).

#include <nlohmann/json.hpp>
#include <string>

#include "e2e/e2e_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

using AdminAgentE2e = BerthStoreE2eTest;

HttpResult Patch(const BerthProcess& berth, const std::string& user_id, const std::string& body,
                 const std::string& token) {
  return berth.Send("PATCH", "/api/admin/users/" + user_id + "/agent", body, token);
}

TEST_P(AdminAgentE2e, AdminSetsTheIdleTimeoutAndGetsTheAgentBack) {
  auto [uid, token] = CreateUser("alice");
  // The user has no container record yet: it is made now, with the value.
  auto set = Patch(*berth_, uid, R"({"idleTimeoutMin":120})", kAdminToken);
  ASSERT_EQ(set.status, 200) << set.body;
  const json agent = set.Json();
  EXPECT_EQ(agent["idleTimeoutMin"], 120);
  EXPECT_EQ(agent["kind"], "user");
  EXPECT_EQ(agent["userId"], uid);
  EXPECT_EQ(agent["status"], "stopped");
  EXPECT_EQ(agent["containerName"], "mosaic-user-" + uid);
  EXPECT_EQ(agent["containerId"], nullptr);
  EXPECT_EQ(agent["lastActive"], nullptr);
  EXPECT_EQ(agent["openStreams"], 0);
  ASSERT_TRUE(agent["id"].is_string());

  // The bounds are accepted; the record stays the same one.
  for (int minutes : {0, 10080, 1}) {
    auto bound = Patch(*berth_, uid, json{{"idleTimeoutMin", minutes}}.dump(), kAdminToken);
    ASSERT_EQ(bound.status, 200) << minutes << " -> " << bound.body;
    EXPECT_EQ(bound.Json()["idleTimeoutMin"], minutes);
    EXPECT_EQ(bound.Json()["id"], agent["id"]);
  }
  // It is a full record: provisioning finds it, and its rotated token opens its config.
  EXPECT_EQ(berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken).status, 409);
  auto rotated =
      berth_->Post("/api/admin/users/" + uid + "/container?rotate=true", "", kAdminToken);
  ASSERT_EQ(rotated.status, 201) << rotated.body;
  EXPECT_EQ(rotated.Json()["id"], agent["id"]);
  EXPECT_EQ(berth_
                ->Get("/api/internal/agent-config/" + agent["id"].get<std::string>(),
                      rotated.Json()["token"])
                .status,
            200);
  // A record made by provisioning (or a first start) keeps its token when the timeout changes.
  auto [bob, bob_token] = CreateUser("bob");
  auto provisioned = berth_->Post("/api/admin/users/" + bob + "/container", "", kAdminToken);
  ASSERT_EQ(provisioned.status, 201) << provisioned.body;
  auto bob_agent = Patch(*berth_, bob, R"({"idleTimeoutMin":45})", kAdminToken);
  ASSERT_EQ(bob_agent.status, 200) << bob_agent.body;
  EXPECT_EQ(bob_agent.Json()["idleTimeoutMin"], 45);
  EXPECT_EQ(bob_agent.Json()["id"], provisioned.Json()["id"]);
  EXPECT_EQ(berth_
                ->Get("/api/internal/agent-config/" + provisioned.Json()["id"].get<std::string>(),
                      provisioned.Json()["token"])
                .status,
            200);
}

TEST_P(AdminAgentE2e, InvalidBodiesAre400WithTheErrorShape) {
  auto [uid, token] = CreateUser("alice");
  for (const std::string& bad : {
           std::string(""), std::string("not json"), std::string("[]"), std::string("30"),
           std::string("{}"),                                           // missing
           std::string(R"({"idleTimeoutMin":null})"),                   // wrong type
           std::string(R"({"idleTimeoutMin":"30"})"),                   //
           std::string(R"({"idleTimeoutMin":true})"),                   //
           std::string(R"({"idleTimeoutMin":[30]})"),                   //
           std::string(R"({"idleTimeoutMin":30.5})"),                   // not an integer
           std::string(R"({"idleTimeoutMin":3e1})"),                    //
           std::string(R"({"idleTimeoutMin":-1})"),                     // out of range
           std::string(R"({"idleTimeoutMin":10081})"),                  //
           std::string(R"({"idleTimeoutMin":9223372036854775808})"),    // beyond int64
           std::string(R"({"idleTimeoutMin":99999999999999999999})"),   // beyond uint64
           std::string(R"({"idleTimeoutMin":30,"status":"running"})"),  // unknown field
           std::string(R"({"idletimeoutmin":30})"),                     // misspelt
       }) {
    auto r = Patch(*berth_, uid, bad, kAdminToken);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << bad;
    EXPECT_FALSE(ErrorMessage(r).empty()) << bad;
  }
  // None of them made a record.
  EXPECT_EQ(berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken).status, 201);
}

TEST_P(AdminAgentE2e, UnknownUserIs404AndOnlyAdminsMaySetIt) {
  auto missing = Patch(*berth_, "ghost", R"({"idleTimeoutMin":30})", kAdminToken);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(ErrorCode(missing), "not_found");

  auto [uid, token] = CreateUser("alice");
  auto none = Patch(*berth_, uid, R"({"idleTimeoutMin":30})", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "unauthenticated");
  auto invalid = Patch(*berth_, uid, R"({"idleTimeoutMin":30})", "ba_not-a-real-token");
  EXPECT_EQ(invalid.status, 401);
  EXPECT_EQ(ErrorCode(invalid), "unauthenticated");
  // A user may not set it, not even their own.
  auto own = Patch(*berth_, uid, R"({"idleTimeoutMin":0})", token);
  EXPECT_EQ(own.status, 403);
  EXPECT_EQ(ErrorCode(own), "permission_denied");
  // None of the refused calls made a record.
  EXPECT_EQ(berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken).status, 201);
  // Other verbs on the route are not routed.
  EXPECT_EQ(berth_->Get("/api/admin/users/" + uid + "/agent", kAdminToken).status, 405);
}

BERTH_E2E_ON_EVERY_STORE(AdminAgentE2e);

}  // namespace
}  // namespace berth::testing
