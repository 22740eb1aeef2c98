// tools/bench/idle_connections.cc — see idle_connections.h.
#include "tools/bench/idle_connections.h"

#include "tools/bench/worker.h"

namespace twinmq::bench {

IdleConnections::IdleConnections(Worker& worker, RunState& run, std::uint32_t n)
    : worker_(worker), run_(run) {
  conns_.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    conns_.push_back(std::make_unique<client::StompConnection>(worker.loop(), *this));
  }
}

void IdleConnections::open(std::size_t i) {
  conns_[i]->open(reinterpret_cast<const sockaddr*>(&run_.address), worker_.connect_options(),
                  run_.options.host, run_.tls.get());
}

void IdleConnections::close_all() {
  for (auto& c : conns_) c->close();
}

void IdleConnections::on_connected(client::StompConnection&, const stomp::Frame&) {
  ++connected_;
  worker_.connection_settled();
  settled();
}

void IdleConnections::on_closed(client::StompConnection& c, const client::CloseInfo& why) {
  if (!c.ever_connected() && !worker_.finishing()) {
    ++failed_;
    if (first_failure_.empty()) {
      first_failure_ = std::string(client::close_reason_name(why.reason)) +
                       (why.detail.empty() ? "" : ": " + why.detail);
    }
    worker_.connection_settled();
    settled();
  } else if (!worker_.finishing()) {
    worker_.fail("idle connection closed: " + std::string(client::close_reason_name(why.reason)) +
                 (why.detail.empty() ? "" : ": " + why.detail));
  }
  worker_.connection_closed();
}

void IdleConnections::settled() {
  if (connected_ + failed_ == conns_.size()) worker_.idle_settled(connected_, first_failure_);
}

}  // namespace twinmq::bench
