// config/validate.h — the checks that need more than one element: connector
// names and addresses, the master/slave role, replication settings, users. Run
// once after the whole file has been read, on whatever was read successfully.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"

namespace twinmq::config {

// Where things were written (0 = absent), so cross-element errors can point at the
// line the user has to change. Filled by the loader as it reads.
struct Marks {
  int broker_line = 0;
  int master_uri_line = 0;        // masterConnectorURI attribute
  int master_connector_line = 0;  // <masterConnector> element
  // Role-specific attributes, by presence (writing one at all declares the role).
  int shutdown_on_master_failure_line = 0;
  int wait_for_slave_line = 0;
  int wait_for_slave_timeout_line = 0;
  int shutdown_on_slave_failure_line = 0;
  int minimum_replicas_line = 0;
  int link_timeout_line = 0;
  int persistence_adapter_line = 0;
  int auth_plugin_line = 0;
  int authorization_plugin_line = 0;
  int authorization_entries = 0;  // <authorizationEntry> elements written, valid or not
  int replication_group_line = 0;
  int witness_line = 0;
  int ssl_context_line = 0;
  int master_tls_line = 0;   // an ssl:// masterConnectorURI or remoteURI  // <sslContext>, usable or not (a broken one was reported where it is)
  std::vector<bool> connector_uri_ok;  // parallel to Config::connectors
  std::vector<int> user_lines;         // parallel to Config::users
};

// Reports every cross-element problem and fills derived defaults (journal directory).
void validate(Config& config, const Marks& marks, Diagnostics& diag);

}  // namespace twinmq::config
