"""``ZohoEmulator``: the facade tests use (see docs/EMULATOR.md for the contract)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from . import bulk
from .bulk import BulkJobs
from .clock import Clock
from .faults import Faults, Limits, Stats
from .oauth import OAuthServer
from .org import Org
from .paging import PageTokens
from .server import App, make_server


class ZohoEmulator:
    """A Zoho CRM v8 org plus its Accounts server on one 127.0.0.1 port.

    Use as a context manager (``with ZohoEmulator() as zoho:``) or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        profile: str = "demo",
        seed: int = 7,
        *,
        size: dict[str, int] | None = None,
        inventory: bool = True,
        token_ttl: int = 3600,
        user_time_zone: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token_mint_limit: int | None = 10,
        admin: bool = True,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.host = host
        self.port = port
        self.clock = Clock()
        self.org = Org(
            profile=profile,
            seed=seed,
            size=size,
            inventory=inventory,
            user_time_zone=user_time_zone,
            admin=admin,
            clock=self.clock,
        )
        self.faults = Faults()
        self.stats = Stats()
        self.limits = Limits(self.faults)
        self.page_tokens = PageTokens()
        self.bulk_jobs = BulkJobs()
        self.bulk_polls_to_complete = 2
        #: Records one Bulk Read job exports (Zoho: 200,000). Not a fault: a limit tests lower
        #: to meet chunking without generating 200,000 records.
        self.bulk_records_per_job = bulk.PER_JOB
        #: How long a job and its result stay available (Zoho: likely 24 h, spec section 15).
        self.bulk_retention_s = bulk.RETENTION_S
        self.oauth = OAuthServer(
            self.clock, seed, self.org.api_user_id, token_ttl, token_mint_limit
        )
        self._app = App(self)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> ZohoEmulator:
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self._app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"zoho-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.closing = True
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ZohoEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- connection details ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started; use `with ZohoEmulator() as zoho`")
        return f"http://{self.host}:{self.port}"

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def refresh_token(self) -> str:
        return self.oauth.refresh_token

    @property
    def token_ttl(self) -> int:
        return self.oauth.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: int) -> None:
        self.oauth.token_ttl = seconds

    @property
    def token_mint_limit(self) -> int | None:
        return self.oauth.mint_limit

    @token_mint_limit.setter
    def token_mint_limit(self, value: int | None) -> None:
        self.oauth.mint_limit = value

    @property
    def auto_consent(self) -> bool:
        return self.oauth.auto_consent

    @auto_consent.setter
    def auto_consent(self, value: bool) -> None:
        self.oauth.auto_consent = value

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "base_url": self.base_url,
        }
        config.update(overrides)
        return config

    def access_token(self) -> str:
        """A fresh access token for the default refresh token, outside the mint throttle."""
        return self.oauth.mint(self.refresh_token, count=False)

    def self_client_code(self, scope: str | None = None, ttl: float = 180) -> str:
        """A grant code as the API console's Self Client "Generate Code" hands it out."""
        if scope is None:
            return self.oauth.self_client_code(ttl=ttl)
        return self.oauth.self_client_code(scope, ttl)

    def issue_refresh_token(self, user_id: str | None = None, scope: str | None = None) -> str:
        """A new refresh token for another user or with fewer scopes.

        Page tokens are bound to the user; routes outside the scopes answer 401
        ``OAUTH_SCOPE_MISMATCH``.
        """
        uid = user_id or self.org.api_user_id
        if uid not in self.org.users:
            raise KeyError(f"no user {uid}")
        if scope is None:
            return self.oauth.issue_refresh_token(uid)
        return self.oauth.issue_refresh_token(uid, scope)

    def revoke_refresh_token(self, token: str | None = None) -> None:
        self.oauth.revoke(token or self.refresh_token)

    @property
    def api_user_id(self) -> str:
        return self.org.api_user_id

    def user_ids(self) -> list[str]:
        return list(self.org.users)

    # -- ground truth ---------------------------------------------------------------------
    def module_names(self, readable_only: bool = True) -> list[str]:
        with self.org.lock:
            return self.org.module_names(readable_only)

    def all_modules(self) -> list[dict[str, Any]]:
        with self.org.lock:
            return self.org.modules_json()

    def fields(self, module: str) -> list[dict[str, Any]]:
        with self.org.lock:
            return self.org.fields_json(module)

    def count(self, module: str) -> int:
        return self.org.count(module)

    def record_ids(self, module: str) -> set[str]:
        return self.org.record_ids(module)

    def get_record(self, module: str, record_id: str) -> dict[str, Any]:
        return self.org.get_record(module, str(record_id))

    def iter_records(self, module: str) -> Iterator[dict[str, Any]]:
        return self.org.iter_records(module)

    def deleted_records(self, module: str) -> list[dict[str, Any]]:
        return self.org.deleted_records(module)

    def campaign_members(self, campaign_id: str, module: str) -> dict[str, str]:
        return self.org.campaign_members(str(campaign_id), module)

    def contact_roles(self, deal_id: str) -> dict[str, str]:
        return self.org.contact_roles(str(deal_id))

    def role_ids(self) -> set[str]:
        return set(self.org.roles)

    def profile_ids(self) -> set[str]:
        return set(self.org.profiles)

    def org_id(self) -> str:
        return str(self.org.org_info["id"])

    def attachment_modules(self) -> list[str]:
        """Readable modules whose records have an Attachments related list."""
        readable = set(self.module_names())
        with self.org.lock:
            return [n for n, m in self.org.modules.items() if m.attachments and n in readable]

    def attachments(self, module: str) -> list[dict[str, Any]]:
        """Every attachment of every live record of ``module``, as its related list serves it."""
        out: list[dict[str, Any]] = []
        for record_id in sorted(self.record_ids(module)):
            found = self.org.find(module, record_id)
            if found is not None:
                out.extend(self.org.attachments_for(*found))
        return out

    def issued_access_tokens(self) -> list[str]:
        """Every access token minted so far (tests check none of them leaks into output)."""
        return list(self.oauth.access_tokens)

    def calls_in_flight(self) -> int:
        """CRM calls being served right now (tests sample it to check client concurrency)."""
        return self.limits.in_flight

    # -- mutations ------------------------------------------------------------------------
    def create_record(self, module: str, values: dict[str, Any] | None = None) -> str:
        return self.org.create_record(module, values)

    def add_attachment(self, module: str, record_id: str, file_name: str) -> str:
        """Upload a file to a record; returns the attachment's id."""
        return self.org.add_attachment(module, record_id, file_name)

    def update_record(
        self,
        module: str,
        record_id: str,
        values: dict[str, Any] | None = None,
        *,
        visible_late_by: int = 0,
    ) -> None:
        self.org.update_records(module, [str(record_id)], values, visible_late_by=visible_late_by)

    def update_records(
        self, module: str, record_ids: list[str], values: dict[str, Any] | None = None
    ) -> None:
        self.org.update_records(module, [str(r) for r in record_ids], values)

    def delete_record(self, module: str, record_id: str, permanent: bool = False) -> None:
        self.org.delete_record(module, str(record_id), permanent)

    def add_field(self, module: str, api_name: str, data_type: str, **meta: Any) -> None:
        self.org.add_field(module, api_name, data_type, **meta)

    def add_module(self, api_name: str, *, generated_type: str = "custom", count: int = 0) -> None:
        self.org.add_module(api_name, generated_type=generated_type, count=count)

    def add_member(self, campaign_id: str, module: str, member_id: str, status: str) -> None:
        self.org.add_member(str(campaign_id), module, str(member_id), status)
        self._relation_changed("Campaigns", campaign_id, module, member_id)

    def set_member_status(self, campaign_id: str, module: str, member_id: str, status: str) -> None:
        self.org.set_member_status(str(campaign_id), module, str(member_id), status)
        self._relation_changed("Campaigns", campaign_id, module, member_id)

    def remove_member(self, campaign_id: str, module: str, member_id: str) -> None:
        self.org.remove_member(str(campaign_id), module, str(member_id))
        self._relation_changed("Campaigns", campaign_id, module, member_id)

    def set_contact_role(self, deal_id: str, contact_id: str, role: str) -> None:
        self.org.set_contact_role(str(deal_id), str(contact_id), role)
        self._relation_changed("Deals", deal_id, "Contacts", contact_id)

    def remove_contact_role(self, deal_id: str, contact_id: str) -> None:
        self.org.remove_contact_role(str(deal_id), str(contact_id))
        self._relation_changed("Deals", deal_id, "Contacts", contact_id)

    def _relation_changed(
        self, parent_module: str, parent_id: str, member_module: str, member_id: str
    ) -> None:
        """Stamp Modified_Time on the parent and/or the member, as the readings switched on say.

        Zoho does not document whether a membership or contact-role change touches either record
        (docs/junctions.md); by default neither is touched, the least forgiving reading.
        """
        touched = []
        if self.faults.relation_change_touches_parent:
            touched.append((parent_module, str(parent_id)))
        if self.faults.relation_change_touches_member:
            touched.append((member_module, str(member_id)))
        for module, record_id in touched:
            if self.org.find(module, record_id) is not None:
                self.org.update_records(module, [record_id])
