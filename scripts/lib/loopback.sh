# Sourced by the scripts that run a browser or a benchmark where nothing can leave 127.0.0.1:
# `loopback_exec CMD...` replaces the shell with CMD inside a fresh network namespace that has
# only loopback (as root a plain network namespace; otherwise a user namespace maps the caller
# to root inside it).
loopback_exec() {
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
  exec unshare "${as_root[@]}" --net bash -c 'ip link set lo up && exec "$@"' loopback "$@"
}
