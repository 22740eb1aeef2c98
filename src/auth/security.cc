// auth/security.cc — the user table and the decoy (design comment in auth/security.h).
#include "auth/security.h"

#include <algorithm>

namespace twinmq::auth {

Security::Security(SecurityOptions options)
    : options_(std::move(options)),
      authorization_(options_.authorization),
      limiter_(options_.max_failed_logins, options_.failed_login_window_ms) {
  // Checking an unknown name against a real user's hash costs what a wrong password
  // costs; the answer is discarded.
  for (const UserAccount& u : options_.users) {
    if (u.password.hashed()) {
      decoy_ = u.password;
      break;
    }
  }
}

const UserAccount* Security::find(std::string_view name) const {
  for (const UserAccount& u : options_.users)
    if (u.name == name) return &u;
  return nullptr;
}

bool in_group(const std::vector<std::string>& groups, std::string_view group) {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

}  // namespace twinmq::auth
