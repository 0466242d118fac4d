#include "lifecycle_restart/private_dockerd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "docker/docker_host.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The inode of a namespace link, e.g. "/proc/self/ns/net"; 0 when unreadable.
ino_t NamespaceInode(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 ? st.st_ino : 0;
}

// Processes whose command line mentions `needle` (the engine's containerd and shims name the
// directory in their arguments), other than this process.
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = ReadWhole("/proc/" + std::string(entry->d_name) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return found;
}

struct ProcessStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
};

// The children of this process (orphans it adopted as subreaper included), from /proc.
std::vector<ProcessStat> Children() {
  std::vector<ProcessStat> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid <= 0) continue;
    // "<pid> (<comm>) <state> <ppid> ...": comm may hold spaces and parentheses.
    const std::string stat = ReadWhole("/proc/" + std::string(entry->d_name) + "/stat");
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 > stat.size()) {
      continue;
    }
    ProcessStat p;
    p.pid = static_cast<pid_t>(pid);
    p.comm = stat.substr(open + 1, close - open - 1);
    p.state = stat[close + 2];
    p.ppid = static_cast<pid_t>(std::strtol(stat.c_str() + close + 4, nullptr, 10));
    if (p.ppid == ::getpid()) found.push_back(p);
  }
  ::closedir(proc);
  return found;
}

}  // namespace

Status IsolateTestProcess() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return Internal(std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    const int error = errno;
    std::string message = std::string("unshare(CLONE_NEWNET): ") + std::strerror(error);
    return error == EPERM ? PermissionDenied(message) : Internal(message);
  }
  // A fresh namespace has only loopback, and it is down.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &request);
  if (rc == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    rc = ::ioctl(fd, SIOCSIFFLAGS, &request);
  }
  const int error = errno;
  ::close(fd);
  if (rc != 0) return Internal(std::string("bringing lo up: ") + std::strerror(error));
  return Status();
}

Result<std::unique_ptr<PrivateDockerd>> PrivateDockerd::Start(std::chrono::seconds ready_timeout) {
  if (::geteuid() != 0) {
    return PermissionDenied("a private dockerd needs root; this test runs as uid " +
                            std::to_string(::geteuid()));
  }
  const ino_t own = NamespaceInode("/proc/self/ns/net");
  if (own == 0 || own == NamespaceInode("/proc/1/ns/net")) {
    return PermissionDenied(
        "refusing to start a private dockerd in the host's network namespace (it could delete "
        "the shared engine's docker0): call IsolateTestProcess() first");
  }
  char pattern[] = "/tmp/bdr-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    return Internal(std::string("mkdtemp /tmp/bdr-XXXXXX: ") + std::strerror(errno));
  }
  std::unique_ptr<PrivateDockerd> engine(new PrivateDockerd());
  engine->dir_ = pattern;
  engine->containerd_namespace_ = "berth-" + engine->dir_.substr(engine->dir_.rfind('-') + 1);
  {
    // Its own (empty) settings, so a daemon.json of the machine's engine does not apply.
    std::ofstream config(engine->dir_ + "/daemon.json");
    config << "{}\n";
  }
  auto endpoint = docker::ParseDockerHost(engine->docker_host(), "", "");
  if (!endpoint.ok()) return endpoint.status();
  docker::DockerClientOptions options;
  options.call_timeout = 10s;
  auto client = docker::DockerClient::Create(*endpoint, options);
  if (!client.ok()) return client.status();
  engine->client_ = std::move(*client);

  Status launched = engine->Launch(ready_timeout);
  if (!launched.ok() && launched.code() != ErrorCode::kPermissionDenied) {
    // The engine could not start with overlay2 (nested overlay, an unsupported backing file
    // system): the slow but universal vfs driver.
    std::string first = launched.message();
    engine->storage_driver_ = "vfs";
    std::filesystem::remove_all(engine->dir_ + "/root");
    launched = engine->Launch(ready_timeout);
    if (!launched.ok()) {
      launched = Unavailable("dockerd did not start with overlay2 (" + first + ") nor with vfs (" +
                             launched.message() + ")");
    }
  }
  if (!launched.ok()) {
    engine->Destroy();
    return launched;
  }
  return engine;
}

PrivateDockerd::~PrivateDockerd() { Destroy(); }

std::vector<std::string> PrivateDockerd::Arguments() const {
  return {"dockerd",
          "--host=" + docker_host(),
          "--data-root=" + dir_ + "/root",
          "--exec-root=" + dir_ + "/x",
          "--pidfile=" + dir_ + "/d.pid",
          "--config-file=" + dir_ + "/daemon.json",
          "--storage-driver=" + storage_driver_,
          "--containerd-namespace=" + containerd_namespace_,
          "--containerd-plugins-namespace=" + containerd_namespace_ + "-plugins",
          "--shutdown-timeout=15"};
}

Status PrivateDockerd::Launch(std::chrono::seconds ready_timeout) {
  ReapOrphans();
  // Everything the child needs is prepared before fork(): after it only async-signal-safe calls.
  const std::vector<std::string> args = Arguments();
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  if (const char* home = std::getenv("HOME")) env.push_back(std::string("HOME=") + home);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string log_path = dir_ + "/dockerd.log";
  const pid_t parent = ::getpid();
  sigset_t none;
  sigemptyset(&none);

  const pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // A dying test must not leave an engine behind: SIGTERM shuts it down gracefully.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int null = ::open("/dev/null", O_RDONLY);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null < 0 || log < 0) ::_exit(127);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::close_range(3, ~0u, 0);  // no socket of the test may live on in the engine
    ::execve("/usr/sbin/dockerd", argv.data(), envp.data());
    ::execve("/usr/bin/dockerd", argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string how = WIFEXITED(status)
                                  ? "exited with code " + std::to_string(WEXITSTATUS(status))
                                  : "was killed by signal " + std::to_string(WTERMSIG(status));
      return Unavailable("dockerd (" + storage_driver_ + ") " + how + " while starting; log:\n" +
                         LogTail());
    }
    if (client_->Ping().ok()) return Status();
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)Stop(10s);
      return Unavailable("dockerd (" + storage_driver_ + ") did not answer within " +
                         std::to_string(ready_timeout.count()) + " s; log:\n" + LogTail());
    }
    std::this_thread::sleep_for(100ms);
  }
}

Status PrivateDockerd::Stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return Status();
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status();
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  KillLeftovers();
  return Unavailable("dockerd did not exit within " + std::to_string(timeout.count()) +
                     " s of SIGTERM and was killed; log:\n" + LogTail());
}

Status PrivateDockerd::Kill() {
  if (pid_ <= 0) return Internal("dockerd is not running");
  // dockerd refuses to start while the containerd of its pid file lives (a zombie counts).
  const pid_t containerd = static_cast<pid_t>(
      std::strtol(ReadWhole(dir_ + "/x/containerd/containerd.pid").c_str(), nullptr, 10));
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (containerd <= 0) return Status();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    // Once orphaned it is this process's child (subreaper), and reaped here.
    const pid_t reaped = ::waitpid(containerd, nullptr, WNOHANG);
    if (reaped == containerd) return Status();
    if (reaped < 0 && errno == ECHILD && ::kill(containerd, 0) != 0) return Status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable("the killed dockerd's containerd (pid " + std::to_string(containerd) +
                         ") is still there after 10 s");
    }
    std::this_thread::sleep_for(20ms);
  }
}

void PrivateDockerd::ReapOrphans() {
  // Zombies this process adopted as subreaper (containerd, shims). Never dockerd itself, and
  // never a child some other code waits for: only processes of the engine's binaries.
  for (const ProcessStat& p : Children()) {
    if (p.state != 'Z' || p.pid == pid_) continue;
    if (p.comm.rfind("containerd", 0) == 0 || p.comm.rfind("docker", 0) == 0 ||
        p.comm.rfind("runc", 0) == 0) {
      ::waitpid(p.pid, nullptr, WNOHANG);
    }
  }
}

std::vector<pid_t> PrivateDockerd::Descendants() const {
  std::vector<pid_t> found = ProcessesMentioning(dir_ + "/");
  found.erase(std::remove(found.begin(), found.end(), pid_), found.end());
  return found;
}

Status PrivateDockerd::Restart(std::chrono::seconds ready_timeout) {
  if (pid_ > 0) return Internal("dockerd is still running");
  return Launch(ready_timeout);
}

std::string PrivateDockerd::LogTail(std::size_t max_bytes) const {
  std::string log = ReadWhole(dir_ + "/dockerd.log");
  if (log.size() > max_bytes) log = "..." + log.substr(log.size() - max_bytes);
  return log;
}

void PrivateDockerd::KillLeftovers() {
  // containerd and the shims of containers that were running: descendants of the engine that a
  // SIGKILL of dockerd does not take with it. They name this directory in their arguments.
  for (pid_t pid : Descendants()) {
    std::fprintf(stderr, "private_dockerd: killing leftover process %d\n", static_cast<int>(pid));
    ::kill(pid, SIGKILL);
  }
}

void PrivateDockerd::UnmountAll() {
  // Mount points under the directory (overlay layers, network namespaces), deepest first.
  std::vector<std::string> points;
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string id, parent, devices, root, point;
    if (!(fields >> id >> parent >> devices >> root >> point)) continue;
    if (point.rfind(dir_ + "/", 0) == 0) points.push_back(point);
  }
  std::sort(points.begin(), points.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& point : points) {
    if (::umount2(point.c_str(), MNT_DETACH) != 0) {
      std::fprintf(stderr, "private_dockerd: umount %s: %s\n", point.c_str(), std::strerror(errno));
    }
  }
}

void PrivateDockerd::Destroy() {
  if (destroyed_ || dir_.empty()) return;
  destroyed_ = true;
  if (pid_ > 0 && client_) {
    // Everything on this engine is this test's. (Its bridges go with the network namespace.)
    auto containers = client_->ListContainers({}, /*all=*/true);
    if (containers.ok()) {
      for (const auto& c : *containers) (void)client_->RemoveContainer(c.id, /*force=*/true);
    }
    auto networks = client_->ListNetworks({});
    if (networks.ok()) {
      for (const auto& n : *networks) {
        if (n.name != "bridge" && n.name != "host" && n.name != "none") {
          (void)client_->RemoveNetwork(n.id);
        }
      }
    }
  }
  Status stopped = Stop(30s);
  if (!stopped.ok()) std::fprintf(stderr, "private_dockerd: %s\n", stopped.ToString().c_str());
  KillLeftovers();
  std::this_thread::sleep_for(100ms);
  ReapOrphans();
  UnmountAll();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) {
    std::fprintf(stderr, "private_dockerd: cannot remove %s: %s\n", dir_.c_str(),
                 ec.message().c_str());
  }
}

}  // namespace berth::testing
