# Assertions of the script tests that run a program and check what it did (provision.sh,
# fleet.sh). Source after setting $work (a scratch dir); the script ends with
#   echo "NAME: $failures failure(s)"; ((failures == 0))
#
#   check WHAT CMD...            ok when CMD succeeds
#   expect_rc RC WHAT CMD...     ok when CMD exits RC; its output is in $work/out
#   fail MSG                     counts a failure
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else fail "$what"; fi; }
expect_rc() { local want=$1 what=$2; shift 2; "$@" >"$work/out" 2>&1; local rc=$?
  if [[ $rc == "$want" ]]; then echo "ok: $what (exit $rc)"; else fail "$what: exit $rc, want $want"; cat "$work/out"; fi; }
