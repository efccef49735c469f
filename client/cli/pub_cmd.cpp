// ferry pub TOPIC [MESSAGE]: publish MESSAGE, or one message per line of stdin.
//
// Stdin is read in chunks; the complete lines of a chunk go out as one async batch, and
// a bounded number of batches are in flight, so a large file streams without a round
// trip per line. The exit status is 0 only after every message was confirmed.
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "client/cli/common.h"
#include "proto/cloudevents/cloudevent.h"

namespace ferry::cli {

namespace {

struct pub_args {
  std::string topic;
  std::string message;
  CLI::Option* message_opt = nullptr;
  std::string key;
  int64_t partition = -1;  // log topics; -1 = chosen by key or round robin
  std::vector<std::string> headers;
  uint64_t ttl_ms = 0;
  std::string reply_to, correlation_id;
  std::string ce_id, ce_source, ce_type, ce_subject;
  uint64_t delay_ms = 0;
  std::string not_before;  // RFC 3339, or Unix ms
  bool verbose = false;
};

constexpr size_t max_batch_messages = 1000;
constexpr size_t max_batches_in_flight = 32;
constexpr size_t max_errors_shown = 10;

// Confirms of the stdin batches, counted on the I/O thread, awaited on the main thread.
struct tracker {
  std::mutex m;
  std::condition_variable cv;
  size_t in_flight = 0;
  size_t sent = 0;
  size_t failed = 0;
  std::vector<std::string> errors;  // the first few, already formatted
};

// Log topics: "PARTITION<TAB>OFFSET"; memory topics: "subscriptions=N".
std::string confirm_text(const client::publish_result& r) {
  if (!r.scheduled_id.empty()) return "scheduled " + r.scheduled_id;
  if (r.has_offset) return std::to_string(r.partition) + "\t" + std::to_string(r.offset);
  return "subscriptions=" + std::to_string(r.subscriptions) + (r.duplicate ? " duplicate" : "");
}

// Builds the message template (everything but the payload); false on a bad --header.
bool make_template(const pub_args& a, client::message& m) {
  m.key = a.key;
  if (a.partition >= 0) m.partition = static_cast<uint32_t>(a.partition);
  for (const auto& h : a.headers) {
    auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    m.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  m.ttl = std::chrono::milliseconds(a.ttl_ms);
  m.reply_to = a.reply_to;
  m.correlation_id = a.correlation_id;
  m.id = a.ce_id;
  m.source = a.ce_source;
  m.type = a.ce_type;
  m.subject = a.ce_subject;
  m.delay = std::chrono::milliseconds(a.delay_ms);
  return true;
}

// --not-before: an RFC 3339 time or Unix milliseconds; false when it is neither.
bool read_not_before(const pub_args& a, client::message& m) {
  if (a.not_before.empty()) return true;
  if (a.not_before.find_first_not_of("0123456789") == std::string::npos) {
    m.not_before_ms = std::stoll(a.not_before);
    return true;
  }
  return cloudevents::parse_time(a.not_before, m.not_before_ms);
}

void on_batch(tracker& t, bool verbose, size_t first_line, size_t count, const error& e,
              const client::batch_result& r) {
  std::lock_guard lock(t.m);
  std::vector<bool> failed(count, false);
  for (const auto& [index, err] : r.failures) {
    if (index >= count) continue;
    failed[index] = true;
    ++t.failed;
    if (t.errors.size() < max_errors_shown)
      t.errors.push_back(err.to_string() + " (line " + std::to_string(first_line + index) + ")");
  }
  if (e && r.failures.empty()) {  // the whole batch, without per-message detail
    t.failed += count;
    if (t.errors.size() < max_errors_shown) t.errors.push_back(e.to_string());
  }
  if (verbose) {
    for (size_t i = 0; i < count; ++i) {
      if (failed[i] || e) continue;
      if (i < r.offsets.size())  // log topics: one "PARTITION<TAB>OFFSET" line per message
        std::printf("%u\t%llu\n", r.partitions[i], static_cast<unsigned long long>(r.offsets[i]));
      else
        std::printf("line %zu: subscriptions=%u\n", first_line + i, r.subscriptions);
    }
    std::fflush(stdout);
  }
  --t.in_flight;
  t.cv.notify_all();
}

void send_batch(client::blocking_client& c, const pub_args& a, tracker& t,
                std::vector<client::message>& batch, size_t first_line) {
  if (batch.empty()) return;
  size_t n = batch.size();
  {
    std::unique_lock lock(t.m);
    t.cv.wait(lock, [&] { return t.in_flight < max_batches_in_flight; });
    ++t.in_flight;
    t.sent += n;
  }
  c.publish_batch_async(
      a.topic, std::move(batch),
      [&t, verbose = a.verbose, first_line, n](const error& e, const client::batch_result& r) {
        on_batch(t, verbose, first_line, n, e, r);
      });
  batch.clear();
}

int publish_stdin(client::blocking_client& c, const pub_args& a, const client::message& tmpl) {
  tracker t;
  std::vector<client::message> batch;
  std::string pending;  // bytes after the last newline
  size_t line = 0, first_line = 1;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(error{std::error_code(errno, std::generic_category()), "reading stdin"});
    if (n == 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      client::message m = tmpl;
      m.payload.assign(pending, start, nl - start);
      batch.push_back(std::move(m));
      ++line;
      if (batch.size() >= max_batch_messages) {
        send_batch(c, a, t, batch, first_line);
        first_line = line + 1;
      }
    }
    pending.erase(0, start);
    send_batch(c, a, t, batch, first_line);  // what this chunk completed goes out now
    first_line = line + 1;
  }
  if (!pending.empty()) {  // a last line without a newline
    client::message m = tmpl;
    m.payload = std::move(pending);
    batch.push_back(std::move(m));
    send_batch(c, a, t, batch, first_line);
  }
  std::unique_lock lock(t.m);
  t.cv.wait(lock, [&] { return t.in_flight == 0; });
  if (t.failed == 0) return exit_ok;
  for (const auto& e : t.errors)
    std::fprintf(stderr, "error: %s\n", e.c_str());
  if (t.failed > t.errors.size())
    std::fprintf(stderr, "error: %zu of %zu messages failed\n", t.failed, t.sent);
  return exit_error;
}

int run_pub(const globals& g, const pub_args& a) {
  client::message tmpl;
  if (!make_template(a, tmpl)) return usage_error("--header must be KEY=VALUE");
  if (!read_not_before(a, tmpl))
    return usage_error("--not-before must be an RFC 3339 time or Unix milliseconds");
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  if (a.message_opt->count() == 0) return publish_stdin(*c, a, tmpl);
  tmpl.payload = a.message;
  auto r = c->publish(a.topic, std::move(tmpl));
  if (!r) return fail(r.err());
  if (a.verbose) std::printf("%s\n", confirm_text(r.value()).c_str());
  return exit_ok;
}

}  // namespace

void add_pub_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<pub_args>();
  auto* cmd = app.add_subcommand("pub", "publish MESSAGE, or one message per line of stdin");
  cmd->add_option("TOPIC", a->topic, "topic to publish to")->required();
  a->message_opt = cmd->add_option("MESSAGE", a->message, "payload (default: lines of stdin)");
  cmd->add_option("--key", a->key, "partition key");
  cmd->add_option("--partition", a->partition, "log topics: the partition (default: by key)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--header", a->headers, "header KEY=VALUE (repeatable)")
      ->allow_extra_args(false);  // one value per --header, so MESSAGE is not taken
  cmd->add_option("--ttl-ms", a->ttl_ms, "time to live of the message");
  cmd->add_option("--reply-to", a->reply_to, "topic for replies");
  cmd->add_option("--correlation-id", a->correlation_id, "correlation id");
  cmd->add_option("--ce-id", a->ce_id, "CloudEvents id");
  cmd->add_option("--ce-source", a->ce_source, "CloudEvents source");
  cmd->add_option("--ce-type", a->ce_type, "CloudEvents type");
  cmd->add_option("--ce-subject", a->ce_subject, "CloudEvents subject");
  cmd->add_option("--delay-ms", a->delay_ms,
                  "delayed delivery: the broker publishes it this long after receiving it");
  cmd->add_option("--not-before", a->not_before,
                  "delayed delivery: not before this time (RFC 3339, or Unix ms)");
  cmd->add_flag("--verbose,-v", a->verbose,
                "print each confirm: subscriptions, or PARTITION<TAB>OFFSET for log topics");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_pub(ctx.g, *a); }; });
}

}  // namespace ferry::cli
