#include "llm/destination.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace berth::llm {
namespace {

using net::ip::address;
using net::ip::address_v4;
using net::ip::address_v6;
using net::ip::network_v4;
using net::ip::network_v6;
using Network = std::variant<network_v4, network_v6>;

// ::ffff:a.b.c.d reaches a.b.c.d, so it is judged as a.b.c.d. A scope id does not change which
// range an address is in, and dropping it lets addresses compare by value.
address Unmap(const address& a) {
  if (a.is_v4()) return a;
  const address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6);
  return address_v6(v6.to_bytes());
}

bool Contains(const network_v4& network, const address& a) {
  return a.is_v4() &&
         network_v4(a.to_v4(), network.prefix_length()).canonical() == network.canonical();
}

bool Contains(const network_v6& network, const address& a) {
  return a.is_v6() &&
         network_v6(a.to_v6(), network.prefix_length()).canonical() == network.canonical();
}

bool Contains(const Network& network, const address& a) {
  return std::visit([&a](const auto& n) { return Contains(n, a); }, network);
}

// "ADDRESS" or "ADDRESS/PREFIX" (host bits ignored). kInvalidArgument saying what is wrong. A
// mapped IPv6 network that lies inside ::ffff:0:0/96 becomes the IPv4 network, so it matches the
// unmapped addresses Check compares against.
Result<Network> ParseNetwork(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  if (host.find('%') != std::string_view::npos) return InvalidArgument("a scope id is not allowed");
  boost::system::error_code ec;
  const address parsed = net::ip::make_address(std::string(host), ec);
  if (ec) return InvalidArgument("not an IP address or CIDR");
  const unsigned max_prefix = parsed.is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const char* end = digits.data() + digits.size();
    const auto [stop, error] = std::from_chars(digits.data(), end, prefix);
    if (digits.empty() || error != std::errc() || stop != end || prefix > max_prefix) {
      return InvalidArgument("prefix length must be 0.." + std::to_string(max_prefix));
    }
  }
  if (parsed.is_v4()) return Network(network_v4(parsed.to_v4(), prefix));
  const address_v6 v6(parsed.to_v6().to_bytes());
  if (v6.is_v4_mapped() && prefix >= 96) {
    return Network(network_v4(net::ip::make_address_v4(net::ip::v4_mapped, v6), prefix - 96));
  }
  return Network(network_v6(v6, prefix));
}

// A built-in range, which always parses.
Network BuiltIn(std::string_view cidr) {
  Result<Network> network = ParseNetwork(cidr);
  assert(network.ok() && "a built-in range must parse");
  return std::move(network).value();
}

struct Range {
  Network network;
  std::string_view what;  // completes "provider address X is ..."
};

// Refused whatever BERTH_PROVIDER_ALLOW says; the first match names the reason, so the metadata
// addresses come before the link-local (and ULA) ranges that contain them.
const std::vector<Range>& AlwaysRefusedRanges() {
  static const std::vector<Range> ranges = {
      {BuiltIn("0.0.0.0/32"), "unspecified"},
      {BuiltIn("::/128"), "unspecified"},
      {BuiltIn("127.0.0.0/8"), "loopback"},
      {BuiltIn("::1/128"), "loopback"},
      {BuiltIn("169.254.169.254/32"), "the cloud metadata address"},
      {BuiltIn("fd00:ec2::254/128"), "the cloud metadata address"},
      {BuiltIn("169.254.0.0/16"), "link-local"},
      {BuiltIn("fe80::/10"), "link-local"},
      {BuiltIn("224.0.0.0/4"), "multicast"},
      {BuiltIn("ff00::/8"), "multicast"},
      {BuiltIn("255.255.255.255/32"), "broadcast"},
      {BuiltIn("0.0.0.0/8"), "in 0.0.0.0/8 (\"this network\")"},
  };
  return ranges;
}

// Internal address space: refused unless inside an allow entry.
const std::vector<Network>& PrivateRanges() {
  static const std::vector<Network> ranges = {
      BuiltIn("10.0.0.0/8"),    BuiltIn("172.16.0.0/12"), BuiltIn("192.168.0.0/16"),
      BuiltIn("100.64.0.0/10"),  // CGNAT, also used by cloud and VPN internals
      BuiltIn("198.18.0.0/15"),  // benchmarking, used by some internal networks
      BuiltIn("fc00::/7"),       // unique local addresses
  };
  return ranges;
}

// Every address of this machine's interfaces, unmapped and without scope id.
Result<std::vector<address>> LocalAddresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return Internal("cannot list local addresses: " +
                    std::error_code(errno, std::system_category()).message());
  }
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owner(list, &freeifaddrs);
  std::vector<address> addresses;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr,
                  bytes.size());
      addresses.push_back(address_v4(bytes));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr,
                  bytes.size());
      addresses.push_back(Unmap(address_v6(bytes)));
    }
  }
  return addresses;
}

}  // namespace

Result<DestinationPolicy> DestinationPolicy::Create(Options options) {
  std::vector<network_v4> allow_v4;
  std::vector<network_v6> allow_v6;
  for (const std::string& entry : options.allow) {
    Result<Network> network = ParseNetwork(entry);
    if (!network.ok()) {
      return InvalidArgument("BERTH_PROVIDER_ALLOW entry \"" + entry +
                             "\": " + network.status().message());
    }
    if (const auto* v4 = std::get_if<network_v4>(&*network)) {
      allow_v4.push_back(*v4);
    } else {
      allow_v6.push_back(std::get<network_v6>(*network));
    }
  }

  std::vector<net::ip::tcp::endpoint> own;
  std::optional<std::vector<address>> local;  // listed only when an own entry needs it
  for (const net::ip::tcp::endpoint& endpoint : options.own) {
    const address a = Unmap(endpoint.address());
    if (!a.is_unspecified()) {
      own.emplace_back(a, endpoint.port());
      continue;
    }
    if (!local) {
      Result<std::vector<address>> listed = LocalAddresses();
      BERTH_RETURN_IF_ERROR(listed);
      local = std::move(listed).value();
    }
    for (const address& l : *local) own.emplace_back(l, endpoint.port());
  }
  return DestinationPolicy(std::move(allow_v4), std::move(allow_v6), std::move(own));
}

Status DestinationPolicy::Check(const net::ip::tcp::endpoint& to) const {
  const address a = Unmap(to.address());
  const std::string refused = "provider address " + to.address().to_string() + " ";
  for (const net::ip::tcp::endpoint& own : own_) {
    if (own.address() == a && own.port() == to.port()) {
      return PermissionDenied(refused + "port " + std::to_string(to.port()) +
                              " is one of berth's own listeners");
    }
  }
  for (const Range& range : AlwaysRefusedRanges()) {
    if (Contains(range.network, a)) {
      return PermissionDenied(refused + "is " + std::string(range.what));
    }
  }
  for (const Network& range : PrivateRanges()) {
    if (!Contains(range, a)) continue;
    for (const network_v4& allowed : allow_v4_) {
      if (Contains(allowed, a)) return Status::Ok();
    }
    for (const network_v6& allowed : allow_v6_) {
      if (Contains(allowed, a)) return Status::Ok();
    }
    return PermissionDenied(refused + "is private and not in BERTH_PROVIDER_ALLOW");
  }
  return Status::Ok();
}

std::vector<std::string> SplitAllowList(std::string_view value) {
  std::vector<std::string> entries;
  std::string current;
  for (const char c : value) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty()) entries.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) entries.push_back(std::move(current));
  return entries;
}

}  // namespace berth::llm
