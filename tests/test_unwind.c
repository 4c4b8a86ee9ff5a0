/* test_unwind.c - the x86-64 unwinder of telemetry_capture_error (>>stack: rules read from
   .eh_frame once per return address, kept in a table) gives exactly libgcc's frames: the same
   stack is walked by both from the same frame and the two lists compared, for a 10-deep chain,
   frames with a variable-length array (their CFA is rbp-based), a recursion deeper than
   TELEMETRY_MAX_FRAMES, frames inside libc (qsort's comparator), another thread, a walk from a
   signal handler (the signal frame is left to libgcc: the walk must say so and still match),
   and again after the loader loaded a module (the table is emptied). None but the signal frame
   may need libgcc; where the C library has no unwind tables (musl), libgcc's walk ends in it and
   so must ours. Elsewhere than x86-64 the library always asks libgcc, and the test checks that
   the two walks agree. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
static volatile int sink;

#if defined(TELEMETRY__FAST_UNWIND)
#  define FALLBACKS() telemetry__unwind_fallbacks
#else
#  define FALLBACKS() 0UL
#endif

/* Both walks from the frame of the function that calls this one, as telemetry_capture_error
   does; 1 when they give the same frames (and more than `min` of them, when libgcc found more). */
static NOINLINE int same_walks(int min, const char *what) {
    static telemetry__stack a, b;
    uintptr_t from = (uintptr_t)__builtin_return_address(0);
    int i, same;
    telemetry__capture_stack_from(&a, from);
    telemetry__unwind_libgcc(&b, from);
    same = a.count == b.count && a.count > 0 && (a.count > min || b.count <= min);
    for (i = 0; same && i < a.count; i++) same = a.addr[i] == b.addr[i];
    if (!same) {
        fprintf(stderr, "%s: %d frames against libgcc's %d\n", what, a.count, b.count);
        for (i = 0; i < a.count || i < b.count; i++)
            fprintf(stderr, "  %2d %#lx %#lx\n", i, i < a.count ? (unsigned long)a.addr[i] : 0UL, i < b.count ? (unsigned long)b.addr[i] : 0UL);
    }
    return same;
}

#define LEVEL(n, next) static NOINLINE int chain##n(int min) { int r = next(min); sink += r; return r; }
static NOINLINE int chain0(int min) { return same_walks(min, "chain"); }
LEVEL(1, chain0) LEVEL(2, chain1) LEVEL(3, chain2) LEVEL(4, chain3) LEVEL(5, chain4)
LEVEL(6, chain5) LEVEL(7, chain6) LEVEL(8, chain7) LEVEL(9, chain8)

/* a frame whose size is known only at run time: gcc and clang address it from rbp */
static NOINLINE int with_vla(int n, int depth) {
    volatile char buf[n];
    int r;
    buf[0] = (char)depth;
    r = depth ? with_vla(n + 16, depth - 1) : same_walks(5, "vla");
    return r + buf[0] - (char)depth;
}

static NOINLINE int deep(int n) { int r = n ? deep(n - 1) : same_walks(TELEMETRY_MAX_FRAMES - 1, "deep"); sink += r; return r; }
static int own_frames;                             /* the program's frames alone: libgcc never needed */
static NOINLINE int own_chain(int min) {
    static telemetry__stack a;
    uintptr_t from = (uintptr_t)__builtin_return_address(0);
    unsigned long before = FALLBACKS();
    int i;
    telemetry__capture_stack_from(&a, from);
    for (i = 0; i < a.count; i++) if (a.addr[i] == (uintptr_t)__builtin_return_address(0)) break;
    own_frames = a.count > min && i == 0 && FALLBACKS() == before;
    return own_frames;
}
#define OWN(n, next) static NOINLINE int own##n(int min) { int r = next(min); sink += r; return r; }
OWN(1, own_chain) OWN(2, own1) OWN(3, own2) OWN(4, own3) OWN(5, own4)

static int qsort_same = 1;
static int compare_ints(const void *x, const void *y) {
    static int checked;
    if (!checked++) qsort_same = same_walks(4, "qsort");
    return *(const int *)x - *(const int *)y;
}

static void *thread_main(void *arg) { *(int *)arg = chain9(8); return NULL; }

static volatile int signal_same = -1;
static void on_signal(int sig) { (void)sig; signal_same = same_walks(4, "signal"); }
static NOINLINE int raise_in_chain(void) { raise(SIGUSR1); sink++; return signal_same; }

int main(void) {
    unsigned long fallbacks = FALLBACKS();
    int values[64], i, from_thread = 0;
    pthread_t t;
    struct sigaction sa;

    CHECK(chain9(10));                                  /* the walk fills the table ... */
    CHECK(chain9(10));                                  /* ... and then reads it */
    CHECK(with_vla(40, 6));
    CHECK(deep(200));
    for (i = 0; i < 64; i++) values[i] = (i * 37) % 64;
    qsort(values, 64, sizeof values[0], compare_ints);
    CHECK(qsort_same);
    CHECK(pthread_create(&t, NULL, thread_main, &from_thread) == 0 && pthread_join(t, NULL) == 0);
    CHECK(from_thread);
#if defined(TELEMETRY__FAST_UNWIND)
    CHECK(own5(4));                                     /* the first frames, without libgcc */
    CHECK_INT(FALLBACKS(), fallbacks);                  /* none of the walks above needed libgcc */
#else
    (void)&own5;                                        /* (only the fast walk has frames of its own) */
#endif

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    fallbacks = FALLBACKS();
    CHECK_INT(raise_in_chain(), 1);
    (void)fallbacks;                                    /* (only the fast walk counts them) */
#if defined(TELEMETRY__FAST_UNWIND)
    CHECK(FALLBACKS() > fallbacks);                     /* the signal frame went to libgcc */

    /* a module loaded since the table was filled: its rules are forgotten, then read again */
    telemetry__cfi.adds--;
    CHECK(chain9(10));
    CHECK(telemetry__cfi.adds == telemetry__module_adds());
#endif
    return testlib_report("test_unwind");
}
