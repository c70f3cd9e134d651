"""Contract-aware change data capture: ``dynamigrate replicate`` (docs/replication.md).

* :mod:`.position`: binlog positions (the migration's start, the checkpoint), server checks;
* :mod:`.affected`: which items a row change affects, from the contract (pure SQL text);
* :mod:`.apply`: recompute those items with the reference evaluator, write/delete with sync's rules;
* :mod:`.stream`: the binlog loop (windows, checkpoints, stop at head / on signal).
"""
