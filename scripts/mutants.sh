#!/usr/bin/env bash
# `make mutants`: prove the suite can fail. Each tests/mutants/NAME.patch breaks one property
# (its first line says which) and names the tests that must catch it ("Killed by: ..."). Each is
# applied to a fresh copy of this checkout's tracked files and those tests are run there: the
# mutant is killed when they fail (pytest exit 1). Any mutant that survives, or does not even
# apply or collect, fails the run. Not part of `make test` (it takes minutes): run before a release.
#   bash scripts/mutants.sh [NAME ...]     # all mutants, or the named ones
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-$root/.venv/bin/python}
export PTP_CACHE=${PTP_CACHE:-$root/.ptp-cache} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
patches=()
if [ $# -gt 0 ]; then for n in "$@"; do patches+=("tests/mutants/$n.patch"); done
else patches=(tests/mutants/*.patch); fi
failed=0
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  tests=$(sed -n 's/^Killed by: //p' "$patch")
  copy=$(mktemp -d)
  git ls-files -z | tar --null -T - -cf - | tar -x -C "$copy"
  if ! (cd "$copy" && git apply "$root/$patch"); then
    echo "mutant $name: DOES NOT APPLY (update the patch)"; failed=1; rm -rf "$copy"; continue
  fi
  start=$(date +%s)
  # The copy's packages come first on the path (python -m puts the working folder first).
  (set -f; cd "$copy" && "$python" -m pytest -q -x -p no:cacheprovider $tests) > "$copy/pytest.log" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - start ))
  case $rc in
    1) echo "mutant $name: killed by $tests (${seconds}s)";;
    0) echo "mutant $name: SURVIVED $tests (${seconds}s)"; failed=1;;
    *) echo "mutant $name: tests did not run (pytest exit $rc; ${seconds}s):"; tail -5 "$copy/pytest.log"; failed=1;;
  esac
  rm -rf "$copy"
done
[ $failed -eq 0 ] && echo "mutants: all ${#patches[@]} killed" || echo "mutants: some survived or did not run"
exit $failed
