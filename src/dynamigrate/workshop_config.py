"""Keys of the workshop's config.json that dynamigrate does not read as settings of its own.

The workshop's ``tools/config.json`` carries ``aws.account_id``, ``aws.vpc_id``, ``aws.subnet_ids``,
``aws.security_group_ids``, ``mysql.public_host`` / ``mysql.private_host`` and
``migration.view_generator``. What they mean here:

* ``aws.account_id`` + ``aws.glue_role`` (a role name): the Glue jobs run as
  ``arn:aws:iam::<account_id>:role/<glue_role>``, as in the workshop (:func:`glue_role_arn`);
* ``mysql.public_host``: what this machine connects to (``mysql.host`` when that is not set);
* ``mysql.private_host``, ``aws.vpc_id``, ``aws.subnet_ids``, ``aws.security_group_ids``: the network
  the Glue jobs reach MySQL through. dynamigrate does not create that network path: it attaches the
  Glue connection named in ``aws.glue_connection`` (the workshop's CloudFormation stack creates
  ``mysql-modernizer-connection``), whose JDBC URL and subnet/security groups apply. These keys are
  therefore not used, and :func:`workshop_key_warnings` says so;
* ``migration.view_generator``, ``migration.s3_script_prefix``: the generator is built in; the prefix
  is used (``aws.s3_script_prefix`` too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.config import Config

WORKSHOP_CONNECTION = "mysql-modernizer-connection"

#: keys of the workshop layout that are legitimate even where dynamigrate has no setting of that name
WORKSHOP_KEYS = {
    "aws": ("account_id", "vpc_id", "subnet_ids", "security_group_ids"),
    "mysql": ("public_host", "private_host"),
    "migration": ("view_generator", "s3_script_prefix"),
}


def _set(value: Any) -> bool:
    """A value the user filled in (not empty, not the workshop's ``<CF OUTPUT ...>`` placeholder)."""
    if value in (None, "", [], {}):
        return False
    if isinstance(value, str) and value.strip().startswith("<"):
        return False
    if isinstance(value, list):
        return any(_set(v) for v in value)
    return True


def _raw(cfg: Config, section: str) -> dict[str, Any]:
    value = cfg.raw.get(section) if isinstance(cfg.raw, dict) else None
    return value if isinstance(value, dict) else {}


def glue_role_arn(cfg: Config) -> str | None:
    """The role the Glue jobs run as: ``aws.glue_role`` as given when it is an ARN, else the ARN built
    from ``aws.account_id`` (the workshop's form) when that is set, else the bare name (Glue accepts it)."""
    role = cfg.aws.glue_role
    if not role or role.startswith("arn:"):
        return role
    account = cfg.aws.account_id
    if _set(account):
        return f"arn:aws:iam::{str(account).strip()}:role/{role.strip('/')}"
    return role


def workshop_key_warnings(cfg: Config) -> list[str]:
    """One line per workshop key that is set but not used, saying what applies instead."""
    aws, mysql = _raw(cfg, "aws"), _raw(cfg, "mysql")
    out = []
    network = [k for k in ("vpc_id", "subnet_ids", "security_group_ids") if _set(aws.get(k))]
    if network:
        keys = ", ".join(f"aws.{k}" for k in network)
        out.append(
            f"{keys} not used: the Glue jobs reach MySQL through the Glue connection "
            f"(aws.glue_connection), whose own subnet and security groups apply; dynamigrate does not "
            "create or change the connection"
        )
    if _set(mysql.get("private_host")):
        out.append(
            f"mysql.private_host ({mysql['private_host']}) not used: this machine connects to "
            f"mysql.host ({cfg.mysql.host}); the Glue jobs use the JDBC URL stored in the Glue connection, "
            "which should name the private host"
        )
    role = cfg.aws.glue_role or ""
    account = cfg.aws.account_id
    if role.startswith("arn:aws:iam::") and _set(account) and f"::{account}:" not in role:
        out.append(
            f"aws.account_id ({account}) differs from the account in aws.glue_role ({role}): the ARN is used"
        )
    return out


def glue_connection_warning(cfg: Config) -> str | None:
    """Why the Glue jobs would not reach MySQL, when no Glue connection is configured."""
    if _set(cfg.aws.glue_connection):
        return None
    return (
        "no Glue connection configured (aws.glue_connection): the Glue jobs will not reach MySQL (they "
        "read the views through a Glue JDBC connection, which also holds the credentials). Set "
        f"aws.glue_connection to its name (the workshop's CloudFormation stack creates "
        f"'{WORKSHOP_CONNECTION}')"
    )
