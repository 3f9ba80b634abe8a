// ctxlib/ctxlib.hpp: all of ctxlib, Python's contextlib in C++20.
//
//   #include "ctxlib/ctxlib.hpp"
//
//   ctxlib::exit_stack stack;
//   stack.callback([] { std::puts("second"); });
//   stack.callback([] { std::puts("first"); });
//   ctxlib::with(stack, [] { throw std::runtime_error("boom"); });   // both run, then it escapes
#pragma once

#include "ctxlib/async_exit_stack.hpp"
#include "ctxlib/async_with.hpp"
#include "ctxlib/asynccontextmanager.hpp"
#include "ctxlib/closing.hpp"
#include "ctxlib/contextmanager.hpp"
#include "ctxlib/decorator.hpp"
#include "ctxlib/exception.hpp"
#include "ctxlib/exit_stack.hpp"
#include "ctxlib/neutral_exit_stack.hpp"
#include "ctxlib/nullcontext.hpp"
#include "ctxlib/suppress.hpp"
#include "ctxlib/task.hpp"
#include "ctxlib/with.hpp"
