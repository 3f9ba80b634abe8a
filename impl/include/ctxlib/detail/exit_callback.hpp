// ctxlib/detail/exit_callback.hpp: a move-only `Result(const std::exception_ptr&)` that keeps
// small callables inline (no allocation for a lambda capturing up to three pointers), so an
// exit stack of small entries costs what a vector of function pointers would. Result is bool
// for synchronous exits and task<bool> for asynchronous ones.
#pragma once

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ctxlib::detail {

template <class Result>
class basic_exit_callback {
 public:
  static constexpr std::size_t inline_capacity = 3 * sizeof(void*);

  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>,
                           basic_exit_callback>) explicit basic_exit_callback(F&& f) {
    using stored = std::decay_t<F>;
    if constexpr (fits_inline<stored>) {
      ::new (static_cast<void*>(storage_)) stored(std::forward<F>(f));
      ops_ = &inline_ops<stored>;
    } else {
      ::new (static_cast<void*>(storage_)) stored*(new stored(std::forward<F>(f)));
      ops_ = &heap_ops<stored>;
    }
  }

  basic_exit_callback(basic_exit_callback&& other) noexcept { take(other); }
  basic_exit_callback& operator=(basic_exit_callback&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  basic_exit_callback(const basic_exit_callback&) = delete;
  basic_exit_callback& operator=(const basic_exit_callback&) = delete;
  ~basic_exit_callback() { reset(); }

  Result operator()(const std::exception_ptr& exception) { return ops_->call(storage_, exception); }

 private:
  // Entries are moved on every pop (and when a stack leaves its inline room), so `relocate`
  // and `destroy` are null for callables whose bytes are their value (a lambda capturing
  // references or pointers, the usual exit; the pointer to a heap callable): moving one is
  // then a copy of the bytes, without an indirect call.
  struct operations {
    Result (*call)(void* storage, const std::exception_ptr& exception);
    void (*relocate)(void* from, void* to) noexcept;  // move-construct into `to`, destroy `from`
    void (*destroy)(void* storage) noexcept;
  };

  template <class F>
  static constexpr bool fits_inline =
      sizeof(F) <= inline_capacity &&
      alignof(F) <= alignof(void*) && std::is_nothrow_move_constructible_v<F>;

  template <class F>
  static void relocate_inline(void* from, void* to) noexcept {
    F* source = std::launder(static_cast<F*>(from));
    ::new (to) F(std::move(*source));
    source->~F();
  }
  template <class F>
  static void destroy_inline(void* s) noexcept {
    std::launder(static_cast<F*>(s))->~F();
  }

  template <class F>
  static constexpr operations inline_ops{
      [](void* s, const std::exception_ptr& e) -> Result {
        return static_cast<Result>((*std::launder(static_cast<F*>(s)))(e));
      },
      std::is_trivially_copyable_v<F> ? nullptr : &relocate_inline<F>,
      std::is_trivially_copyable_v<F> ? nullptr : &destroy_inline<F>,
  };

  template <class F>
  static constexpr operations heap_ops{
      [](void* s, const std::exception_ptr& e) -> Result {
        return static_cast<Result>((**std::launder(static_cast<F**>(s)))(e));
      },
      nullptr,
      [](void* s) noexcept { delete *std::launder(static_cast<F**>(s)); },
  };

  // Moves other's callable here (this holds none) and leaves other empty.
  void take(basic_exit_callback& other) noexcept {
    ops_ = std::exchange(other.ops_, nullptr);
    if (ops_ != nullptr && ops_->relocate != nullptr) {
      ops_->relocate(other.storage_, storage_);
    } else {
      std::memcpy(storage_, other.storage_, inline_capacity);
    }
  }

  void reset() noexcept {
    if (ops_ != nullptr && ops_->destroy != nullptr) ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(void*) unsigned char storage_[inline_capacity];
  const operations* ops_ = nullptr;
};

using exit_callback = basic_exit_callback<bool>;

}  // namespace ctxlib::detail
