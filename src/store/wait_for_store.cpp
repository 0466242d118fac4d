#include "store/wait_for_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "store/database_url.hpp"
#include "store/postgres_connection.hpp"

namespace berth::store {
namespace {

using std::chrono::milliseconds;

// "0.25 s", "5 s", "60.01 s".
std::string Seconds(milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", static_cast<double>(d.count()) / 1000.0);
  std::string s = text;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + " s";
}

}  // namespace

Result<StorePtr> WaitForStore(const StoreWaitHooks& hooks, const StoreWaitOptions& options) {
  const auto start = hooks.clock->SteadyNow();
  const auto deadline = start + options.wait;
  milliseconds delay = options.first_delay;
  bool answered = false;  // whether a server answered after the previous attempt
  for (int attempt = 1;; ++attempt) {
    Result<StorePtr> store = hooks.open();
    if (store.ok() || store.status().code() != ErrorCode::kUnavailable ||
        options.wait.count() <= 0) {
      return store;
    }
    const std::string& error = store.status().message();
    // Up, and it refused this berth twice: a wrong password or database name, which waiting
    // cannot cure. Once may only mean it finished starting between the attempt and the probe.
    const bool answers = hooks.server_answers();
    if (answers && answered) return store;
    answered = answers;
    milliseconds pause{0};
    if (!answers) {
      const auto now = hooks.clock->SteadyNow();
      if (now >= deadline) {
        return Unavailable(error + " (gave up after waiting " +
                           Seconds(std::chrono::duration_cast<milliseconds>(now - start)) +
                           " for the database: BERTH_DATABASE_WAIT)");
      }
      pause = std::min(delay, std::chrono::ceil<milliseconds>(deadline - now));
      delay = std::min(delay * 2, options.max_delay);
      if (attempt == 1 || attempt % std::max(1, options.warn_every) == 0) {
        hooks.warn("database not reachable yet (attempt " + std::to_string(attempt) +
                   "), trying again in " + Seconds(pause) + ", for up to " + Seconds(options.wait) +
                   " in all (BERTH_DATABASE_WAIT): " + error);
      }
    }
    if (!hooks.sleep(pause)) return Unavailable("stopped while waiting for the database: " + error);
  }
}

Result<StorePtr> OpenStoreWaiting(const std::string& database_url, const StoreWaitOptions& options,
                                  std::function<bool(milliseconds)> sleep) {
  auto url = ParseDatabaseUrl(database_url);
  if (!url.ok() || url->kind != DatabaseUrl::Kind::kPostgres) return OpenStore(database_url);
  StoreWaitHooks hooks;
  hooks.open = [&database_url] { return OpenStore(database_url); };
  hooks.server_answers = [conninfo = url->postgres_conninfo] { return PgServerAnswers(conninfo); };
  hooks.sleep = std::move(sleep);
  hooks.warn = [](const std::string& message) { spdlog::warn("{}", message); };
  hooks.clock = std::make_shared<SystemClock>();
  return WaitForStore(hooks, options);
}

}  // namespace berth::store
