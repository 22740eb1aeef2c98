// app/service_notify.cc — see service_notify.h.
#include "app/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace twinmq::app {

namespace {

// sd_notify reads one assignment per line: a line break in a reason or a peer's name
// (the slave chooses its own) would end STATUS= early and could smuggle in another
// assignment.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string serving_part(const admin::BrokerStatus& s) {
  if (s.serving) return "serving";
  return s.closed_reason.empty() ? "NOT serving" : "NOT serving (" + s.closed_reason + ")";
}

// The master side of a link: a master's, or a promoted broker's own slave.
std::string slave_part(const admin::PeerStatus& p) {
  if (p.in_sync) return p.description + " IN SYNC (seq " + std::to_string(p.applied) + ")";
  if (p.description.empty()) return "no slave in sync (link " + p.link_state + ")";
  return p.description + " not in sync yet (link " + p.link_state + ")";
}

}  // namespace

std::string service_status_line(const admin::BrokerStatus& s) {
  std::string line;
  if (s.role == "single") {
    line = "single broker: " + serving_part(s);
  } else if (s.role == "slave") {
    const admin::PeerStatus& p = s.peer;
    line = p.in_sync ? "slave: IN SYNC with " + p.description + " (seq " + std::to_string(p.applied) +
                           "); takes over if it fails"
                     : "slave: not in sync with " + p.description + " (link " + p.link_state +
                           "); would not take over";
  } else if (s.role == "promoted") {
    line = "promoted: " + serving_part(s) + " (" + s.role_reason + ")";
    if (!s.peer.link_state.empty() && s.peer.link_state != "promoted") line += "; " + slave_part(s.peer);
  } else {
    line = "master: " + serving_part(s) + "; " + slave_part(s.peer);
  }
  return one_line(std::move(line));
}

bool service_ready(const admin::BrokerStatus& s) { return s.serving || (s.role == "slave" && s.peer.in_sync); }

ServiceNotifier::ServiceNotifier(net::Loop& loop, std::function<admin::BrokerStatus()> model)
    : loop_(loop), model_(std::move(model)), active_(std::getenv("NOTIFY_SOCKET") != nullptr) {}

void ServiceNotifier::changed() {
  if (!active_ || stopping_ || pending_) return;
  pending_ = net::Timer::create(loop_);
  pending_->start(0, 0, [this] {
    pending_.reset();
    update();
  });
}

void ServiceNotifier::update() {
  if (stopping_) return;
  const admin::BrokerStatus s = model_();
  const std::string line = service_status_line(s);
  std::string message;
  if (!ready_sent_ && service_ready(s)) {
    ready_sent_ = true;
    message = "READY=1\n";
  }
  if (line != last_status_) {
    last_status_ = line;
    message += "STATUS=" + line;
  }
  if (!message.empty()) send(message);
}

void ServiceNotifier::stopping(const std::string& reason, bool restarting) {
  if (!active_ || stopping_) return;
  stopping_ = true;
  pending_.reset();
  if (restarting)
    send("STATUS=" + one_line(reason + ": restarting in place as its slave"));
  else
    send("STOPPING=1\nSTATUS=" + one_line("stopping: " + reason));
}

void ServiceNotifier::close() {
  pending_.reset();
  stopping_ = true;
}

void ServiceNotifier::send(const std::string& message) {
  // One datagram to systemd's notify socket, which systemd drains as it comes. A failure
  // costs only systemd's view of us, never the broker's work: logged and dropped.
  if (const int r = sd_notify(0, message.c_str()); r < 0)
    spdlog::warn("systemd notification failed ({}): {}", std::strerror(-r), one_line(message));
}

}  // namespace twinmq::app
