// CBLAS: the system BLAS behind one header.
// Linux: Debian's OpenBLAS (apt libopenblas-dev, pkg-config openblas). macOS: Accelerate.
// The Kernels target links the library (openblas on Linux, the Accelerate framework on macOS).
#ifndef RLHF_CBLAS_SHIM_H
#define RLHF_CBLAS_SHIM_H

#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK 1
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

/// Sets the number of threads the BLAS library itself may use (a no-op where unsupported).
static inline void rlhf_blas_set_threads(int n) {
#if defined(__APPLE__)
    (void)n;
#else
    openblas_set_num_threads(n);
#endif
}

/// The number of threads the BLAS library will use, or -1 where it cannot say.
static inline int rlhf_blas_get_threads(void) {
#if defined(__APPLE__)
    return -1;
#else
    return openblas_get_num_threads();
#endif
}

/// The name of the BLAS kernel set in use ("Haswell", "SkylakeX", "Zen", …, or "Accelerate").
static inline const char *rlhf_blas_core_name(void) {
#if defined(__APPLE__)
    return "Accelerate";
#else
    return openblas_get_corename();
#endif
}

/// The build configuration string of the BLAS library.
static inline const char *rlhf_blas_config(void) {
#if defined(__APPLE__)
    return "Accelerate";
#else
    return openblas_get_config();
#endif
}

#if defined(__linux__)
#include <malloc.h>
#endif

/// glibc's mallopt(M_MMAP_THRESHOLD, mmap_threshold) and mallopt(M_TRIM_THRESHOLD, trim_threshold):
/// 1 when both were applied, 0 otherwise (or where malloc has no such options).
static inline int rlhf_keep_freed_heap(int mmap_threshold, int trim_threshold) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#else
    (void)mmap_threshold; (void)trim_threshold;
    return 0;
#endif
}

/// 1 when glibc's malloc served `block` (from malloc) with its own mmap (the IS_MMAPPED bit of
/// the chunk's size word), 0 when it came from the heap, -1 where unknown (not glibc).
static inline int rlhf_heap_block_is_mapped(const void *block) {
#if defined(M_MMAP_THRESHOLD) && defined(__GLIBC__)
    return (int)((((const size_t *)block)[-1] & 2) != 0);
#else
    (void)block;
    return -1;
#endif
}

/// 1 when the CPU executes AVX-512F (and the OS saves its state), else 0.
static inline int rlhf_cpu_has_avx512f(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

#endif
