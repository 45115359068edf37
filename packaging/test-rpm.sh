#!/bin/bash
# packaging/test-rpm.sh — the RPM spec against rpm's own tools, on Debian:
# rpmspec parses it, rpmbuild makes the source package from "make dist"'s
# tarball and the binary package, rpmlint checks the spec and both packages.
#
#   packaging/test-rpm.sh BUILDDIR [OUTDIR]
#
# BUILDDIR is a configured build directory (it has packaging/rpm/zpcid.spec).
# One line per check, "PASS: name", "FAIL: name" or "SKIP: name reason", also
# written to OUTDIR/results.txt (default BUILDDIR/rpm). Exit status 0, 1, or
# 77 when rpm's tools are missing.
#
# Debian's rpm has no systemd-rpm-macros and no build dependencies in its
# database: the binary build runs with --nodeps and without the test suite,
# its scriptlets hold only what does not come from those macros, and
# rpmlint's warnings about it (brp-compress and brp-strip do not run under
# Debian's /bin/sh, empty scriptlets) are shown, not counted. Errors count.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: packaging/test-rpm.sh BUILDDIR [OUTDIR]}
BUILD=$(cd "$BUILD" && pwd)
OUT=${2:-$BUILD/rpm}
SPEC=$BUILD/packaging/rpm/zpcid.spec
RC=$TOP/packaging/rpm/zpcid.rpmlintrc
RESULTS=$OUT/results.txt
FAILED=0

mkdir -p "$OUT" || exit 1
: >"$RESULTS"
result() { # verdict name [reason]
	echo "$1: $2${3:+ $3}"
	echo "$1 $2${3:+ $3}" >>"$RESULTS"
	[ "$1" = FAIL ] && FAILED=1
	return 0
}
check() { # name command...
	local name=$1
	shift
	if "$@" >>"$OUT/checks.log" 2>&1; then result PASS "$name"; else result FAIL "$name"; fi
}
for tool in rpmspec rpmbuild rpm; do
	command -v "$tool" >/dev/null || { result SKIP rpm-spec "$tool not installed (tools/bootstrap installs it)"; exit 77; }
done
: >"$OUT/checks.log"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zpcid-rpm.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/SOURCES"
RPMDEF=(--define "_topdir $WORK")

check spec-configured test -s "$SPEC"
check rpmspec-parses rpmspec -P "$SPEC"
version=$(rpmspec -q --srpm --qf '%{version}' "$SPEC" 2>/dev/null)
check version-from-configure test "$version" = "$(sed -n 's/^PACKAGE_VERSION = //p' "$BUILD/Makefile")"
make -C "$BUILD" -s dist >"$OUT/dist.log" 2>&1
check make-dist test -s "$BUILD/zpcid-$version.tar.xz"
cp "$BUILD/zpcid-$version.tar.xz" "$WORK/SOURCES/" 2>/dev/null
check tarball-has-spec sh -c "tar -tJf '$WORK/SOURCES/zpcid-$version.tar.xz' | grep -qx 'zpcid-$version/packaging/rpm/zpcid.spec'"

check rpmbuild-bs rpmbuild "${RPMDEF[@]}" -bs "$SPEC"
check rpmbuild-bb rpmbuild "${RPMDEF[@]}" --nodeps --without check -bb "$SPEC"
RPM=$(ls "$WORK"/RPMS/*/zpcid-"$version"-*.rpm 2>/dev/null | head -1)
SRPM=$(ls "$WORK"/SRPMS/zpcid-"$version"-*.src.rpm 2>/dev/null | head -1)
if [ -n "$RPM" ]; then
	cp "$RPM" "$SRPM" "$OUT/" 2>/dev/null
	rpm -qlp "$RPM" >"$OUT/contents.txt" 2>/dev/null
	for f in /usr/sbin/zpcid /usr/sbin/zpcictl /usr/lib/systemd/system/zpcid.service \
		/usr/share/dbus-1/system.d/org.zpcid1.conf /usr/lib/systemd/catalog/zpcid.catalog \
		/usr/lib/sysusers.d/zpcid.conf /usr/lib/tmpfiles.d/zpcid.conf /etc/zpcid/zpcid.json \
		/usr/share/bash-completion/completions/zpcictl /var/lib/zpcid; do
		check "rpm-contains$f" grep -qxF "$f" "$OUT/contents.txt"
	done
	check rpm-man-pages sh -c "grep -q '^/usr/share/man/man8/zpcid\.8' '$OUT/contents.txt' && grep -q '^/usr/share/man/man8/zpcictl\.8' '$OUT/contents.txt'"
	check rpm-config-noreplace sh -c "rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' '$RPM' | grep -q '^cn /etc/zpcid/zpcid.json'"
	check rpm-pre-makes-group sh -c "rpm -qp --scripts '$RPM' | grep -q 'groupadd -r zpcid'"
else
	result FAIL rpm-built "no binary package"
fi

if command -v rpmlint >/dev/null; then
	# One run over all three, so that every filter of the rpmlintrc is used.
	rpmlint -r "$RC" "$SPEC" ${SRPM:+"$SRPM"} ${RPM:+"$RPM"} >"$OUT/rpmlint.txt" 2>&1
	sed 's/^/rpmlint: /' "$OUT/rpmlint.txt" | grep -E ': [EW]: |checked'
	check rpmlint-no-errors sh -c "! grep -qE ': E: ' '$OUT/rpmlint.txt'"
	check rpmlint-spec-and-srpm-no-warnings sh -c "! grep -E ': W: ' '$OUT/rpmlint.txt' | grep -qE '^zpcid\.(src|spec)'"
else
	result SKIP rpmlint "rpmlint not installed"
fi

echo "results: $(grep -c '^PASS' "$RESULTS") passed, $(grep -c '^FAIL' "$RESULTS") failed, $(grep -c '^SKIP' "$RESULTS") skipped"
exit $FAILED
