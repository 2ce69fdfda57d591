//===- ContractionShapes.cpp - result shapes of the contraction ops -------===//
//
// Each function follows the shape rules of its kernel, which checks the same
// result shape before it runs. Window sizes come from attributes the step
// carries, so their arithmetic is checked for overflow here.
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"

#include <cctype>

namespace dsrt::cpu {
namespace {

/// int64 arithmetic that remembers whether any step overflowed.
class Checked {
public:
  int64_t add(int64_t a, int64_t b) {
    int64_t r = 0;
    overflow_ |= __builtin_add_overflow(a, b, &r);
    return r;
  }
  int64_t sub(int64_t a, int64_t b) {
    int64_t r = 0;
    overflow_ |= __builtin_sub_overflow(a, b, &r);
    return r;
  }
  int64_t mul(int64_t a, int64_t b) {
    int64_t r = 0;
    overflow_ |= __builtin_mul_overflow(a, b, &r);
    return r;
  }
  bool overflowed() const { return overflow_; }

private:
  bool overflow_ = false;
};

Status overflowError(const char *op, size_t dim) {
  return fail(op, "size of result dim " + std::to_string(dim) + " overflows");
}

/// strides / pads / dilations for `spatial` dims, with the kernels' defaults
/// (1 / 0 / 1) and checks.
struct WindowAttrs {
  std::vector<int64_t> strides, padBegin, padEnd, dilations;
};

Status readWindow(const char *op, const Attributes &attrs, size_t spatial, WindowAttrs &w) {
  w.strides = attrs.getInts("strides");
  w.dilations = attrs.getInts("dilations");
  std::vector<int64_t> pads = attrs.getInts("pads");
  if (w.strides.empty())
    w.strides.assign(spatial, 1);
  if (w.dilations.empty())
    w.dilations.assign(spatial, 1);
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (w.strides.size() != spatial || w.dilations.size() != spatial || pads.size() != 2 * spatial)
    return fail(op, "expected " + std::to_string(spatial) + " strides and dilations and " +
                        std::to_string(2 * spatial) + " pads");
  for (size_t d = 0; d < spatial; ++d) {
    if (w.strides[d] <= 0 || w.dilations[d] <= 0)
      return fail(op, "strides and dilations must be positive");
    if (pads[d] < 0 || pads[d + spatial] < 0)
      return fail(op, "pads must be non-negative");
  }
  w.padBegin.assign(pads.begin(), pads.begin() + (ptrdiff_t)spatial);
  w.padEnd.assign(pads.begin() + (ptrdiff_t)spatial, pads.end());
  return Status();
}

/// in + padBegin + padEnd - ((k - 1) * dilation + 1): how far a window of
/// `k` taps can slide along spatial dim `d`; negative when it does not fit.
int64_t windowExtent(Checked &c, const WindowAttrs &w, size_t d, int64_t in, int64_t k) {
  int64_t span = c.add(c.mul(c.sub(k, 1), w.dilations[d]), 1);
  return c.sub(c.add(c.add(in, w.padBegin[d]), w.padEnd[d]), span);
}

/// The optional operand `i`, or null.
const Tensor *optionalOperand(const Inputs &in, size_t i) {
  return in.size() > i ? in[i] : nullptr;
}

} // namespace

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

namespace {
/// numpy.matmul's result shape: a 1-D lhs is a row [1, K], a 1-D rhs a
/// column [K, 1], the promoted dim dropped from the result again.
Status matmulResultShape(const char *op, const Shape &a, const Shape &b, Shape &result) {
  if (a.empty() || b.empty())
    return fail(op, "operands must have rank >= 1");
  Shape as = a, bs = b;
  const bool aVec = a.size() == 1, bVec = b.size() == 1;
  if (aVec)
    as.insert(as.begin(), 1);
  if (bVec)
    bs.push_back(1);
  if (bs[bs.size() - 2] != as.back())
    return fail(op, "contraction dims differ: " + shapeText(a) + " times " + shapeText(b));
  Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  if (Status s = broadcastShapes(op, {&aBatch, &bBatch}, result); !s)
    return fail(op, "batch dims do not broadcast: " + shapeText(a) + " times " + shapeText(b));
  if (!aVec)
    result.push_back(as[as.size() - 2]);
  if (!bVec)
    result.push_back(bs.back());
  return checkShape(op, result);
}
} // namespace

Status matmulShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.matmul";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  return matmulResultShape(op, in[0]->shape, in[1]->shape, out[0]);
}

Status matmulIntegerShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.matmul_integer";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Shape &a = in[0]->shape, &b = in[1]->shape;
  auto count = [](const Shape &s) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    return n;
  };
  if (const Tensor *za = optionalOperand(in, 2); za && count(za->shape) != 1)
    return fail(op, "the lhs zero point " + shapeText(za->shape) + " must be one value");
  if (const Tensor *zb = optionalOperand(in, 3);
      zb && count(zb->shape) != 1 &&
      !(zb->shape.size() == 1 && b.size() >= 2 && zb->shape[0] == b.back()))
    return fail(op, "the rhs zero point " + shapeText(zb->shape) +
                        " must be one value or one per column of " + shapeText(b));
  return matmulResultShape(op, a, b, out[0]);
}

Status matmulQuantizedWeightShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.matmul_quantized_weight";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape, &w = in[1]->shape, &scale = in[2]->shape;
  if (x.size() < 2 || w.size() != 2)
    return fail(op, "needs an lhs of rank >= 2 and a [K, N] weight, got " + shapeText(x) +
                        " and " + shapeText(w));
  const int64_t block = attrs.getInt("block_size", 0), K = w[0], N = w[1];
  int64_t scales = 1;
  for (int64_t d : scale)
    scales *= d;
  bool fits = block > 0 ? scale == Shape{(K + block - 1) / block, N}
                        : (scales == 1 || scale == Shape{N});
  if (block < 0 || !fits)
    return fail(op, "scale " + shapeText(scale) + " does not fit the weight " + shapeText(w) +
                        " with block_size " + std::to_string(block));
  if (const Tensor *zp = optionalOperand(in, 3); zp && zp->shape != scale)
    return fail(op, "zero point " + shapeText(zp->shape) + " must have the scale's shape " +
                        shapeText(scale));
  return matmulResultShape(op, x, w, out[0]);
}

//===----------------------------------------------------------------------===//
// conv, conv_transpose, pool
//===----------------------------------------------------------------------===//

namespace {
/// The shape of ds.conv / ds.conv_integer of `x` by `wt` (bias: conv's).
Status convResultShape(const char *op, const Attributes &attrs, const Shape &x, const Shape &wt,
                       const Tensor *bias, Shape &out) {
  if (x.size() < 3 || wt.size() != x.size())
    return fail(op, "needs input, weight and result of equal rank >= 3, got " + shapeText(x) +
                        ", " + shapeText(wt));
  const int64_t group = attrs.getInt("group", 1), C = x[1], M = wt[0];
  Checked c;
  if (group <= 0 || C != c.mul(wt[1], group) || c.overflowed() || M % group)
    return fail(op, "input " + shapeText(x) + " and weight " + shapeText(wt) +
                        " do not match group " + std::to_string(group));
  if (bias && (bias->shape.size() != 1 || bias->shape[0] != M))
    return fail(op, "bias must be 1-D with " + std::to_string(M) + " elements");
  const size_t spatial = x.size() - 2;
  WindowAttrs w;
  if (Status s = readWindow(op, attrs, spatial, w); !s)
    return s;
  out = {x[0], M};
  for (size_t d = 0; d < spatial; ++d) {
    int64_t extent = windowExtent(c, w, d, x[d + 2], wt[d + 2]);
    if (c.overflowed())
      return overflowError(op, d + 2);
    // A window that does not fit gives an empty result, as in the kernel.
    out.push_back(extent < 0 ? 0 : extent / w.strides[d] + 1);
  }
  return checkShape(op, out);
}
} // namespace

Status convShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.conv";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  return convResultShape(op, attrs, in[0]->shape, in[1]->shape, optionalOperand(in, 2), out[0]);
}

Status convIntegerShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.conv_integer";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Shape &wt = in[1]->shape;
  auto count = [](const Shape &s) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    return n;
  };
  if (const Tensor *zx = optionalOperand(in, 2); zx && count(zx->shape) != 1)
    return fail(op, "the input zero point " + shapeText(zx->shape) + " must be one value");
  if (const Tensor *zw = optionalOperand(in, 3);
      zw && count(zw->shape) != 1 &&
      !(zw->shape.size() == 1 && !wt.empty() && zw->shape[0] == wt[0]))
    return fail(op, "the weight zero point " + shapeText(zw->shape) +
                        " must be one value or one per output channel of " + shapeText(wt));
  return convResultShape(op, attrs, in[0]->shape, wt, nullptr, out[0]);
}

Status convTransposeShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.conv_transpose";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape, &wt = in[1]->shape;
  const Tensor *bias = optionalOperand(in, 2);
  if (x.size() < 3 || wt.size() != x.size())
    return fail(op, "needs input, weight and result of equal rank >= 3");
  const int64_t group = attrs.getInt("group", 1), C = x[1];
  if (group <= 0 || wt[0] != C || C % group)
    return fail(op, "input " + shapeText(x) + " and weight " + shapeText(wt) +
                        " do not match group " + std::to_string(group));
  Checked c;
  const int64_t M = c.mul(wt[1], group);
  if (c.overflowed())
    return overflowError(op, 1);
  if (bias && (bias->shape.size() != 1 || bias->shape[0] != M))
    return fail(op, "bias must be 1-D with " + std::to_string(M) + " elements");
  const size_t spatial = x.size() - 2;
  WindowAttrs w;
  if (Status s = readWindow(op, attrs, spatial, w); !s)
    return s;
  std::vector<int64_t> outPad = attrs.getInts("output_padding");
  if (outPad.empty())
    outPad.assign(spatial, 0);
  if (outPad.size() != spatial)
    return fail(op, "needs " + std::to_string(spatial) + " output_padding values");
  out[0] = {x[0], M};
  for (size_t d = 0; d < spatial; ++d) {
    // stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads.
    int64_t k = wt[d + 2];
    int64_t o = c.add(c.mul(w.strides[d], c.sub(x[d + 2], 1)), outPad[d]);
    o = c.add(o, c.add(c.mul(c.sub(k, 1), w.dilations[d]), 1));
    o = c.sub(c.sub(o, w.padBegin[d]), w.padEnd[d]);
    if (c.overflowed())
      return overflowError(op, d + 2);
    out[0].push_back(std::max<int64_t>(o, 0));
  }
  return checkShape(op, out[0]);
}

Status poolShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.pool";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape;
  // The kind may come as a name or (from older artifacts) as 0 / 1 / 2.
  std::string kind = attrs.getString("kind"); // required (ds_op_attributes.def)
  if (kind != "max" && kind != "avg" && kind != "lp")
    return fail(op, "unknown pool kind '" + kind + "'");
  if (kind == "lp" && attrs.getInt("p", 2) <= 0)
    return fail(op, "p must be positive");
  std::vector<int64_t> kernel = attrs.getInts("kernel_shape");
  if (x.size() < 3 || kernel.size() != x.size() - 2)
    return fail(op, "needs an input of rank >= 3 and one kernel dim per spatial dim");
  const size_t spatial = kernel.size();
  WindowAttrs w;
  if (Status s = readWindow(op, attrs, spatial, w); !s)
    return s;
  const bool ceilMode = attrs.getInt("ceil_mode", 0) != 0;
  out[0] = {x[0], x[1]};
  Checked c;
  for (size_t d = 0; d < spatial; ++d) {
    if (kernel[d] <= 0)
      return fail(op, "kernel_shape must be positive");
    const int64_t s = w.strides[d];
    int64_t extent = windowExtent(c, w, d, x[d + 2], kernel[d]);
    int64_t o = 0;
    if (extent >= 0)
      o = (ceilMode ? c.add(extent, s - 1) / s : extent / s) + 1;
    // With ceil_mode, a window starting inside the end padding is dropped.
    if (ceilMode && o > 0 && c.mul(o - 1, s) >= c.add(x[d + 2], w.padBegin[d]))
      --o;
    if (c.overflowed())
      return overflowError(op, d + 2);
    out[0].push_back(o);
  }
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// einsum
//===----------------------------------------------------------------------===//

namespace {

/// Splits "a,b" at commas (an empty string gives one empty term).
std::vector<std::string> splitTerms(const std::string &text) {
  std::vector<std::string> terms;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    terms.push_back(text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos)
      return terms;
    pos = comma + 1;
  }
}

bool hasTwoEllipses(const std::string &term) {
  size_t dots = term.find("...");
  return dots != std::string::npos && term.find("...", dots + 3) != std::string::npos;
}

} // namespace

Status einsumShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.einsum";
  if (in.empty())
    return fail(op, "needs at least one input");
  if (Status s = needShapes(op, in, in.size(), out, 1); !s)
    return s;
  const std::string equation = attrs.getString("equation", "");
  std::string eq;
  for (char ch : equation)
    if (ch != ' ')
      eq.push_back(ch);
  const size_t arrow = eq.find("->");
  const bool explicitOut = arrow != std::string::npos;
  const std::string rhs = explicitOut ? eq.substr(arrow + 2) : "";
  const std::vector<std::string> terms = splitTerms(explicitOut ? eq.substr(0, arrow) : eq);
  if (terms.size() != in.size())
    return fail(op, "equation '" + equation + "' has " + std::to_string(terms.size()) +
                        " terms for " + std::to_string(in.size()) + " inputs");
  if (hasTwoEllipses(rhs))
    return fail(op, "output term '" + rhs + "' has more than one '...'");

  // Labels as in the kernel: letters by character code, the ellipsis dims
  // right-aligned as ids 128 + j, broadcasting where a size is 1.
  std::vector<int64_t> termEllipsis(terms.size(), 0);
  int64_t ellipsisRank = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    const int64_t rank = (int64_t)in[t]->shape.size();
    if (hasTwoEllipses(term))
      return fail(op, "term '" + term + "' has more than one '...'");
    const bool dots = term.find("...") != std::string::npos;
    const int64_t er = rank - ((int64_t)term.size() - (dots ? 3 : 0));
    if (er < 0 || (!dots && er != 0))
      return fail(op,
                  "term '" + term + "' does not match an input of rank " + std::to_string(rank));
    termEllipsis[t] = er;
    ellipsisRank = std::max(ellipsisRank, er);
  }
  std::vector<int64_t> labelSize((size_t)(128 + ellipsisRank), -1), count(128, 0);
  auto bind = [&](int64_t id, int64_t size) -> Status {
    int64_t &known = labelSize[(size_t)id];
    if (known < 0 || known == 1)
      known = size;
    else if (size != 1 && size != known)
      return fail(op, "label sizes " + std::to_string(known) + " and " + std::to_string(size) +
                          " differ");
    return Status();
  };
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    const Shape &shape = in[t]->shape;
    size_t d = 0;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term.compare(i, 3, "...") == 0) {
        for (int64_t j = 0; j < termEllipsis[t]; ++j)
          if (Status s = bind(128 + ellipsisRank - termEllipsis[t] + j, shape[d++]); !s)
            return s;
        i += 2;
        continue;
      }
      const unsigned char ch = (unsigned char)term[i];
      if (!std::isalpha(ch) || ch >= 128)
        return fail(op, std::string("label '") + term[i] + "' is not a letter");
      if (Status s = bind(ch, shape[d++]); !s)
        return s;
      ++count[ch];
    }
  }

  Shape &y = out[0];
  y.clear();
  if (explicitOut) {
    std::vector<bool> used(128, false);
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs.compare(i, 3, "...") == 0) {
        y.insert(y.end(), labelSize.begin() + 128, labelSize.end());
        i += 2;
        continue;
      }
      const unsigned char ch = (unsigned char)rhs[i];
      if (!std::isalpha(ch) || ch >= 128 || labelSize[ch] < 0)
        return fail(op, std::string("output label '") + rhs[i] + "' is not in any input");
      if (used[ch])
        return fail(op, std::string("output label '") + rhs[i] + "' is repeated");
      used[ch] = true;
      y.push_back(labelSize[ch]);
    }
  } else {
    // numpy's implicit output: the ellipsis, then labels seen once, sorted.
    y.assign(labelSize.begin() + 128, labelSize.end());
    for (size_t id = 0; id < 128; ++id)
      if (count[id] == 1)
        y.push_back(labelSize[id]);
  }
  return checkShape(op, y);
}

//===----------------------------------------------------------------------===//
// attention, rotary_embedding
//===----------------------------------------------------------------------===//

Status attentionShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.attention";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Shape &q = in[0]->shape, &k = in[1]->shape, &v = in[2]->shape;
  const Tensor *mask = optionalOperand(in, 3);
  if (q.size() != 4 || k.size() != 4 || v.size() != 4)
    return fail(op, "needs 4-D query, key and value [B, H, S, D]");
  // q [B, Hq, S, D], k [B, Hkv, L, D], v [B, Hkv, L, Dv]; Hq a multiple of Hkv.
  const int64_t B = q[0], Hq = q[1], Hkv = k[1], S = q[2], L = k[2], D = q[3];
  if (k[0] != B || v[0] != B || k[3] != D || v[1] != Hkv || v[2] != L || Hkv <= 0 || Hq % Hkv)
    return fail(op, "query " + shapeText(q) + ", key " + shapeText(k) + " and value " +
                        shapeText(v) + " do not fit together");
  if (mask) {
    const Shape scores{B, Hq, S, L};
    if (mask->shape.size() > 4)
      return fail(op, "mask has rank > 4");
    if (!broadcastsTo(mask->shape, scores))
      return fail(op,
                  "mask " + shapeText(mask->shape) + " does not broadcast to " + shapeText(scores));
  }
  out[0] = {B, Hq, S, v[3]};
  return checkShape(op, out[0]);
}

Status sparseAttentionShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.sparse_attention";
  if (Status s = needShapes(op, in, 4, out, 1); !s)
    return s;
  Inputs dense{in[0], in[1], in[2]};
  if (Status s = attentionShape(attrs, dense, out); !s)
    return fail(op, s.message());
  const Shape &q = in[0]->shape, &idx = in[3]->shape;
  if (idx.size() != 4 || idx[0] != q[0] || (idx[1] != 1 && idx[1] != q[1]) || idx[2] != q[2])
    return fail(op, "indices " + shapeText(idx) + " are not [B, 1 or Hq, S, K] for the query " +
                        shapeText(q));
  return Status();
}

namespace {
/// A fused attention backward's results: the shapes of query, key and value,
/// once `output` (operand `at`) and `output_grad` (`at` + 1) are the
/// forward's result shape.
Status gradientShapes(const char *op, const Shape &result, const Inputs &in, size_t at,
                      Shapes &out) {
  for (size_t i : {at, at + 1})
    if (in[i]->shape != result)
      return fail(op, std::string(i == at ? "output " : "output_grad ") +
                          shapeText(in[i]->shape) + " should be " + shapeText(result));
  out[0] = in[0]->shape;
  out[1] = in[1]->shape;
  out[2] = in[2]->shape;
  return Status();
}
} // namespace

Status attentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.attention_grad";
  if (Status s = needShapes(op, in, 5, out, 3); !s)
    return s;
  // q, k, v and the optional mask (operand 5) as in ds.attention; the
  // forward's result and its gradient have the result's shape.
  Inputs forward{in[0], in[1], in[2]};
  if (in.size() > 5 && in[5])
    forward.push_back(in[5]);
  Shapes result(1);
  if (Status s = attentionShape(attrs, forward, result); !s)
    return fail(op, s.message());
  return gradientShapes(op, result[0], in, 3, out);
}

Status sparseAttentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.sparse_attention_grad";
  if (Status s = needShapes(op, in, 6, out, 3); !s)
    return s;
  Shapes result(1);
  if (Status s = sparseAttentionShape(attrs, {in[0], in[1], in[2], in[3]}, result); !s)
    return fail(op, s.message());
  return gradientShapes(op, result[0], in, 4, out);
}

Status blockSparseAttentionShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.block_sparse_attention";
  if (Status s = needShapes(op, in, 4, out, 1); !s)
    return s;
  // q, k, v and the optional mask (operand 4) as in ds.attention.
  Inputs dense{in[0], in[1], in[2]};
  if (in.size() > 4 && in[4])
    dense.push_back(in[4]);
  if (Status s = attentionShape(attrs, dense, out); !s)
    return fail(op, s.message());
  // layout: i1 [1 or Hq, query blocks, key blocks].
  const int64_t bs = attrs.getInt("block_size", 0);
  if (bs < 1 || bs > 1024)
    return fail(op, "block_size must be in [1, 1024], got " + std::to_string(bs));
  const Shape &q = in[0]->shape, &layout = in[3]->shape;
  const int64_t qBlocks = (q[2] + bs - 1) / bs, kBlocks = (in[1]->shape[2] + bs - 1) / bs;
  if (layout.size() != 3 || (layout[0] != 1 && layout[0] != q[1]) || layout[1] != qBlocks ||
      layout[2] != kBlocks)
    return fail(op, "layout " + shapeText(layout) + " is not [1 or " + std::to_string(q[1]) +
                        ", " + std::to_string(qBlocks) + ", " + std::to_string(kBlocks) +
                        "] for blocks of " + std::to_string(bs));
  return Status();
}

Status blockSparseAttentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.block_sparse_attention_grad";
  if (Status s = needShapes(op, in, 6, out, 3); !s)
    return s;
  // q, k, v, layout and the optional mask (operand 6) as in the forward.
  Inputs forward{in[0], in[1], in[2], in[3]};
  if (in.size() > 6 && in[6])
    forward.push_back(in[6]);
  Shapes result(1);
  if (Status s = blockSparseAttentionShape(attrs, forward, result); !s)
    return fail(op, s.message());
  return gradientShapes(op, result[0], in, 4, out);
}

Status rotaryShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.rotary_embedding";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape, &cosShape = in[1]->shape;
  const Tensor *pos = optionalOperand(in, 3);
  int64_t B, S, D;
  if (x.size() == 4) {
    B = x[0];
    S = x[2];
    D = x[3];
  } else if (x.size() == 3) {
    const int64_t H = attrs.getInt("num_heads", 0);
    if (H <= 0 || x[2] % H)
      return fail(op, "3-D input needs num_heads dividing its last dim");
    B = x[0];
    S = x[1];
    D = x[2] / H;
  } else {
    return fail(op, "input must be [B, H, S, D] or [B, S, H*D]");
  }
  int64_t R = attrs.getInt("rotary_embedding_dim", 0);
  if (R == 0)
    R = D;
  if (R < 0 || R > D || R % 2)
    return fail(op, "rotary_embedding_dim " + std::to_string(R) + " must be even and at most " +
                        std::to_string(D));
  const int64_t half = R / 2;
  if (cosShape != in[2]->shape)
    return fail(op, "cos and sin caches differ in shape");
  if (pos) {
    // The ids' values are the kernel's to range-check; they do not size y.
    if (cosShape.size() != 2 || cosShape[1] != half)
      return fail(op, "with position_ids, cos/sin must be [max_pos, " + std::to_string(half) +
                          "], got " + shapeText(cosShape));
    if (pos->numel() != B * S || !isIntegerType(pos->dtype))
      return fail(op, "position_ids must be [B, S] integers");
  } else if (cosShape != Shape{B, S, half}) {
    return fail(op, "without position_ids, cos/sin must be [" + std::to_string(B) + ", " +
                        std::to_string(S) + ", " + std::to_string(half) + "], got " +
                        shapeText(cosShape));
  }
  out[0] = x;
  return checkShape(op, out[0]);
}

} // namespace dsrt::cpu
