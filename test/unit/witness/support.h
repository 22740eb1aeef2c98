// test/unit/witness/support.h — what the witness tests share: one real etcd for the
// whole binary (started on first use, killed at exit), options pointing at it,
// endpoints that are dead or silent, and quiet logs (../loop_test_support.h).
//
// Tests that share the etcd use keys under their own prefix, so they do not see each
// other's data. Lifecycle: test thread only.
#pragma once

#include <doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "../loop_test_support.h"
#include "support/etcd_process.h"
#include "witness/etcd_client.h"

namespace twinmq::witness_test {

using namespace std::chrono_literals;
using test::EtcdProcess;

// Started by the first test that needs it; its destructor (at exit) kills it.
inline EtcdProcess& shared_etcd() {
  static EtcdProcess etcd;
  return etcd;
}

inline witness::EtcdEndpoint loopback(std::uint16_t port) { return witness::EtcdEndpoint{"127.0.0.1", port}; }

inline witness::EtcdOptions options_for(std::vector<std::uint16_t> ports) {
  witness::EtcdOptions o;
  for (std::uint16_t p : ports) o.endpoints.push_back(loopback(p));
  return o;
}

inline witness::EtcdOptions shared_options() { return options_for({shared_etcd().client_port()}); }

// A port nobody listens on: connecting is refused at once.
inline std::uint16_t dead_port() { return test::free_loopback_ports(1).front(); }

// Listens but never accepts or reads: the kernel completes the TCP handshake and
// buffers the request, and no answer ever comes (a hung or paused etcd).
class SilentEndpoint {
 public:
  SilentEndpoint() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~SilentEndpoint() { ::close(fd_); }
  SilentEndpoint(const SilentEndpoint&) = delete;
  SilentEndpoint& operator=(const SilentEndpoint&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

inline std::string error_text(const Error& e) {
  return std::string(witness::errc_name(static_cast<witness::EtcdErrc>(e.code))) + ": " + e.message;
}

inline long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace twinmq::witness_test
