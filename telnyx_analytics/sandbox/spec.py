"""The reporting API's enums and limits, as the sandbox's own constants.

These values come from Telnyx's OpenAPI description (``reports.yml``); they are written
here once so that the views and the report jobs validate requests the same way. The tests
check them against the description itself, so a drift is caught there.
"""

from __future__ import annotations

from typing import Final

#: Currencies a money field may carry (``MdrDetailResponse.currency``, ``WirelessCost``).
CURRENCIES: Final = ("AUD", "CAD", "EUR", "GBP", "USD")

# -- detail records ---------------------------------------------------------------------

#: ``GET /reports/mdrs`` query enums.
MDR_DIRECTIONS: Final = ("INBOUND", "OUTBOUND")
MDR_STATUSES: Final = (
    "GW_TIMEOUT",
    "DELIVERED",
    "DLR_UNCONFIRMED",
    "DLR_TIMEOUT",
    "RECEIVED",
    "GW_REJECT",
    "FAILED",
)
MESSAGE_TYPES: Final = ("SMS", "MMS")

#: Page sizes of ``page[number]``/``page[size]`` endpoints (docs/sandbox.md, "Paging").
DETAIL_MAX_PAGE_SIZE: Final = 250
USAGE_REPORTS_MAX_PAGE_SIZE: Final = 5000

# -- call events ------------------------------------------------------------------------

CALL_EVENT_PRODUCTS: Final = ("call_control", "fax", "texml")
CALL_EVENT_STATUSES: Final = ("init", "in_progress", "completed")
CALL_EVENT_TYPES: Final = ("command", "webhook")
CALL_EVENT_OCCURRED_AT_OPS: Final = ("eq", "gt", "gte", "lt", "lte")
#: Without a leg or session filter, call events cover this many hours before *now*.
CALL_EVENT_DEFAULT_HOURS: Final = 24
#: ``filter[application_name][contains]`` needs at least this many characters.
APPLICATION_NAME_MIN_CHARS: Final = 3

# -- synchronous usage reports ------------------------------------------------------------

CDR_AGGREGATIONS: Final = ("NO_AGGREGATION", "CONNECTION", "TAG", "BILLING_GROUP")
CDR_PRODUCT_BREAKDOWNS: Final = (
    "NO_BREAKDOWN",
    "DID_VS_TOLL_FREE",
    "COUNTRY",
    "DID_VS_TOLL_FREE_PER_COUNTRY",
)
MDR_AGGREGATIONS: Final = ("NO_AGGREGATION", "PROFILE", "TAGS")
#: Status vocabulary of ``CdrUsageReportResponse`` / ``MdrUsageReportResponse``.
USAGE_REPORT_STATUSES: Final = ("PENDING", "COMPLETE", "FAILED", "EXPIRED")

#: Ledger columns each aggregation groups by (``[]``: one total).
CDR_AGGREGATION_KEYS: Final[dict[str, list[str]]] = {
    "NO_AGGREGATION": [],
    "CONNECTION": ["connection_id"],
    "TAG": ["tags"],
    "BILLING_GROUP": ["billing_group_id"],
}
CDR_BREAKDOWN_KEYS: Final[dict[str, list[str]]] = {
    "NO_BREAKDOWN": [],
    "DID_VS_TOLL_FREE": ["tn_type"],
    "COUNTRY": ["country_code"],
    "DID_VS_TOLL_FREE_PER_COUNTRY": ["tn_type", "country_code"],
}
MDR_AGGREGATION_KEYS: Final[dict[str, list[str]]] = {
    "NO_AGGREGATION": [],
    "PROFILE": ["profile_id"],
    "TAGS": ["tags"],
}

# -- product usage (/usage_reports) -------------------------------------------------------

#: The longest window ``GET /usage_reports`` accepts.
USAGE_REPORTS_MAX_DAYS: Final = 31
USAGE_REPORTS_FORMATS: Final = ("json", "csv")

# -- session analysis -------------------------------------------------------------------

SESSION_EXPAND: Final = ("record", "none")
SESSION_MAX_DEPTH_DEFAULT: Final = 2
SESSION_MAX_DEPTH_MIN: Final = 1
SESSION_MAX_DEPTH_MAX: Final = 5


# -- CDR report fields (report_csv.py writes the CDR CSV in CDR_COLUMNS order) ---------

#: The CDR detail report's columns, in the order a report writes them (docs/frames.md).
CDR_COLUMNS: list[str] = [
    "call_leg_id", "call_session_id", "start_timestamp_utc", "answer_timestamp",
    "end_timestamp", "direction", "origination_number", "terminating_number",
    "origination_country", "terminating_country", "terminating_number_type", "product",
    "connection_id", "connection_name", "tags", "billing_group_id", "billing_group_name",
    "status", "hangup_cause", "call_duration", "billable_time", "rate", "cost", "currency",
    "sip_call_id", "mos", "pdd",
]  # fmt: skip

#: The same columns grouped as ``GET .../voice/fields`` answers them; each column is in
#: exactly one group.
CDR_FIELDS: dict[str, list[str]] = {
    "Billing": [
        "billable_time", "rate", "cost", "currency", "billing_group_id", "billing_group_name",
    ],
    "Interaction Data": [
        "call_leg_id", "call_session_id", "origination_number", "terminating_number",
        "start_timestamp_utc", "answer_timestamp", "end_timestamp", "direction",
        "call_duration", "status", "hangup_cause",
    ],
    "Number Information": [
        "origination_country", "terminating_country", "terminating_number_type",
    ],
    "Telephony Data": [
        "product", "connection_id", "connection_name", "tags", "sip_call_id", "mos", "pdd",
    ],
}  # fmt: skip
