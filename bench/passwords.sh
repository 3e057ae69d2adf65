#!/usr/bin/env bash
# Benchmark one bcrypt and one Django PBKDF2 verification: twofactl against PHP's
# password_verify and Python's hashlib, on this machine, in one run.
#
# Usage: bench/passwords.sh [--runs K] [--no-build]
#
#   --runs K     timed runs of each command, interleaved; medians reported (default 15, min 10)
#   --no-build   do not run cargo build; use the existing release binaries
#
# Commands, each a whole process timed from outside (bash $EPOCHREALTIME):
#   twofactl bcrypt   printf 'wrong\n' | twofactl request-reset alice --password-stdin on a
#                     database whose only user has a bcrypt cost-12 hash made by PHP's
#                     password_hash (exit 3: wrong password, counted, no mail); a fresh synced
#                     copy of the database per run (not timed), file transport, and
#                     [reset] max_password_failures = 1000 besides, so it never locks
#   php               php -r 'exit(password_verify($argv[1], $argv[2]) ? 0 : 3);' -- WRONG HASH
#   twofactl django   the same request-reset on a Django pbkdf2_sha256 hash at Django's default
#                     iteration count (read from the installed Django's PBKDF2PasswordHasher
#                     when python3 can import it, else Django 5.2's 1,000,000), salt and hash
#                     made here with hashlib in Django's format
#   python            python3 -c 'hashlib.pbkdf2_hmac("sha256", WRONG, SALT, N)' (the resolved
#                     interpreter, not a pyenv shim), which is what Django's verify computes
#   in-process        examples/bench_argon2 (it takes any stored value): check_password once,
#                     timed whole and inside the process, for each hash
# The ratios twofactl / php and twofactl / python are the ones the project bounds: <= 1.1.
#
# Prints a Markdown table on stdout and writes it to bench/results-passwords.md; progress on
# stderr.

# The results text holds literal backquotes and dollars on purpose.
# shellcheck disable=SC2016
set -euo pipefail
export LC_ALL=C

die() { printf 'bench/passwords: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench/passwords: %s\n' "$*" >&2; }
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
PHP=$(command -v php) || die "php is not installed (apt-get install -y php-cli)"
command -v python3 >/dev/null || die "python3 not found"
# A pyenv shim is a shell script that starts python3; time the interpreter itself.
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=$ROOT/bench/results-passwords.md
BIN=$ROOT/target/release/twofactl
EX=$ROOT/target/release/examples/bench_argon2
SCHEMA=$ROOT/schema/app-schema.sql
[[ -f $SCHEMA ]] || die "no schema at $SCHEMA"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench-passwords.XXXXXX")
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

# ---------------------------------------------------------------- the hashes and databases

PASSWORD='correct horse battery staple'
WRONG='not the password'
BCRYPT=$("$PHP" -r 'echo password_hash($argv[1], PASSWORD_BCRYPT, ["cost" => 12]);' -- "$PASSWORD") \
    || die "php password_hash failed"
[[ $BCRYPT == '$2y$12$'* ]] || die "unexpected bcrypt string from PHP: $BCRYPT"

ITER_SOURCE="Django 5.2's default (django/contrib/auth/hashers.py; Django is not importable here)"
ITER=1000000
if DJ=$("$PY" -c 'import django; from django.contrib.auth.hashers import PBKDF2PasswordHasher as H; print(django.get_version(), H.iterations)' 2>/dev/null); then
    ITER=${DJ#* }
    ITER_SOURCE="the installed Django ${DJ% *}'s PBKDF2PasswordHasher.iterations"
fi
SALT=twofactlbenchsalt1234
DJANGO=$("$PY" -c '
import base64, hashlib, sys
pw, salt, n = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])
h = base64.b64encode(hashlib.pbkdf2_hmac("sha256", pw, salt.encode(), n)).decode()
print(f"pbkdf2_sha256${n}${salt}${h}")' "$PASSWORD" "$SALT" "$ITER") || die "python3 hashlib failed"
say "bcrypt: $BCRYPT"
say "django: $DJANGO"

for kind in bcrypt django; do
    if [[ $kind == bcrypt ]]; then hash=$BCRYPT; else hash=$DJANGO; fi
    sqlite3 -bail "$TMP/$kind.db" >/dev/null <<EOF
.read '$SCHEMA'
INSERT INTO settings (key, value) VALUES ('app.name', 'Bench');
INSERT INTO users (id, username, email, password_hash, totp_secret, totp_enabled)
VALUES (1, 'alice', 'alice@example.com', '$hash', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1);
EOF
    # Both sides must accept the right password before timing.
    printf '%s\n' "$PASSWORD" | "$EX" "$hash" 1 >/dev/null || die "check_password does not accept the $kind hash"
done
"$PHP" -r 'exit(password_verify($argv[1], $argv[2]) ? 0 : 3);' -- "$PASSWORD" "$BCRYPT" || die "password_verify does not accept its hash"
CONFIG=$TMP/config.toml
cat > "$CONFIG" <<EOF
[mail]
transport = "file"
from = "Bench <no-reply@example.com>"
file_dir = "$TMP/outbox"

[reset]
max_password_failures = 1000
EOF
# twofactl's tables already exist, as in a database twofactl has been used on: the first
# run creates them (in its transaction), once per database; the runs below measure the
# steady state. One untimed wrong password per database does it.
for kind in bcrypt django; do
    rc=0
    printf '%s\n' "$WRONG" | TWOFACTL_CONFIG=$CONFIG TWOFACTL_DB=$TMP/$kind.db \
        "$BIN" --no-input request-reset alice --password-stdin >/dev/null 2>&1 || rc=$?
    (( rc == 3 )) || die "the untimed first request-reset ($kind) exited $rc, expected 3"
done

# ---------------------------------------------------------------- the runs

declare -A TIMES INPROC   # name -> wall times in microseconds / in-process call times in ms
now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t/./} )); }

twofactl_run() {
    local kind=$1 rc=0
    rm -f -- "$TMP/work.db" "$TMP/work.db-journal"
    cp -- "$TMP/$kind.db" "$TMP/work.db"
    sync -- "$TMP/work.db"
    T0=$(now_us)
    printf '%s\n' "$WRONG" | TWOFACTL_CONFIG=$CONFIG TWOFACTL_DB=$TMP/work.db \
        "$BIN" --no-input request-reset alice --password-stdin >"$TMP/out" 2>"$TMP/err" || rc=$?
    T1=$(now_us)
    (( rc == 3 )) || { cat "$TMP/err" >&2; die "twofactl request-reset ($kind) exited $rc, expected 3"; }
    grep -q 'wrong password' "$TMP/err" || { cat "$TMP/err" >&2; die "twofactl did not report a wrong password"; }
}

inproc_run() {
    local hash=$1 rc=0
    T0=$(now_us)
    printf '%s\n' "$WRONG" | "$EX" "$hash" 1 >"$TMP/out" 2>"$TMP/err" || rc=$?
    T1=$(now_us)
    (( rc == 3 )) || { cat "$TMP/err" >&2; die "bench_argon2 exited $rc, expected 3 (mismatch)"; }
}

run_one() {
    local name=$1 rc=0
    case $name in
        twofactl-bcrypt) twofactl_run bcrypt ;;
        twofactl-django) twofactl_run django ;;
        inproc-bcrypt) inproc_run "$BCRYPT"; INPROC[$name]+="$(head -1 "$TMP/out") " ;;
        inproc-django) inproc_run "$DJANGO"; INPROC[$name]+="$(head -1 "$TMP/out") " ;;
        php)
            T0=$(now_us)
            "$PHP" -r 'exit(password_verify($argv[1], $argv[2]) ? 0 : 3);' -- "$WRONG" "$BCRYPT" || rc=$?
            T1=$(now_us)
            (( rc == 3 )) || die "php password_verify exited $rc, expected 3 (false)"
            ;;
        python)
            T0=$(now_us)
            "$PY" -c 'import hashlib, sys; hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), sys.argv[2].encode(), int(sys.argv[3]))' \
                "$WRONG" "$SALT" "$ITER" || rc=$?
            T1=$(now_us)
            (( rc == 0 )) || die "python3 hashlib exited $rc"
            ;;
    esac
    TIMES[$name]+="$(( T1 - T0 )) "
}

NAMES=(twofactl-bcrypt php inproc-bcrypt twofactl-django python inproc-django)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "warm-up"
for name in "${NAMES[@]}"; do run_one "$name"; done
TIMES=(); INPROC=()
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
ratio() { awk -v x="$1" -v y="$2" 'BEGIN{printf "%.2f", x/y}'; }
verdict() { awk -v r="$1" 'BEGIN{ if (r <= 1.1) print "meets the target (<= 1.1)"; else print "**misses the target (<= 1.1)**" }'; }

declare -A MED MIN MAX
for name in "${NAMES[@]}"; do
    read -r "MED[$name]" "MIN[$name]" "MAX[$name]" <<<"$(stats "${TIMES[$name]}" 1000)"
done
read -r IB_MED IB_MIN IB_MAX <<<"$(stats "${INPROC[inproc-bcrypt]}" 1)"
read -r ID_MED ID_MIN ID_MAX <<<"$(stats "${INPROC[inproc-django]}" 1)"
# What request-reset adds around the verification: twofactl - bench_argon2, paired per round.
paired() {
    local -a a b; local d= i
    read -ra a <<<"${TIMES[$1]}"; read -ra b <<<"${TIMES[$2]}"
    for i in "${!a[@]}"; do d+="$(( a[i] - b[i] )) "; done
    stats "$d" 1000
}
read -r DB_MED DB_MIN DB_MAX <<<"$(paired twofactl-bcrypt inproc-bcrypt)"
read -r DD_MED DD_MIN DD_MAX <<<"$(paired twofactl-django inproc-django)"
R_B=$(ratio "${MED[twofactl-bcrypt]}" "${MED[php]}")
R_D=$(ratio "${MED[twofactl-django]}" "${MED[python]}")

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $GIT_REV != unknown && -n $(cd "$ROOT" && git status --porcelain 2>/dev/null) ]]; then GIT_REV+=" (dirty)"; fi
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sha_ni|avx2|aes' | tr '\n' ' ')
PHP_VER=$("$PHP" -r 'echo PHP_VERSION;')
PY_VER=$("$PY" -c 'import platform, ssl; print(platform.python_version(), "with", ssl.OPENSSL_VERSION)')

row() { echo "| $1 | ${MED[$2]} ms | ${MIN[$2]} ms | ${MAX[$2]} ms | $3 |"; }
{
    echo "# twofactl password benchmark: bcrypt vs PHP, Django PBKDF2 vs Python's hashlib"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU:-unknown CPU} (${FLAGS% }), Linux $(uname -r); load average $LOAD_START at start, $LOAD_END at end"
    echo "- twofactl: $("$BIN" --version 2>/dev/null | head -1) (bcrypt crate 0.19, pbkdf2 0.13, sha2 0.11); PHP $PHP_VER ($PHP); Python $PY_VER ($PY)"
    echo "- bcrypt hash: \`$BCRYPT\` (PHP's password_hash, cost 12)"
    echo "- Django hash: \`$DJANGO\` ($ITER iterations: $ITER_SOURCE)"
    echo "- runs: $RUNS of each, interleaved (order rotated each round), after one untimed warm-up"
    echo
    echo "| command | median | min | max | ratio |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    row "twofactl request-reset, bcrypt (whole process, wrong password, exit 3)" twofactl-bcrypt "**$R_B** (to php)"
    row "\`php -r 'password_verify(...)'\` (whole process)" php "1.00"
    row "bench_argon2: check_password on the bcrypt hash (whole process)" inproc-bcrypt "$(ratio "${MED[inproc-bcrypt]}" "${MED[php]}")"
    row "twofactl request-reset, Django pbkdf2_sha256 (whole process, wrong password, exit 3)" twofactl-django "**$R_D** (to python)"
    row "\`python3 -c 'hashlib.pbkdf2_hmac(...)'\` (whole process)" python "1.00"
    row "bench_argon2: check_password on the Django hash (whole process)" inproc-django "$(ratio "${MED[inproc-django]}" "${MED[python]}")"
    echo
    echo "In-process, the check_password call alone: bcrypt median $IB_MED ms (min $IB_MIN, max $IB_MAX);"
    echo "Django PBKDF2 median $ID_MED ms (min $ID_MIN, max $ID_MAX)."
    echo
    echo "Targets (bcrypt within 1.1x of PHP's password_verify, PBKDF2 within 1.1x of"
    echo "Python's hashlib): bcrypt $R_B, $(verdict "$R_B"); PBKDF2 $R_D, $(verdict "$R_D")."
    echo
    echo "Notes:"
    echo
    echo "- request-reset does more than the verification: it reads the config, opens SQLite (a fresh"
    echo "  copy of a database whose twofactl tables exist, as after its first use) and checks the"
    echo "  lock-out in a write transaction, then records the wrong password and an audit row in another. A wrong password"
    echo "  costs no Argon2id hash of a would-be code (only a right one gets a code and its hash). The"
    echo "  bench_argon2 rows show the verification alone in a process of its own. request-reset minus"
    echo "  bench_argon2 (whole processes, paired per round): bcrypt median $DB_MED ms (min $DB_MIN, max $DB_MAX), Django median $DD_MED ms (min $DD_MIN, max $DD_MAX)."
    echo "- sha2 0.11 picks the SHA-NI compression function at run time when the CPU has it (this one:"
    echo "  $([[ $FLAGS == *sha_ni* ]] && echo yes || echo no)); OpenSSL, under Python's hashlib, does the same."
    echo
    echo "Raw times, ms:"
    echo
    for name in "${NAMES[@]}"; do echo "- $name: $(list_ms "${TIMES[$name]}" 1000)"; done
    echo "- inproc-bcrypt call: $(list_ms "${INPROC[inproc-bcrypt]}" 1)"
    echo "- inproc-django call: $(list_ms "${INPROC[inproc-django]}" 1)"
} > "$TMP/results.md"

cp "$TMP/results.md" "$RESULTS"
cat "$TMP/results.md"
say "wrote $RESULTS"
