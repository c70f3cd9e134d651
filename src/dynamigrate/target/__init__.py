"""DynamoDB side of a migration: table provisioning, item encoding, conditional writers, retries.

Modules: :mod:`.client` (boto3 client from the config), :mod:`.encode` (rows -> items),
:mod:`.provision` (create/verify tables), :mod:`.writer` (write modes and strategies),
:mod:`.sinks` (where the writer's outcomes go), :mod:`.single_item` (conditional delete and marker
removal of one item), :mod:`.retry` (backoff policy), :mod:`.markers` (remove markers after
cut-over), :mod:`.faults` (fault injection for tests), :mod:`.wire` (request bodies with orjson),
:mod:`.lean` (PutItem without botocore's per-call machinery).
"""
