// DockerRuntime: the ContainerRuntime contract on the real engine.
#include "runtime/docker_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "common/asio.hpp"
#include "support/docker_test_env.hpp"

namespace berth::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using berth::testing::DockerTestEnv;

constexpr milliseconds kWait{20000};

// Whether IPv4 `ip` lies in `cidr` ("172.20.0.0/16").
bool InSubnet(const std::string& ip, const std::string& cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  boost::system::error_code ec1, ec2;
  const auto addr = boost::asio::ip::make_address_v4(ip, ec1).to_uint();
  const auto net = boost::asio::ip::make_address_v4(cidr.substr(0, slash), ec2).to_uint();
  const int bits = std::stoi(cidr.substr(slash + 1));
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return !ec1 && !ec2 && (addr & mask) == (net & mask);
}

class DockerRuntimeTest : public berth::testing::DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    auto image = env().BusyboxImage();
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    image_ = *image;
    DockerRuntimeOptions options = DockerRuntimeOptions::FromEnvironment(env().docker_host());
    options.network_labels = env().Labels();
    auto runtime = DockerRuntime::Create(options);
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = *runtime;
  }

  // A spec running `script` (see DockerTestEnv::BusyboxImage) with this run's labels.
  ContainerSpec Spec(const std::string& suffix, const std::string& script) {
    ContainerSpec spec;
    spec.name = env().Name(suffix);
    spec.image = image_;
    spec.env = {{"BERTH_TEST_SCRIPT", script}};
    spec.labels = env().Labels();
    return spec;
  }

  std::string Create(const ContainerSpec& spec) {
    auto id = runtime_->Create(spec);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    env().TrackContainer(*id);
    return *id;
  }

  // Waits for the container to exit and returns its logs.
  std::string WaitAndLog(const std::string& id) {
    auto code = client().WaitContainer(id, kWait);
    EXPECT_TRUE(code.ok()) << code.status().ToString();
    auto logs = runtime_->Logs(id, 100);
    EXPECT_TRUE(logs.ok()) << logs.status().ToString();
    return logs.ok() ? *logs : "";
  }

  std::string image_;
  std::shared_ptr<DockerRuntime> runtime_;
};

TEST_F(DockerRuntimeTest, PingNamesEngineAndApi) {
  auto ping = runtime_->Ping();
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_EQ(ping->rfind("docker ", 0), 0u) << *ping;
  EXPECT_NE(ping->find("(API 1."), std::string::npos) << *ping;
}

TEST_F(DockerRuntimeTest, CreateFailsFastOnABadDockerHost) {
  DockerRuntimeOptions options;
  options.docker_host = "ssh://engine";
  auto runtime = DockerRuntime::Create(options);
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(runtime.status().message().find("DOCKER_HOST"), std::string::npos);
}

TEST_F(DockerRuntimeTest, UnreachableEngineIsUnavailablePromptly) {
  DockerRuntimeOptions options;
  options.docker_host = "unix:///nonexistent/berth-" + env().run_id() + ".sock";
  auto runtime = DockerRuntime::Create(options);
  ASSERT_TRUE(runtime.ok());
  const auto start = Clock::now();
  auto ping = (*runtime)->Ping();
  EXPECT_EQ(ping.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(ping.status().message().find(options.docker_host), std::string::npos)
      << ping.status().message();
  EXPECT_EQ((*runtime)->Inspect("x").status().code(), ErrorCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, seconds(1));
}

TEST_F(DockerRuntimeTest, EnsureImage) {
  EXPECT_TRUE(runtime_->EnsureImage(image_).ok());
  // Not present, and no registry answers: kNotFound naming the image (docker.io: DNS fails here;
  // 127.0.0.1:1: connection refused).
  for (const std::string& missing : {"berth-test-missing-" + env().run_id() + ":v1",
                                     "127.0.0.1:1/berth-test-missing-" + env().run_id() + ":v1"}) {
    Status status = runtime_->EnsureImage(missing);
    EXPECT_EQ(status.code(), ErrorCode::kNotFound) << status.ToString();
    EXPECT_NE(status.message().find(missing), std::string::npos) << status.message();
  }
}

TEST_F(DockerRuntimeTest, EnsureNetworkCreatesAnIsolatedBridgeOnce) {
  const std::string name = env().Name("agents");
  auto network = runtime_->EnsureNetwork(name, /*isolated=*/true);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  env().TrackNetwork(network->id);
  EXPECT_EQ(network->name, name);
  EXPECT_NE(network->subnet.find('/'), std::string::npos) << network->subnet;
  EXPECT_FALSE(network->gateway.empty());
  auto details = client().InspectNetwork(network->id);
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->driver, "bridge");
  EXPECT_EQ(details->options.at(DockerRuntime::kIccOption), "false");
  EXPECT_EQ(details->labels.at(DockerTestEnv::kRunLabel), env().run_id());

  auto again = runtime_->EnsureNetwork(name, /*isolated=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, network->id);
  EXPECT_EQ(again->gateway, network->gateway);
}

TEST_F(DockerRuntimeTest, BerthOnlyEgressMakesAnInternalNetworkAndRefusesAMismatchedOne) {
  DockerRuntimeOptions options = DockerRuntimeOptions::FromEnvironment(env().docker_host());
  options.network_labels = env().Labels();
  options.agent_egress = false;
  auto walled = DockerRuntime::Create(options);
  ASSERT_TRUE(walled.ok());
  const std::string name = env().Name("walled");
  auto network = (*walled)->EnsureNetwork(name, /*isolated=*/true);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  env().TrackNetwork(network->id);
  EXPECT_TRUE(network->internal);
  EXPECT_EQ(network->bridge, "br-" + network->id.substr(0, 12));
  EXPECT_TRUE(client().InspectNetwork(network->id)->internal);
  // The same name under BERTH_AGENT_EGRESS=open: refused, saying what to do.
  auto open = runtime_->EnsureNetwork(name, /*isolated=*/true);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(open.status().message().find("docker network rm " + name), std::string::npos)
      << open.status().message();
  // And the other way round.
  const std::string other = env().Name("open");
  auto routed = runtime_->EnsureNetwork(other, /*isolated=*/true);
  ASSERT_TRUE(routed.ok());
  env().TrackNetwork(routed->id);
  EXPECT_FALSE(routed->internal);
  EXPECT_EQ((*walled)->EnsureNetwork(other, true).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DockerRuntimeTest, ConcurrentEnsureNetworkYieldsOneNetwork) {
  const std::string name = env().Name("race");
  std::vector<std::thread> threads;
  std::vector<Result<NetworkInfo>> results(4, Status(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = runtime_->EnsureNetwork(name, false); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.insert(r->id);
    env().TrackNetwork(r->id);
  }
  EXPECT_EQ(ids.size(), 1u);
  auto named = client().ListNetworksNamed(name);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->size(), 1u);
  auto details = client().InspectNetwork(*ids.begin());
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->options.count(DockerRuntime::kIccOption), 0u);  // not isolated
}

TEST_F(DockerRuntimeTest, RacingProcessesConvergeOnOneNetwork) {
  const std::string name = env().Name("race-procs");
  // Separate runtimes, as in separate berth processes: no shared lock. The engine may create a
  // network per racer.
  std::vector<std::shared_ptr<DockerRuntime>> runtimes;
  for (int i = 0; i < 4; ++i) {
    DockerRuntimeOptions options;
    options.docker_host = env().docker_host();
    options.network_labels = env().Labels();
    runtimes.push_back(*DockerRuntime::Create(options));
  }
  std::vector<std::thread> threads;
  std::vector<Result<NetworkInfo>> results(4, Status(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = runtimes[i]->EnsureNetwork(name, true); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->name, name);
    ids.insert(r->id);
  }
  for (const std::string& id : ids) env().TrackNetwork(id);
  // The next call from anyone returns the smallest id and removes the unused rest.
  auto settled = runtimes[3]->EnsureNetwork(name, true);
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_EQ(settled->id, *ids.begin());
  auto named = client().ListNetworksNamed(name);
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->size(), 1u);
  EXPECT_EQ(named->front().id, settled->id);
  auto again = runtimes[0]->EnsureNetwork(name, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, settled->id);
}

TEST_F(DockerRuntimeTest, HardeningAndLimitsAreVisibleInInspect) {
  auto network = runtime_->EnsureNetwork(env().Name("hard-net"), true);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  env().TrackNetwork(network->id);
  ContainerSpec spec = Spec("hard", "exec sleep 600");
  spec.volume_name = env().Name("hard-state");
  spec.volume_target = "/home/node/.openclaw";
  spec.network = network->name;
  spec.memory_bytes = 64 * 1024 * 1024;
  spec.nano_cpus = 500000000;
  spec.pids_limit = 64;
  spec.cap_add = {"NET_BIND_SERVICE"};
  spec.publish_port = 18789;
  spec.labels["berth.user"] = "u1";
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  env().TrackVolume(spec.volume_name);

  auto raw = client().InspectContainer(id);
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(raw->init);
  EXPECT_EQ(raw->cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(raw->cap_add, std::vector<std::string>{"NET_BIND_SERVICE"});
  EXPECT_EQ(raw->security_opt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_EQ(raw->memory, spec.memory_bytes);
  EXPECT_EQ(raw->memory_swap, spec.memory_bytes) << "no swap beyond the limit";
  EXPECT_EQ(raw->nano_cpus, spec.nano_cpus);
  EXPECT_EQ(raw->pids_limit, 64);
  EXPECT_EQ(raw->restart_policy, "no");
  EXPECT_EQ(raw->network_mode, network->name);
  EXPECT_EQ(raw->labels.at(DockerRuntime::kNetworkLabel), network->name);
  EXPECT_EQ(raw->labels.at("berth.user"), "u1");

  ASSERT_TRUE(runtime_->Start(id).ok());
  auto info = runtime_->Inspect(id);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->state, ContainerState::kRunning);
  EXPECT_EQ(info->name, spec.name);
  EXPECT_EQ(info->image, image_);
  EXPECT_EQ(info->labels.at("berth.user"), "u1");
  EXPECT_TRUE(info->started_at.has_value());
  // The address is on the agent network.
  ASSERT_FALSE(info->ip_address.empty());
  EXPECT_TRUE(InSubnet(info->ip_address, network->subnet))
      << info->ip_address << " not in " << network->subnet;
  ASSERT_TRUE(info->published_port.has_value());
  EXPECT_GT(*info->published_port, 0);
  auto raw_running = client().InspectContainer(id);
  ASSERT_TRUE(raw_running.ok());
  EXPECT_EQ(raw_running->ports.at("18789/tcp").at(0).host_ip, "127.0.0.1");

  // The volume was created by the engine from the Mounts entry, with the container's labels.
  auto volume = client().InspectVolume(spec.volume_name);
  ASSERT_TRUE(volume.ok()) << volume.status().ToString();
  EXPECT_EQ(volume->labels.at(DockerTestEnv::kRunLabel), env().run_id());
  ASSERT_EQ(raw->mounts.size(), 1u);
  EXPECT_EQ(raw->mounts[0].name, spec.volume_name);
  EXPECT_EQ(raw->mounts[0].destination, "/home/node/.openclaw");
}

TEST_F(DockerRuntimeTest, NoNewPrivilegesAndDroppedCapabilitiesHoldInside) {
  const std::string id =
      Create(Spec("caps", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u"));
  ASSERT_TRUE(runtime_->Start(id).ok());
  const std::string logs = WaitAndLog(id);
  EXPECT_NE(logs.find("CapEff:\t0000000000000000"), std::string::npos) << logs;
  EXPECT_NE(logs.find("NoNewPrivs:\t1"), std::string::npos) << logs;
}

TEST_F(DockerRuntimeTest, LifecycleWithTheContractsErrors) {
  const std::string id = Create(Spec("life", "exec sleep 600"));
  ASSERT_FALSE(id.empty());
  auto created = runtime_->Inspect(id);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->state, ContainerState::kCreated);
  EXPECT_TRUE(created->ip_address.empty());

  auto conflict = runtime_->Create(Spec("life", "true"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(conflict.status().message().find(env().Name("life")), std::string::npos);

  ASSERT_TRUE(runtime_->Start(id).ok());
  EXPECT_TRUE(runtime_->Start(id).ok());
  ASSERT_TRUE(runtime_->Stop(id, seconds(5)).ok());
  EXPECT_TRUE(runtime_->Stop(id, seconds(5)).ok());
  auto stopped = runtime_->Inspect(id);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->state, ContainerState::kExited);
  EXPECT_TRUE(stopped->finished_at.has_value());
  EXPECT_TRUE(runtime_->Kill(id).ok()) << "killing a stopped container is success";

  ASSERT_TRUE(runtime_->Remove(id, /*force=*/false).ok());
  EXPECT_EQ(runtime_->Inspect(id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->Remove(id, true).code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->Start(id).code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->Stop(id, seconds(1)).code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->Kill(id).code(), ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->Logs(id, 10).status().code(), ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, KillAndExitCodes) {
  const std::string killed = Create(Spec("killed", "exec sleep 600"));
  const std::string failed = Create(Spec("failed", "echo bye >&2; exit 7"));
  ASSERT_TRUE(runtime_->Start(killed).ok());
  ASSERT_TRUE(runtime_->Start(failed).ok());
  ASSERT_TRUE(runtime_->Kill(killed).ok());
  ASSERT_TRUE(client().WaitContainer(killed, kWait).ok());
  ASSERT_TRUE(client().WaitContainer(failed, kWait).ok());
  auto k = runtime_->Inspect(killed);
  auto f = runtime_->Inspect(failed);
  ASSERT_TRUE(k.ok() && f.ok());
  EXPECT_EQ(k->exit_code, 137);
  EXPECT_FALSE(k->oom_killed);
  EXPECT_EQ(f->state, ContainerState::kExited);
  EXPECT_EQ(f->exit_code, 7);
  auto logs = runtime_->Logs(failed, 10);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(*logs, "bye\n");
}

TEST_F(DockerRuntimeTest, PauseAndUnpauseAreIdempotentAndAStopThawsAPausedContainer) {
  // The shell exits 0 on SIGTERM, so the exit code tells whether the stop was graceful.
  const std::string id = Create(Spec("paused", "trap 'exit 0' TERM; while :; do sleep 1; done"));
  ASSERT_TRUE(runtime_->SupportsPause());
  EXPECT_EQ(runtime_->Pause(id).code(), ErrorCode::kAlreadyExists) << "not running yet";
  ASSERT_TRUE(runtime_->Start(id).ok());
  ASSERT_TRUE(runtime_->Pause(id).ok());
  EXPECT_TRUE(runtime_->Pause(id).ok()) << "pausing a paused container is success";
  auto paused = runtime_->Inspect(id);
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->state, ContainerState::kPaused);
  ASSERT_TRUE(runtime_->Unpause(id).ok());
  Status again = runtime_->Unpause(id);
  EXPECT_TRUE(again.ok()) << "unpausing a running container is success: " << again.ToString();
  // The engine records the unpause once containerd's event arrives: a moment later at most.
  auto state = runtime_->Inspect(id)->state;
  for (int i = 0; i < 40 && state != ContainerState::kRunning; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = runtime_->Inspect(id)->state;
  }
  EXPECT_EQ(state, ContainerState::kRunning);

  ASSERT_TRUE(runtime_->Pause(id).ok());
  ASSERT_TRUE(runtime_->Stop(id, seconds(20)).ok());
  auto stopped = runtime_->Inspect(id);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->state, ContainerState::kExited);
  EXPECT_EQ(stopped->exit_code, 0) << "the stop signal reached the thawed process";
  EXPECT_EQ(runtime_->Pause("berth-no-such-container").code(), ErrorCode::kNotFound);
}

// The start's CPU burst (lifecycle/cpu_burst.hpp): created with the higher limit, lowered in
// place while running, raised again while stopped.
TEST_F(DockerRuntimeTest, ACpuLimitIsCreatedWithTheBurstAndChangedInPlace) {
  ContainerSpec spec = Spec("cpus", "exec sleep 600");
  spec.nano_cpus = 1'000'000'000;
  spec.start_nano_cpus = 2'000'000'000;
  const std::string id = Create(spec);
  auto cpus = [&] {
    auto details = client().InspectContainer(id);
    EXPECT_TRUE(details.ok()) << details.status().ToString();
    return details.ok() ? details->nano_cpus : -1;
  };
  EXPECT_EQ(cpus(), 2'000'000'000);
  ASSERT_TRUE(runtime_->Start(id).ok());
  ASSERT_TRUE(runtime_->SetCpuLimit(id, 1'000'000'000).ok());
  EXPECT_EQ(cpus(), 1'000'000'000);
  EXPECT_EQ(runtime_->Inspect(id)->state, ContainerState::kRunning);
  ASSERT_TRUE(runtime_->Stop(id, seconds(5)).ok());
  ASSERT_TRUE(runtime_->SetCpuLimit(id, 2'000'000'000).ok());
  EXPECT_EQ(cpus(), 2'000'000'000);
  EXPECT_EQ(runtime_->SetCpuLimit("berth-no-such-container", 1).code(), ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, OutOfMemoryIsReported) {
  ContainerSpec spec = Spec("oom", "x=a; while true; do x=$x$x; done");
  spec.memory_bytes = 16 * 1024 * 1024;
  const std::string id = Create(spec);
  ASSERT_TRUE(runtime_->Start(id).ok());
  ASSERT_TRUE(client().WaitContainer(id, kWait).ok());
  auto info = runtime_->Inspect(id);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->oom_killed);
  EXPECT_EQ(info->exit_code, 137);
}

TEST_F(DockerRuntimeTest, ListMatchesAllLabels) {
  ContainerSpec a = Spec("list-a", "exec sleep 600");
  a.labels["berth.test.user"] = "a";
  ContainerSpec b = Spec("list-b", "exec sleep 600");
  b.labels["berth.test.user"] = "b";
  const std::string id_a = Create(a);
  const std::string id_b = Create(b);
  ASSERT_TRUE(runtime_->Start(id_b).ok());
  Labels only_b = env().Labels();
  only_b["berth.test.user"] = "b";
  auto listed = runtime_->List(only_b);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id_b);
  EXPECT_EQ((*listed)[0].name, b.name);
  EXPECT_EQ((*listed)[0].image, image_);
  EXPECT_EQ((*listed)[0].state, ContainerState::kRunning);
  EXPECT_EQ((*listed)[0].labels.at("berth.test.user"), "b");

  Labels any_user = env().Labels();
  any_user["berth.test.user"] = "";
  auto both = runtime_->List(any_user);
  ASSERT_TRUE(both.ok());
  std::set<std::string> ids;
  for (const auto& c : *both) ids.insert(c.id);
  EXPECT_EQ(ids, (std::set<std::string>{id_a, id_b}));
}

TEST_F(DockerRuntimeTest, LogsInterleaveStdoutAndStderr) {
  const std::string id =
      Create(Spec("logs", "echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three"));
  ASSERT_TRUE(runtime_->Start(id).ok());
  EXPECT_EQ(WaitAndLog(id), "one\ntwo\nthree\n");
  auto tail = runtime_->Logs(id, 1);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "three\n");
}

TEST_F(DockerRuntimeTest, PutFileIntoARunningContainer) {
  const std::string id =
      Create(Spec("push",
                  "while [ ! -f /tmp/openclaw.json ]; do sleep 0.05; done; cat /tmp/openclaw.json; "
                  "echo; stat -c '%u:%g %a %Y' /tmp/openclaw.json"));
  ASSERT_TRUE(runtime_->Start(id).ok());
  ContainerRuntime::FileSpec file;
  file.dir = "/tmp";
  file.name = "openclaw.json";
  file.content = R"({"gateway":{"mode":"local"}})";
  file.uid = 1000;
  file.gid = 1000;
  // 0644: the container runs as root without CAP_DAC_OVERRIDE, so 0600 of uid 1000 is unreadable
  // to it (the agent image's user is uid 1000 and gets 0600).
  file.mode = 0644;
  file.mtime = std::chrono::system_clock::time_point(seconds(1800000000));
  ASSERT_TRUE(runtime_->PutFile(id, file).ok());
  EXPECT_EQ(WaitAndLog(id), file.content + "\n1000:1000 644 1800000000\n");
}

TEST_F(DockerRuntimeTest, PutFileReplacesAFileInAStoppedContainer) {
  const std::string id = Create(Spec("push-stopped", "cat /tmp/config"));
  ContainerRuntime::FileSpec file;
  file.dir = "/tmp";
  file.name = "config";
  file.content = "first";
  file.mtime = std::chrono::system_clock::now();
  ASSERT_TRUE(runtime_->PutFile(id, file).ok());
  file.content = "second, longer";
  ASSERT_TRUE(runtime_->PutFile(id, file).ok());
  ASSERT_TRUE(runtime_->Start(id).ok());
  EXPECT_EQ(WaitAndLog(id), "second, longer");

  file.dir = "/no/such/dir";
  EXPECT_EQ(runtime_->PutFile(id, file).code(), ErrorCode::kNotFound);
  file.dir = "/tmp";
  file.name = "../escape";
  EXPECT_EQ(runtime_->PutFile(id, file).code(), ErrorCode::kInvalidArgument);
  file.name = "config";
  EXPECT_EQ(runtime_->PutFile(env().Name("absent"), file).code(), ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, RemoveKeepsTheVolumeUntilRemoveVolume) {
  ContainerSpec spec = Spec("vol", "echo kept > /state/file");
  spec.volume_name = env().Name("vol-state");
  spec.volume_target = "/state";
  const std::string id = Create(spec);
  env().TrackVolume(spec.volume_name);
  ASSERT_TRUE(runtime_->Start(id).ok());
  WaitAndLog(id);
  ASSERT_TRUE(runtime_->Remove(id, true).ok());
  // A new container on the same volume sees the file.
  ContainerSpec reader = Spec("vol-reader", "cat /state/file");
  reader.volume_name = spec.volume_name;
  reader.volume_target = "/state";
  const std::string reader_id = Create(reader);
  ASSERT_TRUE(runtime_->Start(reader_id).ok());
  EXPECT_EQ(WaitAndLog(reader_id), "kept\n");
  ASSERT_TRUE(runtime_->Remove(reader_id, true).ok());
  ASSERT_TRUE(runtime_->RemoveVolume(spec.volume_name).ok());
  EXPECT_EQ(runtime_->RemoveVolume(spec.volume_name).code(), ErrorCode::kNotFound);

  ContainerSpec bad = Spec("vol-bad", "true");
  bad.volume_name = env().Name("vol-bad");
  EXPECT_EQ(runtime_->Create(bad).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DockerRuntimeTest, EventsCarryStartAndDieWithExitCode) {
  Labels labels = env().Labels();
  labels["berth.test.case"] = "events";
  auto stream = runtime_->Events(labels);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ContainerSpec spec = Spec("events", "exit 5");
  spec.labels["berth.test.case"] = "events";
  const std::string id = Create(spec);
  ASSERT_TRUE(runtime_->Start(id).ok());

  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    const auto until = Clock::now() + kWait;
    while (!finished && Clock::now() < until) std::this_thread::sleep_for(milliseconds(20));
    if (!finished) (*stream)->Close();
  });
  std::vector<ContainerEvent> events;
  for (;;) {
    auto event = (*stream)->Next();
    if (!event.ok()) {
      ADD_FAILURE() << event.status().ToString();
      break;
    }
    events.push_back(*event);
    if (event->kind == ContainerEventKind::kDied) break;
  }
  finished = true;
  watchdog.join();
  ASSERT_FALSE(events.empty());
  std::vector<ContainerEventKind> kinds;
  for (const auto& e : events) {
    EXPECT_EQ(e.container_id, id);
    kinds.push_back(e.kind);
  }
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), ContainerEventKind::kStarted), kinds.end());
  const ContainerEvent& die = events.back();
  ASSERT_EQ(die.kind, ContainerEventKind::kDied);
  ASSERT_TRUE(die.exit_code.has_value());
  EXPECT_EQ(*die.exit_code, 5);
  EXPECT_EQ(die.labels.at("name"), spec.name);
  EXPECT_EQ(die.labels.at("berth.test.case"), "events");
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - die.time), seconds(60));
  EXPECT_FALSE(events.front().exit_code.has_value() &&
               events.front().kind != ContainerEventKind::kDied);
}

TEST_F(DockerRuntimeTest, EventStreamCloseUnblocksNext) {
  Labels labels = env().Labels();
  labels["berth.test.case"] = "never";
  auto stream = runtime_->Events(labels);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(200));
    (*stream)->Close();
  });
  const auto start = Clock::now();
  auto event = (*stream)->Next();
  const auto took = Clock::now() - start;
  closer.join();
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(event.status().message(), "event stream closed");
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_EQ((*stream)->Next().status().message(), "event stream closed");
}

}  // namespace
}  // namespace berth::runtime
