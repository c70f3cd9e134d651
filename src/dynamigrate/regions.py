"""Region consistency: every AWS resource a migration touches must live in one region.

A migration quietly split across regions is the classic failure of the workshop flow: tables created
in ``us-east-1`` by a CLI whose profile says so, a Glue job deployed to ``us-west-2`` from the config
file, a script bucket in a third region. Nothing fails until a job writes to the wrong tables (or to
none). :func:`check_regions` looks at every resource *before anything is created* and stops the run
with a table ``resource -> region`` and a fix for each disagreement.

What is compared, against the effective configured region (CLI flag > environment > config file):

* the region written in the config file (``aws.region``), when the environment overrides it;
* the credentials' default region (``boto3.Session(profile).region_name``: ``AWS_DEFAULT_REGION`` or
  the profile's ``region``), used by every other AWS tool the user runs next to us;
* each contract table in DynamoDB: the region in its ARN (``describe_table``); a table absent from
  the configured region is looked for in the other candidate regions (it would otherwise be created a
  second time, in a different region); absent everywhere means "will be created in the configured
  region", which agrees by construction;
* the S3 bucket (``get_bucket_location``; ``None`` means ``us-east-1``, ``EU`` means ``eu-west-1``);
* the Glue connection and the Glue jobs (found with a client of which region).

DynamoDB Local reports ``ddblocal`` as the region of its ARNs: such rows are shown but not compared.
The check is pure apart from the ``client_factory`` it is given, so tests point it at moto.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import Config
from dynamigrate.errors import RegionMismatchError

log = logging.getLogger(__name__)

#: (service, region) -> boto3 client
ClientFactory = Callable[[str, str], Any]

LOCAL_REGIONS = ("ddblocal", "local")
_UNSET = object()


@dataclass(frozen=True)
class RegionRow:
    resource: str  # e.g. "DynamoDB table Users"
    kind: str  # config | credentials | dynamodb | s3 | glue-connection | glue-job
    region: str | None  # None: unknown / not set / not found
    how: str  # how the region was determined
    compared: bool = True  # False: shown for information only (local endpoints, absent resources)
    fix: str = ""

    def differs(self, expected: str) -> bool:
        return self.compared and self.region is not None and self.region != expected


@dataclass
class RegionReport:
    expected: str | None
    rows: list[RegionRow] = field(default_factory=list)

    @property
    def mismatches(self) -> list[RegionRow]:
        if not self.expected:
            return []
        return [r for r in self.rows if r.differs(self.expected)]

    @property
    def unchecked(self) -> list[RegionRow]:
        """Resources whose region could not be read (no network, no permission): warnings."""
        return [r for r in self.rows if r.kind.endswith("?")]

    @property
    def ok(self) -> bool:
        return bool(self.expected) and not self.mismatches

    def table_text(self) -> str:
        """The resource -> region table, disagreeing rows marked."""
        headers = ("resource", "region", "determined by", "")
        body = []
        for r in self.rows:
            mark = "<-- differs" if self.expected and r.differs(self.expected) else ""
            if not r.compared:
                mark = "(not compared)"
            body.append((r.resource, r.region or "-", r.how, mark))
        widths = [max(len(str(x[i])) for x in [headers, *body]) for i in range(3)]
        lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers[:3], widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for row in body:
            lines.append(
                "  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
            )
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "ok": self.ok,
            "rows": [
                {
                    "resource": r.resource,
                    "kind": r.kind,
                    "region": r.region,
                    "how": r.how,
                    "compared": r.compared,
                    "differs": bool(self.expected and r.differs(self.expected)),
                }
                for r in self.rows
            ],
        }

    def raise_for_mismatch(self) -> None:
        if not self.expected:
            raise RegionMismatchError(
                "no AWS region is configured",
                hint="set aws.region in the config file, pass --region, or export AWS_REGION",
            )
        bad = self.mismatches
        if not bad:
            return
        fixes = [f"  - {r.resource}: {r.fix}" for r in bad if r.fix]
        message = (
            f"AWS resources disagree on the region (configured: {self.expected}); nothing was created\n"
            + self.table_text()
        )
        raise RegionMismatchError(
            message,
            hint="make every resource agree with one region:\n" + "\n".join(fixes),
        )


# -- helpers --------------------------------------------------------------------------------------


def region_from_arn(arn: str | None) -> str | None:
    """``arn:aws:dynamodb:eu-west-1:123:table/T`` -> ``eu-west-1``."""
    if not arn:
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None


def bucket_region(location_constraint: str | None) -> str:
    """Normalise ``GetBucketLocation``'s answer (None/'' is us-east-1; legacy 'EU' is eu-west-1)."""
    if not location_constraint:
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    return location_constraint


def credentials_default_region(profile: str | None = None) -> str | None:
    """The region the user's AWS credentials/profile default to (what the AWS CLI would use)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile).region_name if profile else boto3.Session().region_name
    except ProfileNotFound:
        return None


def default_client_factory(cfg: Config) -> ClientFactory:
    """boto3 clients for the configured profile and endpoints (DynamoDB may have its own endpoint)."""
    import boto3

    session = boto3.Session(profile_name=cfg.aws.profile) if cfg.aws.profile else boto3.Session()

    def make(service: str, region: str) -> Any:
        endpoint = cfg.aws.dynamodb_endpoint if service == "dynamodb" else cfg.aws.endpoint_url
        return session.client(service, region_name=region, endpoint_url=endpoint)  # type: ignore[call-overload]

    return make


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


_NOT_FOUND = ("ResourceNotFoundException", "EntityNotFoundException", "NoSuchBucket", "NotFound", "404")


def _is_not_found(exc: Exception) -> bool:
    return _error_code(exc) in _NOT_FOUND


# -- the check ------------------------------------------------------------------------------------


def check_regions(
    cfg: Config,
    tables: Iterable[str] = (),
    *,
    engine: str = "local",
    glue_jobs: Iterable[str] = (),
    client_factory: ClientFactory | None = None,
    credentials_region: str | object | None = _UNSET,
    raise_on_mismatch: bool = True,
    probe_resources: bool = True,
) -> RegionReport:
    """Compare the regions of everything the migration will touch; raise on disagreement.

    ``tables``: DynamoDB table names (the contract tables of this run). ``engine``: ``glue`` also
    checks the S3 bucket, the Glue connection and ``glue_jobs``; other engines check S3/Glue only when
    configured. ``credentials_region``: override for tests (default: read from boto3's session).
    Read-only: only Describe/Get calls are made.
    """
    make = client_factory or default_client_factory(cfg)
    cred_region = (
        credentials_default_region(cfg.aws.profile)
        if credentials_region is _UNSET
        else (credentials_region if isinstance(credentials_region, str) else None)
    )
    file_region = ((cfg.raw.get("aws") or {}) if isinstance(cfg.raw, dict) else {}).get("region")
    expected = cfg.aws.region or cred_region
    report = RegionReport(expected=expected)
    how_expected = "aws.region (flag > environment > config file)" if cfg.aws.region else "credentials"
    report.rows.append(RegionRow("configured region", "config", expected, how_expected, compared=False))
    if not expected:
        if raise_on_mismatch:
            report.raise_for_mismatch()
        return report

    # DynamoDB Local and no Glue: nothing lives in an AWS region, so the config/credential regions
    # are shown but cannot split the migration
    from dynamigrate.target.client import is_local_endpoint

    local_only = is_local_endpoint(cfg.aws.dynamodb_endpoint) and engine != "glue"
    # --region says which region is meant: the other sources are shown, not held against it
    chosen = cfg.origins.get("aws.region") == "flag"
    if file_region and file_region != expected:
        report.rows.append(
            RegionRow(
                f"config file aws.region ({cfg.source_path or 'config'})",
                "config",
                file_region,
                "config file, overridden by --region"
                if chosen
                else "config file, overridden by the environment",
                fix=f"the config file and the environment disagree: pass --region {expected} (or --region "
                f"{file_region}) to say which, or make them agree (change aws.region, or unset "
                "AWS_REGION/AWS_DEFAULT_REGION)",
                compared=not local_only and not chosen,
            )
        )
    report.rows.append(
        RegionRow(
            "credentials' default region" + (f" (profile {cfg.aws.profile})" if cfg.aws.profile else ""),
            "credentials",
            cred_region,
            "boto3 session (AWS_DEFAULT_REGION / profile region)" if cred_region else "not set",
            fix=f"export AWS_DEFAULT_REGION={expected} (or `aws configure set region {expected}"
            + (f" --profile {cfg.aws.profile}" if cfg.aws.profile else "")
            + "`), or set aws.region to "
            + str(cred_region)
            + f", or pass --region {expected} to say which",
            compared=not local_only and not chosen,
        )
    )
    candidates = [r for r in dict.fromkeys([expected, cred_region, file_region]) if r]
    others = [r for r in candidates if r != expected]

    for name in tables:
        report.rows.append(
            _guarded(f"DynamoDB table {name}", "dynamodb", _dynamodb_row, make, name, expected, others)
        )

    if not probe_resources:  # the configured sources alone (check_region_sources)
        pass
    elif cfg.aws.s3_bucket and not cfg.aws.s3_bucket.startswith("<"):
        bucket = cfg.aws.s3_bucket
        report.rows.append(_guarded(f"S3 bucket {bucket}", "s3", _bucket_row, make, bucket, expected))
    if probe_resources and (engine == "glue" or cfg.aws.glue_connection):
        if cfg.aws.glue_connection:
            conn = cfg.aws.glue_connection
            report.rows.append(
                _guarded(
                    f"Glue connection {conn}",
                    "glue-connection",
                    _glue_row,
                    make,
                    "connection",
                    conn,
                    expected,
                    others,
                )
            )
        for job in glue_jobs:
            report.rows.append(
                _guarded(f"Glue job {job}", "glue-job", _glue_row, make, "job", job, expected, others)
            )
    by_cause: dict[str, list[str]] = {}
    for row in report.unchecked:  # one warning per cause, however many resources it hit
        by_cause.setdefault(row.how, []).append(row.resource)
    for how, resources in by_cause.items():
        if len(resources) == 1:
            log.warning("region check: could not check %s (%s)", resources[0], how)
        else:
            log.warning(
                "region check: could not check %d resources (%s): %s",
                len(resources),
                how,
                ", ".join(resources),
            )

    for row in report.rows:
        log.debug("region check: %s -> %s (%s)", row.resource, row.region, row.how)
    if raise_on_mismatch:
        report.raise_for_mismatch()
    return report


def check_region_sources(cfg: Config, *, credentials_region: str | object | None = _UNSET) -> None:
    """The check every command that talks to AWS makes (validate, rollback, cleanup, markers; migrate
    makes the full :func:`check_regions`): the config file's ``aws.region``, the environment and the
    credentials' default region must agree unless ``--region`` says which; a RegionMismatchError with
    the fix otherwise. Nothing is probed; no region at all is left to the client to report."""
    report = check_regions(
        cfg, (), credentials_region=credentials_region, raise_on_mismatch=False, probe_resources=False
    )
    if report.expected:
        report.raise_for_mismatch()


def _guarded(resource: str, kind: str, fn: Callable[..., RegionRow], *args: Any) -> RegionRow:
    """Run one probe; an error that is not 'not found' (no network, access denied) becomes a warning row."""
    try:
        return fn(*args)
    except Exception as exc:
        code = _error_code(exc) or type(exc).__name__
        return RegionRow(resource, kind + "?", None, f"could not check: {code}", compared=False)


def _dynamodb_row(make: ClientFactory, name: str, expected: str, others: list[str]) -> RegionRow:
    resource = f"DynamoDB table {name}"
    fix_other = (
        "the table exists in {region} but not in {expected}: set aws.region to {region}, "
        "or create the table in {expected} (and remove the stray one)"
    )
    try:
        desc = make("dynamodb", expected).describe_table(TableName=name)["Table"]
        region = region_from_arn(desc.get("TableArn"))
        if region in LOCAL_REGIONS:
            return RegionRow(resource, "dynamodb", region, "table ARN (local endpoint)", compared=False)
        return RegionRow(
            resource,
            "dynamodb",
            region,
            "table ARN",
            fix=f"the DynamoDB endpoint answers for {region}: check aws.dynamodb_endpoint_url / AWS_ENDPOINT_URL",
        )
    except Exception as exc:
        if not _is_not_found(exc):
            raise
    for region in others:
        try:
            desc = make("dynamodb", region).describe_table(TableName=name)["Table"]
        except Exception as exc:
            if _is_not_found(exc):
                continue
            raise
        arn_region = region_from_arn(desc.get("TableArn")) or region
        return RegionRow(
            resource,
            "dynamodb",
            arn_region,
            f"table ARN; absent from {expected}",
            fix=fix_other.format(region=arn_region, expected=expected),
        )
    return RegionRow(resource, "dynamodb", expected, "absent: will be created in the configured region")


def _bucket_row(make: ClientFactory, bucket: str, expected: str) -> RegionRow:
    resource = f"S3 bucket {bucket}"
    try:
        loc = make("s3", expected).get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except Exception as exc:
        if _is_not_found(exc) or _error_code(exc) == "NoSuchBucket":
            return RegionRow(resource, "s3", None, "bucket not found", compared=False)
        raise
    region = bucket_region(loc)
    return RegionRow(
        resource,
        "s3",
        region,
        "GetBucketLocation",
        fix=f"use a bucket in {expected} for aws.s3_bucket (Glue reads its script from the bucket), "
        f"or set aws.region to {region}",
    )


def _glue_row(make: ClientFactory, what: str, name: str, expected: str, others: list[str]) -> RegionRow:
    resource = f"Glue {what} {name}"
    for region in [expected, *others]:
        client = make("glue", region)
        try:
            if what == "connection":
                client.get_connection(Name=name, HidePassword=True)
            else:
                client.get_job(JobName=name)
        except Exception as exc:
            if _is_not_found(exc):
                continue
            raise
        how = "found with a Glue client of that region"
        if region == expected:
            return RegionRow(resource, f"glue-{what}", region, how)
        fix = (
            f"create the Glue connection in {expected} (its VPC, subnet and security group must be there too), "
            f"or set aws.region to {region}"
            if what == "connection"
            else f"the job exists only in {region}: set aws.region to {region}, or delete it there "
            f"(`aws glue delete-job --job-name {name} --region {region}`)"
        )
        return RegionRow(resource, f"glue-{what}", region, how + f"; absent from {expected}", fix=fix)
    if what == "connection":
        return RegionRow(
            resource,
            "glue-connection",
            None,
            f"not found in {', '.join([expected, *others])}",
            compared=False,
        )
    return RegionRow(resource, "glue-job", expected, "absent: will be created in the configured region")
