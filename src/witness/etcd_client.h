// witness/etcd_client.h — a blocking etcd v3 client for the pair's witness
// (ARCHITECTURE.md "Roles and the witness"): lease grant / keep-alive / revoke, a
// linearizable get, and transactions, spoken to etcd's v3 JSON gateway (HTTP POST to
// /v3/..., keys and values base64) with libcurl and nlohmann-json.
//
// DESIGN
//  - Who calls it: EtcdWorker (witness/etcd_worker.h) owns one EtcdClient per lane
//    and runs the role logic's jobs on it, off the loop thread. Nothing here touches
//    libuv; every call blocks, bounded by the timeouts below.
//  - Endpoints are tried in turn. A call starts at the endpoint in use (endpoint());
//    when that one is unreachable the call moves on to the next, trying each endpoint
//    at most once, and the next call starts wherever the last one ended. `refused` and
//    `bad_response` end the call at once: another member would say the same.
//  - Time bound: every HTTP exchange is limited to connect_timeout for the TCP connect
//    and request_timeout for the whole exchange. A call makes at most one exchange per
//    endpoint, plus (with a user) an authenticate exchange before it and one more
//    authenticate + retry when etcd refuses the token. So a call returns within
//    endpoints × request_timeout when no endpoint answers (up to twice that with a
//    user: a slow authenticate, then a slow request), and at once when they refuse
//    connections. After a leader dies, a follower that has not noticed yet holds a
//    write until etcd's own timeout, so expect one request_timeout there.
//  - The one tricky thing: resending a request that etcd may already have applied.
//    A request that was never sent (connect refused or timed out; libcurl's
//    CURLINFO_REQUEST_SIZE is 0) is always resent to the next endpoint. One that was
//    sent and got no answer (timeout, HTTP 5xx such as "request timed out") may have
//    been committed: get, keepalive, revoke and grant are resent anyway (repeating
//    them changes nothing, except that a resent grant may leave an unused lease that
//    expires after its TTL), but txn() is not: it returns `unreachable` with
//    "(the transaction may have been applied)" in the message, and the caller decides,
//    typically by reading the key back. The endpoint still moves on for the next call.
//  - Auth: with a user, the client POSTs /v3/auth/authenticate once and sends the
//    token in the Authorization header; when etcd refuses the token (expired, or the
//    auth store changed) it authenticates again once and repeats the request.
//  - int64 fields travel as JSON strings both ways (proto3 JSON: lease ids exceed
//    2^53); zero-valued fields are absent from etcd's answers and read as 0.
//
// COMPATIBILITY NOTES: tested against etcd 3.4 (Debian bookworm's etcd-server), whose
// gateway lives at /v3/ (3.3 used /v3beta/) and answers with the proto field names
// (create_revision, mod_revision). The keep-alive endpoint is a gRPC stream behind the
// gateway: its one answer arrives wrapped as {"result": {...}} or {"error": {...}}.
//
// Lifecycle: owned by one thread at a time (it owns a CURL easy and multi handle);
// only interrupt() may be called from another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "witness/errors.h"

namespace twinmq::witness {

struct EtcdEndpoint {
  std::string host;  // IPv4 address or host name
  std::uint16_t port = 2379;
};

struct EtcdOptions {
  std::vector<EtcdEndpoint> endpoints;  // tried in turn; a failing one moves to the next
  // Empty user: no authentication. Otherwise POST /v3/auth/authenticate, the token in
  // the Authorization header, authenticate again once when the token is refused.
  std::string user, password;
  // etcds:// (or https://): TLS, checked against trusted_cas; certificate/private_key
  // for etcd's --client-cert-auth (both empty = none). PEM files (the broker's <sslContext>).
  bool tls = false;
  std::string trusted_cas, certificate, private_key;
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds request_timeout{1000};  // one whole HTTP exchange, connect included
};

// Parses "etcd://h1:2379,h2:2379,h3" (port 2379 when absent; IPv4 addresses or host
// names); "etcds://" (or "https://") the same with tls set. Refuses anything else with
// a message naming the bad part (EtcdErrc::bad_uri). Timeouts, credentials and the TLS
// files keep their defaults: they are not part of the URI.
Result<EtcdOptions> parse_etcd_uri(std::string_view uri);

// "host:port", as endpoint() and the error messages write it.
std::string endpoint_address(const EtcdEndpoint& e);

struct KeyValue {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
  bool operator==(const KeyValue&) const = default;
};

struct LeaseGrant {
  std::int64_t id = 0;
  std::int64_t ttl_s = 0;  // as granted: etcd raises a TTL below its minimum (see test/support/etcd_process.h)
};

// One condition of a transaction: `target` of `key` compared with `number` (or with
// `value` for Target::value). A missing key has version, create and mod revision 0.
struct Compare {
  enum class Target { version, create, mod, value, lease };
  enum class Op { equal, greater, less, not_equal };
  std::string key;
  Target target = Target::version;
  Op op = Op::equal;
  std::int64_t number = 0;
  std::string value;  // only for Target::value
};

struct TxnOp {
  enum class Kind { put, del, get };
  Kind kind = Kind::get;
  std::string key;
  std::string value;       // put only
  std::int64_t lease = 0;  // put only; 0 = no lease
  static TxnOp put(std::string k, std::string v, std::int64_t lease = 0);
  static TxnOp del(std::string k);
  static TxnOp get(std::string k);
};

struct TxnResult {
  bool succeeded = false;     // the compares held and the success branch ran
  std::int64_t revision = 0;  // the store's revision after the transaction
  // One per get op of the branch taken, in order; nullopt where the key is absent.
  std::vector<std::optional<KeyValue>> gets;
};

class EtcdTransport;

class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions o);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  Result<LeaseGrant> grant(std::int64_t ttl_s);
  // Remaining TTL in seconds; 0 = the lease no longer exists (expired or revoked).
  Result<std::int64_t> keepalive(std::int64_t lease_id);
  // Revoking a lease that does not exist (any more) is success.
  Result<void> revoke(std::int64_t lease_id);
  // Linearizable read of one key; nullopt when it is absent.
  Result<std::optional<KeyValue>> get(const std::string& key);
  // All compares hold → `success` runs, else `failure`; atomically, in one revision.
  Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure);

  // "host:port" currently in use (for log lines).
  const std::string& endpoint() const;

  // Any thread. Makes the exchange in progress (if any) and every later call fail at
  // once with `unreachable` ("interrupted"), so a worker thread blocked in a call can be
  // joined without waiting for the timeouts. There is no way back: used at shutdown.
  void interrupt();

 private:
  std::unique_ptr<EtcdTransport> transport_;
};

}  // namespace twinmq::witness
