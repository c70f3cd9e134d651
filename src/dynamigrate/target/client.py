"""A boto3 DynamoDB client built from :class:`~dynamigrate.config.AwsSettings`.

Layering (highest first): CLI flag > environment > config file, as resolved by ``load_config``:
``AWS_ENDPOINT_URL_DYNAMODB`` > ``AWS_ENDPOINT_URL`` > ``aws.dynamodb_endpoint_url`` /
``aws.endpoint_url``; ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` > ``aws.region`` > the profile's
region; ``AWS_PROFILE`` > ``aws.profile``. Credentials come from boto3's usual chain; for a local
endpoint (DynamoDB Local, moto) dummy credentials are used when none are configured.

Request bodies of the data-plane operations are built by :mod:`dynamigrate.target.wire` (orjson).

Retries: botocore's own retries are off by default (``total_max_attempts=1``) because the writers
retry with :class:`dynamigrate.target.retry.RetryPolicy`, which counts every retry and throttle for
the run summary and re-queues only what failed. Callers that want the SDK to retry (e.g. a one-off
describe) can pass ``sdk_attempts``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from dynamigrate.config import AwsSettings
from dynamigrate.errors import ConfigError
from dynamigrate.target import wire

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "host.docker.internal", "dynamodb-local")


def is_local_endpoint(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    host = urlparse(endpoint).hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".local")


def dynamodb_client(
    aws: AwsSettings,
    max_pool_connections: int = 32,
    *,
    sdk_attempts: int = 1,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    parameter_validation: bool = True,
) -> Any:
    """A thread-safe low-level DynamoDB client for ``aws``.

    Raises :class:`ConfigError` when no region is known (neither config, environment nor profile).
    """
    import boto3
    import botocore.config
    import botocore.exceptions

    endpoint = aws.dynamodb_endpoint
    try:
        session = boto3.session.Session(profile_name=aws.profile) if aws.profile else boto3.session.Session()
    except botocore.exceptions.ProfileNotFound:
        raise ConfigError(
            f"AWS profile '{aws.profile}' not found",
            hint="check AWS_PROFILE / aws.profile against ~/.aws/config",
        ) from None
    if aws.profile:  # the profile's keys are secrets the config resolves: masked by value everywhere
        _register_credentials(session)
    region = aws.region or session.region_name
    if not region:
        if is_local_endpoint(endpoint):
            region = "us-east-1"  # DynamoDB Local accepts any region
        else:
            raise ConfigError(
                "no AWS region is configured for DynamoDB",
                hint="set aws.region in the config file, or AWS_REGION, or a region in your AWS profile",
            )
    config = botocore.config.Config(
        region_name=region,
        max_pool_connections=max(max_pool_connections, 10),
        retries={"total_max_attempts": max(1, sdk_attempts), "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=True,
        # the ETL engines send items built by the encoder: skipping botocore's client-side shape check
        # saves ~8% of a load's time on 2 cores (docs/etl.md); DynamoDB still validates every request
        parameter_validation=parameter_validation,
    )
    kwargs: dict[str, Any] = {"config": config, "region_name": region}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if is_local_endpoint(endpoint) and session.get_credentials() is None:
        kwargs["aws_access_key_id"] = "dummy"
        kwargs["aws_secret_access_key"] = "dummy"
    log.debug("DynamoDB client: region=%s endpoint=%s", region, endpoint or "(AWS)")
    client = session.client("dynamodb", **kwargs)
    # request bodies of the data-plane calls from orjson instead of botocore's per-value serializer
    # (same JSON; signing, retries and parsing stay botocore's): target/wire.py
    return wire.install(client)


def _register_credentials(session: Any) -> None:
    """Register a profile's secret key and session token with :mod:`dynamigrate.redact` (reading them
    is what the first request would do anyway)."""
    import botocore.exceptions

    from dynamigrate import redact

    try:
        creds = session.get_credentials()
    except botocore.exceptions.BotoCoreError:
        return  # the request itself will report it
    if creds is not None:
        frozen = creds.get_frozen_credentials()
        redact.register(frozen.secret_key, frozen.token)


def client_region(client: Any) -> str:
    return str(client.meta.region_name)


def client_endpoint(client: Any) -> str:
    return str(client.meta.endpoint_url)
