// witness/errors.h — the etcd client's error codes (base/result.h: an Error carries one
// of these plus a sentence naming the endpoint and what happened, e.g.
// "127.0.0.1:2379: connection refused" or
// "127.0.0.1:2379: etcd says: authentication failed, invalid user ID or password").
//
// The split is what the caller does next: `unreachable` means try again later (another
// endpoint, the next tick); `refused` means etcd answered and said no, so the same
// request will fail the same way until someone changes the configuration or etcd's
// users; `bad_response` is a bug or a version mismatch on one side.
#pragma once

#include <string_view>

namespace twinmq::witness {

// Starts at 1 so a default-constructed Error (code 0) is never mistaken for one of these.
enum class EtcdErrc {
  unreachable = 1,  // no answer: connect failed or timed out, HTTP 5xx/429, or etcd has no leader; try again
  refused,          // etcd answered with an error: authentication failed, permission denied, bad request
  bad_response,     // the answer is not the JSON the v3 gateway sends
  bad_uri,          // parse_etcd_uri: the etcd:// URI (or the endpoint list) is malformed
};

constexpr std::string_view errc_name(EtcdErrc e) {
  switch (e) {
    case EtcdErrc::unreachable: return "etcd unreachable";
    case EtcdErrc::refused: return "refused by etcd";
    case EtcdErrc::bad_response: return "bad response from etcd";
    case EtcdErrc::bad_uri: return "bad etcd URI";
  }
  return "unknown";
}

}  // namespace twinmq::witness
