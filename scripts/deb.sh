#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the Debian packages of this tree, in dist/:
#   net-failover-dkms_VERSION_all.deb     module sources + dkms.conf, the
#                                         modprobe fallback, initramfs hook
#   net-failover-tools_VERSION_ARCH.deb   failoverctl, vf-steer-probe
#
# VERSION comes from git: "git describe --tags --match 'v[0-9]*'" (tag
# v1.2 -> 1.2; 3 commits later -> 1.2+3.gHASH; v1.2-rc1 -> 1.2~rc1), or
# 0.0~gitYYYYMMDD.HASH (commit date) before the first tag; "+dirty" when
# the packaged files differ from HEAD. The packaged files (git's, not
# build products) are copied to .cache/deb, where debian/changelog is
# written and dpkg-buildpackage runs; the tree is left as it was. Installs
# nothing: stops with the list of missing build dependencies. Runs lintian
# on the result when it is installed (and fails on errors and warnings).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=$ROOT/dist
WORK=$ROOT/.cache/deb
# What the packages are made of: kbuild's inputs, the tools, the docs
# installed with them, the packaging.
PATHS=(Kbuild compat net drivers include tools/net/failover
       Documentation/networking/net_failover.rst debian)

die() { echo "deb: $*" >&2; exit 1; }

cd "$ROOT"
for c in git dpkg-checkbuilddeps dpkg-buildpackage; do
	command -v "$c" > /dev/null ||
		die "$c not found; apt-get install --no-install-recommends git dpkg-dev"
done
for c in gcc make; do
	command -v "$c" > /dev/null ||
		die "$c not found; apt-get install --no-install-recommends build-essential"
done
if ! out=$(dpkg-checkbuilddeps debian/control 2>&1); then
	missing=$(sed -n 's/.*Unmet build dependencies: //p' <<< "$out")
	[ -n "$missing" ] || die "dpkg-checkbuilddeps: $out"
	# The packages that provide debhelper-compat and dh-sequence-dkms.
	die "missing build dependencies: $missing
deb: apt-get install --no-install-recommends $(sed -e 's/ *([^)]*)//g' \
		-e 's/debhelper-compat/debhelper/; s/dh-sequence-dkms/dh-dkms/' \
		<<< "$missing")"
fi
git rev-parse --git-dir > /dev/null 2>&1 ||
	die "$ROOT is not a git tree: the version comes from git describe"

# ---------------------------------------------------------------- version
hash=$(git rev-parse --short=7 HEAD)
if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
	# TAG-N-gHASH, TAG possibly with dashes of its own
	rest=${desc%-g*}
	n=${rest##*-}
	tag=${rest%-*}
	version=${tag#v}
	version=${version//-/\~}
	[ "$n" = 0 ] || version=$version+$n.g$hash
else
	desc="no tag v[0-9]*"
	version=0.0~git$(TZ=UTC git log -1 --format=%cd \
		--date=format-local:%Y%m%d).$hash
fi
[ -z "$(git status --porcelain -- "${PATHS[@]}")" ] || version=$version+dirty
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
	die "version '$version' (from '$desc') is not a Debian version: tags are v<digit>..."

# ---------------------------------------------------------------- staging
SRC=$WORK/net-failover-$version
rm -rf "$WORK"
mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard -- "${PATHS[@]}" |
	while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf - | tar -C "$SRC" -xf -

maint=$(sed -n 's/^Maintainer: //p' debian/control)
{
	echo "net-failover ($version) unstable; urgency=medium"
	echo
	echo "  * Built from git commit $(git rev-parse HEAD)"
	echo "    (git describe: $desc)."
	echo
	echo " -- $maint  $(git log -1 --format=%cD)"
} > "$SRC/debian/changelog"

echo "deb: building $version in $SRC"
(cd "$SRC" && dpkg-buildpackage -b -us -uc) > "$WORK/build.log" 2>&1 ||
	{ tail -n 30 "$WORK/build.log" >&2; die "dpkg-buildpackage failed (log: $WORK/build.log)"; }

mkdir -p "$DIST"
rm -f "$DIST"/net-failover-dkms_*.deb "$DIST"/net-failover-tools_*.deb
# The -dbgsym package of the tools stays in .cache/deb.
cp "$WORK"/net-failover-{dkms,tools}_"$version"_*.deb "$DIST"/
ls -l "$DIST"/net-failover-{dkms,tools}_"$version"_*.deb

changes=$(echo "$WORK"/net-failover_"$version"_*.changes)
if command -v lintian > /dev/null; then
	echo "deb: lintian $changes"
	lintian --info --display-info --fail-on error,warning "$changes" ||
		die "lintian found errors or warnings (above)"
else
	echo "deb: lintian not installed: the packages were not checked"
fi
