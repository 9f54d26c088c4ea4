#pragma once
// Reading and writing the CA's files: PEM certificates and keys, written atomically (temp file,
// fsync, rename) so a crash never leaves half a key behind.
#include <sys/types.h>

#include <filesystem>
#include <string>

#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {

Result<void> writeFileAtomically(const std::filesystem::path &path, const std::string &content,
                                 mode_t mode);
// kNotFound when the file cannot be read.
Result<std::string> readFile(const std::filesystem::path &path);

std::string toPem(X509 *cert);
std::string keyToPem(EVP_PKEY *key);
Result<X509Ptr> certFromPem(const std::string &pem, const std::string &what);
Result<EvpPkeyPtr> keyFromPem(const std::string &pem, const std::string &what);

} // namespace regcache::ca
