// app/service_notify.h — tells systemd (Type=notify, conf/systemd/twinmq@.service)
// when this broker is ready, what it is doing, and that it is stopping, through
// libsystemd's sd_notify (README "Running under systemd").
//
// What systemd hears:
//   READY=1     once, when the broker does its role's job: a master or single broker
//               when its client connectors listen; a slave when it is IN SYNC with its
//               master (it would take over if the master failed). A promoted slave was
//               in sync before, so it is ready already. Until then `systemctl start`
//               waits (the unit says TimeoutStartSec=infinity: an initial sync of a
//               large store or a master waiting for its slave may take long, and a
//               start timeout would kill a slave in the middle of its copy).
//   STATUS=...  one line with role, serving or not and sync state, sent again whenever
//               it changes (`systemctl status` shows it): e.g.
//               "master: serving; slave 'b' at 10.0.0.2:40522 IN SYNC (seq 812)".
//   STOPPING=1  when the broker begins to stop, for any reason, with STATUS= saying why;
//               not at a switchover, where the process restarts in place as a slave
//               (app/runtime_switchover.cc) and sends READY=1 again once in sync.
//
// The one tricky thing: the replication links report a change from inside their own
// state change (MasterLink::enter, SlaveLink::enter), when their state is half set.
// changed() therefore only schedules; the line is built from the status model on a
// zero-delay timer, after the link's handler has returned. Several changes in one loop
// turn give one STATUS.
//
// Without NOTIFY_SOCKET in the environment (not started by systemd) every call returns
// at once and nothing is built or sent.
//
// Lifecycle: one per process, owned by app::Runtime; close() at shut-down. Loop thread
// only.
#pragma once

#include <functional>
#include <string>

#include "admin/status_model.h"
#include "net/loop.h"
#include "net/timer.h"

namespace twinmq::app {

// The STATUS= text for one status model (role, serving, sync).
std::string service_status_line(const admin::BrokerStatus& s);
// Whether systemd may consider the broker started (see READY=1 above).
bool service_ready(const admin::BrokerStatus& s);

class ServiceNotifier {
 public:
  ServiceNotifier(net::Loop& loop, std::function<admin::BrokerStatus()> model);
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool active() const { return active_; }
  // Role, serving or sync state may have changed: recompute (soon) and tell systemd if
  // the line differs or the broker became ready.
  void changed();
  // The broker begins to stop: STOPPING=1 and why; later changes are not reported.
  // A switchover (`restarting`) replaces the process in place (same pid) with the
  // broker as a slave: systemd must not hear STOPPING=1, which would make it wait for
  // the process to end and kill it after TimeoutStopSec; STATUS= says what happens.
  void stopping(const std::string& reason, bool restarting);
  void close();

 private:
  void update();
  void send(const std::string& message);

  net::Loop& loop_;
  std::function<admin::BrokerStatus()> model_;
  const bool active_;
  bool ready_sent_ = false;
  bool stopping_ = false;
  std::string last_status_;
  net::HandlePtr<net::Timer> pending_;  // the scheduled update; null when none is due
};

}  // namespace twinmq::app
