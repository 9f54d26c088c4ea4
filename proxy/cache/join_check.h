#pragma once
// Asks upstream whether a client may read content whose fill, started by another client, is in
// flight: one HEAD of the client's own request at the registry the fill streams from, with the
// client's own Authorization and Accept. Only a 200 that names this digest, if it names one, is
// a yes. A blob's redirect is followed (Authorization only ever goes to the registry itself) and
// counts only if the storage answers 200; its length must then be the fill's, which the caller
// checks once the fill has announced it. Anything else (401, 403, 404, a manifest's redirect, a
// failure) is a no: the client then makes its own request and gets upstream's own answer.
//
// It asks only at the registry of the fill: a HEAD proves nothing about bytes, but the bytes
// this client would get are the fill's, fetched from that same registry and verified against
// the digest before the last of them goes out.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/access/access_memo.h"
#include "proxy/forward/one_shot_request.h"
#include "proxy/http/message.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

class HandlerServices;

// A client joining a fill started with another credential: upstream must accept it first.
struct JoinToConfirm {
  Credential credential; // the joiner's; remembered in the AccessMemo on a yes
  std::string repository;
};

struct JoinVerdict {
  bool accepted = false;
  // With a followed redirect: the length the storage announced, to match the fill's.
  std::optional<std::uint64_t> storageLength;
  std::string why; // for the log
};

class JoinCheck {
public:
  // Runs at most once, from the loop, maybe inside start(). Free the check later
  // (HandlerServices::deleteLater), never inside the callback.
  using Callback = std::function<void(JoinVerdict)>;

  // `registry`: where the fill streams from. `originTarget`: the client's path and query
  // (/v2/<name>/blobs/<digest>). `request`: the client's head, whose Authorization and Accept go
  // along. `digest`: what a 200 may name.
  JoinCheck(HandlerServices &services, net::Endpoint registry, std::string originTarget,
            const http::RequestHead &request, std::string digest, bool manifest, Callback callback);
  ~JoinCheck();
  JoinCheck(const JoinCheck &) = delete;
  JoinCheck &operator=(const JoinCheck &) = delete;

  void start();

private:
  void head(http::AbsoluteUrl url);
  void onHead(Result<OneShotResponse> answer);
  void finish(JoinVerdict verdict);

  HandlerServices &services_;
  net::Endpoint registry_;
  std::string originTarget_;
  std::string authorization_; // the client's; for the registry alone, never for storage
  std::string accept_;
  std::string digest_;
  bool manifest_;
  Callback callback_;
  std::unique_ptr<OneShotRequest> request_;
  http::AbsoluteUrl asked_; // where the HEAD in flight went
  int redirects_ = 0;
  bool finished_ = false;
};

} // namespace regcache::proxy
