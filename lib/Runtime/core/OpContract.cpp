//===- OpContract.cpp - step attributes checked against the contract ------===//
#include "core/OpContract.h"

#include <cstdint>
#include <cstring>

namespace dsrt {

const std::vector<OpContract> &opContracts() {
  static const std::vector<OpContract> table = [] {
    std::vector<OpContract> t;
#define DS_OP(op, cls) t.push_back({op, cls, {}});
#define DS_ATTR(op, name, kind, presence, min, max, allowed)                                    \
  t.back().attrs.push_back({name, Attribute::kind, /*required=*/std::strcmp(#presence,          \
                                                                            "Required") == 0,   \
                            (int64_t)(min), (int64_t)(max), allowed});
#include "ds-runtime/ds_op_attributes.def"
    return t;
  }();
  return table;
}

const OpContract *findOpContract(const std::string &op) {
  for (const OpContract &c : opContracts())
    if (op == c.op)
      return &c;
  return nullptr;
}

const char *attributeKindName(Attribute::Kind kind) {
  switch (kind) {
  case Attribute::Int: return "int";
  case Attribute::Float: return "float";
  case Attribute::Ints: return "ints";
  case Attribute::Floats: return "floats";
  case Attribute::String: return "string";
  case Attribute::Tensor: return "tensor";
  }
  return "unknown";
}

namespace {
bool spellingAllowed(const char *allowed, const std::string &value) {
  if (!*allowed)
    return true;
  for (const char *p = allowed;;) {
    const char *bar = std::strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : std::strlen(p);
    if (n == value.size() && value.compare(0, n, p, n) == 0)
      return true;
    if (!bar)
      return false;
    p = bar + 1;
  }
}

std::string showString(const std::string &s) {
  std::string out;
  for (char c : s.substr(0, 64))
    out += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : std::string("?");
  return s.size() > 64 ? out + "..." : out;
}
} // namespace

Status checkStepAttributes(const std::string &op, const Attributes &attrs) {
  const OpContract *contract = findOpContract(op);
  if (!contract)
    return Status::error("no attribute contract for this op", DS_INVALID_ARTIFACT);
  auto bad = [](const std::string &name, const std::string &what) {
    return Status::error("attribute '" + name + "' " + what, DS_INVALID_ARTIFACT);
  };
  for (const auto &[name, value] : attrs.all()) {
    const AttrContract *spec = nullptr;
    for (const AttrContract &a : contract->attrs)
      if (name == a.name)
        spec = &a;
    if (!spec)
      return Status::error("unknown attribute '" + showString(name) + "'", DS_INVALID_ARTIFACT);
    if (value.kind != spec->kind)
      return bad(name, std::string("has kind ") + attributeKindName(value.kind) + ", expected " +
                           attributeKindName(spec->kind));
    if (spec->kind == Attribute::Int && (value.i < spec->min || value.i > spec->max))
      return bad(name, "is " + std::to_string(value.i) + ", outside [" +
                           std::to_string(spec->min) + ", " + std::to_string(spec->max) + "]");
    if (spec->kind == Attribute::String && !spellingAllowed(spec->allowed, value.s))
      return bad(name, "is '" + showString(value.s) + "', expected one of " + spec->allowed);
  }
  for (const AttrContract &a : contract->attrs)
    if (a.required && !attrs.has(a.name))
      return bad(a.name, "is missing");
  return Status();
}

} // namespace dsrt
