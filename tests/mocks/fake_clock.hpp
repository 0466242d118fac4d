#pragma once

#include <atomic>
#include <chrono>

#include "common/clock.hpp"

namespace berth::testing {

// A clock tests move by hand. Steady time starts at the real steady clock's reading and advances
// with Advance() and with real time (so deadlines measured by polling loops still end).
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(wall_ms_.load()));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  void Advance(std::chrono::milliseconds d) {
    wall_ms_ += d.count();
    offset_ms_ += d.count();
  }

 private:
  std::atomic<int64_t> wall_ms_{1'700'000'000'000};
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace berth::testing
