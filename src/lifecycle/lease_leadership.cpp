#include "lifecycle/lease_leadership.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>

#include "common/ids.hpp"

namespace berth::lifecycle {
namespace {

int64_t Nanos(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string NewReplicaId() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host = {'b', 'e', 'r', 't', 'h'};
  return std::string(host.data()) + "-" + std::to_string(getpid()) + "-" + NewId(4);
}

LeaseLeadership::LeaseLeadership(store::StorePtr store, std::string holder,
                                 std::chrono::milliseconds ttl, ClockPtr clock)
    : store_(std::move(store)), holder_(std::move(holder)), ttl_(ttl), clock_(std::move(clock)) {}

LeaseLeadership::~LeaseLeadership() { Stop(); }

bool LeaseLeadership::IsLeader() { return Nanos(clock_->SteadyNow()) < believed_until_ns_.load(); }

void LeaseLeadership::Lose(const char* why) {
  if (believed_until_ns_.exchange(0) != 0) {
    spdlog::warn("lifecycle: this replica no longer leads the fleet ({})", why);
  }
}

void LeaseLeadership::Tick() {
  const auto sent = clock_->SteadyNow();
  const bool leading = IsLeader();
  if (leading) {
    auto renewed = store_->RenewLease({kLeaseName, holder_, epoch_.load()}, ttl_.count());
    if (renewed.ok() && *renewed) {
      believed_until_ns_ = Nanos(sent + ttl_ * 3 / 4);
      return;
    }
    if (renewed.ok()) {
      Lose("another replica took the lease over");
    } else {
      // Still leading until the belief runs out; the next tick tries again.
      spdlog::warn("lifecycle: cannot renew the leader lease: {}", renewed.status().message());
      return;
    }
  }
  auto taken = store_->AcquireLease(kLeaseName, holder_, ttl_.count());
  if (!taken.ok()) {
    Lose("the database does not answer");
    return;
  }
  if (!taken->has_value()) {
    Lose("another replica leads");
    return;
  }
  epoch_ = **taken;
  believed_until_ns_ = Nanos(sent + ttl_ * 3 / 4);
  spdlog::info("lifecycle: this replica ({}) leads the fleet (lease epoch {})", holder_, **taken);
}

void LeaseLeadership::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void LeaseLeadership::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    cv_.wait_for(lock, ttl_ / 4, [this] { return stopping_; });
  }
}

void LeaseLeadership::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (believed_until_ns_.exchange(0) != 0) {
    Status freed = store_->ReleaseLease({kLeaseName, holder_, epoch_.load()});
    if (!freed.ok()) {
      spdlog::warn("lifecycle: cannot release the leader lease (it expires by itself): {}",
                   freed.message());
    }
  }
}

}  // namespace berth::lifecycle
