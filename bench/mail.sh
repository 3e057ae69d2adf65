#!/usr/bin/env bash
# Benchmark notifying reset users by e-mail through a local SMTP server, on this machine.
#
# Usage: bench/mail.sh [--users N] [--runs K] [--slow-runs K] [--slow-n N] [--no-pin] [--no-build]
#
#   --users N      users reset and notified per run                       (default 10000)
#   --runs K       runs of each fast case, interleaved; medians reported   (default 5)
#   --slow-runs K  runs of the two cases that pay Nagle's delay per message (default 1)
#   --slow-n N     messages per run of those two cases                    (default: --users)
#   --no-pin       do not pin the sink and the client to CPUs (see "CPU placement")
#   --no-build     do not run cargo build; use the existing release binaries
#
# Cases, each against a fresh SMTP sink on 127.0.0.1 (examples/bench_smtp.rs `sink`: the SMTP
# server of the integration tests, tests/cli/smtp.rs, run as a process of its own):
#   a   twofactl admin-reset --from-file users.txt --reason bench --yes on a database of N users
#       (2FA enabled, one session each), [smtp] host=127.0.0.1 security="none" in the file
#       named by TWOFACTL_CONFIG: N notices queued in the outbox and sent over one connection
#   a0  the same with --no-notify (no mail); a - a0, paired per round, is the mail share
#   at  a with the database on tmpfs (/dev/shm), to show what fsync costs in a
#   s   twofactl::mail::SmtpSession in-process (bench_smtp twofactl-session): twofactl's SMTP
#       client alone, one connection, no database
#   b   one new connection per message: lettre SmtpTransport::builder_dangerous(host).port(p)
#       .build() without pool, send_raw per message (bench_smtp per-message)
#   c   lettre SmtpConnection::send over one reused connection (bench_smtp lettre-reuse): it
#       writes the body and "\r\n.\r\n" separately, so Nagle's algorithm holds the terminator
#       until the server's delayed ACK (src/mail.rs writes both at once)
#   a-x, s-x  a and s with the sink and the client pinned to different CPUs
#
# CPU placement: SMTP is a ping-pong of small writes, so on loopback the rate depends on how
# fast the kernel wakes the other side. Waking a process on another (virtual) CPU can cost far
# more than switching to it on the same CPU, and where the scheduler puts the sink and the
# client varies from run to run, which makes unpinned runs bimodal. So every case pins the sink
# and the client (twofactl or bench_smtp) with taskset to the same CPU (0), and a-x and s-x pin
# them to CPUs 0 and 1, to show the cross-CPU cost; --no-pin lets the scheduler choose.
#
# Every run is a whole process timed from outside (bash $EPOCHREALTIME); b, c and s compose
# their N messages with twofactl::mail::compose first (inside the timed process). After each
# run the sink must hold exactly the expected number of messages (N, or 0 for a0), over the
# expected number of connections, and for a every outbox row must be `sent`.
# Every database is a fresh, synced copy of a pristine one (copy not timed).
#
# Prints a Markdown table on stdout and writes it to bench/results-mail.md; progress on stderr.

set -euo pipefail
export LC_ALL=C

die() { printf 'bench/mail: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench/mail: %s\n' "$*" >&2; }
usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

N=10000
RUNS=5
SLOW_RUNS=1
SLOW_N=
BUILD=1
PIN=1
need_int() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (( 10#$2 < $3 )); then die "$1 needs an integer >= $3, got '$2'"; fi
}
while (( $# )); do
    case $1 in
        --users) (( $# >= 2 )) || die "--users needs a value"; N=$2; shift 2 ;;
        --runs) (( $# >= 2 )) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --slow-runs) (( $# >= 2 )) || die "--slow-runs needs a value"; SLOW_RUNS=$2; shift 2 ;;
        --slow-n) (( $# >= 2 )) || die "--slow-n needs a value"; SLOW_N=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-pin) PIN=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
need_int --users "$N" 1
need_int --runs "$RUNS" 1
need_int --slow-runs "$SLOW_RUNS" 0
[[ -z $SLOW_N ]] && SLOW_N=$N
need_int --slow-n "$SLOW_N" 1
N=$((10#$N)); RUNS=$((10#$RUNS)); SLOW_RUNS=$((10#$SLOW_RUNS)); SLOW_N=$((10#$SLOW_N))

(( BASH_VERSINFO[0] >= 5 )) || die "bash >= 5 is needed (EPOCHREALTIME)"
command -v sqlite3 >/dev/null || die "sqlite3 CLI not found"
if (( PIN )); then
    command -v taskset >/dev/null || die "taskset not found (util-linux), or pass --no-pin"
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=$ROOT/bench/results-mail.md
BIN=$ROOT/target/release/twofactl
SMTP=$ROOT/target/release/examples/bench_smtp
SCHEMA=$ROOT/schema/app-schema.sql
[[ -f $SCHEMA ]] || die "no schema at $SCHEMA"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench-mail.XXXXXX")
SHM=
if [[ -d /dev/shm && -w /dev/shm ]]; then SHM=$(mktemp -d /dev/shm/twofactl-bench-mail.XXXXXX); fi
SINK_CHILD=
stop_sink() {
    if [[ -n $SINK_CHILD ]]; then
        # End of stdin stops the sink.
        exec {SINK_IN}>&- {SINK_OUT}<&-
        wait "$SINK_CHILD" 2>/dev/null || true
        SINK_CHILD=
    fi
}
cleanup() { stop_sink; rm -rf -- "$TMP"; [[ -n $SHM ]] && rm -rf -- "$SHM"; return 0; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^TWOFACTL_' || true)
export XDG_CONFIG_HOME=$TMP/xdg
mkdir -p "$XDG_CONFIG_HOME"

if (( BUILD )); then
    say "cargo build --release --bin twofactl --example bench_smtp"
    (cd "$ROOT" && cargo build --release --bin twofactl --example bench_smtp >&2) || die "cargo build failed"
fi
[[ -x $BIN ]] || die "$BIN not found (run without --no-build)"
[[ -x $SMTP ]] || die "$SMTP not found (run without --no-build)"

# ---------------------------------------------------------------- the sink

# pin_cmd CPU: the command prefix that runs a program on CPU (nothing with --no-pin).
pin_cmd() { if (( PIN )); then echo "taskset -c $1"; fi; }

# start_sink CPU: a fresh sink (a new process per run keeps its memory small); sets PORT.
start_sink() {
    stop_sink
    local pin
    read -ra pin <<<"$(pin_cmd "$1")"
    coproc SINK { exec "${pin[@]}" "$SMTP" sink; }
    SINK_CHILD=$SINK_PID
    # Keep copies of the pipes and close bash's own, so that closing SINK_IN means EOF.
    local to_sink=${SINK[1]} from_sink=${SINK[0]}
    exec {SINK_IN}>&"$to_sink" {SINK_OUT}<&"$from_sink"
    exec {to_sink}>&- {from_sink}<&-
    read -r -t 30 PORT <&"$SINK_OUT" || die "the SMTP sink did not start"
    [[ $PORT =~ ^[0-9]+$ ]] || die "the SMTP sink printed '$PORT', not a port"
}
# sink_count: sets GOT_MSGS and GOT_CONNS.
sink_count() {
    echo count >&"$SINK_IN"
    read -r -t 60 GOT_MSGS GOT_CONNS <&"$SINK_OUT" || die "the SMTP sink did not answer"
}

# ---------------------------------------------------------------- the database

PRISTINE=$TMP/pristine.db
USERS_TXT=$TMP/users.txt
say "generating a database of $N users"
sqlite3 -bail "$PRISTINE" >/dev/null <<EOF
.read '$SCHEMA'
BEGIN;
INSERT INTO settings (key, value) VALUES ('app.name', 'Bench');
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
INSERT INTO users (id, username, email, password_hash, is_admin, totp_secret, totp_enabled)
SELECT i, printf('user%07d', i), printf('user%07d@example.com', i),
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c29tZXNhbHRzb21lc2FsdA\$ZrGqOWv3R3c6Ck2Zl2m1kA8pr2A0fN7iV3oV1m9xT1Y',
       0, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1
FROM seq;
INSERT INTO sessions (id, user_id) SELECT 'session' || id, id FROM users;
COMMIT;
EOF
sqlite3 "$PRISTINE" "SELECT username FROM users ORDER BY id" > "$USERS_TXT"
(( $(wc -l < "$USERS_TXT") == N )) || die "the user list does not hold $N users"

CONFIG=$TMP/config.toml
write_config() {
    cat > "$CONFIG" <<EOF
[mail]
transport = "smtp"
from = "Bench <no-reply@example.com>"

[smtp]
host = "127.0.0.1"
port = $1
security = "none"
timeout = "60s"
EOF
}

# fresh_db DIR: a synced copy of the pristine database at DIR/work.db (not timed).
fresh_db() {
    rm -f -- "$1"/work.db "$1"/work.db-journal "$1"/work.db-wal "$1"/work.db-shm
    cp -- "$PRISTINE" "$1/work.db"
    sync -- "$1/work.db"
    WORK=$1/work.db
}

# ---------------------------------------------------------------- one run of a case

declare -A TIMES   # case -> space-separated wall times in microseconds
declare -A CONNS   # case -> connections of the last run
now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t/./} )); }

run_case() {
    local c=$1 n expect_msgs expect_conns rc t0 t1 dir client_cpu=0 pin
    [[ $c == *-x ]] && client_cpu=1
    start_sink 0
    read -ra pin <<<"$(pin_cmd "$client_cpu")"
    write_config "$PORT"
    case $c in
        a|a0|at|a-x)
            dir=$TMP; [[ $c == at ]] && dir=$SHM
            fresh_db "$dir"
            n=$N; expect_msgs=$N; expect_conns=1
            local extra=()
            [[ $c == a0 ]] && { extra=(--no-notify); expect_msgs=0; expect_conns=0; }
            t0=$(now_us)
            rc=0
            TWOFACTL_CONFIG=$CONFIG TWOFACTL_DB=$WORK "${pin[@]}" "$BIN" --no-input --yes admin-reset \
                --from-file "$USERS_TXT" --reason bench "${extra[@]}" >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 0 )) || { cat "$TMP/err" >&2; die "$c: twofactl exited $rc"; }
            local cleared
            cleared=$(sqlite3 "$WORK" "SELECT count(*) FROM users WHERE totp_secret IS NULL AND totp_enabled = 0")
            (( cleared == N )) || die "$c: $cleared users cleared, expected $N"
            if [[ $c != a0 ]]; then
                local sent unsent
                sent=$(sqlite3 "$WORK" "SELECT count(*) FROM twofactl_outbox WHERE state = 'sent'")
                unsent=$(sqlite3 "$WORK" "SELECT count(*) FROM twofactl_outbox WHERE state != 'sent'")
                (( sent == N && unsent == 0 )) || die "$c: outbox has $sent sent and $unsent unsent rows, expected $N and 0"
            fi
            ;;
        s|s-x|b|c)
            local mode
            case $c in s|s-x) mode=twofactl-session; n=$N ;; b) mode=per-message; n=$SLOW_N ;; c) mode=lettre-reuse; n=$SLOW_N ;; esac
            expect_msgs=$n; expect_conns=1
            [[ $c == b ]] && expect_conns=$n
            t0=$(now_us)
            rc=0
            "${pin[@]}" "$SMTP" "$mode" "$PORT" "$n" >"$TMP/out" 2>"$TMP/err" || rc=$?
            t1=$(now_us)
            (( rc == 0 )) || { cat "$TMP/err" >&2; die "$c: bench_smtp $mode exited $rc"; }
            ;;
    esac
    sink_count
    (( GOT_MSGS == expect_msgs )) || die "$c: the sink received $GOT_MSGS messages, expected $expect_msgs"
    (( GOT_CONNS == expect_conns )) || die "$c: the sink saw $GOT_CONNS connections, expected $expect_conns"
    stop_sink
    TIMES[$c]+="$(( t1 - t0 )) "
    CONNS[$c]=$GOT_CONNS
    say "$(printf '%-3s %6d msgs %6d conns %10.3f s' "$c" "$GOT_MSGS" "$GOT_CONNS" "$(awk -v u=$((t1 - t0)) 'BEGIN{print u/1e6}')")"
}

# ---------------------------------------------------------------- the runs

FAST=(a a0 s)
[[ -n $SHM ]] && FAST+=(at)
if (( PIN )) && (( $(nproc) >= 2 )); then FAST+=(a-x s-x); fi
ROUNDS=$(( RUNS > SLOW_RUNS ? RUNS : SLOW_RUNS ))
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "$ROUNDS rounds: fast cases ${FAST[*]} x $RUNS ($N messages), slow cases b c x $SLOW_RUNS ($SLOW_N messages)"
for (( r = 0; r < ROUNDS; r++ )); do
    order=()
    if (( r < RUNS )); then order+=("${FAST[@]}"); fi
    # b and c sit between the fast cases, so that drift over a long round hits all of them.
    if (( r < SLOW_RUNS )); then
        order=("${order[@]:0:2}" b "${order[@]:2}" c)
    fi
    # Rotate the order each round.
    k=$(( r % ${#order[@]} ))
    order=("${order[@]:k}" "${order[@]:0:k}")
    say "round $((r + 1))/$ROUNDS: ${order[*]}"
    for c in "${order[@]}"; do run_case "$c"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- results

# median of microsecond values -> seconds
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END{if(NR%2) m=v[(NR+1)/2]; else m=(v[NR/2]+v[NR/2+1])/2; printf "%.6f", m/1e6}'; }
list_s() { tr ' ' '\n' <<<"$1" | grep . | awk '{printf "%s%.3f", (NR>1?", ":""), $1/1e6}'; }
count() { tr ' ' '\n' <<<"$1" | grep -c .; }

# Paired per-round difference a - a0 (same round, same drift).
read -ra TA <<<"${TIMES[a]}"
read -ra TA0 <<<"${TIMES[a0]}"
DIFFS=
for i in "${!TA[@]}"; do DIFFS+="$(( TA[i] - TA0[i] )) "; done

M_A=$(median "${TIMES[a]}"); M_A0=$(median "${TIMES[a0]}"); M_S=$(median "${TIMES[s]}")
M_D=$(median "$DIFFS")
M_B=$(median "${TIMES[b]:-}" 2>/dev/null || true); M_C=$(median "${TIMES[c]:-}" 2>/dev/null || true)
M_AT=; [[ -n ${TIMES[at]:-} ]] && M_AT=$(median "${TIMES[at]}")

rate() { awk -v n="$1" -v s="$2" 'BEGIN{ if (s > 0) printf "%.0f", n/s; else print "—" }'; }
msper() { awk -v n="$1" -v s="$2" 'BEGIN{ printf "%.3f", s*1000/n }'; }
secs() { awk -v s="$1" 'BEGIN{ printf "%.3f", s }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN{ if (y > 0) printf "%.1f", x/y; else print "—" }'; }

R_A=$(rate "$N" "$M_A"); R_D=$(rate "$N" "$M_D"); R_S=$(rate "$N" "$M_S")
R_B=; R_C=; R_AT=
(( SLOW_RUNS > 0 )) && { R_B=$(rate "$SLOW_N" "$M_B"); R_C=$(rate "$SLOW_N" "$M_C"); }
[[ -n $M_AT ]] && R_AT=$(rate "$N" "$M_AT")
M_AX=; M_SX=; R_AX=; R_SX=
if [[ -n ${TIMES[a-x]:-} ]]; then
    M_AX=$(median "${TIMES[a-x]}"); R_AX=$(rate "$N" "$M_AX")
    M_SX=$(median "${TIMES[s-x]}"); R_SX=$(rate "$N" "$M_SX")
fi
if (( PIN )); then
    PLACEMENT="the sink and the client pinned to CPU 0 (taskset), except a-x and s-x: sink on CPU 0, client on CPU 1"
else
    PLACEMENT="not pinned (--no-pin): the scheduler placed the sink and the client"
fi

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $GIT_REV != unknown && -n $(cd "$ROOT" && git status --porcelain 2>/dev/null) ]]; then GIT_REV+=" (dirty)"; fi
CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')

{
    echo "# twofactl mail benchmark: notifying reset users over SMTP"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU:-unknown CPU}, Linux $(uname -r); load average $LOAD_START at start, $LOAD_END at end"
    echo "- twofactl: $("$BIN" --version 2>/dev/null | head -1); lettre 0.11 (no pool feature)"
    echo "- parameters: --users $N --runs $RUNS --slow-runs $SLOW_RUNS --slow-n $SLOW_N$( (( PIN )) || echo ' --no-pin')"
    echo "- CPU placement: $PLACEMENT"
    echo
    echo "Median wall time of whole processes, cases interleaved round by round; every run against"
    echo "a fresh SMTP sink on 127.0.0.1 (the test suite's server, tests/cli/smtp.rs, in its own"
    echo "process) that afterwards held exactly the expected messages over the expected connections."
    echo
    echo "| case | what | messages | connections | runs | median wall | msg/s | ms/msg |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "| a | twofactl admin-reset of $N users, notify (DB on disk) | $N | ${CONNS[a]} | $(count "${TIMES[a]}") | $(secs "$M_A") s | **$R_A** | $(msper "$N" "$M_A") |"
    echo "| a0 | the same with --no-notify | 0 | 0 | $(count "${TIMES[a0]}") | $(secs "$M_A0") s | — | — |"
    echo "| a−a0 | mail share of a (paired per round) | $N | 1 | $(count "$DIFFS") | $(secs "$M_D") s | $R_D | $(msper "$N" "$M_D") |"
    [[ -n $M_AT ]] && echo "| at | a with the DB on tmpfs (no fsync cost) | $N | ${CONNS[at]} | $(count "${TIMES[at]}") | $(secs "$M_AT") s | $R_AT | $(msper "$N" "$M_AT") |"
    echo "| s | twofactl's SmtpSession alone, in-process, no DB | $N | 1 | $(count "${TIMES[s]}") | $(secs "$M_S") s | $R_S | $(msper "$N" "$M_S") |"
    if [[ -n $M_AX ]]; then
        echo "| a-x | a, sink and twofactl on different CPUs | $N | ${CONNS[a-x]} | $(count "${TIMES[a-x]}") | $(secs "$M_AX") s | $R_AX | $(msper "$N" "$M_AX") |"
        echo "| s-x | s, sink and client on different CPUs | $N | 1 | $(count "${TIMES[s-x]}") | $(secs "$M_SX") s | $R_SX | $(msper "$N" "$M_SX") |"
    fi
    if (( SLOW_RUNS > 0 )); then
        echo "| b | lettre SmtpTransport, new connection per message | $SLOW_N | ${CONNS[b]} | $(count "${TIMES[b]}") | $(secs "$M_B") s | **$R_B** | $(msper "$SLOW_N" "$M_B") |"
        echo "| c | lettre SmtpConnection::send, one reused connection | $SLOW_N | ${CONNS[c]} | $(count "${TIMES[c]}") | $(secs "$M_C") s | **$R_C** | $(msper "$SLOW_N" "$M_C") |"
    fi
    echo
    if (( SLOW_RUNS > 0 )); then
        echo "Ratios (msg/s): a / b = **$(ratio "$R_A" "$R_B")x**, a / c = **$(ratio "$R_A" "$R_C")x**, s / b = $(ratio "$R_S" "$R_B")x, (a−a0) / b = $(ratio "$R_D" "$R_B")x."
        echo
    fi
    echo "Cases:"
    echo
    echo "- a: \`TWOFACTL_CONFIG=config.toml TWOFACTL_DB=work.db twofactl --no-input --yes admin-reset"
    echo "  --from-file users.txt --reason bench\` with \`[smtp] host = \"127.0.0.1\", port = P,"
    echo "  security = \"none\"\`: $N users with 2FA and a session each; resets, audit rows and $N"
    echo "  outbox rows in one transaction, then the notices sent over one connection, settled in"
    echo "  batches. Checked: all users cleared, every outbox row \`sent\`. a0 adds \`--no-notify\`."
    echo "- s, b, c: \`target/release/examples/bench_smtp twofactl-session|per-message|lettre-reuse"
    echo "  PORT N\` (examples/bench_smtp.rs), the same kind of admin-reset notice composed by"
    echo "  \`twofactl::mail::compose\` for user0000001@example.com, ... before the send loop."
    echo "- b and c write the message body and the final \`\\r\\n.\\r\\n\` in two writes without"
    echo "  TCP_NODELAY: the second small segment waits for the ACK of the first, which the server"
    echo "  delays (Linux: at least 40 ms) because it has nothing to answer yet. src/mail.rs sends"
    echo "  body and terminator in one write, so a and s pay no such delay. b pays it too: a new"
    echo "  connection per message does not escape it, it only adds the handshake and EHLO."
    echo "- SMTP without pipelining is one round trip per command (MAIL, RCPT, DATA, data), so on"
    echo "  loopback the rate is bounded by how fast each side wakes the other: compare s with s-x."
    echo "  Against a real server the network round trip takes this place."
    echo
    echo "Raw wall times, s:"
    echo
    for c in a a0 at s a-x s-x b c; do
        [[ -n ${TIMES[$c]:-} ]] && echo "- $c: $(list_s "${TIMES[$c]}")"
    done
    echo "- a−a0: $(list_s "$DIFFS")"
} > "$TMP/results.md"

cp "$TMP/results.md" "$RESULTS"
cat "$TMP/results.md"
say "wrote $RESULTS"
