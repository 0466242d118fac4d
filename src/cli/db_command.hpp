#pragma once

#include <string>

namespace berth::cli {

struct DbCopyArgs {
  std::string from;  // database URL
  std::string to;    // database URL
  bool force = false;
};

// `berth db copy --from URL --to URL [--force]` (store/store_copy.hpp): takes the serve lock of
// each SQLite database (so no berth is using it), opens both (applying migrations), copies,
// and prints what it did on stdout. Returns the process exit code: 0 when the target holds the
// source's records (copied now or before), 2 for bad arguments, 1 otherwise (message on
// stderr, passwords masked).
int RunDbCopy(const DbCopyArgs& args);

}  // namespace berth::cli
