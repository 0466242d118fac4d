// The agent-config batcher (service/config_batcher.hpp): lookups queued while a round trip is
// out go together in the next; answers reach each caller; bounds and Stop(). Batching is shown
// with a gmock store whose first call is held; answers through the container service over the
// real SQLite store.
#include "service/config_batcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include "crypto/tokens.hpp"
#include "mocks/mock_store.hpp"
#include "service_fixture.hpp"

namespace berth::service {
namespace {

using ::testing::_;
using ::testing::Invoke;
using Sources = std::vector<std::optional<store::AgentConfigSource>>;

store::AgentConfigSource SourceOf(const std::string& hash) {
  store::AgentConfigSource s;
  s.container.id = "c-" + hash;
  s.container.token_hash = hash;
  return s;
}

// Holds the store's first call until Release(), so that lookups pile up behind it.
class Gate {
 public:
  void Arrive() {
    std::unique_lock lock(mu_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }
  void AwaitArrival() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return arrived_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool arrived_ = false;
  bool released_ = false;
};

class Answers {
 public:
  ConfigBatcher::Done For(const std::string& hash) {
    return [this, hash](ConfigBatcher::Found found) {
      std::lock_guard lock(mu_);
      if (!found.ok()) {
        got_[hash] = found.status().ToString();
      } else {
        got_[hash] = found->has_value() ? (*found)->container.id : "none";
      }
      cv_.notify_all();
    };
  }
  std::map<std::string, std::string> AwaitCount(std::size_t n) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return got_.size() >= n; }))
        << got_.size() << " of " << n;
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> got_;
};

TEST(ConfigBatcherTest, LookupsQueuedWhileARoundTripIsOutGoTogetherInTheNext) {
  auto store = std::make_shared<berth::testing::MockStore>();
  Gate gate;
  EXPECT_CALL(*store, LoadAgentConfigSource("first")).WillOnce(Invoke([&](const std::string& h) {
    gate.Arrive();
    return Result<store::AgentConfigSource>(SourceOf(h));
  }));
  std::vector<std::size_t> batch_sizes;
  EXPECT_CALL(*store, LoadAgentConfigSources(_))
      .WillRepeatedly(Invoke([&](const std::vector<std::string>& hashes) {
        batch_sizes.push_back(hashes.size());
        Sources out;
        for (const auto& h : hashes) {
          if (h == "ghost") {
            out.emplace_back(std::nullopt);
          } else {
            out.emplace_back(SourceOf(h));
          }
        }
        return Result<Sources>(std::move(out));
      }));
  ConfigBatcher batcher(store, {.threads = 1, .max_batch = 8, .max_queued = 100});
  Answers answers;
  batcher.Lookup("first", answers.For("first"));
  gate.AwaitArrival();
  for (int i = 0; i < 11; ++i)
    batcher.Lookup("h" + std::to_string(i), answers.For("h" + std::to_string(i)));
  batcher.Lookup("ghost", answers.For("ghost"));
  gate.Release();
  auto got = answers.AwaitCount(13);
  EXPECT_EQ(got["first"], "c-first");
  for (int i = 0; i < 11; ++i) EXPECT_EQ(got["h" + std::to_string(i)], "c-h" + std::to_string(i));
  EXPECT_EQ(got["ghost"], "none");
  batcher.Stop();
  // The 12 that waited went in two round trips (at most 8 each), not twelve.
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{8, 4}));
}

TEST(ConfigBatcherTest, AStoreErrorReachesEveryLookupOfItsBatch) {
  auto store = std::make_shared<berth::testing::MockStore>();
  Gate gate;
  EXPECT_CALL(*store, LoadAgentConfigSource("first")).WillOnce(Invoke([&](const std::string&) {
    gate.Arrive();
    return Result<store::AgentConfigSource>(Unavailable("connection lost"));
  }));
  EXPECT_CALL(*store, LoadAgentConfigSources(_))
      .WillOnce(Invoke([](const std::vector<std::string>&) {
        return Result<Sources>(Unavailable("connection lost"));
      }));
  ConfigBatcher batcher(store, {.threads = 1});
  Answers answers;
  batcher.Lookup("first", answers.For("first"));
  gate.AwaitArrival();
  batcher.Lookup("a", answers.For("a"));
  batcher.Lookup("b", answers.For("b"));
  gate.Release();
  auto got = answers.AwaitCount(3);
  for (const char* h : {"first", "a", "b"}) {
    EXPECT_NE(got[h].find("connection lost"), std::string::npos) << h << ": " << got[h];
  }
}

TEST(ConfigBatcherTest, BeyondItsQueueALookupIsRefusedAtOnceAndStopDropsTheQueued) {
  auto store = std::make_shared<berth::testing::MockStore>();
  Gate gate;
  EXPECT_CALL(*store, LoadAgentConfigSource("first")).WillOnce(Invoke([&](const std::string& h) {
    gate.Arrive();
    return Result<store::AgentConfigSource>(SourceOf(h));
  }));
  EXPECT_CALL(*store, LoadAgentConfigSources(_)).Times(0);
  auto batcher = std::make_unique<ConfigBatcher>(
      store, ConfigBatcher::Options{.threads = 1, .max_batch = 8, .max_queued = 2});
  Answers answers;
  batcher->Lookup("first", answers.For("first"));
  gate.AwaitArrival();
  std::atomic<int> dropped_unrun{0};
  struct Witness {
    explicit Witness(std::atomic<int>* c) : count(c) {}
    ~Witness() { ++*count; }
    std::atomic<int>* count;
  };
  for (int i = 0; i < 2; ++i) {
    auto witness = std::make_shared<Witness>(&dropped_unrun);
    batcher->Lookup("q" + std::to_string(i), [witness](ConfigBatcher::Found) {
      ADD_FAILURE() << "a dropped lookup was answered";
    });
  }
  batcher->Lookup("over", answers.For("over"));  // the queue holds 2: refused inline
  EXPECT_EQ(answers.AwaitCount(1)["over"].rfind("resource_exhausted", 0), 0u)
      << answers.AwaitCount(1)["over"];
  auto stopped = std::async(std::launch::async, [&] { batcher->Stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "Stop() waits for the round trip in flight";
  gate.Release();
  stopped.get();
  EXPECT_EQ(answers.AwaitCount(2)["first"], "c-first");  // the running batch was answered
  EXPECT_EQ(dropped_unrun.load(), 2);
  batcher->Lookup("late", answers.For("late"));  // after Stop(): refused, never lost
  EXPECT_EQ(answers.AwaitCount(3)["late"].rfind("resource_exhausted", 0), 0u);
}

// Through the container service on the real SQLite store: the batched path answers exactly as
// the direct one, for many agents asking at once.
class BatchedContainersTest : public berth::testing::ServiceTest {};

TEST_F(BatchedContainersTest, ManyAgentsAskingAtOnceGetWhatTheDirectPathGives) {
  std::vector<ProvisionedUserContainer> agents;
  for (int i = 0; i < 6; ++i) {
    auto p = containers_->ProvisionUserContainer(NewUser("user" + std::to_string(i)), false);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    agents.push_back(*p);
  }
  ContainerService batched(store_, secrets_, providers_, clock_);
  batched.SetConfigBatcher(std::make_shared<ConfigBatcher>(store_, ConfigBatcher::Options{}));
  ASSERT_TRUE(batched.batched());

  constexpr int kRounds = 50;
  std::vector<std::thread> askers;
  std::atomic<int> mismatches{0};
  std::atomic<int> answered{0};
  for (int t = 0; t < 4; ++t) {
    askers.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const auto& a = agents[static_cast<std::size_t>((t + r) % agents.size())];
        const std::string token = r % 5 == 4 ? "bc_forged" : a.token;
        std::promise<Result<store::AgentConfigSource>> promise;
        batched.AuthenticateContainerAsync(token, [&promise](Result<store::AgentConfigSource> s) {
          promise.set_value(std::move(s));
        });
        auto via_batch = batched.ConfigFor(promise.get_future().get(), a.record.id, token);
        auto direct = containers_->ConfigForToken(token, a.record.id);
        const bool same =
            via_batch.ok() == direct.ok() &&
            (via_batch.ok() ? *via_batch == *direct
                            : via_batch.status().code() == direct.status().code() &&
                                  via_batch.status().message() == direct.status().message());
        if (!same) ++mismatches;
        ++answered;
      }
    });
  }
  for (auto& t : askers) t.join();
  EXPECT_EQ(answered.load(), 4 * kRounds);
  EXPECT_EQ(mismatches.load(), 0);
  // A forged token is the same "Invalid container token" as without the batcher.
  std::promise<Result<store::AgentConfigSource>> forged;
  batched.AuthenticateContainerAsync(
      "bc_forged", [&](Result<store::AgentConfigSource> s) { forged.set_value(std::move(s)); });
  auto verdict = forged.get_future().get();
  EXPECT_EQ(verdict.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(verdict.status().message(), "Invalid container token");
}

}  // namespace
}  // namespace berth::service
