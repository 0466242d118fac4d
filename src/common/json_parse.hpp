#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.hpp"

namespace berth {

// Bounds on a JSON text from outside (a client, an agent, the engine, a gateway), enforced while
// it is parsed, before any tree exists: nlohmann's copy, dump and comparison recurse once per
// level, so a document nested a few ten thousand levels deep exhausts the stack of whichever
// thread later copies or serializes it (STYLE.md, rule 15).
struct JsonLimits {
  // Arrays and objects open at once; the outermost counts as 1. Real bodies (chat messages,
  // tool schemas, engine answers) stay far below.
  std::size_t max_depth = 64;
  // Values of any kind (each scalar, array and object counts once): bounds the tree's memory,
  // which for tiny values is many times the text's.
  std::size_t max_values = 200'000;
};

// The parsed document, or kInvalidArgument: "... is not valid JSON", "... nests deeper than N
// levels" or "... has more than N values", where "..." is `what` ("request body", "engine
// answer"). Never throws; a failure builds no tree.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what,
                                 const JsonLimits& limits = {});

// Checks `text` against the same bounds without building a tree (for text that passes through).
Status CheckJson(std::string_view text, std::string_view what, const JsonLimits& limits = {});

// A SAX consumer that only enforces JsonLimits: derive from it to scan a document in one pass,
// calling Enter()/Leave()/Count() from the matching events, or use it as it is.
class JsonBoundsScan : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonBoundsScan(const JsonLimits& limits) : limits_(limits) {}

  bool null() override { return Count(); }
  bool boolean(bool) override { return Count(); }
  bool number_integer(number_integer_t) override { return Count(); }
  bool number_unsigned(number_unsigned_t) override { return Count(); }
  bool number_float(number_float_t, const string_t&) override { return Count(); }
  bool string(string_t&) override { return Count(); }
  bool binary(binary_t&) override { return Count(); }
  bool start_object(std::size_t) override { return Enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  // Why the scan stopped, in the words of ParseJson's errors; OK when it did not stop on a bound.
  Status BoundError(std::string_view what) const;
  std::size_t depth() const { return depth_; }

 protected:
  bool Count() {
    if (++values_ > limits_.max_values) return Exceeded(Bound::kValues);
    return true;
  }
  bool Enter() {
    if (!Count()) return false;
    if (++depth_ > limits_.max_depth) return Exceeded(Bound::kDepth);
    return true;
  }
  bool Leave() {
    --depth_;
    return true;
  }

 private:
  enum class Bound { kNone, kDepth, kValues };
  bool Exceeded(Bound bound) {
    exceeded_ = bound;
    return false;
  }

  const JsonLimits limits_;
  std::size_t depth_ = 0;
  std::size_t values_ = 0;
  Bound exceeded_ = Bound::kNone;
};

}  // namespace berth
