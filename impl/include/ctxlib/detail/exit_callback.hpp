// ctxlib/detail/exit_callback.hpp: a move-only `Result(const std::exception_ptr&)` that keeps
// small callables inline (no allocation for a lambda capturing up to three pointers), so an
// exit stack of small entries costs what a vector of function pointers would. Result is bool
// for synchronous exits and task<bool> for asynchronous ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/inline_stack.hpp"

namespace ctxlib::detail {

template <class Result>
class basic_exit_callback {
 public:
  static constexpr std::size_t inline_capacity = 3 * sizeof(void*);
  // Whether a call completes before it returns. An asynchronous one starts a coroutine, which
  // may still refer to the callable (a lambda coroutine's captures) after the call returned.
  static constexpr bool synchronous = std::is_same_v<Result, bool>;

  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>,
                           basic_exit_callback>) explicit basic_exit_callback(F&& f) {
    using stored = std::decay_t<F>;
    if constexpr (fits_inline<stored>) {
      ::new (static_cast<void*>(storage_)) stored(std::forward<F>(f));
      constexpr bool bytes = std::is_trivially_copyable_v<stored>;
      ops_ = tagged(&inline_ops<stored>, bytes ? 0 : needs_relocate | needs_destroy);
    } else {
      ::new (static_cast<void*>(storage_)) stored*(new stored(std::forward<F>(f)));
      ops_ = tagged(&heap_ops<stored>, needs_destroy);
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

  // Calls the callable; an entry is called once.
  Result operator()(const std::exception_ptr& exception) {
    return operations_of(ops_)->call(storage_, exception);
  }

  // Calls and ends an entry its container has just released (inline_stack::release_back),
  // whose slot a push made during the call reuses. A callable whose bytes are its value is
  // called on a copy its call makes before any of its code runs (for the usual exit, a
  // capture or two loaded into registers); any other is first relocated out of the slot.
  // Relocating every entry to the caller's frame instead cost ~1 ns per entry of an unwind.
  static Result call_released(basic_exit_callback& released,
                              const std::exception_ptr& exception) requires synchronous {
    if (!released.has(tag_bits))
      return operations_of(released.ops_)->call(released.storage_, exception);
    basic_exit_callback owned(relocate_from, released);
    return owned(exception);
  }

  // Relocation (see inline_stack): takes other's callable and leaves `other` ended, so it
  // must not be destroyed. Cheaper than a move and a destruction: nothing is written back.
  basic_exit_callback(relocate_from_t, basic_exit_callback& other) noexcept : ops_(other.ops_) {
    relocate_storage(other);
  }

 private:
  // Entries are moved on every pop (and when a stack leaves its inline room). Most callables'
  // bytes are their value (a lambda capturing references or pointers, the usual exit; the
  // pointer to a heap callable): moving one is a copy of the bytes. Two low bits of `ops_` say
  // when `relocate` / `destroy` must be called, so the usual entry is moved and destroyed
  // without reading its operations table (one dependent load less per step of an unwind).
  struct operations {
    Result (*call)(void* storage, const std::exception_ptr& exception);
    void (*relocate)(void* from, void* to) noexcept;  // move-construct into `to`, destroy `from`
    void (*destroy)(void* storage) noexcept;
  };
  static constexpr std::uintptr_t needs_relocate = 1;
  static constexpr std::uintptr_t needs_destroy = 2;
  static constexpr std::uintptr_t tag_bits = needs_relocate | needs_destroy;
  static_assert(alignof(operations) > tag_bits,
                "The tag bits must be free in every pointer to an operations table.");

  // `ops_` is a pointer type, not an integer, so that storing it cannot alias a container's
  // size_t counters (which would keep them in memory in every push loop).
  static const void* tagged(const operations* ops, std::uintptr_t tags) noexcept {
    return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(ops) | tags);
  }
  static const operations* operations_of(const void* ops) noexcept {
    return reinterpret_cast<const operations*>(reinterpret_cast<std::uintptr_t>(ops) & ~tag_bits);
  }
  bool has(std::uintptr_t tag) const noexcept {
    return (reinterpret_cast<std::uintptr_t>(ops_) & tag) != 0;
  }

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

  // A synchronous callable whose bytes are its value is called on a copy (see call_released):
  // an entry is called once, so the copy is never observable.
  template <class F>
  static constexpr operations inline_ops{
      [](void* s, const std::exception_ptr& e) -> Result {
        if constexpr (synchronous && std::is_trivially_copyable_v<F>) {
          F copy = *std::launder(static_cast<F*>(s));
          return static_cast<Result>(copy(e));
        } else {
          return static_cast<Result>((*std::launder(static_cast<F*>(s)))(e));
        }
      },
      &relocate_inline<F>,
      &destroy_inline<F>,
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
    relocate_storage(other);
  }

  // Moves other's callable into this storage (ops_ already says which it is); other's storage
  // is left ended.
  void relocate_storage(basic_exit_callback& other) noexcept {
    if (has(needs_relocate)) {
      operations_of(ops_)->relocate(other.storage_, storage_);
    } else {
      std::memcpy(storage_, other.storage_, inline_capacity);
    }
  }

  void reset() noexcept {
    if (has(needs_destroy)) operations_of(ops_)->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(void*) unsigned char storage_[inline_capacity];
  const void* ops_ = nullptr;  // an `operations*` with the tag bits above; null when empty
};

using exit_callback = basic_exit_callback<bool>;

}  // namespace ctxlib::detail
