"""WebSub: the service is the hub of its own feeds, so that subscribers get new content pushed
instead of polling. Entry points: `handle_request` (a subscriber's POST /hub), `tick` (the
scheduler's job: verification of intent, then deliveries), `announce_changes` (a committed
change of a feed; wired once to the store's change stream in runtime.py).

- protocol.py: requests, topics, callbacks (untrusted URLs), verification of intent.
- delivery.py: the delivery queue, signed POSTs, retries with back-off.
Never imports web/: a delivery's feed document comes from render/publish.py.
"""

from .delivery import (
    FIRST_RETRY_SECONDS,
    MAX_ATTEMPTS,
    RETRY_CEILING_SECONDS,
    Delivery,
    announce_changes,
    deliver_due,
    hub_url,
    retry_delay,
    signature,
    tick,
)
from .protocol import (
    MIN_LEASE_SECONDS,
    CallbackRefused,
    HubPolicy,
    Verification,
    check_callback,
    handle_request,
    origin,
    parse_networks,
    parse_request,
    parse_topic,
    verify_pending,
)

__all__ = ["FIRST_RETRY_SECONDS", "MAX_ATTEMPTS", "MIN_LEASE_SECONDS", "RETRY_CEILING_SECONDS",
           "CallbackRefused", "Delivery", "HubPolicy", "Verification", "announce_changes",
           "check_callback", "deliver_due", "handle_request", "hub_url", "origin",
           "parse_networks", "parse_request", "parse_topic", "retry_delay", "signature", "tick",
           "verify_pending"]
