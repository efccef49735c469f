// ferry scheduled list|cancel: the delayed messages waiting for a topic (PROTOCOL.md 5.7).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"
#include "proto/cloudevents/cloudevent.h"

namespace ferry::cli {

namespace {

using u64 = unsigned long long;

struct list_args {
  std::string topic;
  std::string after;
  uint32_t limit = 100;
  bool all = false;
};

// One line per message: id, due time, size, key (if any).
void print_page(const v1::ScheduledList& page) {
  for (const auto& m : page.messages()) {
    std::printf("%s\t%s\tbytes=%zu", m.id().c_str(), cloudevents::format_time(m.due_ms()).c_str(),
                m.message().ByteSizeLong());
    if (m.has_partition()) std::printf("\tpartition=%u", m.partition());
    if (!m.message().key().empty()) std::printf("\tkey=%s", m.message().key().c_str());
    std::printf("\n");
  }
}

int run_list(const globals& g, const list_args& a) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  v1::ListScheduled req;
  req.set_topic(a.topic);
  req.set_after(a.after);
  req.set_limit(a.all ? 1000 : a.limit);
  for (bool first = true;; first = false) {
    auto r = c->list_scheduled(req);
    if (!r) return fail(r.err());
    if (first) {
      std::printf("topic: %s\nwaiting: %llu\n", r->topic().c_str(), static_cast<u64>(r->waiting()));
      if (r->next_due_ms() != 0)
        std::printf("next_due: %s\n", cloudevents::format_time(r->next_due_ms()).c_str());
    }
    print_page(r.value());
    if (r->next_after().empty()) return exit_ok;
    if (!a.all) {
      std::printf("more: --after %s\n", r->next_after().c_str());
      return exit_ok;
    }
    req.set_after(r->next_after());
  }
}

int run_cancel(const globals& g, const std::string& topic, const std::string& id) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->cancel_scheduled(topic, id);
  if (!r) return fail(r.err());
  std::printf("cancelled %s\n", id.c_str());
  return exit_ok;
}

}  // namespace

void add_scheduled_commands(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("scheduled", "delayed messages waiting for a topic");
  cmd->require_subcommand(1);

  auto a = std::make_shared<list_args>();
  auto* list = cmd->add_subcommand(
      "list", "how many wait, the next due time, and the messages in due order (id, due, size)");
  list->add_option("TOPIC", a->topic, "topic name")->required();
  list->add_option("--limit", a->limit, "messages to show (at most 1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list->add_option("--after", a->after, "start after this id (the 'more:' line of a listing)");
  list->add_flag("--all", a->all, "every waiting message, page by page")->excludes("--limit");
  list->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_list(ctx.g, *a); }; });

  auto topic = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto* cancel =
      cmd->add_subcommand("cancel", "take a message out of the schedule before it is due");
  cancel->add_option("TOPIC", *topic, "topic name")->required();
  cancel->add_option("ID", *id, "its id, from `ferry pub` or `ferry scheduled list`")->required();
  cancel->callback([&ctx, topic, id] {
    ctx.run = [&ctx, topic, id] { return run_cancel(ctx.g, *topic, *id); };
  });
}

}  // namespace ferry::cli
