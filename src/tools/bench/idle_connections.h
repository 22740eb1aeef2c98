// tools/bench/idle_connections.h — N connections that CONNECT and then do nothing,
// to measure what an idle connection costs the broker (--idle-connections).
//
// One listener serves all N (StompListener passes the connection), so the bench's
// own cost per idle connection is the StompConnection and its socket. Without
// heart-beats a connected StompConnection holds no timer.
//
// Lifecycle: owned by its Worker; loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/connection.h"
#include "tools/bench/run_state.h"

namespace twinmq::bench {

class Worker;

class IdleConnections final : public client::StompListener {
 public:
  IdleConnections(Worker& worker, RunState& run, std::uint32_t n);

  std::size_t size() const { return conns_.size(); }
  void open(std::size_t i);
  void close_all();

 private:
  void on_connected(client::StompConnection& c, const stomp::Frame& f) override;
  void on_message(client::StompConnection&, const stomp::Frame&) override {}
  void on_closed(client::StompConnection& c, const client::CloseInfo& why) override;
  void settled();

  Worker& worker_;
  RunState& run_;
  std::vector<std::unique_ptr<client::StompConnection>> conns_;
  std::uint32_t connected_ = 0;
  std::uint32_t failed_ = 0;
  std::string first_failure_;
};

}  // namespace twinmq::bench
