#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <utility>

#include "store/records.hpp"

namespace berth::lifecycle {

// Which agent: a user's, or a system container. Users have one agent each, so a user agent is
// named by its user's id; a system container by its record's id.
struct AgentKey {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string owner;  // the user's id, or the system container's record id

  static AgentKey User(std::string user_id) {
    return {store::ContainerKind::kUser, std::move(user_id)};
  }
  static AgentKey System(std::string id) { return {store::ContainerKind::kSystem, std::move(id)}; }
  bool is_user() const { return kind == store::ContainerKind::kUser; }

  friend auto operator<=>(const AgentKey&, const AgentKey&) = default;
};

// "user" or "system": the berth.kind label's values and the API's.
std::string_view AgentKindName(store::ContainerKind kind);

// "user:<id>" or "system:<id>", for logs.
std::string ToString(const AgentKey& key);

}  // namespace berth::lifecycle
