// ctxlib/detail/inline_stack.hpp: a LIFO container that keeps its first N elements inside the
// object and only then moves to the heap, so a typical exit stack (a handful of entries)
// allocates nothing. Only what exit_stack needs: push, pop from the back, move, clear.
//
// Relocating an element (on a spill to the heap, when the stack itself is moved, when the back
// is taken out) uses T's constructor `T(relocate_from, T& source)` if it has one, after which
// `source` is ended without its destructor: one step instead of a move and a destruction.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ctxlib::detail {

struct relocate_from_t {
  explicit relocate_from_t() = default;
};
inline constexpr relocate_from_t relocate_from{};

template <class T>
concept tag_relocatable = requires(T& source) {
  T(relocate_from, source);
};

template <class T, std::size_t N>
class inline_stack {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "inline_stack relocates its elements, so they must move without throwing.");

 public:
  inline_stack() noexcept : data_(inline_data()) {}
  inline_stack(inline_stack&& other) noexcept : data_(inline_data()) { take(other); }
  inline_stack& operator=(inline_stack&& other) noexcept {
    if (this != &other) {
      clear();
      release_heap();
      take(other);
    }
    return *this;
  }
  inline_stack(const inline_stack&) = delete;
  inline_stack& operator=(const inline_stack&) = delete;
  ~inline_stack() {
    clear();
    release_heap();
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  // Makes room for exactly `n` elements in all, as std::vector::reserve: pushes up to that
  // size then cannot fail or allocate.
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }

  // Makes room for one more element (growing as a push would), so the next push cannot fail.
  void reserve_one_more() {
    if (size_ == capacity_) grow(next_capacity());
  }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) grow(next_capacity());
    T* slot = data_ + size_;
    ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    ++size_;
    return *std::launder(slot);
  }

  void pop_back() noexcept {
    --size_;
    std::destroy_at(std::launder(data_ + size_));
  }

  // Removes the back element without ending it: the caller must end it (or relocate it out)
  // before anything else is pushed, since the next push reuses its slot.
  T& release_back() noexcept { return *std::launder(data_ + --size_); }

  // Removes the back element and returns it.
  T take_back() noexcept {
    T* last = std::launder(data_ + --size_);
    if constexpr (tag_relocatable<T>) {
      return T(relocate_from, *last);
    } else {
      T out(std::move(*last));
      std::destroy_at(last);
      return out;
    }
  }

  void clear() noexcept {
    while (size_ != 0) pop_back();
  }

 private:
  T* inline_data() noexcept { return reinterpret_cast<T*>(inline_); }
  bool on_heap() const noexcept { return capacity_ != N; }

  // The first spill goes straight to 4N elements, then the capacity doubles: one allocation
  // and one relocation (of the N inline elements) up to 4N, where doubling from N needs two
  // of each. For exit_stack (N = 8, 32-byte entries) that block is 1 KiB, still served by
  // glibc's per-thread cache; larger first blocks measured slower for 9-32 entries.
  std::size_t next_capacity() const noexcept { return on_heap() ? 2 * capacity_ : 4 * N; }

  // The plain operator new unless T needs more than its alignment (the aligned form is a
  // slower path in malloc).
  static constexpr bool over_aligned = alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;

  // Out of line: inlined, the relocation loop (and the registers it needs) would sit in every
  // function that pushes, and an exception leaving such a frame costs the unwinder more.
  [[gnu::noinline]] void grow(std::size_t wanted) {
    T* bigger;
    if constexpr (over_aligned) {
      bigger = static_cast<T*>(::operator new(wanted * sizeof(T), std::align_val_t(alignof(T))));
    } else {
      bigger = static_cast<T*>(::operator new(wanted * sizeof(T)));
    }
    relocate(data_, bigger, size_);
    release_heap();
    data_ = bigger;
    capacity_ = wanted;
  }

  static void relocate(T* from, T* to, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (tag_relocatable<T>) {
        ::new (static_cast<void*>(to + i)) T(relocate_from, *std::launder(from + i));
      } else {
        ::new (static_cast<void*>(to + i)) T(std::move(*std::launder(from + i)));
        std::destroy_at(std::launder(from + i));
      }
    }
  }

  void release_heap() noexcept {
    if (!on_heap()) return;
    if constexpr (over_aligned) {
      ::operator delete(data_, std::align_val_t(alignof(T)));
    } else {
      ::operator delete(data_);
    }
    data_ = inline_data();
    capacity_ = N;
  }

  // Takes other's elements (its heap block, or a relocation of its inline ones); leaves it
  // empty and inline. `this` must hold nothing.
  void take(inline_stack& other) noexcept {
    if (other.on_heap()) {
      data_ = std::exchange(other.data_, other.inline_data());
      capacity_ = std::exchange(other.capacity_, N);
    } else {
      relocate(other.data_, data_, other.size_);
    }
    size_ = std::exchange(other.size_, 0);
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* data_;  // inline_ or the heap block: no branch on every access
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
};

}  // namespace ctxlib::detail
