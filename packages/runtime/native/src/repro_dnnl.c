/*
 * Convolutions on oneDNN (the library PyTorch's CPU convolutions run on), loaded at run time.
 *
 * Built against oneDNN's C API headers (Debian: libdnnl-dev) when they exist; the library itself
 * (libdnnl.so.2, Debian: libdnnl2) is opened with dlopen and every function is looked up by name, so
 * the addon loads and its OpenBLAS kernels work on a machine without oneDNN. Activations stay in the
 * caller's NHWC buffers on the wasm heap (no reorder); filters are TensorFlow's HWIO and are reordered
 * per call into the layout the primitive chose (format "any"): a few KiB to a few MiB, small beside the
 * convolution. Primitives are cached per shape (LRU), oneDNN's own cache sits behind that.
 * oneDNN threads with OpenMP: its thread count follows setThreads like the im2col convolutions.
 */
#define _GNU_SOURCE
#include "repro_dnnl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>)
#define REPRO_HAVE_DNNL 1
#endif
#endif

#ifndef REPRO_HAVE_DNNL

int rd_dnnl_load(const char *const *paths, int npaths, char *err, size_t errlen) {
  (void)paths;
  (void)npaths;
  snprintf(err, errlen, "addon built without oneDNN's headers (Debian: apt-get install libdnnl-dev, then node tools/build-native.js)");
  return 0;
}
const char *rd_dnnl_describe(void) { return ""; }
int rd_dnnl_loaded(void) { return 0; }
void rd_dnnl_enable(int on) { (void)on; }
int rd_dnnl_enabled(void) { return 0; }
void rd_dnnl_set_threads(int n) { (void)n; }
int rd_dnnl_conv(int op, const ConvDims *d, const float *a, const float *b, const float *bias, int relu, float *out) {
  (void)op, (void)d, (void)a, (void)b, (void)bias, (void)relu, (void)out;
  return 0;
}
int rd_dnnl_bnorm(int kind, int n, int s, int ch, float eps, const BnArgs *a) {
  (void)kind, (void)n, (void)s, (void)ch, (void)eps, (void)a;
  return 0;
}
size_t rd_dnnl_primitives(char *buf, size_t len) {
  if (len) buf[0] = '\0';
  return 0;
}

#else

#include <oneapi/dnnl/dnnl.h>

/* every oneDNN function used, resolved with dlsym into p_<name> */
#define DNNL_FUNCS(X)                                   \
  X(dnnl_engine_create)                                 \
  X(dnnl_stream_create)                                 \
  X(dnnl_stream_wait)                                   \
  X(dnnl_memory_desc_init_by_tag)                       \
  X(dnnl_memory_desc_equal)                             \
  X(dnnl_memory_create)                                 \
  X(dnnl_memory_destroy)                                \
  X(dnnl_memory_set_data_handle)                        \
  X(dnnl_dilated_convolution_forward_desc_init)         \
  X(dnnl_dilated_convolution_backward_data_desc_init)   \
  X(dnnl_dilated_convolution_backward_weights_desc_init) \
  X(dnnl_batch_normalization_forward_desc_init)         \
  X(dnnl_batch_normalization_backward_desc_init)        \
  X(dnnl_primitive_desc_create)                         \
  X(dnnl_primitive_desc_destroy)                        \
  X(dnnl_primitive_desc_query)                          \
  X(dnnl_primitive_desc_query_md)                       \
  X(dnnl_reorder_primitive_desc_create)                 \
  X(dnnl_primitive_create)                              \
  X(dnnl_primitive_destroy)                             \
  X(dnnl_primitive_execute)                             \
  X(dnnl_primitive_attr_create)                         \
  X(dnnl_primitive_attr_destroy)                        \
  X(dnnl_primitive_attr_set_post_ops)                   \
  X(dnnl_post_ops_create)                               \
  X(dnnl_post_ops_destroy)                              \
  X(dnnl_post_ops_append_eltwise)                       \
  X(dnnl_version)                                       \
  X(dnnl_get_effective_cpu_isa)

#define DECLARE(name) static __typeof__(name) *p_##name = NULL;
DNNL_FUNCS(DECLARE)
#undef DECLARE

typedef void (*omp_set_fn)(int);
static omp_set_fn p_omp_set_num_threads = NULL;

static dnnl_engine_t g_engine = NULL;
static dnnl_stream_t g_stream = NULL;
static int g_enabled = 0;
static char g_describe[256] = "";

typedef struct {
  int state; /* 0 empty, 1 ready, -1 declined by oneDNN (fall back) */
  int op, bias, relu;
  ConvDims d;
  unsigned long stamp;
  dnnl_primitive_desc_t hint; /* the forward pd a backward pd was built from (kept alive with it) */
  dnnl_primitive_t prim;
  dnnl_primitive_t wreorder; /* HWIO <-> the primitive's filter layout; NULL when they are the same */
  dnnl_memory_t m_a, m_b, m_out, m_bias, m_w_user, m_w_prim;
  char impl[96];
} Entry;

#define CACHE_SIZE 96
static Entry g_cache[CACHE_SIZE];
static unsigned long g_clock = 0;

int rd_dnnl_loaded(void) { return g_engine != NULL; }
const char *rd_dnnl_describe(void) { return g_describe; }
void rd_dnnl_enable(int on) { g_enabled = on && g_engine != NULL; }
int rd_dnnl_enabled(void) { return g_enabled; }
void rd_dnnl_set_threads(int n) {
  if (p_omp_set_num_threads && n >= 1) p_omp_set_num_threads(n);
}

/* oneDNN's effective ISA by name (its kernels, and so the bits of a result, follow it); others in hex */
static const char *isa_name(dnnl_cpu_isa_t isa) {
  static char hex[32];
  switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: break;
  }
  snprintf(hex, sizeof hex, "isa 0x%x", (unsigned)isa);
  return hex;
}

int rd_dnnl_load(const char *const *paths, int npaths, char *err, size_t errlen) {
  if (g_engine) return 1;
  char tried[1024] = "";
  for (int i = 0; i < npaths; i++) {
    void *h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      strncat(tried, paths[i], sizeof tried - strlen(tried) - 1);
      strncat(tried, " (not found); ", sizeof tried - strlen(tried) - 1);
      continue;
    }
    int ok = 1;
#define RESOLVE(name)                                              \
  p_##name = (__typeof__(name) *)dlsym(h, #name);                  \
  if (!p_##name) ok = 0;
    DNNL_FUNCS(RESOLVE)
#undef RESOLVE
    if (!ok) {
      strncat(tried, paths[i], sizeof tried - strlen(tried) - 1);
      strncat(tried, " (not oneDNN 2.x); ", sizeof tried - strlen(tried) - 1);
      dlclose(h);
      continue;
    }
    p_omp_set_num_threads = (omp_set_fn)dlsym(h, "omp_set_num_threads");
    if (p_dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success || p_dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags) != dnnl_success) {
      snprintf(err, errlen, "oneDNN (%s) loaded but its CPU engine could not be created", paths[i]);
      g_engine = NULL;
      return 0;
    }
    const dnnl_version_t *v = p_dnnl_version();
    snprintf(g_describe, sizeof g_describe, "%s %d.%d.%d (%s)", paths[i], v->major, v->minor, v->patch, isa_name(p_dnnl_get_effective_cpu_isa()));
    g_enabled = 1;
    return 1;
  }
  size_t len = strlen(tried);
  if (len >= 2) tried[len - 2] = '\0';
  snprintf(err, errlen, "no oneDNN found; tried %s", tried);
  return 0;
}

static void entry_free(Entry *e) {
  if (e->prim) p_dnnl_primitive_destroy(e->prim);
  if (e->wreorder) p_dnnl_primitive_destroy(e->wreorder);
  if (e->hint) p_dnnl_primitive_desc_destroy(e->hint);
  dnnl_memory_t *ms[] = {&e->m_a, &e->m_b, &e->m_out, &e->m_bias, &e->m_w_user, &e->m_w_prim};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    if (*ms[i]) p_dnnl_memory_destroy(*ms[i]);
  memset(e, 0, sizeof *e);
}

static int same_key(const Entry *e, int op, const ConvDims *d, int bias, int relu) {
  return e->state != 0 && e->op == op && e->bias == bias && e->relu == relu && memcmp(&e->d, d, sizeof *d) == 0;
}

#define TRY(call)                     \
  do {                                \
    if ((call) != dnnl_success) goto fail; \
  } while (0)

static int md_nhwc(dnnl_memory_desc_t *md, int n, int c, int h, int w) {
  const dnnl_dims_t dims = {n, c, h, w};
  return p_dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_nhwc) == dnnl_success;
}

/* builds the primitive for one (op, shape); state -1 when oneDNN declines it */
static void entry_build(Entry *e, int op, const ConvDims *d, int bias, int relu) {
  memset(e, 0, sizeof *e);
  e->op = op;
  e->d = *d;
  e->bias = bias;
  e->relu = relu;
  e->state = -1;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_memory_desc_t src, dst, w_any, w_user, b_md;
  const dnnl_dims_t wdims = {d->cout, d->cin, d->kh, d->kw};
  const dnnl_dims_t bdims = {d->cout};
  const dnnl_dims_t strides = {d->sh, d->sw};
  const dnnl_dims_t dil = {d->dh - 1, d->dw - 1};
  const dnnl_dims_t pad_l = {d->pt, d->pl};
  /* the bottom/right padding that makes the output size TensorFlow's (may be negative for 'valid') */
  const dnnl_dims_t pad_r = {(long)(d->ho - 1) * d->sh + (long)(d->kh - 1) * d->dh + 1 - d->h - d->pt,
                             (long)(d->wo - 1) * d->sw + (long)(d->kw - 1) * d->dw + 1 - d->w - d->pl};
  /* Declined (im2col + sgemm instead): the filter gradient of a strided 1×1 convolution. oneDNN
   * 2.6.3's jit_1x1:avx2 filter gradient of a strided 1×1 layer with negative right padding (ResNet's
   * downsampling shortcut on an even size: 8×8, stride 2) came out wrong on two threads, by 20-90% of
   * max|dw| and differently from call to call (a race); its forward and input gradient are right.
   * Negative bottom/right padding (a 'valid' window that leaves the last rows out, as a stride-2 layer
   * on an explicitly padded input does) is otherwise oneDNN's: tested against the cpu backend. */
  if (op == CONV_FILTER && d->kh == 1 && d->kw == 1 && (d->sh > 1 || d->sw > 1)) goto fail;
  if (!md_nhwc(&src, d->n, d->cin, d->h, d->w) || !md_nhwc(&dst, d->n, d->cout, d->ho, d->wo)) goto fail;
  TRY(p_dnnl_memory_desc_init_by_tag(&w_any, 4, wdims, dnnl_f32, dnnl_format_tag_any));
  TRY(p_dnnl_memory_desc_init_by_tag(&w_user, 4, wdims, dnnl_f32, dnnl_hwio));
  TRY(p_dnnl_memory_desc_init_by_tag(&b_md, 1, bdims, dnnl_f32, dnnl_x));

  dnnl_convolution_desc_t fwd;
  TRY(p_dnnl_dilated_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &src, &w_any, bias ? &b_md : NULL, &dst, strides, dil, pad_l, pad_r));
  if (op == CONV_FORWARD) {
    if (relu) {
      TRY(p_dnnl_post_ops_create(&po));
      TRY(p_dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
      TRY(p_dnnl_primitive_attr_create(&attr));
      TRY(p_dnnl_primitive_attr_set_post_ops(attr, po));
    }
    TRY(p_dnnl_primitive_desc_create(&pd, &fwd, attr, g_engine, NULL));
  } else {
    TRY(p_dnnl_primitive_desc_create(&e->hint, &fwd, NULL, g_engine, NULL));
    dnnl_convolution_desc_t bwd;
    if (op == CONV_INPUT)
      TRY(p_dnnl_dilated_convolution_backward_data_desc_init(&bwd, dnnl_convolution_direct, &src, &w_any, &dst, strides, dil, pad_l, pad_r));
    else
      TRY(p_dnnl_dilated_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src, &w_any, NULL, &dst, strides, dil, pad_l, pad_r));
    TRY(p_dnnl_primitive_desc_create(&pd, &bwd, NULL, g_engine, e->hint));
  }
  const dnnl_memory_desc_t *w_prim = p_dnnl_primitive_desc_query_md(pd, op == CONV_FILTER ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  if (!w_prim) goto fail;
  const char *impl = NULL;
  if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) snprintf(e->impl, sizeof e->impl, "%s", impl);
  TRY(p_dnnl_primitive_create(&e->prim, pd));
  /* a = src or diff_dst, out = dst, diff_weights' user copy or diff_src: their handles are set per call */
  TRY(p_dnnl_memory_create(&e->m_a, op == CONV_INPUT ? &dst : &src, g_engine, DNNL_MEMORY_NONE));
  TRY(p_dnnl_memory_create(&e->m_out, op == CONV_FORWARD ? &dst : op == CONV_INPUT ? &src : &w_user, g_engine, DNNL_MEMORY_NONE));
  if (op == CONV_FILTER) TRY(p_dnnl_memory_create(&e->m_b, &dst, g_engine, DNNL_MEMORY_NONE));
  if (bias) TRY(p_dnnl_memory_create(&e->m_bias, &b_md, g_engine, DNNL_MEMORY_NONE));
  if (!p_dnnl_memory_desc_equal(w_prim, &w_user)) {
    dnnl_primitive_desc_t rpd = NULL;
    TRY(p_dnnl_memory_create(&e->m_w_prim, w_prim, g_engine, DNNL_MEMORY_ALLOCATE));
    if (op == CONV_FILTER) {
      TRY(p_dnnl_reorder_primitive_desc_create(&rpd, w_prim, g_engine, &w_user, g_engine, NULL));
    } else {
      TRY(p_dnnl_memory_create(&e->m_w_user, &w_user, g_engine, DNNL_MEMORY_NONE));
      TRY(p_dnnl_reorder_primitive_desc_create(&rpd, &w_user, g_engine, w_prim, g_engine, NULL));
    }
    const dnnl_status_t s = p_dnnl_primitive_create(&e->wreorder, rpd);
    p_dnnl_primitive_desc_destroy(rpd);
    if (s != dnnl_success) goto fail;
  } else if (op != CONV_FILTER) {
    TRY(p_dnnl_memory_create(&e->m_w_prim, &w_user, g_engine, DNNL_MEMORY_NONE));
  }
  p_dnnl_primitive_desc_destroy(pd);
  if (attr) p_dnnl_primitive_attr_destroy(attr);
  if (po) p_dnnl_post_ops_destroy(po);
  e->state = 1;
  return;
fail:
  if (pd) p_dnnl_primitive_desc_destroy(pd);
  if (attr) p_dnnl_primitive_attr_destroy(attr);
  if (po) p_dnnl_post_ops_destroy(po);
  entry_free(e);
  e->op = op;
  e->d = *d;
  e->bias = bias;
  e->relu = relu;
  e->state = -1;
}

static Entry *lookup(int op, const ConvDims *d, int bias, int relu) {
  Entry *lru = &g_cache[0];
  for (int i = 0; i < CACHE_SIZE; i++) {
    Entry *e = &g_cache[i];
    if (same_key(e, op, d, bias, relu)) {
      e->stamp = ++g_clock;
      return e;
    }
    if (e->state == 0 || (lru->state != 0 && e->stamp < lru->stamp)) lru = e;
  }
  entry_free(lru);
  entry_build(lru, op, d, bias, relu);
  lru->stamp = ++g_clock;
  return lru;
}

static int exec2(dnnl_primitive_t p, int a1, dnnl_memory_t m1, int a2, dnnl_memory_t m2) {
  const dnnl_exec_arg_t args[2] = {{a1, m1}, {a2, m2}};
  return p_dnnl_primitive_execute(p, g_stream, 2, args) == dnnl_success;
}

int rd_dnnl_conv(int op, const ConvDims *d, const float *a, const float *b, const float *bias, int relu, float *out) {
  if (!g_enabled) return 0;
  Entry *e = lookup(op, d, bias != NULL, relu);
  if (e->state != 1) return 0;
  p_dnnl_memory_set_data_handle(e->m_a, (void *)a);
  p_dnnl_memory_set_data_handle(e->m_out, out);
  if (e->m_bias) p_dnnl_memory_set_data_handle(e->m_bias, (void *)bias);
  int ok = 1;
  if (op == CONV_FILTER) {
    p_dnnl_memory_set_data_handle(e->m_b, (void *)b);
    dnnl_memory_t dw = e->wreorder ? e->m_w_prim : e->m_out;
    const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->m_a}, {DNNL_ARG_DIFF_DST, e->m_b}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
    ok = p_dnnl_primitive_execute(e->prim, g_stream, 3, args) == dnnl_success;
    if (ok && e->wreorder) ok = exec2(e->wreorder, DNNL_ARG_FROM, e->m_w_prim, DNNL_ARG_TO, e->m_out);
  } else {
    if (e->wreorder) {
      p_dnnl_memory_set_data_handle(e->m_w_user, (void *)b);
      ok = exec2(e->wreorder, DNNL_ARG_FROM, e->m_w_user, DNNL_ARG_TO, e->m_w_prim);
    } else {
      p_dnnl_memory_set_data_handle(e->m_w_prim, (void *)b);
    }
    if (ok && op == CONV_FORWARD) {
      dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->m_a}, {DNNL_ARG_WEIGHTS, e->m_w_prim}, {DNNL_ARG_DST, e->m_out}, {DNNL_ARG_BIAS, e->m_bias}};
      ok = p_dnnl_primitive_execute(e->prim, g_stream, e->m_bias ? 4 : 3, args) == dnnl_success;
    } else if (ok) {
      const dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, e->m_a}, {DNNL_ARG_WEIGHTS, e->m_w_prim}, {DNNL_ARG_DIFF_SRC, e->m_out}};
      ok = p_dnnl_primitive_execute(e->prim, g_stream, 3, args) == dnnl_success;
    }
  }
  if (ok) ok = p_dnnl_stream_wait(g_stream) == dnnl_success;
  return ok;
}

/* ---------- batch normalisation ---------- */

/* PyTorch's CPU batch norm is its own code, not oneDNN's; here oneDNN's bnorm_tbb_jit ran 2-3× faster
 * than this addon's C loops at ResNet shapes (64×32×32×16 forward 0.34 vs 0.60 ms, backward 0.52 vs
 * 1.45 ms on 2 threads). Its statistics are float32 (the loops' are double). Shapes oneDNN serves
 * without a jit kernel (a channel count its jit does not take: nspc_bnorm, ref) are declined. */
typedef struct {
  int state, kind, n, s, c, scale, shift;
  float eps;
  unsigned long stamp;
  dnnl_primitive_desc_t hint;
  dnnl_primitive_t prim;
  dnnl_memory_t m_x, m_dy, m_out, m_scale, m_shift, m_mean, m_var, m_dscale, m_dshift;
  char impl[96];
} BnEntry;

#define BN_CACHE_SIZE 64
static BnEntry g_bn_cache[BN_CACHE_SIZE];

static void bn_entry_free(BnEntry *e) {
  if (e->prim) p_dnnl_primitive_destroy(e->prim);
  if (e->hint) p_dnnl_primitive_desc_destroy(e->hint);
  dnnl_memory_t *ms[] = {&e->m_x, &e->m_dy, &e->m_out, &e->m_scale, &e->m_shift, &e->m_mean, &e->m_var, &e->m_dscale, &e->m_dshift};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    if (*ms[i]) p_dnnl_memory_destroy(*ms[i]);
  memset(e, 0, sizeof *e);
}

static void bn_entry_build(BnEntry *e, int kind, int n, int s, int c, float eps, int scale, int shift) {
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_desc_t md, cmd;
  const dnnl_dims_t cdims = {c};
  unsigned flags = (scale ? dnnl_use_scale : 0) | (shift ? dnnl_use_shift : 0) | (kind == BN_INFER ? dnnl_use_global_stats : 0);
  if (!md_nhwc(&md, n, c, s, 1)) goto fail;
  TRY(p_dnnl_memory_desc_init_by_tag(&cmd, 1, cdims, dnnl_f32, dnnl_x));
  dnnl_batch_normalization_desc_t fwd;
  TRY(p_dnnl_batch_normalization_forward_desc_init(&fwd, kind == BN_INFER ? dnnl_forward_inference : dnnl_forward_training, &md, eps, flags));
  if (kind == BN_BACKWARD) {
    TRY(p_dnnl_primitive_desc_create(&e->hint, &fwd, NULL, g_engine, NULL));
    dnnl_batch_normalization_desc_t bwd;
    TRY(p_dnnl_batch_normalization_backward_desc_init(&bwd, dnnl_backward, &md, &md, eps, flags));
    TRY(p_dnnl_primitive_desc_create(&pd, &bwd, NULL, g_engine, e->hint));
  } else {
    TRY(p_dnnl_primitive_desc_create(&pd, &fwd, NULL, g_engine, NULL));
  }
  const char *impl = NULL;
  if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) snprintf(e->impl, sizeof e->impl, "%s", impl);
  if (!strstr(e->impl, "jit")) goto fail;
  TRY(p_dnnl_primitive_create(&e->prim, pd));
  dnnl_memory_t *big[] = {&e->m_x, &e->m_out, kind == BN_BACKWARD ? &e->m_dy : NULL};
  for (int i = 0; i < 3; i++)
    if (big[i]) TRY(p_dnnl_memory_create(big[i], &md, g_engine, DNNL_MEMORY_NONE));
  dnnl_memory_t *small[] = {&e->m_mean, &e->m_var, scale ? &e->m_scale : NULL, shift ? &e->m_shift : NULL, kind == BN_BACKWARD ? &e->m_dscale : NULL,
                            kind == BN_BACKWARD ? &e->m_dshift : NULL};
  for (int i = 0; i < 6; i++)
    if (small[i]) TRY(p_dnnl_memory_create(small[i], &cmd, g_engine, DNNL_MEMORY_NONE));
  p_dnnl_primitive_desc_destroy(pd);
  e->state = 1;
  return;
fail:
  if (pd) p_dnnl_primitive_desc_destroy(pd);
  char impl_kept[96];
  memcpy(impl_kept, e->impl, sizeof impl_kept);
  bn_entry_free(e);
  memcpy(e->impl, impl_kept, sizeof impl_kept);
  e->state = -1;
}

int rd_dnnl_bnorm(int kind, int n, int s, int c, float eps, const BnArgs *a) {
  if (!g_enabled) return 0;
  /* the backward takes the scale (not the shift) and gives both their gradients */
  const int scale = a->scale != NULL, shift = kind == BN_BACKWARD || a->shift != NULL;
  if (kind == BN_BACKWARD && (!scale || !a->dy || !a->dscale || !a->dshift)) return 0;
  BnEntry *e = NULL, *lru = &g_bn_cache[0];
  for (int i = 0; i < BN_CACHE_SIZE && !e; i++) {
    BnEntry *t = &g_bn_cache[i];
    if (t->state != 0 && t->kind == kind && t->n == n && t->s == s && t->c == c && t->eps == eps && t->scale == scale && t->shift == shift) e = t;
    else if (t->state == 0 || (lru->state != 0 && t->stamp < lru->stamp)) lru = t;
  }
  if (!e) {
    e = lru;
    bn_entry_free(e);
    bn_entry_build(e, kind, n, s, c, eps, scale, shift);
    e->kind = kind, e->n = n, e->s = s, e->c = c, e->eps = eps, e->scale = scale, e->shift = shift;
  }
  e->stamp = ++g_clock;
  if (e->state != 1) return 0;
  dnnl_exec_arg_t args[9];
  int na = 0;
#define ARG(id, mem, ptr)                                     \
  do {                                                        \
    p_dnnl_memory_set_data_handle(mem, (void *)(ptr));        \
    args[na].arg = id;                                        \
    args[na++].memory = mem;                                  \
  } while (0)
  ARG(DNNL_ARG_SRC, e->m_x, a->x);
  ARG(DNNL_ARG_MEAN, e->m_mean, a->mean);
  ARG(DNNL_ARG_VARIANCE, e->m_var, a->var);
  if (scale) ARG(DNNL_ARG_SCALE, e->m_scale, a->scale);
  /* the backward's execution asks for a shift too (use_shift) though no gradient depends on β:
   * it is given the scale's buffer, never read */
  if (shift) ARG(DNNL_ARG_SHIFT, e->m_shift, kind == BN_BACKWARD ? a->scale : a->shift);
  if (kind == BN_BACKWARD) {
    ARG(DNNL_ARG_DIFF_DST, e->m_dy, a->dy);
    ARG(DNNL_ARG_DIFF_SRC, e->m_out, a->out);
    ARG(DNNL_ARG_DIFF_SCALE, e->m_dscale, a->dscale);
    ARG(DNNL_ARG_DIFF_SHIFT, e->m_dshift, a->dshift);
  } else {
    ARG(DNNL_ARG_DST, e->m_out, a->out);
  }
#undef ARG
  if (p_dnnl_primitive_execute(e->prim, g_stream, na, args) == dnnl_success && p_dnnl_stream_wait(g_stream) == dnnl_success) return 1;
  /* a primitive that does not run is declined from now on (and listed so) */
  e->state = -1;
  return 0;
}

size_t rd_dnnl_primitives(char *buf, size_t len) {
  static const char *ops[3] = {"forward", "filter-grad", "input-grad"};
  size_t used = 0;
  if (len) buf[0] = '\0';
  for (int i = 0; i < CACHE_SIZE; i++) {
    const Entry *e = &g_cache[i];
    if (e->state == 0 || used + 1 >= len) continue;
    const ConvDims *d = &e->d;
    int k = snprintf(buf + used, len - used, "%s%s%s n%d %dx%dx%d k%dx%d s%d/%d -> %dx%dx%d: %s\n", ops[e->op], e->bias ? "+bias" : "", e->relu ? "+relu" : "", d->n, d->h, d->w,
                     d->cin, d->kh, d->kw, d->sh, d->sw, d->ho, d->wo, d->cout, e->state == 1 ? e->impl : "declined (im2col + sgemm)");
    if (k < 0) break;
    used += (size_t)k < len - used ? (size_t)k : len - used - 1;
  }
  static const char *bn_kinds[3] = {"batchnorm-train", "batchnorm-infer", "batchnorm-grad"};
  for (int i = 0; i < BN_CACHE_SIZE; i++) {
    const BnEntry *e = &g_bn_cache[i];
    if (e->state == 0 || used + 1 >= len) continue;
    char why[128] = "";
    if (e->state != 1) snprintf(why, sizeof why, "declined (C loops; oneDNN offers %s)", e->impl[0] ? e->impl : "nothing");
    int k = snprintf(buf + used, len - used, "%s n%d s%d c%d: %s\n", bn_kinds[e->kind], e->n, e->s, e->c, e->state == 1 ? e->impl : why);
    if (k < 0) break;
    used += (size_t)k < len - used ? (size_t)k : len - used - 1;
  }
  return used;
}

#endif
