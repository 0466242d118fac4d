#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "support/berth_process.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {

// A berth serving a fresh data dir, with a known admin token.
class BerthE2eTest : public ::testing::Test {
 protected:
  static constexpr const char* kAdminToken = "e2e-admin-token-0123456789abcdefghijklmnop";

  std::map<std::string, std::string> BaseEnv() const {
    // Agents would reach berth at its public listener (no internal listener), which then serves
    // the internal agent-config endpoint too.
    return {{"BERTH_DATA_DIR", dir_.path().string()},
            {"BERTH_ADMIN_TOKEN", kAdminToken},
            {"MOSAIC_API_URL", "http://berth.test:3000/api"}};
  }

  std::unique_ptr<BerthProcess> StartBerth(std::map<std::string, std::string> env) {
    std::string error;
    auto p = BerthProcess::Start(dir_.path().string(), env, {}, &error);
    EXPECT_NE(p, nullptr) << error;
    return p;
  }

  void SetUp() override {
    berth_ = StartBerth(BaseEnv());
    ASSERT_NE(berth_, nullptr);
  }

  // Creates a user and returns {id, token}.
  std::pair<std::string, std::string> CreateUser(const std::string& name) {
    auto r = berth_->Post("/api/admin/users", nlohmann::json{{"name", name}}.dump(), kAdminToken);
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = r.Json();
    return {j["user"]["id"].get<std::string>(), j["token"].get<std::string>()};
  }

  static std::string ErrorCode(const HttpResult& r) {
    auto j = r.Json();
    if (!j.is_object() || !j.contains("error")) return "<no error object: " + r.body + ">";
    EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
    return j["error"]["code"].get<std::string>();
  }
  static std::string ErrorMessage(const HttpResult& r) {
    auto j = r.Json();
    if (!j.is_object() || !j.contains("error")) return "";
    return j["error"]["message"].get<std::string>();
  }

  TempDir dir_;
  std::unique_ptr<BerthProcess> berth_;
};

}  // namespace berth::testing
