// What agents used through berth's LLM gateway: /api/usage (the caller's), /api/admin/usage.
#include <charconv>
#include <chrono>

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

Response Answer(const Request& r, const std::shared_ptr<service::UsageLedger>& ledger,
                std::optional<std::string> user, bool with_user) {
  if (!ledger) return ErrorResponse(Unavailable("usage is not counted by this berth"));
  auto query = ReadRange(r, *ledger);
  if (!query.ok()) return ErrorResponse(query.status());
  query->user_id = std::move(user);
  return Respond(ledger->List(*query), [&](const std::vector<store::UsageRow>& rows) {
    return Ok(UsageJson(*query, rows, with_user));
  });
}

}  // namespace

void RegisterUsageRoutes(Router& router, const ApiServices& s) {
  router.Add(
      V::get, "/api/usage",
      [u = s.usage](Request& r) { return Answer(r, u, r.caller().user_id, false); },
      RouteOptions{Access::kUser});
  router.Add(
      V::get, "/api/admin/usage",
      [u = s.usage](Request& r) {
        std::optional<std::string> user;
        if (auto it = r.query.find("userId"); it != r.query.end()) user = it->second;
        return Answer(r, u, std::move(user), true);
      },
      RouteOptions{Access::kAdmin});
}

}  // namespace berth::http::api
