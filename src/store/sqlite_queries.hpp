#pragma once

// The SQL of SqliteStore, one statement each (prepared once per connection and cached). Kept in
// a header so tests can check the query plans of the hot-path lookups. Column order in each
// SELECT matches the Read* function of its record in sqlite_store.cpp.
namespace berth::store::sqlite_queries {

inline constexpr const char kPing[] = "SELECT 1";

// users
inline constexpr const char kInsertUser[] =
    "INSERT INTO users (id, name, email, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)";
inline constexpr const char kGetUser[] =
    "SELECT id, name, email, created_at, updated_at FROM users WHERE id = ?1";
inline constexpr const char kListUsers[] =
    "SELECT id, name, email, created_at, updated_at FROM users ORDER BY created_at, rowid";
inline constexpr const char kDeleteUser[] = "DELETE FROM users WHERE id = ?1";

// api_tokens
inline constexpr const char kInsertApiToken[] =
    "INSERT INTO api_tokens (id, role, user_id, token_hash, created_at, prefix) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
inline constexpr const char kFindApiTokenByHash[] =
    "SELECT id, role, user_id, token_hash, created_at, prefix, last_used_at FROM api_tokens "
    "WHERE token_hash = ?1";
inline constexpr const char kGetApiToken[] =
    "SELECT id, role, user_id, token_hash, created_at, prefix, last_used_at FROM api_tokens "
    "WHERE id = ?1";
inline constexpr const char kListUserApiTokens[] =
    "SELECT id, role, user_id, token_hash, created_at, prefix, last_used_at FROM api_tokens "
    "WHERE user_id = ?1 ORDER BY created_at, rowid";
inline constexpr const char kListAdminApiTokens[] =
    "SELECT id, role, user_id, token_hash, created_at, prefix, last_used_at FROM api_tokens "
    "WHERE user_id IS NULL AND role = 'admin' ORDER BY created_at, rowid";
inline constexpr const char kDeleteApiToken[] = "DELETE FROM api_tokens WHERE id = ?1";
inline constexpr const char kRecordTokenUse[] =
    "UPDATE api_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) WHERE id = ?1";
// Admin tokens are exactly those without a user (CHECK in the schema), which the user_id index
// finds without a scan.
inline constexpr const char kHasAdminToken[] =
    "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE user_id IS NULL AND role = 'admin')";

// llm_providers
inline constexpr const char kInsertProvider[] =
    "INSERT INTO llm_providers (id, user_id, name, display_name, type, base_url, api_key, "
    "api_type, models, is_active, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
// kInsertProvider unless the user has ?13 providers already (the count and the insert are one
// statement, under SQLite's write lock).
inline constexpr const char kInsertProviderCapped[] =
    "INSERT INTO llm_providers (id, user_id, name, display_name, type, base_url, api_key, "
    "api_type, models, is_active, created_at, updated_at) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 "
    "WHERE (SELECT COUNT(*) FROM llm_providers WHERE user_id = ?2) < ?13";
inline constexpr const char kGetProvider[] =
    "SELECT id, user_id, name, display_name, type, base_url, api_key, api_type, models, "
    "is_active, created_at, updated_at FROM llm_providers WHERE id = ?1 AND user_id = ?2";
inline constexpr const char kListProviders[] =
    "SELECT id, user_id, name, display_name, type, base_url, api_key, api_type, models, "
    "is_active, created_at, updated_at FROM llm_providers WHERE user_id = ?1 "
    "ORDER BY created_at, rowid";
inline constexpr const char kListActiveProviders[] =
    "SELECT id, user_id, name, display_name, type, base_url, api_key, api_type, models, "
    "is_active, created_at, updated_at FROM llm_providers WHERE user_id = ?1 AND is_active = 1 "
    "ORDER BY created_at, rowid";
inline constexpr const char kUpdateProvider[] =
    "UPDATE llm_providers SET name = ?3, display_name = ?4, type = ?5, base_url = ?6, "
    "api_key = ?7, api_type = ?8, models = ?9, is_active = ?10, updated_at = ?11 "
    "WHERE id = ?1 AND user_id = ?2";
inline constexpr const char kDeleteProvider[] =
    "DELETE FROM llm_providers WHERE id = ?1 AND user_id = ?2";

// user_agent_configs
inline constexpr const char kGetAgentConfig[] =
    "SELECT user_id, primary_model, created_at, updated_at FROM user_agent_configs "
    "WHERE user_id = ?1";
// created_at is kept from the first insert.
inline constexpr const char kUpsertAgentConfig[] =
    "INSERT INTO user_agent_configs (user_id, primary_model, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id) DO UPDATE SET "
    "primary_model = excluded.primary_model, updated_at = excluded.updated_at";

// user_containers
inline constexpr const char kInsertUserContainer[] =
    "INSERT INTO user_containers (id, user_id, container_id, container_name, gateway_port, "
    "gateway_token, token_hash, status, last_active_at, idle_timeout_min, config, created_at, "
    "updated_at, node_id, node_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15)";
inline constexpr const char kGetUserContainer[] =
    "SELECT id, user_id, container_id, container_name, gateway_port, gateway_token, token_hash, "
    "status, last_active_at, idle_timeout_min, config, created_at, updated_at, node_id, node_name "
    "FROM user_containers WHERE id = ?1";
inline constexpr const char kGetUserContainerByUser[] =
    "SELECT id, user_id, container_id, container_name, gateway_port, gateway_token, token_hash, "
    "status, last_active_at, idle_timeout_min, config, created_at, updated_at, node_id, node_name "
    "FROM user_containers WHERE user_id = ?1";
inline constexpr const char kListUserContainers[] =
    "SELECT id, user_id, container_id, container_name, gateway_port, gateway_token, token_hash, "
    "status, last_active_at, idle_timeout_min, config, created_at, updated_at, node_id, node_name "
    "FROM user_containers ORDER BY created_at, rowid";
// user_id and created_at are immutable; idle_timeout_min has its own write.
inline constexpr const char kUpdateUserContainer[] =
    "UPDATE user_containers SET container_id = ?2, container_name = ?3, gateway_port = ?4, "
    "gateway_token = ?5, token_hash = ?6, status = ?7, last_active_at = ?8, config = ?9, "
    "updated_at = ?10 WHERE id = ?1";
inline constexpr const char kSetUserContainerIdleTimeout[] =
    "UPDATE user_containers SET idle_timeout_min = ?2, updated_at = ?3 WHERE user_id = ?1";

// Activity is monotonic: a late flush of an older stamp never moves it back.
inline constexpr const char kRecordUserActivity[] =
    "UPDATE user_containers SET last_active_at = MAX(COALESCE(last_active_at, 0), ?2) "
    "WHERE id = ?1";

inline constexpr const char kSelectInstanceId[] =
    "SELECT value FROM berth_meta WHERE key = 'instance_id'";

// system_containers
inline constexpr const char kInsertSystemContainer[] =
    "INSERT INTO system_containers (id, name, primary_model, container_id, container_name, "
    "gateway_port, gateway_token, token_hash, status, last_active_at, config, created_at, "
    "updated_at, node_id, node_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15)";
inline constexpr const char kGetSystemContainer[] =
    "SELECT id, name, primary_model, container_id, container_name, gateway_port, gateway_token, "
    "token_hash, status, last_active_at, config, created_at, updated_at, node_id, node_name "
    "FROM system_containers WHERE id = ?1";
inline constexpr const char kListSystemContainers[] =
    "SELECT id, name, primary_model, container_id, container_name, gateway_port, gateway_token, "
    "token_hash, status, last_active_at, config, created_at, updated_at, node_id, node_name "
    "FROM system_containers ORDER BY created_at, rowid";
// created_at is immutable.
inline constexpr const char kUpdateSystemContainer[] =
    "UPDATE system_containers SET name = ?2, primary_model = ?3, container_id = ?4, "
    "container_name = ?5, gateway_port = ?6, gateway_token = ?7, token_hash = ?8, status = ?9, "
    "last_active_at = ?10, config = ?11, updated_at = ?12 WHERE id = ?1";
// The warm pool's hand-over (sqlite_pool_claim.cpp).
inline constexpr const char kDeleteUserContainer[] = "DELETE FROM user_containers WHERE id = ?1";
inline constexpr const char kTakeSystemContainer[] =
    "DELETE FROM system_containers WHERE id = ?1 RETURNING id, name, primary_model, "
    "container_id, container_name, gateway_port, gateway_token, token_hash, status, "
    "last_active_at, config, created_at, updated_at, node_id, node_name";
inline constexpr const char kDeleteSystemContainer[] =
    "DELETE FROM system_containers WHERE id = ?1";

// Two unique-index probes in one round trip; kind 0 = user, 1 = system. The triggers in the
// schema keep a hash from being in both tables.

// The internal endpoint's lookup: container by token hash with its primary model (the owner's
// agent setting for user containers).
inline constexpr const char kFindAgentConfigSource[] =
    "SELECT 0, c.id, c.token_hash, c.user_id, a.primary_model, c.gateway_token "
    "FROM user_containers c "
    "LEFT JOIN user_agent_configs a ON a.user_id = c.user_id WHERE c.token_hash = ?1 "
    "UNION ALL SELECT 1, id, token_hash, NULL, primary_model, gateway_token FROM system_containers "
    "WHERE token_hash = ?1 LIMIT 1";
inline constexpr const char kBeginRead[] = "BEGIN DEFERRED";
inline constexpr const char kCommit[] = "COMMIT";
inline constexpr const char kRollback[] = "ROLLBACK";

// Key rotation. Column kinds: 0 provider api_key, 1 user container token, 2 system container
// token. Empty strings are not sealed values and are skipped like NULLs.
inline constexpr const char kListSecrets[] =
    "SELECT 0, id, api_key FROM llm_providers WHERE api_key IS NOT NULL AND api_key <> '' "
    "UNION ALL SELECT 1, id, gateway_token FROM user_containers WHERE gateway_token <> '' "
    "UNION ALL SELECT 2, id, gateway_token FROM system_containers WHERE gateway_token <> ''";
// Compare-and-swap: changes one row only while the column still holds the old value (?3).
inline constexpr const char kReplaceProviderApiKey[] =
    "UPDATE llm_providers SET api_key = ?2 WHERE id = ?1 AND api_key = ?3";
inline constexpr const char kReplaceUserContainerToken[] =
    "UPDATE user_containers SET gateway_token = ?2 WHERE id = ?1 AND gateway_token = ?3";
inline constexpr const char kReplaceSystemContainerToken[] =
    "UPDATE system_containers SET gateway_token = ?2 WHERE id = ?1 AND gateway_token = ?3";

// Whole-database copies (SnapshotStore): every table in list order, read in one transaction.
inline constexpr const char kAllApiTokens[] =
    "SELECT id, role, user_id, token_hash, created_at, prefix, last_used_at FROM api_tokens "
    "ORDER BY created_at, rowid";
inline constexpr const char kAllProviders[] =
    "SELECT id, user_id, name, display_name, type, base_url, api_key, api_type, models, "
    "is_active, created_at, updated_at FROM llm_providers ORDER BY created_at, rowid";
inline constexpr const char kAllAgentConfigs[] =
    "SELECT user_id, primary_model, created_at, updated_at FROM user_agent_configs "
    "ORDER BY created_at, rowid";
inline constexpr const char kCopyApiToken[] =
    "INSERT INTO api_tokens (id, role, user_id, token_hash, created_at, prefix, last_used_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
inline constexpr const char kSetInstanceId[] =
    "INSERT INTO berth_meta (key, value) VALUES ('instance_id', ?1) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
// Deleting users cascades to their tokens, providers, settings and containers.
inline constexpr const char kDeleteEverything[] =
    "DELETE FROM system_containers; DELETE FROM api_tokens; DELETE FROM users;";
inline constexpr const char kCountRows[] =
    "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM api_tokens), "
    "(SELECT COUNT(*) FROM llm_providers), (SELECT COUNT(*) FROM user_agent_configs), "
    "(SELECT COUNT(*) FROM user_containers), (SELECT COUNT(*) FROM system_containers), "
    "(SELECT COUNT(*) FROM llm_usage), (SELECT COUNT(*) FROM llm_limits), "
    "(SELECT COUNT(*) FROM llm_budget), (SELECT COUNT(*) FROM llm_request_log)";

}  // namespace berth::store::sqlite_queries
