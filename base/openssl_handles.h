#pragma once
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/handle.h"

namespace regcache {

using X509Ptr = Handle<X509, X509_free>;
using EvpPkeyPtr = Handle<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = Handle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using SslCtxPtr = Handle<SSL_CTX, SSL_CTX_free>;
using SslPtr = Handle<SSL, SSL_free>;
using BioPtr = Handle<BIO, BIO_free_all>;
using X509StorePtr = Handle<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = Handle<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509NamePtr = Handle<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = Handle<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1IntegerPtr = Handle<ASN1_INTEGER, ASN1_INTEGER_free>;
using BignumPtr = Handle<BIGNUM, BN_free>;
using GeneralNamesPtr = Handle<GENERAL_NAMES, GENERAL_NAMES_free>;
using EvpMdCtxPtr = Handle<EVP_MD_CTX, EVP_MD_CTX_free>;

// Takes a new reference to an X509 the caller does not own.
inline X509Ptr shareX509(X509 *cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}
inline EvpPkeyPtr shareKey(EVP_PKEY *key) {
  EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

} // namespace regcache
