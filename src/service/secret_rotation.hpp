#pragma once

#include <cstddef>

#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "store/store.hpp"

namespace berth::service {

struct RotationReport {
  std::size_t total = 0;     // sealed values seen
  std::size_t resealed = 0;  // re-encrypted under the current key by this run
  std::size_t current = 0;   // already under the current key (e.g. done by a crashed run)
};

// Re-encrypts every stored secret under `secrets`' current key. Each value is replaced with a
// compare-and-swap of its own, so the run can be interrupted at any point and re-run: values
// already under the current key are left alone, and every value stays readable throughout as
// long as the key provider still holds the old key. Fails (kDataLoss, naming the row) on a value
// no configured key opens, after converting all the others.
Result<RotationReport> RotateSecrets(store::Store& store, const crypto::SecretBox& secrets);

}  // namespace berth::service
