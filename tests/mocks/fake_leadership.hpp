#pragma once

#include <atomic>

#include "lifecycle/leadership.hpp"

namespace berth::testing {

// Leadership a test hands over and takes back; counts how often it was asked.
class FakeLeadership final : public lifecycle::Leadership {
 public:
  bool IsLeader() override {
    ++asked;
    return leader;
  }
  int64_t Term() override { return term; }
  std::atomic<bool> leader{true};
  std::atomic<int64_t> term{1};
  std::atomic<int> asked{0};
};

}  // namespace berth::testing
