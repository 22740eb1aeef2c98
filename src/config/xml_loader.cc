// config/xml_loader.cc — ActiveMQ-style broker XML -> config::Config.
//
// DESIGN
//  - The module turns one XML file into the typed Config (config.h) that every
//    other module reads; nothing else in twinmq parses configuration. The CLI
//    (app/main.cc) calls load_config(), prints every error on stderr and exits 2.
//  - Main types: ElementReader (one element against its ElementSpec from
//    known_names: unknown attributes, ${name} substitution, typed values, child
//    elements), Marks (where things were written, for cross-element errors) and
//    Diagnostics (the collected "file:line: message" strings).
//  - Order of work: read the file -> tinyxml2 parse (one error if malformed) ->
//    walk <broker> top-down, reading each attribute into Config with its own
//    checks -> validate() the rules spanning elements -> derived defaults.
//  - The tricky thing is to report *all* problems without cascades: a bad value
//    is reported and the default kept, so later checks run on sane values; a
//    connector with a broken URI is marked so address and role checks skip it.
#include "config/xml_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "auth/password.h"
#include "config/diagnostics.h"
#include "config/element_reader.h"
#include "config/known_names.h"
#include "config/stomp_options.h"
#include "config/substitution.h"
#include "config/uri.h"
#include "config/validate.h"
#include "base/wildcard.h"
#include "witness/etcd_client.h"

namespace twinmq::config {
namespace {

using tinyxml2::XMLElement;

constexpr std::uint64_t kKb = 1024, kGb = kKb << 20;
// Size limits (memoryUsage, storeUsage, memoryLimit) go up to 1 pb: far past any machine,
// short of overflow in any sum.
constexpr std::uint64_t kMaxLimit = kGb << 20;

// ---------------------------------------------------------------------------
// The file and the XML parser.

struct FileText {
  std::string text;
  int error = 0;  // errno
};

FileText read_file(const std::string& path) {
  FileText out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      out.error = errno;  // e.g. EISDIR for a directory
      break;
    }
  }
  ::close(fd);
  return out;
}

// tinyxml2's ErrorStr() is "Error=NAME ErrorID=N (0xN) Line number=N[: detail]";
// we keep only the detail and say the rest in words.
std::string describe_xml_error(const tinyxml2::XMLDocument& doc) {
  std::string what;
  switch (doc.ErrorID()) {
    case tinyxml2::XML_ERROR_PARSING_ELEMENT: what = "cannot parse an element"; break;
    case tinyxml2::XML_ERROR_PARSING_ATTRIBUTE:
      what = "cannot parse an attribute (unquoted value, repeated name or stray character?)";
      break;
    case tinyxml2::XML_ERROR_PARSING_TEXT: what = "cannot parse text"; break;
    case tinyxml2::XML_ERROR_PARSING_CDATA: what = "unterminated CDATA section"; break;
    case tinyxml2::XML_ERROR_PARSING_COMMENT: what = "unterminated comment"; break;
    case tinyxml2::XML_ERROR_PARSING_DECLARATION: what = "cannot parse the <?xml ...?> declaration"; break;
    case tinyxml2::XML_ERROR_PARSING_UNKNOWN: what = "cannot parse a <!...> section"; break;
    case tinyxml2::XML_ERROR_MISMATCHED_ELEMENT: what = "closing tag does not match the open element"; break;
    case tinyxml2::XML_ELEMENT_DEPTH_EXCEEDED: what = "elements nested too deeply"; break;
    case tinyxml2::XML_ERROR_PARSING:
      what = "cannot parse (an element left open at the end of the file, or markup where none may be?)";
      break;
    default: what = "parse error"; break;
  }
  std::string detail = doc.ErrorStr();
  const auto at = detail.find("Line number=");
  const auto colon = at == std::string::npos ? std::string::npos : detail.find(": ", at);
  what += " [" + std::string(doc.ErrorName());
  if (colon != std::string::npos) what += ": " + detail.substr(colon + 2);
  what += "]";
  return what;
}

// ---------------------------------------------------------------------------
// The element walk.

// Reads the <broker> tree into one Config. Lives for one load_config_text() call,
// on its stack; borrows the Config, Diagnostics and Variables it is given.
class Loader {
 public:
  Loader(Config& config, Diagnostics& diag, const Variables& variables)
      : config_(config), diag_(diag), variables_(variables) {}

  void read_broker(const XMLElement& el) {
    ElementReader r(el, root_element(), diag_, variables_);
    marks_.broker_line = r.line();
    if (r.read_string("brokerName", config_.broker_name)) check_broker_name(r);
    if (r.read_string("dataDirectory", config_.data_directory) && config_.data_directory.empty())
      r.bad_value("dataDirectory", {"a directory path", {}});
    r.read_bool("persistent", config_.persistent);
    auto& rep = config_.replication;
    if (r.has("masterConnectorURI")) {
      marks_.master_uri_line = r.line_of("masterConnectorURI");
      read_master_uri(r, "masterConnectorURI", "masterConnectorURI");
    }
    mark_and_read_bool(r, "shutdownOnMasterFailure", rep.shutdown_on_master_failure,
                       marks_.shutdown_on_master_failure_line);
    mark_and_read_bool(r, "waitForSlave", rep.wait_for_slave, marks_.wait_for_slave_line);
    if (r.has("waitForSlaveTimeout")) marks_.wait_for_slave_timeout_line = r.line_of("waitForSlaveTimeout");
    r.read_uint("waitForSlaveTimeout", rep.wait_for_slave_timeout_ms, 100, 86'400'000, "milliseconds");
    mark_and_read_bool(r, "shutdownOnSlaveFailure", rep.shutdown_on_slave_failure,
                       marks_.shutdown_on_slave_failure_line);
    if (r.has("minimumReplicas")) marks_.minimum_replicas_line = r.line_of("minimumReplicas");
    r.read_uint("minimumReplicas", rep.minimum_replicas, 0, 1);
    r.read_uint("replicationHeartbeatInterval", rep.heart_beat_ms, 10, 60'000, "milliseconds");
    if (r.has("replicationLinkTimeout")) marks_.link_timeout_line = r.line_of("replicationLinkTimeout");
    r.read_uint("replicationLinkTimeout", rep.link_timeout_ms, 50, 600'000, "milliseconds");
    r.read_size("replicationRetainBytes", rep.retain_bytes, 0, 1024 * kGb);
    r.read_uint("replicationRetainPeriod", rep.retain_ms, 0, 2'592'000'000u, "milliseconds");
    r.read_size("maxTransactionSize", config_.max_transaction_size, 4 * kKb, broker::kMaxTransactionBytes);
    config_.system_usage.memory_limit = physical_memory() / 100 * kDefaultMemoryPercent;
    if (r.read_string("replicationGroup", config_.security.replication_group)) {
      marks_.replication_group_line = r.line_of("replicationGroup");
      if (auth::split_groups(config_.security.replication_group).size() != 1 ||
          config_.security.replication_group.find(',') != std::string::npos)
      {
        r.bad_value("replicationGroup", {"one group name (a group of <authenticationUser groups>)", {}});
        config_.security.replication_group.clear();
      }
    }

    r.for_each_child([&](const XMLElement& child, const ElementSpec& spec) {
      if (spec.name == "persistenceAdapter") marks_.persistence_adapter_line = child.GetLineNum();
      if (spec.name == "witness") {
        read_witness(child, spec);
        return;
      }
      if (spec.name == "managementContext") {
        read_management(child, spec);
        return;
      }
      if (spec.name == "sslContext") {
        read_ssl_context(child, spec);
        return;
      }
      read_container(child, spec);
    });
    validate(config_, marks_, diag_);
  }

 private:
  // Elements that only group others: no attributes, children dispatched by name.
  void read_container(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    if (spec.name == "simpleAuthenticationPlugin") read_authentication_plugin(r);
    if (spec.name == "authorizationPlugin") marks_.authorization_plugin_line = r.line();
    r.for_each_child([&](const XMLElement& child, const ElementSpec& child_spec) {
      const std::string_view name = child_spec.name;
      if (name == "transportConnector") read_connector(child, child_spec);
      else if (name == "authorizationEntry") read_authorization_entry(child, child_spec);
      else if (name == "policyEntry") read_policy_entry(child, child_spec);
      else if (name == "journal") read_journal(child, child_spec);
      else if (name == "authenticationUser") read_user(child, child_spec);
      else if (name == "masterConnector") read_master_connector(child, child_spec);
      else if (name == "systemUsage" && child_spec.parent == "systemUsage") read_system_usage(child, child_spec);
      else if (name == "memoryUsage" && child_spec.parent == "memoryUsage") read_memory_usage(child, child_spec);
      else if (name == "storeUsage" && child_spec.parent == "storeUsage") read_store_usage(child, child_spec);
      else read_container(child, child_spec);
    });
  }

  void mark_and_read_bool(ElementReader& r, std::string_view attribute, bool& out, int& mark) {
    if (r.has(attribute)) mark = r.line_of(attribute);
    r.read_bool(attribute, out);
  }

  void check_broker_name(ElementReader& r) {
    // The name prefixes message ids ("ID:<name>-<n>") and log lines, so keep it to
    // characters that need no quoting anywhere.
    bool ok = !config_.broker_name.empty();
    for (char c : config_.broker_name)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-');
    if (!ok) r.bad_value("brokerName", {"letters, digits, '.', '_' or '-'", {}});
  }

  // masterConnectorURI="..." or <masterConnector remoteURI="...">: tcp://host:port
  // of the master's replication listener.
  void read_master_uri(ElementReader& r, std::string_view attribute, const std::string& who) {
    std::string uri;
    if (!r.read_string(attribute, uri)) return;
    auto parsed = parse_uri(uri);
    std::string problem;
    if (parsed && parsed->endpoint.scheme == "ssl") {
      parsed->endpoint.scheme = "tcp";
      config_.replication.master_tls = true;
      marks_.master_tls_line = r.line_of(attribute);
    }
    if (!parsed) problem = parsed.error().message;
    else if (parsed->endpoint.scheme != "tcp")
      problem = "scheme '" + parsed->endpoint.scheme + "' is not supported (the master's replication listener is "
                "tcp://, or ssl:// with TLS)";
    else if (parsed->endpoint.port == 0)
      problem = "port 0 is not allowed (give the master's replication port)";
    else if (!parsed->options.empty())
      problem = "tcp:// takes no options, got '" + parsed->options.front().first + "'";
    if (!problem.empty()) {
      r.error_at(attribute, who + ": " + problem + " in uri '" + uri + "'");
      return;
    }
    config_.replication.master = parsed->endpoint;
    config_.replication.master_uri = uri;
  }

  void read_connector(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    TransportConnector c;
    c.line = r.line();
    const bool named = r.read_required("name", c.name);
    if (named && c.name.empty()) r.bad_value("name", {"a non-empty name", {}});
    if (!r.read_required("uri", c.uri)) {
      // Without a URI nothing below applies; keep it out of the address checks.
      if (named) add_connector(std::move(c), false);
      return;
    }
    const std::string who = "transportConnector '" + c.name + "'";
    auto fail = [&](const std::string& what, const std::string& hint = {}) {
      diag_.error(c.line, who + ": " + what + " in uri '" + c.uri + "'" + hint);
    };
    auto parsed = parse_uri(c.uri);
    if (!parsed) {
      fail(parsed.error().message);
      c.endpoint.scheme = uri_scheme(c.uri);
      add_connector(std::move(c), false);
      return;
    }
    c.endpoint = parsed->endpoint;
    bool ok = true;
    // ActiveMQ's spellings of STOMP over TLS; the nio variant is the same thing to us.
    if (c.endpoint.scheme == "stomp+ssl" || c.endpoint.scheme == "stomp+nio+ssl") {
      c.tls = true;
      c.endpoint.scheme = "stomp";
    } else if (c.endpoint.scheme == "ssl") {
      // The replication listener over TLS: always mutual (the slave shows a certificate).
      c.tls = true;
      c.endpoint.scheme = "tcp";
    }
    if (c.endpoint.scheme == "stomp") {
      auto options = parsed->options;
      std::erase_if(options, [&](const auto& option) {
        const bool need = option.first == "needClientAuth", want = option.first == "wantClientAuth";
        if (!need && !want) return false;
        if (!c.tls) {
          fail(option.first + " applies only to stomp+ssl:// connectors (TLS)");
          ok = false;
          return true;
        }
        auto on = parse_bool(option.second);
        if (!on) {
          fail(value_message(option.first, option.second, on.error()));
          ok = false;
        } else if (*on && (need || c.client_auth == tls::ClientAuth::none)) {
          // needClientAuth wins over wantClientAuth, whichever is written first.
          c.client_auth = need ? tls::ClientAuth::need : tls::ClientAuth::want;
        }
        return true;
      });
      for (const OptionProblem& p : apply_stomp_options(options, c.stomp)) {
        fail(p.what, p.hint);
        ok = false;
      }
    } else if (c.endpoint.scheme == "tcp") {
      for (const auto& option : parsed->options) {
        fail(std::string(c.tls ? "ssl://" : "tcp://") + " takes no options, got '" + option.first + "'" +
             (c.tls && option.first == "needClientAuth" ? " (the replication listener always requires the slave's "
                                                          "certificate)"
                                                        : ""));
        ok = false;
      }
    } else {
      fail("scheme '" + c.endpoint.scheme + "' is not supported",
           suggestion_suffix(c.endpoint.scheme, connector_schemes(), "'", "'"));
      ok = false;
    }
    add_connector(std::move(c), ok);
  }

  void add_connector(TransportConnector c, bool uri_ok) {
    config_.connectors.push_back(std::move(c));
    marks_.connector_uri_ok.push_back(uri_ok);
  }

  void read_policy_entry(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    PolicyEntry entry;
    const bool queue = r.has("queue"), topic = r.has("topic");
    if (queue == topic) {
      diag_.error(r.line(), queue ? "<policyEntry> has both queue and topic (write one entry for each)"
                                  : "<policyEntry> needs a queue=\"...\" or topic=\"...\" pattern");
    } else {
      const char* attribute = queue ? "queue" : "topic";
      entry.is_topic = topic;
      if (r.read_string(attribute, entry.pattern)) {
        if (auto problem = wildcard_problem(entry.pattern))
          r.error_at(attribute, "<policyEntry> " + std::string(attribute) + " pattern '" + entry.pattern + "' " + *problem);
      }
    }
    broker::DestinationPolicy& p = entry.policy;
    r.read_uint("maximumRedeliveries", p.maximum_redeliveries, 0, 1'000'000);
    std::string dlq;
    if (r.read_string("deadLetterQueue", dlq)) {
      if (dlq.starts_with("/queue/") && dlq.size() > 7 && dlq.find_first_of("*> ") == std::string::npos)
        p.dead_letter_queue = dlq;
      else
        r.bad_value("deadLetterQueue", {"a queue name starting with /queue/", {}});
    }
    r.read_uint("queuePrefetch", p.queue_prefetch, 1, 1'000'000);
    r.read_uint("topicPrefetch", p.topic_prefetch, 1, 1'000'000);
    r.read_uint("topicPendingLimit", p.topic_pending_limit, 0, 10'000'000);
    r.read_uint("idCacheSize", p.id_cache_size, 0, broker::kMaxIdCacheSize);
    r.read_size("memoryLimit", p.memory_limit, 0, kMaxLimit);
    r.read_bool("producerFlowControl", p.producer_flow_control);
    r.read_bool("gcInactiveDestinations", p.gc_inactive);
    r.read_uint("inactiveTimoutBeforeGC", p.inactive_timeout_before_gc_ms, 1000, 604'800'000);
    config_.policies.push_back(std::move(entry));
  }

  void read_journal(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    JournalConfig& j = config_.journal;
    if (r.read_string("directory", j.directory) && j.directory.empty())
      r.bad_value("directory", {"a directory path", {}});
    r.read_bool("syncOnWrite", j.sync_on_write);
    r.read_size("maxSegmentSize", j.max_segment_size, 4 * kKb, 4 * kGb);
  }

  // The bean inside <systemUsage>: its attributes, then its <memoryUsage> and
  // <storeUsage> property elements.
  void read_system_usage(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    SystemUsageConfig& u = config_.system_usage;
    r.read_bool("sendFailIfNoSpace", u.send_fail_if_no_space);
    r.read_uint("sendFailIfNoSpaceAfterTimeout", u.send_fail_if_no_space_after_timeout_ms, 1, 86'400'000,
                "milliseconds");
    if (u.send_fail_if_no_space && u.send_fail_if_no_space_after_timeout_ms != 0)
      diag_.warning(r.line_of("sendFailIfNoSpaceAfterTimeout"),
                    "sendFailIfNoSpaceAfterTimeout has no effect with sendFailIfNoSpace=\"true\" (a SEND that finds "
                    "no room fails at once)");
    r.for_each_child([&](const XMLElement& child, const ElementSpec& child_spec) { read_container(child, child_spec); });
  }

  void read_memory_usage(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    SystemUsageConfig& u = config_.system_usage;
    if (r.has("percentOfJvmHeap"))
      r.error_at("percentOfJvmHeap",
                 "<memoryUsage> percentOfJvmHeap has no meaning for twinmq (there is no JVM heap): give "
                 "limit=\"512 mb\", or percentLimit=\"25\" for a share of physical memory");
    if (r.has("limit") && r.has("percentLimit")) {
      r.error_at("percentLimit", "<memoryUsage> takes limit or percentLimit, not both");
      return;
    }
    if (r.read_size("limit", u.memory_limit, 0, kMaxLimit)) u.memory_limit_set = true;
    unsigned percent = 0;
    if (r.read_uint("percentLimit", percent, 1, 100, "percent of physical memory")) {
      u.memory_limit = physical_memory() / 100 * percent;
      u.memory_limit_set = true;
    }
  }

  void read_store_usage(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    if (r.has("percentLimit"))
      r.error_at("percentLimit",
                 "<storeUsage> percentLimit (a share of the disk) is not supported: give limit=\"100 gb\" "
                 "(the journal's live bytes; 0 = unlimited)");
    r.read_size("limit", config_.system_usage.store_limit, 0, kMaxLimit);
  }

  static std::uint64_t physical_memory() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : 0;
  }

  void read_user(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    User u;
    if (r.read_required("username", u.username) && u.username.empty())
      r.bad_value("username", {"a non-empty name", {}});
    if (r.read_required("password", u.password)) {
      auto stored = auth::StoredPassword::parse(u.password);
      if (!stored)
        r.error_at("password", "<authenticationUser> '" + u.username + "': password " + stored.error().message);
      else
        u.hashed = stored->hashed();
    }
    r.read_string("groups", u.groups);
    config_.users.push_back(std::move(u));
    marks_.user_lines.push_back(r.line());
  }

  // <simpleAuthenticationPlugin anonymousAccessAllowed maximumFailedLogins failedLoginWindow>
  void read_authentication_plugin(ElementReader& r) {
    SecurityConfig& s = config_.security;
    marks_.auth_plugin_line = r.line();
    s.authentication_plugin = true;
    r.read_bool("anonymousAccessAllowed", s.anonymous_access_allowed);
    r.read_uint("maximumFailedLogins", s.max_failed_logins, 0, 1'000'000);
    r.read_uint("failedLoginWindow", s.failed_login_window_ms, 1000, 86'400'000, "milliseconds");
  }

  // <authorizationEntry queue|topic="pattern" read="groups" write="groups" admin="groups"/>
  void read_authorization_entry(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    ++marks_.authorization_entries;
    auth::AuthorizationEntry entry;
    const bool queue = r.has("queue"), topic = r.has("topic");
    if (queue == topic) {
      diag_.error(r.line(), queue ? "<authorizationEntry> has both queue and topic (write one entry for each)"
                                  : "<authorizationEntry> needs a queue=\"...\" or topic=\"...\" pattern");
      return;
    }
    const char* attribute = queue ? "queue" : "topic";
    entry.is_topic = topic;
    if (!r.read_string(attribute, entry.pattern)) return;
    if (auto problem = wildcard_problem(entry.pattern)) {
      r.error_at(attribute, "<authorizationEntry> " + std::string(attribute) + " pattern '" + entry.pattern + "' " + *problem);
      return;
    }
    std::string groups;
    if (r.read_string("read", groups)) entry.read = auth::split_groups(groups);
    if (r.read_string("write", groups)) entry.write = auth::split_groups(groups);
    if (r.read_string("admin", groups)) entry.admin = auth::split_groups(groups);
    config_.security.authorization.push_back(std::move(entry));
  }

  void read_witness(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    marks_.witness_line = r.line();
    WitnessConfig w;
    if (r.read_required("uri", w.uri)) {
      if (auto parsed = witness::parse_etcd_uri(w.uri); !parsed) r.error_at("uri", "<witness> uri: " + parsed.error().message);
    }
    if (r.read_required("key", w.key)) {
      const bool ok = w.key.size() > 1 && w.key.front() == '/' && w.key.back() != '/' &&
                      w.key.find_first_of(" \t\r\n") == std::string::npos;
      if (!ok) r.bad_value("key", {"an etcd key path like /twinmq/pairs/orders (starting with '/', no spaces)", {}});
    }
    if (r.read_uint("leaseMillis", w.lease_ms, 2000, 60'000, "milliseconds") && w.lease_ms % 1000 != 0)
      r.bad_value("leaseMillis", {"a whole number of seconds in milliseconds (etcd leases count seconds), e.g. 3000", {}});
    r.read_string("userName", w.user_name);
    r.read_string("password", w.password);
    if (!w.user_name.empty() && !r.has("password")) r.error_at("userName", "<witness> userName needs a password");
    config_.witness = std::move(w);
  }

  // <managementContext uri="http(s)://host:port"/> (ActiveMQ's element name). What an
  // address beyond loopback needs (https://, an admin user) is checked once the whole
  // file is read: the users and <sslContext> may come after it (check_management).
  void read_management(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    ManagementConfig m;
    m.line = r.line();
    m.uri = "http://127.0.0.1:8162";
    r.read_string("uri", m.uri);
    auto parsed = parse_uri(m.uri);
    std::string problem;
    if (!parsed) problem = parsed.error().message;
    else if (parsed->endpoint.scheme != "http" && parsed->endpoint.scheme != "https")
      problem = "scheme '" + parsed->endpoint.scheme +
                "' is not supported (the admin endpoint is http://host:port, or https://host:port)";
    else if (!parsed->options.empty())
      problem = parsed->endpoint.scheme + ":// takes no options, got '" + parsed->options.front().first + "'";
    if (!problem.empty()) {
      r.error_at("uri", "<managementContext> uri: " + problem + " in '" + m.uri + "'");
      return;
    }
    m.endpoint = parsed->endpoint;
    m.tls = m.endpoint.scheme == "https";
    m.loopback = is_loopback_host(m.endpoint.host);
    config_.management = std::move(m);
  }

  // <sslContext certificate privateKey trustedCAs/>, or ActiveMQ's
  // <sslContext><sslContext .../></sslContext>. The files are opened here, so a missing
  // file, a file without PEM in it or a key that does not match the certificate stops
  // the broker at start-up, at this line, instead of failing every handshake later.
  void read_ssl_context(const XMLElement& el, const ElementSpec& spec) {
    SslContextConfig ssl;
    ssl.line = el.GetLineNum();
    marks_.ssl_context_line = ssl.line;
    bool given = false;
    bool ok = true;
    auto read_attributes = [&](ElementReader& r) {
      for (const char* java : {"keyStore", "trustStore", "keyStorePassword", "trustStorePassword"}) {
        if (!r.has(java)) continue;
        r.error_at(java, std::string("<sslContext> ") + java +
                             ": twinmq reads PEM files, not Java keystores; convert them (keytool -importkeystore "
                             "-deststoretype PKCS12, then openssl pkcs12 -nokeys / -nocerts -nodes) and give "
                             "certificate=\"...\" privateKey=\"...\" trustedCAs=\"...\"");
        ok = false;
      }
      const bool here = r.has("certificate") || r.has("privateKey") || r.has("trustedCAs");
      if (here && given) {
        r.error_at("certificate", "<sslContext>: give the attributes on one <sslContext> element, not on both levels");
        ok = false;
        return;
      }
      if (!here) return;
      given = true;
      ssl.line = r.line();
      read_path(r, "certificate", ssl.files.certificate);
      read_path(r, "privateKey", ssl.files.private_key);
      read_path(r, "trustedCAs", ssl.files.trusted_cas);
    };
    ElementReader r(el, spec, diag_, variables_);
    read_attributes(r);
    r.for_each_child([&](const XMLElement& child, const ElementSpec& child_spec) {
      ElementReader inner(child, child_spec, diag_, variables_);
      inner.expect_no_children();
      read_attributes(inner);
    });
    if (!ok) return;
    if (ssl.files.certificate.empty() || ssl.files.private_key.empty()) {
      diag_.error(ssl.line, "<sslContext> needs certificate=\"...\" and privateKey=\"...\" (PEM files; "
                            "trustedCAs=\"...\" too for client certificates)");
      return;
    }
    // Checked as a server context (every file it names must load); the client-auth
    // and role checks that need the connectors are in check_tls.
    if (auto context = tls::Context::create(tls::Role::server, ssl.files); !context) {
      diag_.error(ssl.line, "<sslContext> " + context.error().message);
      return;
    }
    config_.ssl_context = std::move(ssl);
  }

  // A path attribute; ActiveMQ's "file:" URL prefix is accepted and taken off.
  void read_path(ElementReader& r, std::string_view attribute, std::string& out) {
    if (!r.read_string(attribute, out)) return;
    if (out.starts_with("file:")) out.erase(0, 5);
    if (out.empty()) r.bad_value(attribute, {"a file path", {}});
  }

  void read_master_connector(const XMLElement& el, const ElementSpec& spec) {
    ElementReader r(el, spec, diag_, variables_);
    r.expect_no_children();
    marks_.master_connector_line = r.line();
    if (!r.has("remoteURI")) {
      std::string unused;
      r.read_required("remoteURI", unused);
    } else {
      read_master_uri(r, "remoteURI", "<masterConnector> remoteURI");
    }
    r.read_string("userName", config_.replication.user_name);
    r.read_string("password", config_.replication.password);
  }

  Config& config_;
  Diagnostics& diag_;
  const Variables& variables_;
  Marks marks_;
};

// Finds the single <broker> element among the document's top-level nodes.
const XMLElement* find_root(const tinyxml2::XMLDocument& doc, Diagnostics& diag) {
  const XMLElement* root = nullptr;
  for (const XMLElement* el = doc.FirstChildElement(); el != nullptr; el = el->NextSiblingElement()) {
    if (root != nullptr) {
      diag.error(el->GetLineNum(), "a second top-level element <" + std::string(el->Name()) +
                                       "> (the file holds exactly one <broker>)");
      continue;
    }
    root = el;
  }
  if (root == nullptr) {
    diag.error(0, "no <broker> element (the file has no XML element at all)");
    return nullptr;
  }
  const std::string_view name = root->Name();
  if (name != "broker") {
    std::string text = "the root element is <" + std::string(name) + ">, expected <broker>";
    if (name == "beans")
      text += " (twinmq reads the <broker> element itself, not a Spring <beans> file)";
    else if (nearest_name(name, std::span<const std::string_view>(&root_element().name, 1)))
      text += " (did you mean <broker>?)";
    diag.error(root->GetLineNum(), text);
    return nullptr;
  }
  return root;
}

LoadResult finish(Config config, Diagnostics& diag) {
  LoadResult result;
  result.config = std::move(config);
  result.errors = diag.take_errors();
  result.warnings = diag.take_warnings();
  return result;
}

}  // namespace

LoadResult load_config_text(const std::string& text, const std::string& name, const Defines& defines) {
  Diagnostics diag(name);
  Config config;
  config.source_file = name;
  // tinyxml2 would stop at a NUL and parse a prefix; a config with NULs is a binary
  // or UTF-16 file, and saying so beats a puzzling parse error (nats-server#2182).
  if (const auto nul = text.find('\0'); nul != std::string::npos) {
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n'));
    diag.error(line, "the file contains NUL bytes: not a UTF-8 XML file (UTF-16 or binary?)");
    return finish(std::move(config), diag);
  }
  tinyxml2::XMLDocument doc;
  doc.Parse(text.data(), text.size());
  if (doc.ErrorID() == tinyxml2::XML_ERROR_EMPTY_DOCUMENT) {
    diag.error(0, "the file is empty (expected a <broker> element)");
    return finish(std::move(config), diag);
  }
  if (doc.Error()) {
    diag.error(doc.ErrorLineNum(), "malformed XML: " + describe_xml_error(doc));
    return finish(std::move(config), diag);
  }
  const Variables variables(defines);
  if (const XMLElement* root = find_root(doc, diag)) {
    Loader loader(config, diag, variables);
    loader.read_broker(*root);
  }
  return finish(std::move(config), diag);
}

LoadResult load_config(const std::string& path, const Defines& defines) {
  FileText file = read_file(path);
  if (file.error != 0) {
    Diagnostics diag(path);
    diag.error(0, std::string("cannot read file: ") + std::strerror(file.error));
    Config config;
    config.source_file = path;
    return finish(std::move(config), diag);
  }
  return load_config_text(file.text, path, defines);
}

}  // namespace twinmq::config
