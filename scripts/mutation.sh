#!/usr/bin/env bash
# Mutation testing of dynamigrate's core modules with mutmut (docs/testing.md). NOT part of CI: it runs
# the covering tests once per mutant, which takes from minutes (encode, unit tests) to hours (modules
# whose tests are integration tests against MariaDB and DynamoDB Local).
#
#   scripts/mutation.sh                 every core module
#   scripts/mutation.sh encode reader   only these (names below)
#   scripts/mutation.sh evaluate/values one file of a package module (evaluate/engine, evaluate/plan...),
#                                       against the package's tests: a big package measured file by file
#   MUTATION_JOBS=2 scripts/mutation.sh encode     parallel mutants (default 1: the CPU is shared)
#   MUTATION_TESTS="tests/unit/a.py ..." ...   other covering tests than the mapping's (a quick first pass)
#   MUTATION_KEEP=1 ...                 keep the scratch copies (inspect with `mutmut show NAME` there)
#
# Each module is mutated in a scratch copy of the checkout (src, tests, examples, scripts), so the
# working tree is never touched. For each module it prints: killed / survived / timeout / no tests,
# the score (killed + timeout over all mutants that ran) and the name and diff of every survivor.
# Integration tests need the services (scripts/services.sh start).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
JOBS=${MUTATION_JOBS:-1}

declare -A SOURCE=(
    [encode]=src/dynamigrate/target/encode.py
    [writer]="src/dynamigrate/target/writer.py src/dynamigrate/target/sinks.py src/dynamigrate/target/single_item.py"
    [reader]=src/dynamigrate/source/reader.py
    [generate]="src/dynamigrate/sqlgen/generate.py src/dynamigrate/sqlgen/scope.py src/dynamigrate/sqlgen/values.py src/dynamigrate/sqlgen/joins.py"
    [local]=src/dynamigrate/etl/local.py
    [local_pass]=src/dynamigrate/etl/local_pass.py
    [local_strategy]=src/dynamigrate/etl/local_strategy.py
    [local_sync]=src/dynamigrate/etl/local_sync.py
    [workers]="src/dynamigrate/etl/local_workers.py src/dynamigrate/etl/local_worker.py"
    [evaluate]="src/dynamigrate/evaluate/*"
)
# the tests that cover each module (unit tests first; integration tests where the module does I/O)
declare -A TESTS=(
    [encode]="tests/unit/test_encode.py tests/unit/test_encode_exact.py tests/unit/test_encode_sink.py"
    [writer]="tests/unit/test_writer_exact.py tests/unit/test_writer_cancellations.py tests/unit/test_encode_sink.py"
    [reader]="tests/integration/test_reader_windows.py tests/integration/test_reader_errors.py"
    [generate]="tests/unit/test_sqlgen_exact.py tests/unit/test_sqlgen_golden.py tests/unit/test_sqlgen.py tests/integration/test_sqlgen_rows.py"
    [local]="tests/integration/test_local_table.py tests/unit/test_etl_engine_units.py tests/integration/test_workers_pass.py tests/integration/test_local_engine.py tests/integration/test_resume.py tests/integration/test_migrate_values.py"
    [local_pass]="tests/integration/test_local_pass.py"
    [local_strategy]="tests/integration/test_local_sync_strategy.py tests/unit/test_etl_engine_units.py"
    [local_sync]="tests/integration/test_local_sync_strategy.py"
    [workers]="tests/unit/test_workers_choice.py tests/integration/test_workers_pass.py"
    [evaluate]="tests/unit/test_evaluate_values_exact.py tests/unit/test_evaluate_nodes.py tests/unit/test_evaluate_parts.py tests/unit/test_evaluate_plan.py tests/unit/test_evaluate_engine_items.py tests/unit/test_evaluate_values.py tests/integration/test_evaluate_io.py tests/integration/test_evaluate.py"
)
ORDER=(encode writer reader generate local local_pass local_strategy local_sync workers evaluate)

if ! "$PY" -c "import mutmut" 2>/dev/null; then
    echo "mutmut is not installed in $PY: pip install 'mutmut>=3.8' (it is in the dev extra)" >&2
    exit 2
fi

modules=("$@")
[[ ${#modules[@]} -eq 0 ]] && modules=("${ORDER[@]}")
for m in "${modules[@]}"; do
    if [[ $m == */* && -n ${SOURCE[${m%%/*}]:-} && -e $ROOT/src/dynamigrate/${m%%/*}/${m#*/}.py ]]; then
        SOURCE[$m]=src/dynamigrate/${m%%/*}/${m#*/}.py
        TESTS[$m]=${TESTS[${m%%/*}]}
    fi
    if [[ -z ${SOURCE[$m]:-} ]]; then
        echo "unknown module '$m'; choose from: ${ORDER[*]}" >&2
        exit 2
    fi
done

toml_list() {  # words -> TOML array of strings
    local out="" w
    for w in "$@"; do out+="\"$w\", "; done
    echo "[${out%, }]"
}

status=0
for m in "${modules[@]}"; do
    work=$(mktemp -d "/tmp/dm-mutation-${m//\//-}.XXXXXX")
    cp -r "$ROOT/src" "$ROOT/tests" "$ROOT/examples" "$ROOT/scripts" "$ROOT/tools" "$ROOT/pyproject.toml" "$work/"
    # shellcheck disable=SC2086
    read -r -a tests <<<"${MUTATION_TESTS:-${TESTS[$m]}}"
    existing=()
    for t in "${tests[@]}"; do [[ -e $work/$t ]] && existing+=("$t"); done
    read -r -a sources <<<"${SOURCE[$m]}"
    cat >>"$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["src/"]
only_mutate = $(toml_list "${sources[@]}")
pytest_add_cli_args_test_selection = $(toml_list "${existing[@]}")
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x", "-p", "_dm_mutation_order"]
also_copy = ["examples", "scripts", "tools"]
EOF
    # mutmut hands pytest a mutant's covering tests as an unordered set; this plugin runs them in the
    # mapping's order (fast unit tests first), so with -x a mutant a unit test kills never waits for
    # the integration tests; hypothesis runs 20 examples per property
    mkdir -p "$work/plugins"
    cat >"$work/plugins/_dm_mutation_order.py" <<EOF
ORDER = $(toml_list "${existing[@]}")

try:  # property tests: fewer examples per mutant (a test that needs many examples to fail is weak anyway)
    from hypothesis import settings

    settings.register_profile("dm_mutation", max_examples=20, deadline=None)
    settings.load_profile("dm_mutation")
except ImportError:
    pass


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return next((i for i, t in enumerate(ORDER) if path.endswith(t)), len(ORDER))

    items.sort(key=rank)


# the functions that processes started by a test reached (sitecustomize.py below), folded into the
# test's record before mutmut's own teardown hook reads it
import os, sys, tempfile  # noqa: E401
import pytest

HITS = os.path.join(tempfile.gettempdir(), f"dm-mutmut-hits-{os.getpid()}")
os.environ["DM_MUTMUT_HITS"] = HITS


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    if not os.path.exists(HITS):
        return
    with open(HITS) as fh:
        names = fh.read().split()
    os.remove(HITS)
    # only when this process runs the mutants too (not in the first pass, which imports the project's
    # own install: there the processes' hits would mark mutants "survived" that no test here can see)
    here = getattr(sys.modules.get("dynamigrate"), "__file__", "") or ""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats" and f"{os.sep}mutants{os.sep}" in here:
        from mutmut.state import state

        state()._stats.update(names)
EOF
    # mutmut's "stats" pass records which test reaches which function in the test's own process only:
    # a function reached only in a process the test starts (the --workers writer processes, spawned;
    # a CLI subprocess) would be left "without tests" and its mutants never run. Such a process appends
    # every function it reaches to the file the plugin above reads.
    cat >"$work/plugins/sitecustomize.py" <<'EOF'
import os

if os.environ.get("DM_MUTMUT_HITS") and os.environ.get("MUTANT_UNDER_TEST") == "stats":
    try:
        from mutmut.state import state
    except ImportError:
        pass
    else:

        class _Shared(set):
            def add(self, name):
                with open(os.environ["DM_MUTMUT_HITS"], "a") as fh:
                    fh.write(name + "\n")
                super().add(name)

        state()._stats = _Shared()
EOF
    echo "== $m: ${SOURCE[$m]} against ${existing[*]}"
    started=$(date +%s)
    # subprocesses of the tests (python -m dynamigrate) must import the mutants too. The first pass only
    # generates them: the project's editable install is imported before mutmut puts mutants/src first,
    # so that pass finds no covered mutant and stops; the second starts with mutants/src on the path.
    (cd "$work" && PYTHONPATH="$work/mutants/src:$work/plugins" "$PY" -m mutmut run --max-children "$JOBS" >"$work/generate.log" 2>&1) || true
    if ! (cd "$work" && PYTHONPATH="$work/mutants/src:$work/plugins" "$PY" -m mutmut run --max-children "$JOBS" >"$work/run.log" 2>&1); then
        echo "mutmut failed for $m (log: $work/run.log):" >&2
        tail -20 "$work/run.log" >&2
        status=1
        continue
    fi
    (cd "$work" && "$PY" -m mutmut export-cicd-stats >/dev/null)
    "$PY" - "$work" "$m" "$(($(date +%s) - started))" <<'PY'
import json, sys
from pathlib import Path

work, module, seconds = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
ran = s["killed"] + s["survived"] + s["timeout"] + s.get("suspicious", 0)
score = (s["killed"] + s["timeout"]) / ran if ran else 0.0
print(
    f"{module}: {s['total']} mutants, killed {s['killed']}, survived {s['survived']}, timeout {s['timeout']}, "
    f"no tests {s['no_tests']}, skipped {s.get('skipped', 0)}, suspicious {s.get('suspicious', 0)}: "
    f"score {score:.1%} ({seconds}s)"
)
PY
    echo "-- survivors of $m (mutmut show NAME in $work for the diff):"
    (cd "$work" && "$PY" -m mutmut results 2>/dev/null | grep -E ": (survived|no tests)" || true) | sed 's/^/   /'
    if [[ -n ${MUTATION_SHOW_DIFFS:-} ]]; then
        (cd "$work" && "$PY" -m mutmut results 2>/dev/null | grep -E ": survived" | cut -d: -f1 | while read -r name; do
            "$PY" -m mutmut show "$name" </dev/null 2>/dev/null | sed 's/^/      /'
        done)
    fi
    [[ -z ${MUTATION_KEEP:-} ]] && rm -rf "$work"
done
exit $status
