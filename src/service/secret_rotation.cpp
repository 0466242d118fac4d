#include "service/secret_rotation.hpp"

#include <string>

namespace berth::service {
namespace {

const char* ColumnName(store::SecretColumn column) {
  switch (column) {
    case store::SecretColumn::kProviderApiKey:
      return "llm_providers.api_key";
    case store::SecretColumn::kUserContainerToken:
      return "user_containers.gateway_token";
    case store::SecretColumn::kSystemContainerToken:
      return "system_containers.gateway_token";
  }
  return "?";
}

}  // namespace

Result<RotationReport> RotateSecrets(store::Store& store, const crypto::SecretBox& secrets) {
  RotationReport report;
  Status first_failure;
  // A value that changes under us (CAS lost to a concurrent write) is picked up by the next pass;
  // a bounded number of passes keeps a pathological writer from looping us forever.
  for (int pass = 0; pass < 5; ++pass) {
    auto list = store.ListSecrets();
    if (!list.ok()) return list.status();
    if (pass == 0) report.total = list->size();
    bool lost_race = false;
    for (const auto& secret : *list) {
      if (!secrets.NeedsReseal(secret.value)) {
        if (pass == 0) ++report.current;
        continue;
      }
      auto plain = secrets.Open(secret.value);
      if (!plain.ok()) {
        if (first_failure.ok()) {
          first_failure =
              Status(plain.status().code(), std::string(ColumnName(secret.column)) + " of row " +
                                                secret.row_id + ": " + plain.status().message());
        }
        continue;
      }
      auto replaced = store.ReplaceSecret(secret, secrets.Seal(*plain));
      if (!replaced.ok()) return replaced.status();
      if (*replaced) {
        ++report.resealed;
      } else {
        lost_race = true;
      }
    }
    if (!lost_race) break;
  }
  if (!first_failure.ok()) return first_failure;
  return report;
}

}  // namespace berth::service
