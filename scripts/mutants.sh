#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Mutation testing: break the driver or the framework on purpose, one named
# mutation at a time (scripts/mutants.txt), build the broken copy for
# Debian 12's 6.1 and run, in a guest, the tests that should notice. A
# mutation is "killed" when that guest run fails (a test case, a kernel
# splat on the console, or the run's time limit); it "survived" when every
# test passed. Before any mutation, the same guest runs are made once with
# the unbroken tree: a baseline that fails stops everything, since a
# mutation killed by a flaky test proves nothing.
#
#   scripts/mutants.sh [--smoke] [--jobs N] [--only a,b] [--list]
#                      [--min-percent P] [--ktap]
#	--smoke        only the mutations marked "smoke: yes" (make check)
#	--jobs N       guests at once (default 2)
#	--only         only these mutations (names, comma-separated)
#	--list         print the mutations and the runs they need, run nothing
#	--build-only   apply and build every mutation, run no guest
#	--skip-baseline  no baseline runs (only after a baseline of the same
#	               tree passed: the result then says so)
#	--min-percent  fail below this share killed (default 90)
#	--ktap         KTAP: a plan and one result per mutation (killed = ok),
#	               as scripts/check.sh counts them
#
# A mutation in scripts/mutants.txt is a block of "key: value" lines:
#   name:    unique name
#   file:    the file it changes (drivers/net/net_failover.c, ...)
#   find:    a string that must occur exactly once in that file
#   replace: what replaces it (\t and \n are tab and newline in both)
#   runs:    guest runs that must fail, space-separated KIND:test[,test]
#            with KIND acpi (e1000e + virtio, ACPI hotplug), native
#            (native PCIe hotplug) or sim (nfosim lowers)
#   breaks:  what the mutation breaks, in words
#   smoke:   yes to include it in --smoke
# A find that does not occur exactly once, or a copy that does not build,
# is an error of the list (the run fails), not a killed mutation.
#
# Output: one line per mutation, the survivors, then
#   mutants: K killed of N (P%), S survived
# Exit status 0 when nothing survived below --min-percent and the list and
# baseline were sound. Work and logs: .cache/mutants/.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FT=$ROOT/tools/testing/selftests/net/failover
LIST=$ROOT/scripts/mutants.txt
WORK=$ROOT/.cache/mutants
JOBS=2
SMOKE=0
ONLY=
LIST_ONLY=0
BUILD_ONLY=0
SKIP_BASELINE=0
MIN_PERCENT=90
KTAP=0
TEST_TIMEOUT=${MUTANT_TEST_TIMEOUT:-600}

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1;;
	--jobs) JOBS=${2:?}; shift;;
	--only) ONLY=${2:?}; shift;;
	--list) LIST_ONLY=1;;
	--build-only) BUILD_ONLY=1;;
	--skip-baseline) SKIP_BASELINE=1;;
	--min-percent) MIN_PERCENT=${2:?}; shift;;
	--ktap) KTAP=1;;
	*) echo "usage: $0 [--smoke] [--jobs N] [--only a,b] [--list]" \
		"[--build-only] [--skip-baseline] [--min-percent P] [--ktap]" >&2
	   exit 2;;
	esac
	shift
done

# parse: the selected mutations as lines NAME<TAB>FILE<TAB>RUNS<TAB>BREAKS
# (find/replace are read again by apply)
parse()
{
	python3 - "$LIST" "$SMOKE" "$ONLY" <<'EOF'
import sys
path, smoke, only = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
want = set(only.split(",")) if only else None
blocks, cur = [], {}
for no, line in enumerate(open(path), 1):
    line = line.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if cur:
            blocks.append(cur)
        cur = {}
        continue
    key, sep, val = line.partition(":")
    if not sep or key not in ("name", "file", "find", "replace", "runs",
                              "breaks", "smoke"):
        sys.exit("%s:%d: not a 'key: value' line: %s" % (path, no, line))
    cur[key] = val[1:] if val.startswith(" ") else val
if cur:
    blocks.append(cur)
names = set()
for b in blocks:
    for k in ("name", "file", "find", "replace", "runs", "breaks"):
        if k not in b:
            sys.exit("%s: mutation %s has no %s" % (path, b.get("name"), k))
    if b["name"] in names:
        sys.exit("%s: two mutations named %s" % (path, b["name"]))
    names.add(b["name"])
if want and want - names:
    sys.exit("no such mutation: %s" % ",".join(sorted(want - names)))
for b in blocks:
    if want and b["name"] not in want:
        continue
    if smoke and b.get("smoke") != "yes":
        continue
    print("\t".join((b["name"], b["file"], b["runs"], b["breaks"])))
EOF
}

# apply <name> <dir>: make the mutation in the copy <dir>
apply()
{
	python3 - "$LIST" "$1" "$2" <<'EOF'
import sys
path, name, top = sys.argv[1:]
cur, found = {}, None
for line in list(open(path)) + ["\n"]:
    line = line.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if cur.get("name") == name:
            found = cur
        cur = {}
        continue
    key, _, val = line.partition(":")
    cur[key] = val[1:] if val.startswith(" ") else val
unesc = lambda s: s.replace("\\t", "\t").replace("\\n", "\n")
f = "%s/%s" % (top, found["file"])
text = open(f).read()
find, repl = unesc(found["find"]), unesc(found["replace"])
n = text.count(find)
if n != 1:
    sys.exit("%s: 'find' occurs %d times in %s" % (name, n, found["file"]))
open(f, "w").write(text.replace(find, repl))
EOF
}

# One source tree is built for every mutation in turn, so that kbuild
# recompiles only the file a mutation changed; the modules of each build
# are kept in a directory of their own (net/core/, drivers/net/).
SRC_FILES=(Kbuild compat net drivers include)

# keep <dir>: the modules just built, into <dir>
keep()
{
	mkdir -p "$1/net/core" "$1/drivers/net" &&
	cp "$SRC/net/core/failover.ko" "$1/net/core/" &&
	cp "$SRC/drivers/net/net_failover.ko" "$1/drivers/net/"
}

build()
{
	make -C "$KDIR" M="$SRC" modules > "$1.build.log" 2>&1
}

# guest <modules dir> <run spec> <out dir>: 0 when every test passed
guest()
{
	local ours=$1 kind=${2%%:*} tests=${2#*:} out=$3 hp=acpi
	local args=()

	[ "$kind" = native ] && hp=native
	args=(--kernel-dir "$KIMG" --kver "$KVER" --ours-dir "$ours"
	      --modules ours --hotplug "$hp" --tests "$tests" --quiet
	      --out "$out" --timeout 900 --test-timeout "$TEST_TIMEOUT")
	if [ "$kind" = sim ]; then
		args+=(--add-module "nfosim=$NFOSIM" --smp 2)
	fi
	python3 "$FT/vm/run_vm_ext.py" "${args[@]}" > "$out.log" 2>&1
}

# first_failure <out dir>: the first failing line of a guest run
first_failure()
{
	local line

	line=$(grep -m1 -E '^(# )*not ok' "$1/results.ktap" 2>/dev/null)
	[ -n "$line" ] || line=$(tail -n 1 "$1.log" 2>/dev/null)
	echo "${line:-no result}" | sed -E 's/^(# )+//' | cut -c1-120
}

# run_jobs: run every line of $WORK/queue (ID<TAB>MODULES<TAB>SPEC<TAB>OUT),
# JOBS at a time; each writes OUT.rc
run_jobs()
{
	local mods spec out

	while IFS=$'\t' read -r _ mods spec out; do
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
			wait -n
		done
		( guest "$mods" "$spec" "$out" < /dev/null
		  echo $? > "$out.rc" ) &
	done < "$WORK/queue"
	wait
}

mapfile -t muts < <(parse) || exit 2
[ "${#muts[@]}" -gt 0 ] || { echo "mutants: no mutation selected" >&2; exit 2; }
if [ "$LIST_ONLY" = 1 ]; then
	printf '%s\n' "${muts[@]}" | awk -F'\t' '{ printf "%-32s %s\n", $1, $3 }'
	exit 0
fi

# shellcheck source=/dev/null
. "$ROOT/.cache/env" || exit 2
NFOSIM=$WORK/nfosim.ko
rm -rf "$WORK" && mkdir -p "$WORK"
start=$(date +%s)

# The unbroken tree, and nfosim (the mutations do not touch it)
SRC=$WORK/src
ORIG=$WORK/orig		# the sources as they were at the start
mkdir -p "$ORIG" && (cd "$ROOT" && cp -r "${SRC_FILES[@]}" "$ORIG/") &&
	find "$ORIG" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o \
		-name '*.mod*' \) -delete && cp -r "$ORIG" "$SRC"
if ! build "$WORK/base" || ! keep "$WORK/base"; then
	echo "mutants: the unbroken tree does not build ($WORK/base.build.log)"
	exit 2
fi
if ! make -C "$KDIR" M="$FT/nfosim" modules > "$WORK/nfosim.build.log" 2>&1 ||
   ! cp "$FT/nfosim/nfosim.ko" "$NFOSIM"; then
	echo "mutants: nfosim does not build ($WORK/nfosim.build.log)"
	exit 2
fi

# failoverctl, which the netlink and knobs tests use (without it they skip)
if ! make -C "$ROOT/tools/net/failover" > "$WORK/tools.build.log" 2>&1; then
	echo "mutants: the tools do not build ($WORK/tools.build.log)"
	exit 2
fi

# The guest runs the mutations need
declare -A specs=()
for m in "${muts[@]}"; do
	IFS=$'\t' read -r name file runs breaks <<< "$m"
	for s in $runs; do
		specs[$s]=1
	done
done
bad=0

# Baseline: every run the mutations need, on the unbroken tree
if [ "$BUILD_ONLY" = 0 ] && [ "$SKIP_BASELINE" = 1 ]; then
	echo "mutants: no baseline (--skip-baseline)"
elif [ "$BUILD_ONLY" = 0 ]; then
	: > "$WORK/queue"
	i=0
	for s in "${!specs[@]}"; do
		printf 'b%d\t%s\t%s\t%s\n' "$i" "$WORK/base" "$s" "$WORK/base-run-$i" \
			>> "$WORK/queue"
		echo "$s" > "$WORK/base-run-$i.spec"
		i=$((i + 1))
	done
	echo "mutants: baseline, ${#specs[@]} guest run(s) on the unbroken tree"
	run_jobs
	for f in "$WORK"/base-run-*.rc; do
		out=${f%.rc}
		if [ "$(cat "$f")" != 0 ]; then
			echo "mutants: baseline run $(cat "$out.spec") failed:" \
				"$(first_failure "$out") ($out)"
			bad=$((bad + 1))
		fi
	done
fi
[ "$bad" -eq 0 ] || exit 2

# Each mutation: apply to the tree, build, keep the modules, restore
for m in "${muts[@]}"; do
	IFS=$'\t' read -r name file runs breaks <<< "$m"
	d=$WORK/m-$name
	if ! apply "$name" "$SRC" 2> "$d.apply.log"; then
		echo "mutants: $name: $(cat "$d.apply.log")"
		bad=$((bad + 1))
	elif ! build "$d" || ! keep "$d"; then
		echo "mutants: $name does not build ($d.build.log)"
		bad=$((bad + 1))
	fi
	cp "$ORIG/$file" "$SRC/$file"
	[ "$BUILD_ONLY" = 1 ] && echo "mutants: $name builds"
done
[ "$bad" -eq 0 ] || exit 2
if [ "$BUILD_ONLY" = 1 ]; then
	echo "mutants: ${#muts[@]} mutation(s) apply and build"
	exit 0
fi

# The mutations: all of a mutation's runs are made (they show which
# tests notice it), in the order of the list
: > "$WORK/queue"
for m in "${muts[@]}"; do
	IFS=$'\t' read -r name file runs breaks <<< "$m"
	j=0
	for s in $runs; do
		printf '%s\t%s\t%s\t%s\n' "$name" "$WORK/m-$name" "$s" \
			"$WORK/m-$name-run-$j" >> "$WORK/queue"
		j=$((j + 1))
	done
done
echo "mutants: ${#muts[@]} mutation(s), $(wc -l < "$WORK/queue") guest run(s)"
run_jobs

killed=0
survived=()
n=0
if [ "$KTAP" = 1 ]; then
	echo "TAP version 13"
	echo "1..${#muts[@]}"
fi
for m in "${muts[@]}"; do
	IFS=$'\t' read -r name file runs breaks <<< "$m"
	n=$((n + 1))
	j=0
	by=
	for s in $runs; do
		out=$WORK/m-$name-run-$j
		if [ "$(cat "$out.rc" 2> /dev/null)" != 0 ]; then
			by="$by${by:+; }$s: $(first_failure "$out")"
		fi
		j=$((j + 1))
	done
	if [ -n "$by" ]; then
		killed=$((killed + 1))
		if [ "$KTAP" = 1 ]; then
			echo "ok $n mutant $name killed"
			echo "# $by"
		else
			echo "killed   $name ($by)"
		fi
	else
		survived+=("$name: $breaks (runs: $runs)")
		if [ "$KTAP" = 1 ]; then
			echo "not ok $n mutant $name survived: $breaks"
		else
			echo "SURVIVED $name"
		fi
	fi
done
pct=$((killed * 100 / n))
if [ "${#survived[@]}" -gt 0 ]; then
	echo "mutants: survivors:"
	printf '  %s\n' "${survived[@]}"
fi
echo "mutants: $killed killed of $n ($pct%), ${#survived[@]} survived," \
	"in $(($(date +%s) - start)) s; logs in $WORK"
if [ "$SMOKE" = 1 ]; then
	[ "${#survived[@]}" -eq 0 ]
else
	[ "$pct" -ge "$MIN_PERCENT" ]
fi
