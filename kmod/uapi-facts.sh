# shellcheck shell=bash
# uapi-facts.sh - the uAPI facts of the zPCI error feature, and their proof
# against a patched kernel tree.  Sourced by check.sh, which defines pass()
# and fail().
#
#   facts_load        read the facts from DESIGN.md section 2 (the file
#                     ../shared/DESIGN.md beside the checkout, or
#                     $ZPCID_DESIGN) and from the table in kmod/README.md;
#                     with both present they must agree, with only the
#                     README the table is used.  Sets FACT_INDEX,
#                     FACT_LEN_TYPE, FACT_LEN_OFFSET, FACT_CAP_VERSION,
#                     FACT_CAP_SIZE, FACT_ERRNOS (sorted, space-separated)
#                     and FACTS_FROM (what they came from, or why not).
#   uapi_prove TREE   compile a user-space probe against TREE/usr/include
#                     (after "make headers") asserting the facts, and
#                     compare the errnos documented in the header and
#                     returned by the patched code with FACT_ERRNOS.

FACTS_KMOD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# facts_from_design FILE: the facts as "key=value" lines, from the text of
# section 2; nothing for a fact the text does not state.
# shellcheck disable=SC2016 # the backquotes are markdown, matched literally
facts_from_design() {
	local sec
	sec=$(sed -n '/^## 2\./,/^## 3\./p' "$1")
	echo "index=$(grep -oE 'VFIO_DEVICE_FEATURE_ZPCI_ERROR`? \(index [0-9]+\)' <<<"$sec" | grep -oE '[0-9]+' | head -1)"
	echo "len_type=$(grep -oE '`__u(8|16|32|64) ccdf_err_length`' <<<"$sec" | grep -oE '__u[0-9]+' | head -1)"
	echo "len_offset=$(grep -oE 'ccdf_err_length`(\*\*)? at offset [0-9]+' <<<"$sec" | grep -oE '[0-9]+$' | head -1)"
	echo "cap_version=$(grep -oE 'VFIO_DEVICE_INFO_CAP_ZPCI_BASE`? version [0-9]+' <<<"$sec" | grep -oE '[0-9]+$' | head -1)"
	echo "cap_size=$(grep -oE 'capability stays [0-9]+ bytes' <<<"$sec" | grep -oE '[0-9]+' | head -1)"
	# the errnos named in the bullet that describes the feature
	echo "errnos=$(sed -n '/^- The feature:/,/^- /p' <<<"$sec" | sed '$d' |
		grep -oE '`-E[A-Z]+`' | tr -d '`' | sort -u | tr '\n' ' ' | sed 's/ $//')"
}

# facts_from_readme FILE: the same from the "Facts" table of kmod/README.md
facts_from_readme() {
	local key col
	for key in index len_type len_offset cap_version cap_size errnos; do
		col=$(grep -E "^\| fact:$key \|" "$1" | head -1 | awk -F'|' '{print $3}')
		col=$(tr -d '`' <<<"$col" | tr -s ' ' | sed 's/^ //; s/ $//')
		[ "$key" = errnos ] && col=$(tr ' ' '\n' <<<"$col" | sort -u | tr '\n' ' ' | sed 's/ $//')
		echo "$key=$col"
	done
}

# shellcheck disable=SC2034 # FACT_* and FACTS_FROM are for the caller
facts_load() {
	local design=${ZPCID_DESIGN:-$FACTS_KMOD/../../shared/DESIGN.md} readme=$FACTS_KMOD/README.md
	local d r missing
	r=$(facts_from_readme "$readme")
	if [ -e "$design" ]; then
		d=$(facts_from_design "$design")
		missing=$(grep -E '=$' <<<"$d" | cut -d= -f1 | tr '\n' ' ')
		if [ -n "$missing" ]; then
			FACTS_FROM="$design states no value for: $missing"
			return 1
		fi
		if [ "$d" != "$r" ]; then
			FACTS_FROM="the table in kmod/README.md disagrees with $design: $(diff <(echo "$d") <(echo "$r") | grep '^[<>]' | tr '\n' ' ')"
			return 1
		fi
		FACTS_FROM="$(realpath "$design") section 2 (and the README table agrees): $(tr '\n' ' ' <<<"$d")"
	else
		missing=$(grep -E '=$' <<<"$r" | cut -d= -f1 | tr '\n' ' ')
		if [ -n "$missing" ]; then
			FACTS_FROM="no DESIGN.md, and kmod/README.md has no value for: $missing"
			return 1
		fi
		d=$r
		FACTS_FROM="kmod/README.md table ($design not found): $(tr '\n' ' ' <<<"$r")"
	fi
	FACT_INDEX=$(sed -n 's/^index=//p' <<<"$d")
	FACT_LEN_TYPE=$(sed -n 's/^len_type=//p' <<<"$d")
	FACT_LEN_OFFSET=$(sed -n 's/^len_offset=//p' <<<"$d")
	FACT_CAP_VERSION=$(sed -n 's/^cap_version=//p' <<<"$d")
	FACT_CAP_SIZE=$(sed -n 's/^cap_size=//p' <<<"$d")
	FACT_ERRNOS=$(sed -n 's/^errnos=//p' <<<"$d")
}

# the body of C function NAME in FILE (from its definition to the closing
# brace in column 0)
c_function_body() {
	awk -v name="$1" '
		!body && $0 ~ "^[a-z].*[ *]" name "\\(" { body = 1 }
		body { print }
		body && /^}/ { exit }' "$2"
}

uapi_prove() {
	local tree=$1 probe errs hdr code missing e
	probe=$(mktemp /tmp/zpci-uapi-probe.XXXXXX.c)
	cat >"$probe" <<EOF
#include <stddef.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#define FIELD(m) (((struct vfio_device_info_cap_zpci_base *)0)->m)
_Static_assert(VFIO_DEVICE_FEATURE_ZPCI_ERROR == $FACT_INDEX, "feature index");
_Static_assert(offsetof(struct vfio_device_info_cap_zpci_base, ccdf_err_length) == $FACT_LEN_OFFSET,
	       "offset of ccdf_err_length");
_Static_assert(__builtin_types_compatible_p(__typeof__(FIELD(ccdf_err_length)), $FACT_LEN_TYPE),
	       "type of ccdf_err_length");
_Static_assert(sizeof(FIELD(ccdf_err_length)) == sizeof($FACT_LEN_TYPE), "size of ccdf_err_length");
_Static_assert(sizeof(struct vfio_device_info_cap_zpci_base) == $FACT_CAP_SIZE, "capability size");
_Static_assert(sizeof(struct vfio_device_feature_zpci_err) == 8, "payload size");
_Static_assert(offsetof(struct vfio_device_feature_zpci_err, data) == 0, "payload data");
_Static_assert(_Alignof(struct vfio_device_feature_zpci_err) == 8, "payload alignment");
int main(void)
{
	return 0;
}
EOF
	if errs=$(s390x-linux-gnu-gcc -Wall -Werror -isystem "$tree/usr/include" -o /dev/null "$probe" 2>&1); then
		pass "uAPI probe (s390x, user space): VFIO_DEVICE_FEATURE_ZPCI_ERROR == $FACT_INDEX, ccdf_err_length is $FACT_LEN_TYPE at offset $FACT_LEN_OFFSET, capability $FACT_CAP_SIZE bytes, payload 8 bytes"
	else
		echo "$errs"
		fail "uAPI probe (s390x, user space) against the facts"
	fi
	rm -f "$probe"

	# the capability version the patched kernel announces
	if c_function_body zpci_base_cap "$tree/drivers/vfio/pci/vfio_pci_zdev.c" |
		grep -qE "\.header\.version = $FACT_CAP_VERSION,"; then
		pass "ZPCI_BASE capability announced as version $FACT_CAP_VERSION"
	else
		fail "ZPCI_BASE capability is not announced as version $FACT_CAP_VERSION"
	fi

	# errnos documented in the header: the return list of the feature comment
	hdr=$(sed -n '/Return values of the GET/,/^ \*\//p' "$tree/usr/include/linux/vfio.h" |
		grep -oE '^ \*[[:space:]]+-E[A-Z]+' | grep -oE 'E[A-Z]+' | sed 's/^/-/' | sort -u | tr '\n' ' ' | sed 's/ $//')
	if [ "$hdr" = "$FACT_ERRNOS" ]; then
		pass "uAPI header documents the errnos of the facts: $hdr"
	else
		fail "uAPI header documents errnos '$hdr', the facts '$FACT_ERRNOS'"
	fi

	# errnos the patched code returns for the feature: the handler, the
	# helper that takes a record, the core's answer without the feature
	code=$({
		c_function_body vfio_pci_zdev_feature_err "$tree/drivers/vfio/pci/vfio_pci_zdev.c"
		c_function_body zpci_get_pending_error "$tree/arch/s390/pci/pci_event.c"
		c_function_body vfio_pci_core_ioctl_feature "$tree/drivers/vfio/pci/vfio_pci_core.c"
		c_function_body vfio_check_feature "$tree/include/linux/vfio.h"
	} | grep -oE -- '-E[A-Z]+' | sort -u | tr '\n' ' ')
	missing=
	for e in $FACT_ERRNOS; do
		grep -qw -- "$e" <<<"$code" || missing+=" $e"
	done
	if [ -z "$missing" ]; then
		pass "patched code returns every errno of the facts ($FACT_ERRNOS)"
	else
		fail "patched code never returns:$missing"
	fi
}
