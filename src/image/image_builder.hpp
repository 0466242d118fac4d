#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "docker/docker_client.hpp"

namespace berth::image {

// The two images berth builds locally, since no registry is reachable (ARCHITECTURE.md, "Agent
// image"): the real OpenClaw gateway, and berth-test-agent honouring the same container contract.
enum class ImageKind { kOpenClaw, kTestAgent };

// "openclaw" | "test-agent"; kInvalidArgument otherwise.
Result<ImageKind> ParseImageKind(std::string_view name);
std::string_view ImageKindName(ImageKind kind);

// Pinned like scripts/install-openclaw.sh (agentconfig::kOpenClawVersion is the gateway's).
inline constexpr std::string_view kNodeVersion = "26.10.0";

// Labels every built image carries: its kind, and the digest of everything that went into it.
inline constexpr char kKindLabel[] = "berth.image";
inline constexpr char kInputsLabel[] = "berth.image.inputs";

// berth/openclaw:<openclaw version>, berth/test-agent:<berth version>.
std::string DefaultReference(ImageKind kind);

struct ImageBuildOptions {
  ImageKind kind = ImageKind::kTestAgent;
  std::string reference;         // repo[:tag]; empty: DefaultReference(kind)
  std::vector<std::string> env;  // "NAME=value", baked in as ENV (after the image's own)
  // test-agent: the berth-test-agent binary; empty: the one next to the running executable.
  std::string binary;
  // openclaw: the npm cache scripts/install-openclaw.sh fills; empty: $BERTH_OPENCLAW_HOME, else
  // /var/cache/berth/openclaw. When it lacks the pinned versions, they are installed with npm
  // into a temporary directory instead.
  std::string openclaw_home;
  std::string work_parent;  // parent of the temporary rootfs; empty: $TMPDIR, else /tmp
  bool force = false;       // build even when the reference already names an identical build
  std::function<void(const std::string&)> progress;  // one line per step; may be empty
};

struct ImageBuildResult {
  std::string reference;
  std::string id;       // "sha256:..."
  bool reused = false;  // the reference already named an image built from the same inputs
};

// Builds the image's root filesystem in a temporary directory (removed afterwards), and imports
// it with DockerClient::ImportImage under `reference`. Idempotent: when the reference already
// names an image whose kInputsLabel equals this build's digest (binaries, libraries, scripts,
// the npm lock file, env, changes), nothing is imported and that image is returned. After a new
// import, the image the reference named before is removed when it was a berth build and nothing
// uses it (else it stays, untagged).
//
// Rootfs (both kinds): /bin/busybox (Debian's busybox-static) with its applet links, /etc/passwd
// and /etc/group with root and node (1000:1000), /home/node/.openclaw (node, 0700), /tmp (1777),
// the CA bundle at /etc/ssl/certs/ca-certificates.crt, every program's shared libraries and the
// loader. Config: USER node, WORKDIR /home/node, ENV HOME and PATH, ENTRYPOINT, the labels, one
// ENV per options.env.
//
// Errors: kInvalidArgument for a bad env entry or reference; kNotFound for a missing input
// (binary, busybox, CA bundle, npm), with what to install; kInternal when tar or npm fail;
// the client's errors from the engine (kUnavailable when it does not answer).
Result<ImageBuildResult> BuildImage(docker::DockerClient& client, const ImageBuildOptions& options);

// The Dockerfile-style changes applied at import. Exposed for tests.
std::vector<std::string> ImageChanges(ImageKind kind, const std::string& inputs_digest,
                                      const std::vector<std::string>& env);

// `ENV name="value"` with the value quoted for the engine's Dockerfile parser (\, " and $
// escaped, so it is taken literally). kInvalidArgument unless `entry` is NAME=value with NAME
// matching [A-Za-z_][A-Za-z0-9_]*.
Result<std::string> EnvChange(const std::string& entry);

}  // namespace berth::image
