"""``closeout doctor``: can every configured source be reached and authenticated? Say exactly what is wrong if not."""

from __future__ import annotations

from dataclasses import dataclass

from services.config import CsvSourceConfig, MissingSecretError
from services.runtime import Runtime
from connectors.errors import ConnectorError


@dataclass(frozen=True)
class SourceCheck:
    company: str
    source: str
    kind: str
    ok: bool
    detail: str


def check_sources(app: Runtime) -> list[SourceCheck]:
    """One check per configured source; a failure never stops the others. Read-only toward every source."""
    results = []
    for company in app.companies():
        for source in company.sources:
            try:
                ok, detail = True, _check(app, company, source)
            except MissingSecretError as exc:
                ok, detail = False, str(exc)
            except ConnectorError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results.append(SourceCheck(company.id, source.name, source.kind, ok, detail))
    return results


def _check(app: Runtime, company, source) -> str:
    if isinstance(source, CsvSourceConfig):
        if not source.path.is_dir():
            raise ConnectorError(f"the drop folder {source.path} does not exist", system="csv")
        return f"drop folder {source.path} ({len(list(source.path.glob('*.csv')))} CSV files)"
    return app.api_source_for(source, company).check()
