#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.hpp"
#include "common/periodic_thread.hpp"
#include "common/result.hpp"
#include "common/status.hpp"
#include "store/store.hpp"

namespace berth::service {

// What agents use through berth's LLM gateway, added up in memory and written to the store in
// batches: one upsert per (user, provider, model, day) touched since the last flush, never one
// write per call (a busy gateway would otherwise load the database with a write per request).
// Every replica keeps its own batch; the store adds them up. A failed write keeps the batch for
// the next flush (bounded by kMaxPendingKeys: past it, new keys are counted as dropped and
// logged). The log of recent calls (store::LlmRequestLogEntry) goes the same way: kept in
// memory until the next flush (at most kMaxPendingLog entries; past it the oldest go), then
// written in one batch. Thread-safe.
class UsageLedger {
 public:
  static constexpr std::size_t kMaxPendingKeys = 100000;
  static constexpr std::size_t kMaxPendingLog = 10000;

  UsageLedger(store::StorePtr store, ClockPtr clock) : store_(std::move(store)), clock_(clock) {}
  ~UsageLedger() { Stop(); }
  UsageLedger(const UsageLedger&) = delete;
  UsageLedger& operator=(const UsageLedger&) = delete;

  // Adds one call: `row` carries user, provider, model and the call's counts; its day is set
  // here, from the clock (UTC).
  void Record(store::UsageRow row);

  // Adds one call, as it ends, to the log of recent calls; an at_ms of 0 becomes when it began
  // (the clock's now less its duration_ms).
  void Log(store::LlmRequestLogEntry entry);

  // Writes the batch and the pending log. On failure what was not written is kept (usage merged
  // with what came meanwhile).
  Status Flush();

  // Flushes every `interval` on a thread of its own until Stop() (which flushes once more).
  void Start(std::chrono::milliseconds interval);
  void Stop();

  // The user's usage, written and pending, for days from..to ("YYYY-MM-DD"): flushes first so
  // that what a user just used shows at once.
  Result<std::vector<store::UsageRow>> List(const store::UsageQuery& query);

  // The newest logged calls, one user's or everyone's, newest first: flushes first, and what
  // cannot be written yet is listed too.
  Result<std::vector<store::LlmRequestLogEntry>> ListRequests(
      const std::optional<std::string>& user_id, std::size_t limit);

  // "YYYY-MM-DD" of the clock's now, UTC.
  std::string Today() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  static void Add(store::UsageRow& into, const store::UsageRow& from);
  Status FlushUsage();  // with flush_mu_ held
  Status FlushLog();    // with flush_mu_ held

  const store::StorePtr store_;
  const ClockPtr clock_;
  std::mutex mu_;
  std::map<Key, store::UsageRow> pending_;             // guarded by mu_
  std::size_t dropped_ = 0;                            // guarded by mu_
  std::deque<store::LlmRequestLogEntry> pending_log_;  // guarded by mu_, oldest first
  std::size_t dropped_log_ = 0;                        // guarded by mu_
  std::mutex flush_mu_;                                // one flush at a time
  PeriodicThread loop_;
};

}  // namespace berth::service
