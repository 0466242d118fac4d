#include "lifecycle/starter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeRuntime;

class StarterTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    user_ = NewUser();
    notifier_.SetObserver([this](const AgentEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
  }
  // The event that ended the start (start_seconds set), if one came.
  std::optional<AgentEvent> Ending() {
    std::lock_guard lock(mu_);
    for (const AgentEvent& e : events_) {
      if (e.start_seconds >= 0) return e;
    }
    return std::nullopt;
  }
  Result<AgentEndpoint> Start() { return Starter().EnsureRunningAndWait(AgentKey::User(user_)); }
  // Starts in the background; the returned thread holds the outcome in `result`. The starter is
  // made here, on the test's thread, never by the racing callers.
  std::thread StartAsync(Result<AgentEndpoint>& result) {
    AgentStarter& starter = Starter();
    const AgentKey key = AgentKey::User(user_);
    return std::thread([&starter, key, &result] { result = starter.EnsureRunningAndWait(key); });
  }

  std::string user_;
  std::mutex mu_;
  std::vector<AgentEvent> events_;  // guarded by mu_
};

TEST_F(StarterTest, ColdStartEndsWithAReadyEventMeasuredOnTheInjectedClock) {
  probe_->status = 0;  // not ready until the clock has moved
  Result<AgentEndpoint> result = Internal("not run");
  std::thread starter = StartAsync(result);
  ASSERT_TRUE(Eventually([&] { return probe_->probes > 0; }));
  fake_clock_->Advance(7s);
  probe_->status = 200;
  starter.join();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto ending = Ending();
  ASSERT_TRUE(ending.has_value());
  EXPECT_EQ(ending->status, AgentStatus::kRunning);
  EXPECT_GE(ending->start_seconds, 7.0);
  EXPECT_FALSE(ending->failure.has_value());
  const AgentEntry entry = Entry(AgentKey::User(user_));
  EXPECT_TRUE(entry.Warm());
  EXPECT_EQ(entry.container_id, result->container_id);
}

TEST_F(StarterTest, WarmPathAnswersInlineWithoutTheEngineOnlyWhileEventsAreLive) {
  ASSERT_TRUE(Start().ok());
  const int calls = runtime_->calls;
  bool inline_answer = false;
  Starter().EnsureRunning(AgentKey::User(user_),
                          [&](Result<AgentEndpoint> r) { inline_answer = r.ok(); });
  EXPECT_TRUE(inline_answer);  // ran before EnsureRunning returned
  EXPECT_EQ(runtime_->calls, calls);
  registry_.SetEventsLive(false);
  ASSERT_TRUE(Start().ok());
  EXPECT_GT(runtime_->calls, calls);  // looked at the engine again
}

TEST_F(StarterTest, FailuresCarryTheirTypedReason) {
  struct Case {
    const char* name;
    std::function<void()> arrange;
    StartFailure reason;
  };
  const std::vector<Case> cases = {
      {"exited",
       [this] {
         runtime_->on_start = [](FakeRuntime::Container& c) {
           c.state = runtime::ContainerState::kExited;
           c.exit_code = 78;
         };
       },
       StartFailure::kExited},
      {"oom",
       [this] {
         runtime_->on_start = [](FakeRuntime::Container& c) {
           c.state = runtime::ContainerState::kExited;
           c.exit_code = 137;
           c.oom = true;
         };
       },
       StartFailure::kOomKilled},
      {"image", [this] { runtime_->image_present = false; }, StartFailure::kImage},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    starter_.reset();
    runtime_ = std::make_shared<FakeRuntime>();
    {
      std::lock_guard lock(mu_);
      events_.clear();
    }
    c.arrange();
    user_ = NewUser(c.name);
    auto result = Start();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
    auto ending = Ending();
    ASSERT_TRUE(ending.has_value());
    EXPECT_EQ(ending->status, AgentStatus::kFailed);
    EXPECT_EQ(ending->failure, std::optional<StartFailure>(c.reason));
    EXPECT_EQ(Entry(AgentKey::User(user_)).status, AgentStatus::kFailed);
  }
}

TEST_F(StarterTest, NotReadyByTheDeadlineIsATimeoutDrivenByTheClock) {
  options_.start_timeout = 30s;
  probe_->status = 503;
  Result<AgentEndpoint> result = Internal("not run");
  std::thread starter = StartAsync(result);
  ASSERT_TRUE(Eventually([&] { return probe_->probes > 0; }));
  fake_clock_->Advance(31s);  // no waiting for the wall clock
  starter.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("not ready within 30 s"), std::string::npos);
  EXPECT_NE(result.status().message().find("/readyz answered 503"), std::string::npos);
  EXPECT_EQ(Ending()->failure, std::optional<StartFailure>(StartFailure::kTimeout));
  for (const auto& [id, c] : runtime_->Snapshot()) {
    EXPECT_NE(c.state, runtime::ContainerState::kRunning);  // stopped: it would hold memory
  }
}

TEST_F(StarterTest, AFirstStartPinsTheAgentToTheChosenNodeAndLaterStartsStayThere) {
  runtime_->place_on = runtime::NodePlacement{"node-id-2", "worker-2"};
  auto first = Start();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(runtime_->placements, 1);
  auto snapshot = runtime_->Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot.begin()->second.spec.node_id, "node-id-2") << "constrained to its node";
  auto row = store_->GetUserContainerByUser(user_);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->node_id, "node-id-2");
  EXPECT_EQ(row->node_name, "worker-2");

  // Later starts never place again: the volume is on that node.
  runtime_->place_on = runtime::NodePlacement{"node-id-3", "worker-3"};
  runtime_->Mutate([](auto& containers) { containers.clear(); });
  registry_.SetEventsLive(false);
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(runtime_->placements, 1);
  EXPECT_EQ(runtime_->Snapshot().begin()->second.spec.node_id, "node-id-2");
}

TEST_F(StarterTest, APinnedNodeThatCannotRunTheAgentFailsTheStartNamingIt) {
  runtime_->place_on = runtime::NodePlacement{"node-id-2", "worker-2"};
  ASSERT_TRUE(Start().ok());
  runtime_->Mutate([](auto& containers) { containers.clear(); });
  registry_.SetEventsLive(false);
  runtime_->node_error = Unavailable("node worker-2 is drained");
  const int creates = runtime_->creates;
  {
    std::lock_guard lock(mu_);
    events_.clear();  // the first start's ending
  }
  auto result = Start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status().message().find("lives on node worker-2 (node-id-2)"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("drained"), std::string::npos);
  EXPECT_EQ(Ending()->failure, std::optional<StartFailure>(StartFailure::kPlacement));
  EXPECT_EQ(runtime_->creates, creates) << "no new, empty state elsewhere";
  EXPECT_EQ(runtime_->placements, 1);
}

TEST_F(StarterTest, NoNodeWithRoomIsAPlacementFailureAndPinsNothing) {
  runtime_->place_error = ResourceExhausted("worker-1 has 100 MiB unreserved");
  auto result = Start();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("no node can take the agent: worker-1 has 100 MiB"),
            std::string::npos)
      << result.status().message();
  EXPECT_EQ(Ending()->failure, std::optional<StartFailure>(StartFailure::kPlacement));
  EXPECT_EQ(runtime_->creates, 0);
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->node_id, std::nullopt);
}

TEST_F(StarterTest, ARuntimeOfOneEngineNeitherPlacesNorPins) {
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(runtime_->placements, 1);  // asked, and answered "nothing to choose"
  EXPECT_EQ(runtime_->Snapshot().begin()->second.spec.node_id, "");
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->node_id, std::nullopt);
}

TEST_F(StarterTest, EngineRefusalIsAnEngineFailure) {
  runtime_->start_error = Internal("engine said no");
  auto result = Start();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("cannot start the agent container: engine said no"),
            std::string::npos);
  EXPECT_EQ(Ending()->failure, std::optional<StartFailure>(StartFailure::kEngine));
}

TEST_F(StarterTest, CapRefusesWithResourceExhaustedAndSingleFlightSharesOneStart) {
  options_.max_concurrent_starts = 1;
  probe_->status = 503;
  const std::string bob = NewUser("bob");
  std::vector<Result<AgentEndpoint>> results(5, Internal("not run"));
  std::vector<std::thread> callers;
  for (auto& r : results) callers.push_back(StartAsync(r));
  ASSERT_TRUE(Eventually([&] { return probe_->probes > 0; }));
  auto refused = Starter().EnsureRunningAndWait(AgentKey::User(bob));
  EXPECT_EQ(refused.status().code(), ErrorCode::kResourceExhausted);
  probe_->status = 200;
  for (auto& t : callers) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(runtime_->creates, 1);
  EXPECT_EQ(runtime_->starts, 1);
}

TEST_F(StarterTest, StopCancelsStartsInFlightAndRefusesNewOnes) {
  probe_->status = 503;
  Result<AgentEndpoint> result = Internal("not run");
  std::thread starter = StartAsync(result);
  ASSERT_TRUE(Eventually([&] { return probe_->probes > 0; }));
  Starter().Stop();
  starter.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("cancelled"), std::string::npos);
  EXPECT_FALSE(Ending().has_value());  // a cancelled start ends without an event
  auto later = Start();
  EXPECT_EQ(later.status().message(), "berth is shutting down");
}

}  // namespace
}  // namespace berth::lifecycle
