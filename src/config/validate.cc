// config/validate.cc — cross-element rules.
//
// The role rules follow ActiveMQ's Pure Master Slave: a broker is a slave exactly
// when it names its master (masterConnectorURI or <masterConnector>, never both —
// ActiveMQ rejects that too). Writing a setting of the other role is an error, not
// a no-op: a slave-only setting on a broker without a master URI most likely means
// the URI was forgotten, which would start a second master.
#include "config/validate.h"

#include <map>
#include <string>

#include "auth/authorization.h"
#include "auth/security.h"
#include "config/uri.h"

namespace twinmq::config {
namespace {

std::string at_line(int line) { return "line " + std::to_string(line); }

bool is_wildcard_host(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

void check_connectors(const Config& config, const Marks& marks, Diagnostics& diag) {
  std::map<std::string, int> names;  // name -> line
  const TransportConnector* replication = nullptr;
  bool any_stomp = false;
  bool any_broken = false;  // a connector already reported; it may have been meant as the stomp one
  for (std::size_t i = 0; i < config.connectors.size(); ++i) {
    const TransportConnector& c = config.connectors[i];
    const std::string who = "transportConnector '" + c.name + "'";
    if (auto [it, inserted] = names.emplace(c.name, c.line); !inserted)
      diag.error(c.line, "duplicate transportConnector name '" + c.name + "' (first at " + at_line(it->second) + ")");
    const std::string& scheme = c.endpoint.scheme;
    if (scheme == "stomp") any_stomp = true;
    if (scheme == "stomp" && c.name == "replication")
      diag.error(c.line, who + ": the name 'replication' is kept for the tcp:// or ssl:// replication listener");
    if (scheme == "tcp") {
      // An ssl:// listener reads as tcp:// with TLS (xml_loader.cc): name what was written.
      const char* written = c.tls ? "an ssl://" : "a tcp://";
      if (c.name != "replication")
        diag.error(c.line, who + ": " + written + " connector is the replication listener and must be named 'replication'");
      else if (replication != nullptr)
        diag.error(c.line, who + ": only one replication listener is allowed (first at " +
                               at_line(replication->line) + ")");
      if (replication == nullptr) replication = &c;
    }
    if (!marks.connector_uri_ok[i]) any_broken = true;
    if (!marks.connector_uri_ok[i] || c.endpoint.port == 0) continue;
    // Two listeners on one port cannot both bind; a wildcard host overlaps every host.
    for (std::size_t j = 0; j < i; ++j) {
      const TransportConnector& o = config.connectors[j];
      if (!marks.connector_uri_ok[j] || o.endpoint.port != c.endpoint.port) continue;
      if (o.endpoint.host == c.endpoint.host || is_wildcard_host(o.endpoint.host) ||
          is_wildcard_host(c.endpoint.host)) {
        diag.error(c.line, who + ": address " + endpoint_address(c.endpoint) + " is already used by transportConnector '" +
                               o.name + "' (" + at_line(o.line) + ")");
        break;
      }
    }
  }
  if (!any_stomp && !any_broken)
    diag.error(marks.broker_line,
               "no stomp connector: clients could not connect (add <transportConnector name=\"stomp\" "
               "uri=\"stomp://0.0.0.0:61613\"/> inside <transportConnectors>)");
}

void check_roles(const Config& config, const Marks& marks, Diagnostics& diag) {
  const bool slave = marks.master_uri_line != 0 || marks.master_connector_line != 0;
  if (marks.master_uri_line != 0 && marks.master_connector_line != 0)
    diag.error(marks.master_connector_line, "<masterConnector> and masterConnectorURI (" + at_line(marks.master_uri_line) +
                                                ") both name the master; give only one");
  const TransportConnector* replication = nullptr;
  for (const TransportConnector& c : config.connectors)
    if (c.endpoint.scheme == "tcp" && replication == nullptr) replication = &c;

  if (slave) {
    const int master_line = marks.master_uri_line != 0 ? marks.master_uri_line : marks.master_connector_line;
    const std::string where = std::string("(") +
                              (marks.master_uri_line != 0 ? "masterConnectorURI" : "<masterConnector>") + " at " +
                              at_line(master_line) + ")";
    const std::pair<int, const char*> master_only[] = {
        {marks.wait_for_slave_line, "waitForSlave"},
        {marks.wait_for_slave_timeout_line, "waitForSlaveTimeout"},
        {marks.shutdown_on_slave_failure_line, "shutdownOnSlaveFailure"},
        {marks.minimum_replicas_line, "minimumReplicas"}};
    for (const auto& [line, name] : master_only)
      if (line != 0) diag.error(line, std::string(name) + " is a master-only setting, but this broker is a slave " + where);
    // A replication listener on a slave opens when it is promoted, so the old master
    // can rejoin it as its slave (twinmq --rejoin).
    return;
  }

  if (marks.shutdown_on_master_failure_line != 0)
    diag.error(marks.shutdown_on_master_failure_line,
               "shutdownOnMasterFailure is a slave-only setting, but this broker has no masterConnectorURI or "
               "<masterConnector>, so it would start as a master");
  // A master setting that waits for a slave needs somewhere for the slave to connect.
  if (replication == nullptr) {
    const std::string needs =
        " needs a replication listener (<transportConnector name=\"replication\" uri=\"tcp://0.0.0.0:62001\"/>)";
    const auto& r = config.replication;
    if (r.wait_for_slave) diag.error(marks.wait_for_slave_line, "waitForSlave=\"true\"" + needs);
    if (r.shutdown_on_slave_failure)
      diag.error(marks.shutdown_on_slave_failure_line, "shutdownOnSlaveFailure=\"true\"" + needs);
    if (r.minimum_replicas > 0) diag.error(marks.minimum_replicas_line, "minimumReplicas=\"1\"" + needs);
  }
  if (marks.wait_for_slave_timeout_line != 0 && !config.replication.wait_for_slave)
    diag.error(marks.wait_for_slave_timeout_line,
               "waitForSlaveTimeout applies only with waitForSlave=\"true\" (how long to wait for a slave before "
               "giving up)");
}

// A witness decides between the two brokers of a pair, by the epoch of their stores.
void check_witness(const Config& config, const Marks& marks, Diagnostics& diag) {
  if (!config.witness) return;
  const bool slave = marks.master_uri_line != 0 || marks.master_connector_line != 0;
  bool replication = false;
  for (const TransportConnector& c : config.connectors) replication = replication || c.endpoint.scheme == "tcp";
  if (!slave && !replication)
    diag.error(marks.witness_line, "<witness> decides which broker of a pair serves, but this broker is not in a pair "
                                   "(no replication listener, no masterConnectorURI)");
  if (!config.persistent)
    diag.error(marks.witness_line, "<witness> needs persistent=\"true\": the pair's epoch it keeps is the store's");
}

void check_replication_timing(const Config& config, const Marks& marks, Diagnostics& diag) {
  const auto& r = config.replication;
  // The link is declared dead after link_timeout without traffic; with heart-beats
  // slower than that, an idle but healthy link would be cut.
  if (r.link_timeout_ms <= r.heart_beat_ms)
    diag.error(marks.link_timeout_line != 0 ? marks.link_timeout_line : marks.broker_line,
               "replicationLinkTimeout (" + std::to_string(r.link_timeout_ms) +
                   " ms) must be greater than replicationHeartbeatInterval (" + std::to_string(r.heart_beat_ms) +
                   " ms)");
}

void check_users(const Config& config, const Marks& marks, Diagnostics& diag) {
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < config.users.size(); ++i) {
    const User& u = config.users[i];
    if (u.username.empty()) continue;  // reported where it was read
    if (auto [it, inserted] = seen.emplace(u.username, marks.user_lines[i]); !inserted)
      diag.error(marks.user_lines[i],
                 "duplicate authenticationUser '" + u.username + "' (first at " + at_line(it->second) + ")");
  }
  // Without users the broker would run with authentication off: refuse, rather
  // than open a broker the file says is protected, unless the file says it is open.
  if (marks.auth_plugin_line != 0 && config.users.empty() && !config.security.anonymous_access_allowed)
    diag.error(marks.auth_plugin_line,
               "<simpleAuthenticationPlugin> has no <authenticationUser>; add users, remove the plugin, or say "
               "anonymousAccessAllowed=\"true\"");
}

// Who may connect without credentials (README "Security"): a listener anyone on the
// network can reach needs users, unless the file says anonymous access is meant.
// It judges what the broker would expose once the file is right, so it runs only on a
// file with no other error: a typo in a connector is not buried under a policy message.
void check_open_listeners(const Config& config, const Marks& marks, Diagnostics& diag) {
  if (!config.users.empty() || diag.error_count() != 0) return;
  for (std::size_t i = 0; i < config.connectors.size(); ++i) {
    const TransportConnector& c = config.connectors[i];
    if (!marks.connector_uri_ok[i] || is_loopback_host(c.endpoint.host)) continue;
    const std::string where = "transportConnector '" + c.name + "' listens on " + c.endpoint.host;
    if (c.endpoint.scheme == "tcp")
      diag.error(c.line, where +
                             " (not loopback) and no <authenticationUser> is configured: any host that reaches it "
                             "could attach as the slave and receive a copy of every message. Add users "
                             "(<plugins><simpleAuthenticationPlugin><users>) and a replicationGroup, or listen on "
                             "127.0.0.1");
    else if (c.endpoint.scheme == "stomp" && !config.security.anonymous_access_allowed)
      diag.error(c.line, where +
                             " (not loopback) and no <authenticationUser> is configured: anyone on the network "
                             "could connect. Add users, listen on 127.0.0.1, or allow it explicitly with "
                             "<plugins><simpleAuthenticationPlugin anonymousAccessAllowed=\"true\"/></plugins>");
  }
}

void check_replication_group(const Config& config, const Marks& marks, Diagnostics& diag) {
  const std::string& group = config.security.replication_group;
  if (group.empty() || marks.replication_group_line == 0) return;
  bool listener = false;
  for (const TransportConnector& c : config.connectors) listener = listener || c.endpoint.scheme == "tcp";
  if (!listener) {
    diag.error(marks.replication_group_line,
               "replicationGroup names who may attach as slave, but this broker has no replication listener "
               "(<transportConnector name=\"replication\" uri=\"tcp://...\"/>)");
    return;
  }
  bool member = false;
  for (const User& u : config.users)
    for (const std::string& g : auth::split_groups(u.groups)) member = member || g == group;
  if (!member)
    diag.error(marks.replication_group_line,
               "replicationGroup '" + group + "': no <authenticationUser> is in that group, so no slave could "
               "attach (add it to the groups of the user the slave logs in as)");
}

// TLS connectors need the broker's <sslContext>; client certificates need its trustedCAs.
void check_tls(const Config& config, const Marks& marks, Diagnostics& diag) {
  bool any_tls = false;
  // The replication link is mutual TLS: both ends need a certificate and trustedCAs.
  auto check_link = [&](int line, const std::string& who,
                        const std::string& ca = "is mutual TLS and needs trustedCAs=\"...\" on <sslContext>",
                        const std::string& whose = "the other broker's certificate") {
    any_tls = true;
    if (!config.ssl_context) {
      if (marks.ssl_context_line == 0)
        diag.error(line, who + " speaks TLS but the broker has no <sslContext certificate=\"...\" privateKey=\"...\" "
                               "trustedCAs=\"...\"/> (add one inside <broker>)");
    } else if (config.ssl_context->files.trusted_cas.empty()) {
      diag.error(line, who + " " + ca + " (line " + std::to_string(config.ssl_context->line) +
                           "): the CA that signed " + whose);
    }
  };
  if (config.replication.master_tls) check_link(marks.master_tls_line, "the link to the master (" + config.replication.master_uri + ")");
  // etcds://: the same files, trustedCAs being the CA of etcd's certificate.
  if (config.witness && (config.witness->uri.starts_with("etcds://") || config.witness->uri.starts_with("https://")))
    check_link(marks.witness_line, "<witness> uri (" + config.witness->uri + ")",
               "needs trustedCAs=\"...\" on <sslContext>", "etcd's certificate");
  for (const TransportConnector& c : config.connectors) {
    if (!c.tls) continue;
    any_tls = true;
    const std::string who = "transportConnector '" + c.name + "' (" + c.uri + ")";
    if (c.endpoint.scheme == "tcp") {
      check_link(c.line, who);
      continue;
    }
    if (!config.ssl_context) {
      if (marks.ssl_context_line == 0)
        diag.error(c.line, who + " speaks TLS but the broker has no <sslContext certificate=\"...\" "
                               "privateKey=\"...\"/> (add one inside <broker>)");
    } else if (c.client_auth != tls::ClientAuth::none && config.ssl_context->files.trusted_cas.empty()) {
      diag.error(c.line, who + std::string(c.client_auth == tls::ClientAuth::need ? " needClientAuth" : " wantClientAuth") +
                             " needs trustedCAs=\"...\" on <sslContext> (line " +
                             std::to_string(config.ssl_context->line) +
                             "): the CA certificates client certificates must be signed by");
    }
  }
  if (config.management && config.management->tls) any_tls = true;
  if (config.ssl_context && !any_tls)
    diag.warning(config.ssl_context->line, "<sslContext> is not used: no transportConnector speaks TLS "
                                           "(stomp+ssl://, ssl://), the master is not ssl://, the witness not etcds:// "
                                           "and the admin endpoint not https://");
}

// <managementContext> (README "<managementContext>"): beyond loopback every path but
// the probes asks for an admin user's password, so the endpoint must be https:// (a
// Basic password is sent with every request: the status page's poll every 2 s, every
// scrape) and there must be an admin user to ask for; https:// needs the certificate.
void check_management(const Config& config, const Marks& marks, Diagnostics& diag) {
  if (!config.management) return;
  const ManagementConfig& m = *config.management;
  const std::string who = "<managementContext uri=\"" + m.uri + "\">";
  if (m.tls && !config.ssl_context && marks.ssl_context_line == 0)
    diag.error(m.line, who + ": https:// needs the broker's <sslContext certificate=\"...\" privateKey=\"...\"/> "
                             "(the certificate the endpoint shows; add one inside <broker>), or use http:// on "
                             "127.0.0.1");
  if (m.loopback) return;
  const std::string where = "address '" + m.endpoint.host + "' is not a loopback address";
  if (!m.tls)
    diag.error(m.line, who + ": " + where +
                           ", and over http:// the admin password would cross the network in clear with every "
                           "request: use https://" + endpoint_address(m.endpoint) +
                           " (with the broker's <sslContext>), or listen on 127.0.0.1");
  bool admin = false;
  for (const User& u : config.users)
    for (const std::string& g : auth::split_groups(u.groups)) admin = admin || g == auth::kAdminGroup;
  if (!admin)
    diag.error(m.line, who + ": " + where +
                           ", so every path but /livez and /readyz needs a user of the 'admin' group, and no "
                           "<authenticationUser> has groups=\"admin\" (add one inside "
                           "<plugins><simpleAuthenticationPlugin><users>), or listen on 127.0.0.1");
}

void check_authorization(const Marks& marks, Diagnostics& diag) {
  if (marks.authorization_plugin_line != 0 && marks.authorization_entries == 0)
    diag.error(marks.authorization_plugin_line,
               "<authorizationPlugin> has no <authorizationEntry>; add entries or remove the plugin");
}

}  // namespace

void validate(Config& config, const Marks& marks, Diagnostics& diag) {
  check_connectors(config, marks, diag);
  check_roles(config, marks, diag);
  check_replication_timing(config, marks, diag);
  check_witness(config, marks, diag);
  check_users(config, marks, diag);
  check_open_listeners(config, marks, diag);
  check_replication_group(config, marks, diag);
  check_authorization(marks, diag);
  check_tls(config, marks, diag);
  check_management(config, marks, diag);
  if (config.journal.directory.empty()) config.journal.directory = config.data_directory + "/journal";
  if (!config.persistent && marks.persistence_adapter_line != 0)
    diag.warning(marks.persistence_adapter_line, "<persistenceAdapter> is ignored because persistent=\"false\"");
}

}  // namespace twinmq::config
