#include "lifecycle/spec_builder.hpp"

#include <nlohmann/json.hpp>

#include "crypto/tokens.hpp"
#include "lifecycle/agent_labels.hpp"

namespace berth::lifecycle {

runtime::ContainerSpec BuildContainerSpec(const AgentRecord& record, const std::string& token,
                                          const LifecycleOptions& options,
                                          const InstanceInfo& instance) {
  const runtime::AgentImageContract& contract = options.contract;
  runtime::ContainerSpec spec;
  spec.name = record.container_name;
  spec.image = options.image;
  spec.env = {
      {"MOSAIC_API_URL", instance.api_url}, {"AGENT_TOKEN", token}, {"AGENT_ID", record.id}};
  spec.env.insert(spec.env.end(), contract.env.begin(), contract.env.end());
  spec.volume_name = record.container_name + "-state";
  spec.volume_target = contract.state_dir;
  spec.network = options.network;
  spec.memory_bytes = options.memory_bytes;
  spec.nano_cpus = options.nano_cpus;
  // Not in the hash below: a burst is how it starts, not what it is.
  spec.start_nano_cpus = options.nano_cpus > 0 ? options.start_nano_cpus : 0;
  spec.pids_limit = options.pids_limit;
  if (options.address_mode == AddressMode::kPublished ||
      options.address_mode == AddressMode::kNodePort) {
    spec.publish_port = contract.gateway_port;
  }
  spec.labels = {{kLabelManaged, "true"},
                 {kLabelInstance, instance.instance_id},
                 {kLabelKind, std::string(AgentKindName(record.key.kind))},
                 {kLabelOwner, record.key.is_user() ? record.key.owner : record.name},
                 {kLabelRecord, record.id}};
  // Everything the container was created from, hashed; but not whom it was made for: a warm-pool
  // agent handed to a user (WarmPool) keeps its container, made as a system container's.
  runtime::Labels made_from = spec.labels;
  made_from.erase(kLabelKind);
  made_from.erase(kLabelOwner);
  nlohmann::json canonical = {
      {"image", spec.image},     {"env", spec.env},
      {"labels", made_from},     {"volume", {spec.volume_name, spec.volume_target}},
      {"network", spec.network}, {"limits", {spec.memory_bytes, spec.nano_cpus, spec.pids_limit}},
      {"caps", spec.cap_add},    {"publish", spec.publish_port.value_or(0)}};
  spec.labels[kLabelSpec] = crypto::TokenHash(canonical.dump()).substr(0, 16);
  return spec;
}

}  // namespace berth::lifecycle
