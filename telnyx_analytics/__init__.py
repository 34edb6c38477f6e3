"""telnyx-analytics: Telnyx reporting data as tidy pandas DataFrames.

Fetch with retries over a persistent HTTP cache, get typed frames (UTC timestamps, exact
money, categories), summarise costs exactly and plot them.

>>> import telnyx_analytics as tx
>>> from telnyx_analytics.sandbox import serve
>>> with serve(seed=1, days=7) as sb:
...     _ = tx.configure(api_key="KEY_demo", base_url=sb.base_url, cache=False)
...     df = tx.mdrs("2020-01-01", "2100-01-01", limit=10)
>>> len(df)
10
"""

from . import lake, plot, reports
from ._client import Client, configure
from ._dates import window
from .analysis import (
    convert,
    cost_by,
    explain_anomaly,
    reconcile,
    session_costs,
    spend_anomalies,
    spend_summary,
    usage_breakdown,
)
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IncompleteResultError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReportFailedError,
    ReportTimeoutError,
    SessionCostError,
    TelnyxAnalyticsError,
    UnexpectedResponseError,
    UnprocessableEntityError,
)
from .lake import sync
from .records import (
    call_events,
    cdr_report_fields,
    cdr_usage,
    detail_records,
    mdr_usage,
    mdrs,
    product_usage,
    product_usage_options,
    session_analysis,
    session_metadata,
    session_totals,
    wdrs,
)
from .reports import cdrs
from .sessions import SessionTree

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "IncompleteResultError",
    "InternalServerError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReportFailedError",
    "ReportTimeoutError",
    "SessionCostError",
    "SessionTree",
    "TelnyxAnalyticsError",
    "UnexpectedResponseError",
    "UnprocessableEntityError",
    "__version__",
    "call_events",
    "cdr_report_fields",
    "cdr_usage",
    "cdrs",
    "configure",
    "convert",
    "cost_by",
    "detail_records",
    "explain_anomaly",
    "lake",
    "mdr_usage",
    "mdrs",
    "plot",
    "product_usage",
    "product_usage_options",
    "reconcile",
    "reports",
    "session_analysis",
    "session_costs",
    "session_metadata",
    "session_totals",
    "spend_anomalies",
    "spend_summary",
    "sync",
    "usage_breakdown",
    "wdrs",
    "window",
]
