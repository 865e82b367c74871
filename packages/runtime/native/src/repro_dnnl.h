/*
 * oneDNN-backed convolutions for repro_native.c (optional; see repro_dnnl.c).
 */
#ifndef REPRO_DNNL_H
#define REPRO_DNNL_H
#include <stddef.h>

/* dims: N, H, W, Cin, kh, kw, Cout, sh, sw, dh, dw, pt, pl, Ho, Wo (TensorFlow's conv info) */
typedef struct {
  int n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, pt, pl, ho, wo;
} ConvDims;

enum { CONV_FORWARD, CONV_FILTER, CONV_INPUT };

/* Loads oneDNN from the first path that opens; 1 on success, else 0 with the reason in err. */
int rd_dnnl_load(const char *const *paths, int npaths, char *err, size_t errlen);
/* "libdnnl.so.2 2.6.3 (avx2)" once loaded, "" before */
const char *rd_dnnl_describe(void);
int rd_dnnl_loaded(void);
/* turns the oneDNN path on or off (loaded only); off: every convolution takes the im2col path */
void rd_dnnl_enable(int on);
int rd_dnnl_enabled(void);
void rd_dnnl_set_threads(int n);

/*
 * Runs one convolution op on caller-owned NHWC / HWIO buffers: forward (a = x, b = filter, optional
 * bias [Cout] and ReLU fused), filter gradient (a = x, b = dy) or input gradient (a = dy, b = filter).
 * Returns 1 when oneDNN ran it, 0 when it is off or declined this shape (the caller falls back).
 */
int rd_dnnl_conv(int op, const ConvDims *d, const float *a, const float *b, const float *bias, int relu, float *out);

/* Batch normalisation over C channels of an NHWC tensor viewed as n × s × C (s: spatial size):
 * training forward (batch mean, biased variance written to mean/var), inference forward (the given
 * mean/var; scale/shift optional) and the training backward (dx, dscale, dshift from x, dy and the
 * forward's mean/var). Statistics are oneDNN's float32 ones. Returns 1 when oneDNN ran it, 0 when it
 * is off or has only its reference implementation for this shape (the caller falls back). */
enum { BN_TRAIN, BN_INFER, BN_BACKWARD };
typedef struct {
  const float *x, *dy, *scale, *shift;
  float *mean, *var; /* outputs of BN_TRAIN, inputs otherwise */
  float *out;        /* y, or dx for BN_BACKWARD */
  float *dscale, *dshift;
} BnArgs;
int rd_dnnl_bnorm(int kind, int n, int s, int c, float eps, const BnArgs *a);

/* the implementations of the cached primitives, one line each: "<op> <dims>: <impl>" */
size_t rd_dnnl_primitives(char *buf, size_t len);

#endif
