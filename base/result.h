#pragma once
// Errors on the data path are values, never exceptions. GCC 12 has no std::expected in C++20,
// so Result<T> is a small variant of a value and a Failure.
#include <string>
#include <utility>
#include <variant>

namespace regcache {

enum class Error {
  kInvalidInput, // a peer or user sent something malformed
  kTooLarge,     // a configured limit was exceeded
  kTimeout,
  kNotFound,
  kIo, // a file or socket operation failed
  kDns,
  kConnect,
  kTls,
  kCrypto,   // an OpenSSL operation failed that should not have
  kPolicy,   // refused by configuration
  kUpstream, // the upstream misbehaved
  kInternal,
};

const char *errorName(Error e) noexcept;

struct Failure {
  Error code;
  std::string detail;
};

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  Result(Failure failure) : v_(std::move(failure)) {} // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const Failure &failure() const { return std::get<1>(v_); }

private:
  std::variant<T, Failure> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Failure failure) : failure_(std::move(failure)), ok_(false) {} // NOLINT
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Failure &failure() const { return failure_; }

private:
  Failure failure_{Error::kInternal, {}};
  bool ok_ = true;
};

inline Failure fail(Error code, std::string detail) { return Failure{code, std::move(detail)}; }

} // namespace regcache
