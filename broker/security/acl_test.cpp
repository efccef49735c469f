// The access rules' decisions: pattern coverage against the topic matcher itself (a
// property over random names and patterns), deny over allow, groups, ADMIN, the implied
// describe, and the decision cache following rule changes.
#include "broker/security/acl.h"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include "broker/security/acl_authorizer.h"
#include "proto/codec/names.h"

using namespace ferry::broker;
namespace v1 = ferry::v1;
namespace names = ferry::names;

namespace {

// Names and patterns over a small alphabet, so that they often overlap.
rc::Gen<std::string> segment() {
  return rc::gen::element<std::string>("a", "b", "c");
}
rc::Gen<std::string> name() {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(3, segment()),
                      [](const std::vector<std::string>& s) {
                        std::string out;
                        for (const auto& x : s)
                          out += (out.empty() ? "" : ".") + x;
                        return out;
                      });
}
rc::Gen<std::string> pattern() {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange(1, 4),
                                    rc::gen::container<std::vector<std::string>>(
                                        3, rc::gen::element<std::string>("a", "b", "*", ">"))),
                      [](const std::pair<int, std::vector<std::string>>& p) {
                        std::string out;
                        for (int i = 0; i < p.first; ++i) {
                          std::string seg = p.second[static_cast<size_t>(i)];
                          if (seg == ">" && i + 1 < p.first) seg = "*";  // ">" only last
                          out += (out.empty() ? "" : ".") + seg;
                        }
                        return out;
                      });
}

v1::AclRule make(const std::string& who, v1::ResourceKind kind, const std::string& pattern,
                 std::vector<v1::Operation> ops, bool deny = false) {
  v1::AclRule r;
  r.set_principal(who);
  r.set_resource_kind(kind);
  r.set_pattern(pattern);
  for (auto op : ops)
    r.add_operations(op);
  r.set_deny(deny);
  return r;
}

principal user(std::string name, std::vector<std::string> groups = {}) {
  principal p;
  p.name = std::move(name);
  p.groups = std::move(groups);
  return p;
}

}  // namespace

TEST_CASE("acl: a rule covers a name exactly when the topic matcher matches it") {
  rc::prop("covers(rule, name) == matches(rule, name)", [] {
    std::string rule = *pattern(), n = *name();
    RC_ASSERT(acl::covers(rule, n) == names::matches(rule, n));
    RC_ASSERT(acl::intersects(rule, n) == names::matches(rule, n));
  });
  rc::prop("a rule covers a pattern only if it covers every name the pattern matches", [] {
    std::string rule = *pattern(), requested = *pattern(), n = *name();
    if (acl::covers(rule, requested) && names::matches(requested, n))
      RC_ASSERT(names::matches(rule, n));
    if (names::matches(rule, n) && names::matches(requested, n))
      RC_ASSERT(acl::intersects(rule, requested));
  });
}

TEST_CASE("acl: deny wins, groups and ADMIN, and describe comes with use") {
  acl::rules r;
  r.set({make("alice", v1::RESOURCE_KIND_TOPIC, "orders.>", {v1::OPERATION_PUBLISH}),
         make("alice", v1::RESOURCE_KIND_TOPIC, "orders.secret", {v1::OPERATION_PUBLISH}, true),
         make("group:ops", v1::RESOURCE_KIND_SUBSCRIPTION, "billing", {v1::OPERATION_CONSUME}),
         make("root", v1::RESOURCE_KIND_BROKER, "", {v1::OPERATION_ADMIN})});
  auto alice = user("alice"), bob = user("bob", {"ops"}), root = user("root");
  CHECK(r.allows(alice, resource_kind::topic, "orders.eu", operation::publish));
  CHECK(r.allows(alice, resource_kind::topic, "orders.eu", operation::describe));
  CHECK_FALSE(r.allows(alice, resource_kind::topic, "orders.eu", operation::consume));
  CHECK_FALSE(r.allows(alice, resource_kind::topic, "orders.secret", operation::publish));
  CHECK_FALSE(
      r.allows(alice, resource_kind::topic, "orders.*", operation::publish));  // may match secret
  CHECK_FALSE(r.allows(alice, resource_kind::subscription, "orders.eu", operation::publish));
  CHECK(r.allows(bob, resource_kind::subscription, "billing", operation::consume));
  CHECK_FALSE(r.allows(bob, resource_kind::topic, "orders.eu", operation::publish));
  CHECK(r.allows(root, resource_kind::group, "anything", operation::remove));
  CHECK_FALSE(r.allows(bob, resource_kind::user, "alice", operation::alter));
  // Its own record, when it logged in with its password (not with a token).
  bob.mechanism = "TOKEN";
  CHECK_FALSE(r.allows(bob, resource_kind::user, "bob", operation::alter));
  bob.mechanism = "SCRAM-SHA-256";
  CHECK(r.allows(bob, resource_kind::user, "bob", operation::alter));
  CHECK(r.allows(bob, resource_kind::user, "", operation::alter));            // "" = itself
  CHECK_FALSE(r.allows(bob, resource_kind::topic, "", operation::describe));  // nameless
}

TEST_CASE("acl: the authorizer's cached decisions follow rule changes") {
  acl_authorizer a;
  auto alice = user("alice");
  CHECK(a.authorize(alice, resource_kind::topic, "t", operation::publish));  // refused
  a.set_rules({make("alice", v1::RESOURCE_KIND_TOPIC, "t", {v1::OPERATION_PUBLISH})});
  CHECK_FALSE(a.authorize(alice, resource_kind::topic, "t", operation::publish));
  a.set_rules({});
  auto err = a.authorize(alice, resource_kind::topic, "t", operation::publish);
  REQUIRE(err);
  CHECK(err.message == "'alice' may not publish on topic 't'");
}
