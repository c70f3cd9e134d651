"""Two sources that disagree about the region are an error unless --region says which; a region check
that could not run says so (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.config import load_config
from dynamigrate.errors import RegionMismatchError
from dynamigrate.regions import check_regions


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Any:
    for var in ("AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"aws": {"region": "us-west-2"}, "mysql": {"database": "shop"}}))
    return load_config(path, overrides)


def test_environment_against_the_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(tmp_path, monkeypatch)
    assert cfg.aws.region == "eu-west-1" and cfg.origins["aws.region"] == "environment"
    with pytest.raises(RegionMismatchError) as info:
        check_regions(cfg, [], credentials_region="eu-west-1")
    text = str(info.value)
    assert "us-west-2" in text and "eu-west-1" in text and "--region" in text


def test_region_flag_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path, monkeypatch, **{"aws.region": "us-west-2"})
    assert cfg.origins["aws.region"] == "flag"
    report = check_regions(cfg, [], credentials_region="eu-west-1")
    assert report.expected == "us-west-2" and report.ok


class _Unreachable:
    def __getattr__(self, name: str) -> Any:
        def call(**kw: Any) -> Any:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-west-2.amazonaws.com")

        return call


def test_a_check_that_could_not_run_is_not_reported_as_agreement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from dynamigrate.pipeline import RunSummary, _phase_regions, _Phases

    cfg = _config(tmp_path, monkeypatch, **{"aws.region": "us-west-2"})
    monkeypatch.setattr(
        "dynamigrate.regions.default_client_factory", lambda cfg: lambda service, region: _Unreachable()
    )
    monkeypatch.setattr("dynamigrate.regions.credentials_default_region", lambda profile: "us-west-2")
    summary = RunSummary(None, None, "running", "local", "insert")
    phases = _Phases(summary, None, None)
    _phase_regions(cfg, (SimpleNamespace(name="Users"),), "local", phases)  # type: ignore[arg-type]
    detail = str(summary.phases["regions"])
    assert "not verified" in detail and "all in" not in detail
