"""Single-item conditional operations on items a migration wrote (rollback, sync ``--delete-missing``,
marker removal): each acts only while the item still carries the run's marker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from dynamigrate.target.encode import Item
from dynamigrate.target.retry import RetryPolicy, classify


@dataclass(frozen=True)
class DeleteOutcome:
    """Result of :func:`delete_if_marker`: truthy only when the item was deleted.

    Unpacks as ``(outcome, old_item)``; ``outcome`` is ``deleted`` | ``conflict`` | ``absent``.
    """

    outcome: str
    old_item: Item | None = None

    def __bool__(self) -> bool:
        return self.outcome == "deleted"

    def __iter__(self) -> Iterator[Any]:
        return iter((self.outcome, self.old_item))

    def __getitem__(self, index: int) -> Any:
        return (self.outcome, self.old_item)[index]


def delete_if_marker(
    client: Any,
    table_name: str,
    key: Item,
    marker: str,
    marker_attribute: str = "_dm_marker",
    policy: RetryPolicy | None = None,
) -> DeleteOutcome:
    """Delete ``key`` only if it still carries ``marker`` (rollback, sync ``--delete-missing``).

    Returns a :class:`DeleteOutcome` (truthy when deleted) with the deleted item's old image, or the
    current item on ``conflict`` (someone wrote it since: left alone); ``absent`` when there is no item.
    """
    from botocore.exceptions import ClientError

    policy = policy or RetryPolicy()
    try:
        resp = policy.call(
            client.delete_item,
            TableName=table_name,
            Key=key,
            ConditionExpression="#m = :m",
            ExpressionAttributeNames={"#m": marker_attribute},
            ExpressionAttributeValues={":m": {"S": marker}},
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            what=f"DeleteItem on {table_name}",
        )
    except ClientError as exc:
        if classify(exc) == "condition":
            current = cast("Item | None", exc.response.get("Item"))
            return DeleteOutcome("conflict", current) if current else DeleteOutcome("absent")
        raise
    return DeleteOutcome("deleted", resp.get("Attributes"))


def remove_marker_if_unchanged(
    client: Any,
    table_name: str,
    key: Item,
    marker: str,
    marker_attribute: str = "_dm_marker",
    policy: RetryPolicy | None = None,
) -> str:
    """REMOVE the marker from ``key`` if it still carries ``marker``: 'removed' | 'changed'."""
    from botocore.exceptions import ClientError

    policy = policy or RetryPolicy()
    try:
        policy.call(
            client.update_item,
            TableName=table_name,
            Key=key,
            UpdateExpression="REMOVE #m",
            ConditionExpression="#m = :m",
            ExpressionAttributeNames={"#m": marker_attribute},
            ExpressionAttributeValues={":m": {"S": marker}},
            what=f"UpdateItem on {table_name}",
        )
    except ClientError as exc:
        if classify(exc) == "condition":
            return "changed"
        raise
    return "removed"
