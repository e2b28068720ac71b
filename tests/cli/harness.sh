# harness.sh - sourced by the CLI test scripts: the binary and source root,
# a scratch folder removed on exit, pass/fail counting and `expect`.
# The sourcing script sets DPSIM_TEST_NAME first (it names the scratch folder).
DPSIM=$1
SRC=${DPSIM_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EX=$SRC/examples
TMP=$(mktemp -d "/tmp/dpsim-${DPSIM_TEST_NAME:-cli}-XXXXXX")
trap 'chmod -R u+rwx "$TMP"; rm -rf "$TMP"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# capture command...: its stdout+stderr in $out, its exit status in $rc
capture() {
    out=$("$@" 2>&1)
    rc=$?
}

# expect CODE PATTERN -- command...: exit code and a pattern in stdout+stderr
expect() {
    local code=$1 pattern=$2 out rc
    shift 3
    capture "$@"
    if [ "$rc" -ne "$code" ]; then
        bad "$* -> exit $rc, expected $code; output: $out"
    elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
        bad "$* -> output lacks /$pattern/: $out"
    else
        ok
    fi
}

# finish: the closing count line; the script's exit status
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
