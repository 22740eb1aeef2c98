// app/admin_actions.h — the admin API's verbs (admin/admin_actions.h) on this runtime:
// access through the broker's own users (auth::Security: the `admin` group, passwords
// checked on libuv's thread pool, the failed-login limits the STOMP connectors use),
// the verbs on the runtime's broker (broker/admin_ops.cc), each mutating answer held
// until its last event is released by the reply gate (journal durable, slave applied),
// as a RECEIPT is.
//
// Access when no users are configured: the configuration keeps the endpoint on a
// loopback address then (config/validate.cc check_management: beyond loopback it
// requires a user of the `admin` group), and a broker without users lets any local
// STOMP client change anything, so the verbs are open to local callers too. With
// users, every verb (browse included: it shows message bodies) needs an `admin` user's
// Basic credentials, and so does every path but the probes on an endpoint beyond
// loopback (admin/admin_endpoint.h): both ask check_access.
//
// Lifecycle: owned by app::Runtime, created before the admin endpoint and destroyed
// after it (the endpoint holds a pointer). Loop thread only. The broker is looked up
// per call (a slave's initial sync replaces it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "admin/admin_actions.h"
#include "auth/security.h"
#include "broker/broker.h"
#include "net/loop.h"

namespace twinmq::app {

struct AdminHost {
  std::function<broker::Broker*()> broker;      // null while there is none
  std::function<std::string()> refuse_changes;  // "" = this broker takes changes now
  // Stop accepting clients, drain up to `drain_s` seconds, stop; `why` for the log.
  std::function<void(std::uint32_t drain_s, std::string why)> stop;
};

class AdminActionsImpl final : public admin::AdminActions {
 public:
  AdminActionsImpl(net::Loop& loop, auth::Security* security, AdminHost host)
      : loop_(loop), security_(security), host_(std::move(host)) {}
  AdminActionsImpl(const AdminActionsImpl&) = delete;
  AdminActionsImpl& operator=(const AdminActionsImpl&) = delete;

  void check_access(bool given, const std::string& user, const std::string& password, const std::string& peer,
                    std::function<void(admin::AccessVerdict)> done) override;
  std::string refuse_changes() const override { return host_.refuse_changes(); }
  void browse(const std::string& queue, std::size_t limit, std::size_t preview_bytes, admin::AnswerFn done) override;
  void purge(const std::string& queue, const std::string& user, admin::AnswerFn done) override;
  void move(const std::string& from, const std::string& to, std::size_t limit, const std::string& user,
            admin::AnswerFn done) override;
  void remove_destination(const std::string& name, const std::string& user, admin::AnswerFn done) override;
  void stop(std::uint32_t drain_s, const std::string& user, admin::AnswerFn done) override;

 private:
  // Answers `outcome` once its last event is released (at once when nothing changed).
  void answer_when_released(broker::Broker& b, Seq last, admin::ActionAnswer answer, admin::AnswerFn done);

  net::Loop& loop_;
  auth::Security* security_;  // null: no users
  AdminHost host_;
};

}  // namespace twinmq::app
