// app/runtime.h — owns everything a running broker is made of, and the order in
// which it starts and stops.
//
// Start-up: loop → journal (lock the data directory, load identity) → broker → replay
// the journal into it → STOMP connectors (listening) → signals, timers → run.
// Shut-down mirrors it: stop accepting and stop reading → wait (bounded) until every
// held receipt is released (journal durable) → flush and close sessions → close the
// journal (last batch written, writer joined) → close timers and signals → run the
// loop until every handle is closed → close the loop.
//
// Lifecycle: one per process, created by main() on its stack. Loop thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "config/config.h"
#include "net/loop.h"
#include "net/posix_signal.h"
#include "net/timer.h"
#include "stomp/server.h"
#include "store/journal.h"

namespace twinmq::app {

class Runtime {
 public:
  explicit Runtime(config::Config config);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts, runs until a signal asks to stop, stops. Returns the process exit code.
  int run();

 private:
  bool start();
  bool open_store(broker::BrokerOptions& options);
  void begin_shutdown(const char* reason);
  void finish_shutdown();

  config::Config config_;
  net::Loop loop_;
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<broker::Broker> broker_;
  std::vector<std::unique_ptr<stomp::StompServer>> servers_;
  net::HandlePtr<net::Signal> sigint_;
  net::HandlePtr<net::Signal> sigterm_;
  net::HandlePtr<net::Timer> tick_;
  net::HandlePtr<net::Timer> drain_;
  std::int64_t drain_deadline_ms_ = 0;
  int exit_code_ = 0;
  bool stopping_ = false;
};

// ServerOptions for one STOMP connector of the configuration.
stomp::ServerOptions server_options(const config::Config& config, const config::TransportConnector& c);

}  // namespace twinmq::app
