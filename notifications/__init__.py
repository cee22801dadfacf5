"""Notifications that need no Prefect server: what is said (``Notice``), and the e-mail and webhook that say it."""

from notifications.errors import NotifyError, translate_error
from notifications.messages import (ANSWERED_BY_MAIL, Channel, Notice, NoticeKind, NoticeRecord, NoticeStatus,
                                    case_assigned_key, clip_error, customer_request_key, digest_key,
                                    high_severity_key, webhook_text)
from notifications.smtp import SmtpNotifier
from notifications.webhook import WebhookNotifier

__all__ = ["ANSWERED_BY_MAIL", "Channel", "Notice", "NoticeKind", "NoticeRecord", "NoticeStatus", "NotifyError", "SmtpNotifier",
           "WebhookNotifier", "case_assigned_key", "clip_error", "customer_request_key", "digest_key", "high_severity_key", "translate_error",
           "webhook_text"]
