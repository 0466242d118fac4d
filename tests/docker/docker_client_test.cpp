// DockerClient against the real engine (DockerTestEnv: per-run labels, removal by id at exit).
#include "docker/docker_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "docker/docker_json.hpp"
#include "docker/tar.hpp"
#include "support/docker_test_env.hpp"
#include "support/temp_dir.hpp"
#include "test_servers.hpp"

namespace berth::docker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kWait{20000};

class DockerClientTest : public berth::testing::DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    auto image = env().BusyboxImage();
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    image_ = *image;
  }

  ContainerCreate Spec(const std::string& suffix, const std::string& script,
                       const LabelMap& extra = {}) {
    ContainerCreate c;
    c.name = env().Name(suffix);
    c.image = image_;
    c.entrypoint = std::vector<std::string>{"/bin/sh", "-c", script};
    c.labels = env().Labels();
    c.labels.insert(extra.begin(), extra.end());
    c.init = true;
    return c;
  }

  std::string Create(const std::string& suffix, const std::string& script,
                     const LabelMap& extra = {}) {
    auto id = client().CreateContainer(Spec(suffix, script, extra));
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    env().TrackContainer(*id);
    return *id;
  }

  std::string image_;
};

TEST_F(DockerClientTest, NegotiatesTheOlderOfEngineAndTargetVersion) {
  auto version = client().Version();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_FALSE(version->version.empty());
  EXPECT_FALSE(version->api_version.empty());
  const std::string expected =
      CompareApiVersions(version->api_version, "1.41") < 0 ? version->api_version : "1.41";
  auto api = client().ApiVersion();
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(*api, expected);
  EXPECT_TRUE(client().Ping().ok());
}

TEST_F(DockerClientTest, TcpTransportAndAnOlderTargetVersion) {
  ASSERT_EQ(client().endpoint().kind, EngineEndpoint::Kind::kUnix);
  testing::EngineRelay relay(client().endpoint().socket_path);
  DockerClientOptions options;
  options.max_api_version = "1.40";
  auto tcp = DockerClient::Create(
      *ParseDockerHost("tcp://127.0.0.1:" + std::to_string(relay.port()), "", ""), options);
  ASSERT_TRUE(tcp.ok());
  auto api = (*tcp)->ApiVersion();
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  EXPECT_EQ(*api, "1.40");
  auto list = (*tcp)->ListContainers(env().Labels());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  auto missing = (*tcp)->InspectContainer(env().Name("absent"));
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  const std::string requests = relay.Requests();
  EXPECT_EQ(requests.rfind("GET /version HTTP/1.1\r\n", 0), 0u) << requests.substr(0, 200);
  EXPECT_NE(requests.find("GET /v1.40/containers/json?all=true&filters="), std::string::npos);
  EXPECT_NE(requests.find("Host: 127.0.0.1:" + std::to_string(relay.port())), std::string::npos);
}

TEST_F(DockerClientTest, ContainerLifecycleWithTypedErrors) {
  const std::string id = Create("life", "exec sleep 600");
  ASSERT_FALSE(id.empty());
  auto created = client().InspectContainer(id);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, "created");
  EXPECT_FALSE(created->started_at.has_value());
  EXPECT_EQ(created->name, env().Name("life"));

  ASSERT_TRUE(client().StartContainer(id).ok());
  EXPECT_TRUE(client().StartContainer(id).ok()) << "starting a running container is success";
  auto running = client().InspectContainer(env().Name("life"));  // by name too
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->id, id);
  EXPECT_TRUE(running->running);
  EXPECT_GT(running->pid, 0);
  EXPECT_TRUE(running->started_at.has_value());

  const auto start = Clock::now();
  ASSERT_TRUE(client().StopContainer(id, seconds(5)).ok());
  EXPECT_LT(Clock::now() - start, seconds(4)) << "sleep under an init dies on SIGTERM";
  EXPECT_TRUE(client().StopContainer(id, seconds(5)).ok()) << "stopping a stopped one is success";
  auto stopped = client().InspectContainer(id);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->status, "exited");
  EXPECT_FALSE(stopped->running);
  EXPECT_TRUE(stopped->finished_at.has_value());

  ASSERT_TRUE(client().RemoveContainer(id, /*force=*/false).ok());
  EXPECT_EQ(client().InspectContainer(id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().RemoveContainer(id, true).code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().StartContainer(id).code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().StopContainer(id, seconds(1)).code(), ErrorCode::kNotFound);
  Status missing = client().InspectContainer(env().Name("never")).status();
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.message().find(env().Name("never")), std::string::npos) << missing.message();
}

TEST_F(DockerClientTest, NameConflictIsAlreadyExistsNamingTheName) {
  ASSERT_FALSE(Create("twin", "exec sleep 600").empty());
  auto second = client().CreateContainer(Spec("twin", "exec sleep 600"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find(env().Name("twin")), std::string::npos)
      << second.status().message();
}

TEST_F(DockerClientTest, RemovingARunningContainerNeedsForce) {
  const std::string id = Create("busy", "exec sleep 600");
  ASSERT_TRUE(client().StartContainer(id).ok());
  EXPECT_EQ(client().RemoveContainer(id, /*force=*/false).code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(client().RemoveContainer(id, /*force=*/true).ok());
  EXPECT_EQ(client().InspectContainer(id).status().code(), ErrorCode::kNotFound);
}

TEST_F(DockerClientTest, KillEndsARunningContainer) {
  const std::string id = Create("kill", "exec sleep 600");
  ASSERT_TRUE(client().StartContainer(id).ok());
  ASSERT_TRUE(client().KillContainer(id).ok());
  auto code = client().WaitContainer(id, kWait);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 137);
  EXPECT_EQ(client().KillContainer(id).code(), ErrorCode::kAlreadyExists);  // not running
}

TEST_F(DockerClientTest, CreateFromAMissingImageIsNotFound) {
  ContainerCreate c = Spec("noimage", "true");
  c.image = "berth-test-missing-" + env().run_id() + ":none";
  auto id = client().CreateContainer(c);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(id.status().message().find(c.image), std::string::npos) << id.status().message();
}

TEST_F(DockerClientTest, ListFiltersByLabel) {
  const std::string a = Create("list-a", "exec sleep 600", {{"berth.test.kind", "a"}});
  const std::string b = Create("list-b", "exec sleep 600", {{"berth.test.kind", "b"}});
  ASSERT_TRUE(client().StartContainer(a).ok());
  LabelMap only_a = env().Labels();
  only_a["berth.test.kind"] = "a";
  auto listed_a = client().ListContainers(only_a);
  ASSERT_TRUE(listed_a.ok()) << listed_a.status().ToString();
  ASSERT_EQ(listed_a->size(), 1u);
  EXPECT_EQ((*listed_a)[0].id, a);
  EXPECT_EQ((*listed_a)[0].name, env().Name("list-a"));
  EXPECT_EQ((*listed_a)[0].state, "running");
  EXPECT_EQ((*listed_a)[0].labels.at("berth.test.kind"), "a");

  LabelMap any_kind = env().Labels();
  any_kind["berth.test.kind"] = "";  // key only
  auto listed_any = client().ListContainers(any_kind);
  ASSERT_TRUE(listed_any.ok());
  std::vector<std::string> ids;
  for (const auto& c : *listed_any) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected{a, b};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);

  auto running_only = client().ListContainers(any_kind, /*all=*/false);
  ASSERT_TRUE(running_only.ok());
  ASSERT_EQ(running_only->size(), 1u);
  EXPECT_EQ((*running_only)[0].id, a);
}

TEST_F(DockerClientTest, LogsSeparateStdoutAndStderr) {
  const std::string id =
      Create("logs", "echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; echo out2");
  ASSERT_TRUE(client().StartContainer(id).ok());
  auto code = client().WaitContainer(id, kWait);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0);
  auto logs = client().ContainerLogs(id, -1);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_EQ(logs->out, "out1\nout2\n");
  EXPECT_EQ(logs->err, "err1\n");
  EXPECT_EQ(logs->combined, "out1\nerr1\nout2\n");
  auto tail = client().ContainerLogs(id, 2);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->combined, "err1\nout2\n");
  EXPECT_EQ(client().ContainerLogs(env().Name("absent"), 5).status().code(), ErrorCode::kNotFound);
}

TEST_F(DockerClientTest, TtyLogsAreNotMultiplexed) {
  ContainerCreate c = Spec("tty", "echo on-a-tty");
  c.tty = true;
  auto id = client().CreateContainer(c);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  env().TrackContainer(*id);
  ASSERT_TRUE(client().StartContainer(*id).ok());
  ASSERT_TRUE(client().WaitContainer(*id, kWait).ok());
  auto logs = client().ContainerLogs(*id, -1);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_EQ(logs->combined, "on-a-tty\r\n");
}

TEST_F(DockerClientTest, PutArchiveIntoARunningContainer) {
  // The container waits for the file, then prints it and its owner, mode and mtime.
  const std::string id =
      Create("put",
             "while [ ! -f /tmp/pushed.txt ]; do sleep 0.05; done; cat /tmp/pushed.txt; "
             "stat -c '%u %g %a %Y' /tmp/pushed.txt");
  ASSERT_TRUE(client().StartContainer(id).ok());
  TarEntry entry;
  entry.name = "pushed.txt";
  entry.content = "hello berth\n";
  entry.uid = 1000;
  entry.gid = 1000;
  entry.mode = 0600;
  entry.mtime = std::chrono::system_clock::time_point(seconds(1700000000));
  auto tar = MakeSingleFileTar(entry);
  ASSERT_TRUE(tar.ok());
  ASSERT_TRUE(client().PutArchive(id, "/tmp", *tar).ok());
  auto code = client().WaitContainer(id, kWait);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  auto logs = client().ContainerLogs(id, -1);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->out, "hello berth\n1000 1000 600 1700000000\n") << logs->err;

  // Into a directory that does not exist: kNotFound.
  Status missing_dir = client().PutArchive(id, "/no/such/dir", *tar);
  EXPECT_EQ(missing_dir.code(), ErrorCode::kNotFound) << missing_dir.ToString();
}

TEST_F(DockerClientTest, PutArchiveIntoACreatedContainerAndReadItBack) {
  const std::string id = Create("put-stopped", "exec sleep 600");
  TarEntry entry;
  entry.name = "config.json";
  entry.content = "{\"v\":2}";
  entry.mode = 0640;
  entry.uid = 1000;
  entry.mtime = std::chrono::system_clock::time_point(seconds(1600000000));
  ASSERT_TRUE(client().PutArchive(id, "/tmp", *MakeSingleFileTar(entry)).ok());
  auto archive = client().GetArchive(id, "/tmp/config.json");
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  ASSERT_GE(archive->size(), 1024u);
  EXPECT_EQ(archive->substr(0, 11), "config.json");
  EXPECT_EQ(std::stoul(archive->substr(100, 7), nullptr, 8) & 07777, 0640u);  // mode
  EXPECT_EQ(std::stoul(archive->substr(108, 7), nullptr, 8), 1000u);          // uid
  EXPECT_EQ(std::stoul(archive->substr(136, 11), nullptr, 8), 1600000000u);   // mtime
  EXPECT_EQ(archive->substr(512, entry.content.size()), entry.content);
  EXPECT_EQ(client().GetArchive(id, "/tmp/absent").status().code(), ErrorCode::kNotFound);
}

// Reads events until `done` says stop, with a watchdog so a missing event fails, not hangs.
std::vector<DockerEvent> ReadEvents(DockerEventStream& stream,
                                    const std::function<bool(const DockerEvent&)>& done) {
  std::vector<DockerEvent> events;
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    const auto until = Clock::now() + kWait;
    while (!finished && Clock::now() < until) std::this_thread::sleep_for(milliseconds(20));
    if (!finished) stream.Close();
  });
  for (;;) {
    auto event = stream.Next();
    if (!event.ok()) {
      ADD_FAILURE() << "event stream ended: " << event.status().ToString();
      break;
    }
    events.push_back(*event);
    if (done(*event)) break;
  }
  finished = true;
  watchdog.join();
  return events;
}

TEST_F(DockerClientTest, EventsReportStartAndDieWithTheExitCode) {
  LabelMap labels = env().Labels();
  labels["berth.test.case"] = "events";
  auto stream = client().Events({{"type", {"container"}}, {"label", LabelFilters(labels)}});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const std::string id = Create("events", "exit 3", {{"berth.test.case", "events"}});
  ASSERT_TRUE(client().StartContainer(id).ok());
  auto events = ReadEvents(
      **stream, [&](const DockerEvent& e) { return e.actor_id == id && e.action == "die"; });
  std::vector<std::string> actions;
  for (const auto& e : events) {
    EXPECT_EQ(e.actor_id, id) << "the label filter lets only this container through";
    EXPECT_EQ(e.type, "container");
    actions.push_back(e.action);
  }
  ASSERT_FALSE(events.empty());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "create"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "start"), actions.end());
  const DockerEvent& die = events.back();
  ASSERT_EQ(die.action, "die");
  EXPECT_EQ(die.attributes.at("exitCode"), "3");
  EXPECT_EQ(die.attributes.at("name"), env().Name("events"));
  EXPECT_EQ(die.attributes.at("berth.test.case"), "events");
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LT(std::llabs(now_ns - die.time_nano), int64_t{60} * 1000000000);
}

TEST_F(DockerClientTest, EventStreamCloseUnblocksNext) {
  LabelMap labels = env().Labels();
  labels["berth.test.case"] = "quiet";  // nothing will ever match
  auto stream = client().Events({{"type", {"container"}}, {"label", LabelFilters(labels)}});
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
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_FALSE((*stream)->Next().ok());
}

TEST_F(DockerClientTest, NetworkWithInterContainerTrafficDisabled) {
  NetworkCreate create;
  create.name = env().Name("net");
  create.options["com.docker.network.bridge.enable_icc"] = "false";
  create.labels = env().Labels();
  auto id = client().CreateNetwork(create);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  env().TrackNetwork(*id);
  auto inspected = client().InspectNetwork(create.name);
  ASSERT_TRUE(inspected.ok()) << inspected.status().ToString();
  EXPECT_EQ(inspected->id, *id);
  EXPECT_EQ(inspected->driver, "bridge");
  EXPECT_EQ(inspected->options.at("com.docker.network.bridge.enable_icc"), "false");
  EXPECT_EQ(inspected->labels.at(berth::testing::DockerTestEnv::kRunLabel), env().run_id());
  EXPECT_NE(inspected->subnet.find('/'), std::string::npos) << inspected->subnet;
  EXPECT_FALSE(inspected->gateway.empty());

  auto again = client().CreateNetwork(create);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists) << again.status().ToString();

  auto listed = client().ListNetworks(env().Labels());
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(),
                          [&](const NetworkDetails& n) { return n.id == *id; }));

  ASSERT_TRUE(client().RemoveNetwork(*id).ok());
  EXPECT_EQ(client().InspectNetwork(*id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().RemoveNetwork(*id).code(), ErrorCode::kNotFound);
}

TEST_F(DockerClientTest, ImportedImageCarriesTheChanges) {
  auto image = client().InspectImage(image_);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->id.rfind("sha256:", 0), 0u);
  EXPECT_NE(std::find(image->repo_tags.begin(), image->repo_tags.end(), image_),
            image->repo_tags.end());
  EXPECT_EQ(image->entrypoint.size(), 3u);
  EXPECT_EQ(image->labels.at(berth::testing::DockerTestEnv::kRunLabel), env().run_id());
  EXPECT_NE(std::find(image->env.begin(), image->env.end(), "PATH=/bin"), image->env.end());

  auto missing = client().InspectImage("berth-test-missing-" + env().run_id() + ":none");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(client().RemoveImage("berth-test-missing-" + env().run_id() + ":none", false).code(),
            ErrorCode::kNotFound);
  berth::testing::TempDir dir;
  auto no_file = client().ImportImage(dir.File("absent.tar"), "berth-test-x:y", {});
  EXPECT_EQ(no_file.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client().ImportImage(dir.File("absent.tar"), "", {}).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(DockerClientTest, PullWithoutARegistryFailsNamingTheImage) {
  // A registry address where nothing listens fails at once, without DNS.
  const std::string reference = "127.0.0.1:1/berth-test-missing-" + env().run_id() + ":v1";
  Status pulled = client().PullImage(reference);
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(pulled.code(), ErrorCode::kUnavailable) << "the engine answered";
  EXPECT_NE(pulled.message().find(reference), std::string::npos) << pulled.message();
}

TEST_F(DockerClientTest, VolumesByLabel) {
  const std::string name = env().Name("vol");
  auto created = client().CreateVolume(name, env().Labels());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  env().TrackVolume(name);
  auto inspected = client().InspectVolume(name);
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(inspected->labels.at(berth::testing::DockerTestEnv::kRunLabel), env().run_id());
  auto listed = client().ListVolumes(env().Labels());
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(),
                          [&](const VolumeInfo& v) { return v.name == name; }));
  ASSERT_TRUE(client().RemoveVolume(name, false).ok());
  EXPECT_EQ(client().RemoveVolume(name, false).code(), ErrorCode::kNotFound);
}

TEST_F(DockerClientTest, ConcurrentCallsFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!client().ListContainers(env().Labels()).ok()) ++failures;
        if (client().InspectContainer(env().Name("absent")).status().code() !=
            ErrorCode::kNotFound) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace berth::docker
