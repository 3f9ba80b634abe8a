// ctxlib/detail/always_inline.hpp: CTXLIB_DETAIL_ALWAYS_INLINE, for the functions through which
// exceptions pass.
//
// An exception crossing a frame that has something to clean up stops there (a landing pad),
// and the unwinder then starts again from that frame: about half a microsecond per frame
// (bench/, docs/performance.md), as much as a whole exit_stack around a throw. Forced inline,
// such a function's clean-up joins its caller's, so the exception stops once. `with` is one
// (its catch clause and rethrow run in the caller's frame); `raise` is another (the
// exception_ptr it hands to std::rethrow_exception must be destroyed where the call is).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define CTXLIB_DETAIL_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define CTXLIB_DETAIL_ALWAYS_INLINE inline
#endif
