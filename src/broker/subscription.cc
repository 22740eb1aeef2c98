// broker/subscription.cc — a subscription's unsettled deliveries.
#include "broker/subscription.h"

#include "base/assert.h"
#include "broker/connection.h"

namespace twinmq::broker {

namespace {
constexpr auto kTagOf = [](const Unacked& u) { return u.tag; };
constexpr std::size_t kCompactMinTombstones = 32;
}  // namespace

Subscription::~Subscription() {
  // Normally zero: removal settles everything first. Whatever is left goes back.
  if (charged_ != 0 && account_ != nullptr) account_->release(charged_);
}

bool Subscription::can_take() const {
  if (ack_ != AckMode::auto_ack && held_ >= prefetch_) return false;
  return conn_.client->can_accept();
}

bool Subscription::find_tag(std::uint64_t tag, DeliveryState state, std::size_t* index) const {
  const std::size_t pos = unacked_.lower_bound(tag, kTagOf);
  if (pos == unacked_.size() || unacked_[pos].tag != tag) return false;
  if (unacked_[pos].state != state) return false;
  *index = pos;
  return true;
}

bool Subscription::find_message(std::uint64_t id, std::string_view id_text,
                                std::size_t* index) const {
  // Linear from the front: the window is bounded by prefetch, and clients ack
  // mostly in delivery order, so the match is usually among the first entries.
  for (std::size_t i = 0; i < unacked_.size(); ++i) {
    const Unacked& u = unacked_[i];
    if (u.state == DeliveryState::held && u.msg->id() == id && u.msg->id_text() == id_text) {
      *index = i;
      return true;
    }
  }
  return false;
}

MessageRef Subscription::settle(std::size_t index) {
  Unacked& u = unacked_[index];
  TWINMQ_ASSERT(u.state != DeliveryState::done, "settling a delivery twice");
  u.state = DeliveryState::done;
  --held_;
  ++tombstones_;
  release(*u.msg);
  return std::move(u.msg);
}

void Subscription::trim() {
  while (!unacked_.empty() && unacked_.front().state == DeliveryState::done) {
    unacked_.pop_front();
    --tombstones_;
  }
  if (tombstones_ >= kCompactMinTombstones && tombstones_ > held_) {
    unacked_.erase_if([](const Unacked& u) { return u.state == DeliveryState::done; },
                      [](std::size_t, std::size_t) {});
    tombstones_ = 0;
  }
}

}  // namespace twinmq::broker
