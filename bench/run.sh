#!/usr/bin/env bash
# bench/run.sh — measure callgate against direct (no proxy), squid and
# tinyproxy, side by side, in one run, on loopback only, with HAProxy as a
# reference that is not a peer. callgate runs twice: "callgate" on its default
# wire engine (engine: fast) and "callgate-stdlib" (engine: stdlib, net/http's
# server and http.Transport for every request), so the engines are measured
# side by side too.
#
# It installs squid, tinyproxy and haproxy from Debian packages if they are
# asked for and missing, builds callgate, the origin, the load generator and
# the report, starts the origin and the targets asked for, and measures each
# figure for every target in alternation (direct callgate callgate-stdlib
# squid tinyproxy haproxy, direct callgate …) for BENCH_ROUNDS rounds. It prints the medians with
# ratios to direct and to the best peer, and keeps every raw result under
# bench/results/RUN_ID/.
#
# haproxy (one thread) is no forward proxy and is not a peer: the load
# generator talks to it as to an origin, with no CONNECT and no absolute form.
# It is measured only for four figures: absolute and paced, through its HTTP
# reverse proxy (keep-alive both sides, http-reuse always: the cheapest
# HTTP-aware forwarding), and tunnel and bulk, through its plain TCP relay
# (after a CONNECT a tunnel's bytes are exactly a relay's, so the relay is the
# floor for those figures). The report shows it in a separate reference table
# (and in the paced table, beside every target). If it cannot be installed or
# started, it is skipped.
#
# Every process it starts, it stops by PID (trap on EXIT).
#
# Knobs (environment):
#   BENCH_ROUNDS=3          rounds per figure (medians over these)
#   BENCH_DURATION=5s       measured time of each timed run
#   BENCH_WARMUP=1s         unmeasured load before it
#   BENCH_CONNS=64          keep-alive connections (absolute, latency figures)
#   BENCH_TUNNELS=64        long-lived tunnels (tunnel figure)
#   BENCH_SETUP_CONNS=16    parallel setup loops (setup figure)
#   BENCH_BULK_BYTES=1073741824   bytes through one tunnel (bulk figure)
#   BENCH_IDLE_TUNNELS=9000 idle tunnels held (idle figure)
#   BENCH_IDLE_HOLD=3s      how long they are held before RSS/fds are read
#   BENCH_TARGETS="direct callgate callgate-stdlib squid tinyproxy haproxy"
#                           haproxy is the reference (absolute, tunnel, bulk, paced only)
#   BENCH_FIGURES="absolute tunnel setup bulk idle latency paced"
#   BENCH_PACED_RATE=1000   paced figure: absolute-form req/s, the same for every target
#   BENCH_PROFILE=0         1: record a perf CPU profile of callgate during round 1 of each
#                           timed figure (needs perf; writes perf-FIGURE.txt to the results)
#   BENCH_INSTALL=1         0: never run apt-get (fail if squid/tinyproxy are missing;
#                           skip haproxy if it is)
#   BENCH_CALLGATE_FLAGS="--log.level warn"  extra flags for callgate serve; warn drops the
#                           per-request summary line, as the peers run without access logs
#   BENCH_QUIET_WAIT=3s     before each run, wait up to this long for the machine to be
#                           idle (other programs' CPU is noise on 2 cores); 0 disables
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

: "${BENCH_ROUNDS:=3}"
: "${BENCH_DURATION:=5s}"
: "${BENCH_WARMUP:=1s}"
: "${BENCH_CONNS:=64}"
: "${BENCH_TUNNELS:=64}"
: "${BENCH_SETUP_CONNS:=16}"
: "${BENCH_BULK_BYTES:=1073741824}"
: "${BENCH_IDLE_TUNNELS:=9000}"
: "${BENCH_IDLE_HOLD:=3s}"
: "${BENCH_TARGETS:=direct callgate callgate-stdlib squid tinyproxy haproxy}"
: "${BENCH_FIGURES:=absolute tunnel setup bulk idle latency paced}"
: "${BENCH_PACED_RATE:=1000}"
: "${BENCH_INSTALL:=1}"
: "${BENCH_QUIET_WAIT:=3s}"
: "${BENCH_CALLGATE_FLAGS:=--log.level warn}"
: "${BENCH_PROFILE:=0}"

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# 9,000 idle tunnels need 18,000+ fds in the proxy; this machine's hard limit is 20,000.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 19000 ] || log "warning: ulimit -n is $(ulimit -n); the idle figure needs ~19000"

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/bench/results/$RUN_ID
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
WORK=$(mktemp -d /tmp/callgate-bench.XXXXXX)
chmod 755 "$WORK"
BIN=$ROOT/bin

# --- process bookkeeping: every PID we start, and only those -------------
declare -A PID=()   # name → pid

stop() { # stop NAME: TERM, wait up to 5 s, then KILL — by PID only
	local name=$1 pid=${PID[$1]:-}
	[ -n "$pid" ] || return 0
	unset "PID[$name]"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIGTERM; killing"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for name in "${!PID[@]}"; do stop "$name"; done
	cp -f "$WORK"/*.log "$WORK"/squid/cache.log "$OUT"/ 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- ports -----------------------------------------------------------------
port_in_use() { # port_in_use PORT: a listener exists on it (any address)
	local hex
	hex=$(printf ':%04X ' "$1")
	grep -qi "${hex}[0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
NEXT_PORT=${BENCH_PORT_BASE:-23100}
free_port() { # free_port VAR: set VAR to a port nobody listens on (no subshell: NEXT_PORT must advance)
	while port_in_use "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
	printf -v "$1" '%s' "$NEXT_PORT"
	NEXT_PORT=$((NEXT_PORT + 1))
}

# --- install and build -----------------------------------------------------
# squid and haproxy live in /usr/sbin, which a user's PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac

HAVE_HAPROXY=0
install_peers() {
	local peers_missing=0 ha_missing=0 sudo= want=
	for p in squid tinyproxy; do
		[[ " $BENCH_TARGETS " == *" $p "* ]] && want+=" $p"
	done
	for p in $want; do
		command -v "$p" >/dev/null || peers_missing=1
	done
	if [[ " $BENCH_TARGETS " == *" haproxy "* ]]; then
		if command -v haproxy >/dev/null; then HAVE_HAPROXY=1; else ha_missing=1; fi
	fi
	[ "$peers_missing$ha_missing" != 00 ] || return 0
	if [ "$BENCH_INSTALL" != 1 ]; then
		[ "$peers_missing" = 0 ] || die "$want: missing and BENCH_INSTALL=0"
		log "haproxy missing and BENCH_INSTALL=0; SKIPPING haproxy"
		return 0
	fi
	[ "$(id -u)" = 0 ] || sudo=sudo
	log "running apt-get update"
	if ! $sudo apt-get update -qq >"$OUT/apt.log" 2>&1; then
		[ "$peers_missing" = 0 ] || die "apt-get update failed (see $OUT/apt.log)"
		log "apt-get update failed (see $OUT/apt.log); SKIPPING haproxy"
		return 0
	fi
	if [ "$peers_missing" = 1 ]; then
		log "installing$want (apt-get)"
		# shellcheck disable=SC2086 # package names are words
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $want >>"$OUT/apt.log" 2>&1 ||
			die "apt-get install failed (see $OUT/apt.log)"
		for p in $want; do
			command -v "$p" >/dev/null || die "$p still missing"
		done
	fi
	if [ "$ha_missing" = 1 ]; then
		# haproxy is a reference, not a peer: without it the run goes on.
		log "installing haproxy (apt-get)"
		if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy >>"$OUT/apt.log" 2>&1 &&
			command -v haproxy >/dev/null; then
			HAVE_HAPROXY=1
		else
			log "haproxy could not be installed (see $OUT/apt.log); SKIPPING haproxy"
		fi
	fi
}

HAVE_CALLGATE=0
build() {
	mkdir -p "$BIN"
	log "building origin, loadgen, report"
	go build -o "$BIN/bench-origin" ./bench/origin
	go build -o "$BIN/bench-loadgen" ./bench/loadgen
	go build -o "$BIN/bench-report" ./bench/report
	if [[ " $BENCH_TARGETS " == *" callgate "* || " $BENCH_TARGETS " == *" callgate-stdlib "* ]]; then
		log "building callgate"
		if go build -o "$BIN/callgate" ./cmd/callgate >"$OUT/callgate-build.log" 2>&1; then
			HAVE_CALLGATE=1
		else
			log "callgate does not build (see $OUT/callgate-build.log); SKIPPING callgate, measuring the others"
			sed -n 1,5p "$OUT/callgate-build.log" >&2
		fi
	fi
}

# --- the processes -----------------------------------------------------------
ORIGIN_PORT='' SQUID_PORT='' TINY_PORT='' HA_HTTP_PORT='' HA_TCP_PORT=''
declare -A CG_PORT=() CG_ADMIN=() # callgate target → proxy / admin port

wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
	local tries=$(($1 * 10))
	shift
	for _ in $(seq "$tries"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

wait_started() { # wait_started NAME SECONDS CMD...: poll until CMD succeeds; give up early if NAME died
	local name=$1 tries=$(($2 * 10))
	shift 2
	for _ in $(seq "$tries"); do
		kill -0 "${PID[$name]}" 2>/dev/null || return 1
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

http_ok() { # http_ok URL: a GET returns 200
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" = 200 ]
}

proxied_ok() { # proxied_ok PROXYPORT URL: a GET through the proxy returns 200
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -x "127.0.0.1:$1" "$2")" = 200 ]
}

start_origin() {
	rm -f "$WORK/origin.port"
	"$BIN/bench-origin" -listen 127.0.0.1:0 -portfile "$WORK/origin.port" >"$WORK/origin.log" 2>&1 &
	PID[origin]=$!
	wait_for 10 test -s "$WORK/origin.port" || die "origin did not start (see $WORK/origin.log)"
	ORIGIN_PORT=$(cat "$WORK/origin.port")
	log "origin on 127.0.0.1:$ORIGIN_PORT (pid ${PID[origin]})"
}

fill() { # fill TEMPLATE OUT PORT [TCP_PORT [ADMIN_PORT [ENGINE]]]: substitute the placeholders
	local dir
	dir=$(dirname "$2")
	sed -e "s#@PORT@#$3#g" -e "s#@TCP_PORT@#${4:-0}#g" -e "s#@ADMIN_PORT@#${5:-0}#g" -e "s#@ENGINE@#${6:-fast}#g" \
		-e "s#@ORIGIN_PORT@#$ORIGIN_PORT#g" -e "s#@DIR@#$dir#g" "$1" >"$2"
}

# start_callgate NAME: callgate (engine: fast, the default) or
# callgate-stdlib (engine: stdlib), each with its own ports, config and log.
start_callgate() {
	local name=$1 engine=fast port admin
	[ "$name" = callgate-stdlib ] && engine=stdlib
	if [ -z "${CG_PORT[$name]:-}" ]; then
		free_port port
		free_port admin
		CG_PORT[$name]=$port CG_ADMIN[$name]=$admin
	fi
	port=${CG_PORT[$name]} admin=${CG_ADMIN[$name]}
	mkdir -p "$WORK/$name"
	fill bench/conf/callgate.yaml.tmpl "$WORK/$name/callgate.yaml" "$port" 0 "$admin" "$engine"
	# shellcheck disable=SC2086 # flags are words
	"$BIN/callgate" serve --config "$WORK/$name/callgate.yaml" $BENCH_CALLGATE_FLAGS >>"$WORK/$name.log" 2>&1 &
	PID[$name]=$!
	if ! wait_started "$name" 30 http_ok "http://127.0.0.1:$admin/readyz" ||
		! wait_started "$name" 30 proxied_ok "$port" "http://origin.bench.internal:$ORIGIN_PORT/"; then
		log "$name did not become ready (see $OUT/$name.log); SKIPPING $name"
		tail -5 "$WORK/$name.log" >&2 || true
		stop "$name"
		return 1
	fi
}

start_squid() {
	[ -n "$SQUID_PORT" ] || free_port SQUID_PORT
	fill bench/conf/squid.conf.tmpl "$WORK/squid/squid.conf" "$SQUID_PORT"
	# squid, started as root, drops to the "proxy" user and must write its dir.
	id proxy >/dev/null 2>&1 && chown -R proxy: "$WORK/squid"
	squid -N -f "$WORK/squid/squid.conf" >>"$WORK/squid.log" 2>&1 &
	PID[squid]=$!
	wait_started squid 30 proxied_ok "$SQUID_PORT" "http://127.0.0.1:$ORIGIN_PORT/" || {
		log "squid did not start (see $OUT/squid.log and cache.log); SKIPPING squid"
		stop squid
		return 1
	}
}

start_tinyproxy() {
	[ -n "$TINY_PORT" ] || free_port TINY_PORT
	fill bench/conf/tinyproxy.conf.tmpl "$WORK/tinyproxy/tinyproxy.conf" "$TINY_PORT"
	tinyproxy -d -c "$WORK/tinyproxy/tinyproxy.conf" >>"$WORK/tinyproxy.log" 2>&1 &
	PID[tinyproxy]=$!
	wait_started tinyproxy 30 proxied_ok "$TINY_PORT" "http://127.0.0.1:$ORIGIN_PORT/" || {
		log "tinyproxy did not start (see $OUT/tinyproxy.log); SKIPPING tinyproxy"
		stop tinyproxy
		return 1
	}
}

# haproxy runs in the foreground (-db: no daemon, no master process), so $!
# is haproxy itself and stop works by its PID. Both frontends must answer a
# GET (the relay passes it to the origin unparsed).
start_haproxy() {
	[ -n "$HA_HTTP_PORT" ] || { free_port HA_HTTP_PORT; free_port HA_TCP_PORT; }
	fill bench/conf/haproxy.cfg.tmpl "$WORK/haproxy/haproxy.cfg" "$HA_HTTP_PORT" "$HA_TCP_PORT"
	haproxy -db -f "$WORK/haproxy/haproxy.cfg" >>"$WORK/haproxy.log" 2>&1 &
	PID[haproxy]=$!
	if ! wait_started haproxy 30 http_ok "http://127.0.0.1:$HA_HTTP_PORT/" ||
		! wait_started haproxy 30 http_ok "http://127.0.0.1:$HA_TCP_PORT/"; then
		log "haproxy did not start (see $OUT/haproxy.log); SKIPPING haproxy"
		tail -5 "$WORK/haproxy.log" >&2 || true
		stop haproxy
		return 1
	fi
}

start_target() {
	case $1 in
	direct) return 0 ;;
	callgate | callgate-stdlib) start_callgate "$1" || return 1 ;;
	squid) start_squid || return 1 ;;
	tinyproxy) start_tinyproxy || return 1 ;;
	haproxy)
		start_haproxy || return 1
		log "haproxy on 127.0.0.1:$HA_HTTP_PORT (http) and 127.0.0.1:$HA_TCP_PORT (tcp) (pid ${PID[haproxy]})"
		return 0
		;;
	esac
	log "$1 on 127.0.0.1:$(proxy_port "$1") (pid ${PID[$1]})"
}

proxy_port() {
	case $1 in
	callgate | callgate-stdlib) echo "${CG_PORT[$1]}" ;;
	squid) echo "$SQUID_PORT" ;;
	tinyproxy) echo "$TINY_PORT" ;;
	esac
}

# --- measuring -----------------------------------------------------------------
# lg FIGURE TARGET ROUND LOADGEN-ARGS...: one loadgen run, appended to RESULTS.
# callgate is given the origin's name (it refuses IP literals and maps the
# name through its simulated PrivateLink endpoint); direct, squid and
# tinyproxy get 127.0.0.1:PORT, so neither peer does a DNS lookup. haproxy
# is given no -proxy: the load generator sends origin-form requests to it as
# to an origin, on its HTTP frontend (absolute, paced) or through its TCP relay
# (tunnel, bulk: the tunnel modes without the CONNECT).
lg() {
	local figure=$1 target=$2 round=$3
	shift 3
	if [ "$target" != direct ] && [ -z "${PID[$target]:-}" ]; then
		log "$figure/$target round $round: $target is not running; skipped"
		return 0
	fi
	local args=(-figure "$figure" -name "$target" -round "$round" -origin-pid "${PID[origin]}" -quiet-wait "$BENCH_QUIET_WAIT")
	if [ "$target" = direct ]; then
		args+=(-target "127.0.0.1:$ORIGIN_PORT")
	elif [ "$target" = haproxy ]; then
		args+=(-pid "${PID[haproxy]}")
		case $figure in
		absolute | paced) args+=(-target "127.0.0.1:$HA_HTTP_PORT") ;;
		tunnel | bulk) args+=(-target "127.0.0.1:$HA_TCP_PORT") ;;
		*) die "haproxy is not measured for $figure" ;;
		esac
	else
		args+=(-proxy "127.0.0.1:$(proxy_port "$target")" -pid "${PID[$target]}")
		if [[ $target == callgate* ]]; then
			args+=(-target "origin.bench.internal:$ORIGIN_PORT")
		else
			args+=(-target "127.0.0.1:$ORIGIN_PORT")
		fi
	fi
	local line
	profile_start "$figure" "$target" "$round"
	if ! line=$("$BIN/bench-loadgen" "${args[@]}" "$@" 2>>"$WORK/loadgen.log"); then
		profile_stop

		log "$figure/$target round $round: loadgen failed (see $OUT/loadgen.log)"
		return 0
	fi
	profile_stop
	echo "$line" >>"$RESULTS"
	log "$figure/$target r$round: $(summary "$line")"
}

# profile_start FIGURE TARGET ROUND: with BENCH_PROFILE=1, sample callgate's
# CPU (perf, call graphs) during round 1 of the timed figures. callgate has
# no pprof endpoint; perf reads Go's symbols from the binary.
PROFILE_FIG=
profile_start() {
	PROFILE_FIG=
	[ "$BENCH_PROFILE" = 1 ] && [ "$2" = callgate ] && [ "$3" = 1 ] || return 0
	case $1 in absolute | tunnel | setup | bulk | latency-callgate) ;; *) return 0 ;; esac
	command -v perf >/dev/null || { log "BENCH_PROFILE=1 but perf is not installed"; return 0; }
	PROFILE_FIG=$1
	perf record -q -F 499 -g -p "${PID[callgate]}" -o "$OUT/perf-$1.data" >/dev/null 2>&1 &
	PID[perf]=$!
}
profile_stop() {
	[ -n "$PROFILE_FIG" ] || return 0
	stop perf # perf record writes its data on SIGTERM
	{
		echo "# self time (flat)"
		perf report -i "$OUT/perf-$PROFILE_FIG.data" --no-children --sort symbol --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -40
		echo "# including callees (cumulative)"
		perf report -i "$OUT/perf-$PROFILE_FIG.data" --children --sort symbol --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -60
	} >"$OUT/perf-$PROFILE_FIG.txt" || true
	rm -f "$OUT/perf-$PROFILE_FIG.data"
	log "profile: $OUT/perf-$PROFILE_FIG.txt"
	PROFILE_FIG=
}

summary() { # the fields worth a glance, from one JSON line
	local s=""
	for k in rps mb_per_s p99_us proxy_cpu_us_per_op rss_bytes_per_tunnel fds_per_tunnel tunnels_alive errors other_cores; do
		local v
		v=$(grep -o "\"$k\":[0-9.e+-]*" <<<"$1" | head -1 | cut -d: -f2)
		[ -n "$v" ] && s+="$k=$(printf '%.6g' "$v") "
	done
	echo "$s"
}

TIMED=(-duration "$BENCH_DURATION" -warmup "$BENCH_WARMUP")

# measured FIGURE TARGET: whether TARGET takes part in FIGURE. haproxy, the
# reference, only in absolute, tunnel, bulk and paced (it has no CONNECT to
# set up and no tunnels to hold; its latency at half of its own maximum is
# not a figure we compare).
measured() {
	[ "$2" != haproxy ] && return 0
	case $1 in absolute | tunnel | bulk | paced) return 0 ;; *) return 1 ;; esac
}

figure_absolute() { lg absolute "$1" "$2" -mode absolute -conns "$BENCH_CONNS" "${TIMED[@]}"; }
figure_tunnel() { lg tunnel "$1" "$2" -mode tunnel-requests -conns "$BENCH_TUNNELS" "${TIMED[@]}"; }
figure_setup() { lg setup "$1" "$2" -mode tunnel-setup -conns "$BENCH_SETUP_CONNS" "${TIMED[@]}"; }
# The paced figure: every target, direct included, at the same absolute-form
# rate (BENCH_PACED_RATE, 1,000 req/s), the load a deployment mostly sees:
# CPU per request and p50/p99, against direct's in the same rounds.
figure_paced() { lg paced "$1" "$2" -mode absolute -conns "$BENCH_CONNS" -rate "$BENCH_PACED_RATE" "${TIMED[@]}"; }
figure_bulk() { lg bulk "$1" "$2" -mode bulk -bytes "$BENCH_BULK_BYTES" -duration 60s; }
figure_idle() {
	# A fresh process per measurement: a proxy that already held 9,000
	# tunnels keeps that memory in its allocator, and the delta would read ~0.
	[ "$1" = direct ] && return 0
	stop "$1"
	start_target "$1" || return 0
	lg idle "$1" "$2" -mode idle -tunnels "$BENCH_IDLE_TUNNELS" -hold "$BENCH_IDLE_HOLD" -concurrency 64 -duration 60s
}

# The latency figure: each proxy at half of its own median max absolute-form
# rate, against direct at the same rate, alternating; added = p99 difference.
figure_latency_all() {
	for p in $ACTIVE; do
		[ "$p" = direct ] && continue
		measured latency "$p" || continue
		local max rate
		max=$("$BIN/bench-report" median "$RESULTS" absolute "$p" rps 2>/dev/null) || {
			log "latency/$p: no absolute figure to take half of; skipped"
			continue
		}
		rate=$((max / 2))
		[ "$rate" -gt 0 ] || continue
		log "latency/$p: paced at $rate req/s (half of $max)"
		for r in $(seq "$BENCH_ROUNDS"); do
			lg "latency-$p" direct "$r" -mode absolute -conns "$BENCH_CONNS" -rate "$rate" "${TIMED[@]}"
			lg "latency-$p" "$p" "$r" -mode absolute -conns "$BENCH_CONNS" -rate "$rate" "${TIMED[@]}"
		done
	done
}

# --- main ---------------------------------------------------------------------------
install_peers
build

{
	echo "run: $RUN_ID"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "nproc: $(nproc)"
	echo "kernel: $(uname -srm)"
	echo "go: $(go version)"
	if command -v squid >/dev/null; then echo "squid: $(squid -v | head -1)"; fi
	if command -v tinyproxy >/dev/null; then echo "tinyproxy: $(tinyproxy -v 2>&1 | head -1)"; fi
	if command -v haproxy >/dev/null; then
		echo "haproxy: $(haproxy -v 2>&1 | head -1)"
	else
		echo "haproxy: not installed"
	fi
	echo "ulimit -n: $(ulimit -n)"
	echo "settings: rounds=$BENCH_ROUNDS duration=$BENCH_DURATION warmup=$BENCH_WARMUP conns=$BENCH_CONNS tunnels=$BENCH_TUNNELS setup_conns=$BENCH_SETUP_CONNS bulk_bytes=$BENCH_BULK_BYTES idle_tunnels=$BENCH_IDLE_TUNNELS idle_hold=$BENCH_IDLE_HOLD paced_rate=$BENCH_PACED_RATE"
	echo
	lscpu | head -20
} >"$OUT/machine.txt"

mkdir -p "$WORK/squid" "$WORK/tinyproxy" "$WORK/haproxy"
echo "127.0.0.1 origin.bench.internal" >"$WORK/squid/hosts"
start_origin

ACTIVE=
for t in $BENCH_TARGETS; do
	case $t in
	direct) ACTIVE+=" direct" ;;
	callgate | callgate-stdlib)
		[ "$HAVE_CALLGATE" = 1 ] || continue
		start_target "$t" && ACTIVE+=" $t"
		;;
	squid | tinyproxy)
		start_target "$t" && ACTIVE+=" $t"
		;;
	haproxy)
		[ "$HAVE_HAPROXY" = 1 ] || continue
		start_target haproxy && ACTIVE+=" haproxy"
		;;
	*) die "unknown target $t" ;;
	esac
done
log "targets:$ACTIVE; figures: $BENCH_FIGURES; rounds: $BENCH_ROUNDS; results: $OUT"

START=$SECONDS
for fig in $BENCH_FIGURES; do
	if [ "$fig" = latency ]; then
		figure_latency_all
		continue
	fi
	declare -F "figure_$fig" >/dev/null || die "unknown figure $fig"
	for r in $(seq "$BENCH_ROUNDS"); do
		for t in $ACTIVE; do
			measured "$fig" "$t" || continue
			"figure_$fig" "$t" "$r"
		done
	done
done
log "measured in $((SECONDS - START)) s"

"$BIN/bench-report" table "$RESULTS" | tee "$OUT/table.md"
ln -sfn "$RUN_ID" "$ROOT/bench/results/latest"
log "results: $OUT (table.md, results.jsonl, machine.txt, logs)"
