#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/status.hpp"
#include "store/store.hpp"

namespace berth::service {

// Each user's LLM limits (set by an admin) and their enforcement on the gateway: a call is
// admitted only after its worst case is reserved in every window a limit applies to (UTC day,
// UTC month, minute), in the store, so that limits hold in total across replicas and concurrent
// calls cannot overshoot; it is settled with what it really used when it ends. A user without
// limits costs no store write at all. Thread-safe.
class LlmBudget {
 public:
  // Limits are read through a cache of this age: a change reaches every replica within it.
  static constexpr std::chrono::milliseconds kLimitsCacheAge{5000};

  LlmBudget(store::StorePtr store, ClockPtr clock) : store_(std::move(store)), clock_(clock) {}

  // Validates (every limit >= 0) and stores; kNotFound without the user.
  Status SetLimits(store::LlmLimits limits);
  // The user's limits, nullopt when none were set (fresh from the store).
  Result<std::optional<store::LlmLimits>> GetLimits(const std::string& user_id);

  // A reserved call, to settle when it ends. Inactive (nothing reserved) for a user without
  // limits.
  struct Ticket {
    std::string user_id;
    std::vector<std::string> periods;
    store::BudgetCharge reserved;
    bool active = false;
    bool money = false;  // a USD limit applies
  };
  // The call's worst case: `nano_usd` nullopt when its model has no price. kResourceExhausted
  // (the message names the limit and when it resets; retry_after_s set for minute limits) when a
  // window has no room; kPermissionDenied for a model without a price while a USD limit is set.
  Result<Ticket> Admit(const std::string& user_id, std::optional<int64_t> nano_usd, int64_t tokens,
                       int* retry_after_s = nullptr);
  // What the call used. Failures are logged: the reservation then stays until its window ends.
  void Settle(const Ticket& ticket, int64_t nano_usd, int64_t tokens);

  // Forgets windows that have ended (run now and then).
  void Prune();

 private:
  Result<std::optional<store::LlmLimits>> CachedLimits(const std::string& user_id);

  const store::StorePtr store_;
  const ClockPtr clock_;
  std::mutex mu_;
  struct Cached {
    std::optional<store::LlmLimits> limits;
    std::chrono::steady_clock::time_point read_at;
  };
  std::map<std::string, Cached> cache_;  // guarded by mu_
};

}  // namespace berth::service
