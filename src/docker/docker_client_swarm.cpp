// DockerClient's Swarm calls: the engine's info, nodes, services and tasks.
#include <nlohmann/json.hpp>

#include "docker/docker_client.hpp"
#include "docker/docker_json.hpp"
#include "docker/request_paths.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;

}  // namespace

Result<SystemInfo> DockerClient::Info() {
  auto response = Call(bhttp::verb::get, "/info");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "info");
  auto j = ParseJsonBody(response->body, "GET /info");
  if (!j.ok()) return j.status();
  return SystemInfoFromJson(*j);
}

Result<std::vector<SwarmNode>> DockerClient::ListNodes() {
  auto response = Call(bhttp::verb::get, "/nodes");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list nodes");
  }
  auto j = ParseJsonBody(response->body, "list nodes");
  if (!j.ok()) return j.status();
  std::vector<SwarmNode> out;
  if (j->is_array()) {
    for (const json& n : *j) out.push_back(NodeFromJson(n));
  }
  return out;
}

Result<SwarmNode> DockerClient::InspectNode(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::get, "/nodes/" + Segment(id_or_name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "inspect node " + id_or_name);
  }
  auto j = ParseJsonBody(response->body, "inspect node " + id_or_name);
  if (!j.ok()) return j.status();
  return NodeFromJson(*j);
}

Result<std::string> DockerClient::CreateService(const ServiceSpec& spec) {
  auto response = Call(bhttp::verb::post, "/services/create", ServiceSpecToJson(spec).dump(),
                       "application/json");
  if (!response.ok()) return response.status();
  const std::string what = "create service " + spec.name;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto j = ParseJsonBody(response->body, what);
  if (!j.ok()) return j.status();
  auto id = j->find("ID");
  if (id == j->end() || !id->is_string()) return Internal(what + ": no ID in the answer");
  return id->get<std::string>();
}

Result<ServiceDetails> DockerClient::InspectService(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::get, "/services/" + Segment(id_or_name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "inspect service " + id_or_name);
  }
  auto j = ParseJsonBody(response->body, "inspect service " + id_or_name);
  if (!j.ok()) return j.status();
  return ServiceFromJson(*j);
}

Status DockerClient::UpdateService(const std::string& id, uint64_t version,
                                   const ServiceSpec& spec) {
  auto response = Call(bhttp::verb::post,
                       "/services/" + Segment(id) + "/update?version=" + std::to_string(version),
                       ServiceSpecToJson(spec).dump(), "application/json");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "update service " + id);
  }
  return Status::Ok();
}

Status DockerClient::ScaleService(const ServiceDetails& service, uint64_t replicas) {
  const std::string what = "scale service " + service.id;
  auto spec = ParseJsonBody(service.spec_json, what);
  if (!spec.ok()) return spec.status();
  if (!spec->is_object()) return InvalidArgument(what + ": no spec");
  (*spec)["Mode"] = {{"Replicated", {{"Replicas", replicas}}}};
  auto response = Call(
      bhttp::verb::post,
      "/services/" + Segment(service.id) + "/update?version=" + std::to_string(service.version),
      spec->dump(), "application/json");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  return Status::Ok();
}

Status DockerClient::RemoveService(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::delete_, "/services/" + Segment(id_or_name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "remove service " + id_or_name);
  }
  return Status::Ok();
}

Result<LogOutput> DockerClient::ServiceLogs(const std::string& id, int tail) {
  auto response =
      Call(bhttp::verb::get, "/services/" + Segment(id) + "/logs?stdout=true&stderr=true&tail=" +
                                 (tail < 0 ? std::string("all") : std::to_string(tail)));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "logs of service " + id);
  }
  return DemultiplexLogs(response->body);
}

Result<std::vector<ServiceDetails>> DockerClient::ListServices(const LabelMap& labels) {
  auto response = Call(bhttp::verb::get, "/services?status=true&filters=" +
                                             FiltersParam({{"label", LabelFilters(labels)}}));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list services");
  }
  auto j = ParseJsonBody(response->body, "list services");
  if (!j.ok()) return j.status();
  std::vector<ServiceDetails> out;
  if (j->is_array()) {
    for (const json& s : *j) out.push_back(ServiceFromJson(s));
  }
  return out;
}

Result<std::vector<SwarmTask>> DockerClient::ListTasks(
    const std::map<std::string, std::vector<std::string>>& filters) {
  auto response = Call(bhttp::verb::get, "/tasks?filters=" + FiltersParam(filters));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list tasks");
  }
  auto j = ParseJsonBody(response->body, "list tasks");
  if (!j.ok()) return j.status();
  std::vector<SwarmTask> out;
  if (j->is_array()) {
    for (const json& t : *j) out.push_back(TaskFromJson(t));
  }
  return out;
}

}  // namespace berth::docker
