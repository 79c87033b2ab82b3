#!/bin/sh
# Runs one fuzz target on a fresh seed corpus written by vcma-gen-vectors.
# usage: run_fuzz.sh libfuzzer|replay TARGET GEN plain|stream SECONDS MAX_LEN ARTIFACT_DIR
# Exit status: the target's (libFuzzer exits non-zero on a crash, leak or
# sanitizer report). Crash inputs are copied to ARTIFACT_DIR.
set -u
[ $# -eq 7 ] || { echo "usage: $0 libfuzzer|replay TARGET GEN plain|stream SECONDS MAX_LEN ARTIFACT_DIR" >&2; exit 2; }
mode=$1 target=$2 gen=$3 kind=$4 seconds=$5 max_len=$6 artifacts=$7

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus" || exit 1
if [ "$kind" = stream ]; then
	"$gen" seeds "$tmp/corpus" --stream
else
	"$gen" seeds "$tmp/corpus"
fi || { echo "fuzz: cannot write the seed corpus" >&2; exit 1; }
# inputs that once crashed (kept by scripts/fuzz) stay seeds for good
regress=$(dirname "$0")/regress-$(basename "$target" | sed 's/^fuzz-proto-//')
[ -d "$regress" ] && cp "$regress"/* "$tmp/corpus/" 2>/dev/null
echo "fuzz: $(ls "$tmp/corpus" | wc -l) seeds from the protocol vectors and regressions"

case $mode in
libfuzzer)
	"$target" -max_total_time="$seconds" -detect_leaks=1 -timeout=10 \
		-max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="$tmp/" "$tmp/corpus"
	rc=$?
	;;
replay)
	"$target" "$tmp/corpus"
	rc=$?
	;;
*)
	echo "fuzz: unknown mode $mode" >&2
	exit 2
	;;
esac

if [ $rc -ne 0 ]; then
	mkdir -p "$artifacts"
	for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
		[ -e "$f" ] && cp "$f" "$artifacts/"
	done
	echo "fuzz: FAILED (exit $rc); inputs kept in $artifacts" >&2
fi
exit $rc
