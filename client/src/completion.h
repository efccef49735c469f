// How libferry completes its handlers. Both helpers honour the handler's associated
// executor (a coroutine's, a strand's) and default to the client's executor.
#pragma once

#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace ferry::client::detail {

// Completes `h` from a later turn than its initiation (a response, a timer): inline
// when its executor is the one running. Callers have finished updating their state, as
// the handler may call back into the client.
template <typename Handler, typename... Args>
void complete(const boost::asio::any_io_executor& ex, Handler&& h, Args&&... args) {
  auto hex = boost::asio::get_associated_executor(h, ex);
  boost::asio::dispatch(hex, boost::asio::append(std::move(h), std::forward<Args>(args)...));
}

// Completes `h` from inside its initiating function, where Asio forbids running it inline.
template <typename Handler, typename... Args>
void complete_later(const boost::asio::any_io_executor& ex, Handler&& h, Args&&... args) {
  boost::asio::post(ex, boost::asio::append(std::move(h), std::forward<Args>(args)...));
}

// Moves `from` into `to`. Boost 1.81's any_completion_handler::operator=(&&) recurses
// forever (it re-wraps its argument), so handlers are never move-assigned in libferry:
// they are move-constructed, or assigned with this.
template <typename... Signatures>
void assign(boost::asio::any_completion_handler<Signatures...>& to,
            boost::asio::any_completion_handler<Signatures...>&& from) {
  boost::asio::any_completion_handler<Signatures...> tmp(std::move(from));
  to.swap(tmp);
}

}  // namespace ferry::client::detail
