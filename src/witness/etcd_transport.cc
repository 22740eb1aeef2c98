#include "witness/etcd_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"

namespace twinmq::witness {

using nlohmann::json;

namespace {

// etcd refuses values above 1.5 MiB by default; an answer far beyond that is not etcd.
constexpr std::size_t kMaxAnswerBytes = 16u << 20;

struct WriteTarget {
  std::string* body;
  bool* too_large;
};

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) noexcept {
  auto* t = static_cast<WriteTarget*>(user);
  const std::size_t n = size * count;
  if (t->body->size() + n > kMaxAnswerBytes) {
    *t->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body->append(data, n);
  return n;
}

// "etcdserver: no leader" -> "no leader": every etcd message carries the prefix.
std::string without_prefix(std::string m) {
  for (std::string_view p : {"etcdserver: ", "rpc error: "}) {
    if (m.starts_with(p)) m.erase(0, p.size());
  }
  return m;
}

std::string first_line(std::string_view text, std::size_t max = 200) {
  text = text.substr(0, std::min(text.find('\n'), max));
  std::string out;
  for (char c : text) out += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : '?';
  return out;
}

// Reads an integer that the gateway may write as a JSON string or number.
int int_field(const json& j, const char* name, int fallback) {
  const auto it = j.find(name);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int v = 0;
    if (std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc{}) return v;
  }
  return fallback;
}

std::string string_field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// gRPC codes that mean "try again later" rather than "no".
bool transient_grpc(int code) {
  return code == 1 /*Canceled*/ || code == 4 /*DeadlineExceeded*/ || code == 8 /*ResourceExhausted*/ ||
         code == 10 /*Aborted*/ || code == 14 /*Unavailable*/;
}

}  // namespace

EtcdTransport::EtcdTransport(EtcdOptions options) : options_(std::move(options)) {
  // Once per process, before any handle (the first EtcdClient is made on the loop
  // thread, before its worker starts).
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  TWINMQ_ASSERT(curl_ready, "curl_global_init failed");
  for (const EtcdEndpoint& e : options_.endpoints) addresses_.push_back(endpoint_address(e));
  if (addresses_.empty()) addresses_.emplace_back("(no endpoint)");
  easy_ = curl_easy_init();
  multi_ = curl_multi_init();
  TWINMQ_ASSERT(easy_ != nullptr && multi_ != nullptr, "libcurl could not allocate a handle");

  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: we run on a worker thread
  curl_easy_setopt(easy_, CURLOPT_PROXY, "");     // never an http_proxy from the environment
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, options_.tls ? "https" : "http");
  if (options_.tls) {
    // etcds://: etcd's certificate must chain to trusted_cas and name the endpoint;
    // ours goes along for --client-cert-auth. TLS 1.2 at least, as everywhere else.
    curl_easy_setopt(easy_, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.trusted_cas.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, options_.trusted_cas.c_str());
    if (!options_.certificate.empty()) {
      curl_easy_setopt(easy_, CURLOPT_SSLCERT, options_.certificate.c_str());
      curl_easy_setopt(easy_, CURLOPT_SSLKEY, options_.private_key.c_str());
    }
  }
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, curl_error_);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &on_write);
}

EtcdTransport::~EtcdTransport() {
  curl_multi_cleanup(multi_);
  curl_easy_cleanup(easy_);
}

void EtcdTransport::interrupt() {
  interrupted_.store(true);
  curl_multi_wakeup(multi_);
}

std::expected<json, EtcdFailure> EtcdTransport::post(std::string_view path, const json& request, Resend resend) {
  if (options_.endpoints.empty()) return std::unexpected(EtcdFailure{EtcdErrc::bad_uri, "no etcd endpoints configured"});
  // `replace`: dump() would throw on a user name or password that is not UTF-8; etcd
  // then refuses the mangled credentials instead.
  const std::string body = request.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string tried;  // every endpoint's failure, in order, for the message
  for (std::size_t i = 0; i < options_.endpoints.size(); ++i) {
    Attempt a = attempt(path, body);
    if (a.answer) {
      if (last_good_ != current_ && last_good_ != SIZE_MAX)
        spdlog::info("etcd: now using {} ({})", addresses_[current_], tried.empty() ? "after an earlier failure" : tried);
      last_good_ = current_;
      return std::move(*a.answer);
    }
    EtcdFailure& f = a.answer.error();
    // etcd answered "no": every member would say the same.
    if (f.errc != EtcdErrc::unreachable) return std::unexpected(std::move(f));
    tried += (tried.empty() ? "" : "; ") + f.message;
    current_ = (current_ + 1) % options_.endpoints.size();
    if (interrupted_.load()) break;
    if (a.sent && resend == Resend::only_unsent) {
      tried += " (the transaction may have been applied)";
      break;
    }
  }
  return std::unexpected(EtcdFailure{EtcdErrc::unreachable, std::move(tried)});
}

EtcdTransport::Attempt EtcdTransport::attempt(std::string_view path, const std::string& body) {
  const bool with_user = !options_.user.empty();
  if (with_user && token_.empty() && !auth_not_enabled_) {
    if (auto r = authenticate(); !r) return Attempt{std::unexpected(std::move(r.error())), false};
  }
  Attempt a = exchange(path, body, with_user);
  if (!a.answer && with_user && token_refused(a.answer.error())) {
    // Refused before it was applied, so repeating it is safe. Once: a second refusal
    // right after a fresh token is etcd's real answer.
    if (log_debug()) spdlog::debug("etcd: {}; authenticating again", a.answer.error().message);
    token_.clear();
    auth_not_enabled_ = false;
    if (auto r = authenticate(); !r) return Attempt{std::unexpected(std::move(r.error())), false};
    a = exchange(path, body, true);
  }
  return a;
}

std::expected<void, EtcdFailure> EtcdTransport::authenticate() {
  const json request = {{"name", options_.user}, {"password", options_.password}};
  Attempt a = exchange("/v3/auth/authenticate", request.dump(-1, ' ', false, json::error_handler_t::replace), false);
  if (!a.answer) {
    // A user configured for an etcd without authentication: go on without a token,
    // as etcd's own client does (clientv3 ignores ErrAuthNotEnabled).
    if (a.answer.error().message.find("authentication is not enabled") != std::string::npos) {
      auth_not_enabled_ = true;
      return {};
    }
    return std::unexpected(std::move(a.answer.error()));
  }
  token_ = string_field(*a.answer, "token");
  if (token_.empty())
    return std::unexpected(
        EtcdFailure{EtcdErrc::bad_response, endpoint() + ": /v3/auth/authenticate answered without a token"});
  return {};
}

bool EtcdTransport::token_refused(const EtcdFailure& f) const {
  if (f.errc != EtcdErrc::refused) return false;
  return f.grpc_code == 16 /*Unauthenticated: "invalid auth token" (expired, or etcd restarted)*/ ||
         f.message.find("auth store is old") != std::string::npos ||  // a JWT token from before a user/role change
         f.message.find("user name is empty") != std::string::npos;  // auth was enabled after we started
}

EtcdTransport::Attempt EtcdTransport::exchange(std::string_view path, const std::string& body, bool with_token) {
  Attempt a{std::unexpected(EtcdFailure{}), false};
  if (interrupted_.load()) {
    a.answer = std::unexpected(EtcdFailure{EtcdErrc::unreachable, endpoint() + ": interrupted"});
    return a;
  }
  const EtcdEndpoint& ep = options_.endpoints[current_];
  const std::string url = (options_.tls ? "https://" : "http://") + ep.host + ":" + std::to_string(ep.port) +
                          std::string(path);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for larger bodies
  if (with_token && !token_.empty()) headers = curl_slist_append(headers, ("Authorization: " + token_).c_str());
  answer_.clear();
  answer_too_large_ = false;
  curl_error_[0] = '\0';
  WriteTarget target{&answer_, &answer_too_large_};
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &target);

  CURLcode code = CURLE_OK;
  const bool completed = perform(code);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  long request_bytes = 0;
  curl_easy_getinfo(easy_, CURLINFO_REQUEST_SIZE, &request_bytes);
  a.sent = request_bytes > 0;

  if (!completed) {
    a.answer = std::unexpected(EtcdFailure{EtcdErrc::unreachable, endpoint() + ": interrupted"});
    return a;
  }
  if (code != CURLE_OK) {
    a.answer = std::unexpected(transfer_failure(code));
    return a;
  }
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  // The keep-alive stream may end its one message with a newline; unary answers are
  // one line of compact JSON.
  const json j = json::parse(std::string_view(answer_).substr(0, answer_.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    const std::string what = "HTTP " + std::to_string(status) + " '" + first_line(answer_) + "'";
    if (status >= 500 || status == 429) {
      a.answer = std::unexpected(EtcdFailure{EtcdErrc::unreachable, endpoint() + ": " + what});
    } else if (status == 200) {
      a.answer = std::unexpected(
          EtcdFailure{EtcdErrc::bad_response, endpoint() + ": " + std::string(path) + ": answer is not JSON: " + what});
    } else {
      a.answer = std::unexpected(EtcdFailure{EtcdErrc::refused, endpoint() + ": " + what + " (is this etcd's v3 client port?)"});
    }
    return a;
  }
  if (status != 200) {
    a.answer = std::unexpected(etcd_error(status, j));
    return a;
  }
  // A gRPC stream behind the gateway reports its error in the body, with HTTP 200.
  if (const auto err = j.find("error"); err != j.end() && err->is_object()) {
    a.answer = std::unexpected(etcd_error(int_field(*err, "http_code", 500), *err));
    return a;
  }
  a.answer = std::move(j);
  return a;
}

bool EtcdTransport::perform(CURLcode& code) {
  curl_multi_add_handle(multi_, easy_);
  bool done = false;
  bool interrupted = false;
  while (!done) {
    int running = 0;
    if (curl_multi_perform(multi_, &running) != CURLM_OK) {
      code = CURLE_FAILED_INIT;
      break;
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg == CURLMSG_DONE && m->easy_handle == easy_) {
        code = m->data.result;
        done = true;
      }
    }
    if (done) break;
    if (running == 0) {  // cannot happen: a finished transfer leaves a DONE message
      code = CURLE_FAILED_INIT;
      break;
    }
    if (interrupted_.load()) {
      interrupted = true;
      break;
    }
    // Waits for socket activity, curl's own next timeout, or curl_multi_wakeup().
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
  curl_multi_remove_handle(multi_, easy_);
  return !interrupted;
}

EtcdFailure EtcdTransport::transfer_failure(CURLcode code) const {
  const std::string& where = endpoint();
  const EtcdEndpoint& ep = options_.endpoints[current_];
  std::string what;
  switch (code) {
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno != 0) {
        what = std::strerror(static_cast<int>(os_errno));
        if (!what.empty()) what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
      } else {
        what = "cannot connect";
      }
      break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      what = "cannot resolve host name '" + ep.host + "'";
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect_us);
      if (connect_us == 0) {
        what = "no connection within " +
               std::to_string(std::min(options_.connect_timeout, options_.request_timeout).count()) + " ms";
      } else {
        what = "no answer within " + std::to_string(options_.request_timeout.count()) + " ms";
      }
      break;
    }
    case CURLE_GOT_NOTHING:
      what = "connection closed without an answer";
      break;
    case CURLE_WRITE_ERROR:
      if (answer_too_large_)
        return EtcdFailure{EtcdErrc::bad_response,
                           where + ": answer larger than " + std::to_string(kMaxAnswerBytes >> 20) + " MiB"};
      [[fallthrough]];
    default:
      what = curl_error_[0] != '\0' ? std::string(curl_error_) : std::string(curl_easy_strerror(code));
  }
  return EtcdFailure{EtcdErrc::unreachable, where + ": " + what};
}

EtcdFailure EtcdTransport::etcd_error(long http_status, const json& error) const {
  // Unary errors: {"error": "...", "message": "...", "code": <gRPC code>}; stream
  // errors: {"grpc_code": ..., "http_code": ..., "message": "..."}.
  std::string message = string_field(error, "message");
  if (message.empty()) message = string_field(error, "error");
  if (message.empty()) message = first_line(error.dump(-1, ' ', false, json::error_handler_t::replace));
  const int grpc = int_field(error, "code", int_field(error, "grpc_code", -1));
  const bool transient = http_status >= 500 || http_status == 429 || transient_grpc(grpc);
  return EtcdFailure{transient ? EtcdErrc::unreachable : EtcdErrc::refused,
                     endpoint() + ": etcd says: " + without_prefix(std::move(message)), grpc};
}

}  // namespace twinmq::witness
