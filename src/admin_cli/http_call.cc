// admin_cli/http_call.cc — libcurl for twinmq-admin (admin_cli/http_call.h).
#include "admin_cli/http_call.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>

namespace twinmq::admin_cli {

namespace {

enum class HttpErrc { ok = 0, unreachable };

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) noexcept {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// What to do about a failed request, by what went wrong.
std::string failure_hint(CURLcode rc, const std::string& said, const HttpCall& call) {
  const bool tls = call.url.starts_with("https://");
  const std::string ca = call.cacert.empty() ? "the system's CA store" : "--cacert " + call.cacert;
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
      if (said.find("subject") != std::string::npos || said.find("name") != std::string::npos)
        return "the endpoint's certificate does not name the host in the URL: use --url https://NAME:PORT with a "
               "name or address the certificate holds";
      return "the endpoint's certificate is not signed by a CA in " + ca +
             ": give the CA that signed the broker's <sslContext certificate> with --cacert FILE";
    case CURLE_SSL_CACERT_BADFILE:
      return "cannot read CA certificates from " + ca + ": a PEM file of CA certificates is needed";
    case CURLE_SSL_CONNECT_ERROR:
      if (said.find("wrong version number") != std::string::npos || said.find("packet length") != std::string::npos)
        return "the endpoint does not speak TLS: is its <managementContext uri> http://?";
      return "the TLS handshake failed: does the endpoint speak https:// with a certificate " + ca + " trusts?";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
      if (!tls)
        return "the endpoint closed the connection without an answer: if its <managementContext uri> is https://, "
               "use an https:// URL";
      break;
    default: break;
  }
  return "is the broker running with <managementContext uri=...> at that address? give it with --url or --config";
}

}  // namespace

Result<HttpAnswer> http_call(const HttpCall& call) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return make_error(HttpErrc::unreachable, "libcurl could not start a request");
  HttpAnswer answer;
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  if (call.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  }
  if (!call.user.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, call.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, call.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(call.timeout_ms, 5000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // the endpoint is local or named exactly
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (call.url.starts_with("https://")) {
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!call.cacert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, call.cacert.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    const std::string said = error[0] != '\0' ? error : curl_easy_strerror(rc);
    return make_error(HttpErrc::unreachable, fmt::format("cannot reach the admin endpoint at {}: {} ({})", call.url,
                                                         said, failure_hint(rc, said, call)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const unsigned char u = static_cast<unsigned char>(ch);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                            u == '.' || u == '_' || u == '~';
    if (unreserved)
      out += ch;
    else
      out += fmt::format("%{:02X}", u);
  }
  return out;
}

std::string queue_segment(std::string_view queue) {
  constexpr std::string_view kQueue = "/queue/";
  if (queue.starts_with(kQueue)) queue.remove_prefix(kQueue.size());
  return percent_encode(queue);
}

}  // namespace twinmq::admin_cli
