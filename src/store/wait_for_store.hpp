#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "store/store.hpp"

namespace berth::store {

// How `berth serve` waits at start for a PostgreSQL server that does not answer yet
// (BERTH_DATABASE_WAIT): it may start after berth, e.g. both brought up together.
struct StoreWaitOptions {
  std::chrono::milliseconds wait{60000};       // the longest to keep trying; 0: one attempt
  std::chrono::milliseconds first_delay{250};  // before the second attempt, then doubling...
  std::chrono::milliseconds max_delay{5000};   // ...up to this
  int warn_every = 4;  // a warning after the first failed attempt, then after every 4th
};

// What waiting does to the world; OpenStoreWaiting() passes the real ones, tests fakes.
struct StoreWaitHooks {
  std::function<Result<StorePtr>()> open;  // one attempt at opening the store
  // Asked after an attempt failed with kUnavailable: whether a server answers at the address
  // at all (up, and it refused us), rather than nothing answering or a server still starting.
  std::function<bool()> server_answers;
  // Waits `delay` (0: only looks); false when berth is being stopped (SIGTERM): stop waiting.
  std::function<bool(std::chrono::milliseconds)> sleep;
  // Told that berth is still waiting, and why; messages name the server by its masked URL only.
  std::function<void(const std::string&)> warn;
  ClockPtr clock;
};

// Opens the store, trying again while the failure says the database is not reachable yet:
// - an attempt that succeeds, or fails with anything but kUnavailable (a bad URL, a schema
//   newer than this berth, a failed migration), ends the wait at once with its result;
// - kUnavailable while no server answers (connection refused or timed out, host unknown, the
//   server starting up or shutting down): tried again after first_delay, doubling up to
//   max_delay, until `wait` has passed since the first attempt; then the last attempt's error
//   with how long berth waited;
// - kUnavailable while a server answers (a wrong password, a missing role or database, TLS
//   refused): tried once more at once, in case the server only just finished starting, and if
//   that fails too, that error at once;
// - sleep() answering false: kUnavailable "stopped while waiting for the database".
// With wait 0 the first attempt's result is returned as it is.
Result<StorePtr> WaitForStore(const StoreWaitHooks& hooks, const StoreWaitOptions& options);

// WaitForStore() on a PostgreSQL BERTH_DATABASE_URL with OpenStore() as the attempt,
// PgServerAnswers() as the probe and spdlog warnings. Any other URL is opened once (SQLite's
// file is there or not; an invalid URL is refused).
Result<StorePtr> OpenStoreWaiting(const std::string& database_url, const StoreWaitOptions& options,
                                  std::function<bool(std::chrono::milliseconds)> sleep);

}  // namespace berth::store
