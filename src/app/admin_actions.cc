// app/admin_actions.cc — the admin API's verbs on this runtime (app/admin_actions.h).
#include "app/admin_actions.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/login_limiter.h"
#include "auth/password_check.h"
#include "base/clock.h"
#include "base/printable.h"

namespace twinmq::app {

namespace {

using admin::Access;
using admin::AccessVerdict;
using admin::ActionAnswer;
using nlohmann::json;

ActionAnswer error_answer(const Error& e) {
  using B = broker::Errc;
  int status = 500;
  switch (static_cast<B>(e.code)) {
    case B::unknown_destination: status = 404; break;
    case B::destination_in_use: status = 409; break;
    case B::invalid_destination:
    case B::invalid_argument: status = 400; break;
    default: break;
  }
  return ActionAnswer{status, json{{"error", e.message}}};
}

ActionAnswer unavailable() {
  return ActionAnswer{503, json{{"error", "this broker holds no state now (it is starting, or a slave being copied)"}}};
}

}  // namespace

void AdminActionsImpl::check_access(bool given, const std::string& user, const std::string& password,
                                    const std::string& peer, std::function<void(AccessVerdict)> done) {
  if (security_ == nullptr || !security_->users_configured()) return done(AccessVerdict{Access::granted, "", ""});
  const std::string address(auth::peer_host(peer));
  if (!given) {
    spdlog::warn("[event=admin_denied reason=no_credentials] admin endpoint: request from {} without credentials",
                 peer);
    return done(AccessVerdict{Access::no_credentials, "",
                              "credentials required: this needs a user in the 'admin' group (HTTP Basic: "
                              "twinmq-admin --user NAME, password from TWINMQ_ADMIN_PASSWORD)"});
  }
  auth::LoginLimiter& limiter = security_->limiter();
  if (const std::int64_t wait_ms = limiter.blocked_for(address, mono_ms()); wait_ms > 0) {
    const std::int64_t seconds = (wait_ms + 999) / 1000;
    spdlog::warn("[event=admin_denied reason=rate_limited] admin endpoint: user '{}' from {} refused without a "
                 "check: too many failed logins, retry in {} s",
                 shown(user), peer, seconds);
    return done(AccessVerdict{Access::rate_limited, user,
                              fmt::format("too many failed logins from {}, retry in {} s", address, seconds)});
  }
  const auth::UserAccount* account = security_->find(user);
  const bool admin = account != nullptr && auth::in_group(account->groups, auth::kAdminGroup);
  // Granted or refused only after the password: a wrong name costs what a wrong
  // password costs (auth/security.h), so answers do not tell which names exist.
  auto decide = [this, user, peer, address, known = account != nullptr, admin, done](bool ok) {
    if (!known || !ok) {
      security_->limiter().failed(address, mono_ms());
      spdlog::warn("[event=admin_denied reason={}] admin endpoint: user '{}' from {} refused",
                   known ? "wrong_password" : "unknown_user", shown(user), peer);
      return done(AccessVerdict{Access::bad_credentials, user, "wrong user name or password"});
    }
    security_->limiter().succeeded(address);
    if (!admin) {
      spdlog::warn("[event=admin_denied reason=not_admin] admin endpoint: user '{}' from {} is not in the '{}' group",
                   shown(user), peer, auth::kAdminGroup);
      return done(AccessVerdict{Access::not_admin, user,
                                fmt::format("user '{}' is not in the '{}' group; only its users may use the admin "
                                            "verbs (and, on an endpoint beyond loopback, every path but /livez and "
                                            "/readyz)",
                                            user, auth::kAdminGroup)});
    }
    done(AccessVerdict{Access::granted, user, ""});
  };
  const auth::StoredPassword& stored = account != nullptr ? account->password : security_->decoy();
  if (!stored.hashed()) return decide(stored.verify(password));
  // The check holds copies; `decide` refers to security_, which outlives the loop's run.
  auth::PasswordCheck::start(loop_, stored, password, std::move(decide));
}

void AdminActionsImpl::answer_when_released(broker::Broker& b, Seq last, ActionAnswer answer, admin::AnswerFn done) {
  if (last == Seq{0}) return done(std::move(answer));
  b.when_released(last, [answer = std::move(answer), done = std::move(done)]() mutable { done(std::move(answer)); });
}

void AdminActionsImpl::browse(const std::string& queue, std::size_t limit, std::size_t preview_bytes,
                              admin::AnswerFn done) {
  broker::Broker* b = host_.broker();
  if (b == nullptr) return done(unavailable());
  auto r = b->browse(queue, limit, preview_bytes);
  if (!r) return done(error_answer(r.error()));
  json messages = json::array();
  for (const broker::BrowsedMessage& m : *r) {
    json headers = json::array();
    for (const auto& [name, value] : m.headers) headers.push_back(json::array({name, value}));
    messages.push_back(json{{"id", m.id_text},
                            {"headers", std::move(headers)},
                            {"body_preview", m.body_preview},
                            {"body_bytes", m.body_bytes},
                            {"persistent", m.persistent},
                            {"priority", m.priority},
                            {"expires", m.expires_ms},
                            {"timestamp", m.timestamp_ms},
                            {"redelivered", m.redelivered},
                            {"redelivery_count", m.redelivery_count},
                            {"paged", m.paged}});
  }
  std::uint64_t depth = 0;
  for (const auto& s : b->stats())
    if (s.name == queue) depth = s.depth;
  done(ActionAnswer{200, json{{"queue", queue}, {"depth", depth}, {"messages", std::move(messages)}}});
}

void AdminActionsImpl::purge(const std::string& queue, const std::string& user, admin::AnswerFn done) {
  broker::Broker* b = host_.broker();
  if (b == nullptr) return done(unavailable());
  auto r = b->purge(queue);
  if (!r) return done(error_answer(r.error()));
  spdlog::info("[event=admin_purge] admin endpoint: user '{}' purged {}: {} message(s) removed", shown(user),
               shown(queue), r->messages);
  answer_when_released(*b, r->last, ActionAnswer{200, json{{"queue", queue}, {"purged", r->messages}}},
                       std::move(done));
}

void AdminActionsImpl::move(const std::string& from, const std::string& to, std::size_t limit,
                            const std::string& user, admin::AnswerFn done) {
  broker::Broker* b = host_.broker();
  if (b == nullptr) return done(unavailable());
  auto r = b->move(from, to, limit);
  if (!r) return done(error_answer(r.error()));
  spdlog::info("[event=admin_move] admin endpoint: user '{}' moved {} message(s) from {} to {}", shown(user),
               r->messages, shown(from), shown(to));
  answer_when_released(*b, r->last, ActionAnswer{200, json{{"from", from}, {"to", to}, {"moved", r->messages}}},
                       std::move(done));
}

void AdminActionsImpl::remove_destination(const std::string& name, const std::string& user, admin::AnswerFn done) {
  broker::Broker* b = host_.broker();
  if (b == nullptr) return done(unavailable());
  auto r = b->remove_destination(name);
  if (!r) return done(error_answer(r.error()));
  spdlog::info("[event=admin_remove_destination] admin endpoint: user '{}' removed {} ({} message(s) with it)",
               shown(user), shown(name), r->messages);
  answer_when_released(*b, r->last, ActionAnswer{200, json{{"removed", name}, {"messages", r->messages}}},
                       std::move(done));
}

void AdminActionsImpl::stop(std::uint32_t drain_s, const std::string& user, admin::AnswerFn done) {
  // Answered first: the stop closes this very endpoint.
  done(ActionAnswer{202, json{{"stopping", true}, {"drain_seconds", drain_s}}});
  host_.stop(drain_s, fmt::format("admin stop by user '{}' (drain up to {} s)", user, drain_s));
}

}  // namespace twinmq::app
