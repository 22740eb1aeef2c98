// tools/bench/producer.cc — see producer.h.
#include "tools/bench/producer.h"

#include <algorithm>
#include <charconv>

#include "base/clock.h"
#include "tools/bench/worker.h"

namespace twinmq::bench {
namespace {

// A producer fills at most this much per loop turn: big writes, bounded memory.
constexpr std::size_t kHighWatermark = 256u << 10;

struct Decimal {
  char buf[24];
  std::size_t len;
  explicit Decimal(std::uint64_t v) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;  // 20 digits always fit
    len = static_cast<std::size_t>(end - buf);
  }
  std::string_view view() const { return {buf, len}; }
};

}  // namespace

Producer::Producer(Worker& worker, RunState& run, std::uint32_t id)
    : worker_(worker), run_(run), opt_(run.options), id_(id), conn_(worker.loop(), *this) {
  // Big batches per write, but bounded: a producer stops filling at 256 KiB queued.
  conn_.set_watermarks({.high = kHighWatermark, .low = kHighWatermark / 4});
}

void Producer::open() {
  conn_.open(reinterpret_cast<const sockaddr*>(&run_.address), worker_.connect_options(), opt_.host, run_.tls.get());
}

void Producer::start() {
  if (state_ != State::awaiting_start) return;
  state_ = State::sending;
  if (opt_.duration_s > 0) {
    deadline_ns_ = run_.t0_ns + static_cast<std::int64_t>(opt_.duration_s * 1e9);
  }
}

bool Producer::out_of_work(std::int64_t now_ns) const {
  if (run_.stop_sending.load(std::memory_order_relaxed)) return true;
  if (deadline_ns_) return now_ns >= deadline_ns_;
  return next_seq_ >= opt_.count;
}

bool Producer::wrapped_up_if_done(std::int64_t now_ns) {
  if (state_ != State::sending || !out_of_work(now_ns)) return false;
  wrap_up();
  return true;
}

void Producer::pump() {
  // One allocation for the whole batch instead of growth by doubling, should the
  // connection have given its buffer back since the last one.
  if (can_send()) conn_.reserve_output(kHighWatermark + run_.body.size() + 512);
  while (can_send()) {
    const std::int64_t now = mono_ns();
    if (out_of_work(now)) {
      wrap_up();
      return;
    }
    send_one(now);
  }
  if (state_ == State::sending) worker_.park(this);  // socket full
}

void Producer::send_one(std::int64_t stamp_ns) {
  if (state_ != State::sending) return;
  const std::uint64_t seq = next_seq_;
  const bool last = deadline_ns_ == 0 && seq + 1 >= opt_.count;
  if (opt_.tx && in_tx_ == 0) {
    tx_name_.assign("bench-");
    tx_name_.append(Decimal(id_).view());
    tx_name_ += '-';
    tx_name_.append(Decimal(tx_number_++).view());
    conn_.begin(tx_name_);
  }
  const Decimal ts(static_cast<std::uint64_t>(stamp_ns)), pid(id_), sq(seq);
  if (opt_.duplicate_ids) {
    // "<run>-<producer>:<seq>": unique per message of the run (the buffer is reused).
    duplicate_id_.assign(run_.run_id);
    duplicate_id_ += '-';
    duplicate_id_.append(pid.view());
    duplicate_id_ += ':';
    duplicate_id_.append(sq.view());
  }
  const stomp::Header stamp[] = {{kStampTime, ts.view()},
                                 {kStampProducer, pid.view()},
                                 {kStampSeq, sq.view()},
                                 {kStampRun, run_.run_id},
                                 {client::kDuplicateIdHeader, duplicate_id_}};
  const bool receipt =
      !opt_.tx && opt_.receipt_every && ((seq + 1) % opt_.receipt_every == 0 || last);
  const std::uint64_t n = conn_.send(client::SendFrame{
      .destination = opt_.destination,
      .body = run_.body,
      .persistent = opt_.persistent,
      .receipt = receipt,
      .transaction = opt_.tx ? std::string_view(tx_name_) : std::string_view(),
      .headers = std::span<const stomp::Header>(stamp, opt_.duplicate_ids ? 5 : 4),
  });
  ++next_seq_;
  run_.sent.fetch_add(1, std::memory_order_relaxed);
  if (seq == opt_.warmup) first_measured_ns_ = stamp_ns;
  // The receipt's latency counts from this SEND's stamp (with --rate, its intended
  // time), like the delivery latency, and only after the warm-up.
  const std::int64_t asked_ns = seq >= opt_.warmup ? stamp_ns : 0;
  if (opt_.tx && (++in_tx_ == opt_.tx || last)) {
    in_tx_ = 0;
    awaited_receipt_ = conn_.commit(tx_name_, true);
    receipt_asked_ns_ = asked_ns;
    state_ = State::awaiting_receipt;
  } else if (receipt) {
    awaited_receipt_ = n;
    receipt_asked_ns_ = asked_ns;
    state_ = State::awaiting_receipt;
  }
  if (last && state_ == State::sending) finish();
}

void Producer::wrap_up() {
  wrapping_up_ = true;
  if (state_ != State::sending) return;  // awaiting a receipt: finishes when it comes
  if (in_tx_ > 0) {
    in_tx_ = 0;
    awaited_receipt_ = conn_.commit(tx_name_, true);
    state_ = State::awaiting_receipt;
    return;
  }
  finish();
}

void Producer::finish() {
  state_ = State::awaiting_disconnect;
  conn_.disconnect(true);
}

void Producer::on_connected(client::StompConnection&, const stomp::Frame&) {
  state_ = State::awaiting_start;
  worker_.connection_settled();
  worker_.producer_connected();
}

void Producer::on_receipt(client::StompConnection&, std::string_view id) {
  if (state_ != State::awaiting_receipt) return;
  if (client::StompConnection::receipt_number(id) != awaited_receipt_) return;
  state_ = State::sending;
  if (receipt_asked_ns_ != 0) {
    const std::int64_t took = mono_ns() - receipt_asked_ns_;
    worker_.live_result().receipt_latency.record(took > 0 ? static_cast<std::uint64_t>(took) : 0);
  }
  if (wrapping_up_ || (deadline_ns_ == 0 && next_seq_ >= opt_.count) || out_of_work(mono_ns())) {
    finish();
    return;
  }
  worker_.wake();
}

void Producer::on_error(client::StompConnection&, const stomp::Frame& f) {
  worker_.fail("producer " + std::to_string(id_) + ": ERROR from the broker: " +
               std::string(f.header("message").value_or("(no message header)")));
}

void Producer::on_writable(client::StompConnection&) {
  if (state_ == State::sending) worker_.wake();
}

void Producer::on_closed(client::StompConnection&, const client::CloseInfo& why) {
  const bool clean = state_ == State::awaiting_disconnect && why.reason == client::CloseReason::requested;
  if (state_ == State::awaiting_connected) worker_.connection_settled();
  state_ = State::done;
  end_ns_ = mono_ns();
  if (!clean && !worker_.finishing()) {
    worker_.fail("producer " + std::to_string(id_) + ": " +
                 std::string(client::close_reason_name(why.reason)) +
                 (why.detail.empty() ? "" : ": " + why.detail));
  }
  worker_.producer_finished();
  worker_.connection_closed();
}

}  // namespace twinmq::bench
