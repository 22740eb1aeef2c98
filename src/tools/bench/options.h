// tools/bench/options.h — twinmq-bench's command line: what one run does.
//
// parse_options() is pure (no I/O) so the unit tests can feed it argument lists;
// every error names the offending option, and main() exits 2 with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "twinmq/client.h"

namespace twinmq::bench {

enum class Errc { ok = 0, bad_usage };

struct BenchOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 61613;
  std::string destination = "/queue/bench";
  std::string login;
  std::string passcode;
  std::string vhost;                    // `host` header; empty = --host
  std::string tls_ca;                   // set: speak TLS (stomp+ssl://), checking the broker against this CA file
  std::string tls_cert, tls_key;        // client certificate and key (needClientAuth)
  std::uint32_t producers = 1;
  std::uint32_t consumers = 1;
  std::uint32_t size = 1024;            // body bytes
  std::uint64_t count = 100000;         // per producer (drain: in total)
  double duration_s = 0;                // > 0: send for this long instead of --count
  bool persistent = false;
  std::uint32_t receipt_every = 0;      // 0 = never; K = window of K, wait for the Kth
  client::AckMode ack = client::AckMode::auto_ack;
  std::uint32_t tx = 0;                 // 0 = none; K = BEGIN, K SENDs, COMMIT (receipted)
  bool duplicate_ids = false;           // every SEND carries a unique _AMQ_DUPL_ID
  double rate = 0;                      // aggregate msgs/s, 0 = as fast as possible
  std::uint32_t prefetch = 0;           // 0 = do not send activemq.prefetchSize
  std::uint32_t idle_connections = 0;   // > 0: idle-connection mode
  double hold_s = -1;                   // idle mode: seconds to hold (< 0 = until a signal)
  bool verify = false;
  std::uint64_t warmup = 0;             // per producer, excluded from latency and rate
  std::string json_file;
  bool drain = false;                   // consumers only
  bool fill = false;                    // producers only
  std::uint32_t threads = 0;            // 0 = automatic (see runner.h)
  std::uint32_t drain_timeout_ms = 5000;// give up this long after deliveries stop
  std::uint32_t connect_timeout_ms = 5000;
  std::string name;                     // scenario label; empty = derived
  double interval_s = 0;                // > 0: a progress line this often
  bool help = false;

  bool topic() const { return destination.rfind("/topic/", 0) == 0; }
  bool idle_mode() const { return idle_connections > 0; }
};

Result<BenchOptions> parse_options(const std::vector<std::string>& args);

// The --help text.
std::string usage();

// The scenario as one line (printed first, NATS-bench style) and its short name.
std::string describe(const BenchOptions& o);
std::string scenario_name(const BenchOptions& o);

}  // namespace twinmq::bench
