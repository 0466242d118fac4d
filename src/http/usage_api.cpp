// What agents used through berth's LLM gateway: /api/usage (the caller's), /api/admin/usage;
// their recent calls: /api/usage/requests, /api/admin/usage/requests; and the limits admins set
// on it: /api/admin/users/:id/limits.
#include <charconv>
#include <chrono>
#include <cmath>
#include <set>

#include "http/api_routes.hpp"

namespace berth::http::api {
namespace {

using V = bhttp::verb;

// A "YYYY-MM-DD" that names a real day.
bool IsDay(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  const auto number = [&](std::size_t at, std::size_t len, auto& out) {
    const char* first = text.data() + at;
    const auto [end, ec] = std::from_chars(first, first + len, out);
    return ec == std::errc() && end == first + len;
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return false;
  return std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m),
                                     std::chrono::day(d))
      .ok();
}

// ?from=&to= (inclusive, UTC days): by default this month up to today.
Result<store::UsageQuery> ReadRange(const Request& r, const service::UsageLedger& ledger) {
  store::UsageQuery query;
  query.to_day = ledger.Today();
  query.from_day = query.to_day.substr(0, 8) + "01";
  for (auto [name, field] : {std::pair{"from", &query.from_day}, std::pair{"to", &query.to_day}}) {
    if (auto it = r.query.find(name); it != r.query.end()) {
      if (!IsDay(it->second)) {
        return InvalidArgument(std::string(name) + " must be a day, YYYY-MM-DD");
      }
      *field = it->second;
    }
  }
  if (query.from_day > query.to_day) return InvalidArgument("from must not be after to");
  return query;
}

json UsageJson(const store::UsageQuery& query, const std::vector<store::UsageRow>& rows,
               bool with_user) {
  json totals = {{"requests", 0},        {"inputTokens", 0},      {"outputTokens", 0},
                 {"cacheReadTokens", 0}, {"cacheWriteTokens", 0}, {"reasoningTokens", 0},
                 {"unpricedRequests", 0}};
  int64_t cost = 0;
  json list = json::array();
  for (const store::UsageRow& u : rows) {
    json row = {{"day", u.day},
                {"provider", u.provider},
                {"model", u.model},
                {"requests", u.requests},
                {"inputTokens", u.input_tokens},
                {"outputTokens", u.output_tokens},
                {"cacheReadTokens", u.cache_read_tokens},
                {"cacheWriteTokens", u.cache_write_tokens},
                {"reasoningTokens", u.reasoning_tokens},
                {"costUsd", static_cast<double>(u.cost_nano_usd) / 1e9},
                {"unpricedRequests", u.unpriced_requests}};
    if (with_user) row["userId"] = u.user_id;
    for (const char* key : {"requests", "inputTokens", "outputTokens", "cacheReadTokens",
                            "cacheWriteTokens", "reasoningTokens", "unpricedRequests"}) {
      totals[key] = totals[key].get<int64_t>() + row[key].get<int64_t>();
    }
    cost += u.cost_nano_usd;
    list.push_back(std::move(row));
  }
  totals["costUsd"] = static_cast<double>(cost) / 1e9;
  return {{"from", query.from_day},
          {"to", query.to_day},
          {"totals", std::move(totals)},
          {"usage", std::move(list)}};
}

// The limits' JSON names, beside their fields; USD ones are kept in nano-USD.
struct LimitField {
  const char* name;
  std::optional<int64_t> store::LlmLimits::*field;
  bool usd;
};
constexpr LimitField kLimitFields[] = {
    {"usdPerDay", &store::LlmLimits::nano_usd_per_day, true},
    {"usdPerMonth", &store::LlmLimits::nano_usd_per_month, true},
    {"tokensPerDay", &store::LlmLimits::tokens_per_day, false},
    {"tokensPerMonth", &store::LlmLimits::tokens_per_month, false},
    {"requestsPerMinute", &store::LlmLimits::requests_per_minute, false},
    {"tokensPerMinute", &store::LlmLimits::tokens_per_minute, false},
};
constexpr double kMaxUsdLimit = 1e9;

json LimitsJson(const std::optional<store::LlmLimits>& limits) {
  json out = json::object();
  for (const LimitField& f : kLimitFields) {
    const std::optional<int64_t> value = limits ? (*limits).*f.field : std::nullopt;
    if (!value) {
      out[f.name] = nullptr;
    } else if (f.usd) {
      out[f.name] = static_cast<double>(*value) / 1e9;
    } else {
      out[f.name] = *value;
    }
  }
  return out;
}

// PUT replaces: a limit left out, or null, is no limit.
Result<store::LlmLimits> ReadLimits(const Request& r, const std::string& user_id) {
  std::set<std::string> allowed;
  for (const LimitField& f : kLimitFields) allowed.insert(f.name);
  auto body = ParseObject(r, allowed);
  if (!body.ok()) return body.status();
  store::LlmLimits limits;
  limits.user_id = user_id;
  for (const LimitField& f : kLimitFields) {
    const auto it = body->find(f.name);
    if (it == body->end() || it->is_null()) continue;
    if (f.usd) {
      if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0 ||
          it->get<double>() > kMaxUsdLimit) {
        return InvalidArgument(std::string(f.name) + " must be a number of USD, 0 to 1e9, or null");
      }
      limits.*f.field = std::llround(it->get<double>() * 1e9);
    } else {
      if (!it->is_number_integer() || it->get<int64_t>() < 0) {
        return InvalidArgument(std::string(f.name) + " must be a whole number >= 0, or null");
      }
      limits.*f.field = it->get<int64_t>();
    }
  }
  return limits;
}

// The usage report; with `budget`, the user's own limits beside it (so that an agent's 429 can be
// understood).
Response Answer(const Request& r, const std::shared_ptr<service::UsageLedger>& ledger,
                std::optional<std::string> user, bool with_user,
                service::LlmBudget* budget = nullptr) {
  if (!ledger) return ErrorResponse(Unavailable("usage is not counted by this berth"));
  auto query = ReadRange(r, *ledger);
  if (!query.ok()) return ErrorResponse(query.status());
  query->user_id = std::move(user);
  return Respond(ledger->List(*query), [&](const std::vector<store::UsageRow>& rows) {
    json body = UsageJson(*query, rows, with_user);
    if (budget != nullptr && query->user_id) {
      auto limits = budget->GetLimits(*query->user_id);
      if (!limits.ok()) return ErrorResponse(limits.status());
      body["limits"] = LimitsJson(*limits);
    }
    return Ok(body);
  });
}

constexpr std::size_t kDefaultLogLimit = 100;

json RequestLogJson(const std::vector<store::LlmRequestLogEntry>& entries, bool with_user) {
  json list = json::array();
  for (const store::LlmRequestLogEntry& e : entries) {
    json entry = {{"at", Time(e.at_ms)},
                  {"provider", e.provider},
                  {"model", e.model},
                  {"api", e.api},
                  {"status", e.status},
                  {"outcome", e.outcome},
                  {"inputTokens", e.input_tokens},
                  {"outputTokens", e.output_tokens},
                  {"cacheReadTokens", e.cache_read_tokens},
                  {"cacheWriteTokens", e.cache_write_tokens},
                  {"reasoningTokens", e.reasoning_tokens},
                  {"costUsd", e.priced ? json(static_cast<double>(e.cost_nano_usd) / 1e9) : json()},
                  {"durationMs", e.duration_ms}};
    if (with_user) entry["userId"] = e.user_id;
    list.push_back(std::move(entry));
  }
  return {{"requests", std::move(list)}};
}

// The newest logged calls; ?limit= 1..kRequestLogPerUser (default 100).
Response AnswerLog(const Request& r, const std::shared_ptr<service::UsageLedger>& ledger,
                   std::optional<std::string> user, bool with_user) {
  if (!ledger) return ErrorResponse(Unavailable("usage is not counted by this berth"));
  std::size_t limit = kDefaultLogLimit;
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    const std::string& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit == 0 ||
        limit > store::Store::kRequestLogPerUser) {
      return ErrorResponse(InvalidArgument("limit must be a whole number from 1 to " +
                                           std::to_string(store::Store::kRequestLogPerUser)));
    }
  }
  return Respond(ledger->ListRequests(user, limit),
                 [&](const std::vector<store::LlmRequestLogEntry>& entries) {
                   return Ok(RequestLogJson(entries, with_user));
                 });
}

}  // namespace

void RegisterUsageRoutes(Router& router, const ApiServices& s) {
  router.Add(
      V::get, "/api/usage",
      [u = s.usage, b = s.budget](Request& r) {
        return Answer(r, u, r.caller().user_id, false, b.get());
      },
      RouteOptions{Access::kUser});
  router.Add(
      V::get, "/api/admin/users/:id/limits",
      [a = s.accounts, b = s.budget](Request& r) {
        if (!b) return ErrorResponse(Unavailable("limits are not enforced by this berth"));
        if (auto user = a->GetUser(r.Param("id")); !user.ok()) return ErrorResponse(user.status());
        return Respond(b->GetLimits(r.Param("id")), [](const std::optional<store::LlmLimits>& l) {
          return Ok({{"limits", LimitsJson(l)}});
        });
      },
      RouteOptions{Access::kAdmin});
  router.Add(
      V::put, "/api/admin/users/:id/limits",
      [b = s.budget](Request& r) {
        if (!b) return ErrorResponse(Unavailable("limits are not enforced by this berth"));
        auto limits = ReadLimits(r, r.Param("id"));
        if (!limits.ok()) return ErrorResponse(limits.status());
        if (Status set = b->SetLimits(*limits); !set.ok()) return ErrorResponse(set);
        return Ok({{"limits", LimitsJson(*limits)}});
      },
      RouteOptions{Access::kAdmin});
  router.Add(
      V::get, "/api/admin/usage",
      [u = s.usage](Request& r) {
        std::optional<std::string> user;
        if (auto it = r.query.find("userId"); it != r.query.end()) user = it->second;
        return Answer(r, u, std::move(user), true);
      },
      RouteOptions{Access::kAdmin});
  router.Add(
      V::get, "/api/usage/requests",
      [u = s.usage](Request& r) { return AnswerLog(r, u, r.caller().user_id, false); },
      RouteOptions{Access::kUser});
  router.Add(
      V::get, "/api/admin/usage/requests",
      [u = s.usage](Request& r) {
        std::optional<std::string> user;
        if (auto it = r.query.find("userId"); it != r.query.end()) user = it->second;
        return AnswerLog(r, u, std::move(user), true);
      },
      RouteOptions{Access::kAdmin});
}

}  // namespace berth::http::api
