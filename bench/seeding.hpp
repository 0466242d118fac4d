#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "store/store.hpp"

namespace berth::bench {

// One seeded container: its record id and its bearer token (plaintext, for the load generator).
struct SeededContainer {
  std::string id;
  std::string token;
};

struct SeedOptions {
  std::size_t users = 0;
  // Every user also gets one active provider with an apiKey, so the served openclaw.json is as
  // large as a real one and serving it opens a sealed key.
  bool with_providers = true;
  // Called every `progress_every` users with the number seeded so far (optional).
  std::function<void(std::size_t)> progress;
  std::size_t progress_every = 10000;
};

// Seeds `options.users` users, each with one user container record (and optionally one provider),
// through the real services (AccountService, ContainerService, ProviderService) on `store`, so the
// rows are sealed and hashed exactly as berth writes them. Returns the containers in creation
// order. Single-threaded: SQLite admits one writer at a time.
Result<std::vector<SeededContainer>> SeedUserContainers(
    const store::StorePtr& store, const std::shared_ptr<const crypto::SecretBox>& secrets,
    const SeedOptions& options);

}  // namespace berth::bench
