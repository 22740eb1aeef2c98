// auth/security.h — the broker's users, their rights and the failed-login counts: what
// the STOMP connectors and the replication listener ask before they let anyone in.
//
// DESIGN
//  - Module `auth/`: password checks with Debian's libcrypt (password.h), the checks run
//    on libuv's thread pool (password_check.h), ActiveMQ's authorization map
//    (authorization.h), failed-login rate limiting (login_limiter.h). README "Security".
//  - Security is built once by app::Runtime from the configuration (config/ builds the
//    plain values, auth/ does not read config) and shared by every StompServer and the
//    MasterLink, which hold a pointer to it.
//  - The one tricky thing: a wrong user name must cost what a wrong password costs,
//    or response times tell which names exist. An unknown name is checked against
//    decoy() (a configured hash when there is one) and the result thrown away.
//
// Lifecycle: owned by app::Runtime, outlives the servers and links; loop thread only
// (the limiter changes; the rest is read-only after construction).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/authorization.h"
#include "auth/login_limiter.h"
#include "auth/password.h"

namespace twinmq::auth {

struct UserAccount {
  std::string name;
  StoredPassword password;
  std::vector<std::string> groups;
};

// ActiveMQ's names for a connection that logs in without credentials where
// anonymousAccessAllowed="true".
inline constexpr std::string_view kAnonymousUser = "anonymous";
inline constexpr std::string_view kAnonymousGroup = "anonymous";
// The group whose users may use the admin endpoint's verbs, and every path of an
// endpoint beyond loopback (ActiveMQ's admin group name; README "Operator verbs").
inline constexpr std::string_view kAdminGroup = "admin";

struct SecurityOptions {
  std::vector<UserAccount> users;
  bool anonymous_allowed = false;          // <simpleAuthenticationPlugin anonymousAccessAllowed>
  std::vector<AuthorizationEntry> authorization;
  std::string replication_group;           // <broker replicationGroup>: empty = any user
  std::uint32_t max_failed_logins = 5;     // per address and window; 0 = no limit
  std::uint32_t failed_login_window_ms = 60'000;
};

class Security {
 public:
  explicit Security(SecurityOptions options);
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  // No users: nobody is asked for credentials (the configuration allowed that only on
  // loopback connectors or with anonymousAccessAllowed="true").
  bool users_configured() const { return !options_.users.empty(); }
  bool anonymous_allowed() const { return options_.anonymous_allowed; }
  const UserAccount* find(std::string_view name) const;
  const StoredPassword& decoy() const { return decoy_; }
  const AuthorizationMap& authorization() const { return authorization_; }
  const std::string& replication_group() const { return options_.replication_group; }
  LoginLimiter& limiter() { return limiter_; }

 private:
  SecurityOptions options_;
  AuthorizationMap authorization_;
  LoginLimiter limiter_;
  StoredPassword decoy_;
};

bool in_group(const std::vector<std::string>& groups, std::string_view group);

}  // namespace twinmq::auth
