#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.hpp"
#include "store/records.hpp"

// Helpers shared by the store tests: record factories, raw access to a database file, and
// assertions on Status / Result.

#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    const auto& berth_assert_ok_ = (expr);                                  \
    ASSERT_TRUE(::berth::StatusOf(berth_assert_ok_).ok())                   \
        << #expr << ": " << ::berth::StatusOf(berth_assert_ok_).ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                                     \
  do {                                                                      \
    const auto& berth_expect_ok_ = (expr);                                  \
    EXPECT_TRUE(::berth::StatusOf(berth_expect_ok_).ok())                   \
        << #expr << ": " << ::berth::StatusOf(berth_expect_ok_).ToString(); \
  } while (0)

// Expects `expr` to fail with `error` (an ErrorCode enumerator without the prefix).
#define EXPECT_CODE(expr, error)                                                       \
  do {                                                                                 \
    const auto& berth_expect_code_ = (expr);                                           \
    EXPECT_EQ(::berth::StatusOf(berth_expect_code_).code(), ::berth::ErrorCode::error) \
        << #expr << ": " << ::berth::StatusOf(berth_expect_code_).ToString();          \
  } while (0)

namespace berth::store::testing {

User MakeUser(const std::string& id, int64_t created_at = 1000);
ApiToken MakeUserToken(const std::string& id, const std::string& user_id,
                       const std::string& token_hash);
ApiToken MakeAdminToken(const std::string& id, const std::string& token_hash);
// Every optional field set.
LlmProvider MakeProvider(const std::string& id, const std::string& user_id, const std::string& name,
                         int64_t created_at = 1000);
UserContainer MakeUserContainer(const std::string& id, const std::string& user_id,
                                const std::string& token_hash, int64_t created_at = 1000);
SystemContainer MakeSystemContainer(const std::string& id, const std::string& name,
                                    const std::string& token_hash, int64_t created_at = 1000);

// Field-wise comparable views of records.
inline auto Tie(const User& u) {
  return std::tie(u.id, u.name, u.email, u.created_at, u.updated_at);
}
inline auto Tie(const ApiToken& t) {
  return std::tie(t.id, t.role, t.user_id, t.token_hash, t.created_at);
}
inline auto Tie(const LlmProvider& p) {
  return std::tie(p.id, p.user_id, p.name, p.display_name, p.type, p.base_url, p.api_key,
                  p.api_type, p.models_json, p.is_active, p.created_at, p.updated_at);
}
inline auto Tie(const UserAgentConfig& c) {
  return std::tie(c.user_id, c.primary_model, c.created_at, c.updated_at);
}
inline auto Tie(const UserContainer& c) {
  return std::tie(c.id, c.user_id, c.container_id, c.container_name, c.gateway_port,
                  c.gateway_token, c.token_hash, c.status, c.last_active_at, c.idle_timeout_min,
                  c.config_json, c.created_at, c.updated_at);
}
inline auto Tie(const SystemContainer& c) {
  return std::tie(c.id, c.name, c.primary_model, c.container_id, c.container_name, c.gateway_port,
                  c.gateway_token, c.token_hash, c.status, c.last_active_at, c.config_json,
                  c.created_at, c.updated_at);
}

// Runs `sql` on its own connection to the file and returns every row, NULL as "<null>".
std::vector<std::vector<std::string>> RawQuery(const std::string& path, const std::string& sql);

// Ids of a list of records, in order.
template <typename T>
std::vector<std::string> Ids(const std::vector<T>& records) {
  std::vector<std::string> ids;
  for (const T& r : records) ids.push_back(r.id);
  return ids;
}

}  // namespace berth::store::testing
