// broker/client.h — what the broker needs from a connected client (implemented by
// stomp::Session; by a recording fake in unit tests).
//
// Lifecycle: a Client registers with Broker::attach() and must call Broker::detach()
// before it is destroyed; the broker never holds it past detach().
#pragma once

#include <cstdint>
#include <string_view>

#include "base/ids.h"
#include "broker/message.h"

namespace twinmq::broker {

struct Delivery {
  std::string_view subscription_id;  // the client's SUBSCRIBE id
  std::uint64_t ack_tag = 0;         // 0 for auto-ack subscriptions; else unique per connection
  const Message& message;
  bool redelivered = false;
  std::uint32_t redelivery_count = 0;
};

class Client {
 public:
  // False while the connection's output is above its high watermark: the broker then
  // stops dispatching to it until the client calls Broker::resume().
  virtual bool can_accept() const = 0;
  virtual void deliver(const Delivery& d) = 0;
  // ReplyGate moved: replies held up to `released` may now go out.
  virtual void on_released(Seq released) = 0;
  // After Broker::wait_for_room(): memory or store space was released, a refused SEND
  // or COMMIT may be tried again. Called at the end of a broker call: the client must
  // not call back into the broker from here (defer the retry).
  virtual void on_room() {}

 protected:
  ~Client() = default;
};

}  // namespace twinmq::broker
