// tools/bench/consumer.cc — see consumer.h.
#include "tools/bench/consumer.h"

#include <charconv>

#include "base/clock.h"
#include "tools/bench/worker.h"

namespace twinmq::bench {
namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The bench's stamp and the acknowledgement ids, in one pass over the headers.
struct Stamp {
  std::string_view time, producer, seq, run;
  client::AckIds ids;
  bool have_ack = false;

  explicit Stamp(const stomp::Frame& m) {
    for (const stomp::Header& h : m.headers) {
      if (h.name.size() > 5 && h.name.starts_with("bench")) {
        if (h.name == kStampTime && time.empty()) time = h.value;
        else if (h.name == kStampProducer && producer.empty()) producer = h.value;
        else if (h.name == kStampSeq && seq.empty()) seq = h.value;
        else if (h.name == kStampRun && run.empty()) run = h.value;
      } else if (h.name == "ack" && !have_ack) {
        ids.ack = h.value, have_ack = true;
      } else if (h.name == "message-id" && ids.message_id.empty()) {
        ids.message_id = h.value;
      } else if (h.name == "subscription" && ids.subscription.empty()) {
        ids.subscription = h.value;
      }
    }
    if (!have_ack) ids.ack = ids.message_id;
  }
};

}  // namespace

Consumer::Consumer(Worker& worker, RunState& run, std::uint32_t id)
    : worker_(worker), run_(run), opt_(run.options), id_(id), conn_(worker.loop(), *this) {
  subscription_id_ = "bench-" + std::to_string(id);
  if (opt_.prefetch) prefetch_ = std::to_string(opt_.prefetch);
  if (opt_.verify) verifier_slot_ = worker.verifier().add_consumer();
}

void Consumer::open() {
  conn_.open(reinterpret_cast<const sockaddr*>(&run_.address), worker_.connect_options(), opt_.host, run_.tls.get());
}

void Consumer::on_connected(client::StompConnection&, const stomp::Frame&) {
  worker_.connection_settled();
  const stomp::Header prefetch[] = {{"activemq.prefetchSize", prefetch_}};
  std::span<const stomp::Header> extra;
  if (!prefetch_.empty()) extra = prefetch;
  awaited_receipt_ = conn_.subscribe(opt_.destination, subscription_id_, opt_.ack, extra, true);
  state_ = State::awaiting_subscribed;
}

void Consumer::on_receipt(client::StompConnection&, std::string_view id) {
  if (state_ == State::awaiting_subscribed &&
      client::StompConnection::receipt_number(id) == awaited_receipt_) {
    state_ = State::consuming;
    worker_.consumer_subscribed();
  }
}

void Consumer::on_message(client::StompConnection&, const stomp::Frame& m) {
  const std::int64_t now = mono_ns();
  const Stamp stamp(m);
  WorkerResult& r = worker_.live_result();
  std::uint64_t ts = 0, producer = 0, seq = 0;
  const bool ours = parse_u64(stamp.time, ts) && parse_u64(stamp.producer, producer) &&
                    parse_u64(stamp.seq, seq) && producer <= 0xffffffffu &&
                    (opt_.drain || stamp.run == run_.run_id);
  if (!ours) {
    ++r.stray;  // a leftover of another run, or not from a bench at all
  } else {
    ++r.delivered;
    if (r.first_delivery_ns == 0) r.first_delivery_ns = now;
    r.last_delivery_ns = now;
    if (seq >= opt_.warmup) {
      ++r.measured_delivered;
      const std::int64_t latency = now - static_cast<std::int64_t>(ts);
      r.latency.record(latency > 0 ? static_cast<std::uint64_t>(latency) : 0);
    }
    if (opt_.verify) r.verifier.record(verifier_slot_, static_cast<std::uint32_t>(producer), seq);
    const std::uint64_t n = run_.delivered.fetch_add(1) + 1;
    if (n == run_.expected.load()) worker_.all_delivered();
  }
  switch (opt_.ack) {
    case client::AckMode::auto_ack:
      break;
    case client::AckMode::client_individual:
      conn_.ack(stamp.ids);
      break;
    case client::AckMode::client:
      ack_id_.assign(stamp.ids.ack);
      ack_message_id_.assign(stamp.ids.message_id);
      ack_subscription_.assign(stamp.ids.subscription);
      if (!ack_due_) {
        ack_due_ = true;
        worker_.ack_at_turn_end(this);
      }
      break;
  }
}

void Consumer::flush_ack() {
  if (!ack_due_) return;
  ack_due_ = false;
  conn_.ack(client::AckIds{ack_id_, ack_message_id_, ack_subscription_});
}

void Consumer::finish() {
  if (state_ == State::done || state_ == State::awaiting_disconnect) return;
  if (state_ != State::consuming) {
    conn_.close();
    return;
  }
  flush_ack();
  state_ = State::awaiting_disconnect;
  conn_.disconnect(true);
}

void Consumer::on_error(client::StompConnection&, const stomp::Frame& f) {
  worker_.fail("consumer " + std::to_string(id_) + ": ERROR from the broker: " +
               std::string(f.header("message").value_or("(no message header)")));
}

void Consumer::on_closed(client::StompConnection&, const client::CloseInfo& why) {
  const bool clean = state_ == State::awaiting_disconnect && why.reason == client::CloseReason::requested;
  if (state_ == State::awaiting_connected) worker_.connection_settled();
  state_ = State::done;
  ack_due_ = false;
  if (!clean && !worker_.finishing()) {
    worker_.fail("consumer " + std::to_string(id_) + ": " +
                 std::string(client::close_reason_name(why.reason)) +
                 (why.detail.empty() ? "" : ": " + why.detail));
  }
  worker_.connection_closed();
}

}  // namespace twinmq::bench
