#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace berth {

// Error categories shared by every module. The HTTP layer maps each to one status code in one
// place (http/error_mapping); services never speak HTTP.
enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,    // 400
  kUnauthenticated,    // 401
  kPermissionDenied,   // 403
  kNotFound,           // 404
  kAlreadyExists,      // 409
  kAborted,            // 409: a fenced write whose lease was taken over by another replica
  kPayloadTooLarge,    // 413
  kResourceExhausted,  // 429
  kUnavailable,        // 503
  kDataLoss,           // 500: stored data cannot be read (tampered ciphertext, unknown key)
  kInternal,           // 500
};

// Stable machine-readable name of a code, used as the "code" field of JSON errors.
std::string_view ErrorCodeName(ErrorCode code);

// Outcome of an operation that returns no value. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {ErrorCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {ErrorCode::kPermissionDenied, std::move(m)};
}
inline Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Status Aborted(std::string m) { return {ErrorCode::kAborted, std::move(m)}; }
inline Status PayloadTooLarge(std::string m) { return {ErrorCode::kPayloadTooLarge, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {ErrorCode::kResourceExhausted, std::move(m)};
}
inline Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {ErrorCode::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

}  // namespace berth
