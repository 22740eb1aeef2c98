// tools/bench/producer.h — one producer connection of a bench run.
//
// A producer sends stamped messages (time, producer id, sequence, run id) when its
// worker tells it to: flat out, pump() sends until the socket is full or a window
// closes; at a fixed rate the worker's pacer calls send_one() with the intended
// send time. Windows: --receipt-every K asks a RECEIPT on every Kth SEND and waits
// for it; --tx K wraps K SENDs in BEGIN/COMMIT and waits for the COMMIT's RECEIPT.
// --dupl-id gives every SEND a unique _AMQ_DUPL_ID (duplicate detection's cost).
// When it has sent everything (or is told to stop) it DISCONNECTs with a receipt,
// so its end time means "the broker has processed all of it".
//
//   awaiting_connected ─► awaiting_start ─► sending ◄─► awaiting_receipt
//                                              └──────────────► awaiting_disconnect ─► done
//
// Lifecycle: owned by its Worker; loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "client/connection.h"
#include "tools/bench/run_state.h"

namespace twinmq::bench {

class Worker;

class Producer final : public client::StompListener {
 public:
  enum class State {
    awaiting_connected,
    awaiting_start,       // connected; the run has not started
    sending,
    awaiting_receipt,     // window full: the RECEIPT of the last SEND / COMMIT
    awaiting_disconnect,  // DISCONNECT sent
    done,                 // terminal
  };

  Producer(Worker& worker, RunState& run, std::uint32_t id);

  void open();
  void start();
  // Flat out: sends until the socket is above its high watermark, a window closes,
  // or the producer is finished.
  void pump();
  // One message stamped `stamp_ns` (the intended send time at a fixed rate).
  void send_one(std::int64_t stamp_ns);
  // Wraps up now (SIGINT, --duration over, or the run aborted).
  void wrap_up();
  // Fixed rate: wraps up if the count, the duration or a SIGINT says so.
  bool wrapped_up_if_done(std::int64_t now_ns);
  void close() { conn_.close(); }

  bool can_send() const { return state_ == State::sending && conn_.writable(); }
  bool sending() const { return state_ == State::sending; }
  State state() const { return state_; }
  std::uint32_t id() const { return id_; }
  std::uint64_t sent() const { return next_seq_; }
  std::int64_t first_measured_ns() const { return first_measured_ns_; }
  std::int64_t end_ns() const { return end_ns_; }

 private:
  void on_connected(client::StompConnection& c, const stomp::Frame& f) override;
  void on_message(client::StompConnection&, const stomp::Frame&) override {}
  void on_receipt(client::StompConnection& c, std::string_view id) override;
  void on_error(client::StompConnection& c, const stomp::Frame& f) override;
  void on_writable(client::StompConnection& c) override;
  void on_closed(client::StompConnection& c, const client::CloseInfo& why) override;

  bool out_of_work(std::int64_t now_ns) const;
  void finish();

  Worker& worker_;
  RunState& run_;
  const BenchOptions& opt_;
  std::uint32_t id_;
  client::StompConnection conn_;
  State state_ = State::awaiting_connected;
  std::uint64_t next_seq_ = 0;
  std::uint64_t awaited_receipt_ = 0;
  std::int64_t receipt_asked_ns_ = 0;  // stamp of the SEND the awaited receipt answers; 0 = warm-up
  std::uint32_t in_tx_ = 0;        // SENDs in the open transaction
  std::uint64_t tx_number_ = 0;
  std::string tx_name_;            // reused: no allocation per transaction once warm
  std::string duplicate_id_;       // --dupl-id: this SEND's _AMQ_DUPL_ID (reused)
  std::int64_t deadline_ns_ = 0;   // --duration end, 0 = by count
  std::int64_t first_measured_ns_ = 0;
  std::int64_t end_ns_ = 0;
  bool wrapping_up_ = false;
};

}  // namespace twinmq::bench
