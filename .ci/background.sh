# Background steps of .ci/run (sourced, not run; tests/test_ci_background.py tests it).
#
#   bg_start NAME CMD...               CMD in the background, in its own process group, its output
#                                      in "$BG_LOGS/NAME.log"; stopped (the whole group) on exit
#   bg_start --let-finish NAME CMD...  the same, but waited for on exit, never killed (a package
#                                      install cut short can leave the machine broken)
#   bg_finish NAME                     waits for NAME, prints its log and the phase line, returns
#                                      NAME's exit status
#   bg_cleanup                         stops or waits for what is still running; for the EXIT trap
#
# The caller defines phase() and may set BG_NICE (niceness of the steps started after it).

BG_LOGS="$(mktemp -d "${TMPDIR:-/tmp}/serrules-ci.XXXXXX")"
declare -A BG_PID=() BG_LET_FINISH=()

bg_start() {
	local let_finish=0
	if [ "$1" = --let-finish ]; then
		let_finish=1
		shift
	fi
	local name="$1"
	shift
	nice -n "${BG_NICE:-0}" setsid "$@" >"$BG_LOGS/$name.log" 2>&1 &
	BG_PID[$name]=$!
	BG_LET_FINISH[$name]=$let_finish
}

bg_finish() {
	local name="$1" status=0
	wait "${BG_PID[$name]}" || status=$?
	unset "BG_PID[$name]"
	cat "$BG_LOGS/$name.log"
	phase "$name"
	return "$status"
}

bg_cleanup() {
	local name
	for name in "${!BG_PID[@]}"; do
		if [ "${BG_LET_FINISH[$name]}" = 0 ]; then
			kill -- "-${BG_PID[$name]}" 2>/dev/null || true
		fi
	done
	for name in "${!BG_PID[@]}"; do
		wait "${BG_PID[$name]}" 2>/dev/null || true
	done
	rm -rf "$BG_LOGS"
}
