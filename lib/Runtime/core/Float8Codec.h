//===- Float8Codec.h - ONNX's float8 formats, encoded and decoded --------===//
//
// E4M3FN, E5M2, E4M3FNUZ and E5M2FNUZ from and to the bits of a float:
// encoding rounds to nearest, ties to even, and on overflow saturates to the
// largest finite value or gives inf (E5M2) / NaN (the others); decoding is
// exact. One codec for the CPU kernels (cast, quantize, dequantize) and the
// CUDA target, which embeds this file into every generated source: plain
// C++ without includes, the qualifiers in DS_F8_FN.
//
//===----------------------------------------------------------------------===//
#ifndef DS_F8_FN
#define DS_F8_FN inline
#endif

/// Format 0 E4M3FN, 1 E5M2, 2 E4M3FNUZ, 3 E5M2FNUZ (the order of ds_dtype).
struct ds_f8_format {
  int mantBits;
  int bias;
  bool unsignedZero;     ///< fnuz: 0x80 is the only NaN, no -0, no inf
  bool hasInf;           ///< e5m2: IEEE-style inf and NaN
  unsigned maxCode;      ///< largest finite magnitude code
};

DS_F8_FN ds_f8_format ds_f8_format_of(int kind) {
  switch (kind) {
  case 0: return {3, 7, false, false, 0x7Eu};
  case 1: return {2, 15, false, true, 0x7Bu};
  case 2: return {3, 8, true, false, 0x7Fu};
  default: return {2, 16, true, false, 0x7Fu};
  }
}

/// x / 2^s rounded to nearest, ties to even (s in [1, 31]).
DS_F8_FN unsigned ds_f8_shift_round_even(unsigned x, int s) {
  unsigned q = x >> s, rem = x & ((1u << s) - 1), half = 1u << (s - 1);
  if (rem > half || (rem == half && (q & 1u)))
    ++q;
  return q;
}

/// The float8 code of the float with bits `bits`.
DS_F8_FN unsigned char ds_f8_encode(unsigned bits, int kind, bool saturate) {
  const ds_f8_format fmt = ds_f8_format_of(kind);
  const unsigned char sign = (unsigned char)((bits >> 24) & 0x80u);
  const unsigned mag = bits & 0x7fffffffu;
  const unsigned char nan = fmt.unsignedZero ? (unsigned char)0x80 : (unsigned char)(sign | 0x7F);
  const unsigned char overflow = saturate     ? (unsigned char)(sign | fmt.maxCode)
                                 : fmt.hasInf ? (unsigned char)(sign | 0x7C)
                                              : nan;
  if (mag > 0x7f800000u)
    return nan;
  if (mag == 0x7f800000u)
    return overflow;
  const int e = (int)(mag >> 23);
  const unsigned m = mag & 0x7fffffu;
  unsigned code = 0;
  if (e != 0) { // float32 subnormals are far below every float8 range
    const int E = e - 127, emin = 1 - fmt.bias;
    if (E >= emin) {
      code = ((unsigned)(E + fmt.bias) << fmt.mantBits) +
             ds_f8_shift_round_even(m, 23 - fmt.mantBits);
    } else {
      const int s = 23 - fmt.mantBits + (emin - E);
      code = s > 24 ? 0u : ds_f8_shift_round_even(m | 0x800000u, s);
    }
  }
  if (code > fmt.maxCode)
    return overflow;
  if (code == 0)
    return fmt.unsignedZero ? (unsigned char)0 : sign;
  return (unsigned char)(sign | code);
}

/// The bits of the float that float8 code `v` stands for.
DS_F8_FN unsigned ds_f8_decode(unsigned char v, int kind) {
  const ds_f8_format fmt = ds_f8_format_of(kind);
  const unsigned body = v & 0x7Fu;
  const unsigned sign = (unsigned)(v & 0x80u) << 24;
  // A NaN keeps its sign, so that encoding the decoded value gives the code
  // back (fnuz has one NaN, 0x80).
  const unsigned qnan = sign | 0x7fc00000u;
  if (fmt.unsignedZero) {
    if (v == 0x80)
      return 0x7fc00000u;
  } else if (fmt.hasInf) {
    if ((body >> 2) == 0x1Fu)
      return (body & 3u) ? qnan : (sign | 0x7f800000u);
  } else if (body == 0x7Fu) {
    return qnan;
  }
  int e = (int)(body >> fmt.mantBits);
  unsigned m = body & ((1u << fmt.mantBits) - 1);
  if (e == 0) {
    if (m == 0)
      return sign; // +-0
    // Subnormal: normalize the mantissa into a float exponent.
    e = 1;
    while (!(m & (1u << fmt.mantBits))) {
      m <<= 1;
      --e;
    }
    m &= (1u << fmt.mantBits) - 1;
  }
  const unsigned exponent = (unsigned)(e - fmt.bias + 127);
  return sign | (exponent << 23) | (m << (23 - fmt.mantBits));
}
