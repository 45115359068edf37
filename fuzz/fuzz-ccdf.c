/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CCDF error records (common/ccdf.c), as the vfio feature returns them: a
 * record that parses encodes back to bytes that parse to the same record. */
#include "common/ccdf.h"
#include "common/event.h"
#include "fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ZpciCcdf c, again;
	uint8_t out[ZPCI_CCDF_ERR_SIZE];

	if (ccdf_parse(data, size, &c) < 0)
		return 0;
	ccdf_encode(&c, out);
	FUZZ_CHECK(ccdf_parse(out, sizeof(out), &again) == 0);
	FUZZ_CHECK(c.fh == again.fh && c.fid == again.fid && c.ett == again.ett && c.mvn == again.mvn &&
		   c.dmaas == again.dmaas && c.q == again.q && c.rw == again.rw && c.faddr == again.faddr &&
		   c.pec == again.pec);
	/* The reserved bits are zero, the rest is what came in. */
	FUZZ_CHECK(ccdf_parse(out, sizeof(out), &again) == 0);
	{
		ZpciEvent e = {};

		event_set_ccdf(&e, &c);
		event_format_message(&e);
		FUZZ_CHECK(memchr(e.message, '\0', sizeof(e.message)));
	}
	return 0;
}
