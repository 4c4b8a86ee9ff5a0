#!/usr/bin/env bash
# tests/test_sink.sh -- checks examples/telemetry_sink.c with curl as the client.
#
# Usage: tests/test_sink.sh [path/to/telemetry_sink]
#        (default $SINK, else $BUILD/telemetry_sink, else build/telemetry_sink;
#        tests/run.sh sets BUILD)
# Builds nothing.  Starts the sink on ephemeral loopback ports, talks real TLS
# to it (curl --cacert tests/certs/ca.pem https://localhost:<port>), and prints
# "N passed, M failed" as its last line; exit status 1 if anything failed.
# shellcheck disable=SC2015  # "check && ok || bad": ok never fails
# shellcheck disable=SC2317  # cleanup is called through the EXIT trap
set -u
cd "$(dirname "$0")/.." || exit 1

SINK=${1:-${SINK:-${BUILD:-build}/telemetry_sink}}
KEY=3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b
TOKEN=test-token-123
pass=0
failed=0

ok()  { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1${2:+ ($2)}"; }
finish() { echo "$pass passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if [ ! -x "$SINK" ]; then bad "sink binary $SINK exists (run make first)"; finish; fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { bad "$tool is installed"; finish; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/test_sink.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_sink PORTFILE ARGS... -> sets SINK_PID; waits (<= 10 s) for the port file.
start_sink() {
    local pf=$1 _
    shift
    "$SINK" --port-file "$pf" "$@" >>"$T/sink.out" 2>>"$T/sink.err" &
    SINK_PID=$!
    PIDS+=("$SINK_PID")
    for _ in $(seq 100); do
        [ -f "$pf" ] && return 0
        kill -0 "$SINK_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

port_of() { sed -n "s/^$2=//p" "$1"; }

if ! start_sink "$T/ports" --https-port 0 --http-port 0 --record "$T/rec.jsonl" \
        --sentry-key "$KEY" --firebase-auth "$TOKEN" --quiet; then
    bad "sink starts and writes its port file" "$(cat "$T/sink.err")"
    finish
fi
MAIN_PID=$SINK_PID
HTTPS=$(port_of "$T/ports" https)
HTTP=$(port_of "$T/ports" http)
[ -n "$HTTPS" ] && [ "$HTTPS" -gt 0 ] && [ -n "$HTTP" ] && [ "$HTTP" -gt 0 ] &&
    grep -qx "pid=$MAIN_PID" "$T/ports" &&
    ok "port file lists https=$HTTPS http=$HTTP and the pid" || bad "port file content" "$(cat "$T/ports")"

B=https://localhost:$HTTPS
P=http://127.0.0.1:$HTTP
CURL=(curl -sS --max-time 5 --cacert tests/certs/ca.pem)
AUTH="X-Sentry-Auth: Sentry sentry_version=7, sentry_client=test_sink/1.0, sentry_key=$KEY"
ENV_CT="Content-Type: application/x-sentry-envelope"

# req OUTFILE curl-args... -> prints the HTTP status ("000" on failure).
req() {
    local out=$1
    shift
    "${CURL[@]}" -o "$out" -w '%{http_code}' "$@" 2>/dev/null
}
# raw PORT BYTES: send BYTES (printf %b escapes) over plain TCP and print the
# answer until the sink closes the connection (every use below makes it close).
raw() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner shell
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "%b" "$2" >&3; cat <&3' _ "$1" "$2" 2>/dev/null
}
records() { [ -f "$T/rec.jsonl" ] && wc -l <"$T/rec.jsonl" | tr -d ' ' || echo 0; }
last_record() { tail -n 1 "$T/rec.jsonl"; }
# Python starts slowly on a loaded machine: it is used once, for the stats.
stats() { "${CURL[@]}" -o "$T/stats.json" "$P/_sink/stats" 2>/dev/null; }
set_mode() { "${CURL[@]}" -o /dev/null -X POST "$P/_sink/mode?$1" 2>/dev/null; }

# ---- envelopes (byte examples from protocols.md section 2.6) ---------------
EID=5d2f8b3c9a1e4f6b8c7d0e1f2a3b4c5d
EVENT_A='{"event_id":"'$EID'","timestamp":"2024-08-15T10:20:30.912Z","platform":"native","level":"fatal","release":"demo-app@1.4.2","environment":"production","exception":{"values":[{"type":"SIGSEGV","value":"Segfault","mechanism":{"type":"signalhandler","handled":false,"synthetic":true,"meta":{"signal":{"number":11,"name":"SIGSEGV"}}},"stacktrace":{"frames":[{"instruction_addr":"0x55d0c3a01234"},{"instruction_addr":"0x55d0c3a01a7f"}]}}]},"debug_meta":{"images":[{"type":"elf","image_addr":"0x55d0c3a00000","image_size":65536,"code_file":"/usr/bin/demo-app","code_id":"8f3a2c1b9d4e7f60a1b2c3d4e5f60718293a4b5c","debug_id":"1b2c3a8f-4e9d-607f-a1b2-c3d4e5f60718"}]}}'
SESSION_A='{"sid":"0f1e2d3c4b5a49788796a5b4c3d2e1f0","init":true,"started":"2024-08-15T10:02:11.000Z","timestamp":"2024-08-15T10:20:30.912Z","duration":1099.912,"status":"crashed","errors":1,"attrs":{"release":"demo-app@1.4.2","environment":"production"}}'
{
    printf '{"event_id":"%s","sent_at":"2024-08-15T10:20:31.250Z","sdk":{"name":"acme.telemetry.c","version":"0.1.0"}}\n' "$EID"
    printf '{"type":"event","length":%d}\n%s\n' "${#EVENT_A}" "$EVENT_A"
    printf '{"type":"session","length":%d}\n%s\n' "${#SESSION_A}" "$SESSION_A"
} >"$T/envA"
EID_B=0123456789abcdef0123456789abcdef
printf '{"event_id":"%s","sent_at":"2024-08-15T10:20:31.250Z"}\n{"type":"attachment","length":15,"filename":"boot.log","content_type":"text/plain"}\nboot ok\nnet up\n\n{"type":"event","length":145}\n{"event_id":"%s","timestamp":1723717230.5,"platform":"native","level":"warning","message":{"formatted":"low disk"}}' \
    "$EID_B" "$EID_B" >"$T/envB"
printf '{}\n{"type":"client_report"}\n{"timestamp":"2024-08-15T10:25:00Z","discarded_events":[{"reason":"ratelimit_backoff","category":"error","quantity":3},{"reason":"network_error","category":"session","quantity":1}]}\n' >"$T/envC"

[ "$(wc -c <"$T/envA")" -eq 1130 ] && [ "$(wc -c <"$T/envC")" -eq 210 ] &&
    ok "protocol example envelopes rebuilt byte-exact (1130 / 210 bytes)" || bad "example envelope sizes"

code=$(req "$T/b" -H "$AUTH" -H "$ENV_CT" --data-binary @"$T/envA" "$B/api/4507654321/envelope/")
[ "$code" = 200 ] && [ "$(cat "$T/b")" = "{\"id\":\"$EID\"}" ] &&
    ok "envelope (event + session) over TLS -> 200 {\"id\":...}" || bad "envelope A" "$code $(cat "$T/b")"
[ "$(records)" = 1 ] && grep -q "\"event_id\":\"$EID\"" "$T/rec.jsonl" &&
    grep -qF '"items":[{"headers":{"type":"event","length":685},"encoding":"json","payload":{"event_id"' "$T/rec.jsonl" &&
    grep -qF '{"headers":{"type":"session","length":244},"encoding":"json","payload":{"sid"' "$T/rec.jsonl" &&
    ok "envelope recorded with parsed items" || bad "record of envelope A" "$(head -c 300 "$T/rec.jsonl" 2>/dev/null)"

code=$(req "$T/b" -H "$AUTH" -H "$ENV_CT" --data-binary @"$T/envB" "$B/sentry/prefix/api/42/envelope/")
[ "$code" = 200 ] && [ "$(records)" = 2 ] &&
    last_record | grep -qF '"filename":"boot.log","content_type":"text/plain"},"encoding":"text","payload":"boot ok\nnet up\n"}' &&
    ok "envelope with newline-bearing attachment, no final newline, path prefix -> 200" ||
    bad "envelope B" "$code $(cat "$T/b")"

code=$(req "$T/b" -H "$ENV_CT" --data-binary @"$T/envC" \
    "$B/api/42/envelope/?sentry_version=7&sentry_key=$KEY&sentry_client=test_sink%2F1.0")
[ "$code" = 200 ] && [ "$(cat "$T/b")" = "{}" ] && [ "$(records)" = 3 ] &&
    ok "client report with implicit length, query-string auth -> 200 {}" || bad "envelope C" "$code $(cat "$T/b")"

code=$(req "$T/b" -H "X-Sentry-Auth: Sentry sentry_version=7, sentry_key=ffffffffffffffffffffffffffffffff" \
    --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$code" = 401 ] && grep -q '"detail"' "$T/b" && [ "$(records)" = 3 ] &&
    ok "wrong sentry_key -> 401 {\"detail\":...}, not recorded" || bad "wrong key" "$code $(cat "$T/b")"

code=$(req "$T/b" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$code" = 401 ] && [ "$(records)" = 3 ] && ok "missing auth -> 401" || bad "missing auth" "$code"

code=$(req "$T/b" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/?sentry_key=$KEY")
[ "$code" = 401 ] && grep -q multiple "$T/b" && ok "header and query auth together -> 401" || bad "double auth" "$code"

printf '{"event_id":"%s"}\n{"type":"event","length":500}\n{"event_id":"%s"}\n' "$EID" "$EID" >"$T/bad1"
printf '{"event_id":"%s"\n{"type":"event"}\n{}\n' "$EID" >"$T/bad2"
printf '{}\r\n{"type":"session"}\n{"sid":"x"}\n' >"$T/bad3"
printf '{"event_id":"%s"}\n{"type":"event","length":2}\n{}X' "$EID" >"$T/bad4"
printf '{"event_id":"%s"}\n{"type":"event"}\n{"unterminated\n' "$EID" >"$T/bad5"
printf '{}\n{"type":"event"}\n{}\n' >"$T/bad6"
allbad=1
for f in bad1 bad2 bad3 bad4 bad5 bad6; do
    code=$(req "$T/b" -H "$AUTH" --data-binary @"$T/$f" "$B/api/42/envelope/")
    if [ "$code" != 400 ] || ! grep -q '"detail":"invalid envelope' "$T/b"; then
        allbad=0
        bad "malformed envelope $f -> 400" "$code $(cat "$T/b")"
    fi
done
[ $allbad = 1 ] && [ "$(records)" = 3 ] &&
    ok "malformed envelopes (short payload, bad header JSON, CR, junk after payload, bad item JSON, event without id) -> 400"

code=$(req "$T/b" -H "$AUTH" -H 'Transfer-Encoding: chunked' --data-binary @"$T/envA" "$B/api/42/envelope/")
[ "$code" = 200 ] && [ "$(records)" = 4 ] && ok "chunked request body -> 200" || bad "chunked body" "$code"

# ---- Firebase ----------------------------------------------------------------
code=$(req "$T/b" -X POST -H 'Content-Type: application/json' -d '{"app":"demo","n":1}' "$B/metrics/demo.json?auth=$TOKEN")
name=$(sed -n 's/^{"name":"\(.*\)"}$/\1/p' "$T/b")
[ "$code" = 200 ] && [[ "$name" =~ ^[-0-9A-Za-z_]{20}$ ]] &&
    tail -n 1 "$T/rec.jsonl" | grep -q "\"name\":\"$name\"" &&
    ok "firebase POST -> 200 with a 20-char push id ($name)" || bad "firebase POST" "$code $(cat "$T/b")"

code=$(req "$T/b" -X PUT -d '{"at":{".sv":"timestamp"},"launches":1}' "$B/metrics/demo/-O4IKNV-a9Qk2ZxLm0Pt.json?print=silent&auth=$TOKEN")
[ "$code" = 204 ] && [ ! -s "$T/b" ] && ok "firebase PUT print=silent -> 204, no body" || bad "print=silent" "$code"

code=$(req "$T/b" -X PATCH -d '{"launches":{".sv":{"increment":1}}}' "$B/counters/demo.json?auth=$TOKEN")
[ "$code" = 200 ] && [ "$(cat "$T/b")" = '{"launches":{".sv":{"increment":1}}}' ] &&
    ok "firebase PATCH -> 200, body echoed" || bad "PATCH" "$code $(cat "$T/b")"

n0=$(records)
code=$(req "$T/b" -X PUT -d '{"a":1}' "$B/metrics/x.json?auth=wrong")
[ "$code" = 401 ] && grep -q '"error" : "Permission denied"' "$T/b" && ok "firebase wrong auth -> 401 Permission denied" ||
    bad "firebase wrong auth" "$code $(cat "$T/b")"
code=$(req "$T/b" -X PUT -d '{"a":1}' "$B/metrics/x.json")
[ "$code" = 401 ] && ok "firebase missing auth -> 401" || bad "firebase missing auth" "$code"
code=$(req "$T/b" -X PUT -d '{"a":1,}' "$B/metrics/x.json?auth=$TOKEN")
[ "$code" = 400 ] && grep -q "couldn't parse JSON" "$T/b" && ok "firebase invalid JSON -> 400" ||
    bad "firebase invalid JSON" "$code $(cat "$T/b")"
code=$(req "$T/b" -X PUT -d '{"a.b":1}' "$B/metrics/x.json?auth=$TOKEN")
[ "$code" = 400 ] && ok "firebase key with '.' -> 400" || bad "firebase bad key" "$code"
code=$(req "$T/b" -X PUT -d '1' "$B/metrics/a%24b.json?auth=$TOKEN")
[ "$code" = 400 ] && ok "firebase path key with '\$' -> 400" || bad "firebase bad path" "$code"
[ "$(records)" = "$n0" ] && ok "rejected firebase writes are not recorded" || bad "rejected firebase writes recorded"

code=$(req "$T/b" "$B/nothing/here")
[ "$code" = 404 ] && ok "unknown route -> 404" || bad "404" "$code"

# ---- keep-alive --------------------------------------------------------------
n0=$(records)
out=$("${CURL[@]}" -X PUT -d '{"k":1}' -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
    "$B/ka/one.json?auth=$TOKEN" "$B/ka/two.json?auth=$TOKEN" 2>&1)
c1=$(tail -n 2 "$T/rec.jsonl" | head -n 1 | grep -o '"conn":[0-9]*,"req":[0-9]*')
c2=$(last_record | grep -o '"conn":[0-9]*,"req":[0-9]*')
[ "$out" = "200:1 200:0 " ] && [ "$(records)" = $((n0 + 2)) ] && [ "${c1%,*}" = "${c2%,*}" ] &&
    [ "${c2#*,}" = '"req":2' ] && ok "keep-alive: two requests on one TLS connection" ||
    bad "keep-alive" "$out / $c1 / $c2"

code=$(req "$T/b" -H 'Connection: close' -D "$T/h" -X PUT -d '1' "$B/ka/three.json?auth=$TOKEN")
[ "$code" = 200 ] && grep -qi '^Connection: close' "$T/h" && ok "Connection: close honoured" || bad "Connection: close" "$code"

# ---- misbehaviour modes --------------------------------------------------------
n0=$(records)
set_mode "m=500"
c1=$(req "$T/b" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
c2=$(req "$T/b2" -X PUT -d '1' "$B/m/x.json?auth=$TOKEN")
"${CURL[@]}" -o "$T/mode.json" "$P/_sink/mode"
set_mode "m=ok"
c3=$(req "$T/b3" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$c1" = 500 ] && [ "$c2" = 500 ] && grep -q '"detail"' "$T/b" && grep -q '"error"' "$T/b2" &&
    grep -q '"mode":"500"' "$T/mode.json" && [ "$c3" = 200 ] && [ "$(records)" = $((n0 + 1)) ] &&
    ok "mode 500 via control route, then back to ok; 500s not recorded" || bad "mode 500" "$c1 $c2 $c3"

set_mode "m=503&n=1&only=firebase"
c1=$(req "$T/b" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
c2=$(req "$T/b" -X PUT -d '1' "$B/m/y.json?auth=$TOKEN")
c3=$(req "$T/b" -X PUT -d '1' "$B/m/y.json?auth=$TOKEN")
[ "$c1" = 200 ] && [ "$c2" = 503 ] && [ "$c3" = 200 ] && ok "mode 503 n=1 only=firebase" || bad "mode 503 n=1" "$c1 $c2 $c3"

set_mode "m=429&n=1"
c1=$(req "$T/b" -D "$T/h" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$c1" = 429 ] && grep -qi '^Retry-After: 60' "$T/h" &&
    grep -qi '^X-Sentry-Rate-Limits: 60:error;transaction:organization:quota_exceeded' "$T/h" &&
    ok "mode 429 sends Retry-After and X-Sentry-Rate-Limits" || bad "mode 429" "$c1"

set_mode "m=429&n=2&retry_after=1&rate_limits=1%3Aerror%3Bsession%3Aorganization"
c1=$(req "$T/b" -D "$T/h" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
set_mode "m=429&n=1&retry_after=-1&rate_limits="
c2=$(req "$T/b" -D "$T/h2" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$c1" = 429 ] && grep -qi '^Retry-After: 1\s*$' "$T/h" &&
    grep -qi '^X-Sentry-Rate-Limits: 1:error;session:organization\s*$' "$T/h" &&
    [ "$c2" = 429 ] && ! grep -qi '^Retry-After' "$T/h2" && ! grep -qi '^X-Sentry-Rate-Limits' "$T/h2" &&
    ok "mode 429 with retry_after= and rate_limits= (and without either header)" || bad "mode 429 parameters" "$c1 $c2"

n0=$(records)
set_mode "m=hang"
start=$(date +%s%N)
"${CURL[@]}" --max-time 1 -o /dev/null -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/" 2>/dev/null
rc=$?
el=$((($(date +%s%N) - start) / 1000000))
"${CURL[@]}" -o "$T/mode.json" "$P/_sink/mode"
set_mode "m=ok"
c1=$(req "$T/b" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$rc" = 28 ] && [ "$el" -lt 3000 ] && grep -q '"mode":"hang"' "$T/mode.json" && [ "$c1" = 200 ] &&
    [ "$(records)" = $((n0 + 1)) ] &&
    ok "mode hang: client times out (curl rc 28 after ${el} ms), control route still answers" ||
    bad "mode hang" "rc=$rc el=$el c1=$c1"

set_mode "m=close&n=1"
resp=$(raw "$HTTP" "PUT /c/x.json?auth=$TOKEN HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1")
[ "$resp" = "$(printf 'HTTP/1.1 200 OK\r\nContent-Ty')" ] && ok "mode close: cut inside the header block" ||
    bad "mode close" "$(printf %q "$resp")"
set_mode "m=truncate&n=1"
"${CURL[@]}" -o /dev/null -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/" 2>/dev/null
rc1=$?
set_mode "m=reset&n=1"
"${CURL[@]}" -o /dev/null -X PUT -d 1 "$P/r/x.json?auth=$TOKEN" 2>/dev/null
rc2=$?
set_mode "m=refuse&n=1"
"${CURL[@]}" -o /dev/null -X PUT -d 1 "$B/r/x.json?auth=$TOKEN" 2>/dev/null
rc3=$?
c1=$(req "$T/b" -X PUT -d 1 "$B/r/x.json?auth=$TOKEN")
[ "$rc1" = 18 ] && [ "$rc2" = 56 ] && [ "$rc3" != 0 ] && [ "$c1" = 200 ] && [ "$(records)" = $((n0 + 2)) ] &&
    ok "modes truncate / reset / refuse make curl fail (rc $rc1 / $rc2 / $rc3), then ok" ||
    bad "truncate/reset/refuse" "$rc1 $rc2 $rc3 $c1"

set_mode "m=trickle&n=1&ms=5"
start=$(date +%s%N)
c1=$(req "$T/b" -X PUT -d '{"t":1}' "$B/tr/x.json?auth=$TOKEN")
el=$((($(date +%s%N) - start) / 1000000))
[ "$c1" = 200 ] && [ "$(cat "$T/b")" = '{"t":1}' ] && [ "$el" -ge 300 ] && [ "$(records)" = $((n0 + 2)) ] &&
    ok "mode trickle: complete answer, byte by byte (${el} ms), not recorded" || bad "trickle" "$c1 $el"

n0=$(records)
allv=1
for m in chunked eof interim; do
    set_mode "m=$m&n=1"
    code=$(req "$T/b" -D "$T/h" -X PUT -d '{"framing":"'$m'"}' "$B/fr/$m.json?auth=$TOKEN")
    if [ "$code" != 200 ] || [ "$(cat "$T/b")" != '{"framing":"'$m'"}' ]; then allv=0; bad "mode $m" "$code"; fi
done
[ $allv = 1 ] && [ "$(records)" = $((n0 + 3)) ] &&
    ok "modes chunked / eof / interim: same answer with other framing, delivered" || bad "framing modes"
set_mode "m=307&n=1"
code=$(req "$T/b" -D "$T/h" -H "$AUTH" --data-binary @"$T/envB" "$B/api/42/envelope/")
[ "$code" = 307 ] && grep -qi "^Location: https://localhost:$HTTPS/api/42/envelope/" "$T/h" && [ "$(records)" = $((n0 + 3)) ] &&
    ok "mode 307: redirect to the same URL, not delivered" || bad "mode 307" "$code"

code=$(req "$T/b" -X POST "$P/_sink/mode?m=bogus")
[ "$code" = 400 ] && ok "unknown mode -> 400" || bad "unknown mode" "$code"

# ---- HTTP limits and hostile input --------------------------------------------
big=$(head -c 17000 /dev/zero | tr '\0' a)
code=$(req "$T/b" -H "X-Big: $big" -X PUT -d 1 "$P/l/x.json?auth=$TOKEN")
[ "$code" = 431 ] && ok "header block over 16 KiB -> 431" || bad "431" "$code"

resp=$(raw "$HTTP" 'PUT /l/x.json HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n')
[[ "$resp" == "HTTP/1.1 413 "* ]] && ok "body over 20 MiB -> 413" || bad "413" "${resp:0:60}"
resp=$(raw "$HTTP" 'GET /_sink/stats HTTP/1.1\r\n\r\n')
[[ "$resp" == "HTTP/1.1 400 "* ]] && ok "HTTP/1.1 without Host -> 400" || bad "no Host" "${resp:0:60}"
resp=$(raw "$HTTP" 'GET /_sink/mode HTTP/1.1\r\nHost: x\r\n\r\nGET /_sink/mode HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
[ "$(grep -c '^HTTP/1.1 200' <<<"$resp")" = 2 ] && ok "pipelined requests both answered" || bad "pipelining" "${resp:0:80}"
resp=$(raw "$HTTPS" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
[[ "$resp" == "HTTP/1.1 400 "*"HTTPS port"* ]] && ok "plain HTTP on the HTTPS port -> explanatory 400" || bad "http on https" "${resp:0:60}"
# Junk, all connections at once (some of them the sink keeps waiting on).
JUNK=()
for junk in '\x16\x03\x01\x00\x05hello' 'GARBAGE\r\n\r\n' '\x00\x01\x02\xff\xfe\r\n\r\n' \
    'POST /api/1/envelope/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' \
    'PUT /a.json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n' \
    'PUT /a.json HTTP/1.1\r\nHost: x\r\n Folded: x\r\n\r\n' 'GET /\x01 HTTP/1.1\r\n\r\n' \
    'GET / HTTP/9.9\r\nHost: x\r\n\r\n'; do
    raw "$HTTP" "$junk" >/dev/null &
    JUNK+=($!)
    raw "$HTTPS" "$junk" >/dev/null &
    JUNK+=($!)
done
wait "${JUNK[@]}" 2>/dev/null
head -c 100000 /dev/urandom >"$T/rand"
"${CURL[@]}" -o /dev/null -H "$AUTH" --data-binary @"$T/rand" "$B/api/42/envelope/" 2>/dev/null
"${CURL[@]}" -o /dev/null -X PUT --data-binary @"$T/rand" "$B/x.json?auth=$TOKEN" 2>/dev/null
code=$(req "$T/b" "$P/_sink/stats")
kill -0 "$MAIN_PID" 2>/dev/null && [ "$code" = 200 ] && ok "sink survives junk on both ports" || bad "junk input"

# ---- stats ------------------------------------------------------------------------
stats
verdict=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
env = [r for r in recs if r["kind"] == "envelope"]
fb = [r for r in recs if r["kind"] == "firebase"]
checks = {
    "envelopes": d["envelopes"] == len(env),
    "firebase_writes": d["firebase_writes"] == len(fb),
    "event_ids": d["event_ids"] == {sys.argv[3]: 2, sys.argv[4]: len(env) - 3},
    "distinct": d["distinct_event_ids"] == 2,
    "sessions": d["sessions"] == 2,
    "client_reports": d["client_reports"] == 1,
    "faults": d["faults"] >= 10,
    "rejected": d["rejected"] >= 10,
    "paths": d["firebase_paths"].get("/metrics/demo.json") == 1,
}
bad = [k for k, v in checks.items() if not v]
print("ok" if not bad else "failed: " + " ".join(bad))
' "$T/stats.json" "$T/rec.jsonl" "$EID" "$EID_B" 2>&1)
[ "$verdict" = ok ] && ok "stats agree with the record file (envelopes, writes, event ids, faults)" ||
    bad "stats" "$verdict $(head -c 300 "$T/stats.json")"
code=$(req "$T/b" -X POST "$P/_sink/reset")
stats
[ "$code" = 200 ] && grep -q '"envelopes":0,' "$T/stats.json" && grep -q '"distinct_event_ids":0,' "$T/stats.json" &&
    ok "POST /_sink/reset zeroes the counters" || bad "reset"

# ---- RSA certificate, HTTPS-only sink, shutdown -----------------------------------
if start_sink "$T/ports-rsa" --https-port 0 --cert tests/certs/server-rsa.pem --key tests/certs/server-rsa.key --quiet; then
    RSA_PID=$SINK_PID
    R=$(port_of "$T/ports-rsa" https)
    code=$(req "$T/b" -D "$T/h" -H "$AUTH" --data-binary @"$T/envB" "https://localhost:$R/api/42/envelope/")
    [ "$code" = 200 ] && [ "$(port_of "$T/ports-rsa" http)" = 0 ] &&
        ok "RSA certificate chain: TLS works, http listener off" || bad "RSA sink" "$code"
    kill -TERM "$RSA_PID"
    wait "$RSA_PID"
    rc=$?
    [ "$rc" = 0 ] && [ ! -e "$T/ports-rsa" ] && ok "SIGTERM: exit 0, port file removed" || bad "SIGTERM" "rc=$rc"
else
    bad "RSA sink starts" "$(tail -n 3 "$T/sink.err")"
fi

# A connection left hanging must not delay shutdown by more than a few seconds.
set_mode "m=hang"
"${CURL[@]}" --max-time 20 -o /dev/null -X PUT -d 1 "$P/h/x.json?auth=$TOKEN" 2>/dev/null &
HC=$!
sleep 0.3
start=$(date +%s%N)
kill -INT "$MAIN_PID"
wait "$MAIN_PID"
rc=$?
el=$((($(date +%s%N) - start) / 1000000))
wait "$HC" 2>/dev/null
[ "$rc" = 0 ] && [ "$el" -lt 4000 ] && ok "SIGINT with a hanging client: exit 0 in ${el} ms" || bad "SIGINT" "rc=$rc el=$el"

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error|ThreadSanitizer' "$T/sink.err"; then
    bad "no sanitizer reports" "$(grep -m 3 -E 'Sanitizer|runtime error' "$T/sink.err")"
else
    ok "no sanitizer reports in the sink's stderr"
fi
finish
