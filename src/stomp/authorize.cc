// stomp/authorize.cc — whether this connection's user may SEND to or SUBSCRIBE on a
// destination (auth/authorization.h; README "Security").
//
// SEND needs write, SUBSCRIBE read; either one, on a destination that does not exist
// yet, creates it and so needs admin as well. A refusal is an ERROR and a close, like
// every other ERROR of this connector (stomp/dispatch.cc): ActiveMQ keeps the
// connection open after a refused SEND, but STOMP says an ERROR ends the connection,
// and a client that sends where it may not is a misconfigured client an operator
// should hear about rather than one that keeps going.
#include <spdlog/spdlog.h>

#include "base/printable.h"
#include "broker/destination.h"
#include "stomp/server.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<void> Session::authorize(std::string_view destination, auth::Right right, std::string_view command) {
  const auth::Security* security = server_.options().security;
  if (security == nullptr || !security->authorization().enabled()) return {};
  // Not a destination at all: the broker says so, with its own words.
  if (broker::classify_destination(destination) == broker::DestKind::invalid) return {};
  const auth::AuthorizationMap& map = security->authorization();
  auth::Right missing = right;
  bool ok = map.allows(destination, right, groups_);
  if (ok && !broker_.destination_exists(destination)) {
    missing = auth::Right::admin;
    ok = map.allows(destination, auth::Right::admin, groups_);
  }
  if (ok) return {};
  const std::string_view right_text = auth::right_name(missing);
  spdlog::warn("[event=access_denied right={}] connection {} from {}: user '{}' may not {} {}: no {} right{}",
               right_text, number_, peer_, shown(user_), command, shown(destination), right_text,
               missing == right ? "" : " (the destination does not exist yet, and creating it needs admin)");
  return make_error(ProtocolErrc::access_denied,
                    "user '" + printable(user_) + "' has no " + std::string(right_text) + " right on '" +
                        printable(destination) + "'" +
                        (missing == right ? std::string()
                                          : std::string(" (it does not exist yet: creating it needs admin)")));
}

}  // namespace twinmq::stomp
