// test/support/broker_process.h — one real build/twinmq process under test.
//
// A BrokerProcess writes its configuration into a private TempDir, starts the broker
// (fork + exec; the child gets PR_SET_PDEATHSIG so it dies with the test binary even
// if the test crashes), collects stdout and stderr on a reader thread, and blocks
// until the broker prints `twinmq: listening <connector> <ip>:<port>` for every
// connector it was configured with: the port is always 0 in the config, so tests
// never collide on ports and never poll for readiness.
//
// Lifecycle: owned by one test case. The destructor SIGKILLs the broker if it still
// runs and reaps it, so no broker outlives its test. Methods are called from the test
// thread; the reader thread only appends to the captured output under a mutex.
//
// Finding the binary: $TWINMQ_BUILD/twinmq (test/run_all sets TWINMQ_BUILD), else the
// build directory this test binary was built in.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.h"

namespace twinmq::test {

using Ms = std::chrono::milliseconds;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Path of the twinmq executable under test.
std::filesystem::path twinmq_binary();
// Path of another executable of the same build (e.g. "twinmq-admin").
std::filesystem::path build_binary(std::string_view name);

// What goes into the broker.xml of a test broker. Every field has a test-friendly
// default (short connect timeout, non-persistent, loopback, port 0).
struct BrokerConfig {
  std::string broker_name = "itest";
  bool persistent = false;
  std::string host = "127.0.0.1";
  std::string port = "0";
  // The stomp connector's scheme: "stomp+ssl" for TLS (then extra_xml holds an <sslContext>).
  std::string scheme = "stomp";
  // Query options of the stomp:// URI, in order (set() replaces an existing one).
  KeyValues stomp_options = {{"transport.connectAttemptTimeout", "2000"},
                             {"transport.heartBeat", "300"}};
  // Attributes of <policyEntry queue=">"/>; no policy element when empty.
  KeyValues queue_policy;
  // Attributes of <policyEntry topic=">"/>; none when empty.
  KeyValues topic_policy;
  // simpleAuthenticationPlugin users; no plugin when empty. Written as-is (the test
  // escapes XML itself if it needs to).
  KeyValues users;
  // Raw XML placed inside <broker> as written (e.g. a <systemUsage> element).
  std::string extra_xml;
  // <managementContext uri="http://127.0.0.1:0"/>: the admin endpoint on a port the OS
  // picks (port("admin") once wait_listening("admin", ...) saw its line).
  bool admin = false;
  // Another uri for it (e.g. "https://10.213.0.1:0"); implies admin.
  std::string admin_uri;
  // Not in the XML: run the broker in this network namespace ("/proc/PID/ns/net",
  // support/net_namespace.h); "" = the test's own.
  std::string net_namespace;
  // groups="..." of the users named here (user, groups).
  KeyValues user_groups;
  // Attributes of <simpleAuthenticationPlugin> (e.g. anonymousAccessAllowed).
  KeyValues auth_attributes;
  // More elements inside <plugins>, written as-is (e.g. an <authorizationPlugin>).
  std::string plugins_xml;

  BrokerConfig& set(std::string name, std::string value);  // stomp option
  BrokerConfig& queue(std::string name, std::string value);
  BrokerConfig& topic(std::string name, std::string value);
  BrokerConfig& user(std::string name, std::string password);

  std::string uri() const;
  std::string to_xml(const std::filesystem::path& data_dir) const;
};

struct ExitResult {
  int code = -1;          // exit status, or 128 + signal number when killed by a signal
  bool signaled = false;
  std::string describe() const;
};

class BrokerProcess {
 public:
  // Writes `config` to <tmp>/broker.xml, runs `twinmq --config <file> extra_args...`
  // and waits (bounded by ready_timeout) for the listening line of the "stomp"
  // connector. Throws std::runtime_error (with the broker's output) when it does not
  // come.
  // `env` is added to (or replaces in) the test's environment for the broker only.
  explicit BrokerProcess(const BrokerConfig& config = {}, std::vector<std::string> extra_args = {},
                         Ms ready_timeout = Ms(10'000), const KeyValues& env = {});

  // Runs twinmq with exactly `args` (CLI tests) in a fresh TempDir; waits for nothing.
  static std::unique_ptr<BrokerProcess> spawn(std::vector<std::string> args, const KeyValues& env = {});
  // The same for another executable of the build (build_binary(tool)), e.g. twinmq-admin.
  // `net_namespace`: as BrokerConfig's.
  static std::unique_ptr<BrokerProcess> spawn_tool(std::string_view tool, std::vector<std::string> args,
                                                   const KeyValues& env = {}, const std::string& net_namespace = {});

  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  pid_t pid() const { return pid_; }
  const TempDir& dir() const { return *dir_; }
  const std::filesystem::path& config_file() const { return config_file_; }

  // Port of a connector from its listening line (throws if it never printed one).
  std::uint16_t port(std::string_view connector = "stomp") const;

  std::string stdout_text() const;
  std::string log_text() const;  // stderr: the broker's log
  // The last `bytes` of the log, for failure messages.
  std::string log_tail(std::size_t bytes = 4000) const;

  // Blocks until `needle` appears in stdout (or stderr with in_log), bounded.
  bool wait_for_output(std::string_view needle, Ms timeout, bool in_log = false);
  // Blocks until `needle` has appeared `count` times in all (a second IN SYNC, ...).
  bool wait_for_count(std::string_view needle, std::size_t count, Ms timeout, bool in_log = false);
  // Blocks until the broker's stdout and stderr are both closed (it exited), bounded.
  bool wait_output_eof(Ms timeout);
  // Blocks until a listening line for `connector` was printed; false on timeout or exit.
  bool wait_listening(std::string_view connector, Ms timeout);

  void kill(int sig);
  // Blocks until the process exits (bounded); nullopt when it is still running.
  std::optional<ExitResult> wait_exit(Ms timeout);
  bool running();

 private:
  explicit BrokerProcess(std::unique_ptr<TempDir> dir);
  void start(const std::vector<std::string>& args, const KeyValues& env = {}, const std::string& net_namespace = {});
  void read_output();  // reader thread body
  void reap_if_exited(bool block);

  std::unique_ptr<TempDir> dir_;
  std::filesystem::path binary_;  // empty = twinmq_binary()
  std::filesystem::path config_file_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<ExitResult> exit_;
  int out_fd_ = -1;
  int err_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  std::size_t out_lines_done_ = 0;  // out_ bytes already scanned for listening lines
  std::string err_;
  bool out_eof_ = false;
  bool err_eof_ = false;
  bool stop_reader_ = false;
  std::map<std::string, std::uint16_t, std::less<>> ports_;
  std::thread reader_;
};

// Resident set size of a process in KiB (VmRSS from /proc/<pid>/status); 0 if unknown.
std::size_t rss_kib(pid_t pid);

}  // namespace twinmq::test
