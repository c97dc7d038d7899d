#!/bin/sh
# Run a command on a private virtual display and answer dialogs as a user would.
#
#   with-ui.sh TITLE KEYS [TITLE KEYS]... -- COMMAND...
#
# For each pair in turn: wait for a new window titled TITLE, focus it, type KEYS
# (xdotool key names, e.g. "Return", "alt+r"). Needs Xvfb and xdotool.
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
        xdotool key --clearmodifiers "$keys"
        echo "with-ui: typed '$keys' into '$title'" >&2
    done
}
"$@" &
command=$!
# A dialog nobody answers would block forever: when answering fails, stop the command.
(answer || kill "$command") &
driver=$!
status=0
wait "$command" || status=$?
exit "$status"
