#!/usr/bin/env bash
# Starts ejabberd and coturn on 127.0.0.1 for the test suite and writes $RUN/env with the
# SIMU_TEST_* variables the tests read. Stop them with infra/down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUN=${SIMU_INFRA_RUN:-/tmp/simu-infra}
DOMAIN=simu.test
WS_PORT=${SIMU_EJABBERD_PORT:-5280}
DIST_PORT=${SIMU_EJABBERD_DIST_PORT:-5210}
TURN_PORT=${SIMU_TURN_PORT:-3478}
mkdir -p "$RUN/ejabberd/db" "$RUN/ejabberd/log" "$RUN/coturn"
chmod 755 "$RUN"
secret_file="$RUN/jwt.secret"
[ -s "$secret_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$secret_file"
JWT_SECRET=$(cat "$secret_file")
TURN_SECRET="turn-$JWT_SECRET"
k=$(printf %s "$JWT_SECRET" | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '{"kty":"oct","k":"%s"}' "$k" > "$RUN/jwt.jwk"
fill() { sed -e "s|@RUN@|$RUN|g" -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@WS_PORT@|$WS_PORT|g" \
             -e "s|@DIST_PORT@|$DIST_PORT|g" -e "s|@TURN_PORT@|$TURN_PORT|g" -e "s|@TURN_SECRET@|$TURN_SECRET|g" "$1" > "$2"; }
{
  echo "export SIMU_TEST_EJABBERD_DOMAIN=$DOMAIN"
  echo "export SIMU_TEST_JWT_SECRET=$JWT_SECRET"
  echo "export SIMU_TEST_EJABBERD_JWK=$RUN/jwt.jwk"
} > "$RUN/env"

if command -v ejabberdctl >/dev/null; then
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
  echo "ejabberd not installed; its tests will be skipped" >&2
fi

if command -v turnserver >/dev/null; then
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
  echo "coturn not installed; relay tests will be skipped" >&2
fi
