#include "store/store_copy.hpp"

namespace berth::store {
namespace {

bool SameRecords(const StoreSnapshot& a, const StoreSnapshot& b) {
  return a.users == b.users && a.api_tokens == b.api_tokens && a.providers == b.providers &&
         a.agent_configs == b.agent_configs && a.user_containers == b.user_containers &&
         a.system_containers == b.system_containers && a.usage == b.usage && a.limits == b.limits &&
         a.budgets == b.budgets && a.request_log == b.request_log;
}

// The first table whose records differ, or "" when none does.
std::string FirstDifference(const StoreSnapshot& a, const StoreSnapshot& b) {
  if (a.instance_id != b.instance_id) return "instance id";
  if (a.users != b.users) return "users";
  if (a.api_tokens != b.api_tokens) return "api_tokens";
  if (a.providers != b.providers) return "llm_providers";
  if (a.agent_configs != b.agent_configs) return "user_agent_configs";
  if (a.user_containers != b.user_containers) return "user_containers";
  if (a.system_containers != b.system_containers) return "system_containers";
  if (a.usage != b.usage) return "llm_usage";
  if (a.limits != b.limits) return "llm_limits";
  if (a.budgets != b.budgets) return "llm_budget";
  if (a.request_log != b.request_log) return "llm_request_log";
  return "";
}

}  // namespace

Result<CopyReport> CopyStore(SnapshotStore& from, SnapshotStore& to, CopyOptions options) {
  auto source = from.ReadSnapshot();
  if (!source.ok()) return source.status();
  auto target = to.ReadSnapshot();
  if (!target.ok()) return target.status();

  CopyReport report;
  report.counts = TableCounts::Of(*source);
  report.instance_id = source->instance_id;
  const TableCounts held = TableCounts::Of(*target);
  if (held.total() != 0) {
    if (target->instance_id == source->instance_id && SameRecords(*target, *source)) {
      report.outcome = CopyReport::Outcome::kAlreadyCopied;
      return report;
    }
    if (!options.force) {
      return AlreadyExists("the target database is not empty (" + held.ToString() +
                           ") and does not hold a copy of the source; copy into an empty "
                           "database, or force replacing everything in it");
    }
    report.outcome = CopyReport::Outcome::kReplaced;
  }
  BERTH_RETURN_IF_ERROR(to.WriteSnapshot(*source, /*replace=*/held.total() != 0));

  auto written = to.ReadSnapshot();
  if (!written.ok()) return written.status();
  if (const std::string table = FirstDifference(*source, *written); !table.empty()) {
    return DataLoss("the copy differs from the source in " + table);
  }
  return report;
}

}  // namespace berth::store
