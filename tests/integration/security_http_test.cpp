// Every HTTP route, as four callers against a real ferryd with auth.enabled: anonymous (no
// token), bob (a token of a user with no rules), carol (a token of a user given exactly the
// rules the route needs) and root (ADMIN). The routes come from the broker's own table, as
// /v1/openapi.json lists it: a route without an entry here fails, and so does an entry for
// a route that is gone.
#include <functional>
#include <map>
#include <string>

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "proto/codec/scram.h"
#include "tests/support/http_client.h"
#include "tests/support/secure_broker.h"
#include "tests/support/ws_client.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
namespace json = boost::json;

namespace {

using O = v1::Operation;

// A call of one route: where, with what body, and the rules that suffice for it.
struct route_case {
  std::string target;
  std::string body;
  bool open = false;               // anyone, without a token
  std::vector<v1::AclRule> grant;  // empty (and not open): any authenticated caller
};

v1::AclRule carol(v1::ResourceKind kind, const std::string& pattern, std::vector<O> ops) {
  return rule("carol", kind, pattern, std::move(ops));
}
const v1::AclRule carol_admin = carol(v1::RESOURCE_KIND_BROKER, "", {O::OPERATION_ADMIN});

std::string scram_json(const std::string& password) {
  auto k = fc::make_scram_credential(password);
  return R"({"salt":")" + ferry::scram::base64(k.salt()) + R"(","iterations":)" +
         std::to_string(k.iterations()) + R"(,"stored_key":")" +
         ferry::scram::base64(k.stored_key()) + R"(","server_key":")" +
         ferry::scram::base64(k.server_key()) + R"("})";
}

void add_open_cases(std::map<std::string, route_case>& c) {
  for (const char* open : {"GET /livez", "GET /readyz", "GET /version", "GET /metrics", "GET /",
                           "GET /v1/stats", "GET /v1/openapi.json"}) {
    std::string key(open);
    c[key] = {key.substr(4), "", true, {}};
  }
}

std::map<std::string, route_case> cases() {
  using K = v1::ResourceKind;
  std::map<std::string, route_case> c;
  add_open_cases(c);
  c["GET /v1/topics"] = {"/v1/topics?pattern=t.*",
                         "",
                         false,
                         {carol(K::RESOURCE_KIND_TOPIC, "t.*", {O::OPERATION_DESCRIBE})}};
  c["POST /v1/topics"] = {"/v1/topics",
                          R"({"name":"t.new"})",
                          false,
                          {carol(K::RESOURCE_KIND_TOPIC, "t.new", {O::OPERATION_CREATE})}};
  c["GET /v1/topics/{name}"] = {"/v1/topics/t.mem",
                                "",
                                false,
                                {carol(K::RESOURCE_KIND_TOPIC, "t.mem", {O::OPERATION_DESCRIBE})}};
  c["DELETE /v1/topics/{name}"] = {
      "/v1/topics/t.gone",
      "",
      false,
      {carol(K::RESOURCE_KIND_TOPIC, "t.gone", {O::OPERATION_DELETE})}};
  c["GET /v1/topics/{name}/scheduled"] = {
      "/v1/topics/t.mem/scheduled",
      "",
      false,
      {carol(K::RESOURCE_KIND_TOPIC, "t.mem", {O::OPERATION_DESCRIBE})}};
  c["DELETE /v1/topics/{name}/scheduled/{id}"] = {
      // no such id: 404, but allowed
      "/v1/topics/t.mem/scheduled/1-1",
      "",
      false,
      {carol(K::RESOURCE_KIND_TOPIC, "t.mem", {O::OPERATION_PUBLISH})}};
  c["POST /v1/topics/{name}/messages"] = {
      "/v1/topics/t.mem/messages",
      "hello",
      false,
      {carol(K::RESOURCE_KIND_TOPIC, "t.mem", {O::OPERATION_PUBLISH})}};
  return c;
}

void add_subscription_cases(std::map<std::string, route_case>& c) {
  using K = v1::ResourceKind;
  c["GET /v1/subscriptions"] = {
      "/v1/subscriptions?pattern=t.mem",
      "",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, ">", {O::OPERATION_DESCRIBE})}};
  c["POST /v1/subscriptions"] = {
      "/v1/subscriptions",
      R"({"name":"s.new","pattern":"t.mem"})",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.new", {O::OPERATION_CREATE}),
       carol(K::RESOURCE_KIND_TOPIC, "t.mem", {O::OPERATION_CONSUME})}};
  c["GET /v1/subscriptions/{name}"] = {
      "/v1/subscriptions/s.sub",
      "",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.sub", {O::OPERATION_DESCRIBE})}};
  c["DELETE /v1/subscriptions/{name}"] = {
      "/v1/subscriptions/s.gone",
      "",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.gone", {O::OPERATION_DELETE})}};
  c["POST /v1/subscriptions/{name}/purge"] = {
      "/v1/subscriptions/s.sub/purge",
      "",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.sub", {O::OPERATION_ALTER})}};
  c["PUT /v1/subscriptions/{name}/push"] = {
      "/v1/subscriptions/s.sub/push",
      R"({"url": "http://127.0.0.1:9/never"})",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.sub", {O::OPERATION_ALTER})}};
  c["DELETE /v1/subscriptions/{name}/push"] = {
      "/v1/subscriptions/s.sub/push",
      "",
      false,
      {carol(K::RESOURCE_KIND_SUBSCRIPTION, "s.sub", {O::OPERATION_ALTER})}};
  c["GET /v1/groups"] = {
      "/v1/groups", "", false, {carol(K::RESOURCE_KIND_BROKER, "", {O::OPERATION_DESCRIBE})}};
  c["GET /v1/groups/{group}"] = {"/v1/groups/g.one",
                                 "",
                                 false,
                                 {carol(K::RESOURCE_KIND_GROUP, "g.one", {O::OPERATION_DESCRIBE})}};
  c["POST /v1/groups/{group}/reset-offsets"] = {
      "/v1/groups/g.two/reset-offsets",
      R"({"topic":"t.log"})",
      false,
      {carol(K::RESOURCE_KIND_GROUP, "g.two", {O::OPERATION_ALTER}),
       carol(K::RESOURCE_KIND_TOPIC, "t.log", {O::OPERATION_CONSUME})}};
}

void add_security_cases(std::map<std::string, route_case>& c) {
  c["GET /v1/users"] = {"/v1/users", "", false, {carol_admin}};
  c["POST /v1/users"] = {
      "/v1/users", R"({"name":"erin","scram":)" + scram_json("e") + "}", false, {carol_admin}};
  c["DELETE /v1/users/{name}"] = {"/v1/users/nobody", "", false, {carol_admin}};
  c["PUT /v1/users/{name}/password"] = {
      "/v1/users/dave/password", R"({"scram":)" + scram_json("d2") + "}", false, {carol_admin}};
  c["PUT /v1/users/{name}/quota"] = {
      "/v1/users/dave/quota", R"({"quota":{"max_connections":5}})", false, {carol_admin}};
  c["GET /v1/tokens"] = {"/v1/tokens", "", false, {carol_admin}};
  c["POST /v1/tokens"] = {"/v1/tokens", R"({"principal":"dave"})", false, {carol_admin}};
  c["DELETE /v1/tokens/{id}"] = {"/v1/tokens/nothing", "", false, {carol_admin}};
  c["GET /v1/acls"] = {"/v1/acls", "", false, {carol_admin}};
  const std::string rule_json =
      R"({"rule":{"principal":"dave","resource_kind":"resource_kind_topic","pattern":"x.y",)"
      R"("operations":["operation_describe"]}})";
  c["POST /v1/acls"] = {"/v1/acls", rule_json, false, {carol_admin}};
  c["POST /v1/acls/remove"] = {"/v1/acls/remove", rule_json, false, {carol_admin}};
  c["GET /v1/whoami"] = {"/v1/whoami", "", false, {}};
  // Any authenticated caller may open a WebSocket (a plain GET is answered 400); each
  // request on it is authorized itself ("access: a WebSocket ..." below).
  c["GET /v1/ws"] = {"/v1/ws", "", false, {}};
}

std::string token_for(fc::blocking_client& root, const std::string& user) {
  v1::CreateToken req;
  req.set_principal(user);
  auto t = root.create_token(req);
  if (!t) FAIL("create_token: " << t.err().to_string());
  return t.value().token();
}

http_result call(const secure_broker& s, const std::string& method, const route_case& rc,
                 const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return http_call(s.broker->http_port(), method, rc.target, rc.body, headers);
}

bool refused(const http_result& r) {
  return r.status == 401 || r.status == 403;
}

struct callers {
  std::string bob, carol, root;
};

// One route as anonymous, bob (no rules), carol (given exactly `rc.grant`) and root.
void check_route(const secure_broker& s, fc::blocking_client& root, const std::string& method,
                 const route_case& rc, const callers& tokens) {
  auto anon = call(s, method, rc, "");
  if (rc.open) {
    CHECK_FALSE(refused(anon));
    return;
  }
  CHECK(anon.status == 401);
  CHECK(anon.header("WWW-Authenticate").find("Bearer") == 0);
  auto as_bob = call(s, method, rc, tokens.bob);
  if (rc.grant.empty()) {
    CHECK_FALSE(refused(as_bob));
  } else {
    CHECK(as_bob.status == 403);
    CHECK(as_bob.error_code() == "UNAUTHORIZED");
    CHECK(as_bob.body.find("'bob' may not") != std::string::npos);
  }
  auto acls = root.list_acls("carol");
  REQUIRE(acls);
  for (const auto& r : acls->rules())
    REQUIRE(root.remove_acl(r));
  for (const auto& r : rc.grant)
    allow(root, r);
  CHECK_FALSE(refused(call(s, method, rc, tokens.carol)));
  auto as_root = call(s, method, rc, tokens.root);
  INFO(as_root.body);
  CHECK_FALSE(refused(as_root));
  CHECK(as_root.body.find("field '") == std::string::npos);  // the body parsed
}

}  // namespace

TEST_CASE("access: every HTTP route as anonymous, without the permission, with it, as admin",
          "[security]") {
  secure_broker s;
  auto root = s.root();
  for (const char* u : {"bob", "carol", "dave"})
    create_user(*root, u, "pw-of-" + std::string(u));
  create_topic(*root, "t.mem");
  create_subscription(*root, "s.sub", "t.mem");
  v1::CreateTopic log;
  log.set_name("t.log");
  log.set_kind(v1::LOG);
  REQUIRE(root->create_topic(log));
  const callers tokens{token_for(*root, "bob"), token_for(*root, "carol"),
                       token_for(*root, "root")};

  auto all = cases();
  add_subscription_cases(all);
  add_security_cases(all);
  auto doc = http_call(s.broker->http_port(), "GET", "/v1/openapi.json").json().as_object();
  size_t checked = 0;
  for (const auto& [path, ops] : doc.at("paths").as_object()) {
    for (const auto& [verb, op] : ops.as_object()) {
      std::string method = boost::algorithm::to_upper_copy(std::string(verb));
      std::string key = method + " " + std::string(path);
      INFO("route " << key);
      auto it = all.find(key);
      if (it == all.end()) FAIL("no access case for " << key << ": add one here");
      const route_case& rc = it->second;
      ++checked;
      // The document says which routes need a token.
      CHECK(op.as_object().contains("security") == rc.open);
      check_route(s, *root, method, rc, tokens);
    }
  }
  CHECK(checked == all.size());  // no entry for a route that is gone
  CHECK(call(s, "GET", all["GET /v1/whoami"], "ferry_bad_token").status == 401);
}

TEST_CASE(
    "access: a WebSocket needs a token (a header or ?access_token=), and each request is "
    "authorized as its user",
    "[security]") {
  secure_broker s;
  auto root = s.root();
  create_user(*root, "bob", "pw-of-bob");
  create_topic(*root, "t.mem");
  create_subscription(*root, "s.sub", "t.mem");
  const std::string bob = token_for(*root, "bob");
  const uint16_t port = s.broker->http_port();

  ws_client anon(port);
  CHECK(anon.refused().starts_with("401"));
  ws_client forged(port, "/v1/ws?access_token=ferry_bad_token");
  CHECK(forged.refused().starts_with("401"));

  ws_client in_query(port, "/v1/ws?access_token=" + bob);  // what a browser does
  REQUIRE(in_query.refused().empty());
  auto no = in_query.answer(in_query.request({{"subscribe", {{"subscription", "s.sub"}}}}));
  CHECK(no.at("error").at("code") == "UNAUTHORIZED");
  CHECK(std::string(no.at("error").at("message").as_string()).find("'bob' may not") !=
        std::string::npos);

  allow(*root, rule("bob", v1::RESOURCE_KIND_SUBSCRIPTION, "s.sub", {O::OPERATION_CONSUME}));
  ws_client with_header(port, "/v1/ws", {{"Authorization", "Bearer " + bob}});
  REQUIRE(with_header.refused().empty());
  auto yes = with_header.answer(with_header.request({{"subscribe", {{"subscription", "s.sub"}}}}));
  CHECK(yes.contains("subscribe_ok"));
  // Reading a topic bob may not consume: refused too.
  auto log = with_header.answer(with_header.request({{"consume_log", {{"topic", "t.mem"}}}}));
  CHECK(log.at("error").at("code") == "UNAUTHORIZED");
  // The token in the query is taken on the WebSocket upgrade only.
  auto elsewhere = http_call(port, "GET", "/v1/whoami?access_token=" + bob, "",
                             {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}});
  CHECK(elsewhere.status == 401);
  // WebSockets count against the principal's connection quota (two open: the limit).
  const std::string admin = token_for(*root, "root");
  auto quota = http_call(port, "PUT", "/v1/users/bob/quota", R"({"quota":{"max_connections":2}})",
                         {{"Authorization", "Bearer " + admin}});
  REQUIRE(quota.status == 200);
  ws_client third(port, "/v1/ws?access_token=" + bob);
  CHECK(third.refused().starts_with("429"));
  CHECK(third.refused().find("RESOURCE_EXHAUSTED") != std::string::npos);
}
