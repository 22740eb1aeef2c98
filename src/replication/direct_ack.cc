#include "replication/direct_ack.h"

#include <utility>

namespace twinmq::replication {

void DirectAck::start(store::Journal& journal, std::shared_ptr<net::SideWriter> side, Seq floor, Seq acked) {
  stop();
  side_ = std::move(side);
  floor_ = floor;
  sent_.store(acked.value, std::memory_order_release);
  journal_ = &journal;
  journal.set_durable_listener(this);
}

void DirectAck::stop() {
  if (journal_ == nullptr) return;
  journal_->remove_durable_listener(this);
  journal_ = nullptr;
  side_.reset();
}

void DirectAck::durable(Seq cover) noexcept {
  out_whole_ = false;
  if (cover < floor_) return;
  // A group that adds nothing to what went out: nothing for anyone to send.
  if (cover.value <= sent_.load(std::memory_order_relaxed)) {
    out_whole_ = true;
    return;
  }
  frame_.clear();
  frames_.applied(cover, frame_);
  const net::SideWriter::Sent sent = side_->send(frame_);
  if (sent == net::SideWriter::Sent::not_sent) return;  // the loop sends it
  sent_.store(cover.value, std::memory_order_release);
  // Partly sent: the loop must wake up and write the rest (SlaveLink::ack commits it).
  out_whole_ = sent == net::SideWriter::Sent::whole;
}

}  // namespace twinmq::replication
