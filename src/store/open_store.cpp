#include <cctype>
#include <string>
#include <string_view>

#include "store/sqlite_store.hpp"
#include "store/store.hpp"

namespace berth::store {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected sqlite://<relative path> (relative to the working directory) or "
    "sqlite:///<absolute path>";

}  // namespace

// URL forms: the path is everything after "sqlite://", used verbatim, so
//   sqlite://data/berth.db           -> data/berth.db (relative to the working directory)
//   sqlite:///var/lib/berth/berth.db -> /var/lib/berth/berth.db
// Schemes match case-insensitively. The URL itself is never echoed in errors: a database URL
// may carry a password.
Result<StorePtr> OpenStore(const std::string& database_url) {
  const std::size_t sep = database_url.find("://");
  if (sep == std::string::npos) {
    return InvalidArgument("BERTH_DATABASE_URL is not a database URL; " +
                           std::string(kAcceptedForms));
  }
  std::string scheme = database_url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string rest = database_url.substr(sep + 3);

  if (scheme == "sqlite") {
    if (rest.empty()) {
      return InvalidArgument("BERTH_DATABASE_URL: sqlite:// needs a file path; " +
                             std::string(kAcceptedForms));
    }
    auto store = SqliteStore::Open(rest);
    if (!store.ok()) return store.status();
    return StorePtr(std::move(*store));
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    return InvalidArgument(
        "BERTH_DATABASE_URL: PostgreSQL support is not built yet; use sqlite://<path>");
  }
  bool printable = !scheme.empty();
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      printable = false;
    }
  }
  return InvalidArgument("BERTH_DATABASE_URL: unsupported scheme" +
                         (printable ? " '" + scheme + "'" : std::string()) + "; " +
                         std::string(kAcceptedForms));
}

}  // namespace berth::store
