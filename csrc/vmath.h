/*
 * vmath.h: branch-free elementwise exp, expm1, log, log1p, tanh and sigmoid that GCC
 * vectorises, for float and double (a template: included by the per-type section
 * of activation.c and loss.c, once per REAL, after instantiate.h has set REAL and FN).
 *
 * Written as scalar code with only arithmetic, selects and integer bit
 * operations that every x86-64 SIMD level has (no int64 <-> double
 * conversions, no arithmetic 64-bit shifts), so a loop over an array of calls
 * becomes vector code under whatever target the including file compiles for.
 * The scalar remainder of a loop runs the same operations, so an element's
 * result does not depend on where it sits in a row.
 *
 * Promise (checked by tests/test_vmath.py on dense sweeps against long double):
 * float32 error <= 4 ulp and float64 relative error <= 1e-14 over each
 * function's whole range, subnormal results included; exp overflows to inf and
 * underflows to 0; NaN in gives NaN out; tanh(+-inf) = +-1; sigmoid(-inf) = 0,
 * sigmoid(+inf) = 1; log1p(-1) = -inf; expm1, log1p, tanh and sigmoid keep full
 * relative accuracy near 0.
 */
#ifndef FASTNN_VMATH_CONSTANTS
#define FASTNN_VMATH_CONSTANTS
#include <stdint.h>

/* Per-type constants, reached from the template as FN(VM_NAME). */
#define VM_UINT_f32 uint32_t
#define VM_UINT_f64 uint64_t
#define VM_MANT_f32 23
#define VM_MANT_f64 52
#define VM_BIAS_f32 127
#define VM_BIAS_f64 1023
/* 1.5 * 2^mantissa_bits: adding it rounds to an integer held in the low bits */
#define VM_SHIFTER_f32 12582912.0f
#define VM_SHIFTER_f64 6755399441055744.0
/* exp clamps: below LO the result is 0, above HI it is inf (both reached by rounding) */
#define VM_EXP_LO_f32 -104.0f
#define VM_EXP_HI_f32 89.0f
#define VM_EXP_LO_f64 -746.0
#define VM_EXP_HI_f64 710.0
/* expm1 below this is -1 to the last bit, and 2^(k-1) stays a normal number */
#define VM_EXPM1_LO_f32 -80.0f
#define VM_EXPM1_LO_f64 -700.0
#define VM_LN2_HI_f32 0.693359375f
#define VM_LN2_LO_f32 -2.12194440e-4f
#define VM_LN2_HI_f64 6.93147180369123816490e-01
#define VM_LN2_LO_f64 1.90821492927058770002e-10
#define VM_MIN_NORMAL_f32 1.17549435e-38f
#define VM_MIN_NORMAL_f64 2.2250738585072014e-308
#define VM_SUBNORMAL_SCALE_f32 8388608.0f          /* 2^23 */
#define VM_SUBNORMAL_SCALE_f64 4503599627370496.0  /* 2^52 */
/* bits of sqrt(1/2): mantissas are reduced to [sqrt(1/2), sqrt(2)) */
#define VM_SQRT_HALF_BITS_f32 0x3f3504f3u
#define VM_SQRT_HALF_BITS_f64 0x3fe6a09e667f3bcdull
#define VM_ONE_BITS_f32 0x3f800000u
#define VM_ONE_BITS_f64 0x3ff0000000000000ull
#define VM_MANT_MASK_f32 0x007fffffu
#define VM_MANT_MASK_f64 0x000fffffffffffffull
/* tanh's rational is evaluated at min(|x|, clamp): tanh rounds to 1 beyond 9.01 / 19.06 */
#define VM_TANH_CLAMP_f32 10.0f
#define VM_TANH_CLAMP_f64 19.25
/* float tanh is evaluated in float where the target fuses multiply-adds (3.5 ulp), in
   double where it does not (the generic level: float's separate roundings cost 4.2 ulp) */
#ifdef __FMA__
#define VM_TANH_REAL_f32 float
#else
#define VM_TANH_REAL_f32 double
#endif
#define VM_TANH_REAL_f64 double
#endif

#define VM_UINT FN(VM_UINT)

static inline VM_UINT FN(vm_bits)(REAL x)
{
    union { REAL f; VM_UINT u; } v;
    v.f = x;
    return v.u;
}

static inline REAL FN(vm_from_bits)(VM_UINT u)
{
    union { VM_UINT u; REAL f; } v;
    v.u = u;
    return v.f;
}

/*
 * cond ? a : b as bit operations. A plain ?: between two computed values is
 * often turned back into a branch (the multiply sunk into it), which GCC then
 * refuses to if-convert because a floating-point operation may trap.
 */
static inline REAL FN(vm_select)(int cond, REAL a, REAL b)
{
    const VM_UINT mask = (VM_UINT)0 - (VM_UINT)(cond != 0);
    return FN(vm_from_bits)((FN(vm_bits)(a) & mask) | (FN(vm_bits)(b) & ~mask));
}

/* 2^k for an integer-valued k in the normal exponent range */
static inline REAL FN(vm_pow2)(REAL k)
{
    const REAL shifter = FN(VM_SHIFTER);
    const VM_UINT i = FN(vm_bits)(k + shifter) - FN(vm_bits)(shifter);
    return FN(vm_from_bits)((VM_UINT)(i + (VM_UINT)FN(VM_BIAS)) << FN(VM_MANT));
}

/*
 * x = k ln2 + r with k an integer (returned as a REAL) and |r| <= ~ln2/2;
 * returns expm1(r) from its Taylor polynomial (truncation below 0.1 ulp).
 */
static inline REAL FN(vm_expm1_reduced)(REAL x, REAL *k_out)
{
    const REAL shifter = FN(VM_SHIFTER);
    const REAL k = (x * (REAL)1.4426950408889634 + shifter) - shifter;
    const REAL r = (x - k * FN(VM_LN2_HI)) - k * FN(VM_LN2_LO);
    REAL p;
    if (sizeof(REAL) == sizeof(float)) {
        p = (REAL)(1.0 / 5040);
        p = p * r + (REAL)(1.0 / 720);
        p = p * r + (REAL)(1.0 / 120);
        p = p * r + (REAL)(1.0 / 24);
        p = p * r + (REAL)(1.0 / 6);
        p = p * r + (REAL)0.5;
    } else {
        p = (REAL)(1.0 / 6227020800.0);
        p = p * r + (REAL)(1.0 / 479001600.0);
        p = p * r + (REAL)(1.0 / 39916800.0);
        p = p * r + (REAL)(1.0 / 3628800.0);
        p = p * r + (REAL)(1.0 / 362880.0);
        p = p * r + (REAL)(1.0 / 40320.0);
        p = p * r + (REAL)(1.0 / 5040.0);
        p = p * r + (REAL)(1.0 / 720.0);
        p = p * r + (REAL)(1.0 / 120.0);
        p = p * r + (REAL)(1.0 / 24.0);
        p = p * r + (REAL)(1.0 / 6.0);
        p = p * r + (REAL)0.5;
    }
    *k_out = k;
    return r + (r * r) * p;
}

/* Comparisons written so that NaN falls through unchanged. */
static inline REAL FN(vm_clamp)(REAL x, REAL lo, REAL hi)
{
    x = FN(vm_select)(x < lo, lo, x);
    return FN(vm_select)(x > hi, hi, x);
}

static inline REAL FN(vm_exp)(REAL x)
{
    REAL k;
    x = FN(vm_clamp)(x, FN(VM_EXP_LO), FN(VM_EXP_HI));
    const REAL em1 = FN(vm_expm1_reduced)(x, &k);
    /* 2^k in two normal halves: reaches inf and the subnormals with one rounding */
    const REAL shifter = FN(VM_SHIFTER);
    const REAL k1 = (k * (REAL)0.5 + shifter) - shifter;
    return (((REAL)1 + em1) * FN(vm_pow2)(k1)) * FN(vm_pow2)(k - k1);
}

/*
 * exp(x) for x <= 0 (or NaN), as sigmoid needs it: no overflow to guard, so one clamp, and
 * the scaling into the subnormals is one power of two 2^(k + 64), normal for every k
 * this range takes, then an exact-constant multiply by 2^-64 that rounds once (vm_exp
 * splits 2^k in two halves, which costs a second power of two and a rounding of k / 2).
 */
static inline REAL FN(vm_exp_nonpositive)(REAL x)
{
    REAL k;
    x = FN(vm_select)(x < FN(VM_EXP_LO), FN(VM_EXP_LO), x);
    const REAL em1 = FN(vm_expm1_reduced)(x, &k);
    return (((REAL)1 + em1) * FN(vm_pow2)(k + (REAL)64)) * (REAL)5.42101086242752217e-20;
}

static inline REAL FN(vm_expm1)(REAL x)
{
    REAL k;
    x = FN(vm_clamp)(x, FN(VM_EXPM1_LO), FN(VM_EXP_HI));
    const REAL em1 = FN(vm_expm1_reduced)(x, &k);
    /* 2^k (1 + em1) - 1 = 2 (h em1 + (h - 1/2)) with h = 2^(k-1), finite up to the
       overflow threshold; k = 0 takes em1 itself, exact down to the subnormals */
    const REAL h = FN(vm_pow2)(k - (REAL)1);
    return FN(vm_select)(k == (REAL)0, em1, (h * em1 + (h - (REAL)0.5)) * (REAL)2);
}

static inline REAL FN(vm_log)(REAL x)
{
    /* subnormals: scale into the normal range first */
    const int tiny = x < FN(VM_MIN_NORMAL);
    const REAL xs = FN(vm_select)(tiny, x * FN(VM_SUBNORMAL_SCALE), x);
    const REAL e_adj = FN(vm_select)(tiny, -(REAL)FN(VM_MANT), (REAL)0);
    /* x = 2^e m with m in [sqrt(1/2), sqrt(2)) */
    const VM_UINT u = FN(vm_bits)(xs) + (FN(VM_ONE_BITS) - FN(VM_SQRT_HALF_BITS));
    const VM_UINT e_bits = u >> FN(VM_MANT); /* biased exponent; x > 0 here */
    const REAL m = FN(vm_from_bits)((u & FN(VM_MANT_MASK)) + FN(VM_SQRT_HALF_BITS));
    const REAL shifter = FN(VM_SHIFTER);
    const REAL e = (FN(vm_from_bits)(FN(vm_bits)(shifter) + e_bits) - shifter)
                   - (REAL)FN(VM_BIAS) + e_adj;
    /* log m = 2 atanh(f), f = (m - 1)/(m + 1), |f| <= 0.1716 */
    const REAL f = (m - (REAL)1) / (m + (REAL)1);
    const REAL s = f * f;
    REAL p;
    if (sizeof(REAL) == sizeof(float)) {
        p = (REAL)(2.0 / 9);
        p = p * s + (REAL)(2.0 / 7);
        p = p * s + (REAL)(2.0 / 5);
        p = p * s + (REAL)(2.0 / 3);
    } else {
        p = (REAL)(2.0 / 19);
        p = p * s + (REAL)(2.0 / 17);
        p = p * s + (REAL)(2.0 / 15);
        p = p * s + (REAL)(2.0 / 13);
        p = p * s + (REAL)(2.0 / 11);
        p = p * s + (REAL)(2.0 / 9);
        p = p * s + (REAL)(2.0 / 7);
        p = p * s + (REAL)(2.0 / 5);
        p = p * s + (REAL)(2.0 / 3);
    }
    const REAL log_m = (REAL)2 * f + (f * s) * p;
    REAL y = e * FN(VM_LN2_HI) + (log_m + e * FN(VM_LN2_LO));
    /* edges: log(+inf) = inf, log(0) = -inf, log(x < 0) = NaN, NaN stays NaN */
    y = FN(vm_select)(x == (REAL)INFINITY, x, y);
    y = FN(vm_select)(x == (REAL)0, -(REAL)INFINITY, y);
    y = FN(vm_select)(x < (REAL)0, (REAL)NAN, y);
    return FN(vm_select)(x != x, x, y);
}

/*
 * log(1 + x): log of the rounded sum u = 1 + x, plus (x - (u - 1)) / u, the first-order
 * term of what rounding u lost (where that matters, u lies within a factor 2 of 1, so
 * u - 1 is exact and the numerator is the loss to the bit). Small x thus keeps its
 * relative accuracy, down to the subnormals (u = 1 gives x / 1). Edges: log1p(+inf) = inf, log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+-0)
 * = +-0, NaN stays NaN.
 */
static inline REAL FN(vm_log1p)(REAL x)
{
    const REAL u = (REAL)1 + x;
    REAL y = FN(vm_log)(u) + (x - (u - (REAL)1)) / u;
    y = FN(vm_select)(x == (REAL)INFINITY, x, y);
    y = FN(vm_select)(u == (REAL)0, -(REAL)INFINITY, y);
    return FN(vm_select)(x == (REAL)0, x, y);
}

/*
 * tanh through the double angle: t = tanh(a/2) = N / q, a rational on the clamped a
 * (N = a P(a^2), q = 2 Q(a^2), P(0) = Q(0) = 1), then tanh a = 2t / (1 + t^2) = 2 N q / (q^2 + N^2).
 * An error in t reaches the result scaled by (1 - t^2) / (1 + t^2), so rounding in P and Q
 * fades where tanh nears +-1 (evaluated as one rational in float it cost 4.5 ulp there).
 * P and Q are near-minimax for that weighted error (tools/fit_tanh.py; float: degrees
 * 2/3, 8.7e-9; double: 5/6, 5.2e-17). Odd, so x's sign bit is put back on tanh |x| (-0
 * stays -0); exact near 0 down to the subnormals (N q / (q^2 + N^2) with q = 2); past the clamp, where tanh
 * rounds to +-1, the clamped value gives exactly +-1 (tests/test_vmath.py checks it).
 * One division, no exp. T is the type it is evaluated in (VM_TANH_REAL).
 */
static inline REAL FN(vm_tanh)(REAL x)
{
    typedef FN(VM_TANH_REAL) T;
    const REAL c = FN(VM_TANH_CLAMP);
    const VM_UINT sign = ((VM_UINT)1) << (sizeof(VM_UINT) * 8 - 1);
    const VM_UINT x_bits = FN(vm_bits)(x);
    /* Evaluated at |x| and given x's sign at the end (the rational is odd, so the bits are
       the ones a signed evaluation rounds to): a clamp at one end and a cap at one end,
       and an OR for the sign, instead of two-sided selects. */
    const VM_UINT magnitude_bits = x_bits & ~sign;
    const REAL magnitude = FN(vm_from_bits)(magnitude_bits);
    T a;
    if (sizeof(REAL) == sizeof(float)) {
        /* The clamp must not read as a min of floats: GCC then computes tanh(c) once and
           runs the whole rational under a mask for the lanes below c, blending the two
           (12% slower in float, 9% in double). In float it is an integer min on the bits
           (non-negative floats order as their bits do; a NaN's bits exceed the clamp's,
           and the end restores the NaN); in double, whose 64-bit integer compares the
           older SIMD levels lack, a select on the bits. */
        const int32_t m = (int32_t)magnitude_bits, cb = (int32_t)FN(vm_bits)(c);
        a = (T)FN(vm_from_bits)((VM_UINT)(m < cb ? m : cb));
    } else {
        a = (T)FN(vm_select)(c < magnitude, c, magnitude);
    }
    const T s = a * a;
    T p, q;
    if (sizeof(T) == sizeof(float)) {
        p = (T)0.000113376987160045406736;
        p = p * s + (T)0.0297330606836711271383;
        q = (T)0.0000024212556158883347881;
        q = q * s + (T)0.00240457699193062902813;
        q = q * s + (T)0.22613267109261183327;
        q = q * s + (T)2.0;
    } else {
        p = (T)1.81098295108376265545e-13;
        p = p * s + (T)8.05466683653170995611e-10;
        p = p * s + (T)8.52085307379851276169e-7;
        p = p * s + (T)0.000303181467866255428136;
        p = p * s + (T)0.0360205263477056813605;
        q = (T)1.0378131327779398766e-15;
        q = q * s + (T)1.5152766550745800065e-11;
        q = q * s + (T)3.03251975073083107837e-8;
        q = q * s + (T)0.0000183149637635641479217;
        q = q * s + (T)0.00383200621590708342104;
        q = q * s + (T)0.23870771936207698311;
        q = q * s + (T)2.0;
    }
    /* P(0) rounds to 1: n = a + a s P1(s) rounds once near 0, and so does q^2 + n^2 with
       q q the fused product (GCC fuses the first product it meets, hence the order) */
    const T qq = q * q;
    const T n = a + (a * s) * p;
    /* 2 n q <= q^2 + n^2, but rounding can carry the quotient 1 ulp past 1 */
    REAL r = (REAL)((n * (q + q)) / (qq + n * n));
    r = (REAL)1 < r ? (REAL)1 : r;
    const REAL y = FN(vm_from_bits)(FN(vm_bits)(r) | (x_bits & sign));
    return magnitude != magnitude ? x : y;
}

static inline REAL FN(vm_sigmoid)(REAL x)
{
    /* e = exp(-|x|) never overflows: 1/(1+e) above 0, e/(1+e) below (gradual underflow) */
    const REAL e = FN(vm_exp_nonpositive)(-MATH(fabs)(x));
    const REAL r = (REAL)1 / ((REAL)1 + e); /* one division serves both sides */
    return FN(vm_select)(x < (REAL)0, e * r, r);
}

#undef VM_UINT
