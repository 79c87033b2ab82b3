#!/bin/sh
# run_fuzz.sh EXE SECONDS WORKDIR DICT SEEDS...: fuzz for SECONDS from the seeds
# (a seed dir:DIR stands for the files in DIR).
set -e
exe=$1 secs=$2 work=$3 dict=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
i=0
for s in "$@"; do
	i=$((i + 1))
	case $s in
	dir:*) cp "${s#dir:}"/* "$work/corpus/" ;;
	*) printf '%s' "$s" >"$work/corpus/seed$i" ;;
	esac
done
# inputs that once crashed (kept by scripts/fuzz) stay seeds for good
regress=$(dirname "$0")/regress-$(basename "$exe" | sed 's/^fuzz-daemon-//')
if [ -d "$regress" ]; then
	cp "$regress"/* "$work/corpus/"
fi
exec "$exe" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
	-dict="$dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus"
