#include "service/config_batcher.hpp"

#include <algorithm>
#include <utility>

namespace berth::service {
namespace {

using Sources = std::vector<std::optional<store::AgentConfigSource>>;

Result<Sources> LoadBatch(store::Store& store, const std::vector<std::string>& hashes) {
  if (hashes.size() != 1) return store.LoadAgentConfigSources(hashes);
  // One alone takes the single-row statement, as before batching.
  auto one = store.LoadAgentConfigSource(hashes.front());
  Sources out;
  if (one.ok()) {
    out.emplace_back(std::move(one).value());
  } else if (one.status().code() == ErrorCode::kNotFound) {
    out.emplace_back(std::nullopt);
  } else {
    return one.status();
  }
  return out;
}

}  // namespace

ConfigBatcher::ConfigBatcher(store::StorePtr store, Options options)
    : store_(std::move(store)), options_(options) {
  const int threads = std::max(1, options_.threads);
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ConfigBatcher::~ConfigBatcher() { Stop(); }

void ConfigBatcher::Stop() {
  std::deque<Pending> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  // `dropped` goes out of scope here, outside the lock: its callbacks are destroyed unrun.
}

void ConfigBatcher::Lookup(std::string token_hash, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.push_back(Pending{std::move(token_hash), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(ResourceExhausted("too many agent-config lookups are waiting; retry shortly"));
}

void ConfigBatcher::Work() {
  std::vector<Pending> batch;
  std::vector<std::string> hashes;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      const std::size_t n = std::min(queue_.size(), std::max<std::size_t>(1, options_.max_batch));
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    hashes.clear();
    for (const Pending& p : batch) hashes.push_back(p.token_hash);
    auto found = LoadBatch(*store_, hashes);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!found.ok()) {
        batch[i].done(found.status());
      } else if (i < found->size()) {
        batch[i].done(std::move((*found)[i]));
      } else {
        batch[i].done(Internal("the store answered fewer agent-config lookups than asked"));
      }
    }
    batch.clear();
  }
}

}  // namespace berth::service
