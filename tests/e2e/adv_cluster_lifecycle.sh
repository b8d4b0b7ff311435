# Adversarial reproducer (issue 13): tools/testcluster's up and down when things go wrong. Each
# case failed before the fix that came with this test:
#   a. two clusters "X" and "X-b": `--name X down` also killed and removed X-b (its namespaces
#      st-X-b-... matched the prefix st-X-);
#   b. an `up` killed outright (SIGKILL, a test's timeout) left namespaces behind, and the next
#      `up` of that name said "network namespaces are not permitted here" and exited 77 (a test
#      skips); one killed between its first namespace and its state directory left a namespace
#      that `down` ("not up") did not remove;
#   c. `up 2 --rate bogus` failed (status 1) but left the cluster up; `up 2 --rate` (no value)
#      failed with bash's "unbound variable" instead of a usage error (2);
#   d. a node whose holder process died: `exec` ran nsenter with an empty PID, and `down` killed
#      whatever process had the holder's PID by then (simulated here by writing another PID
#      into the holder's file).
# Needs root and network namespaces (skipped, exit 77, where they are not permitted). About 5 s.
source "$(dirname "$0")/lib/common.sh"
REPO=$(cd "$ST_HERE/../.." && pwd)
TC=$REPO/tools/testcluster
X=l$$
ROOTD=/run/seqtrain-testcluster
decoy=''
cleanup() {
  local n
  for n in "$X" "$X-b" "${X}k" "${X}r" "${X}h"; do "$TC" --name "$n" down >/dev/null 2>&1 || true; done
  [ -z "$decoy" ] || kill "$decoy" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
set +e
"$TC" --name "$X" up 1 >up.log 2>&1
rc=$?
set -e
[ "$rc" -ne 77 ] || { echo "SKIP: $(tail -n 1 up.log)"; exit 77; }
[ "$rc" -eq 0 ] || { cat up.log; fail "up 1: status $rc"; }
ns_of() { ip netns list | awk '{print $1}' | grep -E "^st-$1-(sw|head|node[0-9]+)\$" || true; }

# a. A name that is a prefix of another's.
"$TC" --name "$X-b" up 1 >/dev/null
"$TC" --name "$X" down >/dev/null
[ "$(ns_of "$X-b" | wc -l)" -eq 3 ] || fail "a: down of '$X' removed namespaces of '$X-b': $(ip netns list)"
[ "$("$TC" --name "$X-b" exec node1 hostname 2>&1)" = node1 ] ||
  fail "a: down of '$X' broke '$X-b'"
"$TC" --name "$X-b" down >/dev/null

# b. An up killed outright, twice: late (namespaces and state), and right after the first
#    namespace (simulated: the namespace alone, no state directory).
K=${X}k
set +e
(timeout -s KILL 0.4 "$TC" --name "$K" up 6 >/dev/null 2>&1) 2>/dev/null  # bash: "Killed"
"$TC" --name "$K" up 1 >b.log 2>&1
rc=$?
set -e
[ "$rc" -ne 77 ] || fail "b: after a killed up, up exits 77 (a test would skip): $(cat b.log)"
"$TC" --name "$K" down >/dev/null
[ -z "$(ns_of "$K")" ] && [ ! -e "$ROOTD/$K" ] || fail "b: down left $(ns_of "$K") $(ls "$ROOTD")"
ip netns add "st-$K-sw"
"$TC" --name "$K" down >/dev/null
[ -z "$(ns_of "$K")" ] || fail "b: down did not remove the stray namespace st-$K-sw"
"$TC" --name "$K" up 1 >/dev/null || fail "b: up after down"
"$TC" --name "$K" down >/dev/null

# c. A failure late in up, and a missing option value.
R=${X}r
set +e
"$TC" --name "$R" up 2 --rate bogus >c.log 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "c: up --rate bogus: status $rc, want 1"
[ -z "$(ns_of "$R")" ] && [ ! -e "$ROOTD/$R" ] ||
  fail "c: up --rate bogus failed but left the cluster: $(ns_of "$R")"
set +e
"$TC" --name "$R" up 2 --rate >c.log 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "c: up 2 --rate: status $rc, want 2: $(cat c.log)"

# d. A dead holder; its PID taken by another process.
H=${X}h
"$TC" --name "$H" up 2 >/dev/null
kill -KILL "$(cat "$ROOTD/$H/holder.node2")"
sleep 0.2
set +e
"$TC" --name "$H" exec node2 true >d.log 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "holder process .* is gone" d.log ||
  fail "d: exec into a node without its holder: status $rc: $(cat d.log)"
sleep 300 &
decoy=$!
echo "$decoy" >"$ROOTD/$H/holder.node2"
"$TC" --name "$H" down >/dev/null
kill -0 "$decoy" 2>/dev/null || fail "d: down killed PID $decoy, which was not its holder"
echo "adv cluster lifecycle: passed"
