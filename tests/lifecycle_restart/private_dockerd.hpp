#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "docker/docker_client.hpp"

namespace berth::testing {

// Prepares this process to host private engines: moves it into a network namespace of its own
// (loopback up), and makes it the reaper of its descendants' orphans (an engine's containerd and
// shims outlive a killed engine; a PID 1 that reaps late leaves them as zombies, and dockerd then
// refuses to start a new containerd). Must run in main() before any thread starts (a namespace
// change applies to the calling thread and to what it starts later). PermissionDenied without
// root.
Status IsolateTestProcess();

// A dockerd of the test's own, so a test may stop and restart an engine without disturbing the
// machine's shared one (other test runs, a developer's containers).
//
// It runs inside this process's private network namespace (IsolateTestProcess()), with
// the engine's default networking: its docker0, bridges and iptables rules exist only there, and
// this process reaches its containers and they reach this process as on a host. (Outside such a
// namespace a second dockerd is not harmless: dockerd 20.10 started with --bridge=none deletes an
// existing docker0, which on the host is the shared engine's default bridge.) Start() refuses to
// run in the host's network namespace.
//
// Everything else lives under one fresh directory /tmp/bdr-XXXXXX (short, for the unix socket
// path limit): socket, data root (its own images, containers, volumes), exec root (its own managed
// containerd), pid file, config file, log. Its containerd namespaces are its own even when a
// system containerd is shared. Storage: overlay2, else vfs.
//
// The dockerd is a child of this process, started from the calling thread, which must outlive
// it (the child gets SIGTERM when that thread ends: a crashed test leaves no engine running).
// Destroy() (also run by the destructor) removes everything the engine holds, stops it, kills
// what is left of its containerd and shims, unmounts and deletes the directory. Not thread-safe.
// REQUIRES: root (dockerd).
class PrivateDockerd {
 public:
  // Creates the directory, starts the engine and waits until it answers (ready_timeout). On
  // failure the error quotes the engine's log and nothing is left behind.
  static Result<std::unique_ptr<PrivateDockerd>> Start(std::chrono::seconds ready_timeout);
  ~PrivateDockerd();
  PrivateDockerd(const PrivateDockerd&) = delete;
  PrivateDockerd& operator=(const PrivateDockerd&) = delete;

  // "unix:///tmp/bdr-XXXXXX/d.sock".
  std::string docker_host() const { return "unix://" + socket_path(); }
  std::string socket_path() const { return dir_ + "/d.sock"; }
  const std::string& dir() const { return dir_; }
  // "overlay2" or "vfs".
  const std::string& storage_driver() const { return storage_driver_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // A client for this engine (call timeout 10 s).
  docker::DockerClient& client() { return *client_; }

  // SIGTERM and wait for the process to exit (a graceful shutdown: without live-restore the
  // engine stops its containers). kUnavailable when it had to be SIGKILLed after `timeout`.
  Status Stop(std::chrono::seconds timeout);
  // SIGKILL, as a crash, and wait for the process and its containerd (which the engine starts
  // with a parent-death signal) to go. The container shims and containers are left as a crash
  // leaves them.
  Status Kill();
  // Processes other than dockerd that name the directory in their arguments (its containerd,
  // container shims).
  std::vector<pid_t> Descendants() const;
  // Starts the engine again with the same arguments and waits until it answers.
  Status Restart(std::chrono::seconds ready_timeout);
  // The last `max_bytes` of the engine's log.
  std::string LogTail(std::size_t max_bytes = 4000) const;

  // See the class comment. Idempotent. Reports problems on stderr (it runs after failures too).
  void Destroy();

 private:
  PrivateDockerd() = default;
  std::vector<std::string> Arguments() const;
  Status Launch(std::chrono::seconds ready_timeout);
  void KillLeftovers();
  void ReapOrphans();
  void UnmountAll();

  std::string dir_;
  std::string storage_driver_ = "overlay2";
  std::string containerd_namespace_;
  pid_t pid_ = -1;
  std::unique_ptr<docker::DockerClient> client_;
  bool destroyed_ = false;
};

}  // namespace berth::testing
