#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "docker/docker_host.hpp"
#include "docker/docker_types.hpp"
#include "docker/log_frames.hpp"
#include "docker/transport.hpp"

namespace berth::docker {

struct DockerClientOptions {
  // Deadline of an ordinary call (connect, request and whole response).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // Deadline of image pulls and imports.
  std::chrono::milliseconds image_timeout{std::chrono::minutes(30)};
  // The newest API version berth speaks; the engine's, when older, is used instead.
  std::string max_api_version = "1.41";
};

// The engine's event stream (GET /events): one event per Next(). Not thread-safe except Close().
class DockerEventStream {
 public:
  explicit DockerEventStream(std::unique_ptr<ResponseStream> stream) : stream_(std::move(stream)) {}
  // Blocks until the next event. kUnavailable when the connection ends (the engine restarted or
  // went away) and after Close() ("stream closed"). Lines that are not JSON objects are skipped.
  Result<DockerEvent> Next();
  // Makes a blocked or later Next() return kUnavailable promptly. Thread-safe; idempotent.
  void Close() { stream_->Close(); }

 private:
  std::unique_ptr<ResponseStream> stream_;
  std::string pending_;  // bytes received after the last complete line
};

// A typed client for the Docker Engine API calls berth needs. Thread-safe: each call opens its
// own connection (see Transport) and blocks until it is answered or its deadline passes.
//
// The API version is negotiated at the first call that needs it, from GET /version: the older of
// the engine's ApiVersion and options.max_api_version; every later path is prefixed /v<version>.
//
// Errors (every call):
//   kUnavailable      the engine cannot be reached or did not answer in time (names the endpoint)
//   kNotFound         404 (the engine's message names the missing object)
//   kAlreadyExists    409 (name conflict, or another conflict the engine reports)
//   kInvalidArgument  400, with the engine's message
//   kInternal         any other status, with the status and the engine's message
// A 304 "not modified" is success where the call says so.
class DockerClient {
 public:
  static Result<std::unique_ptr<DockerClient>> Create(EngineEndpoint endpoint,
                                                      DockerClientOptions options = {});

  const EngineEndpoint& endpoint() const { return transport_->endpoint(); }
  const DockerClientOptions& options() const { return options_; }

  // GET /version (unversioned). Never cached.
  Result<VersionInfo> Version();
  // GET /_ping.
  Status Ping();
  // The negotiated API version ("1.41"), negotiating on first use.
  Result<std::string> ApiVersion();

  // Images.
  Result<ImageInfo> InspectImage(const std::string& name);
  // POST /images/create?fromImage=&tag= (no registry credentials). Reads the progress stream; an
  // error line fails the pull (kNotFound with the engine's error). Deadline: image_timeout.
  Status PullImage(const std::string& reference);
  // POST /images/create?fromSrc=-&repo=&tag=&changes= with the tar file at `tar_path` as the body,
  // streamed from disk. `reference` is "repo:tag" (tag "latest" when absent); `changes` are
  // Dockerfile instructions applied to the image config ("USER node", "ENTRYPOINT [\"/x\"]",
  // "ENV A=B", "LABEL k=v", "WORKDIR /w", "CMD ..."). Returns the new image's id ("sha256:...").
  // Deadline: image_timeout.
  Result<std::string> ImportImage(const std::string& tar_path, const std::string& reference,
                                  const std::vector<std::string>& changes);
  // DELETE /images/{name}?force= (untags; deletes when no tag is left).
  Status RemoveImage(const std::string& name, bool force);
  // POST /images/{name}/tag: `target` ("repo[:tag]", tag "latest" when absent) names the image
  // `source` names too. A missing source is kNotFound.
  Status TagImage(const std::string& source, const std::string& target);
  // POST /images/{name}/push?tag=: pushes "repo[:tag]" to the registry its repo names, sending
  // `auth_json` (the engine's AuthConfig, {"username","password","serveraddress"}; "{}" for a
  // registry without authentication) as X-Registry-Auth. Reads the progress stream and returns
  // the manifest digest the registry stored ("sha256:..."): kUnavailable when the engine reports
  // an error on the stream (DigestFromPushProgress). Deadline: image_timeout.
  Result<std::string> PushImage(const std::string& reference, const std::string& auth_json = "{}");

  // Networks.
  Result<NetworkDetails> InspectNetwork(const std::string& id_or_name);
  // Returns the new network's id. A taken name is kAlreadyExists (but see ListNetworksNamed).
  Result<std::string> CreateNetwork(const NetworkCreate& network);
  Status RemoveNetwork(const std::string& id_or_name);
  // Networks carrying all of `labels` (empty value: any value).
  Result<std::vector<NetworkDetails>> ListNetworks(const LabelMap& labels);
  // Networks named exactly `name`, by ascending id. The engine does not keep names unique under
  // concurrent creates, so there can be more than one.
  Result<std::vector<NetworkDetails>> ListNetworksNamed(const std::string& name);

  // Volumes.
  Result<VolumeInfo> CreateVolume(const std::string& name, const LabelMap& labels);
  Result<VolumeInfo> InspectVolume(const std::string& name);
  Status RemoveVolume(const std::string& name, bool force);
  Result<std::vector<VolumeInfo>> ListVolumes(const LabelMap& labels);

  // Containers.
  // Returns the new container's id. A taken name is kAlreadyExists; a missing image kNotFound.
  Result<std::string> CreateContainer(const ContainerCreate& container);
  // Starting a running container is success (304).
  Status StartContainer(const std::string& id);
  // POST /containers/{id}/stop?t=grace; deadline grace + call_timeout. Stopping a stopped
  // container is success (304).
  Status StopContainer(const std::string& id, std::chrono::seconds grace);
  // POST /containers/{id}/kill?signal= (empty: SIGKILL). A container that is not running is
  // kAlreadyExists (the engine's 409).
  Status KillContainer(const std::string& id, const std::string& signal = "");
  // POST /containers/{id}/pause and /unpause. Pausing a paused container and unpausing a running
  // one are success (the engine refuses them, 409 "already paused" / 500 "not paused"); pausing a
  // container that is not running is kAlreadyExists (its 409).
  Status PauseContainer(const std::string& id);
  Status UnpauseContainer(const std::string& id);
  // POST /containers/{id}/update {"NanoCpus": nano_cpus}: the CPU limit of a container, running
  // or not, changed in place.
  Status UpdateContainerCpus(const std::string& id, int64_t nano_cpus);
  // DELETE /containers/{id}?force=&v=. Named volumes always survive; `remove_anonymous_volumes`
  // removes the container's anonymous ones.
  Status RemoveContainer(const std::string& id, bool force, bool remove_anonymous_volumes = false);
  Result<ContainerDetails> InspectContainer(const std::string& id_or_name);
  // GET /containers/json?all=&filters={"label":[...]}: containers carrying all of `labels`
  // (empty value: any value).
  Result<std::vector<ContainerListEntry>> ListContainers(const LabelMap& labels, bool all = true);
  // The last `tail` lines (tail < 0: all) of stdout and stderr. Inspects the container first:
  // without a TTY the engine multiplexes the two streams and this separates them.
  Result<LogOutput> ContainerLogs(const std::string& id, int tail);
  // POST /containers/{id}/wait: blocks until the container exits (within `timeout`) and returns
  // its exit code.
  Result<int> WaitContainer(const std::string& id, std::chrono::milliseconds timeout);
  // PUT /containers/{id}/archive?path=dir: extracts the uncompressed tar `tar` into `dir`, which
  // must exist (else kNotFound). Works on running and stopped containers.
  Status PutArchive(const std::string& id, const std::string& dir, const std::string& tar);
  // GET /containers/{id}/archive?path=: `path` as a tar archive.
  Result<std::string> GetArchive(const std::string& id, const std::string& path);

  // Swarm (API 1.41). Node, service and task calls need a manager: a worker, or an engine outside
  // a swarm, refuses them (kInternal, "This node is not a swarm manager ..."); Info() tells.
  //
  // GET /info: the engine, and whether it is a swarm manager (swarm.control_available).
  Result<SystemInfo> Info();
  Result<std::vector<SwarmNode>> ListNodes();
  Result<SwarmNode> InspectNode(const std::string& id_or_name);
  // POST /services/create. Returns the new service's id. A taken name is kAlreadyExists; a spec
  // the engine refuses kInvalidArgument.
  Result<std::string> CreateService(const ServiceSpec& spec);
  Result<ServiceDetails> InspectService(const std::string& id_or_name);
  // POST /services/{id}/update?version=: replaces the service's spec with `spec`, provided the
  // service is still at `version` (compare-and-swap); otherwise kAborted ("update out of
  // sequence"): read it again and decide again. Fields ServiceSpec does not hold are reset to
  // the engine's defaults; a changed task template replaces the service's tasks.
  Status UpdateService(const std::string& id, uint64_t version, const ServiceSpec& spec);
  // Sets the replica count and nothing else: the rest of the spec is sent back as `service` holds
  // it (spec_json), with its version as the compare-and-swap (kAborted when it moved on). The
  // tasks' template is unchanged, so running tasks are kept.
  Status ScaleService(const ServiceDetails& service, uint64_t replicas);
  // DELETE /services/{id}: its tasks are shut down (asynchronously) and removed.
  Status RemoveService(const std::string& id_or_name);
  // GET /services/{id}/logs: the last `tail` lines (tail < 0: all) of every task's stdout and
  // stderr, gathered by the manager from the nodes (the engine multiplexes the two streams; no
  // TTY is assumed).
  Result<LogOutput> ServiceLogs(const std::string& id, int tail);
  // GET /services?status=true&filters={"label":[...]}: services carrying all of `labels` (empty
  // value: any value), each with its running and desired task counts.
  Result<std::vector<ServiceDetails>> ListServices(const LabelMap& labels);
  // GET /tasks?filters=: the engine's filter map, e.g. {"service": [id], "desired-state":
  // ["running"]}; also "node", "label", "name", "id". Every matching task, shut down ones too.
  Result<std::vector<SwarmTask>> ListTasks(
      const std::map<std::string, std::vector<std::string>>& filters);

  // GET /events?filters=: `filters` is the engine's filter map, e.g. {"type": ["container"],
  // "label": ["k=v"]}. The response header must arrive within call_timeout; events then come
  // without a deadline.
  Result<std::unique_ptr<DockerEventStream>> Events(
      const std::map<std::string, std::vector<std::string>>& filters);

 private:
  DockerClient(std::shared_ptr<const Transport> transport, DockerClientOptions options)
      : transport_(std::move(transport)), options_(std::move(options)) {}

  // A round trip to "/v<api>" + path.
  Result<HttpResponse> Call(bhttp::verb method, const std::string& path, std::string body = {},
                            std::string content_type = {});
  Result<HttpResponse> Send(HttpRequest request, std::chrono::milliseconds timeout);
  Result<std::string> Versioned(const std::string& path);

  std::shared_ptr<const Transport> transport_;
  const DockerClientOptions options_;
  std::mutex mu_;
  std::string api_version_;  // guarded by mu_; empty until negotiated
};

// Escapes a query parameter value (RFC 3986 unreserved characters kept).
std::string EscapeQuery(std::string_view value);
// The engine's label filter values: "k=v", or "k" for an empty value.
std::vector<std::string> LabelFilters(const LabelMap& labels);

}  // namespace berth::docker
