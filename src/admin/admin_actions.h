// admin/admin_actions.h — what the admin API (admin/admin_api.h) asks of the broker it
// runs in: who may change things, whether this broker takes changes, and the fixed set
// of operator verbs. The admin module knows no broker, journal or users (it uses base
// and net only); app::AdminActionsImpl (app/admin_actions.cc) implements this over the
// runtime's broker, its Security and its role.
//
// Every call comes on the loop thread; every answer is given through the callback on
// the loop thread, at once or later (a password check runs on libuv's thread pool; a
// change is answered once it is journalled and applied by the slave, as a RECEIPT is).
// A callback may outlive the connection that asked: the DeferredReply it ends in then
// goes nowhere.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace twinmq::admin {

// What a verb answered: the HTTP status and a JSON body ({"error": "..."} for >= 400).
struct ActionAnswer {
  int status = 200;
  nlohmann::json body;
};
using AnswerFn = std::function<void(ActionAnswer)>;

enum class Access {
  granted,         // an admin user, or no users configured (loopback endpoint)
  no_credentials,  // users are configured and the request named none: 401
  bad_credentials, // unknown user or wrong password: 401
  not_admin,       // a user not in the `admin` group: 403
  rate_limited,    // too many failed logins from this address: 429
};

struct AccessVerdict {
  Access access = Access::granted;
  std::string user;    // who asked ("" without users)
  std::string detail;  // for the error body: why not
};

class AdminActions {
 public:
  // Who may use the verbs. `user`/`password`: the request's Basic credentials, or
  // nullopt-like empty with `given` false.
  virtual void check_access(bool given, const std::string& user, const std::string& password,
                            const std::string& peer, std::function<void(AccessVerdict)> done) = 0;
  // "" when this broker takes changes now; otherwise why not, for a 503 (a slave:
  // where its master is; a broker that is stopping).
  virtual std::string refuse_changes() const = 0;

  virtual void browse(const std::string& queue, std::size_t limit, std::size_t preview_bytes, AnswerFn done) = 0;
  virtual void purge(const std::string& queue, const std::string& user, AnswerFn done) = 0;
  virtual void move(const std::string& from, const std::string& to, std::size_t limit, const std::string& user,
                    AnswerFn done) = 0;
  virtual void remove_destination(const std::string& name, const std::string& user, AnswerFn done) = 0;
  // Stop accepting clients, let consumers drain the queues for up to `drain_s`
  // seconds, then stop as SIGTERM does (a master hands over to its slave).
  virtual void stop(std::uint32_t drain_s, const std::string& user, AnswerFn done) = 0;

 protected:
  ~AdminActions() = default;
};

}  // namespace twinmq::admin
