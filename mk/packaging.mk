# packaging/: the RPM spec (made by configure) goes into the tarball, for
# "rpmbuild -ta". debian/ and the package test (packaging/test-deb.sh, a
# stage of tools/bootstrap) work on the git tree.
EXTRA_DIST += packaging/rpm/zpcid.spec.in packaging/rpm/zpcid.spec packaging/rpm/zpcid.rpmlintrc
