// TLS on both listeners of a real ferryd, against libferry, the ferry CLI and independent
// clients (openssl s_client, curl, Python's ssl): verification of the broker's
// certificate, TLS 1.2+ only, mutual TLS identities, SIGHUP reloads, handshake timeouts.
// The certificates come from tests/tls/make_certs.sh (the openssl CLI), per test run.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_client.h"
#include "tests/support/test_certs.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using ferry::errc;

namespace {

// Runs a shell command; its exit status and output (stdout and stderr).
std::pair<int, std::string> sh(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::vector<std::string> tls_args(const std::string& server = "server",
                                  std::vector<std::string> more = {}) {
  std::vector<std::string> a{"--set", "tls.enabled=true",
                             "--set", "tls.cert_file=" + test_cert(server + ".pem"),
                             "--set", "tls.key_file=" + test_cert(server + ".key")};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

fc::client_options tls_options(const broker_process& b, const std::string& ca = "ca.pem") {
  auto o = options_for(b);
  o.reconnect = false;
  o.connect_timeout = std::chrono::seconds(3);
  o.tls.enabled = true;
  o.tls.ca_file = test_cert(ca);
  return o;
}

ferry::error connect_error(const fc::client_options& o) {
  auto r = fc::blocking_client::connect(o);
  return r ? ferry::error{} : r.err();
}

std::string cli(const broker_process& b, const std::string& args) {
  return std::string(FERRY_CLI_PATH) + " --broker 127.0.0.1:" + std::to_string(b.port()) + " " +
         args;
}

}  // namespace

TEST_CASE("tls: libferry, the CLI and HTTPS clients over TLS", "[tls]") {
  broker_process b(tls_args());
  auto r = fc::blocking_client::connect(tls_options(b));
  REQUIRE(r);
  auto& c = *r.value();
  create_topic(c, "orders.eu");
  auto consumer = ephemeral(c, "orders.eu");
  publish(c, "orders.eu", "over tls");
  CHECK(payload(next(consumer)) == "over tls");

  auto [status, out] = sh(cli(b, "--tls --ca-file " + test_cert("ca.pem") + " topic list"));
  CHECK(status == 0);
  CHECK(out.find("orders.eu") != std::string::npos);
  // The HTTP listener speaks TLS too.
  auto [cs, body] = sh("curl -sS -i --cacert " + test_cert("ca.pem") +
                       " https://127.0.0.1:" + std::to_string(b.http_port()) + "/v1/topics");
  CHECK(cs == 0);
  CHECK(body.find("orders.eu") != std::string::npos);
  CHECK(body.find("Strict-Transport-Security: max-age=31536000") != std::string::npos);
  auto [hs, hout] = sh(std::string(FERRY_CLI_PATH) + " --ca-file " + test_cert("ca.pem") +
                       " health --http 127.0.0.1:" + std::to_string(b.http_port()));
  CHECK(hs == 0);
  CHECK(hout.find("200") == 0);
  // A client without TLS gets nowhere, and the broker is none the worse.
  auto plain = options_for(b);
  plain.reconnect = false;
  plain.connect_timeout = std::chrono::seconds(3);
  CHECK(connect_error(plain));
  CHECK(sh("curl -sS http://127.0.0.1:" + std::to_string(b.http_port()) + "/livez").first != 0);
  publish(c, "orders.eu", "still here");
  CHECK(payload(next(consumer)) == "still here");
}

TEST_CASE("tls: a wrong CA, an expired and a wrong-host certificate are refused", "[tls]") {
  SECTION("a CA that did not sign the broker's certificate") {
    broker_process b(tls_args());
    auto e = connect_error(tls_options(b, "ca2.pem"));
    CHECK(e.message.find("certificate verify failed") != std::string::npos);
    CHECK(sh(cli(b, "--ca-file " + test_cert("ca2.pem") + " topic list")).first == 1);
  }
  SECTION("an expired certificate") {
    broker_process b(tls_args("expired"));
    auto e = connect_error(tls_options(b));
    CHECK(e.message.find("certificate verify failed") != std::string::npos);
  }
  SECTION("a certificate for another host, unless name verification is off") {
    broker_process b(tls_args("wronghost"));
    auto e = connect_error(tls_options(b));
    CHECK(e.message.find("certificate verify failed") != std::string::npos);
    auto o = tls_options(b);
    o.tls.server_name = "example.com";  // the name it is for: verified, and it connects
    CHECK_FALSE(connect_error(o));
    o.tls.server_name.clear();
    o.tls.verify_server_name = false;
    CHECK_FALSE(connect_error(o));
  }
}

TEST_CASE("tls: TLS 1.2 and 1.3 only, and independent clients verify the broker", "[tls]") {
  broker_process b(tls_args());
  const std::string wire = "127.0.0.1:" + std::to_string(b.port());
  const std::string s_client = "echo | openssl s_client -connect " + wire + " -CAfile " +
                               test_cert("ca.pem") + " -verify_return_error -verify_ip 127.0.0.1 ";
  auto [st13, out13] = sh(s_client + "-tls1_3");
  CHECK(st13 == 0);
  CHECK(out13.find("Verify return code: 0 (ok)") != std::string::npos);
  auto [st12, out12] = sh(s_client + "-tls1_2");
  CHECK(st12 == 0);
  CHECK(out12.find("Cipher is ECDHE-") != std::string::npos);  // forward secret
  CHECK(sh(s_client + "-tls1_1").first != 0);
  CHECK(sh(s_client + "-tls1_2 -cipher AES128-SHA256").first != 0);  // no RSA key exchange
  // Python's ssl module, on the HTTP listener: a GET over a verified TLS 1.2+ connection
  // (to 127.0.0.1, in the certificate as an IP: a fresh Debian root may have no /etc/hosts).
  const std::string py =
      "/usr/bin/python3 -c \"import ssl, http.client, sys; "
      "ctx = ssl.create_default_context(cafile=sys.argv[1]); "
      "c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[2]), context=ctx); "
      "c.request('GET', '/livez'); r = c.getresponse(); "
      "print(r.status, c.sock.version(), r.read().decode())\" " +
      test_cert("ca.pem") + " " + std::to_string(b.http_port());
  auto [pst, pout] = sh(py);
  CHECK(pst == 0);
  CHECK(pout.find("200 TLSv1.3") != std::string::npos);
}

TEST_CASE("tls: a client certificate's name is who the client is (mutual TLS)", "[tls]") {
  broker_process b(
      tls_args("server", {"--set", "tls.client_auth=required", "--set",
                          "tls.ca_file=" + test_cert("ca.pem"), "--set", "auth.enabled=true"}));
  // Without a certificate the handshake fails.
  CHECK(connect_error(tls_options(b)));
  auto o = tls_options(b);
  o.tls.cert_file = test_cert("alice.pem");
  o.tls.key_file = test_cert("alice.key");
  auto r = fc::blocking_client::connect(o);
  REQUIRE(r);
  auto me = r.value()->who_am_i();
  REQUIRE(me);
  CHECK(me->principal() == "alice");
  CHECK(me->mechanism() == "TLS");
  // alice has no rules yet: authenticated, not authorized.
  CHECK(r.value()->list_topics().err().code == errc::unauthorized);
  // The same identity on the HTTP listener, without a token.
  auto [st, body] = sh("curl -sS --cacert " + test_cert("ca.pem") + " --cert " +
                       test_cert("alice.pem") + " --key " + test_cert("alice.key") +
                       " https://127.0.0.1:" + std::to_string(b.http_port()) + "/v1/whoami");
  CHECK(st == 0);
  CHECK(body.find("\"principal\":\"alice\"") != std::string::npos);
  auto [cli_st, cli_out] =
      sh(cli(b, "--ca-file " + test_cert("ca.pem") + " --cert-file " + test_cert("alice.pem") +
                    " --key-file " + test_cert("alice.key") + " whoami"));
  CHECK(cli_st == 0);
  CHECK(cli_out.find("alice (TLS)") != std::string::npos);
  // A common name that is no user name (one that would pass for a group) is refused.
  o.tls.cert_file = test_cert("badname.pem");
  o.tls.key_file = test_cert("badname.key");
  auto bad = connect_error(o);
  CHECK(bad.code == errc::unauthenticated);
  CHECK(bad.message.find("not a valid user name") != std::string::npos);
}

TEST_CASE("tls: SIGHUP reloads the certificate for new connections and drops none", "[tls]") {
  std::string dir = make_temp_dir("ferry-reload");
  std::filesystem::copy_file(test_cert("server.pem"), dir + "/cert.pem");
  std::filesystem::copy_file(test_cert("server.key"), dir + "/key.pem");
  broker_process b({"--set", "tls.enabled=true", "--set", "tls.cert_file=" + dir + "/cert.pem",
                    "--set", "tls.key_file=" + dir + "/key.pem"});
  auto before = fc::blocking_client::connect(tls_options(b));
  REQUIRE(before);
  create_topic(*before.value(), "t.reload");
  CHECK(connect_error(tls_options(b, "ca2.pem")));

  // A broken file first: the reload is refused and the old certificate stays.
  { std::ofstream(dir + "/cert.pem", std::ios::trunc) << "not a certificate\n"; }
  ::kill(b.pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(connect_error(tls_options(b)));

  std::filesystem::copy_file(test_cert("server2.pem"), dir + "/cert.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(test_cert("server2.key"), dir + "/key.pem",
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(b.pid(), SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 50 && !reloaded; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reloaded = !connect_error(tls_options(b, "ca2.pem"));
  }
  CHECK(reloaded);
  CHECK(connect_error(tls_options(b)));  // the old CA no longer verifies new connections
  // The connection made before both signals still works.
  publish(*before.value(), "t.reload", "after the reload");
  CHECK(b.running());
}

TEST_CASE("tls: a client that never finishes the TLS handshake is cut off", "[tls]") {
  broker_process b(tls_args("server", {"--set", "limits.handshake_timeout_ms=300"}));
  raw_client idle(b.host(), b.port());  // TCP only: no ClientHello ever
  auto t0 = std::chrono::steady_clock::now();
  CHECK(idle.closed_by_peer(std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK_FALSE(connect_error(tls_options(b)));
}
