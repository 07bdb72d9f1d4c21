#!/usr/bin/env bash
# Starts ejabberd, coturn and Janus on 127.0.0.1 for the test suite and writes $RUN/env with the
# SIMU_TEST_* variables the tests read. Stop them with infra/down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUN=${SIMU_INFRA_RUN:-/tmp/simu-infra}
DOMAIN=simu.test
WS_PORT=${SIMU_EJABBERD_PORT:-5280}
DIST_PORT=${SIMU_EJABBERD_DIST_PORT:-5210}
TURN_PORT=${SIMU_TURN_PORT:-3478}
JANUS_WS_PORT=${SIMU_JANUS_WS_PORT:-8188}
JANUS_RTP_PORTS=${SIMU_JANUS_RTP_PORTS:-20000-20199}
# Which servers to start (scripts/sfu-media.sh wants Janus alone, in its own namespace).
SERVICES=" ${SIMU_INFRA_SERVICES:-ejabberd coturn janus} "
wanted() { [[ $SERVICES == *" $1 "* ]]; }
wants() { wanted "$1" && command -v "$2" >/dev/null; }
mkdir -p "$RUN/ejabberd/db" "$RUN/ejabberd/log" "$RUN/coturn"
chmod 755 "$RUN"
secret_file="$RUN/jwt.secret"
[ -s "$secret_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$secret_file"
JWT_SECRET=$(cat "$secret_file")
TURN_SECRET="turn-$JWT_SECRET"
JANUS_SECRET="janus-$JWT_SECRET"
JANUS_ADMIN_KEY="janus-admin-$JWT_SECRET"
k=$(printf %s "$JWT_SECRET" | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '{"kty":"oct","k":"%s"}' "$k" > "$RUN/jwt.jwk"
fill() { sed -e "s|@RUN@|$RUN|g" -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@WS_PORT@|$WS_PORT|g" \
             -e "s|@DIST_PORT@|$DIST_PORT|g" -e "s|@TURN_PORT@|$TURN_PORT|g" -e "s|@TURN_SECRET@|$TURN_SECRET|g" \
             -e "s|@JANUS_SECRET@|$JANUS_SECRET|g" -e "s|@JANUS_ADMIN_KEY@|$JANUS_ADMIN_KEY|g" \
             -e "s|@JANUS_WS_PORT@|$JANUS_WS_PORT|g" -e "s|@JANUS_RTP_PORTS@|$JANUS_RTP_PORTS|g" "$1" > "$2"; }
{
  echo "export SIMU_TEST_EJABBERD_DOMAIN=$DOMAIN"
  echo "export SIMU_TEST_JWT_SECRET=$JWT_SECRET"
  echo "export SIMU_TEST_EJABBERD_JWK=$RUN/jwt.jwk"
} > "$RUN/env"

if wants ejabberd ejabberdctl; then
  fill "$here/ejabberd/ejabberd.yml" "$RUN/ejabberd.yml"
  fill "$here/ejabberd/ejabberdctl.cfg" "$RUN/ejabberdctl.cfg"
  install -m 755 "$here/ejabberd/extauth_isuser.py" "$RUN/extauth_isuser.py"
  chown -R ejabberd:ejabberd "$RUN/ejabberd" "$RUN/jwt.jwk" 2>/dev/null || true
  chmod 644 "$RUN/jwt.jwk" "$RUN/ejabberd.yml" "$RUN/ejabberdctl.cfg"
  ctl="ejabberdctl --ctl-config $RUN/ejabberdctl.cfg --spool $RUN/ejabberd/db --logs $RUN/ejabberd/log"
  if ! $ctl status >/dev/null 2>&1; then
    $ctl start
    timeout 60 $ctl started
  fi
  echo "export SIMU_TEST_EJABBERD_WS=ws://127.0.0.1:$WS_PORT/nx-websocket/" >> "$RUN/env"
  echo "ejabberd up on ws://127.0.0.1:$WS_PORT/nx-websocket/ ($DOMAIN)"
else
  wanted ejabberd && echo "ejabberd not installed; its tests will be skipped" >&2
fi

if wants coturn turnserver; then
  fill "$here/coturn/turnserver.conf" "$RUN/turnserver.conf"
  if ! [ -s "$RUN/coturn/bgpid" ] || ! kill -0 "$(cat "$RUN/coturn/bgpid")" 2>/dev/null; then
    nohup turnserver -c "$RUN/turnserver.conf" > "$RUN/coturn/stdout.log" 2>&1 &
    echo $! > "$RUN/coturn/bgpid"
  fi
  for _ in $(seq 100); do ss -lun | grep -q "127.0.0.1:$TURN_PORT " && break; sleep 0.05; done
  ss -lun | grep -q "127.0.0.1:$TURN_PORT " || { echo "coturn did not start" >&2; exit 1; }
  {
    echo "export SIMU_TEST_TURN_URL=turn:127.0.0.1:$TURN_PORT?transport=udp"
    echo "export SIMU_TEST_TURN_SECRET=$TURN_SECRET"
  } >> "$RUN/env"
  echo "coturn up on 127.0.0.1:$TURN_PORT"
else
  wanted coturn && echo "coturn not installed; relay tests will be skipped" >&2
fi

if wants janus janus; then
  mkdir -p "$RUN/janus"
  for f in "$here"/janus/*.jcfg; do fill "$f" "$RUN/janus/$(basename "$f")"; done
  chmod 600 "$RUN"/janus/*.jcfg
  if ! [ -s "$RUN/janus/pid" ] || ! kill -0 "$(cat "$RUN/janus/pid")" 2>/dev/null; then
    nohup janus -F "$RUN/janus" -L "$RUN/janus/janus.log" > "$RUN/janus/stdout.log" 2>&1 &
    echo $! > "$RUN/janus/pid"
  fi
  for _ in $(seq 200); do ss -ltn | grep -q "127.0.0.1:$JANUS_WS_PORT " && break; sleep 0.05; done
  ss -ltn | grep -q "127.0.0.1:$JANUS_WS_PORT " || { echo "Janus did not start" >&2; tail -20 "$RUN/janus/janus.log" >&2; exit 1; }
  {
    echo "export SIMU_TEST_JANUS_WS=ws://127.0.0.1:$JANUS_WS_PORT"
    echo "export SIMU_TEST_JANUS_SECRET=$JANUS_SECRET"
    echo "export SIMU_TEST_JANUS_ADMIN_KEY=$JANUS_ADMIN_KEY"
    echo "export SIMU_TEST_JANUS_RTP_PORTS=$JANUS_RTP_PORTS"
  } >> "$RUN/env"
  echo "Janus up on ws://127.0.0.1:$JANUS_WS_PORT"
else
  wanted janus && echo "Janus not installed; SFU tests will be skipped" >&2
fi
