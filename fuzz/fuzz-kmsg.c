/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel log (daemon/kmsg.c): records split from a byte stream, their
 * headers, the zPCI lines, the saved cursor. */
#include <errno.h>

#include "daemon/kmsg.h"
#include "fuzz/fuzz-util.h"

static void on_line(const char *line, size_t len, void *userdata)
{
	KmsgRecord rec;
	KmsgZpci z;

	FUZZ_CHECK(len <= KMSG_LINE_MAX);
	FUZZ_CHECK(!memchr(line, '\n', len));
	if (kmsg_record_parse(line, len, &rec) < 0)
		return;
	FUZZ_CHECK(rec.message >= line && rec.message + rec.message_len == line + len);
	if (kmsg_zpci_parse(rec.message, rec.message_len, &z) > 0)
		FUZZ_CHECK(memchr(z.slot, '\0', sizeof(z.slot)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static KmsgSplitter splitter;
	KmsgCursor c = {}, resumed = {};
	char *text, buf[256];
	uint64_t gap;

	/* The first byte chooses: stream pieces, or one record per read. */
	splitter = (KmsgSplitter){};
	if (size > 0 && (data[0] & 1))
		for (size_t off = 1; off < size; off += 7)
			kmsg_splitter_feed(&splitter, (const char *)data + off,
					   size - off < 7 ? size - off : 7, false, on_line, NULL);
	else if (size > 0)
		kmsg_splitter_feed(&splitter, (const char *)data + 1, size - 1, true, on_line, NULL);

	/* Also the message parser on the whole input. */
	{
		KmsgZpci z;

		(void)kmsg_zpci_parse((const char *)data, size, &z);
	}

	text = fuzz_strndup(data, size);
	if (kmsg_cursor_parse(text, &c) == 0) {
		int n = kmsg_cursor_format(&c, buf, sizeof(buf));
		KmsgCursor again = {};

		if (n >= 0) {
			FUZZ_CHECK(kmsg_cursor_parse(buf, &again) == 0);
			FUZZ_CHECK(again.valid == c.valid && again.seq == c.seq &&
				   strcmp(again.boot_id, c.boot_id) == 0);
		}
		kmsg_cursor_resume(&resumed, &c, c.boot_id);
		if (resumed.valid && resumed.seq < UINT64_MAX)
			FUZZ_CHECK(kmsg_cursor_advance(&resumed, resumed.seq + 1, &gap) && gap == 0);
	}
	free(text);
	return 0;
}
