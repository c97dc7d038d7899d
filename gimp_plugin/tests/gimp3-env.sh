#!/usr/bin/env bash
# Provision a GIMP 3 (Debian trixie) root to test the alphacut GIMP plug-in in, and run
# commands inside it.
#
#   gimp3-env.sh provision          build the root if missing (cached), print its path
#   gimp3-env.sh install-alphacut   (re)install the checkout into the root's venv
#   gimp3-env.sh run [--bind DIR]... -- CMD...
#                                    run CMD in the root; DIRs appear at the same path inside
#   gimp3-env.sh path               print the root's path (empty + rc 1 when not provisioned)
#
# Debian 12 only ships GIMP 2.10 (no Python plug-ins), hence the trixie root. It lives outside
# the clone so that every clone and CI run reuses it.
#
# Environment:
#   ALPHACUT_GIMP_ROOT      where the root lives (default /var/cache/alphacut/gimp3-root)
#   ALPHACUT_DEBIAN_MIRROR  Debian mirror (default: the host's configured one)
set -euo pipefail

ROOT="${ALPHACUT_GIMP_ROOT:-/var/cache/alphacut/gimp3-root}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV=/opt/alphacut-venv
SRC=/opt/alphacut-src
# Bump when the root's contents change, so stale caches are rebuilt rather than half-used.
STAMP_VERSION=1
# xvfb + xdotool: the interactive-mode tests show the plug-in's dialogs on a virtual display.
APT_PACKAGES="gimp python3-gi gir1.2-gimp-3.0 python3-numpy python3-venv python3-pip ca-certificates xvfb xdotool"
# hatchling: the checkout is built without build isolation, so reruns need no network.
PIP_PACKAGES="hatchling"
HOST_CA=/etc/ssl/certs/ca-certificates.crt

log() { printf 'gimp3-env: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mount namespaces)"
}

stamp() { printf 'v%s\napt: %s\npip: %s\n' "$STAMP_VERSION" "$APT_PACKAGES" "$PIP_PACKAGES"; }

is_provisioned() { [ -f "$ROOT/.alphacut-stamp" ] && [ "$(cat "$ROOT/.alphacut-stamp")" = "$(stamp)" ]; }

default_mirror() {
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# Run "$@" chrooted into $1 in a private mount namespace, so the bind mounts vanish with the
# process and never leak onto the host (or pile up when a run is killed).
in_root() {
    local root=$1; shift
    local binds=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do binds+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    local script='
        set -e
        root=$1; nb=$2; shift 2
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs tmpfs "$root/tmp"
        i=0
        while [ $i -lt "$nb" ]; do
            mkdir -p "$root$1"; mount --bind "$1" "$root$1"; shift; i=$((i + 1))
        done
        cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
        exec chroot "$root" "$@"'
    # env -i: the host pip/python settings (find-links, constraints, ...) do not apply here.
    unshare -m --propagation private sh -c "$script" sh "$root" "${#binds[@]}" "${binds[@]}" \
        env -i PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" HOME=/root LANG=C.UTF-8 \
        PIP_CERT=/etc/alphacut-host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
}

provision() {
    need_root
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    if is_provisioned; then
        log "reusing $ROOT"
        echo "$ROOT"
        return
    fi
    local t0
    t0=$(date +%s)
    if [ "$(head -n1 "$ROOT/.alphacut-stamp" 2>/dev/null)" = "v$STAMP_VERSION" ]; then
        # Same base, other package lists: add them rather than rebuild from scratch.
        log "updating the packages of $ROOT"
        install_packages "$ROOT"
    else
        command -v debootstrap >/dev/null || {
            log "installing debootstrap"
            apt-get install -y --no-install-recommends debootstrap >&2
        }
        local mirror tmp
        mirror="${ALPHACUT_DEBIAN_MIRROR:-$(default_mirror)}"
        tmp="$ROOT.partial"
        rm -rf "$tmp"
        log "debootstrap trixie from $mirror into $tmp"
        unshare -m --propagation private \
            debootstrap --variant=minbase trixie "$tmp" "$mirror" >&2
        log "debootstrap took $(($(date +%s) - t0)) s"
        install_packages "$tmp"
        rm -rf "$ROOT"
        mv "$tmp" "$ROOT"
    fi
    stamp >"$ROOT/.alphacut-stamp"
    install_alphacut
    log "provisioned $ROOT in $(($(date +%s) - t0)) s, $(du -sh "$ROOT" | cut -f1)"
    echo "$ROOT"
}

install_packages() {
    # pip in the root must trust the same CAs as the host (TLS-intercepting proxies).
    cp "$HOST_CA" "$1/etc/alphacut-host-ca.crt"
    in_root "$1" -- sh -c "
        set -e
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends $APT_PACKAGES
        apt-get clean
        [ -x $VENV/bin/python3 ] || python3 -m venv --system-site-packages $VENV
        $VENV/bin/pip install --no-cache-dir $PIP_PACKAGES
    " >&2
}

install_alphacut() {
    need_root
    is_provisioned || die "$ROOT is not provisioned; run: $0 provision"
    local t0
    t0=$(date +%s)
    # A copy, not a bind mount: the build must not write into the clone (others edit it), and
    # it stays in the root so `alphacut gimp install` there finds the plug-in via PEP 610.
    rm -rf "$ROOT$SRC"
    mkdir -p "$ROOT$SRC"
    if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$REPO" && git ls-files -z -co --exclude-standard |
            tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$ROOT$SRC"
    else
        tar -C "$REPO" --exclude=.git --exclude=.venv -cf - . | tar -xf - -C "$ROOT$SRC"
    fi
    in_root "$ROOT" -- sh -c '
        set -e
        src=$1; venv=$2
        deps=$(python3 -c "import sys, tomllib; print(\"\\n\".join(tomllib.load(open(sys.argv[1], \"rb\"))[\"project\"][\"dependencies\"]))" "$src/pyproject.toml")
        if [ "$deps" != "$(cat "$venv/.alphacut-deps" 2>/dev/null)" ]; then
            echo "gimp3-env: installing the dependencies of alphacut" >&2
            printf "%s\n" "$deps" >/tmp/requirements.txt
            pip install --no-cache-dir -r /tmp/requirements.txt
            warm=1
        fi
        pip install --quiet --no-cache-dir --no-deps --no-build-isolation --force-reinstall "$src"
        if [ -n "${warm:-}" ]; then
            # First run after (re)installing: compile and cache the JIT-compiled code of the
            # dependencies once, here, rather than inside a timed GIMP test.
            python3 -c "import alphacut; from skimage.data import astronaut; alphacut.remove_background(astronaut()[::4, ::4])"
            printf "%s\n" "$deps" >"$venv/.alphacut-deps"
        fi
        python3 -c "import alphacut; print(\"gimp3-env: alphacut\", alphacut.__version__, \"->\", alphacut.__file__)"
    ' sh "$SRC" "$VENV" >&2
    log "installed the checkout into $ROOT$VENV in $(($(date +%s) - t0)) s"
}

cmd_run() {
    need_root
    is_provisioned || die "$ROOT is not provisioned; run: $0 provision"
    local binds=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case "$1" in
            --bind) binds+=("$(realpath "$2")"); shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "run: no command"
    in_root "$ROOT" "${binds[@]}" -- "$@"
}

case "${1:-}" in
    provision) provision ;;
    install-alphacut) install_alphacut ;;
    run) shift; cmd_run "$@" ;;
    path) if is_provisioned; then echo "$ROOT"; else exit 1; fi ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
