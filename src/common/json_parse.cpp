#include "common/json_parse.hpp"

#include <string>

namespace berth {
namespace {

using nlohmann::json;

// Builds the tree through nlohmann's own DOM builder (iterative: it keeps a stack of open
// containers, not a recursion) while JsonBoundsScan counts.
class BoundedDomBuilder final : public JsonBoundsScan {
 public:
  BoundedDomBuilder(json& root, const JsonLimits& limits)
      : JsonBoundsScan(limits), dom_(root, /*allow_exceptions=*/false) {}

  bool null() override { return Count() && dom_.null(); }
  bool boolean(bool b) override { return Count() && dom_.boolean(b); }
  bool number_integer(number_integer_t n) override { return Count() && dom_.number_integer(n); }
  bool number_unsigned(number_unsigned_t n) override { return Count() && dom_.number_unsigned(n); }
  bool number_float(number_float_t n, const string_t& s) override {
    return Count() && dom_.number_float(n, s);
  }
  bool string(string_t& s) override { return Count() && dom_.string(s); }
  bool binary(binary_t& b) override { return Count() && dom_.binary(b); }
  bool start_object(std::size_t n) override { return Enter() && dom_.start_object(n); }
  bool key(string_t& k) override { return dom_.key(k); }
  bool end_object() override { return Leave() && dom_.end_object(); }
  bool start_array(std::size_t n) override { return Enter() && dom_.start_array(n); }
  bool end_array() override { return Leave() && dom_.end_array(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
};

Status NotJson(std::string_view what) {
  return InvalidArgument(std::string(what) + " is not valid JSON");
}

}  // namespace

Status JsonBoundsScan::BoundError(std::string_view what) const {
  switch (exceeded_) {
    case Bound::kDepth:
      return InvalidArgument(std::string(what) + " nests deeper than " +
                             std::to_string(limits_.max_depth) + " levels");
    case Bound::kValues:
      return InvalidArgument(std::string(what) + " has more than " +
                             std::to_string(limits_.max_values) + " values");
    case Bound::kNone:
      break;
  }
  return Status::Ok();
}

Result<json> ParseJson(std::string_view text, std::string_view what, const JsonLimits& limits) {
  json root;
  BoundedDomBuilder builder(root, limits);
  if (!json::sax_parse(text, &builder)) {
    Status bound = builder.BoundError(what);
    // The partial tree goes with `root`; nlohmann destroys trees without recursion.
    return bound.ok() ? NotJson(what) : bound;
  }
  return root;
}

Status CheckJson(std::string_view text, std::string_view what, const JsonLimits& limits) {
  JsonBoundsScan scan(limits);
  if (json::sax_parse(text, &scan)) return Status::Ok();
  Status bound = scan.BoundError(what);
  return bound.ok() ? NotJson(what) : bound;
}

}  // namespace berth
