#pragma once

#include <cstdint>
#include <string>

#include "store/records.hpp"

// The warm pool's hand-over (Store::ClaimPoolAgent), the part both backends share: the user's
// record a pooled agent's system record becomes. Private to the store module.
namespace berth::store::pool_claim {

// Whether the user's existing record may be replaced: it never ran, so it has no state.
inline bool NeverRan(const UserContainer& c) {
  return !c.container_id && !c.last_active_at && c.status == "stopped";
}

inline UserContainer AdoptedRecord(const SystemContainer& pooled, const std::string& user_id,
                                   int64_t now_ms, int idle_timeout_min) {
  UserContainer c;
  c.id = pooled.id;  // the container's AGENT_ID and berth.record label
  c.user_id = user_id;
  c.container_id = pooled.container_id;
  c.container_name = pooled.container_name;  // and so its state volume
  c.gateway_port = pooled.gateway_port;
  c.gateway_token = pooled.gateway_token;
  c.token_hash = pooled.token_hash;
  c.status = "running";
  c.last_active_at = now_ms;
  c.idle_timeout_min = idle_timeout_min;
  c.config_json = "{}";
  c.created_at = c.updated_at = now_ms;
  c.node_id = pooled.node_id;
  c.node_name = pooled.node_name;
  return c;
}

}  // namespace berth::store::pool_claim
