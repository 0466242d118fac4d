#include "docker/docker_client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "docker/docker_json.hpp"
#include "docker/request_paths.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// The oldest API with everything berth sends (HostConfig.Mounts with VolumeOptions, Init).
constexpr char kMinApiVersion[] = "1.30";
constexpr std::size_t kMaxEventLine = 1024 * 1024;
constexpr std::size_t kMaxErrorBody = 64 * 1024;

}  // namespace

std::string EscapeQuery(std::string_view value) { return EscapePath(value, ""); }

std::vector<std::string> LabelFilters(const LabelMap& labels) {
  std::vector<std::string> out;
  for (const auto& [key, value] : labels) out.push_back(value.empty() ? key : key + "=" + value);
  return out;
}

Result<DockerEvent> DockerEventStream::Next() {
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto event = EventFromJsonLine(line);
      if (!event.ok()) continue;  // not an event: keep the stream going
      return event;
    }
    if (pending_.size() > kMaxEventLine) {
      return Internal("engine event line exceeds " + std::to_string(kMaxEventLine) + " bytes");
    }
    auto more = stream_->ReadSome(&pending_);
    if (!more.ok()) return more.status();
    if (!*more) return Unavailable("the engine ended the event stream");
  }
}

Result<std::unique_ptr<DockerClient>> DockerClient::Create(EngineEndpoint endpoint,
                                                           DockerClientOptions options) {
  auto transport = Transport::Create(std::move(endpoint));
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<DockerClient>(
      new DockerClient(std::move(transport).value(), std::move(options)));
}

Result<HttpResponse> DockerClient::Send(HttpRequest request, milliseconds timeout) {
  return transport_->RoundTrip(request, timeout);
}

Result<std::string> DockerClient::Versioned(const std::string& path) {
  auto version = ApiVersion();
  if (!version.ok()) return version.status();
  return "/v" + *version + path;
}

Result<HttpResponse> DockerClient::Call(bhttp::verb method, const std::string& path,
                                        std::string body, std::string content_type) {
  auto target = Versioned(path);
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = method;
  request.target = std::move(target).value();
  request.body = std::move(body);
  request.content_type = std::move(content_type);
  return Send(std::move(request), options_.call_timeout);
}

Result<VersionInfo> DockerClient::Version() {
  HttpRequest request;
  request.target = "/version";
  auto response = Send(request, options_.call_timeout);
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "version");
  auto j = ParseJsonBody(response->body, "GET /version");
  if (!j.ok()) return j.status();
  return VersionFromJson(*j);
}

Status DockerClient::Ping() {
  HttpRequest request;
  request.target = "/_ping";
  auto response = Send(request, options_.call_timeout);
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "ping");
  return Status::Ok();
}

Result<std::string> DockerClient::ApiVersion() {
  {
    std::lock_guard lock(mu_);
    if (!api_version_.empty()) return api_version_;
  }
  auto version = Version();
  if (!version.ok()) return version.status();
  std::string chosen = options_.max_api_version;
  if (!version->api_version.empty() && CompareApiVersions(version->api_version, chosen) < 0) {
    chosen = version->api_version;
  }
  if (CompareApiVersions(chosen, kMinApiVersion) < 0) {
    return Internal("docker engine at " + endpoint().ToString() + " speaks API " + chosen +
                    "; berth needs " + kMinApiVersion + " or newer");
  }
  std::lock_guard lock(mu_);
  api_version_ = chosen;
  return api_version_;
}

Result<std::string> DockerClient::CreateContainer(const ContainerCreate& container) {
  std::string path = "/containers/create";
  if (!container.name.empty()) path += "?name=" + EscapeQuery(container.name);
  auto response =
      Call(bhttp::verb::post, path, ContainerCreateToJson(container).dump(), "application/json");
  if (!response.ok()) return response.status();
  const std::string what = "create container " + container.name;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto j = ParseJsonBody(response->body, what);
  if (!j.ok()) return j.status();
  auto id = j->find("Id");
  if (id == j->end() || !id->is_string()) return Internal(what + ": no Id in the answer");
  return id->get<std::string>();
}

Status DockerClient::StartContainer(const std::string& id) {
  auto response = Call(bhttp::verb::post, "/containers/" + Segment(id) + "/start");
  if (!response.ok()) return response.status();
  if (response->status == 304) return Status::Ok();  // already running
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "start container " + id);
  }
  return Status::Ok();
}

Status DockerClient::StopContainer(const std::string& id, std::chrono::seconds grace) {
  auto target = Versioned("/containers/" + Segment(id) +
                          "/stop?t=" + std::to_string(std::max<int64_t>(0, grace.count())));
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = bhttp::verb::post;
  request.target = std::move(target).value();
  auto response = Send(std::move(request), options_.call_timeout + grace);
  if (!response.ok()) return response.status();
  if (response->status == 304) return Status::Ok();  // already stopped
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "stop container " + id);
  }
  return Status::Ok();
}

Status DockerClient::KillContainer(const std::string& id, const std::string& signal) {
  std::string path = "/containers/" + Segment(id) + "/kill";
  if (!signal.empty()) path += "?signal=" + EscapeQuery(signal);
  auto response = Call(bhttp::verb::post, path);
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "kill container " + id);
  }
  return Status::Ok();
}

namespace {

// The engine's refusal of a pause or unpause already in effect (409 "is already paused", 500 "is
// not paused" on Docker 20.10).
bool AlreadyInEffect(const Status& status, std::string_view words) {
  return (status.code() == ErrorCode::kAlreadyExists || status.code() == ErrorCode::kInternal) &&
         status.message().find(words) != std::string::npos;
}

}  // namespace

Status DockerClient::PauseContainer(const std::string& id) {
  auto response = Call(bhttp::verb::post, "/containers/" + Segment(id) + "/pause");
  if (!response.ok()) return response.status();
  if (IsSuccess(response->status)) return Status::Ok();
  Status error = EngineError(response->status, response->body, "pause container " + id);
  return AlreadyInEffect(error, "is already paused") ? Status::Ok() : error;
}

Status DockerClient::UnpauseContainer(const std::string& id) {
  auto response = Call(bhttp::verb::post, "/containers/" + Segment(id) + "/unpause");
  if (!response.ok()) return response.status();
  if (IsSuccess(response->status)) return Status::Ok();
  Status error = EngineError(response->status, response->body, "unpause container " + id);
  // Docker 20.10 marks a container unpaused only once containerd's event arrives: an unpause
  // right after another one still reaches containerd, which answers 500 "cannot resume a running
  // process" (seen here once, in a full test run).
  return AlreadyInEffect(error, "is not paused") ||
                 AlreadyInEffect(error, "cannot resume a running process")
             ? Status::Ok()
             : error;
}

Status DockerClient::UpdateContainerCpus(const std::string& id, int64_t nano_cpus) {
  const std::string body = "{\"NanoCpus\":" + std::to_string(nano_cpus) + "}";
  auto response =
      Call(bhttp::verb::post, "/containers/" + Segment(id) + "/update", body, "application/json");
  if (!response.ok()) return response.status();
  if (IsSuccess(response->status)) return Status::Ok();
  return EngineError(response->status, response->body, "update container " + id);
}

Status DockerClient::RemoveContainer(const std::string& id, bool force,
                                     bool remove_anonymous_volumes) {
  auto response = Call(bhttp::verb::delete_,
                       "/containers/" + Segment(id) + "?force=" + (force ? "true" : "false") +
                           "&v=" + (remove_anonymous_volumes ? "true" : "false"));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "remove container " + id);
  }
  return Status::Ok();
}

Result<ContainerDetails> DockerClient::InspectContainer(const std::string& id_or_name) {
  auto response = Call(bhttp::verb::get, "/containers/" + Segment(id_or_name) + "/json");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, "");
  auto j = ParseJsonBody(response->body, "inspect container " + id_or_name);
  if (!j.ok()) return j.status();
  return ContainerFromJson(*j);
}

Result<std::vector<ContainerListEntry>> DockerClient::ListContainers(const LabelMap& labels,
                                                                     bool all) {
  auto response =
      Call(bhttp::verb::get, std::string("/containers/json?all=") + (all ? "true" : "false") +
                                 "&filters=" + FiltersParam({{"label", LabelFilters(labels)}}));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "list containers");
  }
  auto j = ParseJsonBody(response->body, "list containers");
  if (!j.ok()) return j.status();
  std::vector<ContainerListEntry> out;
  if (j->is_array()) {
    for (const json& c : *j) out.push_back(ContainerListEntryFromJson(c));
  }
  return out;
}

Result<LogOutput> DockerClient::ContainerLogs(const std::string& id, int tail) {
  auto details = InspectContainer(id);
  if (!details.ok()) return details.status();
  auto response =
      Call(bhttp::verb::get, "/containers/" + Segment(id) + "/logs?stdout=true&stderr=true&tail=" +
                                 (tail < 0 ? std::string("all") : std::to_string(tail)));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body, "logs of container " + id);
  }
  if (details->tty) {
    LogOutput out;
    out.combined = response->body;
    out.out = std::move(response->body);
    return out;
  }
  return DemultiplexLogs(response->body);
}

Result<int> DockerClient::WaitContainer(const std::string& id, milliseconds timeout) {
  auto target = Versioned("/containers/" + Segment(id) + "/wait");
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.method = bhttp::verb::post;
  request.target = std::move(target).value();
  auto response = Send(std::move(request), timeout);
  if (!response.ok()) return response.status();
  const std::string what = "wait for container " + id;
  if (!IsSuccess(response->status)) return EngineError(response->status, response->body, what);
  auto j = ParseJsonBody(response->body, what);
  if (!j.ok()) return j.status();
  auto code = j->find("StatusCode");
  if (code == j->end() || !code->is_number_integer()) {
    return Internal(what + ": no StatusCode in the answer");
  }
  return code->get<int>();
}

Status DockerClient::PutArchive(const std::string& id, const std::string& dir,
                                const std::string& tar) {
  auto response =
      Call(bhttp::verb::put, "/containers/" + Segment(id) + "/archive?path=" + EscapeQuery(dir),
           tar, "application/x-tar");
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body,
                       "upload to " + dir + " in container " + id);
  }
  return Status::Ok();
}

Result<std::string> DockerClient::GetArchive(const std::string& id, const std::string& path) {
  auto response =
      Call(bhttp::verb::get, "/containers/" + Segment(id) + "/archive?path=" + EscapeQuery(path));
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    return EngineError(response->status, response->body,
                       "download " + path + " from container " + id);
  }
  return std::move(response->body);
}

Result<std::unique_ptr<DockerEventStream>> DockerClient::Events(
    const std::map<std::string, std::vector<std::string>>& filters) {
  auto target = Versioned("/events?filters=" + FiltersParam(filters));
  if (!target.ok()) return target.status();
  HttpRequest request;
  request.target = std::move(target).value();
  auto stream = transport_->OpenStream(request, options_.call_timeout);
  if (!stream.ok()) return stream.status();
  if (!IsSuccess((*stream)->status())) {
    std::string body;
    while (body.size() < kMaxErrorBody) {
      auto more = (*stream)->ReadSome(&body);
      if (!more.ok() || !*more) break;
    }
    return EngineError((*stream)->status(), body, "events");
  }
  return std::make_unique<DockerEventStream>(std::move(stream).value());
}

}  // namespace berth::docker
