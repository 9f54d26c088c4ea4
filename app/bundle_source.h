#pragma once
// Where `regcache ca install` gets the bundle of roots: a file, the proxy's GET /ca.crt, or the
// local CA directory.
#include <filesystem>
#include <string>

namespace regcache::app {

// Reads a PEM bundle file. Throws std::runtime_error if it holds no certificate.
std::string readBundleFile(const std::filesystem::path &path);
// GET of an http:// or https:// URL such as http://proxy:3128/ca.crt, with a 10 s timeout per
// read and write. https verifies the server's certificate and name against the system roots
// plus `caFile` (when not empty). Throws std::runtime_error on failure or a non-200 answer.
std::string fetchBundle(const std::string &url, const std::filesystem::path &caFile = {});

} // namespace regcache::app
