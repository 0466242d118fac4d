#include "docker/docker_host.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace berth::docker {
namespace {

using berth::testing::TempDir;

EngineEndpoint Parse(const std::string& host, const std::string& verify = "",
                     const std::string& cert_path = "/nonexistent") {
  auto endpoint = ParseDockerHost(host, verify, cert_path);
  EXPECT_TRUE(endpoint.ok()) << host << ": " << endpoint.status().ToString();
  return endpoint.ok() ? *endpoint : EngineEndpoint{};
}

Status ParseError(const std::string& host, const std::string& verify = "",
                  const std::string& cert_path = "/nonexistent") {
  auto endpoint = ParseDockerHost(host, verify, cert_path);
  EXPECT_FALSE(endpoint.ok()) << host << " parsed as " << endpoint->ToString();
  return endpoint.ok() ? Status::Ok() : endpoint.status();
}

void WriteFile(const std::string& path) { std::ofstream(path) << "x"; }

TEST(DockerHost, EmptyMeansTheDefaultSocket) {
  for (const char* host : {"", "  "}) {
    EngineEndpoint e = Parse(host);
    EXPECT_EQ(e.kind, EngineEndpoint::Kind::kUnix);
    EXPECT_EQ(e.socket_path, "/var/run/docker.sock");
    EXPECT_EQ(e.ToString(), "unix:///var/run/docker.sock");
    EXPECT_EQ(e.HostHeader(), "localhost");
  }
}

TEST(DockerHost, UnixSocketForms) {
  EngineEndpoint e = Parse("unix:///run/user/1000/docker.sock");
  EXPECT_EQ(e.kind, EngineEndpoint::Kind::kUnix);
  EXPECT_EQ(e.socket_path, "/run/user/1000/docker.sock");
  EXPECT_EQ(Parse("/tmp/d.sock").socket_path, "/tmp/d.sock");
  EXPECT_EQ(Parse("UNIX:///tmp/d.sock").socket_path, "/tmp/d.sock");
  EXPECT_EQ(Parse("unix://").socket_path, "/var/run/docker.sock");
  // TLS settings do not apply to a socket.
  EngineEndpoint with_verify = Parse("unix:///tmp/d.sock", "1");
  EXPECT_FALSE(with_verify.tls.has_value());
}

TEST(DockerHost, TcpDefaultsToPort2375) {
  EngineEndpoint e = Parse("tcp://10.0.0.5");
  EXPECT_EQ(e.kind, EngineEndpoint::Kind::kTcp);
  EXPECT_EQ(e.host, "10.0.0.5");
  EXPECT_EQ(e.port, 2375);
  EXPECT_FALSE(e.tls.has_value());
  EXPECT_EQ(e.ToString(), "tcp://10.0.0.5:2375");
  EXPECT_EQ(e.HostHeader(), "10.0.0.5:2375");
  EXPECT_EQ(Parse("tcp://docker.internal:1234").port, 1234);
  EXPECT_EQ(Parse("tcp://docker.internal:1234/").host, "docker.internal");
  EXPECT_EQ(Parse("tcp://:2375").host, "localhost");
  // A bare host:port is TCP, as for the docker CLI.
  EngineEndpoint bare = Parse("127.0.0.1:2399");
  EXPECT_EQ(bare.kind, EngineEndpoint::Kind::kTcp);
  EXPECT_EQ(bare.port, 2399);
}

TEST(DockerHost, HttpIsPlainTcp) {
  EngineEndpoint e = Parse("http://engine");
  EXPECT_EQ(e.kind, EngineEndpoint::Kind::kTcp);
  EXPECT_EQ(e.port, 2375);
  EXPECT_FALSE(e.tls.has_value());
  EXPECT_EQ(Parse("http://engine:80").port, 80);
}

TEST(DockerHost, Ipv6InBrackets) {
  EngineEndpoint e = Parse("tcp://[::1]:2380");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 2380);
  EXPECT_EQ(e.ToString(), "tcp://[::1]:2380");
  EXPECT_EQ(e.HostHeader(), "[::1]:2380");
  EXPECT_EQ(Parse("tcp://[fe80::1]").port, 2375);
}

TEST(DockerHost, HttpsIsTlsOnPort2376UsingTheFilesPresent) {
  TempDir dir;
  EngineEndpoint none = Parse("https://engine", "", dir.path().string());
  ASSERT_TRUE(none.tls.has_value());
  EXPECT_EQ(none.port, 2376);
  EXPECT_EQ(none.tls->ca_file, "");  // system trust store
  EXPECT_EQ(none.tls->cert_file, "");
  EXPECT_EQ(none.ToString(), "https://engine:2376");

  WriteFile(dir.File("ca.pem"));
  WriteFile(dir.File("cert.pem"));
  WriteFile(dir.File("key.pem"));
  EngineEndpoint all = Parse("https://engine:443", "", dir.path().string());
  ASSERT_TRUE(all.tls.has_value());
  EXPECT_EQ(all.port, 443);
  EXPECT_EQ(all.tls->ca_file, dir.File("ca.pem"));
  EXPECT_EQ(all.tls->cert_file, dir.File("cert.pem"));
  EXPECT_EQ(all.tls->key_file, dir.File("key.pem"));
}

TEST(DockerHost, TlsVerifyTurnsTcpIntoTlsOn2376AndRequiresTheFiles) {
  TempDir dir;
  Status missing = ParseError("tcp://engine", "1", dir.path().string());
  EXPECT_EQ(missing.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("DOCKER_TLS_VERIFY"), std::string::npos) << missing.message();
  EXPECT_NE(missing.message().find(dir.File("ca.pem")), std::string::npos) << missing.message();

  WriteFile(dir.File("ca.pem"));
  WriteFile(dir.File("cert.pem"));
  Status no_key = ParseError("tcp://engine", "1", dir.path().string());
  EXPECT_NE(no_key.message().find("key.pem"), std::string::npos) << no_key.message();

  WriteFile(dir.File("key.pem"));
  EngineEndpoint e = Parse("tcp://engine", "1", dir.path().string());
  ASSERT_TRUE(e.tls.has_value());
  EXPECT_EQ(e.port, 2376);
  EXPECT_EQ(e.tls->ca_file, dir.File("ca.pem"));
  EXPECT_EQ(e.ToString(), "https://engine:2376");
  EXPECT_EQ(Parse("tcp://engine:2375", "1", dir.path().string()).port, 2375);
}

TEST(DockerHost, CertPathDefaultsToHomeDotDocker) {
  TempDir home;
  std::filesystem::create_directories(home.path() / ".docker");
  for (const char* f : {"ca.pem", "cert.pem", "key.pem"}) {
    WriteFile((home.path() / ".docker" / f).string());
  }
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home ? old_home : "";
  setenv("HOME", home.path().c_str(), 1);
  auto e = ParseDockerHost("tcp://engine", "yes", "");
  if (old_home) {
    setenv("HOME", saved.c_str(), 1);
  } else {
    unsetenv("HOME");
  }
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE(e->tls.has_value());
  EXPECT_EQ(e->tls->ca_file, (home.path() / ".docker" / "ca.pem").string());
}

TEST(DockerHost, RejectsWhatTheCliRejectsNamingDockerHost) {
  for (const char* host : {"ssh://user@engine", "npipe:////./pipe/docker_engine", "fd://", "tcp://",
                           "tcp://engine:", "tcp://engine:0", "tcp://engine:65536",
                           "tcp://engine:port", "tcp://engine:2375/v1.41", "tcp://::1:2375",
                           "tcp://[::1", "unix://relative/path", "tcp://user@engine"}) {
    Status s = ParseError(host);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << host;
    EXPECT_NE(s.message().find("DOCKER_HOST"), std::string::npos) << s.message();
  }
  EXPECT_NE(ParseError("ssh://engine").message().find("\"ssh\""), std::string::npos);
}

TEST(DockerHost, FromEnvironment) {
  setenv("DOCKER_HOST", "tcp://env-engine:2999", 1);
  unsetenv("DOCKER_TLS_VERIFY");
  auto e = EndpointFromEnvironment();
  unsetenv("DOCKER_HOST");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->host, "env-engine");
  EXPECT_EQ(e->port, 2999);
}

}  // namespace
}  // namespace berth::docker
