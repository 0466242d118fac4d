#include "service/llm_budget.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace berth::service {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::system_clock;

int64_t Ms(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string Usd(int64_t nano) {
  char text[32];
  std::snprintf(text, sizeof text, "$%.2f", static_cast<double>(nano) / 1e9);
  return text;
}

// The limits of one kind of window, in words: "$5.00, 100000 tokens".
std::string Maxima(const store::BudgetWindow& w) {
  std::string out;
  const auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (w.max_nano_usd) add(Usd(*w.max_nano_usd));
  if (w.max_tokens) add(std::to_string(*w.max_tokens) + " tokens");
  if (w.max_requests) add(std::to_string(*w.max_requests) + " requests");
  return out;
}

struct Windows {
  std::vector<store::BudgetWindow> list;
  std::vector<std::string> names;  // "daily", "monthly", "per-minute", beside list
  bool money = false;
};

Windows WindowsFor(const store::LlmLimits& l, system_clock::time_point now) {
  Windows out;
  const auto today = floor<days>(now);
  const std::chrono::year_month_day ymd(today);
  char text[32];
  if (l.nano_usd_per_day || l.tokens_per_day) {
    std::snprintf(text, sizeof text, "d:%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    out.list.push_back(
        {text, l.nano_usd_per_day, l.tokens_per_day, std::nullopt, Ms(today + days(2))});
    out.names.push_back("daily");
  }
  if (l.nano_usd_per_month || l.tokens_per_month) {
    std::snprintf(text, sizeof text, "m:%04d-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()));
    const auto next_month = std::chrono::sys_days(ymd.year() / ymd.month() / 1) + days(32);
    out.list.push_back(
        {text, l.nano_usd_per_month, l.tokens_per_month, std::nullopt, Ms(next_month + days(31))});
    out.names.push_back("monthly");
  }
  if (l.requests_per_minute || l.tokens_per_minute) {
    const auto minute = floor<std::chrono::minutes>(now);
    const std::chrono::hh_mm_ss hms(minute - today);
    std::snprintf(text, sizeof text, "t:%04d-%02u-%02uT%02d:%02d", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()));
    out.list.push_back({text, std::nullopt, l.tokens_per_minute, l.requests_per_minute,
                        Ms(minute + std::chrono::hours(1))});
    out.names.push_back("per-minute");
  }
  out.money = l.nano_usd_per_day || l.nano_usd_per_month;
  return out;
}

std::string ResetsAt(const std::string& name, system_clock::time_point now, int* retry_after_s) {
  if (name == "per-minute") {
    const auto next = floor<std::chrono::minutes>(now) + std::chrono::minutes(1);
    const auto wait = std::chrono::ceil<std::chrono::seconds>(next - now).count();
    if (retry_after_s != nullptr) *retry_after_s = static_cast<int>(std::max<int64_t>(1, wait));
    return "it frees up within " + std::to_string(wait) + " s";
  }
  return name == "daily" ? "it resets at 00:00 UTC" : "it resets on the 1st of the month (UTC)";
}

}  // namespace

Status LlmBudget::SetLimits(store::LlmLimits limits) {
  for (const auto* part :
       {&limits.nano_usd_per_day, &limits.nano_usd_per_month, &limits.tokens_per_day,
        &limits.tokens_per_month, &limits.requests_per_minute, &limits.tokens_per_minute}) {
    if (*part && **part < 0) return InvalidArgument("limits must not be negative");
  }
  limits.updated_at = Ms(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->SetLlmLimits(limits));
  std::lock_guard lock(mu_);
  cache_.erase(limits.user_id);
  return Status::Ok();
}

Result<std::optional<store::LlmLimits>> LlmBudget::GetLimits(const std::string& user_id) {
  return store_->GetLlmLimits(user_id);
}

Result<std::optional<store::LlmLimits>> LlmBudget::CachedLimits(const std::string& user_id) {
  const auto now = clock_->SteadyNow();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(user_id);
        it != cache_.end() && now - it->second.read_at < kLimitsCacheAge) {
      return it->second.limits;
    }
  }
  auto read = store_->GetLlmLimits(user_id);
  if (!read.ok()) return read.status();
  std::lock_guard lock(mu_);
  if (cache_.size() > 100000) cache_.clear();  // bounded; refilled on demand
  cache_[user_id] = Cached{*read, now};
  return read;
}

Result<LlmBudget::Ticket> LlmBudget::Admit(const std::string& user_id,
                                           std::optional<int64_t> nano_usd, int64_t tokens,
                                           int* retry_after_s) {
  Ticket ticket;
  ticket.user_id = user_id;
  auto limits = CachedLimits(user_id);
  if (!limits.ok()) return limits.status();
  if (!limits->has_value()) return ticket;
  const auto now = clock_->Now();
  Windows windows = WindowsFor(**limits, now);
  if (windows.list.empty()) return ticket;
  if (windows.money && !nano_usd) {
    return PermissionDenied(
        "berth: this model has no known price and this user's LLM use has a USD budget; an admin "
        "can set the model's cost in the provider definition (models[].cost)");
  }
  ticket.reserved = {nano_usd.value_or(0), tokens, 1};
  ticket.money = windows.money;
  auto full = store_->ReserveBudget(user_id, windows.list, ticket.reserved);
  if (!full.ok()) return full.status();
  if (full->has_value()) {
    for (std::size_t i = 0; i < windows.list.size(); ++i) {
      if (windows.list[i].period != **full) continue;
      std::string message = "berth: this user's " + windows.names[i] + " LLM limit (" +
                            Maxima(windows.list[i]) + ") has no room for this request";
      if (windows.list[i].max_nano_usd) {
        message += " (it may cost up to " + Usd(ticket.reserved.nano_usd) + ")";
      }
      return ResourceExhausted(message + "; " + ResetsAt(windows.names[i], now, retry_after_s));
    }
    return ResourceExhausted("berth: this user's LLM limit has no room for this request");
  }
  for (const auto& window : windows.list) ticket.periods.push_back(window.period);
  ticket.active = true;
  return ticket;
}

void LlmBudget::Settle(const Ticket& ticket, int64_t nano_usd, int64_t tokens) {
  if (!ticket.active) return;
  store::BudgetCharge reserved = ticket.reserved;
  reserved.requests = 0;  // a request counts once it is admitted
  Status settled =
      store_->SettleBudget(ticket.user_id, ticket.periods, reserved, {nano_usd, tokens, 0});
  if (!settled.ok()) {
    spdlog::warn(
        "llm budget: cannot settle a call of user {}; its reservation stays until its "
        "window ends: {}",
        ticket.user_id, settled.message());
  }
}

void LlmBudget::Prune() {
  if (Status pruned = store_->PruneBudgets(Ms(clock_->Now())); !pruned.ok()) {
    spdlog::warn("llm budget: cannot forget ended windows: {}", pruned.message());
  }
}

}  // namespace berth::service
