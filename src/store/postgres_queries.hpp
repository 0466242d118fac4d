#pragma once

// The SQL of PostgresStore, one statement each (prepared once per connection). Column order in
// each SELECT and parameter numbering in each write match the shared readers and binders in
// record_rows.hpp, and the statements mirror sqlite_queries.hpp one for one; "seq" plays the
// part of SQLite's rowid as the insertion-order tiebreak.
namespace berth::store::postgres_queries {

inline constexpr const char kPing[] = "SELECT 1";

// The server's clock in Unix milliseconds (clock_timestamp: the time of the statement itself,
// not of its transaction's start).
#define BERTH_PG_NOW "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"
// Deletes with `delete_sql` (a DELETE ... RETURNING the subject, $1 its key) and enters each
// deleted row in the change feed as a change of kind $2, in one statement: both or neither.
#define BERTH_PG_DELETE_NOTING(delete_sql)                         \
  "WITH gone AS (" delete_sql                                      \
  ") INSERT INTO changes (kind, subject, at_ms) SELECT $2::text, " \
  "subject, " BERTH_PG_NOW " FROM gone"

#define BERTH_PG_USER_COLUMNS "id, name, email, created_at, updated_at"
#define BERTH_PG_TOKEN_COLUMNS "id, role, user_id, token_hash, created_at, prefix, last_used_at"
#define BERTH_PG_PROVIDER_COLUMNS                                                           \
  "id, user_id, name, display_name, type, base_url, api_key, api_type, models, is_active, " \
  "created_at, updated_at"
#define BERTH_PG_AGENT_CONFIG_COLUMNS "user_id, primary_model, created_at, updated_at"
#define BERTH_PG_USER_CONTAINER_COLUMNS                                                  \
  "id, user_id, container_id, container_name, gateway_port, gateway_token, token_hash, " \
  "status, last_active_at, idle_timeout_min, config, created_at, updated_at, node_id, "  \
  "node_name"
#define BERTH_PG_SYSTEM_CONTAINER_COLUMNS                                                \
  "id, name, primary_model, container_id, container_name, gateway_port, gateway_token, " \
  "token_hash, status, last_active_at, config, created_at, updated_at, node_id, node_name"

// users
inline constexpr const char kInsertUser[] =
    "INSERT INTO users (" BERTH_PG_USER_COLUMNS ") VALUES ($1, $2, $3, $4, $5)";
inline constexpr const char kGetUser[] =
    "SELECT " BERTH_PG_USER_COLUMNS " FROM users WHERE id = $1";
inline constexpr const char kListUsers[] =
    "SELECT " BERTH_PG_USER_COLUMNS " FROM users ORDER BY created_at, seq";
inline constexpr const char kDeleteUser[] =
    BERTH_PG_DELETE_NOTING("DELETE FROM users WHERE id = $1 RETURNING id AS subject");

// api_tokens
inline constexpr const char kInsertApiToken[] =
    "INSERT INTO api_tokens (id, role, user_id, token_hash, created_at, prefix) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
inline constexpr const char kFindApiTokenByHash[] =
    "SELECT " BERTH_PG_TOKEN_COLUMNS " FROM api_tokens WHERE token_hash = $1";
inline constexpr const char kGetApiToken[] =
    "SELECT " BERTH_PG_TOKEN_COLUMNS " FROM api_tokens WHERE id = $1";
inline constexpr const char kListUserApiTokens[] =
    "SELECT " BERTH_PG_TOKEN_COLUMNS " FROM api_tokens WHERE user_id = $1 ORDER BY created_at, seq";
inline constexpr const char kListAdminApiTokens[] =
    "SELECT " BERTH_PG_TOKEN_COLUMNS
    " FROM api_tokens WHERE user_id IS NULL AND role = 'admin' ORDER BY created_at, seq";
inline constexpr const char kDeleteApiToken[] =
    BERTH_PG_DELETE_NOTING("DELETE FROM api_tokens WHERE id = $1 RETURNING id AS subject");
inline constexpr const char kRecordTokenUse[] =
    "UPDATE api_tokens SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2::bigint) "
    "WHERE id = $1";
inline constexpr const char kHasAdminToken[] =
    "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE user_id IS NULL AND role = 'admin')";

// llm_providers
inline constexpr const char kInsertProvider[] =
    "INSERT INTO llm_providers (" BERTH_PG_PROVIDER_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
// CreateProviderCapped runs kLockUser then kInsertProviderCapped in one transaction: the row
// lock on the owner serialises capped creations for one user, and the count runs after it (in
// READ COMMITTED a statement's snapshot is taken when it starts, so the count must be a later
// statement than the lock to see what the previous holder committed).
inline constexpr const char kLockUser[] = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";
inline constexpr const char kInsertProviderCapped[] =
    "INSERT INTO llm_providers (" BERTH_PG_PROVIDER_COLUMNS
    ") SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, "
    "$9::text, $10::boolean, $11::bigint, $12::bigint "
    "WHERE (SELECT COUNT(*) FROM llm_providers WHERE user_id = $2::text) < $13::bigint";
inline constexpr const char kGetProvider[] =
    "SELECT " BERTH_PG_PROVIDER_COLUMNS " FROM llm_providers WHERE id = $1 AND user_id = $2";
inline constexpr const char kListProviders[] =
    "SELECT " BERTH_PG_PROVIDER_COLUMNS
    " FROM llm_providers WHERE user_id = $1 ORDER BY created_at, seq";
inline constexpr const char kListActiveProviders[] =
    "SELECT " BERTH_PG_PROVIDER_COLUMNS
    " FROM llm_providers WHERE user_id = $1 AND is_active ORDER BY created_at, seq";
inline constexpr const char kUpdateProvider[] =
    "UPDATE llm_providers SET name = $3, display_name = $4, type = $5, base_url = $6, "
    "api_key = $7, api_type = $8, models = $9, is_active = $10, updated_at = $11 "
    "WHERE id = $1 AND user_id = $2";
inline constexpr const char kDeleteProvider[] =
    "DELETE FROM llm_providers WHERE id = $1 AND user_id = $2";

// user_agent_configs; created_at is kept from the first insert.
inline constexpr const char kGetAgentConfig[] =
    "SELECT " BERTH_PG_AGENT_CONFIG_COLUMNS " FROM user_agent_configs WHERE user_id = $1";
inline constexpr const char kUpsertAgentConfig[] =
    "INSERT INTO user_agent_configs (" BERTH_PG_AGENT_CONFIG_COLUMNS
    ") VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET "
    "primary_model = EXCLUDED.primary_model, updated_at = EXCLUDED.updated_at";

// user_containers
inline constexpr const char kInsertUserContainer[] =
    "INSERT INTO user_containers (" BERTH_PG_USER_CONTAINER_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
inline constexpr const char kGetUserContainer[] =
    "SELECT " BERTH_PG_USER_CONTAINER_COLUMNS " FROM user_containers WHERE id = $1";
inline constexpr const char kGetUserContainerByUser[] =
    "SELECT " BERTH_PG_USER_CONTAINER_COLUMNS " FROM user_containers WHERE user_id = $1";
inline constexpr const char kListUserContainers[] =
    "SELECT " BERTH_PG_USER_CONTAINER_COLUMNS " FROM user_containers ORDER BY created_at, seq";
// user_id and created_at are immutable; idle_timeout_min has its own write.
inline constexpr const char kUpdateUserContainer[] =
    "UPDATE user_containers SET container_id = $2, container_name = $3, gateway_port = $4, "
    "gateway_token = $5, token_hash = $6, status = $7, last_active_at = $8, config = $9, "
    "updated_at = $10 WHERE id = $1";
inline constexpr const char kSetUserContainerIdleTimeout[] =
    "UPDATE user_containers SET idle_timeout_min = $2, updated_at = $3 WHERE user_id = $1";
inline constexpr const char kRecordUserActivity[] =
    "UPDATE user_containers SET last_active_at = GREATEST(COALESCE(last_active_at, 0), "
    "$2::bigint) WHERE id = $1";

inline constexpr const char kSelectInstanceId[] =
    "SELECT value FROM berth_meta WHERE key = 'instance_id'";

// system_containers
inline constexpr const char kInsertSystemContainer[] =
    "INSERT INTO system_containers (" BERTH_PG_SYSTEM_CONTAINER_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
inline constexpr const char kGetSystemContainer[] =
    "SELECT " BERTH_PG_SYSTEM_CONTAINER_COLUMNS " FROM system_containers WHERE id = $1";
inline constexpr const char kListSystemContainers[] =
    "SELECT " BERTH_PG_SYSTEM_CONTAINER_COLUMNS " FROM system_containers ORDER BY created_at, seq";
inline constexpr const char kUpdateSystemContainer[] =
    "UPDATE system_containers SET name = $2, primary_model = $3, container_id = $4, "
    "container_name = $5, gateway_port = $6, gateway_token = $7, token_hash = $8, status = $9, "
    "last_active_at = $10, config = $11, updated_at = $12 WHERE id = $1";
inline constexpr const char kDeleteSystemContainer[] =
    "DELETE FROM system_containers WHERE id = $1";

// The internal endpoint's lookup in one statement (hence one snapshot, one round trip) for an
// array of token hashes ($1, a text[] literal; one alone as well): each container by token hash
// (kind 0 user, 1 system) with its primary model, then the owner's active providers oldest
// first, one row each (provider columns NULL when there are none), ordered by hash. Settings are a
// correlated subquery and providers a LATERAL join, so that each container's are index lookups
// whatever the planner's statistics say (without them, as right after `berth db copy`, it scanned
// every provider for a batch).
inline constexpr const char kLoadAgentConfigSources[] =
    "WITH c AS ("
    "SELECT 0 AS kind, c.id, c.token_hash, c.user_id, (SELECT primary_model FROM "
    "user_agent_configs a WHERE a.user_id = c.user_id), c.gateway_token FROM user_containers c "
    "WHERE c.token_hash = ANY($1::text[]) "
    "UNION ALL SELECT 1, id, token_hash, NULL, primary_model, gateway_token FROM system_containers "
    "WHERE token_hash = ANY($1::text[])) "
    "SELECT c.kind, c.id, c.token_hash, c.user_id, c.primary_model, p.id, p.user_id, p.name, "
    "p.display_name, p.type, p.base_url, p.api_key, p.api_type, p.models, p.is_active, "
    "p.created_at, p.updated_at, c.gateway_token FROM c LEFT JOIN LATERAL (SELECT * FROM "
    "llm_providers "
    "WHERE c.kind = 0 AND user_id = c.user_id AND is_active ORDER BY created_at, seq) p ON true "
    "ORDER BY c.token_hash, p.created_at, p.seq";

// Key rotation, as in sqlite_queries.hpp.
inline constexpr const char kListSecrets[] =
    "SELECT 0, id, api_key FROM llm_providers WHERE api_key IS NOT NULL AND api_key <> '' "
    "UNION ALL SELECT 1, id, gateway_token FROM user_containers WHERE gateway_token <> '' "
    "UNION ALL SELECT 2, id, gateway_token FROM system_containers WHERE gateway_token <> ''";
inline constexpr const char kReplaceProviderApiKey[] =
    "UPDATE llm_providers SET api_key = $2 WHERE id = $1 AND api_key = $3";
inline constexpr const char kReplaceUserContainerToken[] =
    "UPDATE user_containers SET gateway_token = $2 WHERE id = $1 AND gateway_token = $3";
inline constexpr const char kReplaceSystemContainerToken[] =
    "UPDATE system_containers SET gateway_token = $2 WHERE id = $1 AND gateway_token = $3";

// Whole-database copies (SnapshotStore): every table in list order, read in one snapshot.
inline constexpr const char kBeginSnapshot[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
inline constexpr const char kAllApiTokens[] =
    "SELECT " BERTH_PG_TOKEN_COLUMNS " FROM api_tokens ORDER BY created_at, seq";
inline constexpr const char kAllProviders[] =
    "SELECT " BERTH_PG_PROVIDER_COLUMNS " FROM llm_providers ORDER BY created_at, seq";
inline constexpr const char kAllAgentConfigs[] =
    "SELECT " BERTH_PG_AGENT_CONFIG_COLUMNS " FROM user_agent_configs ORDER BY created_at, seq";
inline constexpr const char kCopyApiToken[] =
    "INSERT INTO api_tokens (" BERTH_PG_TOKEN_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7)";
// A snapshot write holds both container tables against every other writer for the rest of its
// transaction, so the token hash trigger (migration 5) may check each row without a lock of
// its own: a copy of N containers would otherwise take N advisory locks at once.
inline constexpr const char kLockContainerTables[] =
    "LOCK TABLE user_containers, system_containers IN SHARE ROW EXCLUSIVE MODE";
inline constexpr const char kBulkCopyOn[] = "SET LOCAL berth.bulk_copy = 'on'";
inline constexpr const char kSetInstanceId[] =
    "INSERT INTO berth_meta (key, value) VALUES ('instance_id', $1) "
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
// Deleting users cascades to their tokens, providers, settings and containers.
inline constexpr const char kDeleteEverything[] =
    "DELETE FROM system_containers; DELETE FROM api_tokens; DELETE FROM users";
inline constexpr const char kCountRows[] =
    "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM api_tokens), "
    "(SELECT COUNT(*) FROM llm_providers), (SELECT COUNT(*) FROM user_agent_configs), "
    "(SELECT COUNT(*) FROM user_containers), (SELECT COUNT(*) FROM system_containers), "
    "(SELECT COUNT(*) FROM llm_usage), (SELECT COUNT(*) FROM llm_limits), "
    "(SELECT COUNT(*) FROM llm_budget), (SELECT COUNT(*) FROM llm_request_log)";

// The warm pool's hand-over (postgres_pool_claim.cpp).
inline constexpr const char kLockUserContainerByUser[] =
    "SELECT " BERTH_PG_USER_CONTAINER_COLUMNS " FROM user_containers WHERE user_id = $1 FOR UPDATE";
inline constexpr const char kDeleteUserContainer[] = "DELETE FROM user_containers WHERE id = $1";
inline constexpr const char kTakeSystemContainer[] =
    "DELETE FROM system_containers WHERE id = $1 RETURNING " BERTH_PG_SYSTEM_CONTAINER_COLUMNS;

#undef BERTH_PG_USER_COLUMNS
#undef BERTH_PG_TOKEN_COLUMNS
#undef BERTH_PG_PROVIDER_COLUMNS
#undef BERTH_PG_AGENT_CONFIG_COLUMNS
#undef BERTH_PG_USER_CONTAINER_COLUMNS
#undef BERTH_PG_SYSTEM_CONTAINER_COLUMNS

}  // namespace berth::store::postgres_queries
