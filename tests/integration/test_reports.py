"""Reports after a run: report.json figures, report.md sections, report.html rendered by headless
Chromium (screenshot not blank, chart elements in the DOM), and `dynamigrate status`."""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from _migrated_library import N_AUTHORS, N_BOOKS, add_orphan_book, create_source, make_config, run_migrate

from dynamigrate.cli import main
from dynamigrate.contract.load import load_contract
from dynamigrate.report import write_reports
from dynamigrate.runstate import RunDir
from dynamigrate.validate.post import validate_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WRITTEN = N_AUTHORS + N_BOOKS  # and one rejected orphan book


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary (installed by scripts/ensure-chromium.sh when missing)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-chromium.sh")], capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _chromium_args(binary: str, profile: Path) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ]


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the decoded rows (8-bit RGB/RGBA) of a PNG, to tell a blank page from a page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8, "8-bit PNG expected"
            bpp = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@pytest.fixture
def finished_run(
    tmp_path: Path,
    mysql_settings: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
) -> dict[str, Any]:
    """A real migration (one row rejected), then the application deletes one migrated item and a later
    ``validate --full`` finds it: every report shows the validation beside the run's own outcome."""
    name = f"{ddb_prefix}Library"
    create_source(mysql_conn)
    add_orphan_book(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, name)
    summary = run_migrate(cfg, accept=("key_missing",), progress_interval=0.01, chunk_rows=5)
    assert summary.validation is not None and summary.validation.passed
    run = RunDir.open(summary.run_dir)
    run.update_meta(
        config=cfg.raw
    )  # unmasked, as a careless caller would: the reports must mask it themselves
    ddb_client.delete_item(TableName=name, Key={"PK": {"S": "AUTHOR#3"}, "SK": {"S": "#META"}})
    contract = load_contract(cfg.migration.contract_file)
    validation = validate_run(cfg, contract, run, mode="full", gsi_sample=100, origin="validate")
    paths = write_reports(run, validation)
    return {"run": run, "paths": paths, "name": name, "cfg": cfg, "summary": summary}


def test_report_json_figures(finished_run: dict[str, Any]) -> None:
    paths, name, run = finished_run["paths"], finished_run["name"], finished_run["run"]
    summary = finished_run["summary"]
    assert set(paths) == {"json", "markdown", "html"} and all(p.exists() for p in paths.values())
    doc = json.loads(paths["json"].read_text())
    assert doc["schema"] == "dynamigrate.report/1" and doc["run_id"] == run.run_id
    assert doc["engine"] == "local" and doc["write_mode"] == "insert"
    assert doc["config"]["mysql"]["password"] == "***"  # secrets masked
    # the run's own outcome and times stay; the later validation is reported beside them
    assert doc["outcome"] == "succeeded with warnings"  # the rejected row
    assert doc["finished_at"] == summary.finished
    v = doc["validation"]
    assert (v["status"], v["passed"], v["origin"], v["basis"]) == ("failed", False, "validate", "every item")
    assert v["score"] == pytest.approx((WRITTEN - 1) / WRITTEN)
    assert v["headline"] == f"FAILED, integrity {(WRITTEN - 1) / WRITTEN:.2%} (every item)"
    (t,) = doc["tables"]
    assert t["name"] == name
    assert (t["source_rows"], t["written"], t["skipped"], t["rejected"]) == (WRITTEN + 1, WRITTEN, 0, 1)
    assert t["rejected_by_reason"] == {"null_key": 1}
    assert t["retries"] == 0 and t["duration_seconds"] > 0
    assert t["throughput_items_per_second"] == pytest.approx(WRITTEN / t["duration_seconds"], rel=0.01)
    assert t["throughput_series"] and t["peak_items_per_second"] > 0
    size = t["item_size"]
    assert size["estimated_bytes"] == 120 and size["largest_bytes"] >= size["average_bytes"] > 0
    assert t["access_patterns"] == ["get an author", "list an author's books", "authors by country"]
    tv = t["validation"]
    assert (tv["expected"], tv["ddb_count"], tv["missing"], tv["extra"], tv["mismatched"]) == (
        WRITTEN,
        WRITTEN - 1,
        1,
        0,
        0,
    )
    assert (tv["status"], tv["basis"], tv["source_rows"]) == ("failed", "every item", WRITTEN + 1)
    ents = {e["entity"]: e for e in t["entities"]}
    assert ents["AUTHOR"]["missing"] == 1 and ents["AUTHOR"]["source_rows"] == N_AUTHORS
    assert ents["BOOK"]["rejected"] == 1 and ents["BOOK"]["rejected_by_reason"] == {"null_key": 1}
    assert doc["totals"]["written"] == WRITTEN and doc["totals"]["rejected"] == 1
    titles = [p["title"] for p in doc["problems"]]
    assert "1 item(s) missing in DynamoDB" in titles and "1 row(s) rejected: null_key" in titles
    missing = next(p for p in doc["problems"] if p["title"] == "1 item(s) missing in DynamoDB")
    assert missing["from"] == "validation" and "AUTHOR#3" in missing["detail"]
    rejected = next(p for p in doc["problems"] if p["title"].startswith("1 row(s) rejected"))
    assert rejected["guidance"] == "ddb-empty-key" and rejected["fix"]
    assert any("cleanup" in s for s in doc["next_steps"])
    assert doc["manifest"]["views"] == 1


def test_report_markdown_sections(finished_run: dict[str, Any]) -> None:
    md = finished_run["paths"]["markdown"].read_text()
    order = [md.index(h) for h in ("## Summary", "## Tables", "## Problems and what to do", "## Next steps")]
    assert order == sorted(order)
    assert "Outcome: ⚠️ SUCCEEDED WITH WARNINGS" in md
    score = f"{(WRITTEN - 1) / WRITTEN:.2%}"
    assert f"Validation: **FAILED, integrity {score} (every item)**" in md
    assert "validated later with `dynamigrate validate`" in md
    assert "missing in DynamoDB" in md and "What to do:" in md and "dynamigrate cleanup" in md
    assert "get an author" in md


def test_report_html_renders_in_chromium(finished_run: dict[str, Any], chromium: str, tmp_path: Path) -> None:
    html_path = finished_run["paths"]["html"]
    text = html_path.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "<script" not in text
    dom = subprocess.run(
        [*_chromium_args(chromium, tmp_path / "p1"), "--dump-dom", html_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    out = dom.stdout
    for needle in ('id="chart-counts"', 'id="chart-throughput"', 'id="chart-rejected"'):
        assert needle in out
    assert out.count('class="bar bar-source"') == 1 and out.count('class="bar bar-target"') == 1
    assert 'class="series"' in out and 'data-reason="null_key"' in out
    png = tmp_path / "report.png"
    shot = subprocess.run(
        [
            *_chromium_args(chromium, tmp_path / "p2"),
            f"--screenshot={png}",
            "--window-size=1280,2000",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    width, height, rows = _png_pixels(png)
    assert (width, height) == (1280, 2000)
    # not blank: the page has many colours, and a fair share of pixels differ from the background
    bpp = len(rows[0]) // width
    pixels = [r[i : i + 3] for r in rows[::10] for i in range(0, len(r), bpp * 5)]
    colours: dict[bytes, int] = {}
    for px in pixels:
        colours[px] = colours.get(px, 0) + 1
    background = max(colours, key=lambda c: colours[c])
    assert len(colours) > 30
    assert sum(n for c, n in colours.items() if c != background) > 0.2 * len(pixels)


def test_status_shows_progress_and_outcome(finished_run: dict[str, Any], capsys: Any) -> None:
    run, cfg = finished_run["run"], finished_run["cfg"]
    out_dir = cfg.migration.output_dir
    assert main(["status", "--output-dir", out_dir]) == 0  # only one run: shown
    text = capsys.readouterr().out
    assert (
        run.run_id in text
        and f"written {WRITTEN}" in text
        and "validation (full): FAILED, integrity" in text
        and "(every item)" in text
    )
    assert "report.html" in text
    newer = RunDir.create(out_dir)  # a second run: shown by default, both with --list
    assert main(["status", "--output-dir", out_dir]) == 0
    assert capsys.readouterr().out.startswith(f"run {newer.run_id} ")
    assert main(["status", "--list", "--output-dir", out_dir]) == 0
    listing = capsys.readouterr().out
    assert "2 run(s)" in listing and run.run_id in listing and newer.run_id in listing
    assert main(["status", run.run_id, "--output-dir", out_dir, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (t,) = doc["tables"]
    assert (t["written"], t["rejected"], t["progress"]) == (WRITTEN, 1, 1.0)
    assert doc["validation"]["passed"] is False
    # `dynamigrate report RUN` rewrites the three reports from the run directory alone
    (run.path / "report.html").unlink()
    assert main(["report", run.run_id, "--output-dir", out_dir]) == 0
    assert "report.html" in capsys.readouterr().out and (run.path / "report.html").exists()
    again = json.loads((run.path / "report.json").read_text())
    assert again["validation"]["passed"] is False and again["tables"][0]["written"] == WRITTEN
