// config/config.h — the typed configuration every other module sees.
//
// Loaded from ActiveMQ-style XML by config/xml_loader (tinyxml2), with ${name}
// substitution from -Dname=value overrides and the environment. Defaults here are the
// documented defaults (README "Configuration reference").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/authorization.h"  // AuthorizationEntry
#include "broker/broker.h"  // DestinationPolicy
#include "tls/context.h"    // ClientAuth

namespace twinmq::config {

// scheme://host:port?opt=value&...  (stomp:// for clients, tcp:// for replication)
struct Endpoint {
  std::string scheme;
  std::string host;       // name, IPv4, or IPv6 without its [brackets] ("::1"), as uv_ip6_addr takes it
  std::uint16_t port = 0;  // 0 = let the OS choose (tests); the bound port is logged
};

// STOMP transport options (ActiveMQ names, as query options on the stomp:// URI).
struct StompOptions {
  std::size_t max_frame_size = 10u << 20;        // wireFormat.maxFrameSize
  std::size_t max_header_section = 64u << 10;    // wireFormat.maxHeaderSize (our name; bytes of command + headers)
  std::size_t max_headers = 1000;                // wireFormat.maxHeaders
  std::uint32_t connect_timeout_ms = 30000;      // transport.connectAttemptTimeout: CONNECT must arrive within
  double heart_beat_grace = 1.5;                 // transport.hbGracePeriodMultiplier
  std::uint32_t server_heart_beat_ms = 10000;    // transport.heartBeat: the most we offer (sx, sy) in CONNECTED
  std::uint32_t min_heart_beat_ms = 100;         // transport.minHeartBeat: the least, however fast a client asks
  std::size_t max_pending_output = 64u << 20;    // a consumer further behind than this is closed
  // What one client may take (README "Configuration reference", stomp:// query options).
  std::uint32_t frame_timeout_ms = 60000;        // transport.frameTimeout: a begun frame must end within
  std::uint32_t max_connections = 10000;         // maximumConnections (ActiveMQ's transport option)
  std::uint32_t max_subscriptions = 1000;        // maximumConsumersAllowedPerConnection (ActiveMQ's name)
  std::uint32_t max_transactions = 10;           // maximumTransactionsPerConnection
  std::uint32_t max_unacked = 10000;             // maximumUnacknowledgedPerConnection
};

struct TransportConnector {
  std::string name;   // "stomp", "replication", ...
  std::string uri;    // as written (for logs)
  Endpoint endpoint;  // scheme "stomp" also for stomp+ssl://, "tcp" for ssl:// (then tls is set)
  StompOptions stomp; // for stomp:// connectors
  // stomp+ssl:// (or stomp+nio+ssl://), or ssl:// for the replication listener: TLS
  // with the broker's <sslContext> (the replication listener then requires the slave's
  // certificate: mutual TLS).
  bool tls = false;
  tls::ClientAuth client_auth = tls::ClientAuth::none;  // needClientAuth / wantClientAuth
  int line = 0;       // where it was declared
};

struct PolicyEntry {
  std::string pattern;     // ActiveMQ wildcard: ">" everything, "orders.>" prefix, "a.*.c"
  bool is_topic = false;   // queue="..." or topic="..."
  broker::DestinationPolicy policy;
};

struct JournalConfig {
  std::string directory;              // default: <dataDirectory>/journal
  bool sync_on_write = true;          // fdatasync before receipts
  std::uint64_t max_segment_size = 32ull << 20;
};

struct User {
  std::string username;
  std::string password;  // plain text, or a crypt(3) hash (auth/password.h): checked when read
  std::string groups;
  bool hashed = false;   // password is a crypt(3) hash
};

// <plugins>: <simpleAuthenticationPlugin> and <authorizationPlugin> (README "Security").
struct SecurityConfig {
  bool authentication_plugin = false;      // <simpleAuthenticationPlugin> is present
  bool anonymous_access_allowed = false;   // anonymousAccessAllowed
  std::uint32_t max_failed_logins = 5;     // maximumFailedLogins (per address, per window; 0 = off)
  std::uint32_t failed_login_window_ms = 60'000;  // failedLoginWindow
  std::vector<auth::AuthorizationEntry> authorization;  // <authorizationEntry> in file order
  std::string replication_group;           // <broker replicationGroup>: who may attach as slave
};

struct ReplicationConfig {
  // Slave side: masterConnectorURI or <masterConnector remoteURI userName password>.
  std::optional<Endpoint> master;
  std::string master_uri;
  bool master_tls = false;  // ssl://: mutual TLS with the broker's <sslContext>
  std::string user_name;
  std::string password;
  bool shutdown_on_master_failure = false;
  // Master side.
  bool wait_for_slave = false;
  std::uint32_t wait_for_slave_timeout_ms = 600'000;  // waitForSlaveTimeout (ActiveMQ's default: 10 min)
  bool shutdown_on_slave_failure = false;
  int minimum_replicas = 0;
  std::uint32_t heart_beat_ms = 500;
  std::uint32_t link_timeout_ms = 3000;
  // replicationRetainBytes: journal segments a compaction keeps for a slave that is
  // away, so it catches up on return instead of getting a full copy (store/journal.h
  // "RETAINED SEGMENTS"). 0 = none.
  std::uint64_t retain_bytes = 128ull << 20;
  // replicationRetainPeriod: how long a kept segment stays after it was last written;
  // then it is released and a slave that needed it gets a full copy. 0 = no time bound.
  std::uint32_t retain_ms = 86'400'000;
};

// <witness uri key leaseMillis userName password/>: the etcd key that decides which
// broker of the pair serves (README "The witness").
struct WitnessConfig {
  std::string uri;                 // etcd://host:port,host:port (checked by witness::parse_etcd_uri)
  std::string key;                 // e.g. /twinmq/pairs/orders
  std::uint32_t lease_ms = 3000;   // whole seconds: etcd counts lease TTLs in seconds
  std::string user_name;
  std::string password;
};

// <systemUsage><systemUsage ...><memoryUsage><memoryUsage limit/>...: what the broker
// may hold (README "Memory, store limits and producer flow control").
struct SystemUsageConfig {
  // memoryUsage: bytes of messages held in memory, as broker/memory_usage.h counts
  // them; 0 = unlimited. Unset = kDefaultMemoryPercent of physical memory.
  std::uint64_t memory_limit = 0;
  bool memory_limit_set = false;
  // storeUsage: live bytes in the journal (what compaction keeps); 0 = unlimited.
  std::uint64_t store_limit = 100ull << 30;  // ActiveMQ's default, 100 gb
  // A SEND that finds no room gets an ERROR at once instead of waiting...
  bool send_fail_if_no_space = false;
  // ...or after waiting this long (0 = wait as long as it takes).
  std::uint32_t send_fail_if_no_space_after_timeout_ms = 0;
};

// The default memoryUsage limit: a quarter of physical memory, because the pair's two
// brokers may share a machine with each other and with the page cache the journal needs.
inline constexpr unsigned kDefaultMemoryPercent = 25;

// <sslContext certificate privateKey trustedCAs/> (or ActiveMQ's nesting
// <sslContext><sslContext .../></sslContext>): the PEM files of the broker's TLS
// connectors (README "TLS"). Paths as written (after ${name} substitution and a
// leading "file:" taken off), relative ones from the working directory.
struct SslContextConfig {
  tls::ContextFiles files;
  int line = 0;  // of the element that holds the attributes
};

// <managementContext uri="http://127.0.0.1:8162"/>: the HTTP admin endpoint
// (README "Admin endpoint, metrics and health checks"). Absent = no endpoint.
// On a loopback address the read-only paths are open; anywhere else it must be
// https:// and every path but /livez and /readyz needs a user of the `admin` group
// (config/validate.cc check_management).
struct ManagementConfig {
  std::string uri;    // as written (for logs)
  Endpoint endpoint;  // scheme "http" or "https"
  bool tls = false;   // https://: served with the broker's <sslContext>
  bool loopback = true;  // host in 127.0.0.0/8, ::1 or localhost
  int line = 0;
};

struct Config {
  std::string source_file;
  std::string broker_name = "localhost";
  std::string data_directory = "data";
  bool persistent = true;
  std::vector<TransportConnector> connectors;
  std::vector<PolicyEntry> policies;   // first match wins, in file order
  JournalConfig journal;
  std::vector<User> users;
  SecurityConfig security;
  ReplicationConfig replication;
  std::optional<WitnessConfig> witness;
  std::optional<ManagementConfig> management;
  std::optional<SslContextConfig> ssl_context;
  // maxTransactionSize: what one STOMP transaction may hold (its sends and acks as the
  // commit event encodes them); at most broker::kMaxTransactionBytes.
  std::size_t max_transaction_size = 64u << 20;
  SystemUsageConfig system_usage;

  // The policy for a destination ("/queue/x" or "/topic/x"): first matching entry,
  // else defaults.
  broker::DestinationPolicy policy_for(std::string_view destination) const;
  // The first connector with scheme "stomp" (nullptr if none).
  const TransportConnector* stomp_connector() const;
};

}  // namespace twinmq::config
