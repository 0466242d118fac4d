#include "runtime/swarm_events.hpp"

#include <set>

#include "docker/docker_client.hpp"
#include "runtime/swarm_placement.hpp"
#include "runtime/swarm_translate.hpp"

namespace berth::runtime {
namespace {

std::chrono::system_clock::time_point EventTime(const docker::DockerEvent& event) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(event.time_nano)));
}

std::string Attribute(const docker::DockerEvent& event, const std::string& key) {
  auto it = event.attributes.find(key);
  return it == event.attributes.end() ? "" : it->second;
}

}  // namespace

bool CarriesLabels(const Labels& labels, const Labels& wanted) {
  for (const auto& [key, value] : wanted) {
    auto it = labels.find(key);
    if (it == labels.end() || (!value.empty() && it->second != value)) return false;
  }
  return true;
}

Result<std::unique_ptr<EventStream>> SwarmEvents::Subscribe(
    std::shared_ptr<docker::DockerClient> manager, const Labels& labels) {
  auto stream = manager->Events({{"type", {"service", "node"}}});
  if (!stream.ok()) return stream.status();
  // Listed after subscribing: a service created in between is seen by one or the other.
  auto services = manager->ListServices(labels);
  if (!services.ok()) return services.status();
  std::unique_ptr<SwarmEvents> events(
      new SwarmEvents(std::move(manager), std::move(stream).value(), labels));
  for (docker::ServiceDetails& s : *services) {
    events->services_[s.id] = std::move(s.spec.labels);
  }
  return std::unique_ptr<EventStream>(std::move(events));
}

SwarmEvents::SwarmEvents(std::shared_ptr<docker::DockerClient> manager,
                         std::unique_ptr<docker::DockerEventStream> stream, Labels labels)
    : manager_(std::move(manager)), stream_(std::move(stream)), labels_(std::move(labels)) {}

SwarmEvents::~SwarmEvents() = default;

void SwarmEvents::Close() {
  closed_ = true;
  stream_->Close();
}

const Labels* SwarmEvents::Known(const std::string& id, bool inspect) {
  if (auto it = services_.find(id); it != services_.end()) return &it->second;
  if (!inspect) return nullptr;
  auto service = manager_->InspectService(id);
  if (!service.ok()) {
    // Gone already: its labels cannot be read any more. Without a label filter it is ours anyway.
    if (!labels_.empty()) return nullptr;
    return &(services_[id] = Labels());
  }
  if (!CarriesLabels(service->spec.labels, labels_)) return nullptr;
  return &(services_[id] = std::move(service->spec.labels));
}

void SwarmEvents::OnService(const docker::DockerEvent& event) {
  const bool removed = event.action == "remove";
  const Labels* labels = Known(event.actor_id, /*inspect=*/!removed);
  if (labels == nullptr) return;
  ContainerEvent out;
  out.container_id = event.actor_id;
  out.kind = event.action == "create" ? ContainerEventKind::kCreated
             : removed                ? ContainerEventKind::kDestroyed
                                      : ContainerEventKind::kOther;
  out.labels = *labels;
  out.labels.insert(event.attributes.begin(), event.attributes.end());
  out.time = EventTime(event);
  pending_.push_back(std::move(out));
  if (removed) services_.erase(event.actor_id);
}

Status SwarmEvents::OnNode(const docker::DockerEvent& event) {
  const std::string state = Attribute(event, "state.new");
  if (event.action != "update" || !IsNodeLost(state)) return Status::Ok();
  // Every task of the node: the manager may already want its tasks shut down (OnLostNode).
  auto tasks = manager_->ListTasks({{"node", {event.actor_id}}});
  if (!tasks.ok()) {
    return Unavailable("swarm node " + event.actor_id + " is " + state +
                       ", and its tasks cannot be listed: " + tasks.status().message());
  }
  docker::SwarmNode node;
  node.id = event.actor_id;
  node.hostname = Attribute(event, "name");
  node.state = state;
  if (auto inspected = manager_->InspectNode(event.actor_id); inspected.ok()) node = *inspected;
  std::set<std::string> told;
  for (const docker::SwarmTask& t : *tasks) {
    if (IsFinalTaskState(t.state) || !told.insert(t.service_id).second) continue;
    const Labels* labels = Known(t.service_id, /*inspect=*/true);
    if (labels == nullptr) continue;
    ContainerEvent out;
    out.container_id = t.service_id;
    out.kind = ContainerEventKind::kDied;
    out.labels = *labels;
    out.error = NodeLostError(node);
    out.time = EventTime(event);
    pending_.push_back(std::move(out));
  }
  return Status::Ok();
}

Result<ContainerEvent> SwarmEvents::Next() {
  for (;;) {
    if (closed_) return Unavailable("event stream closed");
    if (!pending_.empty()) {
      ContainerEvent out = std::move(pending_.front());
      pending_.pop_front();
      return out;
    }
    auto event = stream_->Next();
    if (!event.ok()) {
      if (closed_) return Unavailable("event stream closed");
      return event.status();
    }
    if (event->type == "service") {
      OnService(*event);
    } else if (event->type == "node") {
      BERTH_RETURN_IF_ERROR(OnNode(*event));
    }
  }
}

}  // namespace berth::runtime
