// printer.cpp: the canonical text of a program. Every construct prints in the one form the
// parser reads back to the same tree, so print/load round-trips (parse.hpp).
#include <string>

#include "ctxmodel/parse.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxmodel {

namespace {

class printer {
 public:
  std::string run(const program& p) {
    for (const auto& c : p.classes) out_ += "class " + c.name + "(" + c.base + ")\n";
    bool first = p.classes.empty();
    auto separate = [&] {
      if (!first) out_ += '\n';
      first = false;
    };
    for (const auto& c : p.cms) {
      separate();
      print_cm(c);
    }
    for (const auto& f : p.functions) {
      separate();
      print_function(f);
    }
    separate();
    print_block(p.main, 0);
    return std::move(out_);
  }

 private:
  void indent(int level) { out_.append(static_cast<std::size_t>(level) * 4, ' '); }

  static std::string params(const std::vector<param>& ps) {
    std::string s;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      if (i) s += ", ";
      s += ps[i].name;
      if (ps[i].type == param_type::exception) s += ": exception";
      if (ps[i].type == param_type::stack) s += ": stack";
    }
    return s;
  }

  void print_cm(const cm_decl& c) {
    out_ += (c.is_async ? "acm " : "cm ") + c.name;
    if (!c.params.empty()) out_ += "(" + params(c.params) + ")";
    out_ += ":\n";
    if (!c.enter && !c.exit && !c.close) {
      indent(1);
      out_ += "pass\n";
    }
    if (c.enter) {
      indent(1);
      out_ += c.is_async ? "aenter:\n" : "enter:\n";
      print_block(*c.enter, 2);
    }
    if (c.exit) {
      indent(1);
      out_ += (c.is_async ? "aexit(" : "exit(") + c.exit_param + "):\n";
      print_block(*c.exit, 2);
    }
    if (c.close) {
      indent(1);
      out_ += c.is_async ? "aclose:\n" : "close:\n";
      print_block(*c.close, 2);
    }
  }

  void print_function(const function_decl& f) {
    if (f.generator) out_ += f.is_async ? "@asynccontextmanager\n" : "@contextmanager\n";
    if (f.decorator) out_ += "@" + text(*f.decorator) + "\n";
    out_ += (f.is_async ? "async def " : "def ") + f.name + "(";
    if (f.exit_signature)
      out_ += "*" + (f.params.empty() ? std::string() : f.params[0].name);
    else
      out_ += params(f.params);
    out_ += "):\n";
    print_block(f.body, 1);
  }

  void print_block(const block& b, int level) {
    for (const auto& s : b) print_stmt(s, level);
  }

  void print_stmt(const stmt& s, int level) {
    indent(level);
    std::visit([&](const auto& n) { print_node(n, level); }, s.node);
  }

  void print_node(const pass_stmt&, int) { out_ += "pass\n"; }
  void print_node(const mark_stmt& m, int) { out_ += "mark " + list(m.values) + "\n"; }
  void print_node(const assign_stmt& a, int) { out_ += a.target + " = " + text(a.value) + "\n"; }
  void print_node(const set_attribute_stmt& s, int) {
    const char* attr = s.attribute == exception_attribute::context ? "__context__"
                       : s.attribute == exception_attribute::cause ? "__cause__"
                                                                   : "__suppress_context__";
    out_ += s.target + "." + attr + " = " + text(s.value) + "\n";
  }
  void print_node(const raise_stmt& r, int) {
    out_ += "raise";
    if (r.exception) out_ += " " + text(*r.exception);
    if (r.cause) out_ += " from " + text(*r.cause);
    out_ += "\n";
  }
  void print_node(const return_stmt& r, int) {
    out_ += r.value ? "return " + text(*r.value) + "\n" : "return\n";
  }
  void print_node(const expr_stmt& e, int) { out_ += text(e.value) + "\n"; }
  void print_node(const yield_stmt& y, int) {
    out_ += y.value ? "yield " + text(*y.value) + "\n" : "yield\n";
  }
  void print_node(const await_stmt& a, int) { out_ += "await " + text(a.call) + "\n"; }
  void print_node(const with_stmt& w, int level) {
    out_ += w.is_async ? "async with " : "with ";
    for (std::size_t i = 0; i < w.items.size(); ++i) {
      if (i) out_ += ", ";
      out_ += text(w.items[i].manager);
      if (w.items[i].as) out_ += " as " + *w.items[i].as;
    }
    out_ += ":\n";
    print_block(w.body, level + 1);
  }
  void print_node(const try_stmt& t, int level) {
    out_ += "try:\n";
    print_block(t.body, level + 1);
    for (const auto& h : t.handlers) {
      indent(level);
      out_ += "except";
      if (h.tuple) {
        out_ += " (";
        for (std::size_t i = 0; i < h.classes.size(); ++i) {
          if (i) out_ += ", ";
          out_ += h.classes[i];
        }
        out_ += h.classes.size() == 1 ? ",)" : ")";
      } else if (!h.classes.empty()) {
        out_ += " " + h.classes[0];
      }
      if (h.as) out_ += " as " + *h.as;
      out_ += ":\n";
      print_block(h.body, level + 1);
    }
    if (t.final_block) {
      indent(level);
      out_ += "finally:\n";
      print_block(*t.final_block, level + 1);
    }
  }

  void print_node(const if_stmt& i, int level) {
    out_ += (i.negated ? "if not " : "if ") + i.name + ":\n";
    print_block(i.then_block, level + 1);
    if (i.else_block) {
      indent(level);
      out_ += "else:\n";
      print_block(*i.else_block, level + 1);
    }
  }

  static std::string list(const std::vector<expr>& xs) {
    std::string s;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i) s += ", ";
      s += text(xs[i]);
    }
    return s;
  }

  static std::string text(const expr& e) {
    struct visitor {
      std::string operator()(const none_literal&) const { return "None"; }
      std::string operator()(const bool_literal& b) const { return b.value ? "True" : "False"; }
      std::string operator()(const int_literal& i) const { return std::to_string(i.value); }
      std::string operator()(const string_literal& s) const { return python_repr(s.value); }
      std::string operator()(const name_ref& n) const { return n.name; }
      std::string operator()(const call_expr& c) const {
        return c.callee + "(" + list(c.args) + ")";
      }
      std::string operator()(const tuple_expr& t) const {
        // A one-element tuple keeps its comma, as in Python.
        return "(" + list(t.items) + (t.items.size() == 1 ? ",)" : ")");
      }
      std::string operator()(const method_call& m) const {
        return (m.awaited ? "await " : "") + m.object + "." + method_name(m.method) + "(" +
               list(m.args) + ")";
      }
    };
    return std::visit(visitor{}, e.node);
  }

  std::string out_;
};

}  // namespace

std::string print(const program& p) {
  return printer{}.run(p);
}

}  // namespace ctxmodel
