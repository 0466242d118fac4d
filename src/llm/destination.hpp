#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "common/status.hpp"

namespace berth::llm {

// Where berth may connect when it forwards an agent's LLM request to a provider base URL that a
// user registered. The URL is user input, so without this a user could aim berth at what only
// berth can reach (SSRF): its own listeners, the engine's API, the cloud metadata service, the
// private network. The policy judges the address berth actually connects to, never the URL text:
// DNS can answer differently on every lookup (rebinding), so the caller resolves the host, checks
// each resolved endpoint here, and connects only to one that passes, without resolving again.
//
// Rules, first match wins:
//  1. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address.
//  2. Always refused, whatever the allow list says: berth's own listeners, loopback, unspecified,
//     link-local (with the cloud metadata addresses), multicast, broadcast, 0.0.0.0/8.
//  3. Private and internal ranges (RFC 1918, CGNAT, benchmarking, IPv6 ULA) are refused unless an
//     admin listed them in BERTH_PROVIDER_ALLOW (for a provider on the LAN or a local gateway).
//  4. Everything else is public and allowed.
//
// Immutable after Create; Check is thread-safe.
class DestinationPolicy {
 public:
  struct Options {
    // BERTH_PROVIDER_ALLOW: CIDRs ("10.0.0.0/8", "172.17.0.1/32", "fd12::/16"; a bare address
    // means /32 or /128; host bits are ignored) under which private ranges are allowed. An entry
    // never widens rule 2. An IPv6 entry matches IPv4 addresses only when written as mapped
    // (::ffff:10.0.0.0/104), so "::/0" does not allow private IPv4 addresses.
    std::vector<std::string> allow = {};
    // berth's own listeners and the engine's API (address + port). An unspecified address
    // (0.0.0.0 or ::) means every address of this machine on that port, in either family (a "::"
    // socket also accepts IPv4). Local addresses are listed once, at Create: an interface added
    // later is not covered, which is why loopback and link-local are refused by class as well.
    std::vector<net::ip::tcp::endpoint> own = {};
  };

  // kInvalidArgument naming the bad entry when an allow entry is not a CIDR or an address (prefix
  // out of range, garbage, empty, a scope id). kInternal when the local addresses cannot be
  // listed: failing closed is safer than missing one of berth's listeners.
  static Result<DestinationPolicy> Create(Options options);

  // Ok when berth may connect to `to`; otherwise kPermissionDenied with a message naming the
  // address and the class that refused it ("provider address 127.0.0.1 is loopback").
  Status Check(const net::ip::tcp::endpoint& to) const;

 private:
  DestinationPolicy(std::vector<net::ip::network_v4> allow_v4,
                    std::vector<net::ip::network_v6> allow_v6,
                    std::vector<net::ip::tcp::endpoint> own)
      : allow_v4_(std::move(allow_v4)), allow_v6_(std::move(allow_v6)), own_(std::move(own)) {}

  std::vector<net::ip::network_v4> allow_v4_;  // mapped IPv6 entries land here
  std::vector<net::ip::network_v6> allow_v6_;  // without scope id
  std::vector<net::ip::tcp::endpoint> own_;    // unmapped, without scope id, never unspecified
};

// Splits a BERTH_PROVIDER_ALLOW value on commas and whitespace, dropping empty pieces ("" yields
// no entries). Entries are validated by DestinationPolicy::Create.
std::vector<std::string> SplitAllowList(std::string_view value);

}  // namespace berth::llm
