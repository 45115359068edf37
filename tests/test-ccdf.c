/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "common/ccdf.h"

/* fh 0x80000021, fid 0x00000021, ett 0xa, mvn 0x123, dmaas 0x45, q 1, rw 1,
 * faddr 0x0102030405060708, pec 0x003a — written out byte by byte, as the
 * platform stores it (big-endian). */
static const uint8_t known[ZPCI_CCDF_ERR_SIZE] = {
	0x00, 0x00, 0x00, 0x00,                         /* reserved */
	0x80, 0x00, 0x00, 0x21,                         /* fh */
	0x00, 0x00, 0x00, 0x21,                         /* fid */
	0xa1, 0x23, 0x45, 0x03,                         /* ett mvn dmaas reserved q rw */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* faddr */
	0x00, 0x00, 0x00, 0x00,                         /* reserved */
	0x00, 0x00,                                     /* reserved */
	0x00, 0x3a,                                     /* pec */
};

START_TEST(test_parse_known_bytes)
{
	ZpciCcdf c;

	ck_assert_int_eq(ccdf_parse(known, sizeof(known), &c), 0);
	ck_assert_uint_eq(c.fh, 0x80000021);
	ck_assert_uint_eq(c.fid, 0x21);
	ck_assert_uint_eq(c.ett, 0xa);
	ck_assert_uint_eq(c.mvn, 0x123);
	ck_assert_uint_eq(c.dmaas, 0x45);
	ck_assert(c.q);
	ck_assert(c.rw);
	ck_assert_uint_eq(c.faddr, 0x0102030405060708ULL);
	ck_assert_uint_eq(c.pec, 0x3a);
}
END_TEST

START_TEST(test_encode_matches_big_endian_bytes)
{
	const ZpciCcdf c = {
		.fh = 0x80000021,
		.fid = 0x21,
		.ett = 0xa,
		.mvn = 0x123,
		.dmaas = 0x45,
		.q = true,
		.rw = true,
		.faddr = 0x0102030405060708ULL,
		.pec = 0x3a,
	};
	uint8_t out[ZPCI_CCDF_ERR_SIZE];

	memset(out, 0xee, sizeof(out));
	ccdf_encode(&c, out);
	ck_assert_mem_eq(out, known, sizeof(known));
}
END_TEST

START_TEST(test_single_bits)
{
	uint8_t buf[ZPCI_CCDF_ERR_SIZE] = {};
	ZpciCcdf c;

	buf[15] = 0x02; /* q only */
	ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
	ck_assert(c.q);
	ck_assert(!c.rw);
	ck_assert_uint_eq(c.ett, 0);
	ck_assert_uint_eq(c.mvn, 0);
	ck_assert_uint_eq(c.dmaas, 0);

	buf[15] = 0x01; /* rw only */
	ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
	ck_assert(!c.q);
	ck_assert(c.rw);

	memset(buf, 0, sizeof(buf));
	buf[12] = 0x08; /* the highest bit of mvn, next to ett */
	ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
	ck_assert_uint_eq(c.ett, 0);
	ck_assert_uint_eq(c.mvn, 0x800);

	memset(buf, 0, sizeof(buf));
	buf[31] = 0x01; /* pec 0x0001, not 0x0100 */
	ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
	ck_assert_uint_eq(c.pec, 0x0001);
	buf[30] = 0x40;
	ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
	ck_assert_uint_eq(c.pec, 0x4001);
}
END_TEST

START_TEST(test_round_trip)
{
	static const ZpciCcdf cases[] = {
		{ 0 },
		{ .fh = 0xffffffff,
		  .fid = 0xffffffff,
		  .ett = 0xf,
		  .mvn = 0xfff,
		  .dmaas = 0xff,
		  .q = true,
		  .rw = true,
		  .faddr = UINT64_MAX,
		  .pec = 0xffff },
		{ .fh = 0x00010203,
		  .fid = 0x04050607,
		  .ett = 1,
		  .mvn = 1,
		  .dmaas = 1,
		  .faddr = 1,
		  .pec = 0x40 },
		{ .fh = 0x12345678,
		  .fid = 0x9abcdef0,
		  .ett = 8,
		  .mvn = 0x800,
		  .dmaas = 0x80,
		  .rw = true,
		  .faddr = 0x8000000000000000ULL,
		  .pec = 0x3b },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[ZPCI_CCDF_ERR_SIZE];
		ZpciCcdf c;

		ccdf_encode(&cases[i], buf);
		ck_assert_int_eq(ccdf_parse(buf, sizeof(buf), &c), 0);
		ck_assert_uint_eq(c.fh, cases[i].fh);
		ck_assert_uint_eq(c.fid, cases[i].fid);
		ck_assert_uint_eq(c.ett, cases[i].ett);
		ck_assert_uint_eq(c.mvn, cases[i].mvn);
		ck_assert_uint_eq(c.dmaas, cases[i].dmaas);
		ck_assert_int_eq(c.q, cases[i].q);
		ck_assert_int_eq(c.rw, cases[i].rw);
		ck_assert_uint_eq(c.faddr, cases[i].faddr);
		ck_assert_uint_eq(c.pec, cases[i].pec);
	}
}
END_TEST

START_TEST(test_out_of_range_fields_are_masked)
{
	const ZpciCcdf c = { .ett = 0xff, .mvn = 0xffff, .dmaas = 0xff };
	uint8_t buf[ZPCI_CCDF_ERR_SIZE];

	ccdf_encode(&c, buf);
	/* ett and mvn do not spill into each other or into reserved bits */
	ck_assert_uint_eq(buf[12], 0xff);
	ck_assert_uint_eq(buf[13], 0xff);
	ck_assert_uint_eq(buf[14], 0xff);
	ck_assert_uint_eq(buf[15], 0x00);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(buf[i], 0);
}
END_TEST

START_TEST(test_short_and_garbage)
{
	uint8_t garbage[64];
	ZpciCcdf c;

	ck_assert_int_eq(ccdf_parse(known, 0, &c), -EBADMSG);
	ck_assert_int_eq(ccdf_parse(known, ZPCI_CCDF_ERR_SIZE - 1, &c), -EBADMSG);
	ck_assert_int_eq(ccdf_parse(NULL, 32, &c), -EBADMSG);

	/* longer records are accepted: the first 32 bytes count */
	memset(garbage, 0xff, sizeof(garbage));
	memcpy(garbage, known, sizeof(known));
	ck_assert_int_eq(ccdf_parse(garbage, sizeof(garbage), &c), 0);
	ck_assert_uint_eq(c.pec, 0x3a);

	memset(garbage, 0xff, sizeof(garbage));
	ck_assert_int_eq(ccdf_parse(garbage, ZPCI_CCDF_ERR_SIZE, &c), 0);
	ck_assert_uint_eq(c.ett, 0xf);
	ck_assert_uint_eq(c.mvn, 0xfff);
	ck_assert_uint_eq(c.pec, 0xffff);
}
END_TEST

static Suite *ccdf_suite(void)
{
	Suite *s = suite_create("ccdf");
	TCase *tc = tcase_create("ccdf");

	tcase_add_test(tc, test_parse_known_bytes);
	tcase_add_test(tc, test_encode_matches_big_endian_bytes);
	tcase_add_test(tc, test_single_bits);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_out_of_range_fields_are_masked);
	tcase_add_test(tc, test_short_and_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ccdf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
