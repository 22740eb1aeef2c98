// test/unit/client/fake_broker.h — a scripted STOMP server for the client's unit
// tests, on its own thread and loop (the SyncClient under test blocks the test
// thread in its own loop).
//
// It answers CONNECT with CONNECTED (or ERROR, or silence), gives every frame that
// carries `receipt` a RECEIPT, delivers each SEND as a MESSAGE (message-id m-N;
// `ack:a-N` on 1.2) to one subscription of that destination (round-robin over all
// connections) or, for /topic/, to all of them (a broker small enough to run
// twinmq-bench against), answers a SEND to /queue/error with ERROR then closes,
// and records every client frame.
// A frame's RECEIPT is written after it is recorded, so once a receipted call has
// returned, frames() shows it.
//
// Lifecycle: constructed and destroyed on the test thread; the destructor stops
// the server thread (via AsyncQueue) and joins it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "twinmq/client.h"

namespace twinmq::test {

struct FakeBehaviour {
  std::string version = "1.2";     // CONNECTED `version`; empty = no header (a 1.0 server)
  std::string heart_beat{};          // CONNECTED `heart-beat`; empty = none
  std::uint32_t beat_every_ms = 0; // the server writes an EOL this often
  bool answer_connect = true;      // false: CONNECT gets no answer at all
  std::string connect_error{};       // non-empty: ERROR with this message instead of CONNECTED
  bool garbage_after_connect = false;  // CONNECTED, then bytes that are not STOMP
  bool pause_reading_after_connect = false;  // CONNECTED, then stop reading (back-pressure)
  bool answer_subscribe = true;    // false: SUBSCRIBE gets no RECEIPT
  bool answer_send = true;         // false: SEND gets no RECEIPT (it stays in flight)
  bool answer_disconnect = true;   // false: DISCONNECT gets no RECEIPT and no close
  bool fence_on_send = false;      // a SEND gets ERROR "not serving" and a close (a fenced broker)
};

struct RecordedFrame {
  stomp::Command command;
  client::Headers headers;
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const {
    return client::find_header(headers, name);
  }
};

class FakeBroker {
 public:
  explicit FakeBroker(FakeBehaviour behaviour = {});
  ~FakeBroker();
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<RecordedFrame> frames() const;
  // The client frames with this command, in arrival order.
  std::vector<RecordedFrame> frames(stomp::Command command) const;
  std::size_t heart_beats_received() const { return beats_.load(); }
  std::size_t connections_accepted() const { return accepted_.load(); }
  // Tells the server thread to resume reading every paused connection.
  void resume_reading();

  // Server thread: called by its connections.
  void record(RecordedFrame f);
  void count_beat() { beats_.fetch_add(1); }

 private:
  struct Impl;

  FakeBehaviour behaviour_;
  Impl* impl_ptr_ = nullptr;  // lives on the server thread until it stops
  std::thread thread_;
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<RecordedFrame> frames_;
  std::atomic<std::size_t> beats_{0};
  std::atomic<std::size_t> accepted_{0};
};

// A loopback port with nothing listening on it (bound, then closed).
std::uint16_t closed_port();

}  // namespace twinmq::test
