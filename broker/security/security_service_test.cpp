// security_service against a catalog whose writes the test answers, in order, one by one:
// a change is in force at once, and a failed write brings a key back to what is stored,
// whatever else was pending on it.
#include "broker/security/security_service.h"

#include <catch2/catch.hpp>

#include "broker/catalog/testing.h"
#include "proto/codec/scram.h"

using namespace ferry::broker;
namespace v1 = ferry::v1;
using ferry::errc;

namespace {

const ferry::error disk_full{make_error_code(errc::disk_full), "disk full"};

struct fixture {
  ferry::broker::testing::manual_clock clock;
  loop_clock now{clock};
  testing::held_catalog cat;
  credentials creds{now, true};
  acl_authorizer authz;
  security_service sec{cat, creds, authz, now};
  principal alice;

  fixture() { alice.name = "alice"; }

  void rule(v1::Operation op, bool remove) {
    v1::AclRule r;
    r.set_principal("alice");
    r.set_resource_kind(v1::RESOURCE_KIND_TOPIC);
    r.set_pattern("orders");
    r.add_operations(op);
    if (remove) {
      v1::RemoveAcl rm;
      *rm.mutable_rule() = r;
      sec.remove_acl(rm, [](const ferry::error&, const v1::RemoveAclOk&) {});
    } else {
      v1::AddAcl add;
      *add.mutable_rule() = r;
      sec.add_acl(add, [](const ferry::error&, const v1::AddAclOk&) {});
    }
  }
  bool may_publish() {
    return !authz.authorize(alice, resource_kind::topic, "orders", operation::publish);
  }
};

}  // namespace

TEST_CASE("security_service: a failed write goes back to what is stored, not what was seen") {
  fixture f;
  f.rule(v1::OPERATION_CONSUME, false);
  f.cat.answer();  // stored: consume only
  SECTION("both of two changes fail") {
    f.rule(v1::OPERATION_PUBLISH, false);  // A: + publish
    CHECK(f.may_publish());                // in force at once
    f.rule(v1::OPERATION_PUBLISH, true);   // B: - publish
    CHECK_FALSE(f.may_publish());
    f.cat.answer(disk_full);  // A fails while B is pending: nothing to restore yet
    f.cat.answer(disk_full);  // B fails: back to what is stored
    CHECK_FALSE(f.may_publish());
  }
  SECTION("the first fails, the second is stored") {
    f.rule(v1::OPERATION_PUBLISH, false);
    f.rule(v1::OPERATION_DESCRIBE, false);
    f.cat.answer(disk_full);
    f.cat.answer();  // B stored the rule as it stood, A's publish with it: memory = disk
    CHECK(f.may_publish());
  }
  SECTION("the first is stored, the second fails") {
    f.rule(v1::OPERATION_PUBLISH, false);
    f.rule(v1::OPERATION_PUBLISH, true);
    f.cat.answer();
    f.cat.answer(disk_full);
    CHECK(f.may_publish());  // what A stored
  }
}

TEST_CASE("security_service: a user whose creation failed is gone, its tokens too") {
  fixture f;
  v1::CreateUser cu;
  cu.set_name("alice");
  auto k = ferry::scram::make_keys("pw");
  cu.mutable_scram()->set_salt(k.salt);
  cu.mutable_scram()->set_iterations(k.iterations);
  cu.mutable_scram()->set_stored_key(k.stored_key);
  cu.mutable_scram()->set_server_key(k.server_key);
  ferry::error outcome;
  f.sec.create_user(cu, [&](const ferry::error& e, const v1::UserInfo&) { outcome = e; });
  CHECK(f.sec.has_user("alice"));
  v1::CreateToken ct;
  ct.set_principal("alice");
  f.sec.create_token(ct, f.alice, [](const ferry::error&, const v1::TokenCreated&) {});
  f.cat.answer(disk_full);
  f.cat.answer(disk_full);
  CHECK(outcome.code == errc::disk_full);
  CHECK_FALSE(f.sec.has_user("alice"));
  CHECK(f.creds.tokens().empty());
}
