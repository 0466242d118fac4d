#include "store/postgres_error.hpp"

#include <string>
#include <string_view>

namespace berth::store {
namespace {

std::string Field(const PGresult* result, int field) {
  const char* value = PQresultErrorField(result, field);
  return value ? value : "";
}

// Constraint names of the schema (postgres_migrations.cpp) -> the columns as SQLite names them.
std::string_view ColumnsOf(std::string_view constraint) {
  struct Entry {
    std::string_view constraint, columns;
  };
  static constexpr Entry kColumns[] = {
      {"users_pkey", "users.id"},
      {"api_tokens_pkey", "api_tokens.id"},
      {"api_tokens_token_hash_key", "api_tokens.token_hash"},
      {"llm_providers_pkey", "llm_providers.id"},
      {"llm_providers_user_id_name_key", "llm_providers.user_id, llm_providers.name"},
      {"user_agent_configs_pkey", "user_agent_configs.user_id"},
      {"user_containers_pkey", "user_containers.id"},
      {"user_containers_user_id_key", "user_containers.user_id"},
      {"user_containers_token_hash_key", "user_containers.token_hash"},
      {"system_containers_pkey", "system_containers.id"},
      {"system_containers_name_key", "system_containers.name"},
      {"system_containers_token_hash_key", "system_containers.token_hash"},
      {"berth_meta_pkey", "berth_meta.key"},
  };
  for (const Entry& e : kColumns) {
    if (e.constraint == constraint) return e.columns;
  }
  return constraint;
}

}  // namespace

Status PgResultStatus(const PGresult* result) {
  if (result == nullptr) return Unavailable("postgres: no result (connection lost)");
  const std::string state = Field(result, PG_DIAG_SQLSTATE);
  const std::string primary = Field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (state.empty()) {
    // A client-side failure (libpq found the connection gone): no server diagnostics.
    std::string message = PQresultErrorMessage(result);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return Unavailable("postgres: " + (message.empty() ? std::string("request failed") : message));
  }
  if (state == "23505") {
    return AlreadyExists("postgres: unique constraint failed: " +
                         std::string(ColumnsOf(Field(result, PG_DIAG_CONSTRAINT_NAME))));
  }
  if (state == "23503") return NotFound("postgres: foreign key constraint failed");
  const std::string_view cls = std::string_view(state).substr(0, 2);
  if (cls == "22") return Internal("postgres: data exception " + state);
  const std::string text = "postgres: " + state + " " + primary;
  if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || state == "55P03") {
    return Unavailable(text);
  }
  return Internal(text);
}

bool PgResultEndsSession(const PGresult* result) {
  const std::string state = Field(result, PG_DIAG_SQLSTATE);
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

}  // namespace berth::store
