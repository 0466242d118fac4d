#include "store/database_url.hpp"

#include <cctype>
#include <charconv>
#include <string_view>
#include <vector>

namespace berth::store {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected sqlite://<relative path> (relative to the working directory), "
    "sqlite:///<absolute path>, or postgres://user:password@host:port/database?sslmode=...";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status Bad(const std::string& why) {
  return InvalidArgument("BERTH_DATABASE_URL: " + why + "; " + std::string(kAcceptedForms));
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

bool ParseBounded(std::string_view text, int64_t low, int64_t high, int64_t* out) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < low || v > high) return false;
  *out = v;
  return true;
}

// Takes berth's parameters out of the query string of a postgres URL, validating them and
// sslmode, and returns the URL libpq gets.
Result<std::string> TakeBerthParameters(const std::string& url, DatabaseUrl* out) {
  const std::size_t q = url.find('?');
  if (q == std::string::npos) return url;
  std::string kept;
  for (std::string_view param : Split(std::string_view(url).substr(q + 1), '&')) {
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    int64_t n = 0;
    if (key == "pool_max_conns") {
      if (!ParseBounded(value, 1, 1000, &n)) return Bad("pool_max_conns must be 1..1000");
      out->pool_max_conns = static_cast<std::size_t>(n);
      continue;
    }
    if (key == "query_timeout_ms") {
      if (!ParseBounded(value, 100, 3600000, &n)) {
        return Bad("query_timeout_ms must be 100..3600000");
      }
      out->query_timeout = std::chrono::milliseconds(n);
      continue;
    }
    if (key == "sslmode" && value != "disable" && value != "allow" && value != "prefer" &&
        value != "require" && value != "verify-ca" && value != "verify-full") {
      return Bad("sslmode must be disable, allow, prefer, require, verify-ca or verify-full");
    }
    kept += kept.empty() ? "?" : "&";
    kept += param;
  }
  return url.substr(0, q) + kept;
}

}  // namespace

Result<DatabaseUrl> ParseDatabaseUrl(const std::string& url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string::npos) return Bad("not a database URL");
  const std::string scheme = Lower(url.substr(0, sep));
  const std::string rest = url.substr(sep + 3);
  DatabaseUrl parsed;
  parsed.display = MaskDatabaseUrl(url);
  if (scheme == "sqlite") {
    if (rest.empty()) return Bad("sqlite:// needs a file path");
    parsed.kind = DatabaseUrl::Kind::kSqlite;
    parsed.sqlite_path = rest;
    return parsed;
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    parsed.kind = DatabaseUrl::Kind::kPostgres;
    // libpq wants its own lowercase scheme.
    auto conninfo = TakeBerthParameters("postgresql://" + rest, &parsed);
    if (!conninfo.ok()) return conninfo.status();
    parsed.postgres_conninfo = std::move(*conninfo);
    return parsed;
  }
  bool printable = !scheme.empty();
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      printable = false;
    }
  }
  return Bad("unsupported scheme" + (printable ? " '" + scheme + "'" : std::string()));
}

std::string MaskDatabaseUrl(const std::string& url) {
  std::string masked = url;
  const std::size_t sep = masked.find("://");
  const std::size_t start = sep == std::string::npos ? 0 : sep + 3;
  const std::size_t query = masked.find('?', start);
  // User info ends at the last '@' before the query: a password may hold '/' or '@' unencoded.
  const std::size_t at = masked.rfind('@', query == std::string::npos ? masked.npos : query);
  if (at != std::string::npos && at >= start) {
    const std::size_t colon = masked.find(':', start);
    if (colon != std::string::npos && colon < at) masked.replace(colon + 1, at - colon - 1, "***");
  }
  for (std::size_t p = masked.find('?'); p != std::string::npos; p = masked.find('&', p + 1)) {
    if (masked.compare(p + 1, 9, "password=") != 0) continue;
    const std::size_t value = p + 10;
    const std::size_t end = masked.find('&', value);
    masked.replace(value, (end == std::string::npos ? masked.size() : end) - value, "***");
  }
  return masked;
}

}  // namespace berth::store
