#pragma once

#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Makes the engine and the store agree (ARCHITECTURE.md, flow step 6). Fleet-wide: exactly one
// replica runs it (the scheduler's leader, at initialization and after the event stream
// returned); it also refreshes this replica's warm view from what it finds.
//
// Engine side: every container labelled with this instance's id belongs to one record. Orphans
// (no record) are removed, with their volume when their user is gone too; duplicates of a record
// are removed; a record's container found under another id is adopted. Store side: no record
// claims a state its container does not have (running ↔ stopped; failed stays failed). Agents
// with a start in flight are left to their start.
//
// Blocks on the engine (removals) and the store (one write per record that changed). Failed
// removals and writes are logged and skipped; the result is an error only when the records
// cannot be listed. Lock order: AgentRegistry's lock alone, never across an engine or store call.
// Thread-safe (two concurrent passes do the same idempotent work).
class Reconciler {
 public:
  // Other replicas share the store: records whose start lease is held anywhere are left to
  // that start. Before the first pass only.
  void SetSharedStore(bool shared) { shared_ = shared; }
  Reconciler(runtime::ContainerRuntime& runtime, AgentRecords& records, AgentRegistry& registry,
             const InstanceInfo& instance, const Clock& clock);

  // One list call, then ReconcileWith.
  Status Reconcile();
  // With a list the caller already made (the health sweep shares its own).
  Status ReconcileWith(const std::vector<runtime::ContainerSummary>& listed);

 private:
  bool Starting(const AgentKey& key);
  void RemoveOrphan(const runtime::ContainerSummary& container);

  runtime::ContainerRuntime& runtime_;
  AgentRecords& records_;
  AgentRegistry& registry_;
  const InstanceInfo& instance_;
  bool shared_ = false;
  const Clock& clock_;
};

}  // namespace berth::lifecycle
