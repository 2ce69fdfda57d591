//===- AttentionMatcher.h - exported attention subgraphs ----------*- C++ -*-===//
//
// What ds-raise-attention matches and how: the subgraph's parts (Match), the
// matcher that walks from the product of probabilities and values back to
// the scores (RaiseAttention.cpp), and its recognisers of masks written as
// index arithmetic, constants, bands and top-k selections
// (AttentionMasks.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_ATTENTIONMATCHER_H
#define DS_DIALECT_DS_TRANSFORMS_ATTENTIONMATCHER_H

#include "ds/Dialect/DS/Analysis/SymbolicDims.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include <optional>
#include <string>

namespace mlir::ds::attention_raising {

/// A masked-out score at or below this is "minus infinity" in practice: any
/// real score added to it rounds back to it, so a mask of such values keeps
/// the graph's results (fully masked rows included) when turned into a
/// boolean mask.
constexpr double kNegligible = -1e30;

inline RankedTensorType rankedOf(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

/// The value of a one-element floating-point constant.
std::optional<double> scalarConstant(Value v);

/// The one value of a splat constant or a ds.fill (a masked_fill's
/// "full of finfo.min" tensor), also through ds.expand and from blobs.
std::optional<double> uniformValue(Value v);

/// keep(i, j) <=> i * rowCoeff + j * colCoeff + constant <= 0, with i the
/// query and j the key position.
struct IndexForm {
  int64_t row = 0, col = 0;
  DimExpr constant;
};

/// What replaces the matched subgraph.
struct Match {
  Value query, key, value, mask;
  SmallVector<int64_t> keyPerm; // transpose applied to `key` (empty: none)
  Value negateMask;             // build `not mask` from this instead
  double keepFill = 0.0;        // < 0: build select(mask, 0, keepFill), a float mask
  Value selected;               // top-k key indices [B, (1,) S, K]: ds.sparse_attention
  int64_t selectedBlock = 0;    // > 0: `selected` lists blocks of this many keys
  double scale = 1.0;
  bool causal = false, causalFromEnd = false;
  int64_t causalOffset = 0;
  int64_t window = 0;           // > 0: causal within the `window` keys ending at the diagonal
};

class AttentionMatcher {
public:
  explicit AttentionMatcher(SymbolicDims &dims) : dims(dims) {}

  /// Fills `m` for the product of probabilities and values `pv`; on failure
  /// `why` says what did not fit.
  bool match(MatMulOp pv, Match &m);
  std::string why;

private:
  bool fail(const std::string &reason) {
    why = reason;
    return false;
  }
  bool reachesScores(Value v) const;
  Value peelScale(Value v, double &scale) const;
  void peelRepeatedHeads(Match &m);
  std::optional<IndexForm> indexForm(Value v, const DimExpr &S, const DimExpr &L) const;
  std::optional<IndexForm> keepForm(Value predicate, const DimExpr &S, const DimExpr &L) const;
  std::optional<IndexForm> constantKeepForm(Value mask, bool additive, const DimExpr &S,
                                            const DimExpr &L, bool &finiteFill) const;
  std::optional<IndexForm> triluRegion(Value v, const DimExpr &S, const DimExpr &L,
                                       double &fill) const;
  bool recogniseCausal(const IndexForm &keep, const DimExpr &S, const DimExpr &L, bool finiteFill,
                       Match &m) const;
  bool additiveCausal(Value mask, const DimExpr &S, const DimExpr &L, Match &m,
                      bool infiniteOnly = false) const;
  bool recogniseBand(Value keep, const DimExpr &S, const DimExpr &L, bool finiteFill,
                     Match &m) const;
  bool constantBand(Value mask, bool additive, const DimExpr &S, const DimExpr &L,
                    bool finiteFill, Match &m) const;
  bool setBand(const IndexForm &upper, int64_t width, const DimExpr &S, const DimExpr &L,
               bool finiteFill, Match &m) const;
  Value stripUnitReshapes(Value v) const;
  Value topkSelection(Value mask, Value asAdded, const DimExpr &B, const DimExpr &S,
                      const DimExpr &L, int64_t block = 0) const;
  Value blockSelection(Value mask, Value asAdded, const DimExpr &B, const DimExpr &S,
                       const DimExpr &L, int64_t &block) const;
  bool dimsAgree(Match &m);

  SymbolicDims &dims;
};

} // namespace mlir::ds::attention_raising

#endif // DS_DIALECT_DS_TRANSFORMS_ATTENTIONMATCHER_H
