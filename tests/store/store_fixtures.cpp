#include "store/store_fixtures.hpp"

#include <sqlite3.h>

namespace berth::store::testing {

User MakeUser(const std::string& id, int64_t created_at) {
  User u;
  u.id = id;
  u.name = "Name of " + id;
  u.email = id + "@example.com";
  u.created_at = created_at;
  u.updated_at = created_at + 1;
  return u;
}

ApiToken MakeUserToken(const std::string& id, const std::string& user_id,
                       const std::string& token_hash) {
  ApiToken t;
  t.id = id;
  t.role = TokenRole::kUser;
  t.user_id = user_id;
  t.token_hash = token_hash;
  t.created_at = 1000;
  return t;
}

ApiToken MakeAdminToken(const std::string& id, const std::string& token_hash) {
  ApiToken t;
  t.id = id;
  t.role = TokenRole::kAdmin;
  t.token_hash = token_hash;
  t.created_at = 1000;
  return t;
}

LlmProvider MakeProvider(const std::string& id, const std::string& user_id, const std::string& name,
                         int64_t created_at) {
  LlmProvider p;
  p.id = id;
  p.user_id = user_id;
  p.name = name;
  p.display_name = "Display " + name;
  p.type = "openai";
  p.base_url = "https://llm.example.com/v1";
  p.api_key = "sealed-key-of-" + id;
  p.api_type = "openai-completions";
  p.models_json = R"(["gpt-4o-mini",{"id":"glm-5","name":"GLM 5"}])";
  p.is_active = true;
  p.created_at = created_at;
  p.updated_at = created_at + 1;
  return p;
}

UserContainer MakeUserContainer(const std::string& id, const std::string& user_id,
                                const std::string& token_hash, int64_t created_at) {
  UserContainer c;
  c.id = id;
  c.user_id = user_id;
  c.container_id = "engine-" + id;
  c.container_name = "mosaic-user-" + user_id;
  c.gateway_port = 18789;
  c.gateway_token = "sealed-token-of-" + id;
  c.token_hash = token_hash;
  c.status = "running";
  c.last_active_at = created_at + 5;
  c.idle_timeout_min = 45;
  c.config_json = R"({"memory":"1.5g"})";
  c.created_at = created_at;
  c.updated_at = created_at + 1;
  return c;
}

SystemContainer MakeSystemContainer(const std::string& id, const std::string& name,
                                    const std::string& token_hash, int64_t created_at) {
  SystemContainer c;
  c.id = id;
  c.name = name;
  c.primary_model = "openai/gpt-4o-mini";
  c.container_id = "engine-" + id;
  c.container_name = "mosaic-system-" + name;
  c.gateway_port = 18789;
  c.gateway_token = "sealed-token-of-" + id;
  c.token_hash = token_hash;
  c.status = "running";
  c.last_active_at = created_at + 5;
  c.config_json = R"({"cpus":1})";
  c.created_at = created_at;
  c.updated_at = created_at + 1;
  return c;
}

std::vector<std::vector<std::string>> RawQuery(const std::string& path, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int n, char** values, char**) {
        auto* result = static_cast<std::vector<std::vector<std::string>>*>(out);
        std::vector<std::string> row;
        for (int i = 0; i < n; ++i) row.emplace_back(values[i] ? values[i] : "<null>");
        result->push_back(std::move(row));
        return 0;
      },
      &rows, &error);
  if (rc != SQLITE_OK) ADD_FAILURE() << sql << ": " << (error ? error : "?");
  sqlite3_free(error);
  sqlite3_close(db);
  return rows;
}

}  // namespace berth::store::testing
