#include "docker/docker_client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "docker/docker_json.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// The oldest API with everything berth sends (HostConfig.Mounts with VolumeOptions, Init).
constexpr char kMinApiVersion[] = "1.30";
constexpr std::size_t kMaxEventLine = 1024 * 1024;
constexpr std::size_t kMaxErrorBody = 64 * 1024;

bool IsSuccess(int status) { return status >= 200 && status < 300; }

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Escape(std::string_view value, std::string_view also_keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (Unreserved(c) || also_keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

// A path segment naming a container, network or volume.
std::string Segment(std::string_view id) { return Escape(id, ""); }
// An image reference keeps its '/', ':' and '@' (the engine routes /images/{name:.*}/json).
std::string ImageSegment(std::string_view name) { return Escape(name, "/:@"); }

std::string FiltersParam(const std::map<std::string, std::vector<std::string>>& filters) {
  json j = json::object();
  for (const auto& [key, values] : filters) j[key] = values;
  return EscapeQuery(j.dump());
}

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

std::string EscapeQuery(std::string_view value) { return Escape(value, ""); }

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
  json body = {{"Name", network.name},
               {"CheckDuplicate", true},
               {"Driver", network.driver},
               {"Options", json(network.options)},
               {"Labels", json(network.labels)}};
  auto response = Call(bhttp::verb::post, "/networks/create", body.dump(), "application/json");
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
