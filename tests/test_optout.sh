#!/usr/bin/env bash
# test_optout.sh - proves that an opted-out program opens no socket, starts no process or thread,
# and creates, changes or deletes no file: the demo runs under strace, and every system call that could create a socket
# or touch the file system for writing fails the test. A control run with telemetry on must show
# such calls, so the check itself is known to work.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DEMO=$BUILD/demo
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }

command -v strace >/dev/null || { fail "strace is not installed"; echo "$passed passed, $failed failed"; exit 1; }
[ -x "$DEMO" ] || { fail "$DEMO is not built"; echo "$passed passed, $failed failed"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the URLs point at a closed port on loopback: an enabled run would try to connect there
# (--no-notice: the control run must try to send, and strace's stderr is no terminal)
args=(--usage-url "http://127.0.0.1:9/usage.json" --dsn "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42" --error --no-notice)

# Writes what the run did to $tmp/$1.trace; prints the offending lines.
traced() {
    local name=$1; shift
    # LeakSanitizer cannot run under ptrace: sanitizer builds keep the rest of their checks
    env -u DO_NOT_TRACK -u DEMO_NO_TELEMETRY HOME="$tmp/home-$name" ASAN_OPTIONS=detect_leaks=0 "$@" \
        strace -f -qq -o "$tmp/$name.trace" \
        -e trace=socket,connect,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,truncate,ftruncate,clone,clone3,fork,vfork \
        "$DEMO" --state-dir "$tmp/state-$name" "${args[@]}" "${EXTRA[@]}" >"$tmp/$name.out" 2>&1
    grep -E 'socket\(|connect\(|creat\(|mkdir|rename|unlink|truncate|O_WRONLY|O_RDWR|O_CREAT|clone3?\(|fork\(' "$tmp/$name.trace" \
        | grep -v -E 'socket\(AF_UNIX|= -1 ENOENT .*(mkdir|unlink)' || true
}

check_silent() {
    local name=$1; shift
    local bad
    bad=$(traced "$name" "$@")
    if [ -z "$bad" ]; then pass; else fail "$name: opted out but it did:"; echo "$bad" | head -5; fi
    if [ ! -e "$tmp/state-$name" ]; then pass; else fail "$name: the state folder was created"; fi
    if grep -q "telemetry is off" "$tmp/$name.out"; then pass; else fail "$name: the demo did not run"; cat "$tmp/$name.out"; fi
}

EXTRA=()
check_silent do_not_track env DO_NOT_TRACK=1
check_silent app_env env DEMO_NO_TELEMETRY=yes
printf 'verbose = true\ntelemetry = off\n' >"$tmp/demo.conf"
EXTRA=(--config-file "$tmp/demo.conf")
check_silent config_file env
EXTRA=(--opt-in)
check_silent opt_in env

# control: telemetry on must show writes and a connection attempt, or the checks above prove nothing
EXTRA=()
bad=$(traced control env)
if grep -q -E 'mkdir|O_CREAT' <<<"$bad"; then pass; else fail "control run created no file: the trace check is broken"; fi
if grep -q -E 'connect\(' <<<"$bad"; then pass; else fail "control run made no connection attempt"; fi
if grep -q -E 'clone3?\(|fork\(' <<<"$bad"; then pass; else fail "control run started no sender (sidecar or thread): the process check is broken"; fi

# F21: every file the library opens is close-on-exec (a child the host execs inherits none), and
# no read of a file blocks (O_NONBLOCK). An enabled run with a config file and an https endpoint
# (CA bundle), then a run that reads back what the first left (outbox files, session).
printf 'verbose = true\n' >"$tmp/on.conf"
for round in 1 2; do
    env -u DO_NOT_TRACK -u DEMO_NO_TELEMETRY HOME="$tmp/home-cloexec" ASAN_OPTIONS=detect_leaks=0 \
        strace -f -qq -o "$tmp/cloexec$round.trace" -e trace=open,openat,creat \
        "$DEMO" --state-dir "$tmp/state-cloexec" --config-file "$tmp/on.conf" \
        --usage-url "https://127.0.0.1:9/usage.json" --dsn "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42" --error \
        >"$tmp/cloexec$round.out" 2>&1
done
cat "$tmp/cloexec1.trace" "$tmp/cloexec2.trace" >"$tmp/cloexec.trace"
nocloexec=$(grep -E 'open(at)?\(|creat\(' "$tmp/cloexec.trace" | grep -v 'O_CLOEXEC' || true)
if [ -z "$nocloexec" ]; then pass; else fail "fds opened without O_CLOEXEC:"; echo "$nocloexec" | head -5; fi
blocking=$(grep -E 'O_RDONLY' "$tmp/cloexec.trace" | grep -E 'state-cloexec|on.conf|os-release' | grep -v -E 'O_NONBLOCK|O_DIRECTORY' || true)
if [ -z "$blocking" ]; then pass; else fail "files read without O_NONBLOCK:"; echo "$blocking" | head -5; fi
# the check saw the files it is about, or it proves nothing
for f in on.conf os-release install_id.tmp- '/outbox/.*\.seg(\.new)?"'; do
    if grep -q -E "$f" "$tmp/cloexec.trace"; then pass; else fail "the traced runs never opened $f"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
