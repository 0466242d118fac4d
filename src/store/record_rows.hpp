#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/result.hpp"
#include "store/records.hpp"

// Record <-> row mapping shared by the SQL backends (sqlite_store.cpp, postgres_store.cpp).
// Private to the store module.
//
// Both backends select each record's columns in the same order and number the parameters of
// their writes the same way, so one reader and one binder per record serve both:
// - a Row has Text(c), OptionalText(c), Int64(c), OptionalInt64(c), OptionalInt(c), Bool(c) for
//   0-based column c of the current row (SqliteStatement, PgRow);
// - Params has Bind(index, value) for 1-based parameter indexes, a nullopt binding NULL
//   (SqliteStatement, PgParams).
// The column order of each SELECT is stated beside its reader; `first` offsets every column, for
// a record selected after other columns.
namespace berth::store::rows {

inline std::string_view RoleName(TokenRole role) {
  return role == TokenRole::kAdmin ? "admin" : "user";
}

inline std::string Quoted(const std::string& s) { return "'" + s + "'"; }

template <typename T>
struct Unwrapped {
  using type = T;
};
template <typename T>
struct Unwrapped<Result<T>> {
  using type = T;
};
// The record a reader makes from a Row, without its Result<> wrapper.
template <typename Read, typename Row>
using RowOf = typename Unwrapped<std::invoke_result_t<Read, const Row&>>::type;

// The user_id an API token is stored with ("" counts as none). kInvalidArgument unless a kUser
// token has one and a kAdmin token none.
inline Result<std::optional<std::string>> TokenOwner(const ApiToken& token) {
  std::optional<std::string> user_id = token.user_id;
  if (user_id && user_id->empty()) user_id.reset();
  if (token.role == TokenRole::kUser && !user_id) {
    return InvalidArgument("a user api token needs a user_id");
  }
  if (token.role == TokenRole::kAdmin && user_id) {
    return InvalidArgument("an admin api token has no user_id");
  }
  return user_id;
}

// id, name, email, created_at, updated_at
template <typename Row>
User ReadUser(const Row& r, int first = 0) {
  User u;
  u.id = r.Text(first + 0);
  u.name = r.Text(first + 1);
  u.email = r.OptionalText(first + 2);
  u.created_at = r.Int64(first + 3);
  u.updated_at = r.Int64(first + 4);
  return u;
}

// id, role, user_id, token_hash, created_at, prefix, last_used_at
template <typename Row>
Result<ApiToken> ReadApiToken(const Row& r, int first = 0) {
  ApiToken t;
  t.id = r.Text(first + 0);
  const std::string role = r.Text(first + 1);
  if (role == "user") {
    t.role = TokenRole::kUser;
  } else if (role == "admin") {
    t.role = TokenRole::kAdmin;
  } else {
    return Internal("api token " + Quoted(t.id) + " has unknown role " + Quoted(role));
  }
  t.user_id = r.OptionalText(first + 2);
  t.token_hash = r.Text(first + 3);
  t.created_at = r.Int64(first + 4);
  t.prefix = r.OptionalText(first + 5);
  t.last_used_at = r.OptionalInt64(first + 6);
  return t;
}

// id, user_id, name, display_name, type, base_url, api_key, api_type, models, is_active,
// created_at, updated_at
template <typename Row>
LlmProvider ReadProvider(const Row& r, int first = 0) {
  LlmProvider p;
  p.id = r.Text(first + 0);
  p.user_id = r.Text(first + 1);
  p.name = r.Text(first + 2);
  p.display_name = r.OptionalText(first + 3);
  p.type = r.Text(first + 4);
  p.base_url = r.OptionalText(first + 5);
  p.api_key = r.OptionalText(first + 6);
  p.api_type = r.OptionalText(first + 7);
  p.models_json = r.Text(first + 8);
  p.is_active = r.Bool(first + 9);
  p.created_at = r.Int64(first + 10);
  p.updated_at = r.Int64(first + 11);
  return p;
}

// user_id, primary_model, created_at, updated_at
template <typename Row>
UserAgentConfig ReadAgentConfig(const Row& r, int first = 0) {
  UserAgentConfig c;
  c.user_id = r.Text(first + 0);
  c.primary_model = r.OptionalText(first + 1);
  c.created_at = r.Int64(first + 2);
  c.updated_at = r.Int64(first + 3);
  return c;
}

// id, user_id, container_id, container_name, gateway_port, gateway_token, token_hash, status,
// last_active_at, idle_timeout_min, config, created_at, updated_at, node_id, node_name
template <typename Row>
UserContainer ReadUserContainer(const Row& r, int first = 0) {
  UserContainer c;
  c.id = r.Text(first + 0);
  c.user_id = r.Text(first + 1);
  c.container_id = r.OptionalText(first + 2);
  c.container_name = r.Text(first + 3);
  c.gateway_port = r.OptionalInt(first + 4);
  c.gateway_token = r.Text(first + 5);
  c.token_hash = r.Text(first + 6);
  c.status = r.Text(first + 7);
  c.last_active_at = r.OptionalInt64(first + 8);
  c.idle_timeout_min = static_cast<int>(r.Int64(first + 9));
  c.config_json = r.Text(first + 10);
  c.created_at = r.Int64(first + 11);
  c.updated_at = r.Int64(first + 12);
  c.node_id = r.OptionalText(first + 13);
  c.node_name = r.OptionalText(first + 14);
  return c;
}

// id, name, primary_model, container_id, container_name, gateway_port, gateway_token,
// token_hash, status, last_active_at, config, created_at, updated_at, node_id, node_name
template <typename Row>
SystemContainer ReadSystemContainer(const Row& r, int first = 0) {
  SystemContainer c;
  c.id = r.Text(first + 0);
  c.name = r.Text(first + 1);
  c.primary_model = r.OptionalText(first + 2);
  c.container_id = r.OptionalText(first + 3);
  c.container_name = r.Text(first + 4);
  c.gateway_port = r.OptionalInt(first + 5);
  c.gateway_token = r.Text(first + 6);
  c.token_hash = r.Text(first + 7);
  c.status = r.Text(first + 8);
  c.last_active_at = r.OptionalInt64(first + 9);
  c.config_json = r.Text(first + 10);
  c.created_at = r.Int64(first + 11);
  c.updated_at = r.Int64(first + 12);
  c.node_id = r.OptionalText(first + 13);
  c.node_name = r.OptionalText(first + 14);
  return c;
}

// kind (0 provider api_key, 1 user container token, 2 system container token), row id, value
template <typename Row>
StoredSecret ReadSecret(const Row& r) {
  StoredSecret secret;
  switch (r.Int64(0)) {
    case 0:
      secret.column = SecretColumn::kProviderApiKey;
      break;
    case 1:
      secret.column = SecretColumn::kUserContainerToken;
      break;
    default:
      secret.column = SecretColumn::kSystemContainerToken;
      break;
  }
  secret.row_id = r.Text(1);
  secret.value = r.Text(2);
  return secret;
}

// ---- writes: parameter numbering shared by both backends' INSERT/UPDATE statements ----------

// 1 id, 2 name, 3 email, 4 created_at, 5 updated_at
template <typename Params>
void BindUser(Params& s, const User& u) {
  s.Bind(1, u.id);
  s.Bind(2, u.name);
  s.Bind(3, u.email);
  s.Bind(4, u.created_at);
  s.Bind(5, u.updated_at);
}

// 1 id, 2 role, 3 user_id, 4 token_hash, 5 created_at, 6 prefix, 7 last_used_at (bound only
// when `with_last_use`: CreateApiToken never sets it, a copied database does)
template <typename Params>
void BindApiToken(Params& s, const ApiToken& t, const std::optional<std::string>& user_id,
                  bool with_last_use) {
  s.Bind(1, t.id);
  s.Bind(2, RoleName(t.role));
  s.Bind(3, user_id);
  s.Bind(4, t.token_hash);
  s.Bind(5, t.created_at);
  s.Bind(6, t.prefix);
  if (with_last_use) s.Bind(7, t.last_used_at);
}

// Insert: 1 id, 2 user_id, 3 name, 4 display_name, 5 type, 6 base_url, 7 api_key, 8 api_type,
// 9 models, 10 is_active, 11 created_at, 12 updated_at.
// Update (`for_update`): the same up to 10, then 11 updated_at (created_at is immutable).
template <typename Params>
void BindProvider(Params& s, const LlmProvider& p, bool for_update) {
  s.Bind(1, p.id);
  s.Bind(2, p.user_id);
  s.Bind(3, p.name);
  s.Bind(4, p.display_name);
  s.Bind(5, p.type);
  s.Bind(6, p.base_url);
  s.Bind(7, p.api_key);
  s.Bind(8, p.api_type);
  s.Bind(9, p.models_json);
  s.Bind(10, p.is_active);
  if (for_update) {
    s.Bind(11, p.updated_at);
    return;
  }
  s.Bind(11, p.created_at);
  s.Bind(12, p.updated_at);
}

// 1 user_id, 2 primary_model, 3 created_at, 4 updated_at
template <typename Params>
void BindAgentConfig(Params& s, const UserAgentConfig& c) {
  s.Bind(1, c.user_id);
  s.Bind(2, c.primary_model);
  s.Bind(3, c.created_at);
  s.Bind(4, c.updated_at);
}

// Insert: 1 id, 2 user_id, 3 container_id, 4 container_name, 5 gateway_port, 6 gateway_token,
// 7 token_hash, 8 status, 9 last_active_at, 10 idle_timeout_min, 11 config, 12 created_at,
// 13 updated_at, 14 node_id, 15 node_name.
template <typename Params>
void BindUserContainerInsert(Params& s, const UserContainer& c) {
  s.Bind(1, c.id);
  s.Bind(2, c.user_id);
  s.Bind(3, c.container_id);
  s.Bind(4, c.container_name);
  s.Bind(5, c.gateway_port);
  s.Bind(6, c.gateway_token);
  s.Bind(7, c.token_hash);
  s.Bind(8, c.status);
  s.Bind(9, c.last_active_at);
  s.Bind(10, c.idle_timeout_min);
  s.Bind(11, c.config_json);
  s.Bind(12, c.created_at);
  s.Bind(13, c.updated_at);
  s.Bind(14, c.node_id);
  s.Bind(15, c.node_name);
}

// Update: 1 id, 2 container_id, 3 container_name, 4 gateway_port, 5 gateway_token, 6 token_hash,
// 7 status, 8 last_active_at, 9 config, 10 updated_at (idle_timeout_min has its own write).
template <typename Params>
void BindUserContainerUpdate(Params& s, const UserContainer& c) {
  s.Bind(1, c.id);
  s.Bind(2, c.container_id);
  s.Bind(3, c.container_name);
  s.Bind(4, c.gateway_port);
  s.Bind(5, c.gateway_token);
  s.Bind(6, c.token_hash);
  s.Bind(7, c.status);
  s.Bind(8, c.last_active_at);
  s.Bind(9, c.config_json);
  s.Bind(10, c.updated_at);
}

// Insert: 1 id, 2 name, 3 primary_model, 4 container_id, 5 container_name, 6 gateway_port,
// 7 gateway_token, 8 token_hash, 9 status, 10 last_active_at, 11 config, 12 created_at,
// 13 updated_at, 14 node_id, 15 node_name. Update (`for_update`): the same up to 11, then
// 12 updated_at (the node has its own write).
template <typename Params>
void BindSystemContainer(Params& s, const SystemContainer& c, bool for_update) {
  s.Bind(1, c.id);
  s.Bind(2, c.name);
  s.Bind(3, c.primary_model);
  s.Bind(4, c.container_id);
  s.Bind(5, c.container_name);
  s.Bind(6, c.gateway_port);
  s.Bind(7, c.gateway_token);
  s.Bind(8, c.token_hash);
  s.Bind(9, c.status);
  s.Bind(10, c.last_active_at);
  s.Bind(11, c.config_json);
  if (for_update) {
    s.Bind(12, c.updated_at);
    return;
  }
  s.Bind(12, c.created_at);
  s.Bind(13, c.updated_at);
  s.Bind(14, c.node_id);
  s.Bind(15, c.node_name);
}

}  // namespace berth::store::rows
