#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace berth::testagent {

// The retry schedule of the config fetch, shared with the real image's entrypoint: waits of
// `initial`, doubling up to `max`, for as long as the attempts so far took less than `budget`.
// Pure: the caller measures elapsed time (tests drive it without sleeping).
class Backoff {
 public:
  using Ms = std::chrono::milliseconds;

  Backoff(Ms initial = Ms(500), Ms max = Ms(5000), Ms budget = Ms(120000))
      : next_(initial), max_(max), budget_(budget) {}

  // The wait before the next attempt, given the time since the first attempt began; nullopt once
  // the budget is spent. The last wait is cut so that the last attempt starts within the budget.
  std::optional<Ms> Next(Ms elapsed) {
    if (elapsed >= budget_) return std::nullopt;
    Ms wait = std::min({next_, max_, budget_ - elapsed});
    next_ = std::min(next_ * 2, max_);
    return wait;
  }

  Ms budget() const { return budget_; }

 private:
  Ms next_;
  Ms max_;
  Ms budget_;
};

// What the fetch does after an HTTP answer: 2xx is the config; 5xx is retried like a network
// error; every other status (4xx above all: a bad token will not get better) ends it at once.
enum class FetchVerdict { kAccept, kRetry, kGiveUp };

inline FetchVerdict ClassifyStatus(unsigned status) {
  if (status >= 200 && status < 300) return FetchVerdict::kAccept;
  if (status >= 500 && status < 600) return FetchVerdict::kRetry;
  return FetchVerdict::kGiveUp;
}

}  // namespace berth::testagent
