/*
 * Native kernels for the WebAssembly backend (optional; see ../README.md).
 *
 * Every function works in place on Float32Array views of the wasm heap that the caller takes right
 * before the call (a view detaches when the heap grows), so nothing is copied in or out. Matrix
 * products go to OpenBLAS's cblas_sgemm, loaded at run time with dlopen: building this file needs only
 * a C compiler and Node's headers; where OpenBLAS is missing, init() says so and the pure wasm kernels
 * stay in use.
 *
 * Layouts are TensorFlow's: activations NHWC, filters [kh, kw, Cin, Cout]. A convolution is one
 * product per chunk of images: im2col rows [(n·Ho + i)·Wo + j] × columns [(a·kw + b)·Cin + c].
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "repro_dnnl.h"
#include <omp.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112, Upper = 121 };
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*ssyrk_fn)(int order, int uplo, int trans, int n, int k, float alpha, const float *a, int lda, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static sgemm_fn g_sgemm = NULL;
static ssyrk_fn g_ssyrk = NULL;
static set_threads_fn g_set_threads = NULL;
static get_threads_fn g_get_threads = NULL;
static get_config_fn g_get_config = NULL;
static char g_lib[512] = "";


/* The native threads (setThreads; at load, OpenBLAS's own count, i.e. every core or OPENBLAS_NUM_THREADS).
 * OpenBLAS itself runs single-threaded: large products are split over OpenMP threads here (sgemm_threads),
 * the pool oneDNN's primitives and the C loops use, so that two thread pools never compete for the same
 * cores. OpenBLAS's own workers busy-wait after each call and took a core from the next oneDNN
 * primitive (measured in packages/runtime/README.md, "one thread pool"). */
static int g_conv_threads = 1;

/* The scratch buffers, oneDNN's primitive cache and the thread settings are process-wide: convolutions
 * from several JavaScript threads (worker_threads, each with its own wasm backend) take turns. */
static pthread_mutex_t g_conv_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------- N-API helpers ---------- */

#define CHECK(call)                                                                                        \
  do {                                                                                                     \
    if ((call) != napi_ok) {                                                                               \
      napi_throw_error(env, NULL, "repro_native: N-API call failed: " #call);                              \
      return NULL;                                                                                         \
    }                                                                                                      \
  } while (0)

static int get_f32(napi_env env, napi_value v, float **data, size_t *len, const char *what) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_float32_array) {
    char msg[128];
    snprintf(msg, sizeof msg, "repro_native: %s must be a Float32Array", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *data = (float *)ptr;
  *len = length;
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native: expected an integer argument");
    return 0;
  }
  return 1;
}

static int get_dims(napi_env env, napi_value v, int32_t *dims, size_t want) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_int32_array || length != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "repro_native: dims must be an Int32Array of length %zu", want);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  memcpy(dims, ptr, want * sizeof(int32_t));
  return 1;
}

static int need(napi_env env, size_t have, size_t want, const char *what) {
  if (have < want) {
    char msg[160];
    snprintf(msg, sizeof msg, "repro_native: %s holds %zu floats, the operation needs %zu", what, have, want);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

/* the call's arguments, exactly `want` of them */
static int take_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *fn) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "repro_native.%s: expected %zu arguments", fn, want);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static int ready(napi_env env) {
  if (!g_sgemm) {
    napi_throw_error(env, NULL, "repro_native: OpenBLAS is not loaded (call init first)");
    return 0;
  }
  return 1;
}

/* ---------- init / threads ---------- */

/* init(paths: string[]) -> string: the library that loaded, or throws listing what was tried */
static napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (g_sgemm) {
    napi_value s;
    CHECK(napi_create_string_utf8(env, g_lib, NAPI_AUTO_LENGTH, &s));
    return s;
  }
  uint32_t n = 0;
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native.init: expected an array of library paths");
    return NULL;
  }
  char tried[2048] = "";
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    char path[512];
    size_t len;
    CHECK(napi_get_element(env, argv[0], i, &el));
    if (napi_get_value_string_utf8(env, el, path, sizeof path, &len) != napi_ok) continue;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      strncat(tried, path, sizeof tried - strlen(tried) - 1);
      strncat(tried, " (not found); ", sizeof tried - strlen(tried) - 1);
      continue;
    }
    sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
    get_config_fn cfg = (get_config_fn)dlsym(h, "openblas_get_config");
    if (!f || !cfg) {
      /* only OpenBLAS: the reference BLAS is slower than the wasm kernels */
      strncat(tried, path, sizeof tried - strlen(tried) - 1);
      strncat(tried, " (not OpenBLAS); ", sizeof tried - strlen(tried) - 1);
      dlclose(h);
      continue;
    }
    g_sgemm = f;
    g_ssyrk = (ssyrk_fn)dlsym(h, "cblas_ssyrk");
    g_get_config = cfg;
    g_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    g_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
    snprintf(g_lib, sizeof g_lib, "%s", path);
    g_conv_threads = g_get_threads ? g_get_threads() : 1;
    if (g_set_threads) g_set_threads(1);
    napi_value s;
    CHECK(napi_create_string_utf8(env, g_lib, NAPI_AUTO_LENGTH, &s));
    return s;
  }
  size_t len = strlen(tried);
  if (len >= 2) tried[len - 2] = '\0'; /* the last "; " */
  char msg[2200];
  snprintf(msg, sizeof msg, "repro_native.init: no OpenBLAS found; tried %s", tried);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* config() -> { library, threads, config } */
static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, v;
  CHECK(napi_create_object(env, &o));
  CHECK(napi_create_string_utf8(env, g_lib, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, o, "library", v));
  CHECK(napi_create_int32(env, g_conv_threads, &v));
  CHECK(napi_set_named_property(env, o, "threads", v));
  CHECK(napi_create_string_utf8(env, g_get_config ? g_get_config() : "", NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, o, "config", v));
  CHECK(napi_create_string_utf8(env, rd_dnnl_describe(), NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, o, "dnnl", v));
  CHECK(napi_get_boolean(env, rd_dnnl_enabled(), &v));
  CHECK(napi_set_named_property(env, o, "dnnlEnabled", v));
  return o;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!ready(env) || argc < 1 || !get_i32(env, argv[0], &n)) return NULL;
  if (n < 1) {
    napi_throw_range_error(env, NULL, "repro_native.setThreads: n must be >= 1");
    return NULL;
  }
  g_conv_threads = n;
  rd_dnnl_set_threads(n);
  return NULL;
}

/* dnnlInit(paths: string[]) -> string: oneDNN's library, version and ISA; throws with what was tried */
static napi_value DnnlInit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t n = 0;
  if (!ready(env) || !take_args(env, info, 1, argv, "dnnlInit")) return NULL;
  if (napi_get_array_length(env, argv[0], &n) != napi_ok || n > 16) {
    napi_throw_type_error(env, NULL, "repro_native.dnnlInit: expected an array of at most 16 library paths");
    return NULL;
  }
  char store[16][512];
  const char *paths[16];
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    size_t len;
    CHECK(napi_get_element(env, argv[0], i, &el));
    if (napi_get_value_string_utf8(env, el, store[i], sizeof store[i], &len) != napi_ok) store[i][0] = '\0';
    paths[i] = store[i];
  }
  char err[1200];
  pthread_mutex_lock(&g_conv_lock);
  const int ok = rd_dnnl_load(paths, (int)n, err, sizeof err);
  if (ok) rd_dnnl_set_threads(g_conv_threads);
  pthread_mutex_unlock(&g_conv_lock);
  if (!ok) {
    napi_throw_error(env, NULL, err);
    return NULL;
  }
  napi_value s;
  CHECK(napi_create_string_utf8(env, rd_dnnl_describe(), NAPI_AUTO_LENGTH, &s));
  return s;
}

/* dnnlEnable(on: boolean): oneDNN convolutions on (when loaded) or off (im2col + sgemm) */
static napi_value DnnlEnable(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool on;
  if (!take_args(env, info, 1, argv, "dnnlEnable")) return NULL;
  if (napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native.dnnlEnable: expected a boolean");
    return NULL;
  }
  pthread_mutex_lock(&g_conv_lock);
  rd_dnnl_enable(on);
  pthread_mutex_unlock(&g_conv_lock);
  return NULL;
}

/* dnnlPrimitives() -> string: one line per cached convolution primitive with oneDNN's implementation */
static napi_value DnnlPrimitives(napi_env env, napi_callback_info info) {
  (void)info;
  static char buf[96 * 160];
  pthread_mutex_lock(&g_conv_lock);
  rd_dnnl_primitives(buf, sizeof buf);
  pthread_mutex_unlock(&g_conv_lock);
  napi_value s;
  CHECK(napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &s));
  return s;
}

/* ---------- sgemm ---------- */

/* below this many multiply-adds one thread is as fast (an OpenMP fork costs a few µs) */
#define SGEMM_PARALLEL_MIN_FLOPS ((double)(1 << 21))

/* C = alpha·op(A)·op(B) + beta·C, row-major, on g_conv_threads: C split into blocks of rows (or of
 * columns, when it is wider than tall), one single-threaded OpenBLAS call per OpenMP thread. Each
 * element is the same K-ordered sum as in one call. */
static void sgemm_threads(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
                          int ldc) {
  const int by_rows = m >= n;
  const int len = by_rows ? m : n;
  int nt = g_conv_threads < len / 16 ? g_conv_threads : len / 16; /* blocks of at least 16 */
  if (nt < 2 || (double)m * n * k < SGEMM_PARALLEL_MIN_FLOPS) {
    g_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), tn = omp_get_num_threads();
    /* block edges on multiples of 16 (whole register tiles) */
    const int i0 = t == 0 ? 0 : (int)((int64_t)len * t / tn) & ~15, i1 = t == tn - 1 ? len : (int)((int64_t)len * (t + 1) / tn) & ~15;
    if (i1 > i0) {
      if (by_rows)
        g_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, i1 - i0, n, k, alpha, ta ? a + i0 : a + (size_t)i0 * lda, lda, b, ldb, beta,
                c + (size_t)i0 * ldc, ldc);
      else
        g_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, i1 - i0, k, alpha, a, lda, tb ? b + (size_t)i0 * ldb : b + i0, ldb, beta,
                c + i0, ldc);
    }
  }
}

/* sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha·op(A)·op(B) + beta·C, row-major */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!ready(env) || !take_args(env, info, 13, argv, "sgemm")) return NULL;
  bool ta, tb;
  int32_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
  float *a, *b, *c;
  size_t la, lb, lc;
  CHECK(napi_get_value_bool(env, argv[0], &ta));
  CHECK(napi_get_value_bool(env, argv[1], &tb));
  if (!get_i32(env, argv[2], &m) || !get_i32(env, argv[3], &n) || !get_i32(env, argv[4], &k)) return NULL;
  CHECK(napi_get_value_double(env, argv[5], &alpha));
  if (!get_f32(env, argv[6], &a, &la, "A") || !get_i32(env, argv[7], &lda)) return NULL;
  if (!get_f32(env, argv[8], &b, &lb, "B") || !get_i32(env, argv[9], &ldb)) return NULL;
  CHECK(napi_get_value_double(env, argv[10], &beta));
  if (!get_f32(env, argv[11], &c, &lc, "C") || !get_i32(env, argv[12], &ldc)) return NULL;
  if (m <= 0 || n <= 0) return NULL;
  size_t rows_a = ta ? (size_t)k : (size_t)m, rows_b = tb ? (size_t)n : (size_t)k;
  if (k > 0 && (!need(env, la, (rows_a - 1) * lda + (ta ? m : k), "A") || !need(env, lb, (rows_b - 1) * ldb + (tb ? k : n), "B"))) return NULL;
  if (!need(env, lc, ((size_t)m - 1) * ldc + n, "C")) return NULL;
  if (k <= 0) {
    for (int32_t i = 0; i < m; i++)
      for (int32_t j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0.0f : (float)beta * c[(size_t)i * ldc + j];
    return NULL;
  }
  sgemm_threads(ta, tb, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
  return NULL;
}

/* gram(trans, N, K, A, lda, C): C = A·Aᵀ (A is N×K) or, with trans, Aᵀ·A (A is K×N); symmetric, both
 * triangles written. ssyrk computes one triangle: half the products of sgemm. */
static napi_value Gram(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!ready(env) || !take_args(env, info, 6, argv, "gram")) return NULL;
  bool trans;
  int32_t n, k, lda;
  float *a, *c;
  size_t la, lc;
  CHECK(napi_get_value_bool(env, argv[0], &trans));
  if (!get_i32(env, argv[1], &n) || !get_i32(env, argv[2], &k) || !get_f32(env, argv[3], &a, &la, "A") || !get_i32(env, argv[4], &lda) ||
      !get_f32(env, argv[5], &c, &lc, "C"))
    return NULL;
  if (n <= 0) return NULL;
  if (!need(env, lc, (size_t)n * n, "C")) return NULL;
  if (k <= 0) {
    memset(c, 0, (size_t)n * n * sizeof(float));
    return NULL;
  }
  if (!need(env, la, trans ? ((size_t)k - 1) * lda + n : ((size_t)n - 1) * lda + k, "A")) return NULL;
  if (g_ssyrk) {
    /* ssyrk on OpenBLAS's own threads, for this call only (statistics, not training steps; its
     * triangle does not split into equal sgemm blocks) */
    if (g_set_threads && g_conv_threads > 1) g_set_threads(g_conv_threads);
    g_ssyrk(RowMajor, Upper, trans ? Trans : NoTrans, n, k, 1.0f, a, lda, 0.0f, c, n);
    if (g_set_threads && g_conv_threads > 1) g_set_threads(1);
    for (int32_t i = 1; i < n; i++)
      for (int32_t j = 0; j < i; j++) c[(size_t)i * n + j] = c[(size_t)j * n + i];
  } else {
    sgemm_threads(trans, !trans, n, n, k, 1.0f, a, lda, a, lda, 0.0f, c, n);
  }
  return NULL;
}

/* ---------- convolution (NHWC) ---------- */

/* dims: N, H, W, Cin, kh, kw, Cout, sh, sw, dh, dw, pt, pl, Ho, Wo (ConvDims, repro_dnnl.h) */

static int conv_dims(napi_env env, napi_value v, ConvDims *d) {
  int32_t a[15];
  if (!get_dims(env, v, a, 15)) return 0;
  *d = (ConvDims){a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]};
  for (int i = 0; i < 15; i++) {
    if (a[i] < 0 || (i < 11 && i != 0 && a[i] == 0) || a[i] > (1 << 24)) {
      napi_throw_range_error(env, NULL, "repro_native: invalid convolution dims");
      return 0;
    }
  }
  return 1;
}

/* a 1×1, stride-1, unpadded convolution is a plain product on x itself */
static int is_pointwise(const ConvDims *d) {
  return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->pt == 0 && d->pl == 0 && d->ho == d->h && d->wo == d->w;
}

/* im2col rows per chunk: a chunk small enough to stay in cache between im2col and the product */
static const size_t g_chunk_floats = (size_t)1 << 20; /* 4 MiB: chunk sizes from 128 KiB to 16 MiB were within ±10% */

static int chunk_rows(const ConvDims *d) {
  const size_t K = (size_t)d->kh * d->kw * d->cin;
  size_t rows = g_chunk_floats / (K ? K : 1);
  if (rows < 64) rows = 64;
  const size_t M = (size_t)d->n * d->ho * d->wo;
  if (rows > M) rows = M;
  return (int)rows;
}

/* im2col rows [r0, r0 + nr) of the whole batch (row r = (n·Ho + i)·Wo + j) */
static void im2col(const ConvDims *d, const float *x, size_t r0, int nr, float *col) {
  const int K = d->kh * d->kw * d->cin;
  const size_t P = (size_t)d->ho * d->wo;
  for (int rr = 0; rr < nr; rr++) {
    const size_t r = r0 + rr;
    const int n = (int)(r / P), i = (int)(r % P) / d->wo, j = (int)(r % P) % d->wo;
    const float *xn = x + (size_t)n * d->h * d->w * d->cin;
    float *row = col + (size_t)rr * K;
    for (int a = 0; a < d->kh; a++) {
      const int y = i * d->sh + a * d->dh - d->pt;
      for (int b = 0; b < d->kw; b++) {
        const int xx = j * d->sw + b * d->dw - d->pl;
        float *dst = row + (a * d->kw + b) * d->cin;
        if (y < 0 || y >= d->h || xx < 0 || xx >= d->w) memset(dst, 0, sizeof(float) * d->cin);
        else memcpy(dst, xn + ((size_t)y * d->w + xx) * d->cin, sizeof(float) * d->cin);
      }
    }
  }
}

static void col2im_add(const ConvDims *d, const float *col, size_t r0, int nr, float *dx) {
  const int K = d->kh * d->kw * d->cin;
  const size_t P = (size_t)d->ho * d->wo;
  for (int rr = 0; rr < nr; rr++) {
    const size_t r = r0 + rr;
    const int n = (int)(r / P), i = (int)(r % P) / d->wo, j = (int)(r % P) % d->wo;
    float *dxn = dx + (size_t)n * d->h * d->w * d->cin;
    const float *row = col + (size_t)rr * K;
    for (int a = 0; a < d->kh; a++) {
      const int y = i * d->sh + a * d->dh - d->pt;
      if (y < 0 || y >= d->h) continue;
      for (int b = 0; b < d->kw; b++) {
        const int xx = j * d->sw + b * d->dw - d->pl;
        if (xx < 0 || xx >= d->w) continue;
        const float *src = row + (a * d->kw + b) * d->cin;
        float *dst = dxn + ((size_t)y * d->w + xx) * d->cin;
        for (int c = 0; c < d->cin; c++) dst[c] += src[c];
      }
    }
  }
}

/*
 * The three convolution products over a range of im2col rows [r0, r1). Two halves of the batch run on
 * two threads, each with single-threaded OpenBLAS and its own scratch: on the thin products of
 * small-channel layers (K = 144, Cout = 16) OpenBLAS's own two threads gained nothing, while splitting
 * the rows also puts the im2col/col2im copies on both cores.
 */

typedef struct {
  int op;
  const ConvDims *d;
  const float *a; /* forward / filter: x;  input: dy */
  const float *b; /* forward / input: filter;  filter: dy */
  float *out;     /* y, dw (this part's), dx */
  size_t r0, r1;
  int slot;       /* scratch buffer */
  int failed;
} ConvPart;

static float *g_part_scratch[2] = {NULL, NULL};
static size_t g_part_scratch_len[2] = {0, 0};

static float *part_scratch(int slot, size_t n) {
  if (n > g_part_scratch_len[slot]) {
    free(g_part_scratch[slot]);
    g_part_scratch[slot] = (float *)malloc(n * sizeof(float));
    g_part_scratch_len[slot] = g_part_scratch[slot] ? n : 0;
  }
  return g_part_scratch[slot];
}

static void conv_part(ConvPart *p) {
  const ConvDims *d = p->d;
  const size_t K = (size_t)d->kh * d->kw * d->cin;
  const size_t rows = p->r1 - p->r0;
  if (rows == 0) {
    if (p->op == CONV_FILTER) memset(p->out, 0, K * d->cout * sizeof(float));
    return;
  }
  if (is_pointwise(d)) {
    if (p->op == CONV_FORWARD)
      g_sgemm(RowMajor, NoTrans, NoTrans, (int)rows, d->cout, (int)K, 1.0f, p->a + p->r0 * K, (int)K, p->b, d->cout, 0.0f, p->out + p->r0 * d->cout, d->cout);
    else if (p->op == CONV_FILTER)
      g_sgemm(RowMajor, Trans, NoTrans, (int)K, d->cout, (int)rows, 1.0f, p->a + p->r0 * K, (int)K, p->b + p->r0 * d->cout, d->cout, 0.0f, p->out, d->cout);
    else
      g_sgemm(RowMajor, NoTrans, Trans, (int)rows, (int)K, d->cout, 1.0f, p->a + p->r0 * d->cout, d->cout, p->b, d->cout, 0.0f, p->out + p->r0 * K, (int)K);
    return;
  }
  const int cr = chunk_rows(d);
  float *col = part_scratch(p->slot, (size_t)cr * K);
  if (!col) {
    p->failed = 1;
    return;
  }
  for (size_t r = p->r0; r < p->r1; r += cr) {
    const int nr = (int)(p->r1 - r < (size_t)cr ? p->r1 - r : (size_t)cr);
    if (p->op == CONV_FORWARD) {
      im2col(d, p->a, r, nr, col);
      g_sgemm(RowMajor, NoTrans, NoTrans, nr, d->cout, (int)K, 1.0f, col, (int)K, p->b, d->cout, 0.0f, p->out + r * d->cout, d->cout);
    } else if (p->op == CONV_FILTER) {
      im2col(d, p->a, r, nr, col);
      g_sgemm(RowMajor, Trans, NoTrans, (int)K, d->cout, nr, 1.0f, col, (int)K, p->b + r * d->cout, d->cout, r == p->r0 ? 0.0f : 1.0f, p->out, d->cout);
    } else {
      g_sgemm(RowMajor, NoTrans, Trans, nr, (int)K, d->cout, 1.0f, p->a + r * d->cout, d->cout, p->b, d->cout, 0.0f, col, (int)K);
      col2im_add(d, col, r, nr, p->out);
    }
  }
}

static void *conv_part_thread(void *p) {
  conv_part((ConvPart *)p);
  return NULL;
}

/* below this many multiply-adds a thread start (~30 µs) does not pay */
#define CONV_PARALLEL_MIN_FLOPS ((size_t)1 << 22)

/* Runs op over all rows, split in two at an image boundary when worthwhile; returns 0 on out-of-memory. */
static int conv_run_locked(int op, const ConvDims *d, const float *a, const float *b, float *out) {
  const size_t K = (size_t)d->kh * d->kw * d->cin, P = (size_t)d->ho * d->wo, M = (size_t)d->n * P;
  if (op == CONV_INPUT && !is_pointwise(d)) memset(out, 0, (size_t)d->n * d->h * d->w * d->cin * sizeof(float));
  ConvPart p0 = {op, d, a, b, out, 0, M, 0, 0};
  const size_t split = (size_t)(d->n / 2) * P; /* images never straddle the split: col2im halves do not overlap */
  if (g_conv_threads < 2 || d->n < 2 || M * K * d->cout < CONV_PARALLEL_MIN_FLOPS) {
    conv_part(&p0);
    return !p0.failed;
  }
  float *private_dw = NULL;
  if (op == CONV_FILTER) {
    private_dw = (float *)malloc(K * d->cout * sizeof(float));
    if (!private_dw) {
      conv_part(&p0);
      return !p0.failed;
    }
  }
  ConvPart p1 = {op, d, a, b, op == CONV_FILTER ? private_dw : out, split, M, 1, 0};
  p0.r1 = split;
  pthread_t t;
  const int threaded = pthread_create(&t, NULL, conv_part_thread, &p1) == 0;
  conv_part(&p0);
  if (threaded) pthread_join(t, NULL);
  else conv_part(&p1);
  if (op == CONV_FILTER) {
    for (size_t i = 0; i < K * d->cout; i++) out[i] += private_dw[i];
    free(private_dw);
  }
  return !p0.failed && !p1.failed;
}


/* y[r, c] = max(y[r, c] + bias[c], 0) over rows × Cout (bias may be NULL) */
static void bias_relu(float *y, size_t rows, int cout, const float *bias, int relu) {
  for (size_t r = 0; r < rows; r++) {
    float *yr = y + r * cout;
    if (bias)
      for (int c = 0; c < cout; c++) yr[c] += bias[c];
    if (relu)
      for (int c = 0; c < cout; c++) yr[c] = yr[c] > 0.0f ? yr[c] : 0.0f;
  }
}

/* oneDNN when it is loaded, enabled and takes the shape; else im2col + sgemm */
static int conv_run(int op, const ConvDims *d, const float *a, const float *b, const float *bias, int relu, float *out) {
  pthread_mutex_lock(&g_conv_lock);
  int ok = rd_dnnl_conv(op, d, a, b, bias, relu, out);
  if (!ok) {
    ok = conv_run_locked(op, d, a, b, out);
    if (ok && op == CONV_FORWARD && (bias || relu)) bias_relu(out, (size_t)d->n * d->ho * d->wo, d->cout, bias, relu);
  }
  pthread_mutex_unlock(&g_conv_lock);
  return ok;
}

/* conv ops: (a, b, out, dims) and for the forward optionally (bias | null, relu) */
static napi_value conv_entry(napi_env env, napi_callback_info info, int op) {
  static const char *names[3][3] = {{"x", "filter", "y"}, {"x", "dy", "dw"}, {"dy", "filter", "dx"}};
  napi_value argv[6];
  size_t argc = 6;
  ConvDims d;
  float *a, *b, *out, *bias = NULL;
  size_t la, lb, lo, lbias = 0;
  bool relu = false;
  if (!ready(env)) return NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4 && !(op == CONV_FORWARD && argc == 6)) {
    napi_throw_type_error(env, NULL, op == CONV_FORWARD ? "repro_native.conv2d: expected (x, filter, y, dims[, bias | null, relu])" : "repro_native: expected (a, b, out, dims)");
    return NULL;
  }
  if (!get_f32(env, argv[0], &a, &la, names[op][0]) || !get_f32(env, argv[1], &b, &lb, names[op][1]) || !get_f32(env, argv[2], &out, &lo, names[op][2]) || !conv_dims(env, argv[3], &d))
    return NULL;
  if (argc == 6) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[4], &t));
    if (t != napi_null && !get_f32(env, argv[4], &bias, &lbias, "bias")) return NULL;
    if (napi_get_value_bool(env, argv[5], &relu) != napi_ok) {
      napi_throw_type_error(env, NULL, "repro_native.conv2d: relu must be a boolean");
      return NULL;
    }
  }
  const size_t K = (size_t)d.kh * d.kw * d.cin, P = (size_t)d.ho * d.wo, X = (size_t)d.n * d.h * d.w * d.cin, Y = (size_t)d.n * P * d.cout;
  const size_t want[3][3] = {{X, K * d.cout, Y}, {X, Y, K * d.cout}, {Y, K * d.cout, X}};
  if (!need(env, la, want[op][0], names[op][0]) || !need(env, lb, want[op][1], names[op][1]) || !need(env, lo, want[op][2], names[op][2])) return NULL;
  if (bias && lbias != (size_t)d.cout) {
    napi_throw_range_error(env, NULL, "repro_native.conv2d: bias must hold Cout floats");
    return NULL;
  }
  if (!conv_run(op, &d, a, b, bias, relu, out)) napi_throw_error(env, NULL, "repro_native: out of memory for im2col");
  return NULL;
}

/* conv2d(x, w, y, dims[, bias, relu]): y[N,Ho,Wo,Cout] = relu(x * w + bias) */
static napi_value Conv2d(napi_env env, napi_callback_info info) { return conv_entry(env, info, CONV_FORWARD); }

/* conv2dBackpropFilter(x, dy, dw, dims): dw[kh,kw,Cin,Cout] = im2col(x)ᵀ · dy */
static napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) { return conv_entry(env, info, CONV_FILTER); }

/* conv2dBackpropInput(dy, w, dx, dims): dx = col2im(dy · wᵀ) */
static napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) { return conv_entry(env, info, CONV_INPUT); }

/* ---------- SGD with momentum, one pass per variable ---------- */

/* sgdMomentum(value, accum, grad, newValue, newAccum, negLr, momentum, weightDecay, nesterov): tfjs's
 * MomentumOptimizer step with weight decay added to the gradient, in its float32 operation order
 * (the build has -ffp-contract=off: no fused multiply-adds), so the result is bit for bit tfjs's:
 *   g = grad + value·wd;  a = m·accum + g;  value' = c·(g + a·m) + value (Nesterov) or c·a + value,
 * with c = −lr. */
static napi_value SgdMomentum(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  float *v, *a, *g, *nv, *na;
  size_t lv, la, lg, lnv, lna;
  double c, m, wd;
  bool nesterov;
  if (!take_args(env, info, 9, argv, "sgdMomentum") || !get_f32(env, argv[0], &v, &lv, "value") || !get_f32(env, argv[1], &a, &la, "accum") ||
      !get_f32(env, argv[2], &g, &lg, "grad") || !get_f32(env, argv[3], &nv, &lnv, "newValue") || !get_f32(env, argv[4], &na, &lna, "newAccum"))
    return NULL;
  if (napi_get_value_double(env, argv[5], &c) != napi_ok || napi_get_value_double(env, argv[6], &m) != napi_ok ||
      napi_get_value_double(env, argv[7], &wd) != napi_ok || napi_get_value_bool(env, argv[8], &nesterov) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native.sgdMomentum: negLr, momentum, weightDecay must be numbers, nesterov a boolean");
    return NULL;
  }
  if (!need(env, la, lv, "accum") || !need(env, lg, lv, "grad") || !need(env, lnv, lv, "newValue") || !need(env, lna, lv, "newAccum")) return NULL;
  const float cf = (float)c, mf = (float)m, wf = (float)wd;
  const int decay = wd != 0.0;
  for (size_t i = 0; i < lv; i++) {
    float gi = g[i];
    if (decay) gi = gi + v[i] * wf;
    const float ai = mf * a[i] + gi;
    na[i] = ai;
    nv[i] = nesterov ? cf * (gi + ai * mf) + v[i] : cf * ai + v[i];
  }
  return NULL;
}

/* ---------- batch norm's running statistics ---------- */

/* runningStats(rm, rv, mean, var, outMean, outVar, unbiasedFactor, keep, momentum): PyTorch's update
 *   mean' = rm·keep + mean·momentum,  var' = rv·keep + (var·unbiasedFactor)·momentum
 * in float32, in the order of the composite tfjs ops it replaces (no fused multiply-adds), so bit for
 * bit theirs; the factors arrive as float32 values. */
static napi_value RunningStats(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  float *rm, *rv, *mu, *var, *om, *ov;
  size_t l0, l1, l2, l3, l4, l5;
  double fc, keep, mom;
  if (!take_args(env, info, 9, argv, "runningStats") || !get_f32(env, argv[0], &rm, &l0, "runningMean") || !get_f32(env, argv[1], &rv, &l1, "runningVar") ||
      !get_f32(env, argv[2], &mu, &l2, "mean") || !get_f32(env, argv[3], &var, &l3, "variance") || !get_f32(env, argv[4], &om, &l4, "newMean") ||
      !get_f32(env, argv[5], &ov, &l5, "newVar"))
    return NULL;
  if (napi_get_value_double(env, argv[6], &fc) != napi_ok || napi_get_value_double(env, argv[7], &keep) != napi_ok || napi_get_value_double(env, argv[8], &mom) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native.runningStats: unbiasedFactor, keep, momentum must be numbers");
    return NULL;
  }
  if (!need(env, l1, l0, "runningVar") || !need(env, l2, l0, "mean") || !need(env, l3, l0, "variance") || !need(env, l4, l0, "newMean") || !need(env, l5, l0, "newVar")) return NULL;
  const float f = (float)fc, k = (float)keep, m = (float)mom;
  for (size_t i = 0; i < l0; i++) {
    const float a = rm[i] * k, b = mu[i] * m;
    om[i] = a + b;
    const float u = var[i] * f;
    const float c = rv[i] * k, d = u * m;
    ov[i] = c + d;
  }
  return NULL;
}

/* ---------- ReLU gradient ---------- */

/* threads for an element-wise pass over n floats (as batch norm's rows: split from 64K floats) */
static int elementwise_threads(size_t n) { return n < ((size_t)1 << 16) || g_conv_threads < 2 ? 1 : g_conv_threads; }

static void span(size_t n, int t, int nt, size_t *i0, size_t *i1) {
  *i0 = n * (size_t)t / (size_t)nt;
  *i1 = n * (size_t)(t + 1) / (size_t)nt;
}

/* reluGrad(x, dy, dx): dx = dy · step(x), one pass (tfjs: Step then Multiply); step(NaN) = NaN as tfjs's */
static napi_value ReluGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *x, *dy, *dx;
  size_t lx, ldy, ldx;
  if (!take_args(env, info, 3, argv, "reluGrad") || !get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[1], &dy, &ldy, "dy") || !get_f32(env, argv[2], &dx, &ldx, "dx"))
    return NULL;
  if (!need(env, ldy, lx, "dy") || !need(env, ldx, lx, "dx")) return NULL;
  const int nt = elementwise_threads(lx);
  /* selects between constants, then one multiply: branch-free, so it vectorises (a branch on the
   * sign of x mispredicts half the time: 7 ns per element) */
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    size_t i0, i1;
    span(lx, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
    for (size_t i = i0; i < i1; i++) {
      const float v = x[i];
      const float step = v > 0.0f ? 1.0f : (v != v ? NAN : 0.0f);
      dx[i] = dy[i] * step;
    }
  }
  return NULL;
}

/* relu(x, y): y = max(0, x) as tfjs's cpu backend: NaN stays NaN, −0 becomes +0 */
static napi_value Relu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  float *x, *y;
  size_t lx, ly;
  if (!take_args(env, info, 2, argv, "relu") || !get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[1], &y, &ly, "y")) return NULL;
  if (!need(env, ly, lx, "y")) return NULL;
  const int nt = elementwise_threads(lx);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    size_t i0, i1;
    span(lx, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
    for (size_t i = i0; i < i1; i++) y[i] = x[i] > 0.0f ? x[i] : (x[i] == x[i] ? 0.0f : x[i]);
  }
  return NULL;
}

/* add(a, b, out): out = a + b, same length */
static napi_value Add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *a, *b, *out;
  size_t la, lb, lo;
  if (!take_args(env, info, 3, argv, "add") || !get_f32(env, argv[0], &a, &la, "a") || !get_f32(env, argv[1], &b, &lb, "b") || !get_f32(env, argv[2], &out, &lo, "out"))
    return NULL;
  if (!need(env, lb, la, "b") || !need(env, lo, la, "out")) return NULL;
  const int nt = elementwise_threads(la);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    size_t i0, i1;
    span(la, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
    for (size_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
  }
  return NULL;
}

/* ---------- average pooling gradient ---------- */

/* avgPoolGrad(dy, dx, dims): dims N, H, W, C, kh, kw, sh, sw, dh, dw, pt, pl, Ho, Wo (as maxPoolGrad;
 * average pooling has no dilation, dh = dw = 1). tfjs's cpu backend
 * exactly: each dx sums the dy of the windows that contain it (window rows, then columns, in double)
 * and multiplies by 1/(kh·kw), also at the borders of 'same' padding. */
static napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *dy, *dx;
  size_t ldy, ldx;
  int32_t a[14];
  if (!take_args(env, info, 3, argv, "avgPoolGrad") || !get_f32(env, argv[0], &dy, &ldy, "dy") || !get_f32(env, argv[1], &dx, &ldx, "dx") || !get_dims(env, argv[2], a, 14))
    return NULL;
  const int n = a[0], h = a[1], w = a[2], c = a[3], kh = a[4], kw = a[5], sh = a[6], sw = a[7], pt = a[10], pl = a[11], ho = a[12], wo = a[13];
  if (n < 0 || h < 0 || w < 0 || c <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ho < 0 || wo < 0 || a[8] != 1 || a[9] != 1) {
    napi_throw_range_error(env, NULL, "repro_native.avgPoolGrad: invalid dims (average pooling has no dilation)");
    return NULL;
  }
  if (!need(env, ldy, (size_t)n * ho * wo * c, "dy") || !need(env, ldx, (size_t)n * h * w * c, "dx")) return NULL;
  const double mult = 1.0 / ((double)kh * kw);
  const int padTop = kh - 1 - pt, padLeft = kw - 1 - pl;
  double *acc = malloc(sizeof(double) * (size_t)(c > 0 ? c : 1));
  if (!acc) {
    napi_throw_error(env, NULL, "repro_native.avgPoolGrad: out of memory");
    return NULL;
  }
  for (int b = 0; b < n; b++)
    for (int r = 0; r < h; r++)
      for (int q = 0; q < w; q++) {
        for (int d = 0; d < c; d++) acc[d] = 0.0;
        for (int wr = 0; wr < kh; wr++) {
          const int rr = r - padTop + wr;
          if (rr < 0 || rr % sh != 0 || rr / sh >= ho) continue;
          for (int wc = 0; wc < kw; wc++) {
            const int cc = q - padLeft + wc;
            if (cc < 0 || cc % sw != 0 || cc / sw >= wo) continue;
            const float *g = dy + (((size_t)b * ho + rr / sh) * wo + cc / sw) * c;
            for (int d = 0; d < c; d++) acc[d] += g[d];
          }
        }
        float *o = dx + (((size_t)b * h + r) * w + q) * c;
        for (int d = 0; d < c; d++) o[d] = (float)(acc[d] * mult);
      }
  free(acc);
  return NULL;
}

/* ---------- max pooling gradient ---------- */

/* maxPoolGrad(x, dy, dx, dims): dims N, H, W, C, kh, kw, sh, sw, dh, dw, pt, pl, Ho, Wo.
 * Routes each window's gradient to its first maximum in scan order (as tfjs's cpu backend). */
static napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float *x, *dy, *dx;
  size_t lx, ldy, ldx;
  int32_t a[14];
  if (!take_args(env, info, 4, argv, "maxPoolGrad") || !get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[1], &dy, &ldy, "dy") || !get_f32(env, argv[2], &dx, &ldx, "dx") ||
      !get_dims(env, argv[3], a, 14))
    return NULL;
  const int n = a[0], h = a[1], w = a[2], c = a[3], kh = a[4], kw = a[5], sh = a[6], sw = a[7], dh = a[8], dw = a[9], pt = a[10], pl = a[11],
            ho = a[12], wo = a[13];
  if (n < 0 || h < 0 || w < 0 || c <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || ho < 0 || wo < 0) {
    napi_throw_range_error(env, NULL, "repro_native.maxPoolGrad: invalid dims");
    return NULL;
  }
  if (!need(env, lx, (size_t)n * h * w * c, "x") || !need(env, ldx, (size_t)n * h * w * c, "dx") || !need(env, ldy, (size_t)n * ho * wo * c, "dy")) return NULL;
  /* windows that tile the input exactly (2×2 stride 2, no padding): each input element is in one
   * window, so dx is written once per element and needs no clearing */
  const int tiles = kh == sh && kw == sw && dh == 1 && dw == 1 && pt == 0 && pl == 0 && ho * sh == h && wo * sw == w;
  if (!tiles) memset(dx, 0, (size_t)n * h * w * c * sizeof(float));
  /* images split over the threads (each writes its own dx slice: the result does not depend on it) */
  const int nt = n > 1 && (size_t)h * w * c * n >= ((size_t)1 << 16) && g_conv_threads > 1 ? (g_conv_threads < n ? g_conv_threads : n) : 1;
  int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : failed)
  {
    /* per channel: the window position (fy·kw + fx) of the first maximum; branch-free inner loops */
    int32_t *best = (int32_t *)malloc(sizeof(int32_t) * c);
    float *bestv = (float *)malloc(sizeof(float) * c);
    /* the window's positions inside the input: element offsets and scan-order indices (fy·kw + fx) */
    int64_t *off = (int64_t *)malloc(sizeof(int64_t) * kh * kw);
    int32_t *pos = (int32_t *)malloc(sizeof(int32_t) * kh * kw);
    if (!best || !bestv || !off || !pos) failed = 1;
    const int t = omp_get_thread_num(), tn = omp_get_num_threads();
    const int b0 = (int)((int64_t)n * t / tn), b1 = (int)((int64_t)n * (t + 1) / tn);
    for (int b = b0; b < b1 && !failed; b++) {
      const float *xb = x + (int64_t)b * h * w * c;
      float *dxb = dx + (int64_t)b * h * w * c;
      for (int oy = 0; oy < ho; oy++) {
        for (int ox = 0; ox < wo; ox++) {
          int np = 0;
          for (int fy = 0; fy < kh; fy++) {
            const int y = oy * sh - pt + fy * dh;
            if (y < 0 || y >= h) continue;
            for (int fx = 0; fx < kw; fx++) {
              const int xx = ox * sw - pl + fx * dw;
              if (xx < 0 || xx >= w) continue;
              off[np] = ((int64_t)y * w + xx) * c;
              pos[np++] = fy * kw + fx;
            }
          }
          if (np == 0) continue; /* a window entirely in the padding */
          for (int k = 0; k < c; k++) {
            bestv[k] = xb[off[0] + k];
            best[k] = pos[0];
          }
          /* pos[p] in a local: best and pos are both int32 arrays, so the compiler would reload it */
          for (int p = 1; p < np; p++) {
            const float *v = xb + off[p];
            const int32_t q = pos[p];
            for (int k = 0; k < c; k++) {
              const int gt = v[k] > bestv[k];
              bestv[k] = gt ? v[k] : bestv[k];
              best[k] = gt ? q : best[k];
            }
          }
          const float *g = dy + (((int64_t)b * ho + oy) * wo + ox) * c;
          for (int p = 0; p < np; p++) {
            float *d = dxb + off[p];
            const int32_t q = pos[p];
            if (tiles)
              for (int k = 0; k < c; k++) d[k] = best[k] == q ? g[k] : 0.0f;
            else
              for (int k = 0; k < c; k++) d[k] += best[k] == q ? g[k] : 0.0f;
          }
        }
      }
    }
    free(off);
    free(pos);
    free(best);
    free(bestv);
  }
  if (failed) napi_throw_error(env, NULL, "repro_native.maxPoolGrad: out of memory");
  return NULL;
}


/* ---------- batch normalisation over the last axis, training mode ---------- */

/* rows × channels view of an [..., C] tensor, dims [M, C, S]: M rows of C channels, S rows per image
 * (the spatial size; 1 for rank 2: oneDNN takes it as N × S × C); the C loops' statistics accumulate
 * in double */
static int bn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int32_t *m, int32_t *c, int32_t *s, double *eps) {
  if (!take_args(env, info, want, argv, "batchNorm")) return 0;
  int32_t dims[3];
  if (!get_dims(env, argv[want - 2], dims, 3)) return 0;
  *m = dims[0];
  *c = dims[1];
  *s = dims[2];
  if (*m < 1 || *c < 1 || *s < 1 || *m % *s != 0) {
    napi_throw_range_error(env, NULL, "repro_native: batch norm needs at least one row and one channel, and rows that are whole images");
    return 0;
  }
  if (napi_get_value_double(env, argv[want - 1], eps) != napi_ok) {
    napi_throw_type_error(env, NULL, "repro_native: eps must be a number");
    return 0;
  }
  return 1;
}

/* Row-parallel loops on OpenMP's pool (the one oneDNN uses): g_conv_threads threads for arrays of at
 * least BN_PARALLEL_MIN floats, each thread a fixed contiguous block of rows, and partial sums combined
 * in thread order, so a result depends only on the thread count, never on timing. */
#define BN_PARALLEL_MIN ((size_t)1 << 16)

static int row_threads(int32_t m, int32_t c) {
  if ((size_t)m * c < BN_PARALLEL_MIN || g_conv_threads < 2) return 1;
  return g_conv_threads < m ? g_conv_threads : m;
}

static void row_block(int32_t m, int t, int nt, int32_t *r0, int32_t *r1) {
  *r0 = (int32_t)((int64_t)m * t / nt);
  *r1 = (int32_t)((int64_t)m * (t + 1) / nt);
}

/* y[i, k] = x[i, k]·scale[k] + shift[k] */
static void affine_rows(const float *x, float *y, int32_t m, int32_t c, const float *scale, const float *shift) {
  const int nt = row_threads(m, c);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int32_t r0, r1;
    row_block(m, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
    for (int32_t i = r0; i < r1; i++) {
      const float *r = x + (size_t)i * c;
      float *o = y + (size_t)i * c;
      for (int32_t k = 0; k < c; k++) o[k] = r[k] * scale[k] + shift[k];
    }
  }
}

/* per-channel column sums over rows, sum[k] = Σ_i f(i, k), in double, partial sums per thread block */
typedef struct {
  const float *x, *dy;
  const double *mean; /* for the centred passes */
  const float *mu;
} ColSumArgs;

enum { SUM_X, SUM_SQDEV, SUM_DY_DYXC };

static void col_block(int kind, const ColSumArgs *a, int32_t r0, int32_t r1, int32_t c, double *s0, double *s1) {
  for (int32_t k = 0; k < c; k++) s0[k] = s1[k] = 0;
  for (int32_t i = r0; i < r1; i++) {
    const float *r = a->x + (size_t)i * c;
    if (kind == SUM_X) {
      for (int32_t k = 0; k < c; k++) s0[k] += r[k];
    } else if (kind == SUM_SQDEV) {
      for (int32_t k = 0; k < c; k++) {
        const double d = r[k] - a->mean[k];
        s0[k] += d * d;
      }
    } else {
      const float *d = a->dy + (size_t)i * c;
      for (int32_t k = 0; k < c; k++) {
        s0[k] += d[k];
        s1[k] += (double)d[k] * (r[k] - a->mu[k]);
      }
    }
  }
}

/* 0 on out-of-memory */
static int col_sums(int kind, const ColSumArgs *a, int32_t m, int32_t c, double *s0, double *s1) {
  const int nt = row_threads(m, c);
  if (nt == 1) {
    col_block(kind, a, 0, m, c, s0, s1);
    return 1;
  }
  double *part = (double *)malloc(sizeof(double) * 2 * c * nt);
  if (!part) return 0;
  int used = nt;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
#pragma omp single
    used = n;
    int32_t r0, r1;
    row_block(m, t, n, &r0, &r1);
    col_block(kind, a, r0, r1, c, part + (size_t)2 * c * t, part + (size_t)2 * c * t + c);
  }
  for (int32_t k = 0; k < c; k++) s0[k] = s1[k] = 0;
  for (int t = 0; t < used; t++)
    for (int32_t k = 0; k < c; k++) {
      s0[k] += part[(size_t)2 * c * t + k];
      s1[k] += part[(size_t)2 * c * t + c + k];
    }
  free(part);
  return 1;
}

/* mean and biased variance per channel, two passes in double; 0 on out-of-memory */
static int bn_stats(const float *x, int32_t m, int32_t c, double *mean, double *var) {
  double *tmp = (double *)malloc(sizeof(double) * c);
  if (!tmp) return 0;
  ColSumArgs a = {x, NULL, NULL, NULL};
  int ok = col_sums(SUM_X, &a, m, c, mean, tmp);
  for (int32_t k = 0; k < c; k++) mean[k] /= m;
  a.mean = mean;
  ok = ok && col_sums(SUM_SQDEV, &a, m, c, var, tmp);
  for (int32_t k = 0; k < c; k++) var[k] /= m;
  free(tmp);
  return ok;
}

/* batchNormTrain(x, gamma, beta, y, mean, variance, dims [M, C], eps): y = (x − μ)/√(σ²+eps)·γ + β with the
 * batch mean μ and biased variance σ² (written to mean, variance) */
static napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  int32_t m, c, s;
  double eps;
  float *x, *g, *b, *y, *mo, *vo;
  size_t lx, lg, lb, ly, lm, lv;
  if (!bn_args(env, info, 8, argv, &m, &c, &s, &eps)) return NULL;
  if (!get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[1], &g, &lg, "gamma") || !get_f32(env, argv[2], &b, &lb, "beta") ||
      !get_f32(env, argv[3], &y, &ly, "y") || !get_f32(env, argv[4], &mo, &lm, "mean") || !get_f32(env, argv[5], &vo, &lv, "variance"))
    return NULL;
  const size_t total = (size_t)m * c;
  if (!need(env, lx, total, "x") || !need(env, ly, total, "y") || !need(env, lg, c, "gamma") || !need(env, lb, c, "beta") ||
      !need(env, lm, c, "mean") || !need(env, lv, c, "variance"))
    return NULL;
  const BnArgs da = {x, NULL, g, b, mo, vo, y, NULL, NULL};
  if (rd_dnnl_bnorm(BN_TRAIN, m / s, s, c, (float)eps, &da)) return NULL;
  double *mean = (double *)malloc(sizeof(double) * c * 2);
  float *scale = (float *)malloc(sizeof(float) * c * 2);
  if (!mean || !scale) {
    free(mean);
    free(scale);
    napi_throw_error(env, NULL, "repro_native.batchNormTrain: out of memory");
    return NULL;
  }
  double *var = mean + c;
  float *shift = scale + c;
  if (!bn_stats(x, m, c, mean, var)) {
    free(mean);
    free(scale);
    napi_throw_error(env, NULL, "repro_native.batchNormTrain: out of memory");
    return NULL;
  }
  for (int32_t k = 0; k < c; k++) {
    const double inv = 1.0 / sqrt(var[k] + eps);
    scale[k] = (float)(g[k] * inv);
    shift[k] = (float)(b[k] - mean[k] * g[k] * inv);
    mo[k] = (float)mean[k];
    vo[k] = (float)var[k];
  }
  affine_rows(x, y, m, c, scale, shift);
  free(mean);
  free(scale);
  return NULL;
}

/* batchNormInfer(x, mean, variance, offset|null, scale|null, y, dims [M, C], eps): y = (x − mean)/√(var+eps)·scale + offset,
 * each parameter of length C or 1 */
static napi_value BatchNormInfer(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  int32_t m, c;
  double eps;
  float *x, *y, *p[4] = {NULL, NULL, NULL, NULL};
  size_t lx, ly, lp[4] = {0, 0, 0, 0};
  const char *names[4] = {"mean", "variance", "offset", "scale"};
  int32_t s;
  if (!bn_args(env, info, 8, argv, &m, &c, &s, &eps)) return NULL;
  if (!get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[5], &y, &ly, "y")) return NULL;
  for (int i = 0; i < 4; i++) {
    napi_valuetype t;
    if (napi_typeof(env, argv[1 + i], &t) != napi_ok) return NULL;
    if (i >= 2 && (t == napi_null || t == napi_undefined)) continue;
    if (!get_f32(env, argv[1 + i], &p[i], &lp[i], names[i])) return NULL;
    if (lp[i] != 1 && lp[i] != (size_t)c) {
      napi_throw_range_error(env, NULL, "repro_native.batchNormInfer: parameters must have length C or 1");
      return NULL;
    }
  }
  const size_t total = (size_t)m * c;
  if (!need(env, lx, total, "x") || !need(env, ly, total, "y")) return NULL;
  int per_channel = 1;
  for (int i = 0; i < 4; i++) per_channel = per_channel && (!p[i] || lp[i] == (size_t)c);
  const BnArgs da = {x, NULL, p[3], p[2], p[0], p[1], y, NULL, NULL};
  if (per_channel && rd_dnnl_bnorm(BN_INFER, m / s, s, c, (float)eps, &da)) return NULL;
  float *scale = (float *)malloc(sizeof(float) * c * 2);
  if (!scale) {
    napi_throw_error(env, NULL, "repro_native.batchNormInfer: out of memory");
    return NULL;
  }
  float *shift = scale + c;
#define PARAM(i, k) (p[i] ? p[i][lp[i] == 1 ? 0 : (k)] : ((i) == 3 ? 1.0f : 0.0f))
  for (int32_t k = 0; k < c; k++) {
    const double inv = 1.0 / sqrt((double)PARAM(1, k) + eps);
    scale[k] = (float)(PARAM(3, k) * inv);
    shift[k] = (float)(PARAM(2, k) - PARAM(0, k) * PARAM(3, k) * inv);
  }
#undef PARAM
  affine_rows(x, y, m, c, scale, shift);
  free(scale);
  return NULL;
}

/* NULL or every element +0/−0 */
static int all_zero(const float *a, int32_t n) {
  if (!a) return 1;
  for (int32_t i = 0; i < n; i++)
    if (a[i] != 0.0f) return 0;
  return 1;
}

/* batchNormTrainGrad(x, dy, gamma, mean, variance, dmean|null, dvar|null, dx|null, dgamma|null, dbeta|null, dims, eps):
 * with x̂ = (x − μ)·r, r = 1/√(σ²+eps):  dβ = Σ dy,  dγ = Σ dy·x̂,
 * dx = γ·r/M · (M·dy − dβ − x̂·dγ) + dμ/M + dσ²·2(x − μ)/M  (dμ, dσ²: gradients reaching the mean/variance outputs) */
static napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  int32_t m, c, s;
  double eps;
  float *x, *dy, *g, *mu, *vr, *dmu = NULL, *dvr = NULL, *dx = NULL, *dg = NULL, *db = NULL;
  size_t lx, ldy, lg, lmu, lvr, l;
  if (!bn_args(env, info, 12, argv, &m, &c, &s, &eps)) return NULL;
  if (!get_f32(env, argv[0], &x, &lx, "x") || !get_f32(env, argv[1], &dy, &ldy, "dy") || !get_f32(env, argv[2], &g, &lg, "gamma") ||
      !get_f32(env, argv[3], &mu, &lmu, "mean") || !get_f32(env, argv[4], &vr, &lvr, "variance"))
    return NULL;
  const size_t total = (size_t)m * c;
  if (!need(env, lx, total, "x") || !need(env, ldy, total, "dy") || !need(env, lg, c, "gamma") || !need(env, lmu, c, "mean") || !need(env, lvr, c, "variance"))
    return NULL;
  float **opt[5] = {&dmu, &dvr, &dx, &dg, &db};
  const char *names[5] = {"dmean", "dvariance", "dx", "dgamma", "dbeta"};
  for (int i = 0; i < 5; i++) {
    napi_valuetype t;
    if (napi_typeof(env, argv[5 + i], &t) != napi_ok) return NULL;
    if (t == napi_null || t == napi_undefined) continue;
    if (!get_f32(env, argv[5 + i], opt[i], &l, names[i]) || !need(env, l, i == 2 ? total : (size_t)c, names[i])) return NULL;
  }
  /* oneDNN's backward has no gradient reaching the mean/variance outputs; the C loops take those
   * (tfjs passes zeros for an output the loss does not use: a training step's mean and variance) */
  if (all_zero(dmu, c) && all_zero(dvr, c) && dx && dg && db) {
    const BnArgs da = {x, dy, g, NULL, mu, vr, dx, dg, db};
    if (rd_dnnl_bnorm(BN_BACKWARD, m / s, s, c, (float)eps, &da)) return NULL;
  }
  double *sdy = (double *)malloc(sizeof(double) * c * 2);
  float *coef = (float *)malloc(sizeof(float) * c * 4);
  if (!sdy || !coef) {
    free(sdy);
    free(coef);
    napi_throw_error(env, NULL, "repro_native.batchNormTrainGrad: out of memory");
    return NULL;
  }
  double *sdyx = sdy + c;
  const ColSumArgs sa = {x, dy, NULL, mu};
  if (!col_sums(SUM_DY_DYXC, &sa, m, c, sdy, sdyx)) {
    free(sdy);
    free(coef);
    napi_throw_error(env, NULL, "repro_native.batchNormTrainGrad: out of memory");
    return NULL;
  }
  /* dx = a·dy + b·(x − μ) + e per channel */
  float *ca = coef, *cb = coef + c, *cm = coef + 2 * c, *ce = coef + 3 * c;
  for (int32_t k = 0; k < c; k++) {
    const double r = 1.0 / sqrt((double)vr[k] + eps);
    const double dgam = sdyx[k] * r;
    if (dg) dg[k] = (float)dgam;
    if (db) db[k] = (float)sdy[k];
    ca[k] = (float)(g[k] * r);
    double bk = -g[k] * r * r * dgam / m;
    double ek = -g[k] * r * sdy[k] / m;
    if (dmu) ek += dmu[k] / (double)m;
    if (dvr) bk += 2.0 * dvr[k] / m;
    cb[k] = (float)bk;
    cm[k] = mu[k];
    ce[k] = (float)ek;
  }
  if (dx) {
    const int nt = row_threads(m, c);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
      int32_t r0, r1;
      row_block(m, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
      for (int32_t i = r0; i < r1; i++) {
        const float *r = x + (size_t)i * c, *d = dy + (size_t)i * c;
        float *o = dx + (size_t)i * c;
        for (int32_t k = 0; k < c; k++) o[k] = ca[k] * d[k] + cb[k] * (r[k] - cm[k]) + ce[k];
      }
    }
  }
  free(sdy);
  free(coef);
  return NULL;
}

/* ---------- module ---------- */

static napi_value ModuleInit(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, Init, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"dnnlInit", NULL, DnnlInit, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"dnnlEnable", NULL, DnnlEnable, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"dnnlPrimitives", NULL, DnnlPrimitives, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"conv2d", NULL, Conv2d, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"conv2dBackpropFilter", NULL, Conv2dBackpropFilter, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"conv2dBackpropInput", NULL, Conv2dBackpropInput, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"gram", NULL, Gram, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"sgdMomentum", NULL, SgdMomentum, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"relu", NULL, Relu, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"add", NULL, Add, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"runningStats", NULL, RunningStats, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"reluGrad", NULL, ReluGrad, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"avgPoolGrad", NULL, AvgPoolGrad, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"maxPoolGrad", NULL, MaxPoolGrad, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"batchNormTrain", NULL, BatchNormTrain, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"batchNormInfer", NULL, BatchNormInfer, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"batchNormTrainGrad", NULL, BatchNormTrainGrad, NULL, NULL, NULL, napi_default_jsproperty, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, ModuleInit)
