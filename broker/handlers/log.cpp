// Log topics: ConsumeLog (attach a reader at positions), Seek.
#include <memory>

#include "ferry/v1/log.pb.h"

#include "broker/handlers/dispatch.h"
#include "broker/handlers/parse.h"
#include "broker/server/context.h"
#include "broker/session/session.h"
#include "broker/topics/log_topic.h"

namespace ferry::broker::handlers {

void join_group(session& s, uint64_t cid, const v1::ConsumeLog& req, log_topic& t, uint32_t credit);

namespace {

// Resolves every start position (TIME ones in storage), then attaches the reader.
struct consume_job {
  std::weak_ptr<session> owner;
  uint64_t correlation_id;
  std::string topic;
  uint32_t credit;
  std::vector<v1::PartitionStart> starts;
  size_t outstanding;
  ferry::error first_error;

  void finish() {
    auto sp = owner.lock();
    if (!sp) return;
    if (first_error) return sp->respond_error(correlation_id, first_error);
    auto& reg = sp->ctx().topics();
    log_topic* t = reg.find_log_topic(topic);
    if (t == nullptr)
      return sp->respond_error(correlation_id, errc::topic_not_found,
                               "topic '" + topic + "' was deleted");
    consumer& c = sp->add_consumer(credit, true);
    std::vector<v1::PartitionAssignment> assigned;
    if (auto err = t->attach(c, starts, assigned)) {
      sp->remove_consumer(c.id());
      return sp->respond_error(correlation_id, err);
    }
    v1::ConsumeLogOk ok;
    ok.set_consumer_id(c.id());
    for (auto& a : assigned)
      *ok.add_assigned() = a;
    sp->respond(correlation_id, codec::body::consume_log_ok, ok);
  }
};

}  // namespace

void handle_consume_log(session& s, uint64_t cid, std::string_view bytes) {
  v1::ConsumeLog req;
  if (!parse(s, cid, bytes, req)) return;
  auto& reg = s.ctx().topics();
  reg.begin_event();
  log_topic* t = reg.find_log_topic(req.topic());
  if (t == nullptr) {
    if (reg.find_topic(req.topic()) != nullptr)
      return s.respond_error(
          cid, errc::wrong_topic_kind,
          "topic '" + req.topic() + "' is a memory topic: Subscribe to it instead");
    return s.respond_error(cid, errc::topic_not_found,
                           "topic '" + req.topic() + "' does not exist");
  }
  const auto& lc = reg.config().log;
  const uint32_t credit =
      std::min(req.credit() == 0 ? lc.default_credit : req.credit(), lc.max_credit);
  if (!req.group().empty()) return join_group(s, cid, req, *t, credit);
  if (req.partitions().empty())
    return s.respond_error(cid, errc::invalid_argument, "ConsumeLog needs partitions (or a group)");
  auto job = std::make_shared<consume_job>();
  job->owner = s.weak_from_this();
  job->correlation_id = cid;
  job->topic = req.topic();
  job->credit = credit;
  job->starts.assign(req.partitions().begin(), req.partitions().end());
  job->outstanding = job->starts.size();
  for (size_t i = 0; i < job->starts.size(); ++i) {
    t->resolve(job->starts[i].partition(), job->starts[i].start(),
               [job, i](ferry::error err, uint64_t off) {
                 if (err && !job->first_error) job->first_error = err;
                 job->starts[i].mutable_start()->set_kind(v1::Position::OFFSET);
                 job->starts[i].mutable_start()->set_value(static_cast<int64_t>(off));
                 if (--job->outstanding == 0) job->finish();
               });
  }
}

void handle_seek(session& s, uint64_t cid, std::string_view bytes) {
  v1::Seek req;
  if (!parse(s, cid, bytes, req)) return;
  consumer* c = s.find_consumer(req.consumer_id());
  if (c == nullptr || c->reader() == nullptr)
    return s.respond_error(cid, errc::unknown_consumer,
                           "consumer " + std::to_string(req.consumer_id()) +
                               " is not a log reader on this connection");
  s.ctx().topics().begin_event();
  log_topic& t = c->reader()->topic();
  t.resolve(req.partition(), req.position(),
            [w = s.weak_from_this(), cid, consumer_id = req.consumer_id(), p = req.partition()](
                ferry::error err, uint64_t off) {
              auto sp = w.lock();
              if (!sp) return;
              consumer* cc = sp->find_consumer(consumer_id);
              if (!err && (cc == nullptr || cc->reader() == nullptr))
                err = {make_error_code(errc::unknown_consumer), "the consumer closed meanwhile"};
              if (!err) err = cc->reader()->topic().seek(*cc, p, off);
              if (err) return sp->respond_error(cid, err);
              v1::SeekOk ok;
              ok.set_next_offset(off);
              sp->respond(cid, codec::body::seek_ok, ok);
            });
}

}  // namespace ferry::broker::handlers
