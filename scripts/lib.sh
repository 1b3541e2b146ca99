# Shared by the scripts (sourced, not run).

# ensure_venv PACKAGE==VERSION...: the scripts' Python venv
# (GREENCHANNEL_VENV, default .venv) with these packages; sets $venv.
ensure_venv() {
    venv=${GREENCHANNEL_VENV:-.venv}
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

# wait_for_sim PORT PID LOG: waits until the simulator on PORT answers;
# if its process PID dies first, prints LOG and fails.
wait_for_sim() {
    local port=$1 pid=$2 log=$3
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$port/control/status" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; return 1; fi
        sleep 0.1
    done
    echo "the simulator on port $port did not answer within 10 s" >&2
    cat "$log"
    return 1
}
