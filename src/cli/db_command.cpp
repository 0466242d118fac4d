#include "cli/db_command.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include "store/database_url.hpp"
#include "store/serve_lock.hpp"
#include "store/store_copy.hpp"

namespace berth::cli {
namespace {

int Fail(const Status& status) {
  std::fprintf(stderr, "berth db copy: %s\n", status.message().c_str());
  return status.code() == ErrorCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int RunDbCopy(const DbCopyArgs& args) {
  auto from = store::ParseDatabaseUrl(args.from);
  if (!from.ok()) return Fail(Status(from.status().code(), "--from: " + from.status().message()));
  auto to = store::ParseDatabaseUrl(args.to);
  if (!to.ok()) return Fail(Status(to.status().code(), "--to: " + to.status().message()));
  if (from->kind == to->kind && from->sqlite_path == to->sqlite_path &&
      from->postgres_conninfo == to->postgres_conninfo) {
    return Fail(InvalidArgument("--from and --to name the same database"));
  }

  auto source = store::OpenSnapshotStore(args.from);
  if (!source.ok()) return Fail(source.status());
  auto target = store::OpenSnapshotStore(args.to);
  if (!target.ok()) return Fail(target.status());
  // After opening (which creates a new SQLite file's directory), before reading anything.
  std::vector<std::unique_ptr<store::ServeLock>> locks;
  for (const std::string* url : {&args.from, &args.to}) {
    auto lock = store::ServeLock::Acquire(*url);
    if (!lock.ok()) return Fail(lock.status());
    locks.push_back(std::move(*lock));
  }

  auto report = store::CopyStore(**source, **target, {.force = args.force});
  if (!report.ok()) {
    Status st = report.status();
    if (st.code() == ErrorCode::kAlreadyExists) {
      st = Status(st.code(), st.message() + " (--force)");
    }
    return Fail(st);
  }
  const char* what = report->outcome == store::CopyReport::Outcome::kAlreadyCopied ? "already holds"
                     : report->outcome == store::CopyReport::Outcome::kReplaced
                         ? "replaced its contents with"
                         : "now holds";
  std::printf("berth db copy: %s %s %s from %s (instance id %s); verified record by record\n",
              to->display.c_str(), what, report->counts.ToString().c_str(), from->display.c_str(),
              report->instance_id.c_str());
  return 0;
}

}  // namespace berth::cli
