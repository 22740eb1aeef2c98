// test/support/net_namespace.h — a network namespace of the test's own, with one
// non-loopback address in it, for tests that need a server on an address outside
// 127.0.0.0/8 without sending a packet off this machine (the admin endpoint beyond
// loopback, integration area 35).
//
// How: `unshare --net` (util-linux) runs a shell in a new namespace that brings `lo` up,
// adds an interface (`dummy`; where the kernel has no dummy driver, one end of a veth
// pair whose other end stays in the namespace too) with the address, prints a
// readiness line and then holds the namespace open with `cat` on a pipe from us.
// Processes join it by path (/proc/PID/ns/net): BrokerProcess sets BrokerConfig's or
// spawn_tool's net_namespace and calls setns() in the child before exec, and
// run_in() runs a command under `nsenter --net=PATH`. Nothing in the namespace can
// reach anything outside it, nor the other way round.
//
// Creating one needs root (CAP_SYS_ADMIN): NetNamespace::available() says whether it
// can be done here, and why not.
//
// Lifecycle: owned by one test; the destructor kills the holder by pid and reaps it
// (the namespace goes with its last process). Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace twinmq::test {

class NetNamespace {
 public:
  // Why a namespace cannot be made here ("" when it can): not root, no unshare or ip.
  static std::string unavailable_reason();

  // Creates the namespace with `address`/24 on its interface. Throws
  // std::runtime_error (with the shell's output) when that fails.
  explicit NetNamespace(std::string address = "10.213.0.1");
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& address() const { return address_; }
  // "/proc/<pid>/ns/net": what BrokerProcess and nsenter join.
  const std::string& path() const { return path_; }

  // Runs `args` inside the namespace (nsenter), bounded like run_program; returns its
  // exit code, with stdout+stderr in `output`.
  int run_in(const std::vector<std::string>& args, std::string& output) const;

 private:
  std::string address_;
  std::string path_;
  pid_t holder_ = -1;
  int holder_stdin_ = -1;
};

}  // namespace twinmq::test
