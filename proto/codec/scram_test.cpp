// SCRAM-SHA-256 against RFC 7677's example exchange, both ends, and the ways an exchange
// must fail.
#include "proto/codec/scram.h"

#include <catch2/catch.hpp>

namespace scram = ferry::scram;

namespace {

// RFC 7677 section 3.
constexpr std::string_view client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

scram::keys rfc_keys() {
  std::string salt;
  REQUIRE(scram::unbase64("W22ZaJ0SNY7soEsUEjb6gQ==", salt));
  return scram::derive("pencil", salt, 4096);
}

scram::server::lookup finds(const scram::keys& k) {
  return [k](std::string_view user, scram::keys& out) {
    if (user != "user") return false;
    out = k;
    return true;
  };
}

}  // namespace

TEST_CASE("scram: the client reproduces RFC 7677's exchange") {
  scram::client c("user", "pencil", std::string(client_nonce));
  CHECK(c.first() == client_first);
  std::string final;
  REQUIRE(c.final(server_first, final).empty());
  CHECK(final == client_final);
  CHECK(c.verify(server_final).empty());
  CHECK_FALSE(c.verify("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").empty());
  CHECK_FALSE(c.verify("e=invalid-proof").empty());
}

TEST_CASE("scram: the server reproduces RFC 7677's exchange") {
  scram::server s;
  std::string out;
  REQUIRE(s.first(client_first, finds(rfc_keys()), out, std::string(server_nonce)).empty());
  CHECK(out == server_first);
  CHECK(s.user() == "user");
  REQUIRE(s.final(client_final, out).empty());
  CHECK(out == server_final);
}

TEST_CASE("scram: a wrong password, an unknown user and a replay are refused") {
  auto k = scram::make_keys("pencil");
  SECTION("wrong password") {
    scram::client c("user", "crayon");
    scram::server s;
    std::string sf, cf, out;
    REQUIRE(s.first(c.first(), finds(k), sf).empty());
    REQUIRE(c.final(sf, cf).empty());
    CHECK(s.final(cf, out) == "authentication failed");
  }
  SECTION("unknown user: same answer, a stable made-up salt") {
    scram::client c("nobody", "pencil");
    scram::server s1, s2;
    std::string sf1, sf2, cf, out;
    REQUIRE(s1.first(c.first(), finds(k), sf1).empty());
    REQUIRE(s2.first(c.first(), finds(k), sf2).empty());
    CHECK(sf1.substr(sf1.find(",s=")) == sf2.substr(sf2.find(",s=")));
    REQUIRE(c.final(sf1, cf).empty());
    CHECK(s1.final(cf, out) == "authentication failed");
  }
  SECTION("a recorded client-final against a new exchange") {
    scram::server s;
    std::string out;
    REQUIRE(s.first(client_first, finds(rfc_keys()), out).empty());  // a fresh server nonce
    CHECK(s.final(client_final, out) == "the nonce is not this exchange's");
  }
  SECTION("a second final on the same exchange") {
    scram::server s;
    std::string out;
    REQUIRE(s.first(client_first, finds(rfc_keys()), out, std::string(server_nonce)).empty());
    REQUIRE(s.final(client_final, out).empty());
    CHECK_FALSE(s.final(client_final, out).empty());
  }
}

TEST_CASE("scram: malformed messages get a reason, never a crash") {
  auto k = scram::make_keys("pencil");
  for (std::string_view bad :
       {"", "n,", "n,,", "n,,r=abc", "n,,n=,r=x", "n,,n=a=zz,r=x", "p=tls-unique,,n=user,r=x",
        "n,a=admin,n=user,r=x", "n,,n=user,r=a,b"}) {
    scram::server s;
    std::string out;
    CHECK_FALSE(s.first(bad, finds(k), out).empty());
  }
  scram::server s;
  std::string out;
  REQUIRE(s.first(client_first, finds(rfc_keys()), out, std::string(server_nonce)).empty());
  CHECK_FALSE(s.final("c=biws,r=x", out).empty());
  scram::client c("user", "pencil", std::string(client_nonce));
  for (std::string_view bad : {"", "r=x,s=AAAA,i=4096", "r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=4096",
                               "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                               "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999"})
    CHECK_FALSE(c.final(bad, out).empty());
}

TEST_CASE("scram: user names with ',' and '=' are escaped both ways") {
  auto k = scram::make_keys("pw");
  scram::client c("a,b=c", "pw");
  CHECK(c.first().starts_with("n,,n=a=2Cb=3Dc,r="));
  scram::server s;
  std::string sf, cf, out;
  REQUIRE(s.first(
               c.first(), [&](std::string_view, scram::keys& o) { return o = k, true; }, sf)
              .empty());
  CHECK(s.user() == "a,b=c");
  REQUIRE(c.final(sf, cf).empty());
  REQUIRE(s.final(cf, out).empty());
  CHECK(c.verify(out).empty());
}

TEST_CASE("scram: stored keys are checked before use") {
  CHECK(scram::check_keys(scram::make_keys("pw")).empty());
  auto k = scram::make_keys("pw");
  k.iterations = 100;
  CHECK_FALSE(scram::check_keys(k).empty());
  k = scram::make_keys("pw");
  k.salt = "short";
  CHECK_FALSE(scram::check_keys(k).empty());
  std::string raw;
  CHECK_FALSE(scram::unbase64("abc", raw));
  CHECK(scram::unbase64(scram::base64("xy"), raw));
  CHECK(raw == "xy");
}
