/* glassnet's compiled kernels: ReLU, the tiled max-pool and the conv's copies (pointwise.c),
 * the SGD and Adam updates (optim.c), the RNN, LSTM and GRU time steps (cells.c) and whole
 * time loops (loops.c), cross-entropy (loss.c). This file comes first: the includes and PAR.
 *
 * Built once per machine by ops/_native.py (cffi; gcc or clang, -O3 -march=native -fopenmp)
 * and loaded as a small extension module: no LLVM in the process. Every kernel has a NumPy
 * twin in the op that calls it, and the tests check the two agree (bit for bit for the
 * copies, adds and ReLU; within float32 rounding for the recurrent steps).
 *
 * Arrays come as pointers to their first element with the shape and, for 2-D rows, the row
 * stride in elements; the last axis is always contiguous. `nt` is the thread count of the
 * kernel's outer loop (1: no OpenMP team is started).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PAR _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")

/* Subnormal floats flushed to zero (results: FTZ) and read as zero (inputs: DAZ), or not, in
 * the calling thread and in the OpenMP team's nt threads (MKL's and the kernels': the
 * floating-point control register is per thread). Returns 0 where the CPU has no such mode
 * here (then nothing changes). torch.set_flush_denormal's meaning. */
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
static int flush_here(int on)
{
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | 0x8040u) : (csr & ~0x8040u));   /* FTZ bit 15, DAZ bit 6 */
    return 1;
}
#elif defined(__aarch64__)
static int flush_here(int on)
{
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr = on ? (fpcr | (1ull << 24)) : (fpcr & ~(1ull << 24));          /* FZ */
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
    return 1;
}
#else
static int flush_here(int on)
{
    (void)on;
    return 0;
}
#endif

int set_flush_denormal(int on, int nt)
{
    if (!flush_here(on))
        return 0;
    _Pragma("omp parallel num_threads(nt) if(nt > 1)")
    flush_here(on);
    return 1;
}
