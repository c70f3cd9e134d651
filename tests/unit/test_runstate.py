import os

from dynamigrate.runstate import RunDir, list_runs, read_jsonl


def test_run_dir_round_trip(tmp_path):
    run = RunDir.create(tmp_path, meta={"engine": "local"})
    run.update_state(status="running", tables={"Users": {"read": 10}})
    run.update_state(tables={"Users": {"written": 7}})
    assert run.state()["tables"]["Users"] == {"read": 10, "written": 7}
    run.record_created("views", {"name": "ddb_users_view"})
    run.record_created("views", {"name": "ddb_users_view"})
    assert run.manifest()["views"] == [{"name": "ddb_users_view"}]
    run.append(run.written_file("Users"), {"key": {"PK": {"S": "a"}}})
    run.close()
    again = RunDir.find(tmp_path)
    assert again.run_id == run.run_id and again.meta["engine"] == "local"
    assert list(again.read_lines("written/Users.jsonl")) == [{"key": {"PK": {"S": "a"}}}]
    assert list_runs(tmp_path) == [run.path]


def test_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "x.jsonl"
    with open(path, "w") as fh:
        fh.write('{"a": 1}\n{"b": 2')
        fh.flush()
        os.fsync(fh.fileno())
    assert list(read_jsonl(path)) == [{"a": 1}]
