#!/usr/bin/env bash
# Benchmark one Argon2id verification (m=65536 KiB, t=3, p=4): twofactl against the reference
# C implementation (the `argon2` CLI from Debian's argon2 package), on this machine, in one run.
#
# Usage: bench/argon2.sh [--runs K] [--no-build]
#
#   --runs K     timed runs of each command, interleaved; medians reported (default 15, min 10)
#   --no-build   do not run cargo build; use the existing release binaries
#
# Commands, each a whole process timed from outside (bash $EPOCHREALTIME):
#   twofactl     printf 'wrong\n' | twofactl request-reset alice --password-stdin on a database
#                whose only user has the PHC string below (exit 3: wrong password, counted); a
#                fresh synced copy of the database per run (not timed), file transport, and
#                [reset] max_password_failures = 1000 besides, so it never locks
#   in-process   examples/bench_argon2.rs: twofactl::secret::check_password(wrong, PHC) once,
#                timed whole (process) and inside the process (the call alone: no start-up,
#                config or SQLite; it is the first call, so it includes starting the thread
#                pool that runs the lanes)
#   reference    echo -n PASSWORD | argon2 SALT -id -t 3 -m 16 -p 4 -l 32 -e: one Argon2
#                computation; it prints the encoded hash, which must equal the PHC string
#   reference+verify  the same without -e: the CLI then prints the hash and its own timing and
#                verifies the result with argon2_verify, which computes Argon2 a second time
#                ("Verification ok"), so this command costs two verifications; shown for the
#                record, the ratio is against the one-computation command
# The PHC string is made by the reference CLI itself from PASSWORD and SALT (below).
# The ratio twofactl / reference is the one the project bounds: <= 1.1.
#
# Prints a Markdown table on stdout and writes it to bench/results-argon2.md; progress on stderr.

# The results text holds literal backquotes and backslashes on purpose.
# shellcheck disable=SC2016,SC2028
set -euo pipefail
export LC_ALL=C

die() { printf 'bench/argon2: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench/argon2: %s\n' "$*" >&2; }
usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

RUNS=15
BUILD=1
while (( $# )); do
    case $1 in
        --runs) (( $# >= 2 )) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
if ! [[ $RUNS =~ ^[0-9]+$ ]] || (( 10#$RUNS < 10 )); then die "--runs needs an integer >= 10, got '$RUNS'"; fi
RUNS=$((10#$RUNS))

(( BASH_VERSINFO[0] >= 5 )) || die "bash >= 5 is needed (EPOCHREALTIME)"
command -v sqlite3 >/dev/null || die "sqlite3 CLI not found"
REF=$(command -v argon2) || die "the argon2 CLI is not installed (apt-get install -y argon2)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=$ROOT/bench/results-argon2.md
BIN=$ROOT/target/release/twofactl
EX=$ROOT/target/release/examples/bench_argon2
SCHEMA=$ROOT/schema/app-schema.sql
[[ -f $SCHEMA ]] || die "no schema at $SCHEMA"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench-argon2.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^TWOFACTL_' || true)
export XDG_CONFIG_HOME=$TMP/xdg
mkdir -p "$XDG_CONFIG_HOME"

if (( BUILD )); then
    say "cargo build --release --bin twofactl --example bench_argon2"
    (cd "$ROOT" && cargo build --release --bin twofactl --example bench_argon2 >&2) || die "cargo build failed"
fi
[[ -x $BIN ]] || die "$BIN not found (run without --no-build)"
[[ -x $EX ]] || die "$EX not found (run without --no-build)"

# ---------------------------------------------------------------- the hash and the database

PASSWORD='correct horse battery staple'
WRONG='not the password'
SALT=twofactlbenchslt
REF_ARGS=(-id -t 3 -m 16 -p 4 -l 32)
PHC=$(printf '%s' "$PASSWORD" | "$REF" "$SALT" "${REF_ARGS[@]}" -e) || die "the argon2 CLI failed"
[[ $PHC == '$argon2id$v=19$m=65536,t=3,p=4$'* ]] || die "unexpected PHC string from the argon2 CLI: $PHC"
say "hash: $PHC"

PRISTINE=$TMP/pristine.db
sqlite3 -bail "$PRISTINE" >/dev/null <<EOF
.read '$SCHEMA'
INSERT INTO settings (key, value) VALUES ('app.name', 'Bench');
INSERT INTO users (id, username, email, password_hash, totp_secret, totp_enabled)
VALUES (1, 'alice', 'alice@example.com', '$PHC', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1);
EOF
CONFIG=$TMP/config.toml
cat > "$CONFIG" <<EOF
[mail]
transport = "file"
from = "Bench <no-reply@example.com>"
file_dir = "$TMP/outbox"

[reset]
max_password_failures = 1000
EOF

# The in-process check must agree with the reference on the right password before timing.
printf '%s\n' "$PASSWORD" | "$EX" "$PHC" 1 >/dev/null || die "check_password does not accept the reference's hash"

# Threads each side starts for one verification (clone/clone3 calls), when strace is here.
THREADS_REF="not measured (no strace)"
THREADS_EX="not measured (no strace)"
if command -v strace >/dev/null; then
    n=$(printf '%s' "$PASSWORD" | strace -f -c -e trace=clone,clone3 -o "$TMP/st" "$REF" "$SALT" "${REF_ARGS[@]}" -e >/dev/null 2>&1 && awk '$NF=="total"{print $(NF-1)+0}' "$TMP/st" || echo '?')
    m=$(printf '%s' "$PASSWORD" | strace -f -c -e trace=clone,clone3 -o "$TMP/st" "$REF" "$SALT" "${REF_ARGS[@]}" >/dev/null 2>&1 && awk '$NF=="total"{print $(NF-1)+0}' "$TMP/st" || echo '?')
    THREADS_REF="$n threads created with -e, $m without (strace -f -c)"
    n=$(printf '%s\n' "$WRONG" | strace -f -c -e trace=clone,clone3 -o "$TMP/st" "$EX" "$PHC" 1 >/dev/null 2>&1; awk '$NF=="total"{print $(NF-1)+0}' "$TMP/st" || echo '?')
    THREADS_EX="$n threads created (strace -f -c)"
fi

# Is the reference binary SIMD code (opt.c: pmuludq) or the portable scalar ref.c (imul, ror)?
REF_CODE="not inspected (no objdump)"
if command -v objdump >/dev/null; then
    objdump -d "$REF" > "$TMP/dis" 2>/dev/null || true
    n_pmul=$(grep -cE '\bv?pmuludq\b' "$TMP/dis" || true)
    n_imul=$(grep -cE '\bimul\b' "$TMP/dis" || true)
    if (( n_pmul == 0 )); then
        REF_CODE="the portable scalar implementation (ref.c): its code has $n_imul imul and no pmuludq (objdump)"
    else
        REF_CODE="SIMD code (opt.c): $n_pmul pmuludq instructions (objdump)"
    fi
fi

# ---------------------------------------------------------------- the runs

declare -A TIMES   # name -> wall times in microseconds
INPROC=            # in-process call times, ms
now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t/./} )); }

run_one() {
    local name=$1 t0 t1 rc=0
    case $name in
        twofactl)
            rm -f -- "$TMP/work.db" "$TMP/work.db-journal"
            cp -- "$PRISTINE" "$TMP/work.db"
            sync -- "$TMP/work.db"
            t0=$(now_us)
            printf '%s\n' "$WRONG" | TWOFACTL_CONFIG=$CONFIG TWOFACTL_DB=$TMP/work.db \
                "$BIN" --no-input request-reset alice --password-stdin >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 3 )) || { cat "$TMP/err" >&2; die "twofactl request-reset exited $rc, expected 3"; }
            grep -q 'wrong password' "$TMP/err" || { cat "$TMP/err" >&2; die "twofactl did not report a wrong password"; }
            ;;
        in-process)
            t0=$(now_us)
            printf '%s\n' "$WRONG" | "$EX" "$PHC" 1 >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 3 )) || { cat "$TMP/err" >&2; die "bench_argon2 exited $rc, expected 3 (mismatch)"; }
            INPROC+="$(head -1 "$TMP/out") "
            ;;
        reference)
            t0=$(now_us)
            printf '%s' "$PASSWORD" | "$REF" "$SALT" "${REF_ARGS[@]}" -e >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 0 )) || { cat "$TMP/err" >&2; die "argon2 -e exited $rc"; }
            [[ $(<"$TMP/out") == "$PHC" ]] || die "the reference computed another hash"
            ;;
        reference+verify)
            t0=$(now_us)
            printf '%s' "$PASSWORD" | "$REF" "$SALT" "${REF_ARGS[@]}" >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 0 )) || { cat "$TMP/err" >&2; die "argon2 exited $rc"; }
            grep -qxF "Encoded:	$PHC" "$TMP/out" || die "the reference computed another hash"
            grep -qx 'Verification ok' "$TMP/out" || die "the reference did not verify its hash"
            REF_CPU+="$(awk '/ seconds$/{print $1*1000}' "$TMP/out") "
            ;;
    esac
    TIMES[$name]+="$(( t1 - t0 )) "
}

REF_CPU=
NAMES=(twofactl in-process reference reference+verify)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# One untimed warm-up of each (page cache, CPU frequency).
say "warm-up"
for name in "${NAMES[@]}"; do run_one "$name"; done
TIMES=(); INPROC=; REF_CPU=
for (( r = 0; r < RUNS; r++ )); do
    k=$(( r % ${#NAMES[@]} ))
    order=("${NAMES[@]:k}" "${NAMES[@]:0:k}")
    for name in "${order[@]}"; do run_one "$name"; done
    say "run $((r + 1))/$RUNS done"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- results

# stats VALUES DIVISOR -> "median min max" in ms
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk -v d="$2" '{v[NR]=$1/d} END{if(NR%2) m=v[(NR+1)/2]; else m=(v[NR/2]+v[NR/2+1])/2; printf "%.1f %.1f %.1f", m, v[1], v[NR]}'; }
list_ms() { tr ' ' '\n' <<<"$1" | grep . | awk -v d="$2" '{printf "%s%.1f", (NR>1?", ":""), $1/d}'; }

read -r TF_MED TF_MIN TF_MAX <<<"$(stats "${TIMES[twofactl]}" 1000)"
read -r EX_MED EX_MIN EX_MAX <<<"$(stats "${TIMES[in-process]}" 1000)"
read -r IN_MED IN_MIN IN_MAX <<<"$(stats "$INPROC" 1)"
read -r RF_MED RF_MIN RF_MAX <<<"$(stats "${TIMES[reference]}" 1000)"
read -r RV_MED RV_MIN RV_MAX <<<"$(stats "${TIMES[reference+verify]}" 1000)"
read -r RC_MED RC_MIN RC_MAX <<<"$(stats "$REF_CPU" 1)"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN{printf "%.2f", x/y}'; }
R_TF=$(ratio "$TF_MED" "$RF_MED")
# What request-reset adds around the verification: twofactl - bench_argon2, paired per round.
read -ra A <<<"${TIMES[twofactl]}"
read -ra B <<<"${TIMES[in-process]}"
DIFFS=
for i in "${!A[@]}"; do DIFFS+="$(( A[i] - B[i] )) "; done
read -r DF_MED DF_MIN DF_MAX <<<"$(stats "$DIFFS" 1000)"
R_EX=$(ratio "$EX_MED" "$RF_MED")
R_IN=$(ratio "$IN_MED" "$RF_MED")
R_RV=$(ratio "$RV_MED" "$RF_MED")
VERDICT=$(awk -v r="$R_TF" 'BEGIN{ if (r <= 1.1) print "meets the target (<= 1.1)"; else print "**misses the target (<= 1.1)**" }')

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $GIT_REV != unknown && -n $(cd "$ROOT" && git status --porcelain 2>/dev/null) ]]; then GIT_REV+=" (dirty)"; fi
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REF_VER=$(dpkg-query -W -f='${Version}' argon2 2>/dev/null || echo unknown)
SIMD=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sse2|ssse3|avx2|avx512f' | tr '\n' ' ')

{
    echo "# twofactl Argon2 benchmark: one verification, twofactl vs the reference C implementation"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU:-unknown CPU} (${SIMD% }), Linux $(uname -r); load average $LOAD_START at start, $LOAD_END at end"
    echo "- twofactl: $("$BIN" --version 2>/dev/null | head -1) (argon2 crate 0.6, feature \`parallel\`); reference: $REF (Debian argon2 $REF_VER)"
    echo "- hash: \`$PHC\` (made by the reference CLI from the password and salt)"
    echo "- runs: $RUNS of each, interleaved (order rotated each round), after one untimed warm-up"
    echo
    echo "| command | median | min | max | ratio to reference |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    echo "| twofactl request-reset (whole process, wrong password, exit 3) | $TF_MED ms | $TF_MIN ms | $TF_MAX ms | **$R_TF** |"
    echo "| bench_argon2: check_password once (whole process) | $EX_MED ms | $EX_MIN ms | $EX_MAX ms | $R_EX |"
    echo "| bench_argon2: check_password call alone (in-process, first call) | $IN_MED ms | $IN_MIN ms | $IN_MAX ms | $R_IN |"
    echo "| reference \`argon2 ... -e\` (whole process, one Argon2 computation) | $RF_MED ms | $RF_MIN ms | $RF_MAX ms | 1.00 |"
    echo "| reference \`argon2 ...\` without -e (hash, then its own verify: two computations) | $RV_MED ms | $RV_MIN ms | $RV_MAX ms | $R_RV |"
    echo
    echo "Target (within 1.1x of the reference): twofactl / reference = $R_TF, $VERDICT."
    echo
    echo "Notes:"
    echo
    echo "- Without -e (or -r) the reference CLI, after hashing, calls argon2_verify on its own"
    echo "  result, which computes Argon2 again: that command costs two verifications, so the ratio"
    echo "  uses the -e command, whose output is exactly the PHC string."
    echo "- Threads: the reference CLI (libargon2 with pthreads) starts a thread per lane for each"
    echo "  of the 4 slices of each of the 3 passes (p = 4 lanes in parallel): $THREADS_REF. twofactl's"
    echo "  argon2 crate runs the lanes on rayon's pool, one thread per CPU: $THREADS_EX for"
    echo "  bench_argon2. On this $(nproc)-CPU machine neither can run more than $(nproc) lanes at once."
    echo "- Code: the reference binary is $REF_CODE. The argon2 crate"
    echo "  picks an AVX2 compression function at run time when the CPU has AVX2 (this one: $([[ $SIMD == *avx2* ]] && echo yes || echo no))."
    echo "- Without -e the reference CLI prints its own time of the hash (not of its verify),"
    echo "  measured with clock(): CPU time summed over its threads, not wall time: median"
    echo "  $RC_MED ms (min $RC_MIN, max $RC_MAX)."
    echo "- twofactl minus bench_argon2 (whole processes, paired per round) is what request-reset"
    echo "  adds around the verification: config, SQLite (the lock-out check, then recording the"
    echo "  failure and an audit row in a transaction), output: median $DF_MED ms (min $DF_MIN, max $DF_MAX)."
    echo
    echo "Commands:"
    echo
    echo "- twofactl: \`printf '%s\\n' WRONG | TWOFACTL_CONFIG=config.toml TWOFACTL_DB=work.db twofactl"
    echo "  --no-input request-reset alice --password-stdin\` (config: file transport,"
    echo "  \`[reset] max_password_failures = 1000\`; a fresh synced copy of the one-user database per run)"
    echo "- bench_argon2: \`printf '%s\\n' WRONG | target/release/examples/bench_argon2 PHC 1\`"
    echo "- reference: \`echo -n '$PASSWORD' | argon2 $SALT ${REF_ARGS[*]} -e\` (and without -e)"
    echo
    echo "Raw times, ms:"
    echo
    echo "- twofactl: $(list_ms "${TIMES[twofactl]}" 1000)"
    echo "- bench_argon2 process: $(list_ms "${TIMES[in-process]}" 1000)"
    echo "- bench_argon2 call: $(list_ms "$INPROC" 1)"
    echo "- reference (-e): $(list_ms "${TIMES[reference]}" 1000)"
    echo "- reference without -e: $(list_ms "${TIMES[reference+verify]}" 1000)"
    echo "- reference clock() CPU: $(list_ms "$REF_CPU" 1)"
} > "$TMP/results.md"

cp "$TMP/results.md" "$RESULTS"
cat "$TMP/results.md"
say "wrote $RESULTS"
