"""The webhook receiver (``closeout webhooks``): verify the signature, answer at once, pull the named job after.

``POST /webhooks/{company}/{source}`` where ``source`` is a configured source's name. Jobber signs with
``X-Jobber-Hmac-SHA256`` = Base64(HMAC-SHA256(the app's client secret, raw body)) and expects an answer
within one second; its payload names only the item (``data.webHookEvent.itemId``), so the job is
re-fetched by id. A bad or missing signature gets 401 and nothing is stored, logged with the body, or
pulled. A good one gets 202 at once and the job is pulled in the background (FastAPI background task,
after the response is sent) through the same landing and mapping as a scheduled run: as a run of the
Prefect deployment ``closeout-pull-job/webhooks`` when a Prefect API is configured, directly otherwise. Deliveries are
at-least-once; a repeated one re-lands identical content, which landing ignores.

Housecall Pro signs with ``Api-Signature`` = hex HMAC-SHA256(the webhook secret, ``Api-Timestamp + "." +
body``); its ``job.*`` events carry the job, which is pulled by id because line items are a separate call.

Jobber topics that name a job (``JOB_CREATE``, ``JOB_UPDATE``, ``JOB_CLOSED``, ``JOB_DESTROY``) trigger a pull
(a job the source no longer has is recorded as deleted: ``services.intake.pull_job``); others are
acknowledged and ignored (visit and timesheet changes reach us when the job's next update does).

Replays: signatures are compared in constant time, and a signed delivery is only good for ``REPLAY_WINDOW``
seconds around its own time (Housecall Pro's ``Api-Timestamp``; Jobber's signed ``occurredAt``). Older or
future-dated ones get 401. Within the window each delivery (a digest of what its signature covers: Jobber's
body, Housecall Pro's timestamp and body; never an unsigned header) is remembered,
so the same one sent again is acknowledged (200, ``accepted: false``) without a second pull. The memory is
the store's ``webhook_deliveries`` table: two receiver processes, or one restarted, share it. A genuine
delivery that arrives later than the window is lost to the webhook but not to Closeout: the scheduled pull
picks the job up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse

from connectors import housecallpro, jobber

from services.config import CompanyConfig, ConfigError, HousecallProSourceConfig, JobberSourceConfig, SourceConfig
from closeout.credentials.lookup import read_secret
from closeout.orchestration.prefect_api import prefect_api_configured
from services.intake import pull_job
from closeout.wiring import App
from exceptions_queue.web.bodies import RequestBodyError, read_body

log = logging.getLogger("closeout.webhooks")
Puller = Callable[[CompanyConfig, SourceConfig, str], None]
REPLAY_WINDOW = 300.0
"""Seconds a signed delivery stays good either side of its own timestamp (Stripe and Slack use 5 minutes)."""
MAX_WEBHOOK_BYTES = 1_000_000
"""A job event is a few hundred bytes; a body over this is refused with 413 before it is read whole."""


class DeliveryMemory:
    """Digests of the deliveries accepted lately (kept twice ``window``), in the store: the same one twice is a
    replay, whichever receiver process got the first, and after a restart too."""

    def __init__(self, store: Any, window: float) -> None:
        self.window = window
        self._store = store

    def first_time(self, key: str) -> bool:
        with self._store.unit_of_work() as uow:
            first = uow.webhook_deliveries.first_time(key, keep_for=timedelta(seconds=2 * self.window))
            uow.commit()
        return first


def build_webhook_app(app: App, *, pull: Puller | None = None, config_path: str | None = None,
                      clock: Callable[[], float] = time.time, window: float = REPLAY_WINDOW) -> FastAPI:
    """The receiver over an open ``App``; ``pull`` runs after the answer. ``clock`` gives Unix seconds.

    By default the pull is a run of the ``closeout-pull-job/webhooks`` deployment when a Prefect API is
    configured (``PREFECT_API_URL`` or the profile, ``prefect_api_configured``), so it is visible and retried on the dashboard; otherwise, or when the
    deployment cannot be started, ``pull_job`` runs directly in this process.
    """
    api = FastAPI(title="Closeout webhooks", docs_url=None, redoc_url=None)

    def default_pull(company: CompanyConfig, source: SourceConfig, job_id: str) -> None:
        if prefect_api_configured() and _start_deployment_run(company, source, job_id, config_path):
            return
        _pull_logged(app, company, source, job_id)

    puller = pull or default_pull
    delivered = DeliveryMemory(app.store, window)

    @api.post("/webhooks/{company_id}/{source_name}")
    async def receive(company_id: str, source_name: str, request: Request, tasks: BackgroundTasks) -> JSONResponse:
        found = _source(app, company_id, source_name)
        if found is None:
            return JSONResponse({"error": "no such company and source"}, status_code=404)
        company, source = found
        try:  # before anything is verified: an unsigned stranger's body costs at most the limit
            body = await read_body(request, limit=MAX_WEBHOOK_BYTES)
        except RequestBodyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if isinstance(source, JobberSourceConfig):
            secret_kind, system = "client-secret", jobber
        elif isinstance(source, HousecallProSourceConfig):
            secret_kind, system = "webhook-secret", housecallpro
        else:
            return JSONResponse({"error": f"{source.kind} sources take no webhooks"}, status_code=404)
        try:
            secret = read_secret(f"{source.name}-{secret_kind}", company.id, system=source.kind)
        except Exception:  # noqa: BLE001 - a receiver without its secret must refuse, never accept unverified
            log.error("webhook for %s/%s refused: the %s is not configured", company.id, source.name, secret_kind)
            return JSONResponse({"error": "receiver not configured"}, status_code=503)
        if not system.webhook_is_valid(secret, body, request.headers):
            log.warning("webhook for %s/%s refused: bad signature", company.id, source.name)
            return JSONResponse({"error": "bad signature"}, status_code=401)
        now, stamp = clock(), system.webhook_sent_at(body, request.headers)
        if stamp is None or abs(now - stamp) > window:
            log.warning("webhook for %s/%s refused: its time is outside the %ss replay window", company.id,
                        source.name, int(window))
            return JSONResponse({"error": "delivery too old or from the future"}, status_code=401)
        # keyed on what the signature covers only: an unsigned header varied by a replayer names no new delivery
        delivery = hashlib.sha256(f"{company.id}/{source.name}".encode() + b"\0" +
                                  system.webhook_signed_content(body, request.headers)).hexdigest()
        if not delivered.first_time(delivery):
            log.info("webhook for %s/%s: the same delivery again, acknowledged without a pull", company.id,
                     source.name)
            return JSONResponse({"accepted": False, "reason": "already received"}, status_code=200)
        try:
            topic, item = system.webhook_item(json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return JSONResponse({"error": "not a webhook event Closeout knows"}, status_code=400)
        if item is None:
            return JSONResponse({"accepted": False, "topic": topic, "reason": "topic not pulled"}, status_code=200)
        tasks.add_task(puller, company, source, item)
        return JSONResponse({"accepted": True, "topic": topic, "job": item}, status_code=202)

    return api


def _source(app: App, company_id: str, source_name: str) -> tuple[CompanyConfig, SourceConfig] | None:
    try:
        company = app.config.company(company_id)
    except ConfigError:
        return None
    source = next((s for s in company.sources if s.name == source_name), None)
    return (company, source) if source is not None else None


def _start_deployment_run(company: CompanyConfig, source: SourceConfig, job_id: str, config_path: str | None) -> bool:
    """Ask Prefect for a run of the pull-job deployment (without waiting for it); False when that fails."""
    try:
        from prefect.deployments import run_deployment

        from closeout.orchestration.deployments import PULL_JOB_DEPLOYMENT as DEPLOYMENT

        run = run_deployment(DEPLOYMENT, timeout=0, parameters={
            "company_id": company.id, "source_name": source.name, "job_id": job_id, "config_path": config_path})
        log.info("webhook pull of %s job %s: Prefect flow run %s", source.name, job_id, run.id)
        return True
    except Exception as exc:  # noqa: BLE001 - no Prefect, no deployment: pull here instead, nothing is lost
        log.warning("could not start %s (%s); pulling %s job %s directly", "closeout-pull-job", exc, source.name, job_id)
        return False


def _pull_logged(app: App, company: CompanyConfig, source: SourceConfig, job_id: str) -> None:
    """Pull one job; a failure is logged (the next scheduled run picks the job up), never raised at Jobber."""
    try:
        counts = pull_job(app, company, source, job_id)
        log.info("webhook pull of %s job %s: %s changed", source.name, job_id, counts.changed)
    except Exception as exc:  # noqa: BLE001 - the answer is already sent; the scheduled pull is the safety net
        log.error("webhook pull of %s job %s failed: %s", source.name, job_id, exc)
