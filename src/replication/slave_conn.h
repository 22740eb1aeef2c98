// replication/slave_conn.h — the slave link's two helpers, shared by slave_link.cc
// (connecting, losing the master) and slave_apply.cc (frames, acknowledging).
// Internal to src/replication.
#pragma once

#include <string>
#include <string_view>

#include "broker/client.h"
#include "net/tcp_connection.h"
#include "replication/protocol.h"
#include "replication/slave_link.h"

namespace twinmq::replication {

// One connection attempt to the master. Self-owned: freed in on_close; the SlaveLink
// detaches it first when it lets go of it.
class SlaveLink::Conn final : public net::ConnectionHandler {
 public:
  explicit Conn(SlaveLink* link) : link_(link), reader_(kMaxMasterFrame) {}

  void on_connected(int status) override {
    if (link_ != nullptr) link_->on_connected(*this, status);
  }
  void on_data(std::string_view bytes) override {
    if (link_ == nullptr || closing_) return;
    auto r = reader_.feed(
        bytes, [this](const fbr::Frame& f) { return link_ != nullptr && !closing_ && link_->on_frame(*this, f); });
    if (!r && link_ != nullptr && !closing_)
      link_->on_read_error(*this, std::string(errc_name(static_cast<Errc>(r.error().code))) + ": " + r.error().message);
  }
  // Hands over what the reader held while the copy was installed (FrameReader::hold).
  void release_held() {
    if (link_ == nullptr || closing_) return;
    auto r = reader_.release(
        [this](const fbr::Frame& f) { return link_ != nullptr && !closing_ && link_->on_frame(*this, f); });
    if (!r && link_ != nullptr && !closing_)
      link_->on_read_error(*this, std::string(errc_name(static_cast<Errc>(r.error().code))) + ": " + r.error().message);
  }
  void on_close(int status) override {
    if (link_ != nullptr) link_->on_conn_closed(*this, status);
    delete this;
  }
  void close() {
    closing_ = true;
    link_ = nullptr;
    if (tcp_ != nullptr) tcp_->close();
  }

  SlaveLink* link_;
  net::TcpConnection* tcp_ = nullptr;
  FrameReader reader_;
  bool connected_ = false;
  bool closing_ = false;
};

class SlaveLink::Acker final : public broker::Client {
 public:
  explicit Acker(SlaveLink& link) : link_(link) {}
  bool can_accept() const override { return true; }
  void deliver(const broker::Delivery&) override {}  // it never subscribes
  void on_released(Seq) override { link_.on_released(); }

 private:
  SlaveLink& link_;
};

}  // namespace twinmq::replication
