#include "llm/destination.hpp"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::llm {
namespace {

using Endpoint = net::ip::tcp::endpoint;

Endpoint At(std::string_view address, unsigned short port = 443) {
  return Endpoint(net::ip::make_address(std::string(address)), port);
}

::testing::AssertionResult Allowed(const DestinationPolicy& policy, std::string_view address,
                                   unsigned short port = 443) {
  const Status status = policy.Check(At(address, port));
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << address << " port " << port << " refused: " << status.ToString();
}

// Refused with kPermissionDenied and exactly "provider address ADDRESS WHY".
::testing::AssertionResult Refused(const DestinationPolicy& policy, std::string_view address,
                                   std::string_view why, unsigned short port = 443) {
  const Status status = policy.Check(At(address, port));
  if (status.ok())
    return ::testing::AssertionFailure() << address << " port " << port << " allowed";
  const std::string expected = "provider address " + std::string(address) + " " + std::string(why);
  if (status.code() != ErrorCode::kPermissionDenied || status.message() != expected) {
    return ::testing::AssertionFailure()
           << address << ": got " << status.ToString() << ", want \"" << expected << "\"";
  }
  return ::testing::AssertionSuccess();
}

// An address of this machine that no class-based rule refuses (not loopback, link-local or
// multicast), so only the own-listener rule can refuse it; IPv4 preferred.
std::optional<net::ip::address> RoutableLocalAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owner(list, &freeifaddrs);
  std::optional<net::ip::address> v6;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      net::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr,
                  bytes.size());
      const net::ip::address_v4 a(bytes);
      const bool link_local = bytes[0] == 169 && bytes[1] == 254;
      if (!a.is_loopback() && !a.is_unspecified() && !a.is_multicast() && !link_local &&
          bytes[0] != 0) {
        return a;
      }
    } else if (i->ifa_addr->sa_family == AF_INET6 && !v6) {
      net::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr,
                  bytes.size());
      const net::ip::address_v6 a(bytes);
      if (!a.is_loopback() && !a.is_unspecified() && !a.is_multicast() && !a.is_link_local() &&
          !a.is_v4_mapped() && a != net::ip::make_address_v6("fd00:ec2::254")) {
        v6 = a;
      }
    }
  }
  return v6;
}

TEST(DestinationPolicy, RefusesLoopback) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "127.0.0.1", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "127.255.255.254", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "::1", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "::ffff:127.0.0.1", "is loopback"));
}

TEST(DestinationPolicy, RefusalMessageNamesTheAddressAndTheClass) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  const Status status = policy->Check(At("127.0.0.1"));
  EXPECT_EQ(status.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "provider address 127.0.0.1 is loopback");
}

TEST(DestinationPolicy, RefusesUnspecifiedAndThisNetwork) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "0.0.0.0", "is unspecified"));
  EXPECT_TRUE(Refused(*policy, "::", "is unspecified"));
  EXPECT_TRUE(Refused(*policy, "::ffff:0.0.0.0", "is unspecified"));
  EXPECT_TRUE(Refused(*policy, "0.1.2.3", "is in 0.0.0.0/8 (\"this network\")"));
  EXPECT_TRUE(Refused(*policy, "0.255.255.255", "is in 0.0.0.0/8 (\"this network\")"));
}

TEST(DestinationPolicy, RefusesLinkLocal) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "169.254.0.1", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "169.254.255.255", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "::ffff:169.254.1.1", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "fe80::1", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "febf:ffff::1", "is link-local"));
}

TEST(DestinationPolicy, RefusesCloudMetadataWithItsOwnMessage) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "169.254.169.254", "is the cloud metadata address"));
  EXPECT_TRUE(Refused(*policy, "::ffff:169.254.169.254", "is the cloud metadata address"));
  EXPECT_TRUE(Refused(*policy, "fd00:ec2::254", "is the cloud metadata address", 80));
  // Its ULA neighbours are only private.
  EXPECT_TRUE(Refused(*policy, "fd00:ec2::253", "is private and not in BERTH_PROVIDER_ALLOW"));
}

TEST(DestinationPolicy, RefusesMulticastAndBroadcast) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "224.0.0.1", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "239.255.255.250", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "::ffff:224.0.0.251", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "ff02::1", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "ff05::1:3", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "255.255.255.255", "is broadcast"));
}

TEST(DestinationPolicy, RefusesPrivateRangesByDefault) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  for (const char* address :
       {"10.0.0.0", "10.1.2.3", "10.255.255.255", "::ffff:10.1.2.3", "172.16.0.1", "172.31.255.255",
        "192.168.0.1", "192.168.255.255", "100.64.0.1", "100.127.255.255", "198.18.0.1",
        "198.19.255.255", "fc00::1", "fd12:3456::1", "fdff:ffff::1"}) {
    EXPECT_TRUE(Refused(*policy, address, "is private and not in BERTH_PROVIDER_ALLOW"));
  }
}

TEST(DestinationPolicy, AllowsPublicAddresses) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  // Including the first address outside each refused range.
  for (const char* address : {"8.8.8.8",
                              "1.1.1.1",
                              "::ffff:8.8.8.8",
                              "1.0.0.0",
                              "9.255.255.255",
                              "11.0.0.0",
                              "126.255.255.255",
                              "128.0.0.0",
                              "172.15.255.255",
                              "172.32.0.0",
                              "192.167.255.255",
                              "192.169.0.0",
                              "100.63.255.255",
                              "100.128.0.0",
                              "198.17.255.255",
                              "198.20.0.0",
                              "169.253.255.255",
                              "169.255.0.0",
                              "223.255.255.255",
                              "2606:4700:4700::1111",
                              "2001:4860:4860::8888",
                              "fbff:ffff::1",
                              "fe00::1"}) {
    EXPECT_TRUE(Allowed(*policy, address));
  }
}

TEST(DestinationPolicy, AllowListWidensPrivateRanges) {
  const Result<DestinationPolicy> policy =
      DestinationPolicy::Create({.allow = {"10.0.0.0/8", "172.17.0.1", "fd12::/16",
                                           "192.168.7.9/24", "::ffff:100.64.0.0/112"}});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Allowed(*policy, "10.1.2.3"));
  EXPECT_TRUE(Allowed(*policy, "::ffff:10.1.2.3"));
  EXPECT_TRUE(Allowed(*policy, "172.17.0.1"));
  EXPECT_TRUE(Refused(*policy, "172.17.0.2", "is private and not in BERTH_PROVIDER_ALLOW"));
  EXPECT_TRUE(Allowed(*policy, "fd12::1"));
  EXPECT_TRUE(Refused(*policy, "fd13::1", "is private and not in BERTH_PROVIDER_ALLOW"));
  // Host bits of an entry are ignored: 192.168.7.9/24 is 192.168.7.0/24.
  EXPECT_TRUE(Allowed(*policy, "192.168.7.200"));
  EXPECT_TRUE(Refused(*policy, "192.168.8.1", "is private and not in BERTH_PROVIDER_ALLOW"));
  // A mapped entry is an IPv4 network: ::ffff:100.64.0.0/112 is 100.64.0.0/16.
  EXPECT_TRUE(Allowed(*policy, "100.64.255.1"));
  EXPECT_TRUE(Refused(*policy, "100.65.0.1", "is private and not in BERTH_PROVIDER_ALLOW"));
  EXPECT_TRUE(Allowed(*policy, "8.8.8.8"));
}

TEST(DestinationPolicy, IPv6AllowEntryDoesNotCoverIPv4) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({.allow = {"::/0"}});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Allowed(*policy, "fd12::1"));
  EXPECT_TRUE(Refused(*policy, "10.1.2.3", "is private and not in BERTH_PROVIDER_ALLOW"));
  EXPECT_TRUE(Refused(*policy, "::ffff:10.1.2.3", "is private and not in BERTH_PROVIDER_ALLOW"));
}

TEST(DestinationPolicy, AllowListNeverWidensAlwaysRefusedClasses) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create(
      {.allow = {"0.0.0.0/0", "::/0", "127.0.0.0/8", "::1", "169.254.0.0/16", "fe80::/10",
                 "fd00:ec2::254", "224.0.0.0/4", "255.255.255.255"},
       .own = {At("10.0.0.5", 8080), At("fd12::5", 8080)}});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "127.0.0.1", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "::1", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "::ffff:127.0.0.1", "is loopback"));
  EXPECT_TRUE(Refused(*policy, "169.254.1.1", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "fe80::1", "is link-local"));
  EXPECT_TRUE(Refused(*policy, "169.254.169.254", "is the cloud metadata address"));
  EXPECT_TRUE(Refused(*policy, "fd00:ec2::254", "is the cloud metadata address"));
  EXPECT_TRUE(Refused(*policy, "224.0.0.1", "is multicast"));
  EXPECT_TRUE(Refused(*policy, "255.255.255.255", "is broadcast"));
  EXPECT_TRUE(Refused(*policy, "0.0.0.0", "is unspecified"));
  EXPECT_TRUE(Refused(*policy, "10.0.0.5", "port 8080 is one of berth's own listeners", 8080));
  EXPECT_TRUE(Refused(*policy, "fd12::5", "port 8080 is one of berth's own listeners", 8080));
  // The allow list still widens the private ranges, and other ports of an own address.
  EXPECT_TRUE(Allowed(*policy, "10.0.0.5", 8081));
  EXPECT_TRUE(Allowed(*policy, "fd12::5", 443));
  EXPECT_TRUE(Allowed(*policy, "192.168.1.1"));
}

TEST(DestinationPolicy, RefusesOwnListenersByAddressAndPort) {
  const Result<DestinationPolicy> policy = DestinationPolicy::Create(
      {.own = {At("203.0.113.7", 8443), At("::ffff:203.0.113.8", 9000), At("2001:db8::7", 2375)}});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Refused(*policy, "203.0.113.7", "port 8443 is one of berth's own listeners", 8443));
  EXPECT_TRUE(
      Refused(*policy, "::ffff:203.0.113.7", "port 8443 is one of berth's own listeners", 8443));
  EXPECT_TRUE(Refused(*policy, "203.0.113.8", "port 9000 is one of berth's own listeners", 9000));
  EXPECT_TRUE(Refused(*policy, "2001:db8::7", "port 2375 is one of berth's own listeners", 2375));
  EXPECT_TRUE(Allowed(*policy, "203.0.113.7", 443));
  EXPECT_TRUE(Allowed(*policy, "203.0.113.9", 8443));
  EXPECT_TRUE(Allowed(*policy, "2001:db8::7", 2376));
}

TEST(DestinationPolicy, OwnListenerOnAnyAddressCoversEveryLocalAddress) {
  const std::optional<net::ip::address> local = RoutableLocalAddress();
  if (!local) GTEST_SKIP() << "this machine has no address besides loopback and link-local";
  const std::string shown = local->to_string();
  for (const char* any : {"0.0.0.0", "::"}) {
    SCOPED_TRACE(std::string("own listener on ") + any + ", local address " + shown);
    const Result<DestinationPolicy> policy =
        DestinationPolicy::Create({.allow = {shown}, .own = {At(any, 18080)}});
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    EXPECT_TRUE(Refused(*policy, shown, "port 18080 is one of berth's own listeners", 18080));
    EXPECT_TRUE(Allowed(*policy, shown, 18081));
    // Loopback is a local address too, so the own-listener rule names it first.
    EXPECT_TRUE(Refused(*policy, "127.0.0.1", "port 18080 is one of berth's own listeners", 18080));
  }
}

TEST(DestinationPolicy, CreateRejectsMalformedAllowEntries) {
  for (const std::string bad :
       {"10.0.0.0/33", "abc", "10.0.0.0/", "::/129", "", "/8", "10.0.0.0/-1", "10.0.0.0/+8",
        "10.0.0.0/8/8", "10.0.0/8", "256.0.0.0/8", "10.0.0.0/99999999999999999999", " 10.0.0.0/8",
        "10.0.0.0/8 ", "10.0.0.0/8,", "fe80::1%eth0/64", "fe80::1%1"}) {
    const Result<DestinationPolicy> policy =
        DestinationPolicy::Create({.allow = {"10.0.0.0/8", bad}});
    ASSERT_FALSE(policy.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(policy.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(policy.status().message().find("BERTH_PROVIDER_ALLOW entry \"" + bad + "\""),
              std::string::npos)
        << policy.status().message();
  }
}

TEST(DestinationPolicy, CreateAcceptsCidrsAndBareAddresses) {
  const Result<DestinationPolicy> policy =
      DestinationPolicy::Create({.allow = {"10.0.0.0/8", "172.17.0.1/32", "fd12::/16", "10.1.2.3",
                                           "fd12::1", "0.0.0.0/0", "::/0", "10.0.0.0/008"}});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(Allowed(*policy, "10.1.2.3"));
}

TEST(SplitAllowList, SplitsOnCommasAndWhitespace) {
  EXPECT_EQ(SplitAllowList("10.0.0.0/8,172.17.0.1/32 fd12::/16\t192.168.0.0/16\n1.2.3.4"),
            (std::vector<std::string>{"10.0.0.0/8", "172.17.0.1/32", "fd12::/16", "192.168.0.0/16",
                                      "1.2.3.4"}));
}

TEST(SplitAllowList, IgnoresEmptyPieces) {
  EXPECT_TRUE(SplitAllowList("").empty());
  EXPECT_TRUE(SplitAllowList(" , ,\t\n").empty());
  EXPECT_EQ(SplitAllowList(",, 10.0.0.0/8 ,\t, fd12::/16,, "),
            (std::vector<std::string>{"10.0.0.0/8", "fd12::/16"}));
}

TEST(SplitAllowList, KeepsGarbageForCreateToReject) {
  const std::vector<std::string> entries = SplitAllowList("10.0.0.0/8, abc");
  ASSERT_EQ(entries, (std::vector<std::string>{"10.0.0.0/8", "abc"}));
  const Result<DestinationPolicy> policy = DestinationPolicy::Create({.allow = entries});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(policy.status().message().find("\"abc\""), std::string::npos)
      << policy.status().message();
}

}  // namespace
}  // namespace berth::llm
