/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio-emu: the control block shared by bench/vfio-emu.so (an LD_PRELOAD
 * library that plays the kernel's vfio side of zPCI functions inside the
 * process that opens them) and the benchmark that drives it.
 *
 * The benchmark creates a file of vfio_emu_size(n) bytes, fills in the
 * header and each function's cdev, fid and fh, and starts the program with
 * LD_PRELOAD naming the library and $ZPCID_VFIO_EMU naming the file. Both
 * map it shared. The library writes the counters and reads the mode; the
 * benchmark writes the mode and reads the counters. Everything else of
 * the process (sysfs, the journal, the bus) is left to the system.
 */

#include <stddef.h>
#include <stdint.h>

#define VFIO_EMU_MAGIC       0x7a706369u /* "zpci" */
#define VFIO_EMU_QUEUE_DEPTH 4           /* the kernel's FIFO per function */
#define VFIO_EMU_MAX         4096

typedef enum VfioEmuMode {
	VFIO_EMU_IDLE = 0,     /* no errors arrive */
	VFIO_EMU_SATURATE = 1, /* every queue is topped up to its depth as soon as it has room */
	VFIO_EMU_RATE = 2,     /* each open function gets @rate errors per second, full queues drop */
} VfioEmuMode;

typedef struct VfioEmuFunction {
	/* set by the benchmark */
	uint32_t cdev; /* N of /dev/vfio/devices/vfioN */
	uint32_t fid, fh;
	uint16_t pec;
	uint16_t pad;
	/* written by the library */
	uint32_t open_pid;   /* the process that has it open, 0 when closed */
	uint32_t registered; /* an ERR eventfd is registered */
	uint32_t queued;     /* records waiting */
	uint32_t head;
	uint64_t injected; /* errors that arrived while open (queued or dropped) */
	uint64_t dropped;  /* arrived at a full queue: the newest is dropped */
	uint64_t drained;  /* records a GET handed out */
	uint64_t opens, resets, gets_empty;
} VfioEmuFunction;

typedef struct VfioEmu {
	uint32_t magic;
	uint32_t n;
	uint32_t mode;            /* VfioEmuMode, written by the benchmark */
	uint32_t rate;            /* errors per second per function in VFIO_EMU_RATE */
	uint64_t injector_cpu_ns; /* CPU time of the library's injector thread */
	uint64_t injector_rounds;
	VfioEmuFunction f[];
} VfioEmu;

static inline size_t vfio_emu_size(unsigned n)
{
	return sizeof(VfioEmu) + (size_t)n * sizeof(VfioEmuFunction);
}
