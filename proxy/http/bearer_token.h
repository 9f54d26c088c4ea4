#pragma once
// When a client's bearer token stops being valid. Registry tokens (Docker Hub's, distribution's
// token server's) are JWTs whose payload carries "exp" (Unix seconds); an opaque token has none.
// Read without verifying the signature: the answer only shortens how long the proxy trusts
// upstream's earlier yes to that token, it never grants anything.
#include <chrono>
#include <optional>
#include <string_view>

namespace regcache::proxy::http {

// `authorization` is the whole header value ("Bearer <token>"). Nothing for other schemes,
// opaque tokens, or a payload without an integer "exp".
std::optional<std::chrono::system_clock::time_point>
bearerTokenExpiry(std::string_view authorization);

} // namespace regcache::proxy::http
