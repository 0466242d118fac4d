// TLS: the client context from DOCKER_CERT_PATH files, and mutual TLS to the real engine through
// an in-test TLS relay that requires a client certificate (no TLS engine is reachable here).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "docker/docker_client.hpp"
#include "docker/tls_context.hpp"
#include "support/docker_test_env.hpp"
#include "support/temp_dir.hpp"
#include "test_servers.hpp"

namespace berth::docker {
namespace {

namespace fs = std::filesystem;
using berth::testing::TempDir;

class TlsTest : public berth::testing::DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(testing::GenerateTestPki(pki_.path().string())) << "openssl CLI failed";
    ASSERT_EQ(client().endpoint().kind, EngineEndpoint::Kind::kUnix)
        << "the TLS relay forwards to a unix socket engine";
  }

  std::string Pki(const std::string& name) const { return pki_.File(name); }

  // A DOCKER_CERT_PATH directory holding the given pki files under the docker names.
  std::string CertDir(const std::string& ca, const std::string& cert, const std::string& key) {
    const fs::path dir = certs_.path() / std::to_string(next_dir_++);
    fs::create_directories(dir);
    if (!ca.empty()) fs::copy_file(Pki(ca), dir / "ca.pem");
    if (!cert.empty()) fs::copy_file(Pki(cert), dir / "cert.pem");
    if (!key.empty()) fs::copy_file(Pki(key), dir / "key.pem");
    return dir.string();
  }

  std::unique_ptr<testing::EngineRelay> Relay(const std::string& cert, const std::string& key) {
    return std::make_unique<testing::EngineRelay>(
        client().endpoint().socket_path,
        testing::ServerTlsContext(Pki(cert), Pki(key), Pki("ca.pem")));
  }

  std::unique_ptr<DockerClient> Client(const std::string& host, const std::string& verify,
                                       const std::string& cert_dir) {
    auto endpoint = ParseDockerHost(host, verify, cert_dir);
    EXPECT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    if (!endpoint.ok()) return nullptr;
    DockerClientOptions options;
    options.call_timeout = std::chrono::seconds(5);
    auto client = DockerClient::Create(*endpoint, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  TempDir pki_;
  TempDir certs_;
  int next_dir_ = 0;
};

TEST_F(TlsTest, ContextLoadsDockerCertFiles) {
  TlsSettings tls{Pki("ca.pem"), Pki("cert.pem"), Pki("key.pem")};
  auto ctx = MakeClientTlsContext(tls);
  EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_TRUE(MakeClientTlsContext(TlsSettings{}).ok());  // system trust store, no client cert
}

TEST_F(TlsTest, ContextReportsUnusableFiles) {
  auto missing = MakeClientTlsContext({Pki("nope.pem"), "", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("nope.pem"), std::string::npos);

  std::ofstream(Pki("garbage.pem")) << "not a certificate\n";
  auto garbage = MakeClientTlsContext({Pki("ca.pem"), Pki("garbage.pem"), Pki("key.pem")});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("garbage.pem"), std::string::npos);

  auto mismatch = MakeClientTlsContext({Pki("ca.pem"), Pki("cert.pem"), Pki("server-key.pem")});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("does not match"), std::string::npos)
      << mismatch.status().message();

  // The same errors surface from DockerClient::Create.
  auto endpoint =
      ParseDockerHost("tcp://127.0.0.1:1", "1", CertDir("ca.pem", "cert.pem", "server-key.pem"));
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(DockerClient::Create(*endpoint).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TlsTest, MutualTlsReachesTheEngine) {
  auto relay = Relay("server.pem", "server-key.pem");
  const std::string dir = CertDir("ca.pem", "cert.pem", "key.pem");
  const std::string port = std::to_string(relay->port());
  // DOCKER_TLS_VERIFY with tcp:// (the CLI's form), by IP and by name.
  for (const std::string& host : {"tcp://127.0.0.1:" + port, "https://localhost:" + port}) {
    auto client = Client(host, "1", dir);
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->endpoint().ToString().rfind("https://", 0), 0u);
    auto version = client->Version();
    ASSERT_TRUE(version.ok()) << host << ": " << version.status().ToString();
    EXPECT_FALSE(version->version.empty());
    auto api = client->ApiVersion();
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    auto list = client->ListContainers(env().Labels());
    EXPECT_TRUE(list.ok()) << list.status().ToString();
  }
  const std::string requests = relay->Requests();
  EXPECT_NE(requests.find("GET /version HTTP/1.1"), std::string::npos);
  EXPECT_NE(requests.find("GET /v" + *client().ApiVersion() + "/containers/json"),
            std::string::npos);
  EXPECT_EQ(relay->handshake_failures(), 0);
}

TEST_F(TlsTest, ServerRefusesAClientWithoutCertificate) {
  auto relay = Relay("server.pem", "server-key.pem");
  // https:// without DOCKER_TLS_VERIFY: server verified with ca.pem, no client certificate.
  auto client =
      Client("https://127.0.0.1:" + std::to_string(relay->port()), "", CertDir("ca.pem", "", ""));
  ASSERT_NE(client, nullptr);
  auto version = client->Version();
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), ErrorCode::kUnavailable) << version.status().ToString();
  EXPECT_TRUE(relay->AwaitHandshakeFailures(1, std::chrono::seconds(5)))
      << relay->handshake_failures();
  EXPECT_EQ(relay->Requests(), "");  // nothing reached the engine
}

TEST_F(TlsTest, ClientRefusesAnUntrustedServer) {
  auto relay = Relay("server.pem", "server-key.pem");
  auto client = Client("tcp://127.0.0.1:" + std::to_string(relay->port()), "1",
                       CertDir("other-ca.pem", "cert.pem", "key.pem"));
  ASSERT_NE(client, nullptr);
  auto version = client->Version();
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(version.status().message().find("certificate verify failed"), std::string::npos)
      << version.status().message();
  EXPECT_EQ(relay->Requests(), "");
}

TEST_F(TlsTest, ClientRefusesACertificateForAnotherName) {
  auto relay = Relay("wrongname.pem", "wrongname-key.pem");
  auto client = Client("tcp://127.0.0.1:" + std::to_string(relay->port()), "1",
                       CertDir("ca.pem", "cert.pem", "key.pem"));
  ASSERT_NE(client, nullptr);
  auto version = client->Version();
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(relay->Requests(), "");
}

}  // namespace
}  // namespace berth::docker
