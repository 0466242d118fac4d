#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "common/status.hpp"

namespace berth {

// A value or the Status explaining why there is none (like absl::StatusOr).
// REQUIRES: value()/operator* only when ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` when there is none.
  T value_or(T fallback) && { return ok() ? std::move(*value_) : std::move(fallback); }
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  Status status_;
  std::optional<T> value_;
};

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace berth

// Returns early with the error of an expression yielding Status or Result<T>.
#define BERTH_RETURN_IF_ERROR(expr)                                                \
  do {                                                                             \
    const auto& berth_rie_ = (expr);                                               \
    if (!::berth::StatusOf(berth_rie_).ok()) return ::berth::StatusOf(berth_rie_); \
  } while (0)
