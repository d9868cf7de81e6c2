# Sourced by the multi-step scripts (recipes/stage5_on_gpu.sh, benchmarks/gpu_checks.sh).
# step NAME COMMAND...: run COMMAND with its output shown and kept in $STEP_LOG_DIR/NAME.log, then
# print its exit status and time; a failing step does not stop the script (the next ones still run).
step() {
    local name=$1 start=$SECONDS status=0
    shift
    echo "=== $name"
    "$@" 2>&1 | tee "$STEP_LOG_DIR/$name.log" || status=$?
    echo "=== $name: exit $status, $((SECONDS - start)) s"
}
