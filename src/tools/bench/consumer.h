// tools/bench/consumer.h — one consumer connection of a bench run.
//
// Subscribes (with a receipt, so the run starts only once it is active), then for
// every MESSAGE: reads the bench stamp in one pass over the headers, records the
// end-to-end latency and the verifier entry, counts it towards the run's
// completion, and acknowledges per --ack (client-individual: each message;
// client: cumulatively, once per loop turn, through the worker's turn hook).
//
//   awaiting_connected ─► awaiting_subscribed ─► consuming ─► awaiting_disconnect ─► done
//
// Lifecycle: owned by its Worker; loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "client/connection.h"
#include "tools/bench/run_state.h"

namespace twinmq::bench {

class Worker;

class Consumer final : public client::StompListener {
 public:
  enum class State { awaiting_connected, awaiting_subscribed, consuming, awaiting_disconnect, done };

  Consumer(Worker& worker, RunState& run, std::uint32_t id);

  void open();
  // Client mode: the cumulative ACK of the last message received, if one is due.
  void flush_ack();
  // Acknowledges what is due, then DISCONNECT with a receipt.
  void finish();
  void close() { conn_.close(); }
  State state() const { return state_; }

 private:
  void on_connected(client::StompConnection& c, const stomp::Frame& f) override;
  void on_message(client::StompConnection& c, const stomp::Frame& m) override;
  void on_receipt(client::StompConnection& c, std::string_view id) override;
  void on_error(client::StompConnection& c, const stomp::Frame& f) override;
  void on_closed(client::StompConnection& c, const client::CloseInfo& why) override;

  Worker& worker_;
  RunState& run_;
  const BenchOptions& opt_;
  std::uint32_t id_;
  client::StompConnection conn_;
  State state_ = State::awaiting_connected;
  std::size_t verifier_slot_ = 0;
  std::uint64_t awaited_receipt_ = 0;
  std::string subscription_id_;
  std::string prefetch_;
  // Client mode: the last message not yet acknowledged (buffers reused).
  std::string ack_id_, ack_message_id_, ack_subscription_;
  bool ack_due_ = false;
};

}  // namespace twinmq::bench
