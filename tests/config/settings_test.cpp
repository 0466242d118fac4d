#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace berth::config {
namespace {

const std::string kHexKey(64, 'a');

TEST(Settings, DefaultsMatchTheIssueAndSeed) {
  auto s = LoadSettings({}, {}, std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->listen_host, "0.0.0.0");
  EXPECT_EQ(s->listen_port, 3000);
  EXPECT_EQ(s->data_dir, "./data");
  EXPECT_EQ(s->database_url, "sqlite://./data/berth.db");
  EXPECT_EQ(s->database_wait_s, 60);
  EXPECT_EQ(s->KeyFilePath(), "./data/encryption.key");
  EXPECT_FALSE(s->encryption_key);
  EXPECT_FALSE(s->admin_token);
  EXPECT_EQ(s->openclaw_image, "alpine/openclaw:latest");
  EXPECT_EQ(s->openclaw_network, "mosaic-internal");
  EXPECT_EQ(s->docker_host, "unix:///var/run/docker.sock");
  EXPECT_EQ(s->internal_listen, ":3001");
  EXPECT_EQ(s->agent_addressing, "ip");
  EXPECT_EQ(s->agent_memory_bytes, int64_t{2} << 30);
  EXPECT_EQ(s->start_timeout_s, 180);
  EXPECT_EQ(s->max_concurrent_starts, 4);
  EXPECT_EQ(s->reap_interval_s, 60);
  EXPECT_EQ(s->idle_pause_s, 300);
  EXPECT_EQ(s->pool_keep_warm_s, 20);
  EXPECT_EQ(s->health_interval_s, 30);
  EXPECT_EQ(s->log_level, "info");
  EXPECT_EQ(s->log_format, "json");
}

TEST(Settings, ParsesLogFormatFromEverySource) {
  auto from_env = LoadSettings({}, {{"BERTH_LOG_FORMAT", "text"}}, std::nullopt);
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->log_format, "text");

  testing::TempDir dir;
  std::string file = dir.File("berth.env");
  std::ofstream(file) << "BERTH_LOG_FORMAT=text\n";
  auto from_file = LoadSettings({}, {}, file);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->log_format, "text");

  auto flag_wins = LoadSettings({{"BERTH_LOG_FORMAT", "json"}}, {}, file);
  ASSERT_TRUE(flag_wins.ok()) << flag_wins.status().ToString();
  EXPECT_EQ(flag_wins->log_format, "json");
}

TEST(Settings, ParsesLifecycleSettings) {
  auto s = LoadSettings({},
                        {{"BERTH_AGENT_MEMORY", "1536m"},
                         {"BERTH_AGENT_CPUS", "0.5"},
                         {"BERTH_AGENT_PIDS", "256"},
                         {"BERTH_START_TIMEOUT", "30"},
                         {"BERTH_MAX_CONCURRENT_STARTS", "2"},
                         {"BERTH_IDLE_PAUSE", "0"},
                         {"BERTH_WARM_POOL", "3"},
                         {"BERTH_POOL_KEEP_WARM", "0"},
                         {"BERTH_AGENT_START_CPUS", "1.5"},
                         {"BERTH_AGENT_START_BURST", "30"},
                         {"BERTH_AGENT_ADDRESSING", "published"},
                         {"BERTH_INTERNAL_LISTEN", "off"},
                         {"BERTH_PROVIDER_ALLOW", "10.0.0.0/8, 172.17.0.1"},
                         {"DOCKER_TLS_VERIFY", "1"},
                         {"DOCKER_CERT_PATH", "/etc/docker-certs"}},
                        std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->agent_memory_bytes, int64_t{1536} << 20);
  EXPECT_DOUBLE_EQ(s->agent_cpus, 0.5);
  EXPECT_EQ(s->agent_pids, 256);
  EXPECT_EQ(s->start_timeout_s, 30);
  EXPECT_EQ(s->max_concurrent_starts, 2);
  EXPECT_EQ(s->idle_pause_s, 0);
  EXPECT_EQ(s->warm_pool, 3);
  EXPECT_EQ(s->pool_keep_warm_s, 0);
  EXPECT_DOUBLE_EQ(s->agent_start_cpus, 1.5);
  EXPECT_EQ(s->agent_start_burst_s, 30);
  EXPECT_EQ(s->agent_addressing, "published");
  EXPECT_EQ(s->internal_listen, "off");
  EXPECT_EQ(s->provider_allow, "10.0.0.0/8, 172.17.0.1");
  EXPECT_TRUE(s->docker_tls_verify);
  EXPECT_EQ(s->docker_cert_path, "/etc/docker-certs");
}

TEST(Settings, AgentEgressIsOpenOrBerthOnlyWhereAgentsCanStillReachBerth) {
  EXPECT_EQ(LoadSettings({}, {}, std::nullopt)->agent_egress, "open");
  auto closed = LoadSettings({}, {{"BERTH_AGENT_EGRESS", "berth-only"}}, std::nullopt);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->agent_egress, "berth-only");
  auto typo = LoadSettings({}, {{"BERTH_AGENT_EGRESS", "closed"}}, std::nullopt);
  EXPECT_EQ(typo.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(typo.status().message().find("BERTH_AGENT_EGRESS"), std::string::npos);
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"BERTH_INTERNAL_LISTEN", "off"}, {"MOSAIC_API_URL", "http://berth:3000/api"}}) {
    auto unreachable =
        LoadSettings({}, {{"BERTH_AGENT_EGRESS", "berth-only"}, {name, value}}, std::nullopt);
    EXPECT_EQ(unreachable.status().code(), ErrorCode::kInvalidArgument) << name;
  }
}

TEST(Settings, DatabaseWaitIsSecondsAndZeroMeansOneAttempt) {
  auto none = LoadSettings({}, {{"BERTH_DATABASE_WAIT", "0"}}, std::nullopt);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->database_wait_s, 0);
  auto longer = LoadSettings({}, {{"BERTH_DATABASE_WAIT", "300"}}, std::nullopt);
  ASSERT_TRUE(longer.ok()) << longer.status().ToString();
  EXPECT_EQ(longer->database_wait_s, 300);
}

TEST(Settings, FlagsBeatEnvironmentBeatsFile) {
  testing::TempDir dir;
  std::string file = dir.File("berth.env");
  std::ofstream(file) << "# comment\nBERTH_LISTEN=127.0.0.1:1111\nBERTH_DATA_DIR=\"/from/file\"\n"
                         "export OPENCLAW_NETWORK=file-net\n";
  auto s =
      LoadSettings({{"BERTH_LISTEN", "127.0.0.1:3333"}},
                   {{"BERTH_LISTEN", "127.0.0.1:2222"}, {"BERTH_DATA_DIR", "/from/env"}}, file);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->listen_port, 3333);
  EXPECT_EQ(s->data_dir, "/from/env");
  EXPECT_EQ(s->openclaw_network, "file-net");
  EXPECT_EQ(s->database_url, "sqlite:///from/env/berth.db");

  auto from_env_config = LoadSettings({}, {{"BERTH_CONFIG", file}}, std::nullopt);
  ASSERT_TRUE(from_env_config.ok());
  EXPECT_EQ(from_env_config->listen_port, 1111);
  EXPECT_EQ(from_env_config->data_dir, "/from/file");
}

TEST(Settings, ConfigFileErrorsNameTheLine) {
  testing::TempDir dir;
  std::string file = dir.File("berth.env");
  std::ofstream(file) << "BERTH_LISTEN=:1\nBERTH_LISTNE=oops\n";
  auto s = LoadSettings({}, {}, file);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(":2: unknown setting 'BERTH_LISTNE'"), std::string::npos);
  auto missing = LoadSettings({}, {}, dir.File("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("BERTH_CONFIG"), std::string::npos);
}

TEST(Settings, InvalidValuesNameTheSettingAndHideSecrets) {
  struct Case {
    std::string name, value;
  };
  for (const auto& c : std::vector<Case>{{"BERTH_LISTEN", "nope"},
                                         {"BERTH_LISTEN", "1.2.3.4:99999"},
                                         {"BERTH_LISTEN", "::1:80"},
                                         {"BERTH_DATABASE_URL", "mysql://x"},
                                         {"BERTH_ENCRYPTION_KEY", "tooshort-secret"},
                                         {"BERTH_ENCRYPTION_KEY_PREVIOUS", "a,bad-secret"},
                                         {"BERTH_ADMIN_TOKEN", "short-secret"},
                                         {"MOSAIC_API_URL", "ftp://x"},
                                         {"DOCKER_HOST", "ssh://host"},
                                         {"BERTH_LOG_LEVEL", "loud"},
                                         {"BERTH_LOG_FORMAT", "xml"},
                                         {"BERTH_LOG_FORMAT", "JSON"},
                                         {"BERTH_THREADS", "-1"},
                                         {"BERTH_IDLE_PAUSE", "-5"},
                                         {"BERTH_IDLE_PAUSE", "604801"},
                                         {"BERTH_WARM_POOL", "-1"},
                                         {"BERTH_WARM_POOL", "1025"},
                                         {"BERTH_POOL_KEEP_WARM", "3601"},
                                         {"BERTH_AGENT_MEMORY", "1k"},
                                         {"BERTH_AGENT_MEMORY", "lots"},
                                         // Found by fuzz/settings_fuzz.cpp: the size overflowed.
                                         {"BERTH_AGENT_MEMORY", "99999999999g"},
                                         {"BERTH_BODY_MEMORY", "1099511627776k"},
                                         {"BERTH_AGENT_CPUS", "0"},
                                         {"BERTH_AGENT_START_CPUS", "-1"},
                                         {"BERTH_AGENT_START_CPUS", "two"},
                                         {"BERTH_AGENT_START_BURST", "3601"},
                                         {"BERTH_AGENT_ADDRESSING", "port-scan"},
                                         {"BERTH_INTERNAL_LISTEN", "nowhere"},
                                         {"BERTH_START_TIMEOUT", "0"},
                                         {"BERTH_DATABASE_WAIT", "-1"},
                                         {"BERTH_DATABASE_WAIT", "90000"},
                                         {"BERTH_DATABASE_WAIT", "1m"},
                                         {"BERTH_MAX_CONCURRENT_STARTS", "x"}}) {
    auto s = LoadSettings({}, {{c.name, c.value}}, std::nullopt);
    ASSERT_FALSE(s.ok()) << c.name << "=" << c.value;
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.status().message().rfind(c.name + ":", 0), 0u) << s.status().message();
    EXPECT_EQ(s.status().message().find("secret"), std::string::npos) << s.status().message();
  }
}

TEST(Settings, ParsesKeysTokensAndAddresses) {
  auto s = LoadSettings(
      {},
      {{"BERTH_ENCRYPTION_KEY", kHexKey},
       {"BERTH_ENCRYPTION_KEY_PREVIOUS", std::string(64, 'b') + "," + std::string(64, 'c')},
       {"BERTH_ADMIN_TOKEN", std::string(40, 't')},
       {"BERTH_LISTEN", "[::1]:8080"},
       {"DOCKER_HOST", "/var/run/docker.sock"},
       {"MOSAIC_API_URL", "http://10.0.0.1:3000/api"}},
      std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->encryption_key->size(), 32u);
  EXPECT_EQ(s->previous_keys.size(), 2u);
  EXPECT_EQ(s->listen_host, "::1");
  EXPECT_EQ(s->listen_port, 8080);
  EXPECT_EQ(*s->mosaic_api_url, "http://10.0.0.1:3000/api");
  std::string host;
  unsigned short port = 0;
  ASSERT_TRUE(ParseListen(":0", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 0);
}

}  // namespace
}  // namespace berth::config
