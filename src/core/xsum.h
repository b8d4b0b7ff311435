/*
 * xsum.h - exact, order-free sums: the arithmetic behind "bitwise the same weights for any
 * number of ranks" (src/train/step.c).
 *
 * Float addition rounds, so a sum depends on the order of its terms: split a batch over 1 or 3
 * ranks and the gradient differs in its last bits, which Adam then amplifies. Integers add
 * exactly in any order, so both tools here turn values into fixed point, add integers (locally
 * and with an integer MPI_SUM), and convert back once.
 *
 * 1. Vectors with an agreed exponent (gradients: millions of values, so one int64 each):
 *    every rank finds the exponent of its largest value per tensor (st_fx_exponent), the ranks
 *    agree on the maximum (one small max-reduction), and each value x becomes
 *    rint(x * 2^shift) with shift = st_fx_shift(E): 51 bits below the largest value of the
 *    tensor anywhere. Each value is rounded on its own, so the integer sum is exact and the
 *    same in any order; 4096 terms per element fit an int64 (ST_FX_MAX_TERMS).
 * 2. Scalars and short vectors with a fixed window (loss sums, batch-norm statistics):
 *    st_xsum holds a double exactly between 2^-112 and 2^111 as seven 32-bit limbs in int64
 *    words (bits below 2^-112 are cut, toward zero), plus counts of NaN, +inf and -inf. No
 *    agreement is needed first; an array of st_xsum is summed over ranks as int64 words.
 */
#ifndef ST_CORE_XSUM_H
#define ST_CORE_XSUM_H

#include <stddef.h>
#include <stdint.h>

/* ---- vectors with an agreed exponent ---- */
#define ST_FX_ZERO (-2000)      /* st_fx_exponent of all zeros */
#define ST_FX_NONFINITE 2000    /* st_fx_exponent when some value is NaN or inf */
#define ST_FX_MAX_TERMS 4096    /* values per element one int64 sum may hold */

/* The smallest E with |x[i]| < 2^E for all i; ST_FX_ZERO if all are 0, ST_FX_NONFINITE if any
 * is NaN or inf. */
int st_fx_exponent(const float *x, size_t n);
/* The scale 2^shift for an agreed exponent E (neither sentinel) when an element sums up to
 * `terms` values: |x| * 2^shift < 2^51, and < 2^63 / terms so the int64 sum cannot overflow
 * (51 bits below the largest value up to ST_FX_MAX_TERMS terms, one bit fewer per doubling). */
static inline int st_fx_shift(int E, size_t terms) {
    int h = 0;
    while (h < 62 && ((size_t)1 << h) < terms) h++;
    return (h <= 12 ? 51 : 63 - h) - E;
}
/* acc[i] += rint(x[i] * 2^shift), ties to even; requires |x[i]| < 2^(51 - shift). */
void st_fx_add(const float *x, size_t n, int shift, int64_t *acc);
/* The same, and x[i] = 0 after it is read (the gradient slots are left clean for the next
 * step while their lines are in cache, so no separate pass clears them). */
void st_fx_add_clear(float *x, size_t n, int shift, int64_t *acc);
/* out[i] = acc[i] * 2^-shift, rounded to float (through double: the same on every rank). */
void st_fx_to_float(const int64_t *acc, size_t n, int shift, float *out);

/* ---- fixed-window exact accumulator ---- */
#define ST_XSUM_LIMBS 7
#define ST_XSUM_WORDS (ST_XSUM_LIMBS + 3) /* limbs, NaN count, +inf count, -inf count */
typedef struct st_xsum {
    int64_t w[ST_XSUM_WORDS];
} st_xsum;

/* Adds v exactly (to 2^-112; a finite |v| >= 2^111 counts as an infinity of its sign). Up to
 * 2^31 additions per accumulator, summed over all ranks. */
void st_xsum_add(st_xsum *s, double v);
/* The sum as a double: NaN if any term was NaN or both infinities occurred, else the infinity,
 * else the exact sum rounded from canonical limbs, so the same words give the same double. */
double st_xsum_value(const st_xsum *s);

#endif
