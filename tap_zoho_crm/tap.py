"""TapZohoCrm: config schema, and streams from the API (discovery) or from ``--catalog``."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import PurePath
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import Catalog, SelectionMask

from tap_zoho_crm import gc_tuning
from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.client.usage import DEFAULT_PROGRESS_INTERVAL, ProgressTicker
from tap_zoho_crm.config import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_BULK_READ_MIN_RECORDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TOKEN_THROTTLE_WAIT,
    REGIONS,
    ZohoSettings,
    apply_aliases,
)
from tap_zoho_crm.discovery import (
    Discovery,
    StreamDefinition,
    catalog_is_self_describing,
    definitions_from_catalog,
)
from tap_zoho_crm.masking import mask_secrets
from tap_zoho_crm.output import ZohoMessageWriter
from tap_zoho_crm.reading.readahead import ReadAhead
from tap_zoho_crm.run_outcome import RunOutcome
from tap_zoho_crm.streams import STREAM_KINDS, ZohoStream
from tap_zoho_crm.streams.deleted import with_tombstone_column

try:
    VERSION = metadata.version("tap-zoho-crm")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0.0.0"

#: How long the end of a run waits for reads still running ahead to stop (each stops after the
#: call it has in flight), so that the report counts every call.
READERS_STOP_WAIT_S = 30.0

#: Streams read at once by default, per call the run may have in flight, and at most
#: (``streams_in_flight``). Twice the calls: small streams (a call or two each) then start
#: together with the first big one instead of after it. Each read's queue holds about 1,000
#: records (reading/readahead.py), so memory grows with the streams in flight, not with
#: their records.
STREAMS_PER_SLOT = 2
MAX_STREAMS_IN_FLIGHT = 25


def _selected_schema(schema: Mapping[str, Any], mask: SelectionMask) -> dict[str, Any]:
    """A copy of ``schema`` without deselected properties (annotations kept)."""
    out = copy.deepcopy(dict(schema))

    def prune(node: dict[str, Any], crumb: tuple[str, ...]) -> None:
        for name in list(node.get("properties", {})):
            child = (*crumb, "properties", name)
            if not mask[child]:
                del node["properties"][name]
            elif isinstance(node["properties"][name], dict):
                prune(node["properties"][name], child)

    prune(out, ())
    return out


def _raw_catalog(catalog: Any) -> dict[str, Any] | None:
    """The input catalog as a plain dict, before the SDK's Schema objects strip our annotations."""
    if catalog is None:
        return None
    if isinstance(catalog, Catalog):
        return catalog.to_dict()
    if isinstance(catalog, Mapping):
        return copy.deepcopy(dict(catalog))
    if isinstance(catalog, str | PurePath):
        with open(catalog, encoding="utf-8") as handle:
            loaded = json.load(handle)
        return loaded if isinstance(loaded, dict) else None
    return None


class TapZohoCrm(Tap):
    """Singer tap for Zoho CRM (API v8): every module, custom ones included, incrementally."""

    name = "tap-zoho-crm"
    package_name = "tap-zoho-crm"
    dynamic_catalog = True
    #: msgspec encoding, stdout flushed once per STATE (see tap_zoho_crm/output.py).
    message_writer_class = ZohoMessageWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            description="OAuth client id from the Zoho API console (Self Client or server app).",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            description="OAuth client secret. Alias: `client_value_tmp`.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            required=True,
            secret=True,
            description=(
                "OAuth refresh token (offline access) with ZohoCRM.modules.READ, "
                "ZohoCRM.settings.READ, ZohoCRM.users.READ and ZohoCRM.org.READ scopes. "
                "Alias: `refresh_value_tmp`."
            ),
        ),
        th.Property(
            "client_value_tmp",
            th.StringType,
            secret=True,
            description="Alias of `client_secret` (the Databricks connector's option name).",
        ),
        th.Property(
            "refresh_value_tmp",
            th.StringType,
            secret=True,
            description="Alias of `refresh_token` (the Databricks connector's option name).",
        ),
        th.Property(
            "base_url",
            th.URIType,
            description=(
                "Zoho Accounts URL of your data centre, e.g. https://accounts.zoho.eu, "
                "https://accounts.zohocloud.ca. Must be https (http only for loopback). "
                f"Default {DEFAULT_ACCOUNTS_URL}, or the one `region` names."
            ),
        ),
        th.Property(
            "region",
            th.StringType,
            allowed_values=list(REGIONS),
            description=(
                "Data centre by name, instead of `base_url`: " + ", ".join(REGIONS) + ". "
                "Setting both to different data centres is an error."
            ),
        ),
        th.Property(
            "api_url",
            th.URIType,
            description=(
                "Override of the CRM API domain (e.g. https://www.zohoapis.eu). By default the "
                "token response's `api_domain` is used."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description=(
                "Earliest Modified_Time to read on the first sync (ISO 8601, e.g. "
                "2024-01-01T00:00:00Z). Omit to read all history. "
                "Alias: `initial_load_start_date`."
            ),
        ),
        th.Property(
            "initial_load_start_date",
            th.DateTimeType,
            description="Alias of `start_date` (the Databricks connector's option name).",
        ),
        th.Property(
            "include_modules",
            th.ArrayType(th.StringType),
            description=(
                "Only these streams (module API names such as Leads or Custom_Thing, or "
                "Users, Roles, Profiles, Org). An unknown name is an error."
            ),
        ),
        th.Property(
            "exclude_modules",
            th.ArrayType(th.StringType),
            description="Streams to leave out (module API names or Users/Roles/Profiles/Org).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=200),
            default=DEFAULT_PAGE_SIZE,
            description="Records per Get Records call (1-200; Zoho's maximum, 200, is cheapest).",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=25),
            description=(
                "Most API calls in flight at once (1-25). By default, your edition's limit "
                "(Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25, read from "
                "the org record) less a tenth for other integrations; a 429 for concurrency "
                "lowers it for the rest of the run. See docs/parallel-reads.md."
            ),
        ),
        th.Property(
            "request_timeout",
            th.NumberType(minimum=1, maximum=3600),
            default=DEFAULT_REQUEST_TIMEOUT,
            description="Seconds to wait for one HTTP response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=1, maximum=50),
            default=DEFAULT_MAX_RETRIES,
            description="Attempts per request on 429, 5xx, resets and timeouts.",
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType(minimum=1, maximum=86400),
            default=DEFAULT_MAX_RETRY_SECONDS,
            description="Longest total time spent retrying one request.",
        ),
        th.Property(
            "token_throttle_max_wait",
            th.NumberType(minimum=0, maximum=3600),
            default=DEFAULT_TOKEN_THROTTLE_WAIT,
            description=(
                "Seconds to wait out Zoho Accounts' token throttling (10 tokens per 10 minutes "
                "per refresh token). A wait known to be longer fails at once, saying when to "
                "retry."
            ),
        ),
        th.Property(
            "token_cache",
            th.BooleanType,
            default=True,
            description=(
                "Share access tokens between processes through a cache file in the user's "
                "cache directory (docs/authentication.md); false: every process mints its own."
            ),
        ),
        th.Property(
            "full_rich_text",
            th.BooleanType,
            default=True,
            description=(
                "Zoho cuts rich-text values to 500 characters in list responses; when true, "
                "each record with a value that long is re-read in full (one call per record)."
            ),
        ),
        th.Property(
            "emit_tombstones",
            th.BooleanType,
            default=False,
            description=(
                "Also send each deleted record into its module's stream as {id, Modified_Time, "
                "_sdc_deleted_at}, for targets that hard-delete such rows. Off by default: "
                "targets without that feature upsert the tombstone and null out the row. The "
                "<Module>_deleted streams carry the same facts either way."
            ),
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=False,
            description=(
                "Send ACTIVATE_VERSION messages, for targets that support them (their --about "
                "lists the activate-version capability; meltanolabs-target-postgres does): "
                "after each complete junction pass, and at the start of the full-table streams "
                "Roles, Profiles and Org, so the target drops or marks rows of older versions "
                "(removed members, deleted roles). Off by default: other targets, such as "
                "target-jsonl, only warn about each one."
            ),
        ),
        th.Property(
            "skip_unavailable_streams",
            th.BooleanType,
            default=True,
            description=(
                "When Zoho refuses a selected stream during a sync (edition, permission or "
                "scope: NO_PERMISSION, OAUTH_SCOPE_MISMATCH, INVALID_MODULE...), skip it with "
                "one warning and sync the rest (true), or fail the run (false). Consumers that "
                "replace a table with each run's rows should use false, so a refused read is "
                "never mistaken for an empty table."
            ),
        ),
        th.Property(
            "include_subforms",
            th.BooleanType,
            default=False,
            description=(
                "Add one stream per subform (e.g. Quoted_Items), incremental on the parent's "
                "Modified_Time, read with COQL (one call per 100 changed parents), or one "
                "single-record GET per changed parent without the ZohoCRM.coql.READ scope."
            ),
        ),
        th.Property(
            "include_attachments",
            th.BooleanType,
            default=False,
            description=(
                "Add the Attachments stream (file metadata, append-only). Costs one API call per "
                "record of every module with attachments, on every run."
            ),
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType(minimum=0, maximum=86400),
            default=0,
            description=(
                "Incremental reads start this many seconds before the bookmark (0, the "
                "default: at the bookmark). A write Zoho makes visible after a later one was "
                "already read (a long transaction, a lagging replica) keeps its earlier "
                "Modified_Time and would be missed; a lookback re-reads that window each run, "
                "re-sending its records (targets upsert them by id). At most 86400."
            ),
        ),
        th.Property(
            "windowed_reads",
            th.BooleanType,
            default=True,
            description=(
                "Read a module with many records to sync (initial load, large backlog, full "
                "refresh) as Modified_Time windows read concurrently, each resumable on its own "
                "(true), or as one sequential walk (false). See docs/parallel-reads.md."
            ),
        ),
        th.Property(
            "streams_in_flight",
            th.IntegerType,
            description=(
                "Streams read at once (1-25): while the SDK emits one stream, the next ones' "
                "reads start, under the same limit of calls in flight. Default: twice the "
                "limit (max_concurrency or the edition's), at most 25. 1 reads one stream at a "
                "time."
            ),
        ),
        th.Property(
            "window_min_records",
            th.IntegerType,
            default=4000,
            description=(
                "Fewest records a window is planned for (at least 200): a module with fewer "
                "than twice this many records to read is read as one walk. Each window costs "
                "about two calls of its own, so smaller windows spend more credits."
            ),
        ),
        th.Property(
            "bulk_read_min_records",
            th.IntegerType,
            default=DEFAULT_BULK_READ_MIN_RECORDS,
            description=(
                "A first sync (no bookmark) of a module with more records than this reads it "
                "through Bulk Read: 50 credits per job of up to 200,000 records instead of 1 "
                "per 200 (docs/bulk-read.md). 0: always Get Records."
            ),
        ),
        th.Property(
            "junction_full_pass_hours",
            # Whole hours: Meltano passes decimal settings from the environment as Decimal,
            # which it then fails to serialise.
            th.IntegerType(minimum=0, maximum=24 * 366),
            default=24,
            description=(
                "Junction streams (Campaigns_Leads, Campaigns_Contacts, Deals_Contact_Roles): a "
                "complete pass over every parent's related list at most every N hours (default "
                "24); runs in between re-read only the parents modified since the last run, so "
                "they cost what changed. Changes no timestamp shows, and removals, wait for the "
                "next complete pass (docs/junctions.md). 0: a complete pass every run."
            ),
        ),
        th.Property(
            "max_credits_per_run",
            th.IntegerType(minimum=1),
            description=(
                "API credits one run may spend on passes it can spread over several runs "
                "(complete junction passes). Default: half of the org's remaining daily credits "
                "once Zoho reports them (X-API-CREDITS-REMAINING). A pass that does not fit "
                "reads what fits, says so in one log line, and resumes in the next run."
            ),
        ),
        th.Property(
            "progress_interval_seconds",
            th.NumberType(minimum=0, maximum=86400),
            default=DEFAULT_PROGRESS_INTERVAL,
            description=(
                "Seconds between progress lines (one per stream syncing: records so far, API "
                "calls, credits, ETA when the total is known); 0 turns them off. They are INFO "
                "lines, so LOGLEVEL=warning also silences them."
            ),
        ),
        th.Property(
            "on_bad_record",
            th.StringType,
            default="fail",
            allowed_values=["fail", "skip"],
            description=(
                "A record Zoho answers without a usable id or Modified_Time: 'fail' (the "
                "default) stops its stream with one line naming the record and field; 'skip' "
                "leaves it out with a warning and lists it in the end-of-run summary."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            description=f"User-Agent header (default tap-zoho-crm/{VERSION}).",
        ),
    ).to_dict()

    def __init__(
        self,
        *,
        config: dict | PurePath | str | list[PurePath | str] | None = None,
        catalog: PurePath | str | dict | Catalog | None = None,
        state: PurePath | str | dict | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        **kwargs: Any,
    ) -> None:
        # Kept before the SDK parses it: singerlib's Schema drops our x-zoho-* annotations
        # and its metadata drops zoho-* keys, and both are needed to rebuild the streams.
        self._raw_input_catalog = _raw_catalog(catalog)
        self._settings: ZohoSettings | None = None
        self._client: ZohoClient | None = None
        #: Streams that failed, and records skipped, in the current sync (run_outcome.py).
        self.outcome = RunOutcome()
        self._read_ahead: ReadAhead | None = None
        super().__init__(
            config=config,
            catalog=catalog,
            state=state,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            **kwargs,
        )

    # -- config -------------------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Resolve the seed-doc aliases, build typed settings, then let the SDK validate the rest.

        Typed settings come first: their errors name the setting and the fix in one line, where
        the SDK's JSON-Schema check (bounds included) reports only "Config validation failed".
        """
        apply_aliases(self._config)
        if raise_errors:
            self._settings = ZohoSettings.from_config(
                self._config, user_agent=f"tap-zoho-crm/{VERSION}"
            )
        # The SDK quotes offending values in its messages: mask the secrets among them.
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            masked = [mask_secrets(error, self._config) for error in exc.errors]
            raise ConfigValidationError(str(exc), errors=masked, schema=exc.schema) from None
        return [mask_secrets(error, self._config) for error in errors]

    @property
    def settings(self) -> ZohoSettings:
        """Validated settings (a clear `ZohoConfigError` if the config cannot work)."""
        if self._settings is None:
            self._settings = ZohoSettings.from_config(
                self.config, user_agent=f"tap-zoho-crm/{VERSION}"
            )
        return self._settings

    @property
    def client(self) -> ZohoClient:
        """The one HTTP client of this Tap instance."""
        if self._client is None:
            self._client = ZohoClient(self.settings, logger=self.logger)
        return self._client

    # -- sync: progress lines and the run report ------------------------------------------------

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK, see the docstring
        """The SDK's sync of every stream, with progress lines and a cost report at the end.

        The SDK marks this final, but it is the one place that encloses the whole run, also
        when a stream fails (the report then says what was spent before the failure). A stream
        that failed lets the others run; the run then fails (`run_outcome.RunOutcome`).
        """
        ledger = self.client.usage
        ticker = ProgressTicker(
            ledger,
            self.logger,
            self.settings.progress_interval_seconds,
            expected_records=self._expected_records,
        )
        ticker.start()
        self.outcome.clear()
        gc_tuning.before_records()
        try:
            super().sync_all()
        finally:
            if self._read_ahead is not None:
                # Stop reads still running ahead (a run that ended early) before reporting.
                self._read_ahead.cancel(wait=READERS_STOP_WAIT_S)
                self._read_ahead = None
            ticker.stop()
            for line in ledger.report_lines(self.client.credits_remaining):
                self.logger.info("%s", line)
        # A failed stream let the others run; now it fails the run (run_outcome.py).
        self.outcome.finish(self.logger)

    def _expected_records(self, name: str) -> int | None:
        stream = self.streams.get(name)
        return stream.expected_records() if isinstance(stream, ZohoStream) else None

    @property
    def read_ahead(self) -> ReadAhead:
        """Starts the next streams' reads while one is emitted (docs/parallel-reads.md)."""
        if self._read_ahead is None:
            self._read_ahead = ReadAhead(
                streams=lambda: [s for s in self.streams.values() if isinstance(s, ZohoStream)],
                ahead=self._streams_ahead,
                logger=self.logger,
            )
        return self._read_ahead

    def _streams_ahead(self) -> int:
        in_flight = self.settings.streams_in_flight
        if in_flight is None:
            in_flight = min(MAX_STREAMS_IN_FLIGHT, STREAMS_PER_SLOT * self.client.concurrency())
        return in_flight - 1

    # -- streams ------------------------------------------------------------------------------

    def stream_definitions(self) -> list[StreamDefinition]:
        """From the input catalog when given (no API call), else from Zoho's metadata."""
        catalog = self._raw_input_catalog
        if catalog is not None and not catalog_is_self_describing(catalog):
            self.logger.warning(
                "The catalog lacks tap-zoho-crm's stream metadata (zoho-stream-kind); reading "
                "stream definitions from Zoho instead (its selection still applies). Save the "
                "output of --discover to skip these metadata calls."
            )
            catalog = None
        if catalog is not None:
            definitions = definitions_from_catalog(catalog)
        else:
            discovery = Discovery(
                self.client,
                self.settings,
                self.logger,
                derived_names=lambda found: [
                    name for kind in STREAM_KINDS.values() for name in kind.derived_names(found)
                ],
            )
            definitions = discovery.discover()
            for stream_class in STREAM_KINDS.values():
                definitions.extend(stream_class.derive_definitions(discovery, list(definitions)))
        if self.settings.emit_tombstones:
            definitions = with_tombstone_column(definitions)
        return definitions

    def discover_streams(self) -> Sequence[Stream]:
        """Build one stream per definition, by its kind."""
        streams: list[Stream] = []
        for definition in self.stream_definitions():
            stream_class = STREAM_KINDS.get(definition.kind)
            if stream_class is None:
                raise ZohoConfigError(
                    f"catalog stream '{definition.name}' is of kind '{definition.kind}', which "
                    f"this version of tap-zoho-crm does not know; re-run discovery"
                )
            streams.append(stream_class(self, definition))
        return streams

    @property
    def streams(self) -> dict[str, Stream]:
        """Streams in sync order: per-parent passes last (`ZohoStream.sync_tier`), then by name.

        The SDK syncs in this dict's order and sorts by name only (its ``load_streams`` is
        final), so the order is applied to the cached dict once.
        """
        streams = super().streams
        ordered = sorted(streams, key=lambda name: (getattr(streams[name], "sync_tier", 0), name))
        if list(streams) != ordered:
            self._streams = {name: streams[name] for name in ordered}
        return self._streams or streams

    @property
    def catalog_dict(self) -> dict:
        """The catalog, keeping x-zoho-* schema annotations and zoho-* stream metadata."""
        catalog: dict[str, Any] = super().catalog_dict
        for entry in catalog.get("streams", []):
            stream = self.streams.get(entry.get("tap_stream_id"))
            if not isinstance(stream, ZohoStream):
                continue
            entry["schema"] = copy.deepcopy(stream.schema)
            for item in entry.get("metadata", []):
                if not item.get("breadcrumb"):
                    item["metadata"].update(stream.definition.catalog_metadata())
        return catalog

    def setup_mapper(self) -> None:
        """Register schemas with their annotations (the SDK registers annotation-less copies)."""
        super().setup_mapper()
        for stream in self.streams.values():
            self.mapper.register_raw_stream_schema(
                stream.name, _selected_schema(stream.schema, stream.mask), stream.primary_keys
            )
