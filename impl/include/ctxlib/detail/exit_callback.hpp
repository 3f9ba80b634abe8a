// ctxlib/detail/exit_callback.hpp: a move-only `Result(const std::exception_ptr&)` that keeps
// small callables inline (no allocation for a lambda capturing up to three pointers), so an
// exit stack of small entries costs what a vector of function pointers would. Result is bool
// for synchronous exits and task<bool> for asynchronous ones.
#pragma once

#include <cstddef>
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

  basic_exit_callback(basic_exit_callback&& other) noexcept : ops_(other.ops_) {
    ops_->relocate(other.storage_, storage_);
    other.ops_ = nullptr;
  }
  basic_exit_callback& operator=(basic_exit_callback&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      ops_->relocate(other.storage_, storage_);
      other.ops_ = nullptr;
    }
    return *this;
  }
  basic_exit_callback(const basic_exit_callback&) = delete;
  basic_exit_callback& operator=(const basic_exit_callback&) = delete;
  ~basic_exit_callback() { reset(); }

  Result operator()(const std::exception_ptr& exception) { return ops_->call(storage_, exception); }

 private:
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
  static constexpr operations inline_ops{
      [](void* s, const std::exception_ptr& e) -> Result {
        return static_cast<Result>((*std::launder(static_cast<F*>(s)))(e));
      },
      [](void* from, void* to) noexcept {
        F* source = std::launder(static_cast<F*>(from));
        ::new (to) F(std::move(*source));
        source->~F();
      },
      [](void* s) noexcept { std::launder(static_cast<F*>(s))->~F(); },
  };

  template <class F>
  static constexpr operations heap_ops{
      [](void* s, const std::exception_ptr& e) -> Result {
        return static_cast<Result>((**std::launder(static_cast<F**>(s)))(e));
      },
      [](void* from, void* to) noexcept { ::new (to) F*(*std::launder(static_cast<F**>(from))); },
      [](void* s) noexcept { delete *std::launder(static_cast<F**>(s)); },
  };

  void reset() noexcept {
    if (ops_ != nullptr) ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(void*) unsigned char storage_[inline_capacity];
  const operations* ops_ = nullptr;
};

using exit_callback = basic_exit_callback<bool>;

}  // namespace ctxlib::detail
