"""The Streaming API (CometD) client: aiosfstream-ng, logged in through `SalesforceClient`.

The login reuses the product's OAuth flow, CA bundle and token cache, so the listener and the
REST calls share one session and one configuration. See docs/cdc-protocol.md.
"""

import asyncio
import ssl

from aiosfstream_ng import Client, ReplayMarkerStoragePolicy
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import ReplayParameter

from marketo_sync.salesforce.client import SalesforceClient, ca_bundle_path
from marketo_sync.salesforce.errors import SalesforceError

ALL_CHANGES = "/data/ChangeEvents"


def change_event_channel(object_name: str) -> str:
    return f"/data/{object_name}ChangeEvent"


class SessionAuthenticator(AuthenticatorBase):
    """Hands the CometD client the access token of a `SalesforceClient`; after a 401 (the client
    library calls `authenticate` again) it logs in afresh."""

    def __init__(self, client: SalesforceClient) -> None:
        super().__init__()
        self.client = client

    async def _authenticate(self) -> tuple[int, dict]:
        def login() -> dict:
            if self.access_token is not None:
                self.client.relogin()
            return {
                "access_token": self.client.access_token,
                "instance_url": self.client.instance_url,
                "token_type": "Bearer",
            }

        try:
            return 200, await asyncio.to_thread(login)
        except SalesforceError as exc:
            return 401, {"error": str(exc)}


class StreamingClient(Client):
    """aiosfstream's client on the configured API version, verifying TLS with our CA bundle.

    Replay markers are stored by the caller (`MANUAL`), once the events are safely committed."""

    def __init__(self, client: SalesforceClient, replay: ReplayParameter) -> None:
        super().__init__(
            SessionAuthenticator(client),
            replay=replay,
            replay_storage_policy=ReplayMarkerStoragePolicy.MANUAL,
        )
        self.api_version = client.config.api_version
        self.ssl = ssl.create_default_context(cafile=ca_bundle_path(client.config.ca_bundle))

    def get_cometd_url(self, instance_url: str) -> str:  # type: ignore[override]
        return f"{instance_url}/cometd/{self.api_version}"
