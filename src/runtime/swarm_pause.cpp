// SwarmRuntime's pause (swarm_runtime.hpp): the engine's pause of a task's container, through the
// engine of the node it runs on. The manager has no pause of its own and never sees this one.
#include <spdlog/spdlog.h>

#include "docker/docker_client.hpp"
#include "runtime/swarm_node_engines.hpp"
#include "runtime/swarm_runtime.hpp"

namespace berth::runtime {

bool SwarmRuntime::SupportsPause() const {
  return node_engines_ != nullptr && !node_engines_->empty();
}

Result<SwarmRuntime::RunningTask> SwarmRuntime::FindRunningTask(const std::string& id,
                                                                const std::string& what) {
  auto tasks = client_->ListTasks({{"service", {id}}, {"desired-state", {"running"}}});
  if (!tasks.ok()) return tasks.status();
  const docker::SwarmTask* task = nullptr;
  for (const docker::SwarmTask& t : *tasks) {
    if (t.state == "running" && !t.container_id.empty() &&
        (task == nullptr || t.created_at > task->created_at)) {
      task = &t;
    }
  }
  if (task == nullptr) return NotFound(what + ": it has no running task");
  auto engine = node_engines_ ? node_engines_->ForNode(task->node_id) : nullptr;
  if (engine == nullptr) {
    return Unavailable(what + ": its task runs on node " + NodeName(task->node_id) +
                       ", whose engine is not among BERTH_SWARM_NODE_ENGINES (or does not answer)");
  }
  return RunningTask{task->container_id, task->node_id, std::move(engine)};
}

namespace {

// The seam's answer for a service with no running task: kAlreadyExists ("not running").
Status NotRunning(const Status& found) {
  return found.code() == ErrorCode::kNotFound ? AlreadyExists(found.message()) : found;
}

}  // namespace

Status SwarmRuntime::Pause(const std::string& id) {
  auto task = FindRunningTask(id, "cannot pause service " + id);
  if (!task.ok()) return NotRunning(task.status());
  return task->engine->PauseContainer(task->container_id);
}

Status SwarmRuntime::Unpause(const std::string& id) {
  auto task = FindRunningTask(id, "cannot resume service " + id);
  if (!task.ok()) return NotRunning(task.status());
  return task->engine->UnpauseContainer(task->container_id);
}

std::set<std::string> SwarmRuntime::PausedContainers(const std::vector<docker::SwarmTask>& tasks,
                                                     const Labels& labels) {
  std::set<std::string> paused;
  if (!SupportsPause()) return paused;
  std::set<std::string> nodes;
  for (const docker::SwarmTask& t : tasks) {
    if (t.state == "running" && !t.node_id.empty()) nodes.insert(t.node_id);
  }
  for (const std::string& node : nodes) {
    auto engine = node_engines_->ForNode(node);
    if (engine == nullptr) continue;
    auto listed = engine->ListContainers(labels, /*all=*/true);
    if (!listed.ok()) {
      spdlog::warn("swarm: cannot list the containers on node {} to see which are paused: {}", node,
                   listed.status().message());
      continue;
    }
    for (const docker::ContainerListEntry& c : *listed) {
      if (c.state == "paused") paused.insert(c.id);
    }
  }
  return paused;
}

}  // namespace berth::runtime
