"""Notifications outside JupyterLab: webhooks, their durable outbox and its delivery."""

from .delivery import WebhookDelivery
from .notifier import ConfiguredWebhook, EventData, Notifier
from .webhooks import EVENTS, FORMATS, TEST_EVENT, WebhookList, WebhookRequestError

__all__ = [
    "EVENTS",
    "FORMATS",
    "TEST_EVENT",
    "ConfiguredWebhook",
    "EventData",
    "Notifier",
    "WebhookDelivery",
    "WebhookList",
    "WebhookRequestError",
]
