# shellcheck shell=bash
# Packages, sourced by "tools/bootstrap test": the Debian package is built,
# checked by lintian and installed with dpkg in a Debian 12 chroot beside a
# stand-in s390-tools (packaging/test-deb.sh); the RPM spec goes through
# rpmspec, rpmbuild and rpmlint (packaging/test-rpm.sh). Every check becomes
# one stage line "package/NAME" (docs/installing.md).
package_result() { # rc: a check's verdict as a status for stage()
	return "$1"
}

package_stages() { # script results-file args...
	local script=$1 results=$2 verdict name reason rc
	shift 2
	"$TOP/packaging/$script" "$@"
	rc=$?
	if [ ! -s "$results" ]; then
		stage "package/$script" package_result "$([ $rc = 77 ] && echo 77 || echo 1)"
		return 0
	fi
	while read -r verdict name reason; do
		case $verdict in
		PASS) rc=0 ;;
		SKIP) rc=77 ;;
		*) rc=1 ;;
		esac
		[ $rc = 77 ] && echo "package/$name: skipped: $reason"
		stage "package/$name" package_result $rc
	done <"$results"
}
package_stages test-deb.sh "$BUILD/package/results.txt" "$BUILD/package"
package_stages test-rpm.sh "$BUILD/rpm/results.txt" "$BUILD" "$BUILD/rpm"
