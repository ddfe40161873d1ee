// Result<T>: an expected<T, Error>-shaped return type. berth does not use
// exceptions for expected failures (syscalls, bad input, missing objects).
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace berth {

// Error kinds; the HTTP layer maps each to one status code.
enum class Errc { invalid, not_found, conflict, not_modified, unavailable, forbidden, internal, unauthorized };

struct Error {
  Errc kind = Errc::internal;
  int sys_errno = 0;
  std::string msg;

  Error wrap(std::string_view ctx) && {
    msg.insert(0, std::string(ctx) + ": ");
    return std::move(*this);
  }
  Error wrap(std::string_view ctx) const& {
    Error e = *this;
    return std::move(e).wrap(ctx);
  }
};

inline Error make_error(Errc k, std::string msg) { return Error{k, 0, std::move(msg)}; }

// Turn errno into an Error with a kind; `what` names the failed operation.
inline Error sys_error(std::string_view what, int e = errno) {
  Errc k = e == ENOENT                 ? Errc::not_found
           : e == EEXIST               ? Errc::conflict
           : e == EACCES || e == EPERM ? Errc::forbidden
           : e == EINVAL               ? Errc::invalid
                                       : Errc::internal;
  return Error{k, e, std::string(what) + ": " + std::strerror(e)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(const T& v) : v_(std::in_place_index<0>, v) {}  // NOLINT(google-explicit-constructor)
  Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, Result> &&
                                              !std::is_same_v<std::decay_t<U>, Error>>>
  Result(U&& u) : v_(std::in_place_index<0>, T(std::forward<U>(u))) {}  // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }
  template <class U>
  T value_or(U&& d) const& {
    return has_value() ? value() : T(std::forward<U>(d));
  }
  template <class F>
  Result transform_error(F&& f) && {
    if (has_value()) return std::move(*this);
    return Result(f(std::move(*this).error()));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT
  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {}
  Error& error() & { return err_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }
  template <class F>
  Result transform_error(F&& f) && {
    if (ok_) return {};
    return Result(f(std::move(err_)));
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace berth

// Statement expressions (GNU): evaluate, return the error from the enclosing
// function, else yield the value.
#define BERTH_TRY(expr)                                         \
  ({                                                            \
    auto berth_r_ = (expr);                                     \
    if (!berth_r_.has_value()) return std::move(berth_r_).error(); \
    std::move(berth_r_).value();                                \
  })
#define BERTH_TRY_VOID(expr)                                    \
  do {                                                          \
    auto berth_r_ = (expr);                                     \
    if (!berth_r_.has_value()) return std::move(berth_r_).error(); \
  } while (0)
#define BERTH_TRY_CTX(expr, ctx)                                             \
  ({                                                                         \
    auto berth_r_ = (expr);                                                  \
    if (!berth_r_.has_value()) return std::move(berth_r_).error().wrap(ctx); \
    std::move(berth_r_).value();                                             \
  })
