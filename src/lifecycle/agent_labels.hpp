#pragma once

#include <string>

#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// The labels berth puts on every agent container: how it recognises its own containers (and
// nothing else) on a shared engine, and which record and settings each was made from.
inline constexpr char kLabelManaged[] = "berth.managed";    // "true"
inline constexpr char kLabelInstance[] = "berth.instance";  // the store's instance id
inline constexpr char kLabelKind[] = "berth.kind";          // "user" | "system"
inline constexpr char kLabelOwner[] = "berth.owner";        // user id, or system container name
inline constexpr char kLabelRecord[] = "berth.record";      // the record's id
inline constexpr char kLabelSpec[] = "berth.spec";          // hash of what it was created from

// The labels every container of this berth instance carries (list and event filters).
inline runtime::Labels OwnLabels(const std::string& instance_id) {
  return {{kLabelManaged, "true"}, {kLabelInstance, instance_id}};
}

// The label's value, or "" when absent.
inline std::string LabelOf(const runtime::Labels& labels, const char* name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace berth::lifecycle
