#!/usr/bin/env bash
# demo-failover.sh: a twinmq pair loses its master mid-stream and the clients carry on.
#
#   examples/demo-failover.sh [BUILD] [--count N] [--kill-after K] [--ports M,R,S]
#
# 1. starts a master and its slave with src/tools/run-pair (conf/master.xml and
#    conf/slave.xml on free ports unless --ports, data in a temporary directory),
# 2. starts examples/python/consumer.py (client-individual acks, both hosts),
# 3. sends N persistent messages with examples/python/producer.py (a receipt for each),
# 4. kills the master with kill -9 once K messages have their receipts,
# 5. shows the producer and the consumer failing over to the slave and carrying on, and
#    ends with a summary line:
#      demo: PASS: master killed after K receipted messages; the consumer carried on
#            against the slave at HOST:PORT and received all N receipted messages (...)
#
# Exit status 0 when every receipted message reached the consumer, 1 otherwise. Every wait
# is bounded (DEMO_TIMEOUT seconds, default 60) and every process is stopped by its pid.
# BUILD (default build) holds twinmq; run `make` first.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
count=60
kill_after=20
ports=0,0,0
timeout=${DEMO_TIMEOUT:-60}

while (($#)); do
  case $1 in
    --count) count=$2; shift ;;
    --kill-after) kill_after=$2; shift ;;
    --ports) ports=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
((kill_after > 0 && kill_after < count)) || { echo "demo: --kill-after must be between 1 and --count - 1" >&2; exit 2; }
[[ -x $build/twinmq ]] || { echo "demo: $build/twinmq not found: run make first" >&2; exit 2; }

say() { printf '\ndemo: %s\n' "$*"; }
fail() { say "FAIL: $*"; keep_log=1; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/twinmq-demo.XXXXXX")
pair_pid='' producer_pid='' consumer_pid='' master_pid='' slave_pid='' summary='' keep_log=0
cleanup() {
  local p
  for p in $producer_pid $consumer_pid; do kill "$p" 2>/dev/null; done
  if [[ -n $pair_pid ]] && kill -TERM "$pair_pid" 2>/dev/null; then
    deadline=$((SECONDS + 40))  # run-pair stops both brokers, each within 15 s
    next_event 'pair exit *'
  fi
  for p in $master_pid $slave_pid; do kill -KILL "$p" 2>/dev/null; done  # only if run-pair could not
  if ((keep_log)) && [[ -s $work/pair.log ]]; then
    mv "$work/pair.log" "$work.pair.log" && echo "demo: the brokers' log is kept in $work.pair.log"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Events for this script (pids, the pair's address, "K messages receipted") arrive as
# lines on a FIFO, each read with a timeout: no polling, no fixed sleeps.
mkfifo "$work/events"
exec 3<>"$work/events"
events=()
next_event() {  # PATTERN [PATTERN2]: the first event matching, seen before or arriving in time
  local e line left p2=${2:-$1}
  for e in "${events[@]}"; do [[ $e == $1 || $e == $p2 ]] && { event=$e; return 0; }; done
  while :; do
    left=$((deadline - SECONDS))
    ((left > 0)) || return 1
    IFS= read -r -t "$left" -u 3 line || return 1
    events+=("$line")
    [[ $line == 'summary '* ]] && summary=${line#summary }
    [[ $line == $1 || $line == $p2 ]] && { event=$line; return 0; }
  done
}
deadline=$((SECONDS + timeout))

# The pair: its full log goes to a file; the lines that tell the story are shown.
say "1. starting the pair: src/tools/run-pair on ports $ports (all of its output: $work/pair.log)"
{
  "$root/src/tools/run-pair" "$build" --ports "$ports" "-Dtwinmq.base=$work" </dev/null 2>&1 &
  echo "@@demo pid $!"
  wait $!
  printf '\n@@demo exit %s\n' "$?"
} | while IFS= read -r line; do
      case $line in
        '@@demo '*) echo "pair ${line#@@demo }" >&3; continue ;;
        '') continue ;;
        'run-pair: clients connect to '*) echo "url ${line#run-pair: clients connect to }" >&3 ;;
        'run-pair: master pid '*|'run-pair: slave pid '*) echo "${line#run-pair: }" >&3 ;;
      esac
      printf '%s\n' "$line" >>"$work/pair.log"
      case $line in
        run-pair:*|*'replication: IN SYNC'*|*'PROMOTED'*|*'role: '*) printf '  pair     | %s\n' "$line" ;;
      esac
    done &
next_event 'pair pid *' && pair_pid=${event#pair pid }

next_event 'url *' 'pair exit *' || fail "the pair was not in sync within ${timeout} s (see the log below)"
[[ $event == 'url '* ]] || fail "run-pair stopped before the pair was in sync (${event#pair }; see above)"
got_url=${event#url }
next_event 'master pid *' && master_pid=${event#master pid }
next_event 'slave pid *' && slave_pid=${event#slave pid }
hosts=$(sed -E 's/^failover:\(//; s/\)$//; s#tcp://##g' <<<"$got_url")
slave_addr=${hosts#*,}

# A client runs in the background; its output is shown with a prefix, and its pid, exit
# status and the lines this script waits for come as events.
start_client() {  # NAME PROGRAM ARGS...
  local name=$1; shift
  {
    /usr/bin/python3 "$@" </dev/null 2>&1 &
    echo "@@demo pid $!"
    wait $!
    printf '\n@@demo exit %s\n' "$?"  # a newline first: the client may have died mid-line
  } | while IFS= read -r line; do
        case $line in
          '@@demo '*) echo "$name ${line#@@demo }" >&3; continue ;;
          'consumer: '*' distinct messages received '*) echo "summary $line" >&3 ;;
          "producer: sent message $((kill_after - 1)) "*) echo "receipted" >&3 ;;
          '') continue ;;
        esac
        printf '  %-8s | %s\n' "$name" "$line"
      done &
  next_event "$name pid *" || fail "the $name did not start"
  printf -v "${name}_pid" '%s' "${event#$name pid }"
}

say "2. starting the consumer: examples/python/consumer.py --hosts $hosts --count $count"
start_client consumer "$here/python/consumer.py" --hosts "$hosts" --count "$count" --timeout "$timeout"

say "3. sending $count persistent messages, a receipt for each: examples/python/producer.py --hosts $hosts --count $count --delay 0.1"
start_client producer "$here/python/producer.py" --hosts "$hosts" --count "$count" --delay 0.1

next_event receipted || fail "the producer did not get $kill_after receipts within ${timeout} s"
say "4. $kill_after messages have their receipts: kill -9 the master (pid $master_pid)"
kill -KILL "$master_pid"

# Both clients end by themselves: the consumer at --count or --timeout, the producer once
# every message has its receipt or after 60 s without a broker. At the deadline they are killed.
finish_client() {  # NAME: its exit status (the event "NAME exit N")
  local pid_var=${1}_pid
  if ! next_event "$1 exit *"; then
    say "the $1 did not finish within ${timeout} s: stopping it"
    kill "${!pid_var}" 2>/dev/null
    return 124
  fi
  printf -v "$pid_var" '%s' ''
  return "${event#$1 exit }"
}
finish_client producer; producer_rc=$?
finish_client consumer; consumer_rc=$?

((producer_rc == 0)) || fail "the producer did not get a receipt for all $count messages (exit $producer_rc)"
((consumer_rc == 0)) || fail "the consumer did not receive all $count receipted messages (exit $consumer_rc)"
from_slave=$(grep -Eo "$slave_addr [0-9]+" <<<"$summary" | awk '{print $2}')
[[ -n $from_slave ]] || fail "the consumer received nothing from the slave ($summary)"
again=$(grep -Eo '\(([0-9]+) more than once\)' <<<"$summary" | grep -Eo '[0-9]+')

say "5. stopping the pair (the promoted slave): SIGTERM to run-pair"
kill -TERM "$pair_pid"
next_event 'pair exit *' || fail "run-pair did not stop"
pair_pid=''

say "PASS: master killed after $kill_after receipted messages; the consumer carried on against the slave at $slave_addr and received all $count receipted messages ($from_slave from the slave, ${again:-0} delivered twice)"
exit 0
