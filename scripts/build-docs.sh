#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the project's documentation with plain docutils (no Sphinx) and
# fail on any warning, so that the .rst files stay valid reStructuredText.
#
#   scripts/build-docs.sh          HTML into .cache/docs/ (FAILOVER_CACHE)
#
# Needs python3-docutils (installed by scripts/setup.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FAILOVER_CACHE:-$ROOT/.cache}
OUT=$CACHE/docs
DOCS="Documentation/networking/failover.rst
      Documentation/networking/net_failover.rst"

# "python3 -m docutils" exists from docutils 0.19 on; older ones have rst2html.
if python3 -c 'import docutils.__main__' 2>/dev/null; then
	RST2HTML=(python3 -m docutils)
elif command -v rst2html >/dev/null; then
	RST2HTML=(rst2html)
else
	echo "build-docs: docutils not found (apt-get install python3-docutils)" >&2
	exit 1
fi

mkdir -p "$OUT"
fail=0
for doc in $DOCS; do
	src=$ROOT/$doc
	dst=$OUT/$(basename "$doc" .rst).html
	# --halt=warning stops at the first warning with a non-zero exit,
	# --report=warning prints it; --exit-status covers what does not halt.
	if "${RST2HTML[@]}" --halt=warning --report=warning \
		--exit-status=warning --no-datestamp --no-generator \
		--input-encoding=utf-8 "$src" "$dst.tmp"; then
		mv "$dst.tmp" "$dst"
		echo "build-docs: $doc -> ${dst#"$ROOT"/}"
	else
		rm -f "$dst.tmp"
		echo "build-docs: $doc: FAILED" >&2
		fail=1
	fi
done
exit $fail
