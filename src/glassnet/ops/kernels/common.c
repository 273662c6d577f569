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
