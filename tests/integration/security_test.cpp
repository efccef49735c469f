// Authentication and access rules against a real ferryd with auth.enabled: SCRAM-SHA-256
// and token logins through libferry and raw frames, refusals, rules that allow and deny,
// what survives a restart, and that no secret reaches the log.
#include <cstdio>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include "proto/codec/scram.h"
#include "tests/support/raw_client.h"
#include "tests/support/secure_broker.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using ferry::errc;
namespace scram = ferry::scram;

namespace {

ferry::error login_error(const fc::client_options& o) {
  auto r = fc::blocking_client::connect(o);
  if (r) return {};
  return r.err();
}

}  // namespace

TEST_CASE("auth: SCRAM logins, and wrong passwords, unknown users and anonymous clients refused",
          "[security]") {
  secure_broker s;
  auto root = s.root();
  auto me = root->who_am_i();
  REQUIRE(me);
  CHECK(me.value().principal() == "root");
  CHECK(me.value().mechanism() == "SCRAM-SHA-256");
  create_user(*root, "alice", "alice-pw", {"ops"});

  auto alice = s.login("alice", "alice-pw");
  me = alice->who_am_i();
  REQUIRE(me);
  CHECK(me.value().principal() == "alice");
  REQUIRE(me.value().groups_size() == 1);
  CHECK(me.value().groups(0) == "ops");

  auto wrong = login_error(s.options("alice", "not-it"));
  CHECK(wrong.code == errc::unauthenticated);
  auto unknown = login_error(s.options("mallory", "alice-pw"));
  CHECK(unknown.code == errc::unauthenticated);
  // The same words for both: a client cannot tell which users exist.
  CHECK(wrong.message.find("authentication failed") != std::string::npos);
  CHECK(unknown.message.find("authentication failed") != std::string::npos);
  CHECK(login_error(options_for(*s.broker)).code == errc::unauthenticated);
}

TEST_CASE("auth: handshakes outside the mechanisms are refused", "[security]") {
  secure_broker s;
  SECTION("a password in Hello is refused, and the connection closed") {
    raw_client raw(s.broker->host(), s.broker->port());
    v1::Frame f;
    f.set_correlation_id(1);
    f.mutable_hello()->set_protocol_version(1);
    f.mutable_hello()->mutable_credentials()->set_username("alice");
    f.mutable_hello()->mutable_credentials()->set_password("alice-pw");
    raw.send_frame(f);
    auto r = raw.read_frame();
    REQUIRE(r);
    REQUIRE(r->has_error());
    CHECK(r->error().code() == v1::UNAUTHENTICATED);
    CHECK(raw.closed_by_peer());
  }
  SECTION("requests before the handshake ends are refused") {
    raw_client raw(s.broker->host(), s.broker->port());
    v1::Frame f;
    f.mutable_list_topics();
    auto r = raw.request(f);
    REQUIRE(r.has_error());
    CHECK(r.error().code() == v1::NOT_HANDSHAKEN);
  }
  SECTION("an unknown mechanism is named in the refusal") {
    raw_client raw(s.broker->host(), s.broker->port());
    v1::Frame f;
    f.set_correlation_id(1);
    f.mutable_hello()->set_protocol_version(1);
    f.mutable_hello()->mutable_credentials()->set_mechanism("PLAIN");
    raw.send_frame(f);
    auto r = raw.read_frame();
    REQUIRE(r);
    REQUIRE(r->has_error());
    CHECK(r->error().code() == v1::UNAUTHENTICATED);
    CHECK(r->error().message().find("PLAIN") != std::string::npos);
  }
}

TEST_CASE("auth: a recorded SCRAM answer does not log in again", "[security]") {
  secure_broker s;
  auto root = s.root();
  create_user(*root, "alice", "alice-pw");

  // Record a successful exchange's client-final-message, then replay it on a new
  // connection: the broker's nonce differs, so the proof is for another exchange.
  scram::client sc("alice", "alice-pw");
  std::string recorded;
  {
    raw_client raw(s.broker->host(), s.broker->port());
    v1::Frame f;
    f.set_correlation_id(1);
    f.mutable_hello()->set_protocol_version(1);
    f.mutable_hello()->mutable_credentials()->set_mechanism("SCRAM-SHA-256");
    f.mutable_hello()->mutable_credentials()->set_sasl(sc.first());
    raw.send_frame(f);
    auto ch = raw.read_frame();
    REQUIRE(ch);
    REQUIRE(ch->has_auth_challenge());
    REQUIRE(sc.final(ch->auth_challenge().sasl(), recorded).empty());
    v1::Frame next;
    next.set_correlation_id(1);
    next.mutable_auth_response()->set_sasl(recorded);
    raw.send_frame(next);
    auto ok = raw.read_frame();
    REQUIRE(ok);
    REQUIRE(ok->has_hello_ok());
    CHECK(sc.verify(ok->hello_ok().sasl()).empty());
  }
  raw_client raw(s.broker->host(), s.broker->port());
  v1::Frame f;
  f.set_correlation_id(1);
  f.mutable_hello()->set_protocol_version(1);
  f.mutable_hello()->mutable_credentials()->set_mechanism("SCRAM-SHA-256");
  f.mutable_hello()->mutable_credentials()->set_sasl(sc.first());  // the same client nonce
  raw.send_frame(f);
  auto ch = raw.read_frame();
  REQUIRE(ch);
  REQUIRE(ch->has_auth_challenge());
  v1::Frame replay;
  replay.set_correlation_id(1);
  replay.mutable_auth_response()->set_sasl(recorded);
  raw.send_frame(replay);
  auto r = raw.read_frame();
  REQUIRE(r);
  REQUIRE(r->has_error());
  CHECK(r->error().code() == v1::UNAUTHENTICATED);
  CHECK(raw.closed_by_peer());
}

TEST_CASE("auth: tokens log in until revoked or expired, and a deleted user's tokens go with it",
          "[security]") {
  secure_broker s;
  auto root = s.root();
  create_user(*root, "alice", "alice-pw");
  v1::CreateToken req;
  req.set_principal("alice");
  req.set_description("ci");
  auto made = root->create_token(req);
  REQUIRE(made);
  const std::string token = made.value().token();
  CHECK(token.rfind("ferry_" + made.value().info().id() + "_", 0) == 0);

  {
    auto r = fc::blocking_client::connect(s.token_options(token));
    REQUIRE(r);
    auto me = r.value()->who_am_i();
    REQUIRE(me);
    CHECK(me.value().principal() == "alice");
    CHECK(me.value().mechanism() == "TOKEN");
  }
  auto tampered = token;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  CHECK(login_error(s.token_options(tampered)).code == errc::unauthenticated);
  CHECK(login_error(s.token_options("ferry_nothing")).code == errc::unauthenticated);

  // Listings never carry the token's secret.
  auto listed = root->list_tokens("alice");
  REQUIRE(listed);
  REQUIRE(listed.value().tokens_size() == 1);
  CHECK(listed.value().tokens(0).DebugString().find(token.substr(token.rfind('_') + 1)) ==
        std::string::npos);

  SECTION("revoked") {
    auto rv = root->revoke_token(made.value().info().id());
    REQUIRE(rv);
    CHECK(rv.value().revoked());
    CHECK(login_error(s.token_options(token)).code == errc::unauthenticated);
  }
  SECTION("expired") {
    v1::CreateToken short_lived;
    short_lived.set_principal("alice");
    short_lived.set_ttl_ms(300);
    auto t = root->create_token(short_lived);
    REQUIRE(t);
    CHECK(!login_error(s.token_options(t.value().token())));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    auto e = login_error(s.token_options(t.value().token()));
    CHECK(e.code == errc::unauthenticated);
    CHECK(e.message.find("expired") != std::string::npos);
  }
  SECTION("the user deleted") {
    auto d = root->delete_user("alice");
    REQUIRE(d);
    CHECK(d.value().tokens_revoked() == 1);
    CHECK(login_error(s.token_options(token)).code == errc::unauthenticated);
    CHECK(login_error(s.options("alice", "alice-pw")).code == errc::unauthenticated);
  }
}

TEST_CASE("acl: allow rules with wildcards, deny wins, and refusals name what was refused",
          "[security]") {
  secure_broker s;
  auto root = s.root();
  create_user(*root, "alice", "alice-pw", {"billing"});
  create_topic(*root, "orders.eu");
  create_topic(*root, "orders.us");
  create_topic(*root, "payments");
  auto alice = s.login("alice", "alice-pw");

  // Nothing is allowed by default (libferry looks the topic up first: DESCRIBE).
  auto refused = alice->publish("orders.eu", fc::message("x"));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unauthorized);
  CHECK(refused.err().message.find("topic 'orders.eu'") != std::string::npos);

  allow(*root, rule("alice", v1::RESOURCE_KIND_TOPIC, "orders.>", {v1::OPERATION_PUBLISH}));
  CHECK(alice->publish("orders.eu", fc::message("x")));
  CHECK(alice->publish("orders.us", fc::message("x")));
  // Allowed to look at payments, not to publish there.
  allow(*root, rule("alice", v1::RESOURCE_KIND_TOPIC, "payments", {v1::OPERATION_DESCRIBE}));
  refused = alice->publish("payments", fc::message("x"));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unauthorized);
  CHECK(refused.err().message == "'alice' may not publish on topic 'payments'");

  // A group's rule applies to its members.
  allow(*root, rule("group:billing", v1::RESOURCE_KIND_TOPIC, "payments", {v1::OPERATION_PUBLISH}));
  CHECK(alice->publish("payments", fc::message("x")));

  // Deny wins over allow, at once (no reconnect).
  allow(*root, rule("alice", v1::RESOURCE_KIND_TOPIC, "orders.us", {v1::OPERATION_PUBLISH}, true));
  CHECK(alice->publish("orders.eu", fc::message("x")));
  CHECK(alice->publish("orders.us", fc::message("x")).err().code == errc::unauthorized);

  // An ephemeral subscription on a pattern needs consume on every topic it can match.
  allow(*root, rule("alice", v1::RESOURCE_KIND_TOPIC, "orders.eu", {v1::OPERATION_CONSUME}));
  fc::subscribe_options narrow, wide_options;
  narrow.pattern = "orders.eu";
  wide_options.pattern = "orders.*";
  CHECK(alice->subscribe(narrow));
  auto wide = alice->subscribe(wide_options);
  REQUIRE_FALSE(wide);
  CHECK(wide.err().code == errc::unauthorized);

  // Managing users needs ADMIN.
  v1::CreateUser cu;
  cu.set_name("bob");
  *cu.mutable_scram() = fc::make_scram_credential("bob-pw");
  CHECK(alice->create_user(cu).err().code == errc::unauthorized);
  // Every refusal is an audit line of the security logger.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(s.log().find("denied: 'alice' (SCRAM-SHA-256) may not publish on topic 'payments'") !=
        std::string::npos);
}

TEST_CASE("auth: users, tokens and rules survive a restart, and the bootstrap user is made once",
          "[security]") {
  secure_broker s;
  std::string token;
  {
    auto root = s.root();
    create_user(*root, "alice", "alice-pw");
    allow(*root, rule("alice", v1::RESOURCE_KIND_TOPIC, "orders.>",
                      {v1::OPERATION_PUBLISH, v1::OPERATION_CREATE}));
    v1::CreateToken req;
    req.set_principal("alice");
    auto t = root->create_token(req);
    REQUIRE(t);
    token = t.value().token();
    // A changed password replaces the old one.
    v1::SetUserPassword pw;
    pw.set_name("root");
    *pw.mutable_scram() = fc::make_scram_credential("new-root-pw");
    REQUIRE(root->set_user_password(pw));
  }
  s.broker->restart();
  CHECK(login_error(s.options("root", root_password)).code == errc::unauthenticated);
  auto root = s.login("root", "new-root-pw");
  auto users = root->list_users();
  REQUIRE(users);
  REQUIRE(users.value().users_size() == 2);
  auto alice = fc::blocking_client::connect(s.token_options(token));
  REQUIRE(alice);
  CHECK(alice.value()->create_topic([] {
    v1::CreateTopic ct;
    ct.set_name("orders.eu");
    return ct;
  }()));
  auto rules = root->list_acls("alice");
  REQUIRE(rules);
  REQUIRE(rules.value().rules_size() == 1);
  CHECK(rules.value().rules(0).operations_size() == 2);
}

TEST_CASE("auth: a user may change its own password and make its own tokens, not others'",
          "[security]") {
  secure_broker s;
  auto root = s.root();
  create_user(*root, "alice", "alice-pw");
  create_user(*root, "bob", "bob-pw");
  auto alice = s.login("alice", "alice-pw");
  v1::SetUserPassword own;
  own.set_name("alice");
  *own.mutable_scram() = fc::make_scram_credential("alice-pw-2");
  CHECK(alice->set_user_password(own));
  v1::SetUserPassword other;
  other.set_name("bob");
  *other.mutable_scram() = fc::make_scram_credential("hijacked");
  CHECK(alice->set_user_password(other).err().code == errc::unauthorized);
  auto own_token = alice->create_token(v1::CreateToken());
  REQUIRE(own_token);
  v1::CreateToken for_bob;
  for_bob.set_principal("bob");
  CHECK(alice->create_token(for_bob).err().code == errc::unauthorized);
  CHECK(s.login("alice", "alice-pw-2"));
  // A session opened with a token may not mint more tokens or change the password: a
  // short-lived token would otherwise outlive itself.
  auto by_token = fc::blocking_client::connect(s.token_options(own_token->token()));
  REQUIRE(by_token);
  CHECK(by_token.value()->create_token(v1::CreateToken()).err().code == errc::unauthorized);
  CHECK(by_token.value()->set_user_password(own).err().code == errc::unauthorized);
}

TEST_CASE("auth: credentials are never downgraded to an anonymous connection", "[security]") {
  broker_process open_broker;  // authentication off: it would take anyone as anonymous
  auto o = options_for(open_broker);
  o.reconnect = false;
  o.creds.username = "alice";
  o.creds.password = "alice-pw";
  auto e = login_error(o);
  CHECK(e.code == errc::unauthenticated);
  CHECK(e.message.find("without proving") != std::string::npos);
}

TEST_CASE("auth: no password, key or token secret reaches the log", "[security]") {
  secure_broker s;
  std::string token;
  {
    auto root = s.root();
    create_user(*root, "alice", "alice-Password-7");
    v1::CreateToken req;
    req.set_principal("alice");
    auto t = root->create_token(req);
    REQUIRE(t);
    token = t.value().token();
    CHECK(fc::blocking_client::connect(s.token_options(token)));
    CHECK(login_error(s.options("alice", "wrong-Password-8")).code == errc::unauthenticated);
  }
  s.broker->stop();
  std::string log = s.log();
  REQUIRE(log.find("user 'alice' created") != std::string::npos);
  REQUIRE(log.find("authenticated as 'alice' (TOKEN)") != std::string::npos);
  for (std::string secret :
       {std::string(root_password), std::string("alice-Password-7"),
        std::string("wrong-Password-8"), token, token.substr(token.rfind('_') + 1)})
    CHECK(log.find(secret) == std::string::npos);
}

namespace {

// Runs ferryd with `args` and `env` (a shell prefix), returning its exit status and output.
std::pair<int, std::string> run_ferryd(const std::string& env, const std::string& args) {
  std::string cmd = env + " " + FERRYD_PATH + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("auth: --print-config never shows the bootstrap password", "[security]") {
  auto [status, out] = run_ferryd("FERRY_AUTH_BOOTSTRAP_PASSWORD=Hunter2-secret",
                                  "--set auth.enabled=true --set auth.bootstrap_user=root "
                                  "--print-config");
  CHECK(status == 0);
  CHECK(out.find("bootstrap_user: root") != std::string::npos);
  CHECK(out.find("Hunter2-secret") == std::string::npos);
}

// Checked with --check-config: tests bind loopback only.
TEST_CASE("auth: a non-loopback listener needs authentication or an explicit allow_anonymous",
          "[security]") {
  auto [refused, why] = run_ferryd("", "--listen 0.0.0.0:7411 --check-config");
  CHECK(refused != 0);
  CHECK(why.find("auth.allow_anonymous") != std::string::npos);
  CHECK(run_ferryd("", "--http [::]:7412 --check-config").first != 0);
  CHECK(run_ferryd("", "--listen 0.0.0.0:7411 --set auth.allow_anonymous=true --check-config")
            .first == 0);
  CHECK(run_ferryd("", "--listen 0.0.0.0:7411 --set auth.enabled=true --check-config").first == 0);
  CHECK(run_ferryd("", "--listen [::1]:7411 --http localhost:7412 --check-config").first == 0);
}
