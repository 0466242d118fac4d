// Waiting at start for a database that does not answer yet (BERTH_DATABASE_WAIT): the policy
// with fake attempts and time, then against the real PostgreSQL server.
#include "store/wait_for_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mocks/fake_clock.hpp"
#include "store/store_fixtures.hpp"
#include "support/postgres_test_cluster.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Scripted attempts: each open() answers the next of `results` (the last one from then on),
// each failed one is followed by server_answers() from `answers` (likewise).
class ScriptedDatabase {
 public:
  ScriptedDatabase(std::vector<Status> results, std::vector<bool> answers)
      : results_(std::move(results)), answers_(std::move(answers)) {}

  StoreWaitHooks Hooks() {
    StoreWaitHooks hooks;
    hooks.open = [this]() -> Result<StorePtr> {
      const Status& next = results_[std::min(attempts_, results_.size() - 1)];
      ++attempts_;
      if (next.ok()) return StorePtr();  // stands for an opened store
      return next;
    };
    hooks.server_answers = [this] { return answers_[std::min(probes_++, answers_.size() - 1)]; };
    hooks.sleep = [this](milliseconds d) {
      sleeps_.push_back(d.count());
      clock_->Advance(d);
      return sleeps_.size() != stop_at_sleep_;
    };
    hooks.warn = [this](const std::string& message) { warnings_.push_back(message); };
    hooks.clock = clock_;
    return hooks;
  }

  std::size_t attempts_ = 0;
  std::size_t probes_ = 0;
  std::vector<int64_t> sleeps_;
  std::vector<std::string> warnings_;
  std::size_t stop_at_sleep_ = 0;  // the sleep that answers "stop" (1-based; 0 = none)

 private:
  std::vector<Status> results_;
  std::vector<bool> answers_;
  std::shared_ptr<berth::testing::FakeClock> clock_ = std::make_shared<berth::testing::FakeClock>();
};

const Status kRefused = Unavailable(
    "BERTH_DATABASE_URL: postgres: cannot connect to postgres://berth:***@db/berth: "
    "connection refused");
const Status kBadPassword = Unavailable(
    "BERTH_DATABASE_URL: postgres: cannot connect to postgres://berth:***@db/berth: "
    "password authentication failed for user \"berth\"");

StoreWaitOptions WaitFor(milliseconds wait) {
  StoreWaitOptions options;
  options.wait = wait;
  return options;
}

TEST(WaitForStore, TriesAgainWithDoublingPausesWhileNoServerAnswers) {
  ScriptedDatabase db(
      {kRefused, kRefused, kRefused, kRefused, kRefused, kRefused, kRefused, Status::Ok()},
      {false});
  auto store = WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60)));
  ASSERT_OK(store);
  EXPECT_EQ(db.attempts_, 8u);
  EXPECT_THAT(db.sleeps_, ElementsAre(250, 500, 1000, 2000, 4000, 5000, 5000));
  // After the first failure, then every 4th: an operator sees it is waiting, not a flood.
  ASSERT_EQ(db.warnings_.size(), 2u);
  EXPECT_THAT(db.warnings_[0], HasSubstr("database not reachable yet (attempt 1), trying again "
                                         "in 0.25 s, for up to 60 s in all (BERTH_DATABASE_WAIT)"));
  EXPECT_THAT(db.warnings_[0], HasSubstr("postgres://berth:***@db/berth: connection refused"));
  EXPECT_THAT(db.warnings_[1], HasSubstr("(attempt 4), trying again in 2 s"));
}

TEST(WaitForStore, GivesUpAfterTheWaitWithTheLastErrorAndHowLongItWaited) {
  ScriptedDatabase db({kRefused}, {false});
  auto store = WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(10)));
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr(kRefused.message()));
  EXPECT_THAT(store.status().message(),
              HasSubstr("(gave up after waiting 10 s for the database: BERTH_DATABASE_WAIT)"));
  // The last pause ends at the deadline, where one more attempt is made.
  EXPECT_THAT(db.sleeps_, ElementsAre(250, 500, 1000, 2000, 4000, 2250));
  EXPECT_EQ(db.attempts_, 7u);
}

TEST(WaitForStore, AServerThatAnswersButRefusesFailsAtOnce) {
  ScriptedDatabase db({kBadPassword}, {true});
  auto store = WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60)));
  EXPECT_CODE(store, kUnavailable);
  EXPECT_EQ(store.status().message(), kBadPassword.message());
  // Tried once more at once (it may only just have started), then given up: no pause, no
  // warning about waiting.
  EXPECT_EQ(db.attempts_, 2u);
  EXPECT_THAT(db.sleeps_, ElementsAre(0));
  EXPECT_THAT(db.warnings_, IsEmpty());
}

TEST(WaitForStore, AServerThatFinishedStartingBetweenAttemptAndProbeIsUsed) {
  // The attempt met "the database system is starting up", the probe a server ready.
  ScriptedDatabase db({kRefused, Status::Ok()}, {true});
  ASSERT_OK(WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60))));
  EXPECT_EQ(db.attempts_, 2u);
  EXPECT_THAT(db.sleeps_, ElementsAre(0));
}

TEST(WaitForStore, AServerThatStopsAnsweringIsWaitedForAgain) {
  ScriptedDatabase db({kBadPassword, kRefused, kRefused, Status::Ok()}, {true, false});
  ASSERT_OK(WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60))));
  EXPECT_THAT(db.sleeps_, ElementsAre(0, 250, 500));
}

TEST(WaitForStore, ErrorsOtherThanUnavailableEndTheWaitAtOnce) {
  for (const Status& error :
       {InvalidArgument("database schema version 9 is newer than the newest this berth knows"),
        InvalidArgument("BERTH_DATABASE_URL: expected sqlite://... or postgres://..."),
        Internal("schema migration 5 failed: permission denied")}) {
    ScriptedDatabase db({error}, {false});
    auto store = WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60)));
    EXPECT_EQ(store.status().code(), error.code());
    EXPECT_EQ(store.status().message(), error.message());
    EXPECT_EQ(db.attempts_, 1u);
    EXPECT_EQ(db.probes_, 0u);
  }
}

TEST(WaitForStore, NoWaitIsOneAttempt) {
  ScriptedDatabase db({kRefused}, {false});
  auto store = WaitForStore(db.Hooks(), WaitFor(milliseconds(0)));
  EXPECT_EQ(store.status().message(), kRefused.message());
  EXPECT_EQ(db.attempts_, 1u);
  EXPECT_EQ(db.probes_, 0u);
  EXPECT_THAT(db.sleeps_, IsEmpty());
}

TEST(WaitForStore, AStopEndsTheWait) {
  ScriptedDatabase db({kRefused}, {false});
  db.stop_at_sleep_ = 2;
  auto store = WaitForStore(db.Hooks(), WaitFor(std::chrono::seconds(60)));
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("stopped while waiting for the database"));
  EXPECT_EQ(db.attempts_, 2u);
}

// ---- the real thing ------------------------------------------------------------------------

class OpenStoreWaitingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    cluster_ = berth::testing::PostgresTestCluster::Shared(&error);
    ASSERT_NE(cluster_, nullptr) << error;
  }
  berth::testing::PostgresTestCluster* cluster_ = nullptr;
};

TEST_F(OpenStoreWaitingTest, AWrongPasswordFailsAtOnce) {
  const std::string url =
      "postgres://berth:wrong-hunter2@127.0.0.1:" + std::to_string(cluster_->port()) +
      "/postgres?sslmode=disable";
  std::vector<int64_t> sleeps;
  auto store = OpenStoreWaiting(url, WaitFor(std::chrono::seconds(60)), [&](milliseconds d) {
    sleeps.push_back(d.count());
    return true;
  });
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("wrong-hunter2")));
  EXPECT_THAT(sleeps, ElementsAre(0));
}

TEST_F(OpenStoreWaitingTest, NothingListeningIsWaitedForUntilStopped) {
  // Port 1 of the loopback: connection refused.
  std::vector<int64_t> sleeps;
  auto store = OpenStoreWaiting("postgres://berth:hunter2@127.0.0.1:1/berth?sslmode=disable",
                                WaitFor(std::chrono::seconds(60)), [&](milliseconds d) {
                                  sleeps.push_back(d.count());
                                  return sleeps.size() < 3;
                                });
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("stopped while waiting for the database"));
  EXPECT_THAT(store.status().message(), HasSubstr("berth:***@127.0.0.1:1"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(sleeps, ElementsAre(250, 500, 1000));
}

TEST_F(OpenStoreWaitingTest, SqliteIsOpenedOnce) {
  berth::testing::TempDir dir;
  bool slept = false;
  auto store = OpenStoreWaiting("sqlite://" + dir.File("berth.db"),
                                WaitFor(std::chrono::seconds(60)), [&](milliseconds) {
                                  slept = true;
                                  return true;
                                });
  EXPECT_OK(store);
  EXPECT_FALSE(slept);
}

}  // namespace
}  // namespace berth::store
