#pragma once

#include <string>

#include "common/result.hpp"
#include "config/settings.hpp"
#include "crypto/key_provider.hpp"
#include "store/store.hpp"

namespace berth::service {

// Which keys berth seals and opens secrets with, from its settings (README, "Secrets").

// The data dir's file holding the previous key while a `rotate-key --generate` is unfinished.
std::string PreviousKeyFilePath(const config::Settings& settings);

// BERTH_ENCRYPTION_KEY or the data dir's key file (created when missing) as the current key;
// BERTH_ENCRYPTION_KEY_PREVIOUS and the previous-key file as keys still read. kInvalidArgument
// naming BERTH_ENCRYPTION_KEY when a key does not parse or a file cannot be read.
Result<crypto::KeyProviderPtr> LoadKeys(const config::Settings& settings);

// Refuses to start (kInvalidArgument, naming the missing key id and what to do) when stored
// secrets were sealed under a key berth was not given: better a clear error at start than every
// agent failing to fetch its config later. (Values that fail authentication are reported when
// read; this only checks that every named key is present.)
Status CheckKeysPresent(store::Store& store, const crypto::KeyProvider& keys);

// The first step of `rotate-key --generate`: moves the key file aside as the previous key and
// makes a new one (rename is atomic: at every instant exactly one file holds the old key). When
// an earlier rotation is unfinished (the previous-key file exists), leaves both as they are and
// says so in `*note`. kInvalidArgument when BERTH_ENCRYPTION_KEY is set (no key file to rotate).
Status GenerateNextKeyFile(const config::Settings& settings, std::string* note);

// The last step of a rotation: every value is under the current key, the old key file goes.
void ForgetPreviousKeyFile(const config::Settings& settings);

}  // namespace berth::service
