"""What a delivery sends: the body in the webhook's format, and its headers (signed as
GitHub signs: ``X-Orchest-Signature: sha256=<hex HMAC-SHA256 of the raw body>``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Orchest-Signature"
EVENT_HEADER = "X-Orchest-Event"
DELIVERY_HEADER = "X-Orchest-Delivery"
MAX_STEPS_IN_TEXT = 5


def body(format_: str, event: str, delivery_id: str, data: dict[str, Any]) -> str:
    """The request body of one delivery of ``event`` with ``data``."""
    document = {"event": event, "delivery_id": delivery_id, **data}
    if format_ == "slack":
        return json.dumps({"text": text(document)})
    return json.dumps(document)


def signature(secret: str, raw_body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of the raw body with the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def headers(event: str, delivery_id: str, raw_body: bytes, secret: str | None) -> dict[str, str]:
    found = {
        "Content-Type": "application/json",
        "User-Agent": "orchest-ext-webhooks",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        found[SIGNATURE_HEADER] = signature(secret, raw_body)
    return found


def text(document: dict[str, Any]) -> str:
    """One message for chat tools: what happened, to which pipeline, and why it failed."""
    pipeline = document.get("pipeline") or {}
    name = pipeline.get("name") or pipeline.get("path") or "a pipeline"
    event = document["event"]
    if event == "job.paused":
        return f"Job {document.get('job_name') or document.get('job_id')} of {name} was paused."
    if event == "webhook.test":
        return "orchest_ext test notification: this webhook works."
    subject = f"Run {str(document.get('run_id', ''))[:8]} of {name}"
    if document.get("job_id"):
        subject += f" (job {document.get('job_name') or document['job_id']})"
    lines = [f"{subject}: {event} ({document.get('status')})"]
    step = document.get("step")
    if step:
        lines.append(f"Step {step['title']} failed: {step.get('message') or 'no message'}")
    failed = document.get("failed_steps") or []
    for failed_step in failed[:MAX_STEPS_IN_TEXT]:
        lines.append(f"• {failed_step['title']}: {failed_step.get('message') or 'failed'}")
    if len(failed) > MAX_STEPS_IN_TEXT:
        lines.append(f"… and {len(failed) - MAX_STEPS_IN_TEXT} more failed steps")
    return "\n".join(lines)
