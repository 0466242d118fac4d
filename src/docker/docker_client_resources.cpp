// DockerClient's image, network and volume calls (containers and events: docker_client.cpp).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "docker/docker_client.hpp"
#include "docker/docker_json.hpp"
#include "docker/request_paths.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;

// Splits "repo[:tag]" or "repo@digest" as the engine's image create wants it.
void SplitReference(const std::string& reference, std::string* repo, std::string* tag) {
  if (auto at = reference.find('@'); at != std::string::npos) {
    *repo = reference.substr(0, at);
    *tag = reference.substr(at + 1);
    return;
  }
  const auto colon = reference.rfind(':');
  const auto slash = reference.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    *repo = reference.substr(0, colon);
    *tag = reference.substr(colon + 1);
  } else {
    *repo = reference;
    *tag = "latest";
  }
}

// Reads the JSON-lines progress stream of an image pull or import. Returns the last "status"
// text, or the first error the engine reported.
Result<std::string> ReadProgress(const std::string& body, const std::string& what) {
  std::string last_status;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    json j = ParseJson(line, "engine progress", kEngineJsonLimits).value_or(json());
    if (!j.is_object()) continue;
    std::string error;
    if (auto it = j.find("error"); it != j.end() && it->is_string()) error = it->get<std::string>();
    if (auto it = j.find("errorDetail"); error.empty() && it != j.end() && it->is_object()) {
      if (auto m = it->find("message"); m != it->end() && m->is_string())
        error = m->get<std::string>();
    }
    if (!error.empty()) return NotFound(what + ": " + error);
    if (auto it = j.find("status"); it != j.end() && it->is_string()) {
      last_status = it->get<std::string>();
    }
  }
  return last_status;
}

}  // namespace

Result<ImageInfo> DockerClient::InspectImage(const std::string& name) {
  auto response = Call(bhttp::verb::get, "/images/" + ImageSegment(name) + "/json");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "");
  auto j = ParseJsonBody(response->body, "inspect image " + name);
  if (!j.ok()) return j.status();
  return ImageFromJson(*j);
}

Status DockerClient::PullImage(const std::string& reference) {
  std::string repo, tag;
  SplitReference(reference, &repo, &tag);
  auto target =
      Versioned("/images/create?fromImage=" + EscapeQuery(repo) + "&tag=" + EscapeQuery(tag));
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = bhttp::verb::post;
  request.target = std::move(target).value();
  auto response = Send(std::move(request), options_.image_timeout);
  if (!response.ok()) return response.status();
  const std::string what = "pull image " + reference;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  return StatusOf(ReadProgress(response->body, what));
}

Result<std::string> DockerClient::ImportImage(const std::string& tar_path,
                                              const std::string& reference,
                                              const std::vector<std::string>& changes) {
  if (reference.empty()) return InvalidArgument("import image: the reference is empty");
  std::string repo, tag;
  SplitReference(reference, &repo, &tag);
  std::string path =
      "/images/create?fromSrc=-&repo=" + EscapeQuery(repo) + "&tag=" + EscapeQuery(tag);
  for (const std::string& change : changes) path += "&changes=" + EscapeQuery(change);
  auto target = Versioned(path);
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = bhttp::verb::post;
  request.target = std::move(target).value();
  request.content_type = "application/x-tar";
  request.body_file = tar_path;
  auto response = Send(std::move(request), options_.image_timeout);
  if (!response.ok()) return response.status();
  const std::string what = "import image " + reference + " from " + tar_path;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto status = ReadProgress(response->body, what);
  if (!status.ok()) return Internal(status.status().message());
  // The last progress line is the new image's id.
  if (status->rfind("sha256:", 0) == 0) return *status;
  auto image = InspectImage(reference);
  if (!image.ok()) return image.status();
  return image->id;
}

Status DockerClient::RemoveImage(const std::string& name, bool force) {
  auto response = Call(bhttp::verb::delete_,
                       "/images/" + ImageSegment(name) + "?force=" + (force ? "true" : "false"));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "remove image " + name);
  }
  return Status::Ok();
}

Result<NetworkDetails> DockerClient::InspectNetwork(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::get, "/networks/" + Segment(id_or_name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "");
  auto j = ParseJsonBody(response->body, "inspect network " + id_or_name);
  if (!j.ok()) return j.status();
  return NetworkFromJson(*j);
}

Result<std::string> DockerClient::CreateNetwork(const NetworkCreate& network) {
  auto response = Call(bhttp::verb::post, "/networks/create", NetworkCreateToJson(network).dump(),
                       "application/json");
  if (!response.ok()) return response.status();
  const std::string what = "create network " + network.name;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto j = ParseJsonBody(response->body, what);
  if (!j.ok()) return j.status();
  auto id = j->find("Id");
  if (id == j->end() || !id->is_string()) return Internal(what + ": no Id in the answer");
  return id->get<std::string>();
}

Status DockerClient::RemoveNetwork(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::delete_, "/networks/" + Segment(id_or_name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "remove network " + id_or_name);
  }
  return Status::Ok();
}

Result<std::vector<NetworkDetails>> DockerClient::ListNetworks(const LabelMap& labels) {
  auto response = Call(bhttp::verb::get,
                       "/networks?filters=" + FiltersParam({{"label", LabelFilters(labels)}}));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list networks");
  }
  auto j = ParseJsonBody(response->body, "list networks");
  if (!j.ok()) return j.status();
  std::vector<NetworkDetails> out;
  if (j->is_array()) {
    for (const json& n : *j) out.push_back(NetworkFromJson(n));
  }
  return out;
}

Result<std::vector<NetworkDetails>> DockerClient::ListNetworksNamed(const std::string& name) {
  // The engine's name filter matches substrings: keep the exact matches.
  auto response = Call(bhttp::verb::get, "/networks?filters=" + FiltersParam({{"name", {name}}}));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list networks named " + name);
  }
  auto j = ParseJsonBody(response->body, "list networks");
  if (!j.ok()) return j.status();
  std::vector<NetworkDetails> out;
  if (j->is_array()) {
    for (const json& n : *j) {
      NetworkDetails details = NetworkFromJson(n);
      if (details.name == name) out.push_back(std::move(details));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const NetworkDetails& a, const NetworkDetails& b) { return a.id < b.id; });
  return out;
}

Result<VolumeInfo> DockerClient::CreateVolume(const std::string& name, const LabelMap& labels) {
  json body = {{"Name", name}, {"Labels", json(labels)}};
  auto response = Call(bhttp::verb::post, "/volumes/create", body.dump(), "application/json");
  if (!response.ok()) return response.status();
  const std::string what = "create volume " + name;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto j = ParseJsonBody(response->body, what);
  if (!j.ok()) return j.status();
  return VolumeFromJson(*j);
}

Result<VolumeInfo> DockerClient::InspectVolume(const std::string& name) {
  auto response = Call(bhttp::verb::get, "/volumes/" + Segment(name));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "");
  auto j = ParseJsonBody(response->body, "inspect volume " + name);
  if (!j.ok()) return j.status();
  return VolumeFromJson(*j);
}

Status DockerClient::RemoveVolume(const std::string& name, bool force) {
  auto response = Call(bhttp::verb::delete_,
                       "/volumes/" + Segment(name) + "?force=" + (force ? "true" : "false"));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "remove volume " + name);
  }
  return Status::Ok();
}

Result<std::vector<VolumeInfo>> DockerClient::ListVolumes(const LabelMap& labels) {
  auto response =
      Call(bhttp::verb::get, "/volumes?filters=" + FiltersParam({{"label", LabelFilters(labels)}}));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list volumes");
  }
  auto j = ParseJsonBody(response->body, "list volumes");
  if (!j.ok()) return j.status();
  std::vector<VolumeInfo> out;
  if (auto volumes = j->find("Volumes"); volumes != j->end() && volumes->is_array()) {
    for (const json& v : *volumes) out.push_back(VolumeFromJson(v));
  }
  return out;
}

}  // namespace berth::docker
