/* Compiled kernels of prosody's voice-quality analysis (engine/voice_quality.py), of the cross-talk
   spectra (engine/crosstalk.py), the pitch tracker's anti-alias filter (engine/pitch.py), the diarizer's
   Viterbi paths (engine/diarize.py) and the voice encoder's LSTM step with numpy's float32 tanh
   (engine/embedding.py).

   An optional CPython extension: plain C, the Python C API and the buffer
   protocol (no numpy headers). Each function is a loop of
   engine/voice_quality.py written out in C, with the same operations in the
   same order, except that dot products are summed one term after another
   (numpy's dot products and matrix products go through BLAS, whose order of
   summation is its own): results agree with the numpy code to rounding
   (tests/test_kernels_c.py states the tolerance). The numpy code stays the
   reference and the fallback where this module is not built.

   Arrays are passed as C-contiguous buffers: 'd' float64, 'f' float32,
   'Zd' complex128. Outputs are written into buffers the caller allocates. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* -- buffers ------------------------------------------------------------------------------------------------- */

/* A C-contiguous buffer whose format is ``fmt`` ("d", "f" or "Zd"), at least ``min_len`` items long. */
static int
get_buf(PyObject *obj, Py_buffer *view, const char *fmt, int writable, Py_ssize_t min_len, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    if (f[0] == '@' || f[0] == '=')
        f++;
    if (strcmp(f, fmt) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous array of format '%s', got '%s'", name, fmt, f);
        PyBuffer_Release(view);
        return -1;
    }
    if (view->len / view->itemsize < min_len) {
        PyErr_Format(PyExc_ValueError, "%s: %zd items, need at least %zd", name, view->len / view->itemsize,
                     min_len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define N_ITEMS(v) ((v).len / (v).itemsize)

/* numpy's argmax: the first index of the largest value; a NaN counts as largest (the first NaN). */
static Py_ssize_t
argmax(const double *v, Py_ssize_t n)
{
    Py_ssize_t k = 0;
    double m = v[0];
    if (isnan(m))
        return 0;
    for (Py_ssize_t i = 1; i < n; i++) {
        if (isnan(v[i]))
            return i;
        if (v[i] > m) {
            m = v[i];
            k = i;
        }
    }
    return k;
}

/* Hot loops are compiled twice on x86-64 Linux with GCC, for AVX2 and for the baseline, and the loader picks
   one for the machine (the same results: every output is its own chain of additions, in the same order, and
   -ffp-contract=off keeps multiplications and additions apart). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

#if defined(__GNUC__)
/* four doubles in one (GCC/Clang vector extension: an AVX register, or two SSE2 ones); lane-wise arithmetic */
typedef double v4d __attribute__((vector_size(32)));

#define LOAD4(dst, p) memcpy(&(dst), (p), sizeof(v4d))

/* out[j0 .. j0 + 4 * NV - 1] of ``correlate`` (NV vectors of accumulators held in registers while i runs) */
#define CORR_VECTORS(NV)                                                                                        \
    {                                                                                                           \
        v4d acc[NV];                                                                                            \
        for (int v = 0; v < NV; v++)                                                                            \
            acc[v] = (v4d){0.0, 0.0, 0.0, 0.0};                                                                 \
        const double *src = y + s + j0;                                                                         \
        for (Py_ssize_t i = 0; i < w; i++) {                                                                    \
            const double c0 = y[a + i];                                                                         \
            const v4d c = {c0, c0, c0, c0};                                                                     \
            for (int v = 0; v < NV; v++) {                                                                      \
                v4d x;                                                                                          \
                LOAD4(x, src + i + 4 * v);                                                                      \
                acc[v] += c * x;                                                                                \
            }                                                                                                   \
        }                                                                                                       \
        memcpy(out + j0, acc, sizeof(acc));                                                                     \
        j0 += 4 * NV;                                                                                           \
    }
#endif

/* out[j] = sum_i y[s + j + i] * y[a + i], i = 0 .. w-1 (summed in that order), j = 0 .. n_out-1:
   np.correlate(y[s:s + n_out + w - 1], y[a:a + w]). Blocks of outputs are kept in registers while i runs;
   each output's sum runs over i = 0, 1, ... in order, so the vector width does not change the result. */
HOT static void
correlate(const double *y, Py_ssize_t s, Py_ssize_t a, Py_ssize_t w, Py_ssize_t n_out, double *out)
{
    Py_ssize_t j0 = 0;
#if defined(__GNUC__)
    while (j0 + 32 <= n_out)
        CORR_VECTORS(8)
    if (j0 + 16 <= n_out)
        CORR_VECTORS(4)
    while (j0 + 4 <= n_out)
        CORR_VECTORS(1)
#endif
    for (; j0 < n_out; j0++) {
        double acc = 0.0;
        for (Py_ssize_t i = 0; i < w; i++)
            acc += y[a + i] * y[s + j0 + i];
        out[j0] = acc;
    }
}

/* The vertex of the parabola through (-1, ym), (0, y0), (1, yp) (voice_quality._parabolic). */
static void
parabolic(double ym, double y0, double yp, double *d, double *height)
{
    double den = ym - 2 * y0 + yp;
    if (den < 0) {
        *d = 0.5 * (ym - yp) / den;
        *height = y0 - 0.25 * (ym - yp) * *d;
    } else {
        *d = 0.0;
        *height = y0;
    }
}

static double
round_half_even(double v)
{
    return nearbyint(v);     /* the default rounding mode: to nearest, ties to even (Python's round, np.round) */
}

/* -- energy ------------------------------------------------------------------------------------------------- */

static PyObject *
square_cumsum(PyObject *self, PyObject *args)
{
    PyObject *ox, *oy, *oc;
    if (!PyArg_ParseTuple(args, "OOO", &ox, &oy, &oc))
        return NULL;
    Py_buffer bx, by, bc;
    if (PyObject_GetBuffer(ox, &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char *f = bx.format ? bx.format : "B";
    if (f[0] == '@' || f[0] == '=')
        f++;
    int is_f32 = strcmp(f, "f") == 0;
    if (!is_f32 && strcmp(f, "d") != 0) {
        PyErr_Format(PyExc_TypeError, "x: expected float32 or float64, got '%s'", f);
        PyBuffer_Release(&bx);
        return NULL;
    }
    Py_ssize_t n = N_ITEMS(bx);
    if (get_buf(oy, &by, "d", 1, n, "y") < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    if (get_buf(oc, &bc, "d", 1, n + 1, "c2") < 0) {
        PyBuffer_Release(&bx);
        PyBuffer_Release(&by);
        return NULL;
    }
    double *y = by.buf, *c2 = bc.buf, acc = 0.0;
    c2[0] = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = is_f32 ? (double)((const float *)bx.buf)[i] : ((const double *)bx.buf)[i];
        y[i] = v;
        acc += v * v;
        c2[i + 1] = acc;
    }
    PyBuffer_Release(&bx);
    PyBuffer_Release(&by);
    PyBuffer_Release(&bc);
    Py_RETURN_NONE;
}

/* -- glottal pulses ----------------------------------------------------------------------------------------- */

#define SINC_HALF 8
#define SINC_STEPS 16
#define N_FINE (2 * SINC_STEPS + 1)
#define N_TAPS (2 * SINC_HALF + 1)

static PyObject *
glottal_pulses(PyObject *self, PyObject *args)
{
    PyObject *oy, *oc, *op, *os, *oo;
    Py_ssize_t hop;
    if (!PyArg_ParseTuple(args, "OOOnOO", &oy, &oc, &op, &hop, &os, &oo))
        return NULL;
    Py_buffer by, bc, bp, bs, bo;
    int got = 0;
    Py_ssize_t count = 0;
    double *num = NULL;
    if (get_buf(oy, &by, "d", 0, 0, "y") < 0)
        goto fail;
    got = 1;
    Py_ssize_t n = N_ITEMS(by);
    if (hop <= 0) {
        PyErr_SetString(PyExc_ValueError, "hop_length must be positive");
        goto fail;
    }
    Py_ssize_t n_frames = (n + hop - 1) / hop;
    if (get_buf(oc, &bc, "d", 0, n + 1, "c2") < 0)
        goto fail;
    got = 2;
    if (get_buf(op, &bp, "d", 0, n_frames, "period_frames") < 0)
        goto fail;
    got = 3;
    if (get_buf(os, &bs, "d", 0, N_FINE * N_TAPS, "sinc") < 0)
        goto fail;
    got = 4;
    if (get_buf(oo, &bo, "d", 1, n + 1, "out") < 0)
        goto fail;
    got = 5;
    const double *x = by.buf, *c2 = bc.buf, *per_frame = bp.buf, *sinc = bs.buf;
    double *out = bo.buf;
    if (n < 3)
        goto done;
    double per_max = -INFINITY;
    for (Py_ssize_t f = 0; f < n_frames; f++) {
        if (!isfinite(per_frame[f]))
            goto done;
        if (per_frame[f] > per_max)
            per_max = per_frame[f];
    }
    Py_ssize_t edge = (Py_ssize_t)ceil(1.3 * per_max) + SINC_HALF + 2;
    if (n <= 2 * edge)
        goto done;
    Py_ssize_t i0 = edge;                       /* the loudest extremum away from the edges */
    double best = fabs(x[edge]);
    for (Py_ssize_t i = edge + 1; i < n - edge; i++) {
        if (fabs(x[i]) > best) {
            best = fabs(x[i]);
            i0 = i;
        }
    }
    /* (the numpy code correlates the waveform turned to make that extremum positive: a product of two
       samples, and so every sum, is the same either way) */
    Py_ssize_t cap = n + 64;
    num = PyMem_Malloc(2 * cap * sizeof(double));
    if (num == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    double *backward = num + cap;              /* pulses before i0, latest first */
    Py_ssize_t n_back = 0, n_fwd = 0;
    const Py_ssize_t m = SINC_HALF + 1;
    const double step = 1.0 / (2 * SINC_STEPS);
    double *fwd = out + 1;                      /* pulses after i0 go straight to out[1 + ...]; shifted later */
    for (int direction = 1; direction >= -1; direction -= 2) {
        double t = (double)i0;
        for (;;) {
            Py_ssize_t ti = (Py_ssize_t)round_half_even(t);
            Py_ssize_t fi = (ti < 0 ? 0 : (ti > n - 1 ? n - 1 : ti)) / hop;
            double per = per_frame[fi];
            Py_ssize_t half = (Py_ssize_t)round_half_even(per / 2);
            Py_ssize_t w = 2 * half;
            Py_ssize_t lo = (Py_ssize_t)floor(0.8 * per), hi = (Py_ssize_t)ceil(1.25 * per);
            Py_ssize_t a = ti - half;
            Py_ssize_t b_lo = direction > 0 ? a + lo : a - hi, b_hi = direction > 0 ? a + hi : a - lo;
            if (w < 4 || a < 0 || a + w > n || b_lo - m < 0 || b_hi + m + w > n)
                break;
            Py_ssize_t s0 = b_lo - m, s1 = b_hi + m + 1, len = s1 - s0;
            if (len > cap)
                break;                          /* cannot happen: the windows lie inside x */
            correlate(x, s0, a, w, len, num);
            const double e0 = c2[a + w] - c2[a];
            for (Py_ssize_t j = 0; j < len; j++) {
                double den = (c2[s0 + j + w] - c2[s0 + j]) * e0;
                num[j] = num[j] / (sqrt(den) + 1e-20);
            }
            Py_ssize_t k = m + argmax(num + m, len - 2 * m);
            if (num[k] < 0.3)
                break;
            double fine[N_FINE];
            for (int jj = 0; jj < N_FINE; jj++) {
                double acc = 0.0;
                const double *row = sinc + jj * N_TAPS;
                for (int q = 0; q < N_TAPS; q++)
                    acc += row[q] * num[k - SINC_HALF + q];
                fine[jj] = acc;
            }
            Py_ssize_t j = argmax(fine, N_FINE);
            double off = (double)(j - SINC_STEPS) * step;
            if (0 < j && j < N_FINE - 1) {
                double y_m = fine[j - 1], y_0 = fine[j], y_p = fine[j + 1];
                double curv = y_m - 2 * y_0 + y_p;
                off += (curv < 0 ? 0.5 * (y_m - y_p) / curv : 0.0) * step;
            }
            double t_new = t + (((double)s0 + ((double)k + off)) - (double)a);
            if ((t_new - t) * direction <= 0.5 * per)
                break;
            if (direction > 0)
                fwd[n_fwd++] = t_new;
            else
                backward[n_back++] = t_new;
            if (n_fwd + n_back + 1 > n)
                break;                          /* cannot happen: pulses are more than a sample apart */
            t = t_new;
        }
    }
    /* sorted: the backward pulses (reversed), i0, the forward ones */
    memmove(out + n_back + 1, fwd, n_fwd * sizeof(double));
    for (Py_ssize_t i = 0; i < n_back; i++)
        out[i] = backward[n_back - 1 - i];
    out[n_back] = (double)i0;
    count = n_back + 1 + n_fwd;
done:
    PyMem_Free(num);
    PyBuffer_Release(&by);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bo);
    return PyLong_FromSsize_t(count);
fail:
    PyMem_Free(num);
    if (got >= 1) PyBuffer_Release(&by);
    if (got >= 2) PyBuffer_Release(&bc);
    if (got >= 3) PyBuffer_Release(&bp);
    if (got >= 4) PyBuffer_Release(&bs);
    if (got >= 5) PyBuffer_Release(&bo);
    return NULL;
}

/* -- jitter and shimmer ------------------------------------------------------------------------------------- */

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Hann-windowed RMS of y around t, half-widths left and right; NaN with fewer than 3 samples
   (voice_quality._hann_rms). */
static double
hann_rms(const double *y, Py_ssize_t n, double t, double left, double right)
{
    Py_ssize_t i0 = (Py_ssize_t)ceil(t - left), i1 = (Py_ssize_t)floor(t + right);
    if (i0 < 0)
        i0 = 0;
    if (i1 > n - 1)
        i1 = n - 1;
    if (i1 - i0 + 1 < 3)
        return NAN;
    double sv = 0.0, sw = 0.0;
    for (Py_ssize_t i = i0; i <= i1; i++) {
        double half = (double)i < t ? left : right;
        double win = 0.5 + 0.5 * cos(M_PI * ((double)i - t) / half);
        double v = y[i] * win;
        sv += v * v;
        sw += win * win;
    }
    return sqrt(sv / sw);
}

static PyObject *
jitter_shimmer(PyObject *self, PyObject *args)
{
    PyObject *oy, *op;
    double sr, p_floor, p_ceil, max_pf, max_af;
    if (!PyArg_ParseTuple(args, "OOddddd", &oy, &op, &sr, &p_floor, &p_ceil, &max_pf, &max_af))
        return NULL;
    Py_buffer by, bp;
    if (get_buf(oy, &by, "d", 0, 0, "y") < 0)
        return NULL;
    if (get_buf(op, &bp, "d", 0, 0, "pulses") < 0) {
        PyBuffer_Release(&by);
        return NULL;
    }
    const double *y = by.buf, *pulses = bp.buf;
    Py_ssize_t n = N_ITEMS(by), np_ = N_ITEMS(bp);
    Py_ssize_t n_jitter_pairs = 0, n_periods = 0, n_shimmer_pairs = 0, n_amplitudes = 0;
    double sum_period_diff = 0.0, sum_period = 0.0, sum_amp_diff = 0.0, sum_amp = 0.0;
    double *p = NULL;
    if (np_ >= 3) {
        Py_ssize_t n_p = np_ - 1;
        p = PyMem_Malloc((3 * n_p + 2) * sizeof(double) + 3 * n_p);
        if (p == NULL) {
            PyBuffer_Release(&by);
            PyBuffer_Release(&bp);
            return PyErr_NoMemory();
        }
        double *amps = p + n_p, *times = amps + n_p;
        unsigned char *ok = (unsigned char *)(times + n_p + 2), *fac_ok = ok + n_p, *pair = fac_ok + n_p;
        for (Py_ssize_t i = 0; i < n_p; i++) {
            p[i] = (pulses[i + 1] - pulses[i]) / sr;              /* periods (s) */
            ok[i] = p[i] >= p_floor && p[i] <= p_ceil;
        }
        for (Py_ssize_t i = 0; i + 1 < n_p; i++) {
            double r1 = p[i + 1] / p[i], r2 = p[i] / p[i + 1];
            double f = isnan(r1) || isnan(r2) ? NAN : (r1 > r2 ? r1 : r2);
            fac_ok[i] = f <= max_pf;
            pair[i] = ok[i + 1] && ok[i] && fac_ok[i];
            if (pair[i]) {
                n_jitter_pairs++;
                sum_period_diff += fabs(p[i + 1] - p[i]);
            }
        }
        /* a period counts towards the mean when it is in range and each in-range neighbour is within the factor */
        for (Py_ssize_t i = 0; i < n_p; i++) {
            int good = ok[i];
            if (i > 0 && ok[i - 1] && !fac_ok[i - 1])
                good = 0;
            if (i + 1 < n_p && ok[i + 1] && !fac_ok[i])
                good = 0;
            if (good) {
                n_periods++;
                sum_period += p[i];
            }
        }
        /* amplitudes at the pulses with a valid period pair on both sides (0.2 period either side) */
        Py_ssize_t n_a = 0;
        for (Py_ssize_t i = 0; i + 1 < n_p; i++) {
            if (!pair[i])
                continue;
            double t = pulses[i + 1];
            double amp = hann_rms(y, n, t, 0.2 * (t - pulses[i]), 0.2 * (pulses[i + 2] - t));
            if (isfinite(amp) && amp > 0) {
                amps[n_a] = amp;
                times[n_a] = t / sr;
                n_a++;
            }
        }
        if (n_a >= 2) {
            for (Py_ssize_t i = 0; i + 1 < n_a; i++) {
                double dt = times[i + 1] - times[i];
                double r1 = amps[i + 1] / amps[i], r2 = amps[i] / amps[i + 1];
                double af = r1 > r2 ? r1 : r2;
                if (dt >= p_floor && dt <= p_ceil && af <= max_af) {
                    n_shimmer_pairs++;
                    sum_amp_diff += fabs(amps[i + 1] - amps[i]);
                }
            }
            n_amplitudes = n_a;
            for (Py_ssize_t i = 0; i < n_a; i++)
                sum_amp += amps[i];
        }
    }
    PyMem_Free(p);
    PyBuffer_Release(&by);
    PyBuffer_Release(&bp);
    return Py_BuildValue("ndndndnd", n_jitter_pairs, sum_period_diff, n_periods, sum_period, n_shimmer_pairs,
                         sum_amp_diff, n_amplitudes, sum_amp);
}

/* -- HNR ---------------------------------------------------------------------------------------------------- */

static PyObject *
hnr_frames(PyObject *self, PyObject *args)
{
    PyObject *oy, *oc, *op, *ov, *ow;
    Py_ssize_t hop, w, step;
    if (!PyArg_ParseTuple(args, "OOOnnnOO", &oy, &oc, &op, &hop, &w, &step, &ov, &ow))
        return NULL;
    Py_buffer by, bc, bp, bv, bw;
    int got = 0;
    Py_ssize_t *ints = NULL;
    double *num = NULL;
    PyObject *result = NULL;
    if (get_buf(oy, &by, "d", 0, 0, "y") < 0)
        goto end;
    got = 1;
    Py_ssize_t n = N_ITEMS(by);
    if (get_buf(oc, &bc, "d", 0, n + 1, "c2") < 0)
        goto end;
    got = 2;
    if (get_buf(op, &bp, "d", 0, 0, "periods") < 0)
        goto end;
    got = 3;
    Py_ssize_t nf = N_ITEMS(bp);
    if (get_buf(ov, &bv, "d", 1, nf, "out") < 0)
        goto end;
    got = 4;
    if (get_buf(ow, &bw, "d", 1, nf, "weight") < 0)
        goto end;
    got = 5;
    if (step < 1 || w < 1) {
        PyErr_SetString(PyExc_ValueError, "step and window must be positive");
        goto end;
    }
    const double *y = by.buf, *c2 = bc.buf, *periods = bp.buf;
    double *out = bv.buf, *weight = bw.buf;
    Py_ssize_t n_hnr = 0;
    double sum_hnr = 0.0;
    for (Py_ssize_t f = 0; f < nf; f++) {
        out[f] = NAN;
        weight[f] = 0.0;
    }
    if (nf == 0)
        goto sums;
    ints = PyMem_Malloc(4 * nf * sizeof(Py_ssize_t));
    if (ints == NULL) {
        PyErr_NoMemory();
        goto end;
    }
    Py_ssize_t *lo = ints, *hi = ints + nf, *a = ints + 2 * nf, *fit = ints + 3 * nf;
    Py_ssize_t n_lags = 0;
    for (Py_ssize_t f = 0; f < nf; f++) {
        if (!(periods[f] > 0 && periods[f] < (double)n + w)) {   /* also NaN: the voiced runs' F0 is finite */
            PyErr_Format(PyExc_ValueError, "HNR: the period of frame %zd is not a positive length within the run", f);
            goto end;
        }
        Py_ssize_t l = (Py_ssize_t)floor(0.8 * periods[f]) - 1;
        lo[f] = l > 2 ? l : 2;
        hi[f] = (Py_ssize_t)ceil(1.25 * periods[f]) + 1;
        a[f] = (Py_ssize_t)round_half_even(((double)f + 0.5) * hop - ((double)w + periods[f]) / 2);
        if (f == 0 || hi[f] - lo[f] + 1 > n_lags)
            n_lags = hi[f] - lo[f] + 1;
    }
    if (n_lags < 3) {
        PyErr_SetString(PyExc_ValueError, "HNR: fewer than 3 lags");
        goto end;
    }
    Py_ssize_t n_fit = 0;
    for (Py_ssize_t f = 0; f < nf; f++)
        if (a[f] >= 0 && a[f] + lo[f] + n_lags - 1 + w <= n)
            fit[n_fit++] = f;
    num = PyMem_Malloc(n_lags * sizeof(double));
    if (num == NULL) {
        PyErr_NoMemory();
        goto end;
    }
    for (Py_ssize_t q = 0; q < n_fit; q += step) {
        Py_ssize_t f = fit[q], aa = a[f], ll = lo[f];
        weight[f] = (double)(n_fit - q < step ? n_fit - q : step);
        /* lags past hi[f] are not candidates: only the ones up to it are computed */
        Py_ssize_t n_used = hi[f] - ll + 1;
        if (n_used > n_lags)
            n_used = n_lags;
        correlate(y, aa + ll, aa, w, n_used, num);
        const double e0 = c2[aa + w] - c2[aa];
        for (Py_ssize_t l = 0; l < n_used; l++) {
            Py_ssize_t s = aa + ll + l;
            num[l] = num[l] / (sqrt((c2[s + w] - c2[s]) * e0) + 1e-30);
        }
        for (Py_ssize_t l = n_used; l < n_lags; l++)
            num[l] = -1.0;
        Py_ssize_t k = argmax(num + 1, n_lags - 2) + 1;
        double d, rmax;
        parabolic(num[k - 1], num[k], num[k + 1], &d, &rmax);
        if (rmax > 1.0 - 1e-9)
            rmax = 1.0 - 1e-9;
        out[f] = rmax > 0 ? 10.0 * log10(rmax / (1.0 - rmax)) : NAN;
    }
sums:
    for (Py_ssize_t f = 0; f < nf; f++) {
        if (isfinite(out[f])) {
            n_hnr += (Py_ssize_t)weight[f];
            sum_hnr += out[f] * weight[f];
        }
    }
    result = Py_BuildValue("nd", n_hnr, sum_hnr);
end:
    PyMem_Free(ints);
    PyMem_Free(num);
    if (got >= 1) PyBuffer_Release(&by);
    if (got >= 2) PyBuffer_Release(&bc);
    if (got >= 3) PyBuffer_Release(&bp);
    if (got >= 4) PyBuffer_Release(&bv);
    if (got >= 5) PyBuffer_Release(&bw);
    return result;
}

/* -- CPPS --------------------------------------------------------------------------------------------------- */

/* z[up * t + p] = sum_j x[down * t + j_lo + j] * taps[j, p], j = 0 .. n_j-1 in that order, inputs outside x
   zeros (voice_quality.resample_poly's polyphase product), for up * t + p < n_out. x is first dealt into
   ``down`` streams (stream r holds x[down * u + j_lo + r]), so each tap scales a contiguous stretch. */
HOT static int
resample(const double *x, Py_ssize_t n, const double *taps, Py_ssize_t n_j, Py_ssize_t j_lo, Py_ssize_t up,
         Py_ssize_t down, double *z, Py_ssize_t n_out)
{
    Py_ssize_t n_t = (n_out + up - 1) / up, len = n_t + (n_j - 1) / down + 1;
    double *buf = PyMem_Malloc((down * len + up * n_t + 1) * sizeof(double));
    if (buf == NULL)
        return -1;
    double *streams = buf, *acc = buf + down * len;
    for (Py_ssize_t r = 0; r < down; r++)
        for (Py_ssize_t u = 0; u < len; u++) {
            Py_ssize_t xi = down * u + j_lo + r;
            streams[r * len + u] = xi >= 0 && xi < n ? x[xi] : 0.0;
        }
    for (Py_ssize_t p = 0; p < up; p++) {
        double *o = acc + p * n_t;
        for (Py_ssize_t t = 0; t < n_t; t++)
            o[t] = 0.0;
        for (Py_ssize_t j = 0; j < n_j; j++) {
            const double c = taps[j * up + p];
            const double *src = streams + (j % down) * len + j / down;
            for (Py_ssize_t t = 0; t < n_t; t++)
                o[t] += c * src[t];
        }
    }
    for (Py_ssize_t t = 0; t < n_t; t++)
        for (Py_ssize_t p = 0; p < up && up * t + p < n_out; p++)
            z[up * t + p] = acc[p * n_t + t];
    PyMem_Free(buf);
    return 0;
}

/* cpp_prepare(y, hop, sample_rate, taps, j_lo, up, down, pre, n_win, step, window, segs, rows, weights) -> m:
   the run resampled to the cepstrum's rate (voice_quality.resample_poly: polyphase taps of shape (n_j, up)),
   pre-emphasised (z[i] - pre * z[i-1]), and on every step-th frame where the window fits, the window's
   samples less their mean times ``window``, zero-padded to the row length of ``segs`` (shape (cap, nfft));
   rows[q] is the frame of row q and weights[q] the number of frames it stands for. */
static PyObject *
cpp_prepare(PyObject *self, PyObject *args)
{
    PyObject *oy, *ot, *ow, *os, *or_, *owt;
    Py_ssize_t hop, j_lo, up, down, n_win, step, nf;
    double sr, pre;
    if (!PyArg_ParseTuple(args, "OndnOnnndnnOOOO", &oy, &hop, &sr, &nf, &ot, &j_lo, &up, &down, &pre, &n_win,
                          &step, &ow, &os, &or_, &owt))
        return NULL;
    Py_buffer by, bt, bw, bs, br, bwt;
    int got = 0;
    double *z = NULL;
    PyObject *result = NULL;
    if (up < 1 || down < 1 || step < 1 || n_win < 1 || hop < 1) {
        PyErr_SetString(PyExc_ValueError, "cpp_prepare: up, down, step, n_win and hop must be positive");
        return NULL;
    }
    if (get_buf(oy, &by, "d", 0, 0, "y") < 0)
        goto end;
    got = 1;
    if (get_buf(ot, &bt, "d", 0, up, "taps") < 0)
        goto end;
    got = 2;
    if (get_buf(ow, &bw, "d", 0, n_win, "window") < 0)
        goto end;
    got = 3;
    if (get_buf(os, &bs, "d", 1, 0, "segs") < 0)
        goto end;
    got = 4;
    if (get_buf(or_, &br, "d", 1, 0, "rows") < 0)
        goto end;
    got = 5;
    if (get_buf(owt, &bwt, "d", 1, 0, "weights") < 0)
        goto end;
    got = 6;
    const double *x = by.buf, *taps = bt.buf, *win = bw.buf;
    double *segs = bs.buf, *rows = br.buf, *wts = bwt.buf;
    Py_ssize_t n = N_ITEMS(by), n_j = N_ITEMS(bt) / up, cap = N_ITEMS(br);
    if (bs.ndim != 2 || bs.shape[0] < cap || N_ITEMS(bwt) < cap || bs.shape[1] < n_win) {
        PyErr_SetString(PyExc_ValueError, "cpp_prepare: segs must be 2-D, (len(rows), >= n_win)");
        goto end;
    }
    Py_ssize_t nfft = bs.shape[1];
    Py_ssize_t n_out = (n * up + down - 1) / down;
    z = PyMem_Malloc((n_out + 1) * sizeof(double));
    if (z == NULL) {
        PyErr_NoMemory();
        goto end;
    }
    if (resample(x, n, taps, n_j, j_lo, up, down, z, n_out) < 0) {
        PyErr_NoMemory();
        goto end;
    }
    for (Py_ssize_t i = n_out - 1; i > 0; i--)      /* pre-emphasis, from the end so z[i - 1] is still the input */
        z[i] = z[i] - pre * z[i - 1];
    Py_ssize_t n_fit = 0;
    for (Py_ssize_t f = 0; f < nf; f++) {
        double s = nearbyint((((double)f + 0.5) * hop / sr) * 10000.0 - (double)n_win / 2);
        if (s >= 0 && s + n_win <= n_out)
            n_fit++;
    }
    Py_ssize_t m = 0, q = 0;
    for (Py_ssize_t f = 0; f < nf; f++) {
        Py_ssize_t s = (Py_ssize_t)nearbyint((((double)f + 0.5) * hop / sr) * 10000.0 - (double)n_win / 2);
        if (!(s >= 0 && s + n_win <= n_out))
            continue;
        if (q++ % step)
            continue;
        if (m >= cap) {
            PyErr_SetString(PyExc_ValueError, "cpp_prepare: more rows than the buffers hold");
            goto end;
        }
        double mean = 0.0;
        for (Py_ssize_t i = 0; i < n_win; i++)
            mean += z[s + i];
        mean /= (double)n_win;
        double *row = segs + m * nfft;
        for (Py_ssize_t i = 0; i < n_win; i++)
            row[i] = (z[s + i] - mean) * win[i];
        for (Py_ssize_t i = n_win; i < nfft; i++)
            row[i] = 0.0;
        rows[m] = (double)f;
        wts[m] = (double)(n_fit - (q - 1) < step ? n_fit - (q - 1) : step);
        m++;
    }
    result = PyLong_FromSsize_t(m);
end:
    PyMem_Free(z);
    if (got >= 1) PyBuffer_Release(&by);
    if (got >= 2) PyBuffer_Release(&bt);
    if (got >= 3) PyBuffer_Release(&bw);
    if (got >= 4) PyBuffer_Release(&bs);
    if (got >= 5) PyBuffer_Release(&br);
    if (got >= 6) PyBuffer_Release(&bwt);
    return result;
}

/* log_power(spec, out): out = log(re^2 + im^2 + 1e-30) of a complex128 array. */
static PyObject *
log_power(PyObject *self, PyObject *args)
{
    PyObject *os, *oo;
    if (!PyArg_ParseTuple(args, "OO", &os, &oo))
        return NULL;
    Py_buffer bs, bo;
    if (get_buf(os, &bs, "Zd", 0, 0, "spec") < 0)
        return NULL;
    Py_ssize_t n = N_ITEMS(bs);
    if (get_buf(oo, &bo, "d", 1, n, "out") < 0) {
        PyBuffer_Release(&bs);
        return NULL;
    }
    const double *s = bs.buf;
    double *o = bo.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        o[i] = log(s[2 * i] * s[2 * i] + s[2 * i + 1] * s[2 * i + 1] + 1e-30);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* The k-th smallest of a[0..n-1] (reorders a so that a[0..k-1] are the k smallest): quickselect, pivot the
   median of three, a branch-free partition. No NaN. */
static double
select_kth(double *a, Py_ssize_t n, Py_ssize_t k)
{
    Py_ssize_t lo = 0, hi = n - 1;
    while (hi > lo) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi], t;
        /* the median of the three goes to a[hi] */
        Py_ssize_t pi = (x < y) ? ((y < z) ? mid : ((x < z) ? hi : lo)) : ((x < z) ? lo : ((y < z) ? hi : mid));
        t = a[pi];
        a[pi] = a[hi];
        a[hi] = t;
        const double pv = a[hi];
        Py_ssize_t st = lo;
        for (Py_ssize_t i = lo; i < hi; i++) {   /* a[lo..st) < pv <= a[st..i) */
            double v = a[i];
            a[i] = a[st];
            a[st] = v;
            st += v < pv;
        }
        a[hi] = a[st];
        a[st] = pv;
        if (k == st)
            return pv;
        if (k < st)
            hi = st - 1;
        else
            lo = st + 1;
    }
    return a[k];
}

/* voice_quality._median_rows for one row (reorders a). */
static double
median(double *a, Py_ssize_t n)
{
    Py_ssize_t k = n / 2;
    double hi = select_kth(a, n, k);
    if (n % 2)
        return hi;
    double lo = a[0];                           /* after the selection, a[0..k-1] are the k smallest */
    for (Py_ssize_t i = 1; i < k; i++)
        if (a[i] > lo)
            lo = a[i];
    return (lo + hi) / 2;
}

/* views.moving_mean over rows: out = the mean of rows r - k/2 .. r - k/2 + k - 1 of src (shape
   (n_rows, n_cols); rows outside taken at the nearest edge), added in that order, then divided by k. */
HOT static void
mean_rows(const double *src, Py_ssize_t n_rows, Py_ssize_t n_cols, Py_ssize_t r, Py_ssize_t k, double *out)
{
    for (Py_ssize_t d = 0; d < k; d++) {
        Py_ssize_t rr = r + d - k / 2;
        const double *s = src + (rr < 0 ? 0 : (rr > n_rows - 1 ? n_rows - 1 : rr)) * n_cols;
        if (d == 0)
            memcpy(out, s, n_cols * sizeof(double));
        else
            for (Py_ssize_t col = 0; col < n_cols; col++)
                out[col] += s[col];
    }
    for (Py_ssize_t col = 0; col < n_cols; col++)
        out[col] = out[col] / (double)k;
}

/* views.moving_mean along a row: out[i] = (padded[i] + ... + padded[i + k - 1]) / k, i < n. */
HOT static void
mean_along(const double *padded, Py_ssize_t n, Py_ssize_t k, double *out)
{
    memcpy(out, padded, n * sizeof(double));
    for (Py_ssize_t d = 1; d < k; d++)
        for (Py_ssize_t i = 0; i < n; i++)
            out[i] += padded[i + d];
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = out[i] / (double)k;
}

/* cpp_finish(ceps, nfft, weights, time_k, quef_k, fit_from, band_lo, band_hi, rate, out) -> (n, sum):
   from the DCT-I of the log spectra (ceps, shape (m, n_q), overwritten): the power cepstrum, smoothed over
   time_k rows and quef_k quefrency bins (edges repeated), in dB; a robust straight line fitted from bin
   fit_from on, the peak in bins band_lo..band_hi (parabolic) above it: out[q] (shape (m,)). Returns the sums
   of weights and of weights x values over finite values. */
static PyObject *
cpp_finish(PyObject *self, PyObject *args)
{
    PyObject *oc, *owt, *oo;
    Py_ssize_t nfft, time_k, quef_k, fit_from, band_lo, band_hi;
    double rate;
    if (!PyArg_ParseTuple(args, "OnOnnnnndO", &oc, &nfft, &owt, &time_k, &quef_k, &fit_from, &band_lo, &band_hi,
                          &rate, &oo))
        return NULL;
    Py_buffer bc, bwt, bo;
    int got = 0;
    double *scratch = NULL;
    PyObject *result = NULL;
    if (get_buf(oc, &bc, "d", 1, 0, "ceps") < 0)
        goto end;
    got = 1;
    if (bc.ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "ceps must be 2-D");
        goto end;
    }
    Py_ssize_t m = bc.shape[0], n_q = bc.shape[1];
    if (get_buf(owt, &bwt, "d", 0, m, "weights") < 0)
        goto end;
    got = 2;
    if (get_buf(oo, &bo, "d", 1, m, "out") < 0)
        goto end;
    got = 3;
    if (m == 0) {
        result = Py_BuildValue("nd", (Py_ssize_t)0, 0.0);
        goto end;
    }
    if (!(0 <= fit_from && n_q - fit_from >= 2 && 1 <= band_lo && band_lo <= band_hi && band_hi < n_q)) {
        PyErr_SetString(PyExc_ValueError, "cpp_finish: quefrency bins out of range");
        goto end;
    }
    double *c = bc.buf, *out = bo.buf;
    const double *wts = bwt.buf;
    Py_ssize_t n_all = m * n_q;
    scratch = PyMem_Malloc((n_all + 5 * n_q + quef_k) * sizeof(double));
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto end;
    }
    double *row_buf = scratch + n_all, *sel = row_buf + n_q + quef_k, *q = sel + n_q, *dq = q + n_q;
    /* the quefrencies (s) of the bins from fit_from on, and of pairs half that range apart */
    Py_ssize_t len = n_q - fit_from, h = len / 2;
    for (Py_ssize_t i = 0; i < len; i++)
        q[i] = (double)(fit_from + i) / rate;
    for (Py_ssize_t i = 0; i < h; i++)
        dq[i] = q[h + i] - q[i];
    for (Py_ssize_t i = 0; i < n_all; i++) {
        double v = c[i] / (double)nfft;
        c[i] = v * v;
    }
    if (time_k > 1) {                            /* over neighbouring rows (time) */
        memcpy(scratch, c, n_all * sizeof(double));
        for (Py_ssize_t r = 0; r < m; r++)
            mean_rows(scratch, m, n_q, r, time_k, c + r * n_q);
    }
    Py_ssize_t n_res = 0;
    double sum = 0.0;
    for (Py_ssize_t r = 0; r < m; r++) {
        double *row = c + r * n_q;
        if (quef_k > 1) {                        /* over neighbouring quefrency bins: the row with its edges repeated */
            for (Py_ssize_t i = 0; i < n_q + quef_k - 1; i++) {
                Py_ssize_t cc = i - quef_k / 2;
                row_buf[i] = row[cc < 0 ? 0 : (cc > n_q - 1 ? n_q - 1 : cc)];
            }
            mean_along(row_buf, n_q, quef_k, row);
        }
        for (Py_ssize_t col = 0; col < n_q; col++)
            row[col] = 10.0 * log10(row[col] + 1e-30);
        /* robust line (voice_quality._robust_lines): median slope of pairs half the range apart, median intercept */
        const double *yv = row + fit_from;
        for (Py_ssize_t i = 0; i < h; i++)
            sel[i] = (yv[h + i] - yv[i]) / dq[i];
        double slope = median(sel, h);
        for (Py_ssize_t i = 0; i < len; i++)
            sel[i] = yv[i] - slope * q[i];
        double icept = median(sel, len);
        Py_ssize_t j = band_lo + argmax(row + band_lo, band_hi - band_lo + 1);
        double d, peak;
        parabolic(row[j - 1], row[j], row[j + 1 < n_q ? j + 1 : n_q - 1], &d, &peak);
        out[r] = peak - (slope * ((double)j + d) / rate + icept);
        if (isfinite(out[r])) {
            n_res += (Py_ssize_t)wts[r];
            sum += out[r] * wts[r];
        }
    }
    result = Py_BuildValue("nd", n_res, sum);
end:
    PyMem_Free(scratch);
    if (got >= 1) PyBuffer_Release(&bc);
    if (got >= 2) PyBuffer_Release(&bwt);
    if (got >= 3) PyBuffer_Release(&bo);
    return result;
}

/* -- cross-talk spectra (engine/crosstalk.py) ---------------------------------------------------------------- */

/* band_power(spec, lo, edges, eps, out): per row of spec (complex128, shape (m, n_bins_full)) the power of
   bins lo .. hi-1 (hi = edges[-1]) and its sums over bands [edges[b], edges[b+1]): out[r, :n_bands] = band
   sums + eps (as differences of the running sum, the numpy code's order), out[r, n_bands:] = bin powers +
   eps. out: float64, shape (m, n_bands + hi - lo). edges: int64, ascending, edges[0] >= lo. */
static PyObject *
band_power(PyObject *self, PyObject *args)
{
    PyObject *os, *oe, *oo;
    Py_ssize_t lo;
    double eps;
    if (!PyArg_ParseTuple(args, "OnOdO", &os, &lo, &oe, &eps, &oo))
        return NULL;
    Py_buffer bs, be, bo;
    int got = 0;
    double *cs = NULL;
    PyObject *result = NULL;
    if (get_buf(os, &bs, "Zd", 0, 0, "spec") < 0)
        goto end;
    got = 1;
    if (PyObject_GetBuffer(oe, &be, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto end;
    got = 2;
    const char *f = be.format ? be.format : "B";
    if (f[0] == '@' || f[0] == '=')
        f++;
    if (be.itemsize != 8 || !(strcmp(f, "l") == 0 || strcmp(f, "q") == 0)) {
        PyErr_Format(PyExc_TypeError, "edges: expected int64, got '%s'", f);
        goto end;
    }
    if (get_buf(oo, &bo, "d", 1, 0, "out") < 0)
        goto end;
    got = 3;
    const long long *edges = be.buf;
    Py_ssize_t n_e = N_ITEMS(be);
    if (bs.ndim != 2 || bo.ndim != 2 || n_e < 2) {
        PyErr_SetString(PyExc_ValueError, "band_power: spec and out must be 2-D, edges at least 2 long");
        goto end;
    }
    Py_ssize_t m = bs.shape[0], n_full = bs.shape[1], n_bands = n_e - 1, hi = (Py_ssize_t)edges[n_e - 1];
    Py_ssize_t n_bin = hi - lo;
    if (lo < 0 || hi > n_full || edges[0] < lo || bo.shape[0] != m || bo.shape[1] != n_bands + n_bin) {
        PyErr_SetString(PyExc_ValueError, "band_power: bins out of range or out of the wrong shape");
        goto end;
    }
    for (Py_ssize_t b = 0; b < n_bands; b++)
        if (edges[b + 1] < edges[b]) {
            PyErr_SetString(PyExc_ValueError, "band_power: edges must ascend");
            goto end;
        }
    cs = PyMem_Malloc((n_bin + 1) * sizeof(double));
    if (cs == NULL) {
        PyErr_NoMemory();
        goto end;
    }
    const double *spec = bs.buf;
    double *out = bo.buf;
    for (Py_ssize_t r = 0; r < m; r++) {
        const double *sp = spec + 2 * (r * n_full + lo);
        double *ob = out + r * (n_bands + n_bin), *obin = ob + n_bands, acc = 0.0;
        cs[0] = 0.0;
        for (Py_ssize_t j = 0; j < n_bin; j++) {
            double pw = sp[2 * j] * sp[2 * j] + sp[2 * j + 1] * sp[2 * j + 1];
            obin[j] = pw + eps;
            acc += pw;
            cs[j + 1] = acc;
        }
        for (Py_ssize_t b = 0; b < n_bands; b++)
            ob[b] = cs[edges[b + 1] - lo] - cs[edges[b] - lo] + eps;
    }
    result = Py_None;
    Py_INCREF(result);
end:
    PyMem_Free(cs);
    if (got >= 1) PyBuffer_Release(&bs);
    if (got >= 2) PyBuffer_Release(&be);
    if (got >= 3) PyBuffer_Release(&bo);
    return result;
}

static inline double
nan_max(double a, double b)
{
    return (a >= b || isnan(a)) ? a : b;
}

/* held_peak(L, hold, n0, decay, out): the decaying peak hold of CrossTalk._held. Row i of L (float64, shape
   (n, k)) is frame n0 + i; with t = (n0 + i) * decay, run = max(run, L[i] + t) from run = hold (shape (k,),
   updated in place to the last run), out[i] = run - t. NaN propagates as in np.maximum.
   held_peak_wide: the same, then each row's inner bins widened to their neighbours (out[i, j] =
   max(max(held[j - 1], held[j + 1]), held[j]), 0 < j < k - 1, np.maximum's order): CrossTalk's held bin
   levels in one pass. Only L's rows are written (out may be longer). */
static PyObject *
held_peak_run(PyObject *args, int wide)
{
    PyObject *ol, *oh, *oo;
    Py_ssize_t n0;
    double decay;
    if (!PyArg_ParseTuple(args, "OOndO", &ol, &oh, &n0, &decay, &oo))
        return NULL;
    Py_buffer bl, bh, bo;
    if (get_buf(ol, &bl, "d", 0, 0, "L") < 0)
        return NULL;
    if (get_buf(oh, &bh, "d", 1, 0, "hold") < 0) {
        PyBuffer_Release(&bl);
        return NULL;
    }
    if (get_buf(oo, &bo, "d", 1, N_ITEMS(bl), "out") < 0) {
        PyBuffer_Release(&bl);
        PyBuffer_Release(&bh);
        return NULL;
    }
    Py_ssize_t k = N_ITEMS(bh);
    if (k == 0 || N_ITEMS(bl) % k != 0) {
        PyErr_SetString(PyExc_ValueError, "held_peak: L must have len(hold) columns");
        PyBuffer_Release(&bl);
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bo);
        return NULL;
    }
    Py_ssize_t n = N_ITEMS(bl) / k;
    const double *L = bl.buf;
    double *run = bh.buf, *out = bo.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double t = (double)(n0 + i) * decay;
        const double *li = L + i * k;
        double *oi = out + i * k;
        for (Py_ssize_t j = 0; j < k; j++) {
            double v = li[j] + t, r = run[j];
            r = (r >= v || isnan(r)) ? r : v;
            run[j] = r;
            oi[j] = r - t;
        }
        if (wide && k > 2) {
            double prev = oi[0];  /* the held value left of j, before widening */
            for (Py_ssize_t j = 1; j < k - 1; j++) {
                double cur = oi[j];
                oi[j] = nan_max(nan_max(prev, oi[j + 1]), cur);
                prev = cur;
            }
        }
    }
    PyBuffer_Release(&bl);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

static PyObject *
held_peak(PyObject *self, PyObject *args)
{
    return held_peak_run(args, 0);
}

static PyObject *
held_peak_wide(PyObject *self, PyObject *args)
{
    return held_peak_run(args, 1);
}

/* -- pitch: anti-alias FIR and decimation (engine/pitch.py) -------------------------------------------------- */

/* fir_decimate(seg, fir, q, out): out[m] = sum_t fir[t] * seg[q * m + T - 1 - t] over the T taps of fir
   (float64): PitchTracker._decimate_to's polyphase filter as one direct sum per output (the numpy code sums
   each phase's convolution, then the phases: the same to rounding). seg must hold q * (len(out) - 1) + T
   samples. */
static PyObject *
fir_decimate(PyObject *self, PyObject *args)
{
    PyObject *os, *of, *oo;
    Py_ssize_t q;
    if (!PyArg_ParseTuple(args, "OOnO", &os, &of, &q, &oo))
        return NULL;
    Py_buffer bs, bf, bo;
    if (get_buf(os, &bs, "d", 0, 0, "seg") < 0)
        return NULL;
    if (get_buf(of, &bf, "d", 0, 1, "fir") < 0) {
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(oo, &bo, "d", 1, 0, "out") < 0) {
        PyBuffer_Release(&bs);
        PyBuffer_Release(&bf);
        return NULL;
    }
    Py_ssize_t T = N_ITEMS(bf), M = N_ITEMS(bo);
    if (q < 1 || (M > 0 && N_ITEMS(bs) < q * (M - 1) + T)) {
        PyErr_SetString(PyExc_ValueError, "fir_decimate: seg too short for out");
        PyBuffer_Release(&bs);
        PyBuffer_Release(&bf);
        PyBuffer_Release(&bo);
        return NULL;
    }
    const double *seg = bs.buf, *fir = bf.buf;
    double *out = bo.buf;
    for (Py_ssize_t m = 0; m < M; m++) {
        const double *x = seg + q * m + T - 1;
        double acc = 0.0;
        for (Py_ssize_t t = 0; t < T; t++)
            acc += fir[t] * x[-t];
        out[m] = acc;
    }
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bf);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* -- diarization: best state paths (engine/diarize.py) ------------------------------------------------------- */

/* viterbi2(half, pens, path): diarize._viterbi2's best 0/1 path, written into path (n,) int8; half (n,) float64
   is 0.5 * the score, pens (n,) float64 the cost of a change into each frame. The Python loop's operations on
   the same doubles in the same order (a Python float is an IEEE double; -ffp-contract=off keeps every product
   and sum rounded on its own): the same path, bit for bit. */
static PyObject *
viterbi2(PyObject *self, PyObject *args)
{
    PyObject *oh, *op, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &oh, &op, &oo))
        return NULL;
    Py_buffer bh, bp, bo;
    if (get_buf(oh, &bh, "d", 0, 0, "half") < 0)
        return NULL;
    Py_ssize_t n = N_ITEMS(bh);
    if (get_buf(op, &bp, "d", 0, n, "pens") < 0) {
        PyBuffer_Release(&bh);
        return NULL;
    }
    if (get_buf(oo, &bo, "b", 1, n, "path") < 0) {
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bp);
        return NULL;
    }
    unsigned char *back = malloc(2 * (size_t)n + 1);  /* per frame and state: came from the other state */
    if (back == NULL) {
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bp);
        PyBuffer_Release(&bo);
        return PyErr_NoMemory();
    }
    const double *half = bh.buf, *pens = bp.buf;
    signed char *path = bo.buf;
    double v0 = 0.0, v1 = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double pen = pens[i], s0 = -half[i], s1 = half[i];
        const int from0 = v1 - pen > v0, from1 = v0 - pen > v1;
        back[2 * i] = (unsigned char)from0;
        back[2 * i + 1] = (unsigned char)from1;
        const double n0 = (from0 ? v1 - pen : v0) + s0;
        const double n1 = (from1 ? v0 - pen : v1) + s1;
        v0 = n0;
        v1 = n1;
    }
    int state = v1 > v0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        path[i] = (signed char)state;
        if (back[2 * i + state])
            state = 1 - state;
    }
    free(back);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* viterbi(score, trans, scale, path): diarize._viterbi's best path over k states (1 <= k <= 127), written into
   path (n,) int8; score (n, k) float64, trans (k, k) float64 the negated penalties (trans[a, j]: from state a
   into j), scale (n,) float64. Each state's best predecessor is the first of equal ones, as there; the last
   state numpy's argmax of the final values. The same operations on the same doubles in the same order: the
   same path, bit for bit. */
static PyObject *
viterbi(PyObject *self, PyObject *args)
{
    PyObject *os, *ot, *oc, *oo;
    if (!PyArg_ParseTuple(args, "OOOO", &os, &ot, &oc, &oo))
        return NULL;
    Py_buffer bs, bt, bc, bo;
    if (get_buf(ot, &bt, "d", 0, 1, "trans") < 0)
        return NULL;
    Py_ssize_t k = 1;
    while (k * k < N_ITEMS(bt))
        k++;
    if (k * k != N_ITEMS(bt) || k > 127) {
        PyErr_SetString(PyExc_ValueError, "viterbi: trans must be (k, k) with k <= 127");
        PyBuffer_Release(&bt);
        return NULL;
    }
    if (get_buf(os, &bs, "d", 0, 0, "score") < 0) {
        PyBuffer_Release(&bt);
        return NULL;
    }
    Py_ssize_t n = N_ITEMS(bs) / k;
    if (N_ITEMS(bs) % k != 0) {
        PyErr_SetString(PyExc_ValueError, "viterbi: score must have k columns");
        PyBuffer_Release(&bt);
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(oc, &bc, "d", 0, n, "scale") < 0) {
        PyBuffer_Release(&bt);
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(oo, &bo, "b", 1, n, "path") < 0) {
        PyBuffer_Release(&bt);
        PyBuffer_Release(&bs);
        PyBuffer_Release(&bc);
        return NULL;
    }
    signed char *back = malloc((size_t)n * (size_t)k + 1);
    double *v = malloc(2 * (size_t)k * sizeof(double));
    if (back == NULL || v == NULL) {
        free(back);
        free(v);
        PyBuffer_Release(&bt);
        PyBuffer_Release(&bs);
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bo);
        return PyErr_NoMemory();
    }
    const double *score = bs.buf, *trans = bt.buf, *scale = bc.buf;
    signed char *path = bo.buf;
    double *nv = v + k;
    for (Py_ssize_t j = 0; j < k; j++)
        v[j] = 0.0;
    for (Py_ssize_t t = 0; t < n; t++) {
        const double s = scale[t];
        const double *row = score + t * k;
        for (Py_ssize_t j = 0; j < k; j++) {
            double best = v[0] + trans[j] * s;
            Py_ssize_t arg = 0;
            for (Py_ssize_t a = 1; a < k; a++) {
                const double c = v[a] + trans[a * k + j] * s;
                if (c > best) {
                    best = c;
                    arg = a;
                }
            }
            back[t * k + j] = (signed char)arg;
            nv[j] = best + row[j];
        }
        memcpy(v, nv, (size_t)k * sizeof(double));
    }
    Py_ssize_t state = argmax(v, k);
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        path[i] = (signed char)state;
        state = back[i * k + state];
    }
    free(back);
    free(v);
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* -- module ------------------------------------------------------------------------------------------------- */

/* -- the voice encoder's LSTM step (engine/embedding.py) ------------------------------------------------------ */

/* lstm_cell(act, c, k): VoiceEncoder._forward's step after its tanh, on the first k columns. act (1024, n) float32:
   tanh of the gates i, f, o (of x / 2) and g, rows in that order; c (256, n) float32 the cell state. Each sigmoid
   is 0.5 + 0.5 * tanh(x / 2) (o written back into act's rows 512..767, for h = o * tanh(c) after numpy's tanh),
   c = f * c + i * g: the numpy code's float32 operations in its order, each rounded (no fused multiply-adds:
   setup.py), so the same bits. numpy's tanh stays in numpy (libm's tanhf is not its tanh to the bit): the
   step where lstm_step (below) does not run. */
static PyObject *
lstm_cell(PyObject *self, PyObject *args)
{
    PyObject *oa, *oc;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOn", &oa, &oc, &k))
        return NULL;
    Py_buffer ba, bc;
    if (get_buf(oc, &bc, "f", 1, 0, "c") < 0)
        return NULL;
    const Py_ssize_t n = N_ITEMS(bc) / 256;
    if (get_buf(oa, &ba, "f", 1, 4 * 256 * n, "act") < 0) {
        PyBuffer_Release(&bc);
        return NULL;
    }
    if (N_ITEMS(bc) != 256 * n || k < 0 || k > n) {
        PyErr_Format(PyExc_ValueError, "lstm_cell: c of %zd items (256 rows), k=%zd", N_ITEMS(bc), k);
        PyBuffer_Release(&ba);
        PyBuffer_Release(&bc);
        return NULL;
    }
    float *act = ba.buf, *cell = bc.buf;
    for (Py_ssize_t r = 0; r < 256; r++) {
        const float *ti = act + r * n, *tf = act + (256 + r) * n, *tg = act + (768 + r) * n;
        float *to = act + (512 + r) * n, *c = cell + r * n;
        for (Py_ssize_t j = 0; j < k; j++) {
            const float i = ti[j] * 0.5f + 0.5f, f = tf[j] * 0.5f + 0.5f;
            const float fc = f * c[j], ig = i * tg[j];
            c[j] = fc + ig;
            to[j] = to[j] * 0.5f + 0.5f;
        }
    }
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bc);
    Py_RETURN_NONE;
}

/* -- numpy's float32 tanh, the voice encoder's whole LSTM step (engine/embedding.py) ---------------------------- */

/* numpy 2.x's float32 tanh where its SIMD loop runs (numpy/_core/src/umath/loops_hyperbolic.dispatch.cpp.src,
   simd_tanh_f32, converted from Intel SVML; x86-64 with AVX2 and FMA or AVX-512), written out for AVX-512
   (tanh16) and for AVX2 and FMA (tanh8): |x| falls in one of 32 intervals by its exponent and first two
   mantissa bits, y = |x| - b of that interval, a degree-6 polynomial in y by Horner's rule in fused
   multiply-adds, the sign of x put back; 1 from |x| = 2**127 on and for infinities, numpy's NaN (0x7fc00000)
   for a NaN. Each lane depends on its own value alone, so vector widths do not change it. Built for x86-64
   with GCC or Clang and offered (tanh_f32, lstm_step) in the widest of the two the CPU has (offer_tanh); where
   numpy has no such loop (a CPU without fused multiply-adds: numpy calls libm's tanhf, other bits) this is not
   numpy's tanh, and engine/embedding.py checks it against np.tanh before using it. */
#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_TANH_SIMD 1
#include <immintrin.h>

static const union {
    uint32_t bits[8][32];
    float f[8][32];
} TANH_LUT = {{  /* rows b, c0 .. c6 (one a line); numpy's lut32x8 */
    {0x00000000, 0x3d700000, 0x3d900000, 0x3db00000, 0x3dd00000, 0x3df00000, 0x3e100000, 0x3e300000, 0x3e500000, 0x3e700000, 0x3e900000, 0x3eb00000, 0x3ed00000, 0x3ef00000, 0x3f100000, 0x3f300000, 0x3f500000, 0x3f700000, 0x3f900000, 0x3fb00000, 0x3fd00000, 0x3ff00000, 0x40100000, 0x40300000, 0x40500000, 0x40700000, 0x40900000, 0x40b00000, 0x40d00000, 0x40f00000, 0x41100000, 0x00000000},
    {0x00000000, 0x3d6fb9c9, 0x3d8fc35f, 0x3daf9169, 0x3dcf49ab, 0x3deee849, 0x3e0f0ee8, 0x3e2e4984, 0x3e4d2f8e, 0x3e6bb32e, 0x3e8c51cd, 0x3ea96163, 0x3ec543f1, 0x3edfd735, 0x3f028438, 0x3f18abf0, 0x3f2bc480, 0x3f3bec1c, 0x3f4f2e5b, 0x3f613c53, 0x3f6ce37d, 0x3f743c4f, 0x3f7a5feb, 0x3f7dea85, 0x3f7f3b3d, 0x3f7fb78c, 0x3f7fefd4, 0x3f7ffdd0, 0x3f7fffb4, 0x3f7ffff6, 0x3f7fffff, 0x3f800000},
    {0x3f800000, 0x3f7f1f84, 0x3f7ebd11, 0x3f7e1e5f, 0x3f7d609f, 0x3f7c842d, 0x3f7b00e5, 0x3f789580, 0x3f75b8ad, 0x3f726fd9, 0x3f6cc59b, 0x3f63fb92, 0x3f59ff97, 0x3f4f11d7, 0x3f3d7573, 0x3f24f360, 0x3f0cbfe7, 0x3eec1a69, 0x3eb0a801, 0x3e6753a2, 0x3e132f1a, 0x3db7e7d3, 0x3d320845, 0x3c84d3d4, 0x3bc477b7, 0x3b10d3da, 0x3a01601e, 0x388c1a3b, 0x3717b0da, 0x35a43bce, 0x338306c6, 0x00000000},
    {0xb0343c7b, 0xbd6ee69d, 0xbd8f0da7, 0xbdae477d, 0xbdcd2a1f, 0xbdeba80d, 0xbe0c443b, 0xbe293cf3, 0xbe44f282, 0xbe5f3651, 0xbe81c7c0, 0xbe96d7ca, 0xbea7fb8e, 0xbeb50e9e, 0xbec12efe, 0xbec4be92, 0xbebce070, 0xbead510e, 0xbe8ef7d6, 0xbe4b8704, 0xbe083237, 0xbdaf7449, 0xbd2e1ec4, 0xbc83bf06, 0xbbc3e0b5, 0xbb10aadc, 0xba0157db, 0xb88c18f2, 0xb717b096, 0xb5a43bae, 0xb383012c, 0x00000000},
    {0xbeaaaaa5, 0xbeab0612, 0xbea7f01f, 0xbea4e120, 0xbea387b7, 0xbea15962, 0xbe9d57f7, 0xbe976b5a, 0xbe90230d, 0xbe880dff, 0xbe7479b3, 0xbe4c3d88, 0xbe212482, 0xbdeb8cba, 0xbd5e78ad, 0x3c6b5e6e, 0x3d839143, 0x3dc21ee1, 0x3de347af, 0x3dcbec96, 0x3d99ef2d, 0x3d542ea1, 0x3cdde701, 0x3c2cca67, 0x3b81cb27, 0x3ac073a1, 0x39ac3032, 0x383a94d9, 0x36ca081d, 0x355abd4c, 0x332b3cb6, 0x00000000},
    {0xb76dd6b9, 0xbe1c276d, 0x3c1dcf2f, 0x3dc1a78d, 0x3d96f985, 0x3da2b61b, 0x3dc13397, 0x3dd2f670, 0x3df48a0a, 0x3e06c5a8, 0x3e1a3aba, 0x3e27c405, 0x3e2e78d0, 0x3e2c3e44, 0x3e1d3097, 0x3df4a8f4, 0x3da38508, 0x3d31416a, 0x3b562657, 0xbcaeeac9, 0xbcce9419, 0xbcaaeac4, 0xbc49e7d0, 0xbba71ddd, 0xbb003b0e, 0xba3f9a05, 0xb92c08a7, 0xb7ba9232, 0xb64a0b0f, 0xb4dac169, 0xb2ab78ac, 0x00000000},
    {0x3e0910e9, 0x43761143, 0x4165ecdc, 0xc190f756, 0xc08c097d, 0xc02ba813, 0xbf7f6bda, 0x3f2b1dc0, 0x3ece105d, 0x3f426a94, 0xbadb0dc4, 0x3da43b17, 0xbd51ab88, 0xbcaea23d, 0xbd3b6d8d, 0xbd6caaad, 0xbd795bed, 0xbd5fddda, 0xbd038f3b, 0xbc1cad63, 0x3abb4766, 0x3b95f10b, 0x3b825873, 0x3afaea66, 0x3a49f878, 0x39996bf3, 0x388f3e6c, 0x371bb0e3, 0x35a8a5e6, 0x34369b17, 0x322487b0, 0x00000000},
    {0xbc0e2f66, 0x460bda12, 0x43d638ef, 0xc3e11c3e, 0xc2baa4e9, 0xc249da2d, 0xc1859b82, 0x40dd5b57, 0x40494640, 0x40c730a8, 0xbf0f160e, 0x3e30e76f, 0xbea81387, 0xbdb26a1c, 0xbd351e57, 0xbb4c01a0, 0x3c1d7bfb, 0x3c722cd1, 0x3c973f1c, 0x3c33a31b, 0x3b862ef4, 0x3a27b3d0, 0xba3b5907, 0xba0efc22, 0xb97f9f0f, 0xb8c8af50, 0xb7bdddfb, 0xb64f2950, 0xb4e085b1, 0xb3731dfa, 0xb15a1f04, 0x00000000},
}};

/* The algorithm once, for both widths (tanh16 in AVX-512, tanh8 in AVX2 + FMA): written with the width's
   operations W(...) and W_*, defined before each width's DEFINE_WIDTH below (the first set undefined before the
   second). W_LUTS(idx) does what a width needs before W_LUT(row, idx), row ``row`` of TANH_LUT at each lane's
   interval, is read. */
#define DEFINE_TANH(NAME, ATTR)                                                                                 \
    ATTR __attribute__((always_inline)) static inline W_F                                                     \
    NAME(W_F x)                                                                                                 \
    {                                                                                                           \
        const W_I u = W_BITS(x);                                                                                \
        const W_I expo = W_AND(u, W(set1_epi32)(0x7fe00000));     /* exponent, 2 mantissa bits */             \
        W_I shifted = W(sub_epi32)(expo, W(set1_epi32)(0x3d400000));  /* |x| = 0.046875: 0 */                 \
        shifted = W(min_epi32)(W(max_epi32)(shifted, W(set1_epi32)(0)), W(set1_epi32)(0x3e00000));            \
        const W_I idx = W(srli_epi32)(shifted, 21);                                 /* interval 0 .. 31 */     \
        W_LUTS(idx);                                                       /* b, c0 .. c6 at idx */    \
        const W_F y = W(sub_ps)(W_FLOAT(W_AND(u, W(set1_epi32)(0x7fffffff))), W_LUT(0, idx));   /* |x| - b */ \
        W_F r = W(fmadd_ps)(W_LUT(7, idx), y, W_LUT(6, idx));                                                 \
        for (int row = 5; row >= 1; row--)                                                                      \
            r = W(fmadd_ps)(r, y, W_LUT(row, idx));                                                             \
        r = W_IF_GT(expo, W(set1_epi32)(0x7f000000), W(set1_ps)(1.0f), r);  /* |x| >= 2**127, inf, NaN: 1 */   \
        const W_I sign = W_AND(u, W(set1_epi32)((int)0x80000000u));                                             \
        r = W_FLOAT(W_OR(W_BITS(r), sign));                                       /* tanh(-x) = -tanh(x) */    \
        return W_IF_NAN(x, W_FLOAT(W(set1_epi32)(0x7fc00000)), r);                                              \
    }

/* out = TANH of x, n values, LANES at a time */
#define DEFINE_TANH_RUN(NAME, TANH, LANES, ATTR)                                                                \
    ATTR static void                                                                                            \
    NAME(const float *x, float *out, Py_ssize_t n)                                                              \
    {                                                                                                           \
        for (Py_ssize_t j0 = 0; j0 < n; j0 += LANES) {                                                          \
            const W_MASK m = W_LANES(j0, n);                                                                    \
            W_STORE(out + j0, m, TANH(W_LOAD(m, x + j0)));                                                      \
        }                                                                                                       \
    }

/* sigmoid(x) = 0.5 + 0.5 * tanh(x / 2) from t = tanh(x / 2): t * 0.5 + 0.5, two roundings (no fused
   multiply-add: numpy's two passes) */
#define SIGMOID_OF_TANH(t) W(add_ps)(W(mul_ps)((t), W(set1_ps)(0.5f)), W(set1_ps)(0.5f))

/* a gate's value before its tanh: the input projection x, its bias b added, then the recurrent product g, two
   roundings in numpy's order ((x + b) + g: _forward adds the bias to the whole projection where this step does
   not run) */
#define STEP_INPUT(x, b, g) W(add_ps)(W(add_ps)((x), (b)), (g))

/* The step on rows r = 0 .. 255 of each gate, columns 0 .. k-1, LANES at a time (see lstm_step). */
#define DEFINE_STEP_ROWS(NAME, TANH, LANES, ATTR)                                                               \
    ATTR static void                                                                                            \
    NAME(const float *gin, Py_ssize_t m, const float *bias, const float *g, float *cell, float *hid,          \
         Py_ssize_t n, Py_ssize_t k, float *seq, Py_ssize_t ms)                                                 \
    {                                                                                                           \
        for (Py_ssize_t r = 0; r < 256; r++) {                                                                  \
            const float *xi = gin + r * m, *xf = gin + (256 + r) * m, *xo = gin + (512 + r) * m;                \
            const float *xg = gin + (768 + r) * m;                                                              \
            const W_F bi = W(set1_ps)(bias[r]), bf = W(set1_ps)(bias[256 + r]);                                 \
            const W_F bo = W(set1_ps)(bias[512 + r]), bg = W(set1_ps)(bias[768 + r]);                           \
            const float *gi = g + r * n, *gf = g + (256 + r) * n, *go = g + (512 + r) * n;                      \
            const float *gg = g + (768 + r) * n;                                                                \
            float *c = cell + r * n, *h = hid + r * n, *s = seq != NULL ? seq + r * ms : NULL;                  \
            for (Py_ssize_t j0 = 0; j0 < k; j0 += LANES) {                                                      \
                const W_MASK lanes = W_LANES(j0, k);                                                            \
                /* in an order that keeps few values live (16 vector registers in AVX2) */                    \
                const W_F i = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_LOAD(lanes, xi + j0), bi, W_LOAD(lanes, gi + j0)))); \
                const W_F ig = W(mul_ps)(i, TANH(STEP_INPUT(W_LOAD(lanes, xg + j0), bg, W_LOAD(lanes, gg + j0))));  \
                const W_F f = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_LOAD(lanes, xf + j0), bf, W_LOAD(lanes, gf + j0)))); \
                const W_F cj = W(add_ps)(W(mul_ps)(f, W_LOAD(lanes, c + j0)), ig);                              \
                const W_F o = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_LOAD(lanes, xo + j0), bo, W_LOAD(lanes, go + j0)))); \
                const W_F hj = W(mul_ps)(TANH(cj), o);                                                          \
                W_STORE(c + j0, lanes, cj);                                                                     \
                W_STORE(h + j0, lanes, hj);                                                                     \
                if (seq != NULL)                                                                                \
                    W_STORE(s + j0, lanes, hj);                                                                 \
            }                                                                                                   \
        }                                                                                                       \
    }

/* The same step, LANES rows of one column at a time, for few columns (k < STEP_ROWS_BELOW): vectors along a
   column are gathered and scattered, so a column of 256 rows takes 256 / LANES vectors, not 256 part-filled
   ones (one window: 4.5 us a step against 11.8 in AVX-512, 3.4 against 12.9 in AVX2, its stores one by one). */
#define STEP_ROWS_BELOW 4
#define DEFINE_STEP_COLS(NAME, TANH, LANES, ATTR)                                                               \
    ATTR static void                                                                                            \
    NAME(const float *gin, Py_ssize_t m, const float *bias, const float *g, float *cell, float *hid,          \
         Py_ssize_t n, Py_ssize_t k, float *seq, Py_ssize_t ms)                                                 \
    {                                                                                                           \
        const W_I in_rows = W(mullo_epi32)(W_LANE_INDEX, W(set1_epi32)((int)m));                               \
        const W_I out_rows = W(mullo_epi32)(W_LANE_INDEX, W(set1_epi32)((int)n));                              \
        const W_I seq_rows = W(mullo_epi32)(W_LANE_INDEX, W(set1_epi32)((int)ms));                             \
        (void)seq_rows;  /* AVX2's scatter takes the stride */                                                  \
        for (Py_ssize_t j = 0; j < k; j++) {                                                                    \
            for (Py_ssize_t r = 0; r < 256; r += LANES) {                                                       \
                const float *x0 = gin + r * m + j, *g0 = g + r * n + j;                                         \
                float *c = cell + r * n + j, *h = hid + r * n + j;                                              \
                const float *b0 = bias + r;                                                                     \
                const W_F i = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_GATHER(x0, in_rows), W(loadu_ps)(b0),          \
                                                              W_GATHER(g0, out_rows))));                        \
                const W_F ig = W(mul_ps)(i, TANH(STEP_INPUT(W_GATHER(x0 + 768 * m, in_rows), W(loadu_ps)(b0 + 768), \
                                                            W_GATHER(g0 + 768 * n, out_rows))));                \
                const W_F f = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_GATHER(x0 + 256 * m, in_rows), W(loadu_ps)(b0 + 256), \
                                                              W_GATHER(g0 + 256 * n, out_rows))));              \
                const W_F cj = W(add_ps)(W(mul_ps)(f, W_GATHER(c, out_rows)), ig);                              \
                const W_F o = SIGMOID_OF_TANH(TANH(STEP_INPUT(W_GATHER(x0 + 512 * m, in_rows), W(loadu_ps)(b0 + 512), \
                                                              W_GATHER(g0 + 512 * n, out_rows))));              \
                const W_F hj = W(mul_ps)(TANH(cj), o);                                                          \
                W_SCATTER(c, out_rows, cj, n);                                                                  \
                W_SCATTER(h, out_rows, hj, n);                                                                  \
                if (seq != NULL)                                                                                \
                    W_SCATTER(seq + r * ms + j, seq_rows, hj, ms);                                              \
            }                                                                                                   \
        }                                                                                                       \
    }

/* tanhN, tanh_runN (an array), lstm_stepN (the step: columns in rows, or rows gathered for few columns) */
#define DEFINE_WIDTH(N, ATTR)                                                                                   \
    DEFINE_TANH(tanh##N, ATTR)                                                                                  \
    DEFINE_TANH_RUN(tanh_run##N, tanh##N, N, ATTR)                                                              \
    DEFINE_STEP_ROWS(lstm_step_rows##N, tanh##N, N, ATTR)                                                       \
    DEFINE_STEP_COLS(lstm_step_cols##N, tanh##N, N, ATTR)                                                       \
    ATTR static void                                                                                            \
    lstm_step##N(const float *gin, Py_ssize_t m, const float *bias, const float *g, float *cell, float *hid,    \
                 Py_ssize_t n, Py_ssize_t k, float *seq, Py_ssize_t ms)                                         \
    {                                                                                                           \
        (k < STEP_ROWS_BELOW ? lstm_step_cols##N : lstm_step_rows##N)(gin, m, bias, g, cell, hid, n, k, seq, ms); \
    }

/* -- AVX-512: 16 lanes, the tables as two-register permutes (numpy's X86_V4 code) -- */
#define AVX512 __attribute__((target("avx512f")))
#define W(op) _mm512_##op
#define W_F __m512
#define W_I __m512i
#define W_MASK __mmask16
#define W_BITS(x) _mm512_castps_si512(x)
#define W_FLOAT(u) _mm512_castsi512_ps(u)
#define W_AND(a, b) _mm512_and_si512(a, b)
#define W_OR(a, b) _mm512_or_si512(a, b)
#define W_LUTS(idx)
#define W_LUT(row, idx) _mm512_permutex2var_ps(_mm512_loadu_ps(TANH_LUT.f[row]), idx,                           \
                                               _mm512_loadu_ps(TANH_LUT.f[row] + 16))
#define W_IF_GT(a, b, yes, no) _mm512_mask_blend_ps(_mm512_cmpgt_epi32_mask(a, b), no, yes)
#define W_IF_NAN(x, yes, no) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), no, yes)
#define W_LANES(j0, k) ((k) - (j0) >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << ((k) - (j0))) - 1u))
#define W_LOAD(m, p) _mm512_maskz_loadu_ps(m, p)
#define W_STORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define W_LANE_INDEX _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define W_GATHER(p, rows) _mm512_i32gather_ps(rows, p, 4)
#define W_SCATTER(p, rows, v, stride) _mm512_i32scatter_ps(p, rows, v, 4)

DEFINE_WIDTH(16, AVX512)

#undef W
#undef W_F
#undef W_I
#undef W_MASK
#undef W_BITS
#undef W_FLOAT
#undef W_AND
#undef W_OR
#undef W_LUTS
#undef W_LUT
#undef W_IF_GT
#undef W_IF_NAN
#undef W_LANES
#undef W_LOAD
#undef W_STORE
#undef W_LANE_INDEX
#undef W_GATHER
#undef W_SCATTER

/* -- AVX2 + FMA: 8 lanes, lanes masked by vectors -- */
#define AVX2_FMA __attribute__((target("avx2,fma")))

/* TANH_LUT by interval, one row of b, c0 .. c6 a line (filled from TANH_LUT at import: transpose_tanh_lut) */
static float TANH_BY_INTERVAL[32][8] __attribute__((aligned(32)));

static void
transpose_tanh_lut(void)
{
    for (int i = 0; i < 32; i++)
        for (int row = 0; row < 8; row++)
            TANH_BY_INTERVAL[i][row] = TANH_LUT.f[row][i];
}

/* lut[row] = row ``row`` of TANH_LUT at each lane's interval idx (0 .. 31): each lane's line of
   TANH_BY_INTERVAL loaded and the 8 x 8 block transposed (8 gathers ran a tanh 9x slower; a permute in each
   quarter of a row, picked by blends, 3.5x slower than AVX-512). */
AVX2_FMA static inline void
luts8(__m256i idx, __m256 lut[8])
{
    const __m128i lo = _mm256_castsi256_si128(idx), hi = _mm256_extracti128_si256(idx, 1);
    __m256 v[8], t[8], s[8];
#define LINE(l, half) v[l] = _mm256_load_ps(TANH_BY_INTERVAL[_mm_extract_epi32(half, (l) & 3)])
    LINE(0, lo); LINE(1, lo); LINE(2, lo); LINE(3, lo); LINE(4, hi); LINE(5, hi); LINE(6, hi); LINE(7, hi);
#undef LINE
    for (int l = 0; l < 8; l += 2) {
        t[l] = _mm256_unpacklo_ps(v[l], v[l + 1]);
        t[l + 1] = _mm256_unpackhi_ps(v[l], v[l + 1]);
    }
    for (int l = 0; l < 8; l += 4) {
        s[l] = _mm256_shuffle_ps(t[l], t[l + 2], 0x44);
        s[l + 1] = _mm256_shuffle_ps(t[l], t[l + 2], 0xee);
        s[l + 2] = _mm256_shuffle_ps(t[l + 1], t[l + 3], 0x44);
        s[l + 3] = _mm256_shuffle_ps(t[l + 1], t[l + 3], 0xee);
    }
    for (int row = 0; row < 4; row++) {
        lut[row] = _mm256_permute2f128_ps(s[row], s[row + 4], 0x20);
        lut[row + 4] = _mm256_permute2f128_ps(s[row], s[row + 4], 0x31);
    }
}

/* p's lanes where m is set, 0 elsewhere; v into the lanes of p where m is set: plain loads and stores where all 8
   are (masked ones are microcoded on some CPUs: AMD's ran the step 1.3x slower with them on every vector) */
AVX2_FMA static inline __m256
load8(__m256i m, const float *p)
{
    return _mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xff ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

AVX2_FMA static inline void
store8(float *p, __m256i m, __m256 v)
{
    if (_mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xff)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, m, v);
}

/* p[0], p[stride], ... p[7 * stride] = v's lanes (AVX2 has no scatter) */
AVX2_FMA static inline void
scatter8(float *p, __m256 v, Py_ssize_t stride)
{
    float lane[8];
    _mm256_storeu_ps(lane, v);
    for (int l = 0; l < 8; l++)
        p[l * stride] = lane[l];
}

#define W(op) _mm256_##op
#define W_F __m256
#define W_I __m256i
#define W_MASK __m256i
#define W_BITS(x) _mm256_castps_si256(x)
#define W_FLOAT(u) _mm256_castsi256_ps(u)
#define W_AND(a, b) _mm256_and_si256(a, b)
#define W_OR(a, b) _mm256_or_si256(a, b)
#define W_LUTS(idx) __m256 lut[8]; luts8(idx, lut)
#define W_LUT(row, idx) lut[row]
#define W_IF_GT(a, b, yes, no) _mm256_blendv_ps(no, yes, _mm256_castsi256_ps(_mm256_cmpgt_epi32(a, b)))
#define W_IF_NAN(x, yes, no) _mm256_blendv_ps(no, yes, _mm256_cmp_ps(x, x, _CMP_UNORD_Q))
#define W_LANES(j0, k) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((k) - (j0) >= 8 ? 8 : (k) - (j0))),          \
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define W_LOAD(m, p) load8(m, p)
#define W_STORE(p, m, v) store8(p, m, v)
#define W_LANE_INDEX _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define W_GATHER(p, rows) _mm256_i32gather_ps(p, rows, 4)
#define W_SCATTER(p, rows, v, stride) scatter8(p, v, stride)

DEFINE_WIDTH(8, AVX2_FMA)  /* (its W macros stay defined: nothing below uses them) */


typedef void (*tanh_run_fn)(const float *x, float *out, Py_ssize_t n);
typedef void (*step_fn)(const float *gin, Py_ssize_t m, const float *bias, const float *g, float *cell, float *hid,
                        Py_ssize_t n, Py_ssize_t k, float *seq, Py_ssize_t ms);

/* tanh_f32(x, out) with run: out = numpy's float32 tanh of x where its SIMD loop runs, x and out float32 of one
   length: engine/embedding.py's check against np.tanh, and the tests'. */
static PyObject *
tanh_with(PyObject *args, tanh_run_fn run)
{
    PyObject *ox, *oo;
    if (!PyArg_ParseTuple(args, "OO", &ox, &oo))
        return NULL;
    Py_buffer bx, bo;
    if (get_buf(ox, &bx, "f", 0, 0, "x") < 0)
        return NULL;
    if (get_buf(oo, &bo, "f", 1, N_ITEMS(bx), "out") < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    run(bx.buf, bo.buf, N_ITEMS(bx));
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* lstm_step(gates_in, col0, bias, g, c, h, k[, seq, seq0]): VoiceEncoder._forward's step after its recurrent product, on the
   first k of n columns. gates_in (1024, m) float32, the step's input projection in its columns col0 .. col0 + k -
   1, without its bias; bias (1024,) float32; g (1024, n) the recurrent product, rows i, f, o (of x / 2) and g; c
   and h (256, n) the cell and hidden states, updated. Per value, numpy's operations in its order
   (embedding._step_numpy on the projection with its bias added), each rounded: the bias added to the input, the
   input to g, numpy's tanh (tanh16, tanh8), the sigmoids 0.5 + 0.5 * tanh(x / 2), c = f * c + i * g, h = tanh(c)
   * o. The same bits where that tanh is np.tanh. gates_in and g are left as they were. seq (256, ms) float32, if
   given: h's k new columns written again into its columns seq0 .. seq0 + k - 1 (the layer's output sequence, where
   the next layer reads them: one pass less than copying h). */
static PyObject *
step_with(PyObject *args, step_fn step)
{
    PyObject *oi, *ob, *og, *oc, *oh, *os = Py_None;
    Py_ssize_t col0, k, seq0 = 0;
    if (!PyArg_ParseTuple(args, "OnOOOOn|On", &oi, &col0, &ob, &og, &oc, &oh, &k, &os, &seq0))
        return NULL;
    Py_buffer bi, bb, bg, bc, bh, bs = {0};
    if (os != Py_None && get_buf(os, &bs, "f", 1, 0, "seq") < 0)
        return NULL;
    const Py_ssize_t ms = bs.buf != NULL ? N_ITEMS(bs) / 256 : 0;
    if (get_buf(oc, &bc, "f", 1, 0, "c") < 0) {
        PyBuffer_Release(&bs);
        return NULL;
    }
    const Py_ssize_t n = N_ITEMS(bc) / 256;
    if (get_buf(oh, &bh, "f", 1, 256 * n, "h") < 0) {
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(og, &bg, "f", 0, 1024 * n, "g") < 0) {
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(ob, &bb, "f", 0, 1024, "bias") < 0) {
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bg);
        PyBuffer_Release(&bs);
        return NULL;
    }
    if (get_buf(oi, &bi, "f", 0, 0, "gates_in") < 0) {
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bh);
        PyBuffer_Release(&bg);
        PyBuffer_Release(&bb);
        PyBuffer_Release(&bs);
        return NULL;
    }
    const Py_ssize_t m = N_ITEMS(bi) / 1024;
    if (N_ITEMS(bc) != 256 * n || N_ITEMS(bh) != 256 * n || N_ITEMS(bg) != 1024 * n || N_ITEMS(bi) != 1024 * m
        || N_ITEMS(bb) != 1024 || k < 0 || k > n || col0 < 0 || col0 + k > m
        || (bs.buf != NULL && (N_ITEMS(bs) != 256 * ms || seq0 < 0 || seq0 + k > ms))) {
        PyErr_Format(PyExc_ValueError, "lstm_step: gates_in of %zd items (1024 rows), col0=%zd, bias of %zd "
                     "(1024), g of %zd, c of %zd, h of %zd (256 rows), k=%zd, seq of %zd (256 rows), seq0=%zd",
                     N_ITEMS(bi), col0, N_ITEMS(bb), N_ITEMS(bg), N_ITEMS(bc), N_ITEMS(bh), k,
                     bs.buf != NULL ? N_ITEMS(bs) : 0, seq0);
    } else {
        step((const float *)bi.buf + col0, m, bb.buf, bg.buf, bc.buf, bh.buf, n, k,
             bs.buf != NULL ? (float *)bs.buf + seq0 : NULL, ms);
    }
    PyBuffer_Release(&bi);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&bg);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bs);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* the module's functions of each width: tanh_f32 and lstm_step (AVX-512), their _avx2 (AVX2 and FMA) */
#define WIDTH_FUNCTION(NAME, WITH, FN)                                                                         \
    static PyObject *NAME(PyObject *self, PyObject *args) { return WITH(args, FN); }
WIDTH_FUNCTION(tanh_f32, tanh_with, tanh_run16)
WIDTH_FUNCTION(tanh_f32_avx2, tanh_with, tanh_run8)
WIDTH_FUNCTION(lstm_step, step_with, lstm_step16)
WIDTH_FUNCTION(lstm_step_avx2, step_with, lstm_step8)

/* -- the voice encoder's products with its (1024, 256) weights (engine/embedding.py) -------------------------- */

/* out[:, :k] = W @ x[:, :k] for W (1024, 256) float32, x (256, n), out (1024, m): each value a chain of fused
   multiply-adds over the 256 terms in order from +0, as OpenBLAS's sgemm kernels sum a product of this shape on
   AVX-512 CPUs (not its small-matrix kernel's tails of up to 8 columns: w256_product_small below;
   engine/embedding.py checks each against np.matmul for each shape before using it). W is packed once (pack_w256):
   tiles of W256_TILE rows, per term the tile's weights side by side, so that a tile's broadcasts read one line
   after another; x's columns are copied into 16-lane rows padded with zeros. A tile of 8 rows by 1-3 vectors of 16
   columns keeps 8-24 sums in registers over the 256 terms (56-58 GFMA/s on the 16-column multiples here, against
   OpenBLAS's 44-52, which packs the 1 MB of weights again on each call). */
#define W256_TILE 8
#define W256_TERMS 256
#define W256_ROWS 1024

/* A tile of 8 rows by V vectors of 16 columns from column c0, and with H = 1 one of 8 columns more (256-bit FMAs,
   half the work of a 16-column vector on CPUs that split those in two, for a last 1-8 columns; the same chain of
   fused multiply-adds per value). */
#define DEFINE_W256_TILE(V, H)                                                                                 \
    W256_TARGET static inline void                                                                              \
    w256_tile##V##_##H(const float *wp, const float *xp, Py_ssize_t kp, float *out, Py_ssize_t m, Py_ssize_t c0, \
                       Py_ssize_t k)                                                                            \
    {                                                                                                           \
        __m512 acc[W256_TILE][V > 0 ? V : 1];                                                                   \
        __m256 hacc[W256_TILE];                                                                                 \
        for (int i = 0; i < W256_TILE; i++) {                                                                   \
            for (int v = 0; v < V; v++)                                                                         \
                acc[i][v] = _mm512_setzero_ps();                                                                \
            hacc[i] = _mm256_setzero_ps();                                                                      \
        }                                                                                                       \
        const float *xq = xp + c0;                                                                              \
        for (int q = 0; q < W256_TERMS; q++, xq += kp, wp += W256_TILE) {                                       \
            __m512 xv[V > 0 ? V : 1];                                                                           \
            for (int v = 0; v < V; v++)                                                                         \
                xv[v] = _mm512_loadu_ps(xq + 16 * v);                                                           \
            const __m256 xh = H ? _mm256_loadu_ps(xq + 16 * V) : _mm256_setzero_ps();                          \
            for (int i = 0; i < W256_TILE; i++) {                                                               \
                const __m512 wv = _mm512_set1_ps(wp[i]);                                                        \
                for (int v = 0; v < V; v++)                                                                     \
                    acc[i][v] = _mm512_fmadd_ps(wv, xv[v], acc[i][v]);                                          \
                if (H)                                                                                          \
                    hacc[i] = _mm256_fmadd_ps(_mm256_set1_ps(wp[i]), xh, hacc[i]);                              \
            }                                                                                                   \
        }                                                                                                       \
        for (int v = 0; v < V; v++) {                                                                           \
            const Py_ssize_t left = k - c0 - 16 * v;                                                            \
            for (int i = 0; i < W256_TILE; i++) {                                                               \
                if (left >= 16)                                                                                 \
                    _mm512_storeu_ps(out + i * m + c0 + 16 * v, acc[i][v]);                                     \
                else                                                                                            \
                    _mm512_mask_storeu_ps(out + i * m + c0 + 16 * v, (__mmask16)((1u << left) - 1u), acc[i][v]); \
            }                                                                                                   \
        }                                                                                                       \
        if (H) {                                                                                                \
            const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k - c0 - 16 * V)),                \
                                                     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));                \
            for (int i = 0; i < W256_TILE; i++)                                                                 \
                _mm256_maskstore_ps(out + i * m + c0 + 16 * V, lanes, hacc[i]);                                 \
        }                                                                                                       \
    }
#define W256_TARGET __attribute__((target("avx512f,fma")))
#pragma GCC push_options
#pragma GCC optimize("unroll-loops")
DEFINE_W256_TILE(3, 0)
DEFINE_W256_TILE(2, 0)
DEFINE_W256_TILE(1, 0)
DEFINE_W256_TILE(2, 1)
DEFINE_W256_TILE(1, 1)
DEFINE_W256_TILE(0, 1)
#pragma GCC pop_options

/* the product over xp (W256_TERMS, kp), kp a multiple of 16: 48 columns a pass, then the last 32 or 16, the
   last 1-8 columns of k in a 256-bit vector of their own (kp then one 16 more than those passes cover) */
W256_TARGET static void
w256_run(const float *wp, const float *xp, Py_ssize_t kp, float *out, Py_ssize_t m, Py_ssize_t k)
{
    const Py_ssize_t tile = (Py_ssize_t)W256_TILE * W256_TERMS;
    const int half = k % 16 >= 1 && k % 16 <= 8 && k + 16 > kp;
    const Py_ssize_t whole = half ? kp - 16 : kp;
    Py_ssize_t c0 = 0;
    for (; whole - c0 >= 48; c0 += 48)
        for (Py_ssize_t t = 0; t < W256_ROWS / W256_TILE; t++)
            w256_tile3_0(wp + t * tile, xp, kp, out + t * W256_TILE * m, m, c0, k);
    for (Py_ssize_t t = 0; t < W256_ROWS / W256_TILE; t++) {
        const float *wt = wp + t * tile;
        float *ot = out + t * W256_TILE * m;
        switch ((whole - c0) / 16 * 2 + half) {
        case 4: w256_tile2_0(wt, xp, kp, ot, m, c0, k); break;
        case 5: w256_tile2_1(wt, xp, kp, ot, m, c0, k); break;
        case 2: w256_tile1_0(wt, xp, kp, ot, m, c0, k); break;
        case 3: w256_tile1_1(wt, xp, kp, ot, m, c0, k); break;
        case 1: w256_tile0_1(wt, xp, kp, ot, m, c0, k); break;
        default: return;
        }
    }
}

/* pack_w256(w, out): w (1024, 256) float32 in w256_product's layout, out of as many items. */
static PyObject *
pack_w256(PyObject *self, PyObject *args)
{
    PyObject *ow, *oo;
    if (!PyArg_ParseTuple(args, "OO", &ow, &oo))
        return NULL;
    Py_buffer bw, bo;
    const Py_ssize_t size = (Py_ssize_t)W256_ROWS * W256_TERMS;
    if (get_buf(ow, &bw, "f", 0, size, "w") < 0)
        return NULL;
    if (get_buf(oo, &bo, "f", 1, size, "out") < 0) {
        PyBuffer_Release(&bw);
        return NULL;
    }
    const float *w = bw.buf;
    float *out = bo.buf;
    for (Py_ssize_t t = 0; t < W256_ROWS / W256_TILE; t++)
        for (Py_ssize_t q = 0; q < W256_TERMS; q++)
            for (Py_ssize_t i = 0; i < W256_TILE; i++)
                *out++ = w[(t * W256_TILE + i) * W256_TERMS + q];
    PyBuffer_Release(&bw);
    PyBuffer_Release(&bo);
    Py_RETURN_NONE;
}

/* The product over few columns as OpenBLAS's small-matrix sgemm kernel for AVX-512 sums it (the kernel its
   interface takes for products of at most ~2**20 multiply-adds, as a step's recurrent product over 2-32 windows
   in engine/embedding.py's row blocks): columns in 16s, and a last 9-15, in fused multiply-adds in order as
   above, but a last 1-8 columns each as dot products: per value 16 partial sums, term q in lane q % 16 in fused
   multiply-adds in order from +0, then the 16 added in a tree of neighbours: lanes 2i and 2i + 1, then those
   sums' neighbours, and so on (as that kernel's four-column reduction and the _mm512_reduce_add_ps of the
   build numpy carries both sum; not GCC's _mm512_reduce_add_ps, which adds lanes 8 apart first). Addition of two
   floats is commutative to the bit, so only the tree's shape matters. engine/embedding.py checks this against
   np.matmul for each shape before using it. */
AVX512 static inline __m128
w256_quad_sum(__m512 a, __m512 b, __m512 c, __m512 d)
{
    const __m512 ab0 = _mm512_unpacklo_ps(a, b), ab1 = _mm512_unpackhi_ps(a, b);  /* [a0 b0 a1 b1] [a2 b2 a3 b3] */
    const __m512 cd0 = _mm512_unpacklo_ps(c, d), cd1 = _mm512_unpackhi_ps(c, d);  /* per group of 4 lanes */
    const __m512 s01 = _mm512_add_ps(_mm512_shuffle_ps(ab0, cd0, _MM_SHUFFLE(1, 0, 1, 0)),   /* lane 0 + 1 */
                                     _mm512_shuffle_ps(ab0, cd0, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 s23 = _mm512_add_ps(_mm512_shuffle_ps(ab1, cd1, _MM_SHUFFLE(1, 0, 1, 0)),   /* lane 2 + 3 */
                                     _mm512_shuffle_ps(ab1, cd1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 g = _mm512_add_ps(s01, s23);                                      /* each group's sum */
    return _mm_add_ps(_mm_add_ps(_mm512_extractf32x4_ps(g, 0), _mm512_extractf32x4_ps(g, 1)),
                      _mm_add_ps(_mm512_extractf32x4_ps(g, 2), _mm512_extractf32x4_ps(g, 3)));
}

/* V (1, 2 or 4) tail columns from column c, xt their terms as rows (V x 256), w the weights unpacked (1024 x
   256); 4 rows of w at a time, the 16 lanes of 4 columns' sums reduced together. */
#define DEFINE_W256_DOTS(V)                                                                                    \
    AVX512 static inline void                                                                                   \
    w256_dots##V(const float *w, const float *xt, float *out, Py_ssize_t m, Py_ssize_t c)                      \
    {                                                                                                           \
        for (Py_ssize_t r = 0; r < W256_ROWS; r += 4) {                                                         \
            __m512 acc[4][V];                                                                                   \
            for (int i = 0; i < 4; i++)                                                                         \
                for (int v = 0; v < V; v++)                                                                     \
                    acc[i][v] = _mm512_setzero_ps();                                                            \
            for (int q = 0; q < W256_TERMS; q += 16) {                                                          \
                __m512 xv[V];                                                                                   \
                for (int v = 0; v < V; v++)                                                                     \
                    xv[v] = _mm512_loadu_ps(xt + v * W256_TERMS + q);                                           \
                for (int i = 0; i < 4; i++) {                                                                   \
                    const __m512 wv = _mm512_loadu_ps(w + (r + i) * W256_TERMS + q);                            \
                    for (int v = 0; v < V; v++)                                                                 \
                        acc[i][v] = _mm512_fmadd_ps(wv, xv[v], acc[i][v]);                                      \
                }                                                                                               \
            }                                                                                                   \
            for (int i = 0; i < 4; i++) {                                                                       \
                float sums[4];                                                                                  \
                _mm_storeu_ps(sums, w256_quad_sum(acc[i][0], acc[i][1 % V], acc[i][2 % V], acc[i][3 % V]));     \
                memcpy(out + (r + i) * m + c, sums, sizeof(float) * V);                                         \
            }                                                                                                   \
        }                                                                                                       \
    }
#pragma GCC push_options
#pragma GCC optimize("unroll-loops")
DEFINE_W256_DOTS(4)
DEFINE_W256_DOTS(2)
DEFINE_W256_DOTS(1)
#pragma GCC pop_options

/* the last k - c0 (1-8) columns of x (256, n) as dot products (see above), xt working space of 8 x 256 */
AVX512 static void
w256_dot_tail(const float *w, const float *x, Py_ssize_t n, Py_ssize_t c0, Py_ssize_t k, float *xt, float *out,
              Py_ssize_t m)
{
    for (Py_ssize_t q = 0; q < W256_TERMS; q++)
        for (Py_ssize_t v = c0; v < k; v++)
            xt[(v - c0) * W256_TERMS + q] = x[q * n + v];
    Py_ssize_t c = c0;
    for (; c + 4 <= k; c += 4)
        w256_dots4(w, xt + (c - c0) * W256_TERMS, out, m, c);
    for (; c + 2 <= k; c += 2)
        w256_dots2(w, xt + (c - c0) * W256_TERMS, out, m, c);
    for (; c < k; c++)
        w256_dots1(w, xt + (c - c0) * W256_TERMS, out, m, c);
}

/* w256_product(wp, x, k, out, xpad) and w256_product_small(wp, w, x, k, out, xpad): out[:, :k] = W @ x[:, :k]
   (see above); wp from pack_w256, w (small: the weights unpacked, 1024 x 256), x (256, n) and out (1024, m)
   float32, k <= n, m; xpad, the caller's working space for x's columns in 16-lane rows (at least 256 x k rounded
   up to 16 items; one buffer for a whole pass of the encoder, where one was allocated and freed on every call: no
   failure path in the step, no time measured either way). The other columns of out are left as they were. */
static PyObject *
w256_with(PyObject *ow, PyObject *ou, PyObject *ox, Py_ssize_t k, PyObject *oo, PyObject *op)
{
    Py_buffer bw, bu = {0}, bx, bo, bp;
    const Py_ssize_t wsize = (Py_ssize_t)W256_ROWS * W256_TERMS;
    if (get_buf(ow, &bw, "f", 0, wsize, "wp") < 0)
        return NULL;
    int held = ou == NULL || get_buf(ou, &bu, "f", 0, wsize, "w") == 0;   /* w, x, out and xpad, or none */
    if (held && get_buf(ox, &bx, "f", 0, 0, "x") < 0) {
        PyBuffer_Release(&bu);
        held = 0;
    }
    if (held && get_buf(oo, &bo, "f", 1, 0, "out") < 0) {
        PyBuffer_Release(&bu);
        PyBuffer_Release(&bx);
        held = 0;
    }
    if (held && get_buf(op, &bp, "f", 1, 0, "xpad") < 0) {
        PyBuffer_Release(&bu);
        PyBuffer_Release(&bx);
        PyBuffer_Release(&bo);
        held = 0;
    }
    if (!held) {
        PyBuffer_Release(&bw);
        return NULL;
    }
    const Py_ssize_t n = N_ITEMS(bx) / W256_TERMS, m = N_ITEMS(bo) / W256_ROWS, kp = (k + 15) / 16 * 16;
    if (N_ITEMS(bx) != n * W256_TERMS || N_ITEMS(bo) != m * W256_ROWS || k < 1 || k > n || k > m
        || N_ITEMS(bp) < W256_TERMS * kp)
        PyErr_Format(PyExc_ValueError, "w256_product: x of %zd items (256 rows), out of %zd (1024 rows), k=%zd, "
                     "xpad of %zd (needs %zd)", N_ITEMS(bx), N_ITEMS(bo), k, N_ITEMS(bp), W256_TERMS * kp);
    else {
        const float *x = bx.buf;
        float *xp = bp.buf;
        /* the small kernel's dot products: a last 1-8 columns (their rows in xpad past the 16-lane columns) */
        const Py_ssize_t whole = ou != NULL && k % 16 >= 1 && k % 16 <= 8 ? k / 16 * 16 : kp;
        for (Py_ssize_t q = 0; q < W256_TERMS && whole > 0; q++) {
            memcpy(xp + q * whole, x + q * n, sizeof(float) * (k < whole ? k : whole));
            if (k < whole)
                memset(xp + q * whole + k, 0, sizeof(float) * (whole - k));
        }
        if (whole > 0)
            w256_run(bw.buf, xp, whole, bo.buf, m, k < whole ? k : whole);
        if (whole < k)
            w256_dot_tail(bu.buf, x, n, whole, k, xp + W256_TERMS * whole, bo.buf, m);
    }
    PyBuffer_Release(&bw);
    PyBuffer_Release(&bu);
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bp);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
w256_product(PyObject *self, PyObject *args)
{
    PyObject *ow, *ox, *oo, *op;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOnOO", &ow, &ox, &k, &oo, &op))
        return NULL;
    return w256_with(ow, NULL, ox, k, oo, op);
}

static PyObject *
w256_product_small(PyObject *self, PyObject *args)
{
    PyObject *ow, *ou, *ox, *oo, *op;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOnOO", &ow, &ou, &ox, &k, &oo, &op))
        return NULL;
    return w256_with(ow, ou, ox, k, oo, op);
}
#endif  /* HAVE_TANH_SIMD */

static PyMethodDef methods[] = {
    {"square_cumsum", square_cumsum, METH_VARARGS,
     "square_cumsum(x, y, c2): y = x as float64, c2 = [0, cumsum(y * y)] (shapes (n,), (n + 1,))."},
    {"glottal_pulses", glottal_pulses, METH_VARARGS,
     "glottal_pulses(y, c2, period_frames, hop_length, sinc, out) -> count: voice_quality.glottal_pulses, "
     "the pulses (sorted, fractional samples) in out[:count]."},
    {"jitter_shimmer", jitter_shimmer, METH_VARARGS,
     "jitter_shimmer(y, pulses, sample_rate, period_floor_s, period_ceiling_s, max_period_factor, "
     "max_amplitude_factor) -> the 8 sums of voice_quality.jitter_shimmer_sums, in its order."},
    {"hnr_frames", hnr_frames, METH_VARARGS,
     "hnr_frames(y, c2, periods, hop_length, window, step, out, weight) -> (n_frames, sum_db): "
     "voice_quality.hnr_frames_db into out and weight, and its weighted sums over finite values."},
    {"cpp_prepare", cpp_prepare, METH_VARARGS, "The windowed frames of voice_quality.cpp_frames_db (see source)."},
    {"log_power", log_power, METH_VARARGS, "log_power(spec, out): out = log(|spec|^2 + 1e-30)."},
    {"cpp_finish", cpp_finish, METH_VARARGS, "CPPS from the DCT-I of log spectra (see source)."},
    {"band_power", band_power, METH_VARARGS,
     "band_power(spec, lo, edges, eps, out): bin powers and band sums of crosstalk spectra (see source)."},
    {"held_peak", held_peak, METH_VARARGS,
     "held_peak(L, hold, n0, decay, out): crosstalk's decaying peak hold (see source)."},
    {"held_peak_wide", held_peak_wide, METH_VARARGS,
     "held_peak_wide(L, hold, n0, decay, out): held_peak, each inner bin widened to its neighbours (see source)."},
    {"fir_decimate", fir_decimate, METH_VARARGS,
     "fir_decimate(seg, fir, q, out): the pitch tracker's anti-alias filter at every q-th sample (see source)."},
    {"viterbi2", viterbi2, METH_VARARGS, "viterbi2(half, pens, path): diarize._viterbi2's path (see source)."},
    {"viterbi", viterbi, METH_VARARGS, "viterbi(score, trans, scale, path): diarize._viterbi's path (see source)."},
    {"lstm_cell", lstm_cell, METH_VARARGS,
     "lstm_cell(act, c, k): the voice encoder's LSTM step between its tanh calls (see source)."},
#ifdef HAVE_TANH_SIMD
    {"tanh_f32", tanh_f32, METH_VARARGS,
     "tanh_f32(x, out): out = numpy's float32 tanh of x where numpy's SIMD loop runs (see source)."},
    {"lstm_step", lstm_step, METH_VARARGS,
     "lstm_step(gates_in, col0, bias, g, c, h, k): the voice encoder's LSTM step after its recurrent product "
     "(see source)."},
    {"tanh_f32_avx2", tanh_f32_avx2, METH_VARARGS, "tanh_f32 in 8 lanes, AVX2 and FMA (see source)."},
    {"lstm_step_avx2", lstm_step_avx2, METH_VARARGS, "lstm_step in 8 lanes, AVX2 and FMA (see source)."},
    {"pack_w256", pack_w256, METH_VARARGS, "pack_w256(w, out): a (1024, 256) weight matrix packed for w256_product."},
    {"w256_product", w256_product, METH_VARARGS,
     "w256_product(wp, x, k, out, xpad): out[:, :k] = W @ x[:, :k] in fused multiply-adds in order (see source)."},
    {"w256_product_small", w256_product_small, METH_VARARGS,
     "w256_product_small(wp, w, x, k, out, xpad): w256_product, a last 1-8 columns summed as OpenBLAS's "
     "small-matrix kernel sums them (see source)."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "prosody._kernels",
    "Compiled loops of prosody's voice-quality analysis (optional; engine/voice_quality.py has the numpy "
    "reference).", -1, methods,
};

/* Raised whenever a function's arguments or results change, so that engine/ckernels.py turns down a module
   built from older source (an editable install not rebuilt) instead of calling it wrongly. A function added
   is looked up by name where it is used (viterbi, viterbi2: engine/diarize.py; lstm_cell: engine/embedding.py),
   so a module built before it still serves the others. */
#define KERNELS_API 4

#ifdef HAVE_TANH_SIMD
/* numpy's tanh runs in the widest of AVX-512 and AVX2 + FMA the CPU has: tanh_f32 and lstm_step are that
   width's (the 8-lane ones stay under their own names for the tests, where the CPU has AVX2 and FMA); without
   either the module offers none of them; pack_w256 and the w256 products only with AVX-512. -1 with an exception
   set on failure. */
static int
offer_tanh(PyObject *m)
{
    static const char *names[] = {"tanh_f32", "lstm_step", "tanh_f32_avx2", "lstm_step_avx2"};
    static const char *wide[] = {"pack_w256", "w256_product", "w256_product_small"};  /* AVX-512 alone */
    transpose_tanh_lut();
    if (__builtin_cpu_supports("avx512f"))
        return 0;
    for (int i = 0; i < 3; i++)
        if (PyObject_DelAttrString(m, wide[i]) < 0)
            return -1;
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        for (int i = 0; i < 4; i++)
            if (PyObject_DelAttrString(m, names[i]) < 0)
                return -1;
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        PyObject *f = PyObject_GetAttrString(m, names[i + 2]);
        if (f == NULL || PyObject_SetAttrString(m, names[i], f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
        Py_DECREF(f);
    }
    return 0;
}
#endif

PyMODINIT_FUNC
PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "API", KERNELS_API) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#ifdef HAVE_TANH_SIMD
    if (m != NULL && offer_tanh(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}
