"""Cut-over readiness: replication caught up (lag under a threshold), then a validation; go / no-go."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.replicate.position import head, read_checkpoint
from dynamigrate.runstate import RunDir


@dataclass
class Readiness:
    run_id: str
    head: str | None
    checkpoint: str | None
    pending_changes: int | None
    lag_seconds: float | None
    max_lag: float
    validation: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "go": self.go,
            "head": self.head,
            "checkpoint": self.checkpoint,
            "pending_changes": self.pending_changes,
            "lag_seconds": self.lag_seconds,
            "max_lag_seconds": self.max_lag,
            "validation": self.validation,
            "reasons": self.reasons,
        }

    def render_text(self) -> str:
        lag = "-" if self.lag_seconds is None else f"{self.lag_seconds:.1f} s"
        behind = (
            "-" if self.pending_changes is None else f"{self.pending_changes} row changes not applied yet"
        )
        lines = [
            f"cut-over {'GO' if self.go else 'NO-GO'} for run {self.run_id}",
            f"  replication: checkpoint {self.checkpoint or '-'}, binlog head {self.head or '-'}, "
            f"{behind}, lag {lag} (threshold {self.max_lag:g} s)",
        ]
        v = self.validation
        if v:
            score = v.get("score")
            lines.append(
                f"  validation ({v.get('mode')}, {v.get('basis')}): {v.get('verdict')}"
                + (f", score {score:.4f}" if isinstance(score, int | float) else "")
            )
        for r in self.reasons:
            lines.append(f"  no-go: {r}")
        return "\n".join(lines)


def readiness(
    cfg: Config,
    contract: Contract,
    tables: tuple[Table, ...],
    run: RunDir,
    *,
    max_lag: float = 5.0,
    sample: int = 1000,
    conn: Any = None,
    client: Any = None,
) -> Readiness:
    from dynamigrate.source.connect import connect

    own = conn is None
    conn = conn or connect(cfg.mysql, cfg.mysql.database)
    try:
        top = head(conn)
    finally:
        if own:
            conn.close()
    cp = read_checkpoint(run)
    pending: int | None = None
    lag: float | None = None
    if cp is not None and top is not None:
        from dynamigrate.replicate.affected import dependencies
        from dynamigrate.replicate.stream import pending_changes

        pending, first_ts = pending_changes(cfg, dependencies(contract, tables).tables(), cp, top)
        lag = 0.0 if not pending else max(0.0, time.time() - (first_ts or time.time()))
    out = Readiness(
        run_id=run.run_id,
        head=str(top) if top else None,
        checkpoint=str(cp) if cp else None,
        pending_changes=pending,
        lag_seconds=None if lag is None else round(lag, 1),
        max_lag=max_lag,
    )
    if cp is None:
        out.reasons.append("replicate never checkpointed for this run: run `dynamigrate replicate` first")
    elif lag is None or lag > max_lag:
        out.reasons.append(
            f"replication lag {'unknown' if lag is None else f'{lag:.1f} s'} over {max_lag:g} s: let "
            "`dynamigrate replicate` catch up (or run it with --stop-at-head after the application stopped writing)"
        )
    from dynamigrate.validate.post import validate_run

    # with the run: its rejected rows (accepted knowingly) are expected absent; without it every
    # rejected row counted as a missing item and any such migration was NO-GO forever
    report = validate_run(
        cfg, contract, run, list(tables), mode="sample", sample=sample, client=client, origin="cutover"
    )
    out.validation = {
        k: v
        for k, v in report.to_dict().items()
        if k in ("mode", "sample", "basis", "status", "verdict", "score", "headline")
    }
    out.validation["tables"] = {t.table: t.status for t in report.tables}
    if report.status != "passed":
        out.reasons.append(f"validation {report.verdict}: {report.headline()}")
    return out
