// app/runtime_switchover.cc — `twinmq switchover`: the serving broker hands the master
// role to its in-sync slave and comes back as that broker's slave (README "Planned
// switchover").
//
// What makes it lossless is the planned stop the broker already has (runtime.cc
// begin_shutdown): it stops accepting, waits until every held receipt is released (the
// slave applied it), closes its clients, and sends Shutdown after the last event, so
// the slave has applied everything by the time it reads it and takes over at once. The
// witness key is released after that, so the slave need not wait for the lease.
//
// What makes it "without downtime" for this machine is what happens next: instead of
// exiting, main() replaces the process with `twinmq <same arguments> --rejoin URI`
// (RestartAsSlave): the store is recovered again from disk and rejoins the new master
// like any old master (handshake: its history is a prefix of the new master's). The
// pid stays, so a supervisor sees one process throughout.
//
// Refused, with the reason, when it cannot end with a serving broker and a whole pair:
// no slave in sync, a slave that would exit instead of taking over
// (shutdownOnMasterFailure), no known place to rejoin, or a login it cannot present.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "app/runtime.h"
#include "base/printable.h"
#include "config/uri.h"

namespace twinmq::app {

namespace {

std::vector<std::string_view> split_tabs(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto tab = s.find('\t');
    out.push_back(s.substr(0, tab));
    if (tab == std::string_view::npos) return out;
    s.remove_prefix(tab + 1);
  }
}

}  // namespace

std::string Runtime::on_control(std::string_view request) {
  const auto words = split_tabs(request);
  if (words[0] != "switchover")
    return "REFUSED unknown request '" + printable(words[0]) + "' (this broker knows: switchover)";
  const std::string to(words.size() > 1 ? words[1] : std::string_view());
  const std::string user(words.size() > 2 ? words[2] : std::string_view());
  auto refuse = [](const std::string& why) {
    spdlog::warn("[event=switchover_refused] replication: switchover refused: {}", why);
    return "REFUSED " + why;
  };
  if (stopping_) return refuse("this broker is already stopping");
  if (master_ == nullptr)
    return refuse(slave_ != nullptr ? "this broker is the slave; run switchover on the broker that serves"
                                    : "this broker has no replication listener, so it has no slave to hand over to");
  const auto facts = master_->slave_facts();
  if (!facts || !master_->in_sync())
    return refuse("no slave is in sync with this broker" +
                  (facts ? " (slave " + facts->description + " is still catching up)" : std::string()) +
                  ": handing over now would lose what only this broker holds; wait until `twinmq status` says "
                  "'in sync: yes'");
  if (!facts->takes_over)
    return refuse("slave " + facts->description + " did not say that it takes over (an older twinmq): run the same "
                  "version on both brokers");
  if (!*facts->takes_over)
    return refuse("slave " + facts->description + " runs with shutdownOnMasterFailure=\"true\": told to take over it "
                  "would exit, and no broker would serve");

  RestartAsSlave next;
  std::string where;
  if (config_.replication.master) {
    // Its configuration names its master (a promoted slave): restarting as it is makes
    // it that broker's slave again.
    where = "its configured master " + config_.replication.master_uri;
  } else {
    next.rejoin_uri = !to.empty()                             ? to
                      : !facts->replication_listener.empty() ? facts->replication_listener
                                                              : flags_.rejoin_uri;
    if (next.rejoin_uri.empty())
      return refuse("slave " + facts->description + " has no replication listener this broker could rejoin (none "
                    "configured, or port 0): give the slave a <transportConnector name=\"replication\"> with a "
                    "port, or say where with --to tcp://HOST:PORT");
    auto uri = config::parse_uri(next.rejoin_uri);
    if (!uri || (uri->endpoint.scheme != "tcp" && uri->endpoint.scheme != "ssl") || uri->endpoint.port == 0)
      return refuse("'" + printable(next.rejoin_uri) +
                    "' is not tcp://host:port or ssl://host:port (the slave's replication listener)");
    next.rejoin_user = !user.empty() ? user : flags_.rejoin_user;
    if (next.rejoin_user.empty() && !config_.users.empty())
      return refuse("this pair logs in (<users> are configured): say which user rejoins with --rejoin-user USER "
                    "(a user of this configuration whose password is plain text here)");
    if (!next.rejoin_user.empty()) {
      const auto u = std::find_if(config_.users.begin(), config_.users.end(),
                                  [&](const config::User& x) { return x.username == next.rejoin_user; });
      if (u == config_.users.end())
        return refuse("--rejoin-user " + printable(next.rejoin_user) + ": no such user in this configuration's <users>");
      if (u->hashed)
        return refuse("--rejoin-user " + printable(next.rejoin_user) + ": that user's password is a hash here, and a "
                      "rejoining broker must present the password itself: use a user with a plain-text password");
    }
    where = "rejoining " + next.rejoin_uri;
  }
  // The last event of this broker's term: both journals then end it with the same
  // record, which the rejoin's handshake matches (even right after a copy, when the
  // slave's journal holds only a checkpoint before it).
  const Seq at = broker_->record_handover(config_.broker_name, facts->description);
  spdlog::warn("[event=switchover] replication: SWITCHOVER: handing the master role to slave {} at seq {}; this broker "
               "then restarts as its slave ({})",
               facts->description, at.value, where);
  restart_ = std::move(next);
  begin_shutdown("switchover to slave " + facts->description);
  return "OK " + std::to_string(::getpid()) + " handing over to slave " + facts->description + " at seq " + std::to_string(at.value) +
         "; this broker restarts as its slave (" + where + ")";
}

}  // namespace twinmq::app
