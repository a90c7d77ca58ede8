/*
 * SHA-256 of up to 16 independent streams at once, one stream per 32-bit lane of an
 * AVX-512 register ("multi-buffer" hashing).
 *
 * Why: the package format needs the SHA-256 of every photo, and on one core OpenSSL's
 * single stream (SHA-NI) runs at about 1.2-2 GB/s, the largest cost of writing a package.
 * Sixteen photos hashed side by side reach about 3.5 GB/s on the same core. Python keeps
 * the streams' bookkeeping (genchi/transfer/multihash.py); this module only compresses
 * whole 64-byte blocks, with the GIL released.
 *
 * The algorithm is FIPS 180-4 as written; correctness is checked against hashlib by
 * tests/transfer/test_multihash.py. On a CPU or build without AVX-512, available() is
 * False and Genchi hashes with hashlib instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define LANES 16
#define STATE_BYTES (8 * LANES * 4) /* word-major: word i of lane l at [i * LANES + l] */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_KERNEL 1

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static const uint8_t ZERO_BLOCK[64];

#define AVX512 __attribute__((target("avx512f,avx512bw")))
#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define ADD(x, y) _mm512_add_epi32((x), (y))
/* ternary logic truth tables: a ^ b ^ c, a ? b : c, majority(a, b, c) */
#define XOR3(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)
#define CHOOSE(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xCA)
#define MAJORITY(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xE8)

/* Transpose: r[l] holds the 16 words of lane l's block; afterwards r[i] holds word i of
 * every lane. Three rounds of unpacking, then two of 128-bit shuffles. */
AVX512 static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

/* Compress `blocks` blocks of every lane in `active`; lane l reads from p[l] onwards (a
 * lane outside `active` reads the zero block again and again and keeps its state). */
AVX512 static void compress16(uint32_t *state, const uint8_t *p[LANES], const size_t step[LANES],
                              size_t blocks, __mmask16 active) {
    const __m512i bswap = _mm512_broadcast_i32x4(
        _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3));
    __m512i s[8];
    for (int i = 0; i < 8; i++) s[i] = _mm512_loadu_si512((const void *)(state + i * LANES));
    for (size_t blk = 0; blk < blocks; blk++) {
        __m512i w[16];
        for (int l = 0; l < LANES; l++)
            w[l] = _mm512_loadu_si512((const void *)(p[l] + blk * step[l]));
        transpose16(w);
        for (int i = 0; i < 16; i++) w[i] = _mm512_shuffle_epi8(w[i], bswap);
        __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        for (int i = 0; i < 64; i++) {
            __m512i wi;
            if (i < 16) {
                wi = w[i];
            } else {
                __m512i w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
                __m512i sigma0 = XOR3(ROR(w15, 7), ROR(w15, 18), _mm512_srli_epi32(w15, 3));
                __m512i sigma1 = XOR3(ROR(w2, 17), ROR(w2, 19), _mm512_srli_epi32(w2, 10));
                wi = ADD(ADD(w[i & 15], sigma0), ADD(sigma1, w[(i - 7) & 15]));
                w[i & 15] = wi;
            }
            __m512i t1 = ADD(ADD(h, XOR3(ROR(e, 6), ROR(e, 11), ROR(e, 25))),
                             ADD(CHOOSE(e, f, g), ADD(wi, _mm512_set1_epi32((int)K256[i]))));
            __m512i t2 = ADD(XOR3(ROR(a, 2), ROR(a, 13), ROR(a, 22)), MAJORITY(a, b, c));
            h = g;
            g = f;
            f = e;
            e = ADD(d, t1);
            d = c;
            c = b;
            b = a;
            a = ADD(t1, t2);
        }
        s[0] = _mm512_mask_add_epi32(s[0], active, s[0], a);
        s[1] = _mm512_mask_add_epi32(s[1], active, s[1], b);
        s[2] = _mm512_mask_add_epi32(s[2], active, s[2], c);
        s[3] = _mm512_mask_add_epi32(s[3], active, s[3], d);
        s[4] = _mm512_mask_add_epi32(s[4], active, s[4], e);
        s[5] = _mm512_mask_add_epi32(s[5], active, s[5], f);
        s[6] = _mm512_mask_add_epi32(s[6], active, s[6], g);
        s[7] = _mm512_mask_add_epi32(s[7], active, s[7], h);
    }
    for (int i = 0; i < 8; i++) _mm512_storeu_si512((void *)(state + i * LANES), s[i]);
}

static int cpu_has_avx512(void) {
    /* libgcc also checks that the OS saves the 512-bit registers (XCR0). */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#else
#define HAVE_KERNEL 0
static int cpu_has_avx512(void) { return 0; }
#endif

static int usable = -1;

static int kernel_usable(void) {
    if (usable < 0) usable = HAVE_KERNEL && cpu_has_avx512();
    return usable;
}

static PyObject *available(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(kernel_usable());
}

PyDoc_STRVAR(update_doc,
             "update(state, pieces)\n\n"
             "Compress every lane's piece into its state. `state` is a writable buffer of 512 "
             "bytes (word i of lane l at index i * 16 + l, native-endian uint32); `pieces` is "
             "a sequence of 16 bytes-like objects or None, each a whole number of 64-byte "
             "blocks. Lanes may differ in length; a lane with None or b'' is left as it is.");

static PyObject *update(PyObject *self, PyObject *args) {
    Py_buffer state;
    PyObject *pieces;
    if (!PyArg_ParseTuple(args, "w*O", &state, &pieces)) return NULL;
    Py_buffer views[LANES];
    int held[LANES] = {0};
    PyObject *seq = NULL;
    PyObject *result = NULL;
    if (!kernel_usable()) {
        PyErr_SetString(PyExc_RuntimeError, "multi-buffer SHA-256 is not available here");
        goto done;
    }
    if (state.len != STATE_BYTES) {
        PyErr_SetString(PyExc_ValueError, "state must be 512 bytes");
        goto done;
    }
    seq = PySequence_Fast(pieces, "pieces must be a sequence");
    if (seq == NULL) goto done;
    if (PySequence_Fast_GET_SIZE(seq) != LANES) {
        PyErr_SetString(PyExc_ValueError, "pieces must have 16 items");
        goto done;
    }
    size_t remaining[LANES];
    for (int l = 0; l < LANES; l++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, l);
        remaining[l] = 0;
        if (item == Py_None) continue;
        if (PyObject_GetBuffer(item, &views[l], PyBUF_SIMPLE) < 0) goto done;
        held[l] = 1;
        if (views[l].len % 64) {
            PyErr_SetString(PyExc_ValueError, "each piece must be whole 64-byte blocks");
            goto done;
        }
        remaining[l] = (size_t)views[l].len / 64;
    }
#if HAVE_KERNEL
    Py_BEGIN_ALLOW_THREADS;
    const uint8_t *p[LANES];
    size_t step[LANES];
    for (int l = 0; l < LANES; l++) p[l] = held[l] ? (const uint8_t *)views[l].buf : ZERO_BLOCK;
    for (;;) {
        /* Run every lane that still has blocks for as long as the shortest of them. */
        size_t n = 0;
        __mmask16 active = 0;
        for (int l = 0; l < LANES; l++) {
            if (remaining[l] && (n == 0 || remaining[l] < n)) n = remaining[l];
        }
        if (n == 0) break;
        for (int l = 0; l < LANES; l++) {
            if (remaining[l]) {
                active |= (__mmask16)(1u << l);
                step[l] = 64;
            } else {
                p[l] = ZERO_BLOCK;
                step[l] = 0;
            }
        }
        compress16((uint32_t *)state.buf, p, step, n, active);
        for (int l = 0; l < LANES; l++) {
            if (remaining[l]) {
                p[l] += n * 64;
                remaining[l] -= n;
            }
        }
    }
    Py_END_ALLOW_THREADS;
#endif
    result = Py_NewRef(Py_None);
done:
    for (int l = 0; l < LANES; l++)
        if (held[l]) PyBuffer_Release(&views[l]);
    Py_XDECREF(seq);
    PyBuffer_Release(&state);
    return result;
}

static PyMethodDef methods[] = {
    {"available", available, METH_NOARGS, "True when this CPU can run the 16-lane kernel."},
    {"update", update, METH_VARARGS, update_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sha256mb", "SHA-256 of 16 streams at once (AVX-512).", -1, methods,
};

PyMODINIT_FUNC PyInit__sha256mb(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "LANES", LANES) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
