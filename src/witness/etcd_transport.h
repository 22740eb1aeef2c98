// witness/etcd_transport.h — EtcdClient's HTTP side: one POST of a JSON request to
// etcd's v3 gateway, with the endpoint rotation, the authentication token and the
// resend rule that etcd_client.h's DESIGN describes. Internal to witness/: the public
// face is EtcdClient.
//
// libcurl is driven through a multi handle even though every call blocks: its
// curl_multi_poll() can be woken from another thread (curl_multi_wakeup), which is
// what interrupt() needs to end an exchange at once instead of after request_timeout.
// The multi handle also keeps the connection cache, so consecutive calls reuse one
// keep-alive connection to the endpoint in use.
//
// Lifecycle: owned by EtcdClient; one thread at a time, except interrupt().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "witness/etcd_client.h"

namespace twinmq::witness {

// What went wrong, before it becomes an Error. The gRPC status code (when etcd
// answered with an error) lets a caller take one refusal as success: revoking a lease
// that is gone is NotFound (5).
struct EtcdFailure {
  EtcdErrc errc = EtcdErrc::unreachable;
  std::string message;  // "host:port: what happened"
  int grpc_code = -1;   // -1: etcd did not answer with an error status
};

inline constexpr int kGrpcNotFound = 5;

// May a request that reached an endpoint but got no answer be sent to the next one?
enum class Resend {
  always,       // repeating it changes nothing (reads, keep-alive, revoke) or only wastes (grant)
  only_unsent,  // it may have been applied (txn): resend only what surely never left
};

class EtcdTransport {
 public:
  explicit EtcdTransport(EtcdOptions options);
  ~EtcdTransport();
  EtcdTransport(const EtcdTransport&) = delete;
  EtcdTransport& operator=(const EtcdTransport&) = delete;

  // POSTs `request` to `path` ("/v3/kv/range") and returns etcd's answer (for the
  // keep-alive stream: the whole {"result": ...} object).
  std::expected<nlohmann::json, EtcdFailure> post(std::string_view path, const nlohmann::json& request,
                                                  Resend resend);

  const std::string& endpoint() const { return addresses_[current_]; }
  void interrupt();

 private:
  // The outcome of one HTTP exchange (or authenticate + exchange) with the current endpoint.
  struct Attempt {
    std::expected<nlohmann::json, EtcdFailure> answer;
    bool sent = false;  // request bytes left this process: etcd may have seen them
  };

  Attempt attempt(std::string_view path, const std::string& body);
  Attempt exchange(std::string_view path, const std::string& body, bool with_token);
  std::expected<void, EtcdFailure> authenticate();
  // Runs the easy handle to completion on the multi handle; false when interrupted.
  bool perform(CURLcode& code);
  EtcdFailure transfer_failure(CURLcode code) const;
  EtcdFailure etcd_error(long http_status, const nlohmann::json& error) const;
  bool token_refused(const EtcdFailure& f) const;

  EtcdOptions options_;
  std::vector<std::string> addresses_;  // "host:port" per endpoint, for messages and endpoint()
  std::size_t current_ = 0;
  std::size_t last_good_ = SIZE_MAX;  // endpoint of the last answered call, to log a change once
  std::string token_;                 // empty: not authenticated (yet)
  bool auth_not_enabled_ = false;     // etcd said authentication is off: send no token
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  std::string answer_;                // body of the current exchange
  bool answer_too_large_ = false;
  char curl_error_[CURL_ERROR_SIZE] = {};
  std::atomic<bool> interrupted_{false};
};

}  // namespace twinmq::witness
