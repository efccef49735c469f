// broker_services: the service layer as one bundle, what every front end is given. The
// subsystems below it (queues/, logs/, groups/, catalog/) are reached only through these,
// and the cluster through its view.
#pragma once

#include "broker/cluster/cluster_view.h"
#include "broker/services/consume_service.h"
#include "broker/services/group_service.h"
#include "broker/services/publish_service.h"
#include "broker/services/topic_service.h"

namespace ferry::broker {

struct broker_services {
  topic_service& topics;
  publish_service& publish;
  consume_service& consume;
  group_service& groups;
  const cluster_view* cluster = nullptr;  // null: a single broker (no cluster.etcd)
};

}  // namespace ferry::broker
