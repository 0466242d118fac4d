// DockerClient's image tag and push (the images a swarm's nodes pull from a registry).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "docker/docker_client.hpp"
#include "docker/docker_json.hpp"
#include "docker/push_progress.hpp"
#include "docker/request_paths.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;

std::string StringField(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "repo[:tag]" split at a ':' after the last '/' (a registry's host:port keeps its colon).
void SplitTag(const std::string& reference, std::string* repo, std::string* tag) {
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

}  // namespace

Result<std::string> DigestFromPushProgress(std::string_view body, const std::string& what) {
  std::string digest;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    json j = ParseJson(line, "engine progress", kEngineJsonLimits).value_or(json());
    if (!j.is_object()) continue;
    std::string error = StringField(j, "error");
    if (auto it = j.find("errorDetail"); error.empty() && it != j.end() && it->is_object()) {
      error = StringField(*it, "message");
    }
    if (!error.empty()) return Unavailable(what + ": " + error);
    if (auto aux = j.find("aux"); aux != j.end() && aux->is_object()) {
      if (std::string d = StringField(*aux, "Digest"); d.rfind("sha256:", 0) == 0) digest = d;
    }
    const std::string status = StringField(j, "status");
    if (auto at = status.find(": digest: sha256:"); digest.empty() && at != std::string::npos) {
      const std::string rest = status.substr(at + 10);
      digest = rest.substr(0, rest.find(' '));
    }
  }
  if (digest.empty()) return Internal(what + ": the engine reported no digest");
  return digest;
}

std::string RegistryAuthHeader(const std::string& auth_json) {
  std::string encoded = Base64Encode(auth_json);
  std::replace(encoded.begin(), encoded.end(), '+', '-');
  std::replace(encoded.begin(), encoded.end(), '/', '_');
  return encoded;
}

Status DockerClient::TagImage(const std::string& source, const std::string& target) {
  std::string repo, tag;
  SplitTag(target, &repo, &tag);
  auto response =
      Call(bhttp::verb::post, "/images/" + ImageSegment(source) + "/tag?repo=" + EscapeQuery(repo) +
                                  "&tag=" + EscapeQuery(tag));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "tag image " + source + " " + target);
  }
  return Status::Ok();
}

Result<std::string> DockerClient::PushImage(const std::string& reference,
                                            const std::string& auth_json) {
  std::string repo, tag;
  SplitTag(reference, &repo, &tag);
  auto target = Versioned("/images/" + ImageSegment(repo) + "/push?tag=" + EscapeQuery(tag));
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = bhttp::verb::post;
  request.target = std::move(target).value();
  request.headers = {{"X-Registry-Auth", RegistryAuthHeader(auth_json)}};
  auto response = Send(std::move(request), options_.image_timeout);
  if (!response.ok()) return response.status();
  const std::string what = "push image " + reference;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  return DigestFromPushProgress(response->body, what);
}

}  // namespace berth::docker
