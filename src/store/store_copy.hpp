#pragma once

#include <string>

#include "common/result.hpp"
#include "store/store_snapshot.hpp"

namespace berth::store {

struct CopyOptions {
  // Replace whatever the target holds (see CopyStore).
  bool force = false;
};

struct CopyReport {
  enum class Outcome {
    kCopied,         // the target was empty and now holds the source's records
    kAlreadyCopied,  // the target already held exactly the source's records: nothing written
    kReplaced,       // the target held other records; with force they were replaced
  };
  Outcome outcome = Outcome::kCopied;
  TableCounts counts;       // rows per table the target now holds
  std::string instance_id;  // the source's, now the target's too
};

// Moves an installation between databases (`berth db copy`), e.g. SQLite to PostgreSQL or back.
//
// Copies every record of every table (users, API tokens, providers, agent configs, user and
// system containers; LLM usage, limits, budget windows and the log of recent calls) and the
// instance id, so containers labelled by the source's berth still
// match. Values are copied byte for byte: sealed secrets stay sealed under the same key, token
// hashes and timestamps stay as they were, and each list keeps its order.
//
// The target is "empty" when its record tables hold no row (its schema_migrations and its
// own instance id do not count: every opened database has them). Then:
// - empty target: everything is written in one transaction (a failed or interrupted copy leaves
//   it empty, so it can simply be run again);
// - target holding exactly the source's records and instance id (a previous copy): nothing is
//   written, kAlreadyCopied — re-running is safe and never duplicates;
// - any other target: kAlreadyExists saying what it holds, unless options.force, which deletes
//   every record in it and writes the source's, in one transaction.
// After writing, the target is read back and compared with the source record by record
// (kDataLoss naming the table on any difference), on top of the row counts checked inside the
// writing transaction.
//
// A PostgreSQL target's writing transaction holds its container tables against other writers
// (SHARE ROW EXCLUSIVE) and takes no lock per record, so a copy of any size fits the server's
// lock table (migration 5).
//
// The source is read in one transaction, but writes after that are not copied: stop every
// berth using the source first (`berth db copy` takes the serve lock of a SQLite database).
Result<CopyReport> CopyStore(SnapshotStore& from, SnapshotStore& to, CopyOptions options = {});

}  // namespace berth::store
