#!/bin/sh
# Run a command on a private virtual display and answer dialogs as a user would.
#
#   with-ui.sh TITLE KEYS [TITLE KEYS]... -- COMMAND...
#
# For each pair in turn: wait for a new window titled TITLE, focus it, then do each
# space-separated word of KEYS: an xdotool key name ("Return", "alt+r", "Down"),
# "sleep:SECONDS", or "shot:FILE.png" (a PNG of the window as it is then). Needs Xvfb and
# xdotool; screenshots need python3 with GTK 3's bindings (GIMP's own).
set -eu

tmp=$(mktemp -d)
Xvfb -displayfd 3 -ac -nolisten tcp -screen 0 1280x1024x24 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb=$!
cleanup() { kill "$xvfb" ${driver:+"$driver"} 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { cat "$tmp/xvfb.log" >&2; echo "with-ui: Xvfb did not start" >&2; exit 1; }
DISPLAY=":$(cat "$tmp/display")"
export DISPLAY

steps=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    steps="$steps$1	$2
"
    shift 2
done
shift

answer() {
    seen=""
    printf '%s' "$steps" | while IFS='	' read -r title keys; do
        # xdotool matches a regular expression: "Replace Layer Mask?" must match literally.
        pattern=$(printf '%s' "$title" | sed 's/[][\\.*^$?+(){}|]/\\&/g')
        window=""
        for _ in $(seq 600); do
            for id in $(xdotool search --name "^$pattern\$" 2>/dev/null || true); do
                case " $seen " in *" $id "*) ;; *) window=$id ;; esac
            done
            [ -n "$window" ] && break
            sleep 0.2
        done
        if [ -z "$window" ]; then
            echo "with-ui: no window '$title' appeared" >&2
            exit 1
        fi
        seen="$seen $window"
        # Let GTK finish mapping and focusing the dialog's default widget.
        sleep 1
        xdotool windowfocus --sync "$window"
        for word in $keys; do
            case "$word" in
                sleep:*) sleep "${word#sleep:}" ;;
                shot:*) shoot "$window" "${word#shot:}" ;;
                *) xdotool key --clearmodifiers "$word" ;;
            esac
        done
        echo "with-ui: typed '$keys' into '$title'" >&2
    done
}

# shoot WINDOW FILE: the window's pixels as a PNG (no window manager: no decorations).
shoot() {
    eval "$(xdotool getwindowgeometry --shell "$1")"
    # Let GTK redraw what the keys before changed.
    sleep 1
    python3 - "$2" "$X" "$Y" "$WIDTH" "$HEIGHT" <<'EOF'
import sys

import gi

gi.require_version("Gdk", "3.0")
from gi.repository import Gdk

path, x, y, width, height = sys.argv[1], *map(int, sys.argv[2:])
root = Gdk.get_default_root_window()
Gdk.pixbuf_get_from_window(root, x, y, width, height).savev(path, "png", [], [])
EOF
    echo "with-ui: saved $2" >&2
}
"$@" &
command=$!
# A dialog nobody answers would block forever: when answering fails, stop the command.
(answer || kill "$command") &
driver=$!
status=0
wait "$command" || status=$?
exit "$status"
