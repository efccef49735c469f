// reply: how a service answers a request that may complete later (after a catalog write,
// a storage lookup): the outcome, or the typed result. Called exactly once, on the loop.
#pragma once

#include <functional>

#include "proto/codec/errc.h"

namespace ferry::broker {

template <typename Result>
using reply = std::function<void(const ferry::error&, const Result&)>;

}  // namespace ferry::broker
