# fuzz/: libFuzzer harnesses for every parser of input zpcid does not
# control, with their seed corpora. "make fuzz" builds them with clang (ASan,
# UBSan) and runs each for FUZZ_SECONDS (default 25); CI runs it from
# tools/stages.d/85-fuzz.sh.
FUZZ_SECONDS ?= 25
fuzz: all
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(top_srcdir)/fuzz/run.sh --build $(abs_top_builddir)
.PHONY: fuzz

EXTRA_DIST += fuzz/run.sh fuzz/fuzz-util.h \
	fuzz/fuzz-jsonpos.c fuzz/fuzz-config.c fuzz/fuzz-kmsg.c fuzz/fuzz-sysfs.c \
	fuzz/fuzz-ccdf.c fuzz/fuzz-history.c fuzz/fuzz-state.c \
	fuzz/corpus tools/stages.d/85-fuzz.sh
# The record's writers without json-c, differentially against json-c.
EXTRA_DIST += fuzz/fuzz-event-json.c
