#pragma once

#include <string>

#include "lifecycle/agent_record.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// The container an agent runs in, from its record and berth's settings. Pure: no engine, store
// or clock; the same inputs give the same spec, labels included.
//
// - name: the record's container name; volume `<name>-state` at the contract's state dir;
// - env: MOSAIC_API_URL, AGENT_TOKEN (`token`, the opened record token), AGENT_ID (record id),
//   then the contract's env, in this order;
// - image, network and limits from `options`; the gateway port published in kPublished mode;
// - labels (agent_labels.hpp): managed, instance, kind, owner (user id or system container
//   name), record, and kLabelSpec, a hash of everything above. A container whose kLabelSpec
//   differs was made from another image, token or setting and is recreated (its volume stays).
runtime::ContainerSpec BuildContainerSpec(const AgentRecord& record, const std::string& token,
                                          const LifecycleOptions& options,
                                          const InstanceInfo& instance);

}  // namespace berth::lifecycle
