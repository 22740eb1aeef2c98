// EtcdClient: the v3 requests as JSON, and etcd's answers read back into our types.
// The HTTP side (endpoints, auth, resend) is witness/etcd_transport.cc.
#include "witness/etcd_client.h"

#include <charconv>

#include "base/base64.h"
#include "witness/etcd_transport.h"

namespace twinmq::witness {

using nlohmann::json;

namespace {

// proto3 JSON writes int64 as a string: lease ids do not fit a double.
std::string i64(std::int64_t v) { return std::to_string(v); }

// Why an answer could not be read; becomes a bad_response naming the endpoint and path.
using Parsed = std::expected<void, std::string>;

// An int64 field: absent means 0 (proto3 leaves zero values out); a string of digits
// or a JSON integer otherwise.
Parsed read_i64(const json& obj, const char* name, std::int64_t& out) {
  out = 0;
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return {};
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return {};
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return {};
  }
  return std::unexpected("field '" + std::string(name) + "' is not an integer");
}

// A bytes field (base64); absent means empty.
Parsed read_bytes(const json& obj, const char* name, std::string& out) {
  out.clear();
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return std::unexpected("field '" + std::string(name) + "' is not a string");
  auto decoded = base64_decode(it->get_ref<const std::string&>());
  if (!decoded) return std::unexpected("field '" + std::string(name) + "' is not base64");
  out = std::move(*decoded);
  return {};
}

Parsed read_kv(const json& j, KeyValue& kv) {
  if (!j.is_object()) return std::unexpected("a key-value is not an object");
  for (Parsed p : {read_bytes(j, "key", kv.key), read_bytes(j, "value", kv.value),
                   read_i64(j, "create_revision", kv.create_revision), read_i64(j, "mod_revision", kv.mod_revision),
                   read_i64(j, "version", kv.version), read_i64(j, "lease", kv.lease)}) {
    if (!p) return p;
  }
  return {};
}

// The first of "kvs" in a range answer (we only ask for one key), or nullopt.
Parsed read_first_kv(const json& range, std::optional<KeyValue>& out) {
  out.reset();
  const auto kvs = range.find("kvs");
  if (kvs == range.end() || kvs->is_null()) return {};
  if (!kvs->is_array()) return std::unexpected("'kvs' is not an array");
  if (kvs->empty()) return {};
  KeyValue kv;
  if (Parsed p = read_kv(kvs->front(), kv); !p) return p;
  out = std::move(kv);
  return {};
}

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::version: return "VERSION";
    case Compare::Target::create: return "CREATE";
    case Compare::Target::mod: return "MOD";
    case Compare::Target::value: return "VALUE";
    case Compare::Target::lease: return "LEASE";
  }
  return "VERSION";
}

const char* op_name(Compare::Op op) {
  switch (op) {
    case Compare::Op::equal: return "EQUAL";
    case Compare::Op::greater: return "GREATER";
    case Compare::Op::less: return "LESS";
    case Compare::Op::not_equal: return "NOT_EQUAL";
  }
  return "EQUAL";
}

json compare_json(const Compare& c) {
  json j = {{"key", base64_encode(c.key)}, {"target", target_name(c.target)}, {"result", op_name(c.op)}};
  switch (c.target) {
    case Compare::Target::version: j["version"] = i64(c.number); break;
    case Compare::Target::create: j["create_revision"] = i64(c.number); break;
    case Compare::Target::mod: j["mod_revision"] = i64(c.number); break;
    case Compare::Target::value: j["value"] = base64_encode(c.value); break;
    case Compare::Target::lease: j["lease"] = i64(c.number); break;
  }
  return j;
}

json op_json(const TxnOp& op) {
  switch (op.kind) {
    case TxnOp::Kind::put: {
      json put = {{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}};
      if (op.lease != 0) put["lease"] = i64(op.lease);
      return {{"request_put", std::move(put)}};
    }
    case TxnOp::Kind::del: return {{"request_delete_range", {{"key", base64_encode(op.key)}}}};
    case TxnOp::Kind::get: return {{"request_range", {{"key", base64_encode(op.key)}}}};
  }
  return json::object();
}

// The answer could not be read: say where it came from and what was wrong.
std::unexpected<Error> bad_answer(const std::string& endpoint, std::string_view path, const std::string& what) {
  return make_error(EtcdErrc::bad_response, endpoint + ": " + std::string(path) + ": " + what);
}

Error to_error(EtcdFailure f) { return Error{static_cast<int>(f.errc), std::move(f.message)}; }

}  // namespace

TxnOp TxnOp::put(std::string k, std::string v, std::int64_t lease) {
  return TxnOp{Kind::put, std::move(k), std::move(v), lease};
}
TxnOp TxnOp::del(std::string k) { return TxnOp{Kind::del, std::move(k), {}, 0}; }
TxnOp TxnOp::get(std::string k) { return TxnOp{Kind::get, std::move(k), {}, 0}; }

EtcdClient::EtcdClient(EtcdOptions o) : transport_(std::make_unique<EtcdTransport>(std::move(o))) {}
EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::endpoint() const { return transport_->endpoint(); }
void EtcdClient::interrupt() { transport_->interrupt(); }

Result<LeaseGrant> EtcdClient::grant(std::int64_t ttl_s) {
  constexpr std::string_view kPath = "/v3/lease/grant";
  auto answer = transport_->post(kPath, {{"TTL", i64(ttl_s)}, {"ID", "0"}}, Resend::always);
  if (!answer) return std::unexpected(to_error(std::move(answer.error())));
  // LeaseGrantResponse has its own error field besides the gRPC status.
  if (const auto err = answer->find("error"); err != answer->end() && err->is_string() && !err->get_ref<const std::string&>().empty())
    return make_error(EtcdErrc::refused, endpoint() + ": etcd says: " + err->get<std::string>());
  LeaseGrant g;
  if (Parsed p = read_i64(*answer, "ID", g.id); !p) return bad_answer(endpoint(), kPath, p.error());
  if (Parsed p = read_i64(*answer, "TTL", g.ttl_s); !p) return bad_answer(endpoint(), kPath, p.error());
  if (g.id == 0) return bad_answer(endpoint(), kPath, "no lease ID in the answer");
  return g;
}

Result<std::int64_t> EtcdClient::keepalive(std::int64_t lease_id) {
  constexpr std::string_view kPath = "/v3/lease/keepalive";
  auto answer = transport_->post(kPath, {{"ID", i64(lease_id)}}, Resend::always);
  if (!answer) return std::unexpected(to_error(std::move(answer.error())));
  // A stream message: {"result": {"header": ..., "ID": ..., "TTL": ...}}; no TTL (0)
  // when the lease does not exist.
  const auto result = answer->find("result");
  if (result == answer->end() || !result->is_object()) return bad_answer(endpoint(), kPath, "no 'result' in the answer");
  std::int64_t ttl = 0;
  if (Parsed p = read_i64(*result, "TTL", ttl); !p) return bad_answer(endpoint(), kPath, p.error());
  return ttl < 0 ? 0 : ttl;
}

Result<void> EtcdClient::revoke(std::int64_t lease_id) {
  auto answer = transport_->post("/v3/lease/revoke", {{"ID", i64(lease_id)}}, Resend::always);
  // "requested lease not found": already revoked or expired, which is what we wanted.
  if (!answer && !(answer.error().errc == EtcdErrc::refused && answer.error().grpc_code == kGrpcNotFound))
    return std::unexpected(to_error(std::move(answer.error())));
  return {};
}

Result<std::optional<KeyValue>> EtcdClient::get(const std::string& key) {
  constexpr std::string_view kPath = "/v3/kv/range";
  auto answer = transport_->post(kPath, {{"key", base64_encode(key)}}, Resend::always);
  if (!answer) return std::unexpected(to_error(std::move(answer.error())));
  std::optional<KeyValue> kv;
  if (Parsed p = read_first_kv(*answer, kv); !p) return bad_answer(endpoint(), kPath, p.error());
  return kv;
}

Result<TxnResult> EtcdClient::txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                                  const std::vector<TxnOp>& failure) {
  constexpr std::string_view kPath = "/v3/kv/txn";
  json request = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const Compare& c : compares) request["compare"].push_back(compare_json(c));
  for (const TxnOp& op : success) request["success"].push_back(op_json(op));
  for (const TxnOp& op : failure) request["failure"].push_back(op_json(op));
  auto answer = transport_->post(kPath, request, Resend::only_unsent);
  if (!answer) return std::unexpected(to_error(std::move(answer.error())));

  TxnResult r;
  if (const auto s = answer->find("succeeded"); s != answer->end()) {
    if (!s->is_boolean()) return bad_answer(endpoint(), kPath, "'succeeded' is not a boolean");
    r.succeeded = s->get<bool>();
  }
  if (const auto h = answer->find("header"); h != answer->end() && h->is_object()) {
    if (Parsed p = read_i64(*h, "revision", r.revision); !p) return bad_answer(endpoint(), kPath, p.error());
  }
  // One response per op of the branch taken, in order.
  const std::vector<TxnOp>& branch = r.succeeded ? success : failure;
  static const json kNoResponses = json::array();
  const auto responses_it = answer->find("responses");
  const json& responses = responses_it != answer->end() && !responses_it->is_null() ? *responses_it : kNoResponses;
  if (!responses.is_array() || responses.size() != branch.size())
    return bad_answer(endpoint(), kPath, "expected " + std::to_string(branch.size()) + " responses for the " +
                                      (r.succeeded ? "success" : "failure") + " branch");
  for (std::size_t i = 0; i < branch.size(); ++i) {
    if (branch[i].kind != TxnOp::Kind::get) continue;
    const json& response = responses[i];
    const auto range = response.is_object() ? response.find("response_range") : response.end();
    if (!response.is_object() || range == response.end() || !range->is_object())
      return bad_answer(endpoint(), kPath, "response " + std::to_string(i) + " is not a range response");
    std::optional<KeyValue> kv;
    if (Parsed p = read_first_kv(*range, kv); !p) return bad_answer(endpoint(), kPath, p.error());
    r.gets.push_back(std::move(kv));
  }
  return r;
}

}  // namespace twinmq::witness
