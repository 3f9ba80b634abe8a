// ctxlib/detail/inline_stack.hpp: a LIFO container that keeps its first N elements inside the
// object and only then moves to the heap, so a typical exit stack (a handful of entries)
// allocates nothing. Only what exit_stack needs: push, pop from the back, move, clear.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ctxlib::detail {

template <class T, std::size_t N>
class inline_stack {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "inline_stack relocates its elements, so they must move without throwing.");

 public:
  inline_stack() noexcept = default;
  inline_stack(inline_stack&& other) noexcept { take(other); }
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

  // Makes room for `n` elements, so the next pushes up to that size cannot fail.
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n > 2 * capacity_ ? n : 2 * capacity_);
  }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) grow(capacity_ * 2);
    T* slot = data() + size_;
    ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    ++size_;
    return *std::launder(slot);
  }

  T& back() noexcept { return *std::launder(data() + size_ - 1); }
  void pop_back() noexcept {
    --size_;
    std::destroy_at(std::launder(data() + size_));
  }

  void clear() noexcept {
    while (size_ != 0) pop_back();
  }

 private:
  T* data() noexcept { return heap_ != nullptr ? heap_ : reinterpret_cast<T*>(inline_); }

  // The plain operator new unless T needs more than its alignment (the aligned form is a
  // slower path in malloc).
  static constexpr bool over_aligned = alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;

  void grow(std::size_t wanted) {
    T* bigger;
    if constexpr (over_aligned) {
      bigger = static_cast<T*>(::operator new(wanted * sizeof(T), std::align_val_t(alignof(T))));
    } else {
      bigger = static_cast<T*>(::operator new(wanted * sizeof(T)));
    }
    relocate(data(), bigger, size_);
    release_heap();
    heap_ = bigger;
    capacity_ = wanted;
  }

  static void relocate(T* from, T* to, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      ::new (static_cast<void*>(to + i)) T(std::move(*std::launder(from + i)));
      std::destroy_at(std::launder(from + i));
    }
  }

  void release_heap() noexcept {
    if (heap_ == nullptr) return;
    if constexpr (over_aligned) {
      ::operator delete(heap_, std::align_val_t(alignof(T)));
    } else {
      ::operator delete(heap_);
    }
    heap_ = nullptr;
    capacity_ = N;
  }

  // Takes other's elements (its heap block, or a relocation of its inline ones); leaves it
  // empty and inline. `this` must hold nothing.
  void take(inline_stack& other) noexcept {
    if (other.heap_ != nullptr) {
      heap_ = std::exchange(other.heap_, nullptr);
      capacity_ = std::exchange(other.capacity_, N);
    } else {
      relocate(other.data(), data(), other.size_);
    }
    size_ = std::exchange(other.size_, 0);
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* heap_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
};

}  // namespace ctxlib::detail
