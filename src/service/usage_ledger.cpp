#include "service/usage_ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <unordered_map>

namespace berth::service {

void UsageLedger::Add(store::UsageRow& into, const store::UsageRow& from) {
  into.requests += from.requests;
  into.input_tokens += from.input_tokens;
  into.output_tokens += from.output_tokens;
  into.cache_read_tokens += from.cache_read_tokens;
  into.cache_write_tokens += from.cache_write_tokens;
  into.reasoning_tokens += from.reasoning_tokens;
  into.cost_nano_usd += from.cost_nano_usd;
  into.unpriced_requests += from.unpriced_requests;
}

std::string UsageLedger::Today() const {
  const auto day = std::chrono::floor<std::chrono::days>(clock_->Now());
  const std::chrono::year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

void UsageLedger::Record(store::UsageRow row) {
  row.day = Today();
  Key key{row.user_id, row.day, row.provider, row.model};
  std::lock_guard lock(mu_);
  auto it = pending_.find(key);
  if (it != pending_.end()) {
    Add(it->second, row);
  } else if (pending_.size() < kMaxPendingKeys) {
    pending_.emplace(std::move(key), std::move(row));
  } else if (dropped_++ % 1000 == 0) {
    spdlog::error("llm usage: {} calls not counted: the store has not taken the pending usage",
                  dropped_);
  }
}

void UsageLedger::Log(store::LlmRequestLogEntry entry) {
  // Logged as the call ends: it began its duration ago.
  if (entry.at_ms == 0) entry.at_ms = ToUnixMillis(clock_->Now()) - entry.duration_ms;
  std::lock_guard lock(mu_);
  pending_log_.push_back(std::move(entry));
  if (pending_log_.size() > kMaxPendingLog) {
    pending_log_.pop_front();
    if (dropped_log_++ % 1000 == 0) {
      spdlog::warn("llm request log: {} entries dropped: the store has not taken the pending log",
                   dropped_log_);
    }
  }
}

Status UsageLedger::FlushLog() {
  std::vector<store::LlmRequestLogEntry> entries;
  {
    std::lock_guard lock(mu_);
    entries.assign(std::make_move_iterator(pending_log_.begin()),
                   std::make_move_iterator(pending_log_.end()));
    pending_log_.clear();
  }
  if (entries.empty()) return Status::Ok();
  // The store keeps each user's newest kRequestLogPerUser: older ones of a busy user would be
  // written only to be deleted in the same transaction.
  std::unordered_map<std::string, std::size_t> per_user;
  std::vector<store::LlmRequestLogEntry> newest;
  newest.reserve(entries.size());
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (++per_user[it->user_id] <= store::Store::kRequestLogPerUser) {
      newest.push_back(std::move(*it));
    }
  }
  std::reverse(newest.begin(), newest.end());
  entries = std::move(newest);
  Status written = store_->AddRequestLog(entries);
  if (!written.ok()) {
    spdlog::warn("llm request log: cannot write {} entries, keeping them for the next try: {}",
                 entries.size(), written.message());
    std::lock_guard lock(mu_);
    // Older than what came meanwhile: back in front, then the cap again.
    pending_log_.insert(pending_log_.begin(), std::make_move_iterator(entries.begin()),
                        std::make_move_iterator(entries.end()));
    while (pending_log_.size() > kMaxPendingLog) pending_log_.pop_front();
  }
  return written;
}

Status UsageLedger::Flush() {
  std::lock_guard flushing(flush_mu_);
  Status usage = FlushUsage();
  Status log = FlushLog();
  return usage.ok() ? log : usage;
}

Status UsageLedger::FlushUsage() {
  std::map<Key, store::UsageRow> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return Status::Ok();
  std::vector<store::UsageRow> rows;
  rows.reserve(batch.size());
  for (const auto& [key, row] : batch) rows.push_back(row);
  Status written = store_->AddUsage(rows);
  if (!written.ok()) {
    spdlog::warn("llm usage: cannot write {} rows, keeping them for the next try: {}", rows.size(),
                 written.message());
    std::lock_guard lock(mu_);
    for (auto& [key, row] : batch) {
      auto [it, inserted] = pending_.try_emplace(key, row);
      if (!inserted) Add(it->second, row);
    }
  }
  return written;
}

void UsageLedger::Start(std::chrono::milliseconds interval) {
  loop_.Start(interval, [this] { Flush().ok(); });  // a failure is logged inside
}

void UsageLedger::Stop() {
  loop_.Stop();
  Flush().ok();  // a failure is logged inside
}

Result<std::vector<store::LlmRequestLogEntry>> UsageLedger::ListRequests(
    const std::optional<std::string>& user_id, std::size_t limit) {
  Flush().ok();  // what cannot be written now still shows below
  auto stored = store_->ListRequestLog(user_id, limit);
  if (!stored.ok()) return stored.status();
  std::vector<store::LlmRequestLogEntry> out;
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_log_.rbegin(); it != pending_log_.rend() && out.size() < limit; ++it) {
      if (!user_id || it->user_id == *user_id) out.push_back(*it);
    }
  }
  for (auto& entry : *stored) {
    if (out.size() >= limit) break;
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<store::UsageRow>> UsageLedger::List(const store::UsageQuery& query) {
  Flush().ok();  // what cannot be written now still shows below
  auto rows = store_->ListUsage(query);
  if (!rows.ok()) return rows.status();
  // What could not be written yet is added to the stored row of its key.
  std::map<Key, store::UsageRow> merged;
  for (store::UsageRow& row : *rows) {
    Key key{row.user_id, row.day, row.provider, row.model};
    merged.emplace(std::move(key), std::move(row));
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, row] : pending_) {
      if (query.user_id && row.user_id != *query.user_id) continue;
      if (row.day < query.from_day || row.day > query.to_day) continue;
      auto [it, inserted] = merged.try_emplace(key, row);
      if (!inserted) Add(it->second, row);
    }
  }
  std::vector<store::UsageRow> out;
  out.reserve(merged.size());
  for (auto& [key, row] : merged) out.push_back(std::move(row));
  std::sort(out.begin(), out.end(), [](const store::UsageRow& a, const store::UsageRow& b) {
    return std::tie(a.day, a.user_id, a.provider, a.model) <
           std::tie(b.day, b.user_id, b.provider, b.model);
  });
  return out;
}

}  // namespace berth::service
