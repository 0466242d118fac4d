#pragma once

#include <string>

namespace berth::service {

enum class Role { kUser, kAdmin };

// Who a bearer token belongs to.
struct Principal {
  Role role = Role::kUser;
  std::string user_id;   // empty for admins
  std::string token_id;  // the stored token's id; empty for BERTH_ADMIN_TOKEN
};

}  // namespace berth::service
