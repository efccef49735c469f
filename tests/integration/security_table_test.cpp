// Every request kind of the binary protocol, as four principals against a real ferryd with
// auth.enabled: anonymous (no handshake), bob (a user with no rules), carol (a user given
// exactly the rules the request needs) and root (ADMIN). The list of kinds comes from the
// broker's own request table (pipeline::table()): a kind without an entry here fails, so a
// new request cannot ship without its access being decided and tested. docs/PROTOCOL.md's
// access table is checked against the same list.
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "broker/protocol/pipeline.h"
#include "tests/support/raw_client.h"
#include "tests/support/secure_broker.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using ferry::broker::pipeline;

namespace {

constexpr const char* pw = "Pa55-word";

// A request and the rules that suffice for it (none: any authenticated client may send it).
struct request_case {
  std::function<v1::Frame()> make;
  std::vector<v1::AclRule> grant;
};

v1::AclRule on_topic(const std::string& p, std::vector<v1::Operation> ops) {
  return rule("carol", v1::RESOURCE_KIND_TOPIC, p, std::move(ops));
}
v1::AclRule on_sub(const std::string& p, std::vector<v1::Operation> ops) {
  return rule("carol", v1::RESOURCE_KIND_SUBSCRIPTION, p, std::move(ops));
}
v1::AclRule on_group(const std::string& p, std::vector<v1::Operation> ops) {
  return rule("carol", v1::RESOURCE_KIND_GROUP, p, std::move(ops));
}
v1::AclRule on_broker(v1::Operation op) {
  return rule("carol", v1::RESOURCE_KIND_BROKER, "", {op});
}

template <typename F>
v1::Frame frame(F fill) {
  v1::Frame f;
  fill(f);
  return f;
}

using O = v1::Operation;

// The fixture: memory topic t.mem with subscription s.sub, log topic t.log, users bob,
// carol and dave. Requests name these (or names that do not exist: a refusal for another
// reason than access is still "allowed" here).
using case_map = std::map<std::string, request_case>;

void add_session_cases(case_map& c) {
  // The handshake and the session's own requests: any client that logged in.
  c["Hello"] = {};  // tested by logging in (below)
  c["AuthResponse"] = {};
  c["Ping"] = {[] { return frame([](v1::Frame& f) { f.mutable_ping(); }); }, {}};
  c["Pong"] = {[] { return frame([](v1::Frame& f) { f.mutable_pong(); }); }, {}};
  c["WhoAmI"] = {[] { return frame([](v1::Frame& f) { f.mutable_who_am_i(); }); }, {}};
  c["Publish"] = {[] {
                    return frame([](v1::Frame& f) {
                      f.mutable_publish()->set_topic("t.mem");
                      f.mutable_publish()->add_messages()->set_payload("x");
                    });
                  },
                  {on_topic("t.mem", {O::OPERATION_PUBLISH})}};
  c["Subscribe"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_subscribe()->set_subscription("s.sub"); }); },
      {on_sub("s.sub", {O::OPERATION_CONSUME})}};
  // A consumer of this connection: authorized when it was opened.
  for (const char* settle :
       {"Unsubscribe", "Credit", "Ack", "Nack", "ExtendLease", "Seek", "RevokeDone"})
    c[settle] = {};
  c["Unsubscribe"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_unsubscribe()->set_consumer_id(999); });
  };
  c["Credit"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_credit()->set_consumer_id(999); });
  };
  c["Ack"].make = [] { return frame([](v1::Frame& f) { f.mutable_ack()->set_consumer_id(999); }); };
  c["Nack"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_nack()->set_consumer_id(999); });
  };
  c["ExtendLease"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_extend_lease()->set_consumer_id(999); });
  };
  c["Seek"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_seek()->set_consumer_id(999); });
  };
  c["RevokeDone"].make = [] {
    return frame([](v1::Frame& f) { f.mutable_revoke_done()->set_consumer_id(999); });
  };
}

void add_topic_cases(case_map& c) {
  c["CreateTopic"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_create_topic()->set_name("t.new"); }); },
      {on_topic("t.new", {O::OPERATION_CREATE})}};
  c["DeleteTopic"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_delete_topic()->set_name("t.gone"); }); },
      {on_topic("t.gone", {O::OPERATION_DELETE})}};
  c["ListTopics"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_list_topics()->set_pattern("t.*"); }); },
      {on_topic("t.*", {O::OPERATION_DESCRIBE})}};
  c["DescribeTopic"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_describe_topic()->set_name("t.mem"); }); },
      {on_topic("t.mem", {O::OPERATION_DESCRIBE})}};
  c["ListScheduled"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_list_scheduled()->set_topic("t.mem"); }); },
      {on_topic("t.mem", {O::OPERATION_DESCRIBE})}};
  c["CancelScheduled"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_cancel_scheduled()->set_topic("t.mem");  // no such id: not found, allowed
          f.mutable_cancel_scheduled()->set_id("1-1");
        });
      },
      {on_topic("t.mem", {O::OPERATION_PUBLISH})}};
  c["CreateSubscription"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_create_subscription()->set_name("s.new");
          f.mutable_create_subscription()->set_pattern("t.mem");
        });
      },
      {on_sub("s.new", {O::OPERATION_CREATE}), on_topic("t.mem", {O::OPERATION_CONSUME})}};
  c["DeleteSubscription"] = {
      [] {
        return frame([](v1::Frame& f) { f.mutable_delete_subscription()->set_name("s.gone"); });
      },
      {on_sub("s.gone", {O::OPERATION_DELETE})}};
  c["ListSubscriptions"] = {
      [] {
        return frame([](v1::Frame& f) { f.mutable_list_subscriptions()->set_pattern("t.mem"); });
      },
      {on_sub(">", {O::OPERATION_DESCRIBE})}};
  c["DescribeSubscription"] = {
      [] {
        return frame([](v1::Frame& f) { f.mutable_describe_subscription()->set_name("s.sub"); });
      },
      {on_sub("s.sub", {O::OPERATION_DESCRIBE})}};
  c["PurgeSubscription"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_purge_subscription()->set_name("s.sub"); }); },
      {on_sub("s.sub", {O::OPERATION_ALTER})}};
  c["SetSubscriptionPush"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_set_subscription_push()->set_name("s.sub");  // no url: removes none
        });
      },
      {on_sub("s.sub", {O::OPERATION_ALTER})}};
}

void add_group_cases(case_map& c) {
  c["ConsumeLog"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_consume_log()->set_topic("t.log");
          f.mutable_consume_log()->set_group("g.one");
        });
      },
      {on_topic("t.log", {O::OPERATION_CONSUME}), on_group("g.one", {O::OPERATION_CONSUME})}};
  c["CommitOffsets"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_commit_offsets()->set_group("g.one");
          f.mutable_commit_offsets()->set_topic("t.log");
        });
      },
      {on_group("g.one", {O::OPERATION_CONSUME}), on_topic("t.log", {O::OPERATION_CONSUME})}};
  c["FetchOffsets"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_fetch_offsets()->set_group("g.one");
          f.mutable_fetch_offsets()->set_topic("t.log");
        });
      },
      {on_group("g.one", {O::OPERATION_DESCRIBE}), on_topic("t.log", {O::OPERATION_DESCRIBE})}};
  c["ResetOffsets"] = {
      [] {
        return frame([](v1::Frame& f) {
          f.mutable_reset_offsets()->set_group("g.two");
          f.mutable_reset_offsets()->set_topic("t.log");
        });
      },
      {on_group("g.two", {O::OPERATION_ALTER}), on_topic("t.log", {O::OPERATION_CONSUME})}};
  c["ListGroups"] = {[] { return frame([](v1::Frame& f) { f.mutable_list_groups(); }); },
                     {on_broker(O::OPERATION_DESCRIBE)}};
  c["DescribeCluster"] = {[] { return frame([](v1::Frame& f) { f.mutable_describe_cluster(); }); },
                          {on_broker(O::OPERATION_DESCRIBE)}};
  c["DescribeGroup"] = {
      [] { return frame([](v1::Frame& f) { f.mutable_describe_group()->set_group("g.one"); }); },
      {on_group("g.one", {O::OPERATION_DESCRIBE})}};
}

// Security: ADMIN (on others' records too).
void add_security_cases(case_map& c) {
  auto admin = [](std::function<void(v1::Frame&)> fill) {
    return request_case{[fill] { return frame(fill); }, {on_broker(O::OPERATION_ADMIN)}};
  };
  c["CreateUser"] = admin([](v1::Frame& f) {
    f.mutable_create_user()->set_name("erin");
    *f.mutable_create_user()->mutable_scram() = fc::make_scram_credential("erin-pw");
  });
  c["DeleteUser"] = admin([](v1::Frame& f) { f.mutable_delete_user()->set_name("nobody"); });
  c["ListUsers"] = admin([](v1::Frame& f) { f.mutable_list_users(); });
  c["SetUserPassword"] = admin([](v1::Frame& f) {
    f.mutable_set_user_password()->set_name("dave");
    *f.mutable_set_user_password()->mutable_scram() = fc::make_scram_credential("dave-pw-2");
  });
  c["SetUserQuota"] = admin([](v1::Frame& f) {
    f.mutable_set_user_quota()->set_name("dave");
    f.mutable_set_user_quota()->mutable_quota()->set_max_connections(5);
  });
  c["CreateToken"] = admin([](v1::Frame& f) { f.mutable_create_token()->set_principal("dave"); });
  c["RevokeToken"] = admin([](v1::Frame& f) { f.mutable_revoke_token()->set_id("nothing"); });
  c["ListTokens"] = admin([](v1::Frame& f) { f.mutable_list_tokens(); });
  c["AddAcl"] = admin([](v1::Frame& f) {
    *f.mutable_add_acl()->mutable_rule() =
        rule("dave", v1::RESOURCE_KIND_TOPIC, "x.y", {O::OPERATION_DESCRIBE});
  });
  c["RemoveAcl"] = admin([](v1::Frame& f) {
    *f.mutable_remove_acl()->mutable_rule() =
        rule("dave", v1::RESOURCE_KIND_TOPIC, "x.z", {O::OPERATION_DESCRIBE});
  });
  c["ListAcls"] = admin([](v1::Frame& f) { f.mutable_list_acls(); });
}

case_map cases() {
  case_map c;
  add_session_cases(c);
  add_topic_cases(c);
  add_group_cases(c);
  add_security_cases(c);
  return c;
}

// Sends `f`, then a Ping; returns the UNAUTHORIZED error answering `f` before the Pong (an
// access check answers at once, before any later request), or nullopt.
std::optional<v1::Error> refusal(raw_client& raw, v1::Frame f) {
  f.set_correlation_id(7001);
  raw.send_frame(f);
  v1::Frame ping;
  ping.set_correlation_id(7002);
  ping.mutable_ping();
  raw.send_frame(ping);
  std::optional<v1::Error> found;
  for (;;) {
    auto r = raw.read_frame();
    if (!r) throw std::runtime_error("no Pong after the request");
    if (r->has_pong() && r->correlation_id() == 7002) return found;
    if (r->has_error() && r->error().code() == v1::UNAUTHORIZED &&
        (r->correlation_id() == 7001 || r->correlation_id() == 0))
      found = r->error();
  }
}

struct fixture {
  secure_broker s;
  std::unique_ptr<fc::blocking_client> root = s.root();
  fixture() {
    for (const char* u : {"bob", "carol", "dave"})
      create_user(*root, u, pw);
    create_topic(*root, "t.mem");
    create_subscription(*root, "s.sub", "t.mem");
    v1::CreateTopic log;
    log.set_name("t.log");
    log.set_kind(v1::LOG);
    REQUIRE(root->create_topic(log));
  }
  std::unique_ptr<raw_client> as(const std::string& user, const std::string& password) {
    auto raw = std::make_unique<raw_client>(s.broker->host(), s.broker->port());
    auto r = raw->login(user, password);
    if (!r.has_hello_ok()) FAIL("login as " << user << ": " << r.DebugString());
    return raw;
  }
  // carol's rules: exactly `grant`.
  void give_carol(const std::vector<v1::AclRule>& grant) {
    auto all = root->list_acls("carol");
    REQUIRE(all);
    for (const auto& r : all->rules())
      REQUIRE(root->remove_acl(r));
    for (const auto& r : grant)
      allow(*root, r);
  }
};

}  // namespace

TEST_CASE("access: every request kind as anonymous, without the permission, with it, as admin",
          "[security]") {
  fixture fx;
  auto all = cases();
  auto bob = fx.as("bob", pw);
  auto admin = fx.as("root", root_password);
  size_t checked = 0;
  for (const auto& rt : pipeline::table()) {
    std::string name(rt.name);
    INFO("request " << name);
    auto it = all.find(name);
    if (it == all.end()) FAIL("no access case for request " << name << ": add one here");
    const request_case& rc = it->second;
    if (!rc.make) continue;  // Hello, AuthResponse: logging in is their test
    ++checked;
    // Anonymous: nothing before a handshake, whatever the request.
    {
      raw_client anon(fx.s.broker->host(), fx.s.broker->port());
      auto f = rc.make();
      auto r = anon.request(f);
      REQUIRE(r.has_error());
      CHECK(r.error().code() == v1::NOT_HANDSHAKEN);
    }
    auto denied = refusal(*bob, rc.make());
    if (rc.grant.empty()) {
      CHECK_FALSE(denied);
    } else {
      REQUIRE(denied);
      std::string op(ferry::broker::to_string(rt.op)), kind(ferry::broker::to_string(rt.resource));
      CHECK(denied->message().find("'bob' may not " + op + " on " + kind) != std::string::npos);
    }
    fx.give_carol(rc.grant);
    auto carol = fx.as("carol", pw);
    CHECK_FALSE(refusal(*carol, rc.make()));
    CHECK_FALSE(refusal(*admin, rc.make()));
  }
  CHECK(checked + 2 == pipeline::table().size());
  // Every name here is a request of the table (no stale entries).
  for (const auto& [name, rc] : all) {
    bool found = false;
    for (const auto& rt : pipeline::table())
      found = found || rt.name == name;
    CHECK(found);
  }
  // Hello and AuthResponse: the four logins.
  raw_client anon(fx.s.broker->host(), fx.s.broker->port());
  v1::Frame hello;
  hello.mutable_hello()->set_protocol_version(1);
  auto r = anon.request(hello);
  REQUIRE(r.has_error());
  CHECK(r.error().code() == v1::UNAUTHENTICATED);
  CHECK(fx.as("bob", pw));
  CHECK(fx.as("carol", pw));
}

TEST_CASE(
    "access: docs/PROTOCOL.md's access table lists every request with its resource and "
    "operation",
    "[security]") {
  std::ifstream in(FERRY_SOURCE_DIR "/docs/PROTOCOL.md");
  REQUIRE(in);
  std::map<std::string, std::string> documented;
  std::regex row(R"(^\| `(\w+)` \| (\w+) \| (\w+) \|)");
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.find("<!-- access table -->") != std::string::npos) in_table = !in_table;
    std::smatch m;
    if (in_table && std::regex_search(line, m, row))
      documented[m[1]] = m[2].str() + " " + m[3].str();
  }
  std::map<std::string, std::string> coded;
  for (const auto& rt : pipeline::table())
    coded[std::string(rt.name)] = std::string(ferry::broker::to_string(rt.resource)) + " " +
                                  std::string(ferry::broker::to_string(rt.op));
  CHECK(documented == coded);
}
