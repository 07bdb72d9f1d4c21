#!/usr/bin/env bash
# Stops what infra/up.sh started and removes its state.
set -u
RUN=${SIMU_INFRA_RUN:-/tmp/simu-infra}
[ -d "$RUN" ] || exit 0
if [ -f "$RUN/ejabberdctl.cfg" ] && command -v ejabberdctl >/dev/null; then
  ctl="ejabberdctl --ctl-config $RUN/ejabberdctl.cfg --spool $RUN/ejabberd/db --logs $RUN/ejabberd/log"
  $ctl stop >/dev/null 2>&1 && timeout 30 $ctl stopped >/dev/null 2>&1
fi
if [ -s "$RUN/coturn/bgpid" ]; then
  p=$(cat "$RUN/coturn/bgpid")
  kill -TERM "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
fi
if [ -s "$RUN/janus/pid" ]; then
  p=$(cat "$RUN/janus/pid")
  kill -INT "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$p" 2>/dev/null
fi
rm -rf "$RUN"
