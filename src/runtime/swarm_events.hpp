#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "runtime/container_runtime.hpp"

namespace berth::docker {
class DockerClient;
class DockerEventStream;
struct DockerEvent;
}  // namespace berth::docker

namespace berth::runtime {

// SwarmRuntime's event stream: a manager's service and node events in berth's words.
//
// A manager sees no container events, and its service events carry only the service's name (the
// engine's label filter does not apply to them), so the labels are matched here: the services
// carrying `labels` are listed at subscription and each created service is inspected once (a
// service removed before its create event is read can no longer be inspected: with a label
// filter, neither event of it is reported).
//   service create → kCreated, remove → kDestroyed, update → kOther (of those services only);
//   node update to down / unknown / disconnected → one kDied per such service with a task not
//   ended on that node (one task list per lost node), with `error` "node NAME is down: ..." and
//   no exit code: the node's engine is gone, so its tasks' states are stale.
// Next() returns kUnavailable when the engine connection ends or the tasks of a lost node cannot
// be listed (subscribe again and reconcile: List reports those services kDead).
class SwarmEvents final : public EventStream {
 public:
  // Subscribes (type service and node) and then lists the services carrying `labels`.
  static Result<std::unique_ptr<EventStream>> Subscribe(
      std::shared_ptr<docker::DockerClient> manager, const Labels& labels);
  ~SwarmEvents() override;

  Result<ContainerEvent> Next() override;
  void Close() override;

 private:
  SwarmEvents(std::shared_ptr<docker::DockerClient> manager,
              std::unique_ptr<docker::DockerEventStream> stream, Labels labels);

  // The labels of service `id` when it carries labels_ (inspecting it when not known yet).
  const Labels* Known(const std::string& id, bool inspect);
  // Queues the events of a service event; false when it is not about one of ours.
  void OnService(const docker::DockerEvent& event);
  // Queues a kDied per service of ours on a lost node.
  Status OnNode(const docker::DockerEvent& event);

  std::shared_ptr<docker::DockerClient> manager_;
  std::unique_ptr<docker::DockerEventStream> stream_;
  const Labels labels_;
  std::map<std::string, Labels> services_;  // ours, by id; only Next()'s thread touches it
  std::deque<ContainerEvent> pending_;      // only Next()'s thread touches it
  std::atomic<bool> closed_{false};
};

// True when `labels` has every label of `wanted` (an empty value matches any value).
bool CarriesLabels(const Labels& labels, const Labels& wanted);

}  // namespace berth::runtime
