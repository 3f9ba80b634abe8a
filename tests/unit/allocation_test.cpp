// Heap allocations: contextmanager at most one per with-block (the coroutine frame), none from
// the global heap when an allocator is supplied; exit_stack none for up to eight small entries.
// This binary replaces the global operator new to count, so it holds nothing else.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "ctxlib/contextmanager.hpp"
#include "ctxlib/ctxlib.hpp"

namespace {
bool counting = false;
int allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

struct counted_scope {
  counted_scope() {
    allocations = 0;
    counting = true;
  }
  ~counted_scope() { counting = false; }
};

ctxlib::contextmanager<int> value_cm(int v) {
  int local = v * 2;
  co_yield local;
}

TEST(ContextmanagerAllocation, OneAllocationPerWithBlock) {
  int seen = 0;
  {
    counted_scope scope;
    ctxlib::with(value_cm(21), [&](int& v) { seen = v; });
    EXPECT_EQ(allocations, 1);
  }
  EXPECT_EQ(seen, 42);
}

// An allocator that counts what it hands out, and takes it from malloc.
struct tally {
  int allocations = 0;
  int live = 0;
};
template <class T>
struct tallying_allocator {
  using value_type = T;
  tally* t;
  explicit tallying_allocator(tally* t) : t(t) {}
  template <class U>
  tallying_allocator(const tallying_allocator<U>& other) : t(other.t) {}
  T* allocate(std::size_t n) {
    ++t->allocations;
    ++t->live;
    return static_cast<T*>(std::malloc(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) {
    --t->live;
    std::free(p);
  }
  bool operator==(const tallying_allocator&) const = default;
};

ctxlib::contextmanager<int> allocated_cm(std::allocator_arg_t, const tallying_allocator<char>&,
                                         int v) {
  co_yield v;
}

TEST(ContextmanagerAllocation, ASuppliedAllocatorProvidesTheFrame) {
  tally t;
  int seen = 0;
  {
    counted_scope scope;
    ctxlib::with(allocated_cm(std::allocator_arg, tallying_allocator<char>(&t), 7),
                 [&](int& v) { seen = v; });
    EXPECT_EQ(allocations, 0);
  }
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(t.allocations, 1);
  EXPECT_EQ(t.live, 0);
}

TEST(ExitStackAllocation, UpToEightSmallEntriesAllocateNothing) {
  int runs = 0;
  counted_scope scope;
  {
    ctxlib::exit_stack stack;
    ctxlib::nullcontext<int> cm(1);
    stack.enter_context(cm);
    stack.push([&runs](const std::exception_ptr&) { return ++runs, false; });
    for (int i = 0; i < 6; ++i) stack.callback([&runs, i](int k) { runs += k - i; }, i + 1);
    ctxlib::with(stack, [] {});
  }
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(runs, 7);
}

TEST(ExitStackAllocation, AReservedStackAllocatesOnceThenNeverWhilePushing) {
  int runs = 0;
  ctxlib::exit_stack stack;
  {
    counted_scope scope;
    stack.reserve(64);
    EXPECT_EQ(allocations, 1);
    stack.reserve(10);  // less than it has: nothing
    for (int i = 0; i < 64; ++i) stack.callback([&runs] { ++runs; });
    EXPECT_EQ(allocations, 1);
  }
  stack.callback([&runs] { runs += 100; });  // past the reservation: it grows, and still works
  stack.close();
  EXPECT_EQ(runs, 164);
  EXPECT_TRUE(stack.empty());
}

TEST(ExitStackAllocation, MoreEntriesSpillToTheHeapAndStillRunInOrder) {
  std::vector<int> order;
  order.reserve(100);
  {
    ctxlib::exit_stack stack;
    for (int i = 0; i < 100; ++i) stack.callback([&order, i] { order.push_back(i); });
    ctxlib::exit_stack moved = stack.pop_all();
    moved.close();
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], 99 - i);
}

TEST(ContextmanagerAllocation, ANeverStartedFrameIsFreedThroughItsAllocator) {
  tally t;
  { auto cm = allocated_cm(std::allocator_arg, tallying_allocator<char>(&t), 1); }
  EXPECT_EQ(t.allocations, 1);
  EXPECT_EQ(t.live, 0);
}

}  // namespace
