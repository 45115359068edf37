# bench/: benchmarks of the real zpcid on the simulated LPAR, and the floor
# program they are measured against (docs/benchmarks.md). Built with the
# tests (make check) but not run by it: bench/run.sh runs them, in a short
# smoke mode from tools/stages.d/70-bench-smoke.sh.
# The floor needs no simulated LPAR: the s390x test guest runs it too.
check_PROGRAMS += bench/zpcid-floor
bench_zpcid_floor_SOURCES = bench/zpcid-floor.c
bench_zpcid_floor_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(JSONC_CFLAGS)
bench_zpcid_floor_LDADD = $(DAEMON_LIBS)

if HAVE_UMOCKDEV
check_PROGRAMS += bench/zpcid-bench
bench_zpcid_bench_SOURCES = bench/zpcid-bench.c bench/bench-util.c bench/bench-util.h
bench_zpcid_bench_CFLAGS = $(AM_CFLAGS) $(UMOCKDEV_CFLAGS) $(SYSTEMD_CFLAGS)
bench_zpcid_bench_LDADD = $(DEVWORLD_LIBS) $(SYSTEMD_LIBS) $(DAEMON_LIBS) -lpthread

# the vfio side of hundreds of functions, in the process that opens them
# (bench/vfio-emu.h): an LD_PRELOAD library, built as a program linked -shared
check_PROGRAMS += bench/vfio-emu.so
bench_vfio_emu_so_SOURCES = bench/vfio-emu.c bench/vfio-emu.h
bench_vfio_emu_so_CFLAGS = $(AM_CFLAGS) -fPIC
bench_vfio_emu_so_LDFLAGS = -shared -Wl,-z,defs
bench_vfio_emu_so_LDADD = -ldl -lpthread
endif

EXTRA_DIST += bench/run.sh tools/stages.d/70-bench-smoke.sh
