#pragma once
// OpenSSL reports errors through a queue of codes; these turn a queue into one log-ready line.
#include <openssl/err.h>

#include <string>

namespace regcache {

// Joins the errors `next()` yields until it returns 0, e.g. ERR_get_error or a lambda over
// bufferevent_get_openssl_error. Returns `whenEmpty` if there were none.
template <class Next> std::string joinOpensslErrors(Next &&next, const char *whenEmpty = "") {
  std::string out;
  char buf[256];
  while (unsigned long code = next()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(whenEmpty) : out;
}

// Empties this thread's OpenSSL error queue into one line.
inline std::string drainOpensslErrors(const char *whenEmpty = "") {
  return joinOpensslErrors(ERR_get_error, whenEmpty);
}

} // namespace regcache
