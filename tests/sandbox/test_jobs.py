"""The sandbox's asynchronous reports (``sandbox/jobs.py``): contract, lifecycle, contents.

Requests go straight to ``App.handle`` (no sockets: the server has its own tests). The
contract tests check every answer against Telnyx's description with openapi-core; the
lifecycle tests move an injected clock instead of sleeping; the content tests compare
each CSV with the ledger it was cut from, to the last digit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from openapi_check import validate_response

from telnyx_analytics.sandbox._web import Request, Response
from telnyx_analytics.sandbox.app import App, SandboxConfig

KEY = "KEY_jobs_test"
ORIGIN = "http://127.0.0.1:1"  # never contacted: downloads go through App.download
UNTIL = date(2024, 3, 31)
START, END = "2024-03-28T00:00:00Z", "2024-03-29T23:59:59.999999Z"
WINDOW = {"start_time": START, "end_time": END}
UNKNOWN_ID = "6a09cdc3-8948-47f0-aa62-74ac943d6c58"

# One valid creation request per kind: (path with query, JSON body or None).
CREATE: dict[str, tuple[str, Any]] = {
    "billing_group": ("/ledger_billing_group_reports", {"month": 3, "year": 2024}),
    "mdr_detail": ("/legacy/reporting/batch_detail_records/messaging", WINDOW),
    "cdr_detail": ("/legacy/reporting/batch_detail_records/voice", WINDOW),
    "mdr_usage_legacy": (
        "/legacy/reporting/usage_reports/messaging", {**WINDOW, "aggregation_type": 1}
    ),
    "cdr_usage_legacy": (
        "/legacy/reporting/usage_reports/voice",
        {**WINDOW, "aggregation_type": 1, "product_breakdown": 2},
    ),
    "number_lookup_usage": (
        "/legacy/reporting/usage_reports/number_lookup",
        {"aggregationType": "BY_ORGANIZATION_MEMBER", "startDate": "2024-03-28",
         "endDate": "2024-03-29"},
    ),
    "mdr_usage": (
        "/reports/mdr_usage_reports",
        {"aggregation_type": "NO_AGGREGATION", "start_date": START, "end_date": END},
    ),
    "phone_numbers_csv": ("/phone_numbers/csv_downloads?csv_format=V2", None),
    "wdr": ("/wireless/detail_records_reports", WINDOW),
}  # fmt: skip


def make_app(**config: Any) -> App:
    settings: dict[str, Any] = {"seed": 11, "days": 7, "until": UNTIL, "report_delay": 0}
    settings.update(config)
    return App(SandboxConfig(**settings), download_origin=ORIGIN)


@pytest.fixture(scope="module")
def app() -> App:
    """One app for the read-mostly tests (reports complete at once)."""
    return make_app()


class Call:
    """One request and its answer, kept together for validation."""

    def __init__(self, app: App, method: str, target: str, body: Any = None, key: str | None = KEY):
        raw = (
            b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.request = Request.from_target(method, target, headers, raw)
        self.raw = raw
        self.response: Response = app.handle(self.request)
        self.status = self.response.status
        self.json: Any = json.loads(self.response.body) if self.response.body else None

    @property
    def data(self) -> dict[str, Any]:
        """The report in the answer (phone-number CSVs answer a one-element array)."""
        data = self.json["data"]
        if isinstance(data, list):
            assert len(data) == 1
            return data[0]
        return data

    def validate(self) -> Call:
        validate_response(self.request, self.response, self.raw or None)
        return self

    def error(self) -> dict[str, Any]:
        errors = self.json["errors"]
        assert len(errors) == 1 and errors[0]["code"] and errors[0]["title"]
        return errors[0]


def create(app: App, kind: str, **changes: Any) -> Call:
    target, body = CREATE[kind]
    call = Call(app, "POST", target, None if body is None else {**body, **changes})
    assert call.status in (200, 201), call.json
    return call


def url_of(report: dict[str, Any]) -> str | None:
    return report.get("report_url", report.get("url"))


def download(app: App, report: dict[str, Any]) -> Response:
    url = url_of(report)
    assert url and url.startswith(ORIGIN + "/reports/")
    return app.download(url[len(ORIGIN) :])


def read_csv(app: App, report: dict[str, Any]) -> pd.DataFrame:
    answer = download(app, report)
    assert answer.status == 200 and answer.content_type == "text/csv"
    return pd.read_csv(io.BytesIO(answer.body), dtype=str, keep_default_na=False)


def decimal_sum(values: pd.Series) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def micro_totals(frame: pd.DataFrame, column: str = "cost_micro") -> dict[str, Decimal]:
    sums = frame.groupby(frame["currency"].astype(str))[column].sum()
    return {cur: Decimal(int(v)) / Decimal(1_000_000) for cur, v in sums.items()}


def csv_totals(frame: pd.DataFrame, column: str = "cost") -> dict[str, Decimal]:
    return {cur: decimal_sum(part[column]) for cur, part in frame.groupby("currency")}


def ledger(app: App):  # the account's ledger, as the reports see it
    return app.account_for_key(KEY).ledger


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# -- contract: every operation, a success and an error, checked against reports.yml -----------


def _item(kind: str) -> str:
    return CREATE[kind][0].partition("?")[0] + "/{id}"


def _get(kind: str) -> Callable[[App], Call]:
    return lambda a: Call(a, "GET", _item(kind).format(id=create(a, kind).data["id"]))


def _delete(kind: str) -> Callable[[App], Call]:
    return lambda a: Call(a, "DELETE", _item(kind).format(id=create(a, kind).data["id"]))


def _unknown(method: str, kind: str, report_id: str = UNKNOWN_ID) -> Callable[[App], Call]:
    return lambda a: Call(a, method, _item(kind).format(id=report_id))


def _list(path: str) -> Callable[[App], Call]:
    def make(a: App) -> Call:
        create(a, next(k for k, (t, _) in CREATE.items() if t.partition("?")[0] == path))
        return Call(a, "GET", path)

    return make


def _post(path: str, body: Any) -> Callable[[App], Call]:
    return lambda a: Call(a, "POST", path, body)


def _no_key(method: str, path: str, body: Any = None) -> Callable[[App], Call]:
    return lambda a: Call(a, method, path, body, key=None)


BG = "/ledger_billing_group_reports"
MDR = "/legacy/reporting/batch_detail_records/messaging"
CDR = "/legacy/reporting/batch_detail_records/voice"
MUL = "/legacy/reporting/usage_reports/messaging"
CUL = "/legacy/reporting/usage_reports/voice"
NLU = "/legacy/reporting/usage_reports/number_lookup"
MU = "/reports/mdr_usage_reports"
PN = "/phone_numbers/csv_downloads"
WDR = "/wireless/detail_records_reports"

# name -> (success, error, error status). The billing-group operations list no 4xx but 401,
# so their error answer is the 401 (their 400 and 404 are checked separately below).
OPERATIONS: dict[str, tuple[Callable[[App], Call], Callable[[App], Call], int]] = {
    "CreateBillingGroupReport": (_post(BG, {"month": 3, "year": 2024}),
                                 _no_key("POST", BG, {"month": 3, "year": 2024}), 401),
    "GetBillingGroupReport": (_get("billing_group"), _no_key("GET", f"{BG}/{UNKNOWN_ID}"), 401),
    "getMdrRequests": (_list(MDR), _no_key("GET", MDR), 401),
    "submitMdrRequest": (_post(MDR, {**WINDOW, "directions": [2], "record_types": [1]}),
                         _post(MDR, {"end_time": END}), 400),
    "getMdrRequest": (_get("mdr_detail"), _unknown("GET", "mdr_detail"), 404),
    "deleteMdrRequest": (_delete("mdr_detail"), _unknown("DELETE", "mdr_detail", "no-uuid"), 404),
    "getCdrRequests": (_list(CDR), _no_key("GET", CDR), 401),
    "submitCdrRequest": (_post(CDR, {**WINDOW, "call_types": [1], "fields": ["cost", "currency"],
                                     "filters": [{"filter_type": "and", "cli": "+1",
                                                  "cli_filter": "starts_with"}]}),
                         _post(CDR, {**WINDOW, "fields": ["cost", "no_such_field"]}), 400),
    "getCdrRequest": (_get("cdr_detail"), _unknown("GET", "cdr_detail", "not-a-uuid"), 404),
    "deleteCdrRequest": (_delete("cdr_detail"), _unknown("DELETE", "cdr_detail"), 404),
    "getMdrUsageReports": (_list(MUL), lambda a: Call(a, "GET", f"{MUL}?per_page=251"), 400),
    "submitMdrUsageReport": (_post(MUL, {**WINDOW, "aggregation_type": 2}),
                             _post(MUL, {**WINDOW, "aggregation_type": 7}), 400),
    "getMdrUsageReport": (_get("mdr_usage_legacy"), _unknown("GET", "mdr_usage_legacy"), 404),
    "deleteMdrUsageReport": (_delete("mdr_usage_legacy"), _unknown("DELETE", "mdr_usage_legacy"),
                             404),
    "getCdrUsageReports": (_list(CUL), lambda a: Call(a, "GET", f"{CUL}?page=0"), 400),
    "submitCdrUsageReport": (_post(CUL, {**WINDOW, "aggregation_type": 3, "product_breakdown": 1}),
                             _post(CUL, {**WINDOW, "product_breakdown": 9}), 400),
    "getCdrUsageReport": (_get("cdr_usage_legacy"), _unknown("GET", "cdr_usage_legacy"), 404),
    "deleteCdrUsageReport": (_delete("cdr_usage_legacy"), _unknown("DELETE", "cdr_usage_legacy"),
                             404),
    "getTelcoDataUsageReports": (_list(NLU), _no_key("GET", NLU), 401),
    "submitTelcoDataUsageReport": (
        _post(NLU, {"aggregationType": "ALL", "startDate": "2024-03-25", "endDate": "2024-03-31"}),
        _post(NLU, {"aggregationType": "ALL", "startDate": "2024-03-25", "endDate": "2024-03-20"}),
        422),
    "getTelcoDataUsageReport": (_get("number_lookup_usage"), _unknown("GET", "number_lookup_usage"),
                                404),
    "deleteTelcoDataUsageReport": (_delete("number_lookup_usage"),
                                   _unknown("DELETE", "number_lookup_usage", "nope"), 404),
    "GetMdrUsageReports": (_list(MU), lambda a: Call(a, "GET", f"{MU}?page[size]=0"), 400),
    "SubmitUsageReport": (_post(MU, {"aggregation_type": "PROFILE", "start_date": START,
                                     "end_date": END}),
                          _post(MU, {"aggregation_type": "BY_COUNTRY", "start_date": START,
                                     "end_date": END}), 400),
    "GetUsageReport": (_get("mdr_usage"), _unknown("GET", "mdr_usage", "not-a-uuid"), 400),
    "DeleteUsageReport": (_delete("mdr_usage"), _unknown("DELETE", "mdr_usage", "12"), 400),
    "ListCsvDownloads": (_list(PN), lambda a: Call(a, "GET", f"{PN}?page[size]=300"), 400),
    "CreateCsvDownload": (lambda a: Call(a, "POST", f"{PN}?csv_format=V1&filter[status]=active"),
                          lambda a: Call(a, "POST", f"{PN}?csv_format=V3"), 400),
    "GetCsvDownload": (_get("phone_numbers_csv"), _unknown("GET", "phone_numbers_csv", "x"), 404),
    "GetWdrReports": (_list(WDR), lambda a: Call(a, "GET", f"{WDR}?page[number]=0"), 422),
    "CreateWdrReport": (_post(WDR, WINDOW),
                        _post(WDR, {"start_time": END, "end_time": START}), 422),
    "GetWdrReport": (_get("wdr"), _unknown("GET", "wdr"), 404),
    "DeleteWdrReport": (_delete("wdr"), _unknown("DELETE", "wdr", "not-a-uuid"), 404),
}  # fmt: skip


def test_the_33_operations_are_routed(app: App) -> None:
    assert len(OPERATIONS) == 33
    from telnyx_analytics.sandbox.jobs import KINDS

    routes = sum(1 + kind.can_list + kind.can_delete for kind in KINDS.values()) + len(KINDS)
    assert routes == 33


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_answers_as_described(app: App, operation: str) -> None:
    success, failure, status = OPERATIONS[operation]
    ok = success(app)
    assert 200 <= ok.status < 300, ok.json
    ok.validate()
    bad = failure(app)
    assert bad.status == status, bad.json
    bad.validate()
    error = bad.error() if "errors" in bad.json else bad.json
    if status in (400, 422) and bad.request.method == "POST" and bad.raw:
        assert error["source"]["pointer"].startswith("/"), error  # names the field


def test_the_creation_requests_are_valid_requests_too(app: App) -> None:
    # The creation bodies above are what the description accepts (a test of the test).
    from openapi_check import spec_dict, validate
    from openapi_schema_validator import OAS31Validator

    operations = spec_dict()["paths"]
    for target, body in CREATE.values():
        call = Call(app, "POST", target, body)
        path, _, query = target.partition("?")
        content = operations[path]["post"].get("requestBody", {}).get("content", {})
        if "*/*" in content:
            # openapi-core does not decode "*/*" bodies: check the JSON against the schema.
            name = content["*/*"]["schema"]["$ref"].rsplit("/", 1)[1]
            schema = spec_dict()["components"]["schemas"][name]
            OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)
        else:
            validate(
                "POST",
                "/v2" + path,
                dict(q.split("=") for q in query.split("&") if q),
                call.status,
                call.response.body,
                request_body=call.raw or None,
                check_request=True,
            )


def test_billing_group_reports_check_month_and_year(app: App) -> None:
    for body, pointer in [
        ({"month": 13, "year": 2024}, "/month"),
        ({"month": 3}, "/year"),
        ({"month": "3", "year": 2024}, "/month"),
        ({"month": 3, "year": 1789}, "/year"),
    ]:
        call = Call(app, "POST", BG, body)
        assert call.status == 400
        assert call.error()["source"]["pointer"] == pointer
    assert Call(app, "GET", f"{BG}/{UNKNOWN_ID}").status == 404


def test_wireless_not_found_is_a_single_error_object(app: App) -> None:
    body = Call(app, "GET", f"{WDR}/{UNKNOWN_ID}").json
    assert body["code"] == body["errors"][0]["code"] == "10005"
    assert body["title"]


@pytest.mark.parametrize(
    ("target", "body", "pointer"),
    [
        (MDR, {**WINDOW, "directions": [3]}, "/directions/0"),
        (MDR, {**WINDOW, "record_types": ["1"]}, "/record_types/0"),
        (MDR, {"start_time": "yesterday", "end_time": END}, "/start_time"),
        (MDR, {"start_time": END, "end_time": START}, "/end_time"),
        (MDR, {**WINDOW, "filters": [{"filter_type": "or", "cli": "+1"}]},
         "/filters/0/filter_type"),
        (MDR, {**WINDOW, "profiles": ["not-a-uuid"]}, "/profiles/0"),
        (CDR, {**WINDOW, "call_types": [0]}, "/call_types/0"),
        (CDR, {**WINDOW, "source": "pigeon"}, "/source"),
        (CDR, {**WINDOW, "timezone": "Mars/Olympus"}, "/timezone"),
        (CDR, {**WINDOW, "filters": [{"cld": "+1", "cld_filter": "regex"}]},
         "/filters/0/cld_filter"),
        (CDR, {"start_time": START}, "/end_time"),
        (MUL, {**WINDOW}, "/aggregation_type"),
        (MUL, {**WINDOW, "aggregation_type": True}, "/aggregation_type"),
        (CUL, {"end_time": END}, "/start_time"),
        (CUL, {**WINDOW, "aggregation_type": 4}, "/aggregation_type"),
        (NLU, {"aggregationType": "SOME", "startDate": "2024-03-01", "endDate": "2024-03-02"},
         "/aggregationType"),
        (NLU, {"aggregationType": "ALL", "startDate": "2024-03-01T00:00:00Z",
               "endDate": "2024-03-02"}, "/startDate"),
        (MU, {"aggregation_type": "TAGS", "start_date": START}, "/end_date"),
        (WDR, {"start_time": START}, "/end_time"),
        (WDR, {"start_time": "nope", "end_time": END}, "/start_time"),
    ],
)  # fmt: skip
def test_invalid_bodies_name_the_field(app: App, target: str, body: Any, pointer: str) -> None:
    call = Call(app, "POST", target, body)
    expected = 422 if target == WDR or (target == NLU and pointer == "/endDate") else 400
    assert call.status == expected, call.json
    assert call.error()["source"]["pointer"] == pointer


def test_a_body_that_is_not_a_json_object_is_400(app: App) -> None:
    assert Call(app, "POST", MDR, b"[1, 2]").status == 400
    assert Call(app, "POST", MDR, b"{not json").status == 400
    assert Call(app, "POST", MDR, b"").status == 400


def test_phone_number_filters_are_checked(app: App) -> None:
    assert Call(app, "POST", f"{PN}?filter[status]=sleeping").status == 400
    assert Call(app, "POST", f"{PN}?filter[colour]=red").status == 400
    assert Call(app, "POST", f"{PN}?filter[phone_number]=12").status == 422
    short = Call(app, "POST", f"{PN}?filter[voice.connection_name][contains]=ab")
    assert short.status == 422
    assert short.error()["source"]["parameter"] == "filter[voice.connection_name][contains]"


# -- lifecycle ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def clocked_app(**config: Any) -> tuple[App, Clock]:
    app = make_app(**config)
    clock = Clock()
    app.reports.clock = clock
    return app, clock


@pytest.mark.parametrize("kind", sorted(CREATE))
def test_pending_then_complete_after_the_delay(kind: str) -> None:
    app, clock = clocked_app(report_delay=5)
    created = create(app, kind).data
    assert created["status"] in (1, "PENDING", "pending")
    assert url_of(created) is None  # no file yet (absent, or null where the schema allows)
    item = _item(kind).format(id=created["id"])
    clock.now += 4.9
    assert Call(app, "GET", item).data["status"] == created["status"]
    clock.now += 0.2
    done = Call(app, "GET", item).data
    assert done["status"] in (2, "COMPLETE", "complete")
    if "updated_at" in done:  # CSV downloads carry no timestamps
        assert done["updated_at"] > done["created_at"]
    assert download(app, done).status == 200


def test_failure_rate_one_fails_every_report() -> None:
    app, clock = clocked_app(report_delay=1, report_failure_rate=1.0)
    reports = {kind: create(app, kind).data for kind in CREATE}
    clock.now += 2
    failed = {
        kind: Call(app, "GET", _item(kind).format(id=r["id"])).data for kind, r in reports.items()
    }
    assert {str(r["status"]).lower() for r in failed.values()} == {"3", "failed"}
    assert all(url_of(r) is None for r in failed.values())


def test_failures_are_deterministic_per_seed_and_report() -> None:
    def statuses(seed: int) -> list[int]:
        app = make_app(seed=seed, report_failure_rate=0.5)
        return [create(app, "mdr_usage_legacy").data["status"] for _ in range(16)]

    first = statuses(3)
    assert first == statuses(3)
    assert set(first) == {2, 3}  # about half of 16 fail: both outcomes occur


def test_reports_expire_after_the_ttl_and_their_file_goes() -> None:
    app, clock = clocked_app(report_delay=1, report_ttl=60)
    created = {kind: create(app, kind).data for kind in CREATE}
    clock.now += 2
    complete = {
        kind: Call(app, "GET", _item(kind).format(id=r["id"])).data for kind, r in created.items()
    }
    assert all(download(app, r).status == 200 for r in complete.values())
    clock.now += 60
    expired_words = {"4", "expired", "deleted"}
    for kind, report in complete.items():
        now = Call(app, "GET", _item(kind).format(id=report["id"])).data
        assert str(now["status"]).lower() in expired_words, (kind, now["status"])
        assert url_of(now) is None
        gone = download(app, report)
        assert gone.status == 404
        assert json.loads(gone.body)["errors"][0]["code"] == "10005"


def test_files_past_the_memory_budget_are_let_go_and_built_again_identical() -> None:
    app = make_app()
    days = ("2024-03-26", "2024-03-27", "2024-03-28")
    reports = [create(app, "cdr_detail", start_time=f"{day}T00:00:00Z",
                      end_time=f"{day}T23:59:59Z").data for day in days]
    first = [download(app, r).body for r in reports]
    assert len(set(first)) == 3 and min(map(len, first)) > 10_000  # three real, different files
    service = app.reports
    assert service._file_bytes == sum(map(len, first))
    service.file_memory = len(first[2]) + 1  # room for one file only
    assert download(app, reports[2]).body == first[2]  # served last: kept
    assert service._file_bytes <= service.file_memory
    assert list(service._files) == [reports[2]["id"]]
    # The files let go are built again on demand, byte for byte the same.
    assert [download(app, r).body for r in reports] == first
    assert list(service._files) == [reports[2]["id"]]


def test_deleted_reports_disappear() -> None:
    app = make_app()
    for kind in CREATE:
        if kind in ("billing_group", "phone_numbers_csv"):
            continue  # their API has no delete
        report = create(app, kind).data
        item = _item(kind).format(id=report["id"])
        deleted = Call(app, "DELETE", item)
        assert deleted.status == 200
        if kind == "wdr":
            assert deleted.data["status"] == "deleted"
        assert Call(app, "GET", item).status == 404
        assert Call(app, "DELETE", item).status == 404
        listed = Call(app, "GET", CREATE[kind][0]).json["data"]
        assert report["id"] not in [r["id"] for r in listed]
        assert download(app, report).status == 404


def test_lists_show_creations_in_order_and_page() -> None:
    app = make_app()
    ids = [create(app, "cdr_usage_legacy").data["id"] for _ in range(5)]
    create(app, "mdr_usage_legacy")  # another kind: not in this list
    listed = Call(app, "GET", CUL)
    assert [r["id"] for r in listed.json["data"]] == ids[:5]
    assert listed.json["meta"]["total_results"] == 5
    page = Call(app, "GET", f"{CUL}?page=2&per_page=2").json
    assert [r["id"] for r in page["data"]] == ids[2:4]
    assert page["meta"] == {"page_number": 2, "page_size": 2, "total_pages": 3, "total_results": 5}
    wdrs = [create(app, "wdr").data["id"] for _ in range(3)]
    last = Call(app, "GET", f"{WDR}?page[number]=2&page[size]=2").json
    assert [r["id"] for r in last["data"]] == wdrs[2:]


def test_accounts_do_not_see_each_others_reports() -> None:
    app = make_app()
    report = create(app, "mdr_detail").data
    other = Call(app, "GET", f"{MDR}/{report['id']}", key="KEY_someone_else")
    assert other.status == 404
    assert Call(app, "GET", MDR, key="KEY_someone_else").json["data"] == []


def test_download_urls_are_unguessable_and_exact(app: App) -> None:
    report = create(app, "wdr").data
    url = url_of(report)
    assert url is not None
    token = url.split("/")[-2]
    assert len(token) >= 22
    assert app.download(url[len(ORIGIN) :] + "?x=1").status == 200  # a query is ignored
    assert app.download(url[len(ORIGIN) :].replace(token, token[:-1] + "A")).status == 404
    assert app.download(url[len(ORIGIN) :].replace(".csv", "x.csv")).status == 404
    assert app.download("/reports/../etc/passwd").status == 404


# -- contents -------------------------------------------------------------------------------


def test_mdr_detail_csv_is_the_ledger_window(app: App) -> None:
    frame = read_csv(app, create(app, "mdr_detail").data)
    rows = ledger(app).messages(ts(START), ts(END))
    assert len(frame) == len(rows) > 0
    assert list(frame.columns[:3]) == ["id", "created_at", "direction"]
    assert set(frame["id"]) == set(rows["id"].astype(str))
    assert csv_totals(frame) == micro_totals(rows)
    assert frame["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").all()
    assert frame["cost"].str.fullmatch(r"-?\d+\.\d{4}").all()


def test_mdr_detail_filters_select_rows(app: App) -> None:
    outbound = read_csv(app, create(app, "mdr_detail", directions=[2]).data)
    rows = ledger(app).messages(ts(START), ts(END))
    expected = rows[rows["direction"].astype(str).str.lower() == "outbound"]
    assert len(outbound) == len(expected) > 0
    assert set(outbound["direction"].str.lower()) == {"outbound"}
    profile = str(rows["profile_id"].iloc[0])
    by_profile = read_csv(app, create(app, "mdr_detail", profiles=[profile]).data)
    assert len(by_profile) == int((rows["profile_id"].astype(str) == profile).sum())
    with_body = read_csv(app, create(app, "mdr_detail", include_message_body=True).data)
    assert with_body.columns[-1] == "message_body" and (with_body["message_body"] != "").all()


def test_cdr_detail_csv_is_the_ledger_window(app: App) -> None:
    frame = read_csv(app, create(app, "cdr_detail").data)
    rows = ledger(app).calls(ts(START), ts(END))
    assert len(frame) == len(rows) > 0
    assert csv_totals(frame) == micro_totals(rows)
    assert (frame["billable_time"].astype(int).sum()) == int(rows["billable_sec"].sum())
    from telnyx_analytics.sandbox.spec import CDR_FIELDS

    assert sorted(frame.columns) == sorted(f for fields in CDR_FIELDS.values() for f in fields)


def test_cdr_detail_fields_and_filters(app: App) -> None:
    picked = read_csv(app, create(app, "cdr_detail", fields=["cost", "call_leg_id"]).data)
    assert list(picked.columns) == ["call_leg_id", "cost"]  # the reference order
    rows = ledger(app).calls(ts(START), ts(END))
    connection = str(rows["connection_id"].dropna().iloc[0])
    one = read_csv(app, create(app, "cdr_detail", connections=[int(connection)]).data)
    assert len(one) == int((rows["connection_id"].astype(str) == connection).sum()) > 0
    number = str(rows["cli"].iloc[0])
    exact = read_csv(app, create(app, "cdr_detail", filters=[{"cli": number}]).data)
    assert len(exact) == int((rows["cli"].astype(str) == number).sum()) > 0
    either = read_csv(
        app,
        create(
            app, "cdr_detail", filters=[{"cli": number}, {"filter_type": "or", "cld": number}]
        ).data,
    )
    both = (rows["cli"].astype(str) == number) | (rows["cld"].astype(str) == number)
    assert len(either) == int(both.sum())
    inbound = read_csv(app, create(app, "cdr_detail", call_types=[1]).data)
    assert set(inbound["direction"].str.lower()) == {"inbound"}
    errors = read_csv(app, create(app, "cdr_detail", record_types=[3]).data)
    assert len(errors) == int((rows["status"].astype(str) == "error").sum()) > 0
    control = read_csv(app, create(app, "cdr_detail", source="call-control").data)
    assert set(control["product"]) == {"call_control"}
    assert 0 < len(control) < len(rows)
    tag = "support"
    tagged = read_csv(app, create(app, "cdr_detail", filters=[{"tags_list": tag}]).data)
    assert len(tagged) > 0 and all(tag in t.split(",") for t in tagged["tags"])


def test_wdr_csv_is_the_ledger_window(app: App) -> None:
    frame = read_csv(app, create(app, "wdr").data)
    rows = ledger(app).wireless(ts(START), ts(END))
    assert len(frame) == len(rows) > 0
    assert csv_totals(frame) == micro_totals(rows)
    assert frame["cost"].str.fullmatch(r"\d+\.\d{6}").all()
    up = decimal_sum(frame["uplink_data_mb"])
    assert up == Decimal(int(rows["uplink_cmb"].sum())) / 100


def test_mdr_usage_reconciles_with_the_mdr_detail_report(app: App) -> None:
    usage = create(app, "mdr_usage").data
    detail = read_csv(app, create(app, "mdr_detail").data)
    result = pd.DataFrame(usage["result"])
    assert csv_totals(result) == csv_totals(detail)
    fee = {
        cur: decimal_sum(part["carrier_passthrough_fee"])
        for cur, part in result.groupby("currency")
    }
    assert fee == csv_totals(detail, "carrier_fee")
    outbound = detail["direction"].str.lower() == "outbound"
    assert result["sent"].astype(int).sum() == int(outbound.sum())
    assert result["received"].astype(int).sum() == int((~outbound).sum())
    assert result["parts"].astype(int).sum() == detail["parts"].astype(int).sum()
    # The CSV holds the same rows as the JSON result, plus the window.
    frame = read_csv(app, usage)
    assert frame.drop(columns=["start_date", "end_date"]).to_dict("records") == usage["result"]
    assert set(frame["start_date"]) == {"2024-03-28T00:00:00.000000Z"}


def test_legacy_usage_results_hold_the_csv_rows(app: App) -> None:
    for kind in ("mdr_usage_legacy", "cdr_usage_legacy"):
        report = create(app, kind).data
        frame = read_csv(app, report)
        records = pd.DataFrame(report["result"]["records"]).astype(str)
        assert len(frame) == len(records) > 0
        assert frame.to_dict("records") == records[list(frame.columns)].to_dict("records")
    voice = read_csv(app, create(app, "cdr_usage_legacy").data)
    calls = ledger(app).calls(ts(START), ts(END))
    assert voice["calls"].astype(int).sum() == len(calls)
    assert csv_totals(voice) == micro_totals(calls)
    assert set(voice["tags"]) == {"All"} and set(voice["date"]) == {"2024-03-28", "2024-03-29"}


def test_number_lookup_report_totals(app: App) -> None:
    report = create(app, "number_lookup_usage").data
    frame = read_csv(app, report)
    lookups = ledger(app).lookups(ts(START), ts(END))
    assert frame["total_dips"].astype(int).sum() == len(lookups) > 0
    assert csv_totals(frame, "total_cost") == micro_totals(lookups)
    dips = sum(a["total_dips"] for r in report["result"] for a in r["aggregations"])
    assert dips == len(lookups)
    assert {r["user_id"] for r in report["result"]} == set(lookups["user_id"].astype(str))


def test_billing_group_report_is_the_months_voice_cost(app: App) -> None:
    frame = read_csv(app, create(app, "billing_group").data)
    lg = ledger(app)
    month = lg.calls(max(ts("2024-03-01T00:00:00Z"), pd.Timestamp(lg.start)), pd.Timestamp(lg.now))
    assert csv_totals(frame) == micro_totals(month)
    assert list(frame.columns) == [
        "billing_group_id",
        "billing_group_name",
        "product",
        "cost",
        "currency",
    ]


def test_phone_numbers_csv_formats_and_filters(app: App) -> None:
    numbers = ledger(app).phone_numbers
    v1 = read_csv(app, Call(app, "POST", PN).data)
    v2 = read_csv(app, create(app, "phone_numbers_csv").data)
    assert len(v1) == len(v2) == len(numbers) > 0
    assert list(v2.columns) == [*v1.columns, "emergency_address_id", "usage_payment_method"]
    status = str(numbers["status"].iloc[0])
    some = read_csv(app, Call(app, "POST", f"{PN}?filter[status]={status}").data)
    assert len(some) == int((numbers["status"].astype(str) == status).sum())
    none = read_csv(app, Call(app, "POST", f"{PN}?filter[phone_number]=abc123").data)
    assert len(none) == 0 and list(none.columns) == list(v1.columns)


def test_same_seed_key_and_params_give_identical_bytes() -> None:
    first, second = make_app(seed=5), make_app(seed=5)
    for kind in ("mdr_detail", "cdr_detail", "wdr", "mdr_usage"):
        a = download(first, create(first, kind).data).body
        b = download(second, create(second, kind).data).body
        assert a == b and len(a) > 100
    a = download(first, create(first, "wdr").data).body
    other = make_app(seed=6)
    assert download(other, create(other, "wdr").data).body != a


def test_an_empty_window_gives_a_header_only_csv(app: App) -> None:
    early = {"start_time": "2001-01-01T00:00:00Z", "end_time": "2001-01-02T00:00:00Z"}
    for kind in ("mdr_detail", "cdr_detail", "wdr"):
        frame = read_csv(app, create(app, kind, **early).data)
        assert len(frame) == 0 and len(frame.columns) > 5
