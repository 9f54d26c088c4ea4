#include "base/result.h"

namespace regcache {

const char *errorName(Error e) noexcept {
  switch (e) {
  case Error::kInvalidInput: return "invalid input";
  case Error::kTooLarge: return "too large";
  case Error::kTimeout: return "timeout";
  case Error::kNotFound: return "not found";
  case Error::kIo: return "i/o error";
  case Error::kDns: return "dns error";
  case Error::kConnect: return "connect error";
  case Error::kTls: return "tls error";
  case Error::kCrypto: return "crypto error";
  case Error::kPolicy: return "refused by policy";
  case Error::kUpstream: return "upstream error";
  case Error::kInternal: return "internal error";
  }
  return "unknown error";
}

} // namespace regcache
