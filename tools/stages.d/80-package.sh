# shellcheck shell=bash
# Packages, sourced by "tools/bootstrap test": the Debian package is built,
# checked by lintian and installed with dpkg in a Debian 12 chroot beside a
# stand-in s390-tools (packaging/test-deb.sh); the RPM spec goes through
# rpmspec, rpmbuild and rpmlint (packaging/test-rpm.sh). Every check becomes
# one stage line "package/NAME" (docs/installing.md).
package_stages() { # script results-file args...
	local script=$1 results=$2
	shift 2
	"$TOP/packaging/$script" "$@"
	stage_results package "$results" $?
}
package_stages test-deb.sh "$BUILD/package/results.txt" "$BUILD/package"
package_stages test-rpm.sh "$BUILD/rpm/results.txt" "$BUILD" "$BUILD/rpm"
