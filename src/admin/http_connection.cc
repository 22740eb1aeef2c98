// admin/http_connection.cc — parsing and answering one admin connection
// (admin/http_connection.h).
#include "admin/http_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>

#include "admin/http_server.h"
#include "base/clock.h"

namespace twinmq::admin {

namespace {
HttpConnection* owner(http_parser* p) { return static_cast<HttpConnection*>(p->data); }
}  // namespace

const http_parser_settings HttpConnection::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &HttpConnection::on_message_begin;
  s.on_url = &HttpConnection::on_url;
  s.on_header_field = &HttpConnection::on_header_field;
  s.on_header_value = &HttpConnection::on_header_value;
  s.on_headers_complete = &HttpConnection::on_headers_complete;
  s.on_body = &HttpConnection::on_body;
  s.on_message_complete = &HttpConnection::on_message_complete;
  return s;
}();

HttpConnection::HttpConnection(HttpServer& server, net::TcpConnection* conn) : server_(&server), conn_(conn) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  last_activity_ms_ = mono_ms();
  conn_->set_handler(this);
}

void HttpConnection::close() {
  server_ = nullptr;
  if (conn_ != nullptr) conn_->close();
}

void HttpConnection::check_idle(std::int64_t now_ms) {
  if (conn_ == nullptr || server_ == nullptr) return;
  if (done_) {
    if (linger_until_ms_ != 0 && now_ms >= linger_until_ms_) {
      linger_until_ms_ = 0;
      conn_->close_after_flush(1000);
    }
    return;
  }
  if (awaiting_reply_) return;  // the endpoint owes this client an answer
  const std::uint32_t idle = server_->limits().idle_timeout_ms;
  if (now_ms - last_activity_ms_ < idle) return;
  if (in_request_) {
    fail(408, fmt::format("no complete request within {} ms", idle));
  } else {
    conn_->close();
  }
}

void HttpConnection::on_data(std::string_view bytes) {
  if (done_ || server_ == nullptr) return;
  last_activity_ms_ = mono_ms();
  if (awaiting_reply_) {
    // Kept for after the answer; a client that pipelines more than one request's worth
    // meanwhile is not one the endpoint serves.
    const HttpLimits& l = server_->limits();
    if (held_input_.size() + bytes.size() > l.max_header_bytes + l.max_body_bytes) {
      conn_->close();
      return;
    }
    held_input_.append(bytes);
    return;
  }
  const std::size_t used = http_parser_execute(&parser_, &kSettings, bytes.data(), bytes.size());
  if (done_) return;
  if (awaiting_reply_) {
    held_input_.assign(bytes.substr(used));  // the request paused the parser: the rest waits
    return;
  }
  const auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_OK || err == HPE_PAUSED) return;
  if (limit_status_ != 0) {
    fail(limit_status_, limit_text_);
  } else {
    fail(400, fmt::format("malformed HTTP request: {}", http_errno_description(err)));
  }
}

void HttpConnection::on_close(int) {
  conn_ = nullptr;
  if (server_ != nullptr) server_->forget(this);
  delete this;
}

void HttpConnection::fail(int status, std::string text) {
  HttpResponse r = text_response(status, std::move(text));
  r.close = true;
  respond(std::move(r));
}

void HttpConnection::respond(HttpResponse response) {
  if (conn_ == nullptr || done_) return;
  const bool head = static_cast<http_method>(parser_.method) == HTTP_HEAD && response.status < 400;
  serialize(response, head, conn_->output());
  conn_->commit_output();
  if (response.close) {
    done_ = true;
    // Nothing after this answer is parsed (pipelined requests behind it included). A
    // parser in an error state stops by itself, and http_parser_pause() asserts on one.
    if (HTTP_PARSER_ERRNO(&parser_) == HPE_OK) http_parser_pause(&parser_, 1);
    if (response.status >= 400)
      linger_until_ms_ = mono_ms() + kLingerMs;  // on_data drops the rest meanwhile
    else
      conn_->close_after_flush(1000);
  }
}

void HttpConnection::answer_late(HttpResponse response) {
  if (routing_) {  // answered before the router returned: on_message_complete sends it
    early_ = std::move(response);
    return;
  }
  if (!awaiting_reply_) return;
  awaiting_reply_ = false;
  reply_sink_.reset();  // DeferredReply::send holds it while this runs
  last_activity_ms_ = mono_ms();
  if (!keep_alive_) response.close = true;
  respond(std::move(response));
  if (done_ || conn_ == nullptr) return;
  http_parser_pause(&parser_, 0);
  if (!held_input_.empty()) {
    const std::string input = std::move(held_input_);
    held_input_.clear();
    on_data(input);
  }
}

int HttpConnection::on_message_begin(http_parser* p) noexcept {
  HttpConnection& c = *owner(p);
  c.url_.clear();
  c.field_.clear();
  c.authorization_.clear();
  c.header_bytes_ = c.header_lines_ = c.body_bytes_ = 0;
  c.in_value_ = false;
  c.in_request_ = true;
  return 0;
}

int HttpConnection::on_url(http_parser* p, const char* at, std::size_t len) noexcept {
  HttpConnection& c = *owner(p);
  const HttpLimits& l = c.server_->limits();
  c.header_bytes_ += len;
  if (c.url_.size() + len > l.max_url_bytes) {
    c.limit_status_ = 414;
    c.limit_text_ = fmt::format("the URL is longer than {} bytes", l.max_url_bytes);
    return 1;
  }
  c.url_.append(at, len);
  return 0;
}

int HttpConnection::on_header_field(http_parser* p, const char* at, std::size_t len) noexcept {
  HttpConnection& c = *owner(p);
  const HttpLimits& l = c.server_->limits();
  if (c.in_value_ || c.header_lines_ == 0) {
    ++c.header_lines_;
    c.field_.clear();
  }
  // Bounded by max_header_bytes below, like everything else in the header section.
  c.field_.append(at, std::min<std::size_t>(len, l.max_header_bytes));
  c.in_value_ = false;
  c.header_bytes_ += len;
  if (c.header_lines_ > l.max_headers) {
    c.limit_status_ = 431;
    c.limit_text_ = fmt::format("more than {} header lines", l.max_headers);
    return 1;
  }
  if (c.header_bytes_ > l.max_header_bytes) {
    c.limit_status_ = 431;
    c.limit_text_ = fmt::format("the request line and headers are longer than {} bytes", l.max_header_bytes);
    return 1;
  }
  return 0;
}

int HttpConnection::on_header_value(http_parser* p, const char* at, std::size_t len) noexcept {
  HttpConnection& c = *owner(p);
  const HttpLimits& l = c.server_->limits();
  c.in_value_ = true;
  c.header_bytes_ += len;
  if (c.header_bytes_ > l.max_header_bytes) {
    c.limit_status_ = 431;
    c.limit_text_ = fmt::format("the request line and headers are longer than {} bytes", l.max_header_bytes);
    return 1;
  }
  if (c.field_.size() == 13 && strncasecmp(c.field_.data(), "authorization", 13) == 0) c.authorization_.append(at, len);
  return 0;
}

int HttpConnection::on_headers_complete(http_parser* p) noexcept {
  HttpConnection& c = *owner(p);
  const HttpLimits& l = c.server_->limits();
  // A declared length past the bound is refused before any of the body is read.
  if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > l.max_body_bytes) {
    c.limit_status_ = 413;
    c.limit_text_ = fmt::format("the request body is longer than {} bytes", l.max_body_bytes);
    return -1;  // any value but 0, 1 and 2 is an error (1 and 2 mean "no body")
  }
  return 0;
}

int HttpConnection::on_body(http_parser* p, const char*, std::size_t len) noexcept {
  HttpConnection& c = *owner(p);
  const HttpLimits& l = c.server_->limits();
  c.body_bytes_ += len;
  if (c.body_bytes_ > l.max_body_bytes) {
    c.limit_status_ = 413;
    c.limit_text_ = fmt::format("the request body is longer than {} bytes", l.max_body_bytes);
    return 1;
  }
  return 0;
}

int HttpConnection::on_message_complete(http_parser* p) noexcept {
  HttpConnection& c = *owner(p);
  c.in_request_ = false;
  HttpRequest req;
  req.method = http_method_str(static_cast<http_method>(p->method));
  const std::size_t q = c.url_.find('?');
  req.path = c.url_.substr(0, q);
  if (q != std::string::npos) req.query = c.url_.substr(q + 1);
  req.authorization = std::move(c.authorization_);
  c.authorization_.clear();
  req.peer = c.conn_ != nullptr ? c.conn_->peer() : std::string();
  c.keep_alive_ = http_should_keep_alive(p) != 0;
  c.reply_sink_ = std::make_shared<DeferredReply::Sink>([&c](HttpResponse r) { c.answer_late(std::move(r)); });
  req.reply = DeferredReply(c.reply_sink_);
  c.routing_ = true;
  HttpResponse r = c.server_->route(req);
  c.routing_ = false;
  if (r.deferred) {
    if (!c.early_) {
      // Nothing more is parsed until the answer: on_data keeps the rest of this read.
      c.awaiting_reply_ = true;
      http_parser_pause(p, 1);
      return 0;
    }
    r = std::move(*c.early_);
    c.early_.reset();
  }
  c.reply_sink_.reset();
  c.early_.reset();  // a router that answered both ways: the returned answer wins
  if (!c.keep_alive_) r.close = true;
  c.respond(std::move(r));
  return 0;
}

}  // namespace twinmq::admin
