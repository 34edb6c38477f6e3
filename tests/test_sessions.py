"""Tests of SessionTree and session_costs, on session-analysis JSON built here.

The payloads follow ``SessionAnalysisResponse`` of the OpenAPI description: a call at
the root with its recordings, transcriptions, AI assistant turns, inference and
messages below; costs are 6-decimal strings; cumulative costs are computed with
``decimal`` while the payload is built, so the expected numbers never come from the code
under test.
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from contract import require_spec

import telnyx_analytics as tx
from telnyx_analytics import SessionCostError
from telnyx_analytics.analysis import session_costs
from telnyx_analytics.sessions import SessionTree

# product: (event name, a typical own cost in micro-units)
PRODUCTS = {
    "callcontrol-cdrs": ("call", 18_000),
    "recordings": ("recording", 2_500),
    "transcriptions": ("transcription", 6_000),
    "ai-voice-assistant": ("assistant", 9_000),
    "inference": ("inference", 1_200),
    "messaging": ("message", 4_000),
}
# product: the children an event of it may have, (product, fewest, most)
CHILDREN = {
    "callcontrol-cdrs": [("recordings", 0, 1), ("ai-voice-assistant", 0, 1),
                         ("messaging", 0, 2), ("callcontrol-cdrs", 0, 1)],  # a transfer leg
    "recordings": [("transcriptions", 0, 1)],
    "ai-voice-assistant": [("inference", 2, 12), ("messaging", 0, 2)],
}


def make_session(n_events: int = 40, seed: int = 5, currency: str = "USD",
                 max_depth: int = 4) -> dict:
    """A SessionAnalysisResponse of ``n_events`` events (a call and what it set off), with
    cumulative costs computed exactly."""
    rng = np.random.default_rng(seed)
    ids = (f"{i:08x}-0000-4000-8000-{i:012x}" for i in itertools.count(1))
    made = 0

    def node(product: str, depth: int, parent_id: str | None) -> dict:
        nonlocal made
        made += 1
        event, typical = PRODUCTS[product]
        node_id = next(ids)
        own = Decimal(int(rng.integers(typical // 2, typical * 2))) / 10**6
        record = {"id": node_id, "created_at": "2024-05-01T10:00:00.000000Z",
                  "cost": f"{own:.6f}", "direction": "outbound"}
        if product == "callcontrol-cdrs":
            record["call_duration"] = int(rng.integers(30, 600))
        children = []
        for kind, fewest, most in CHILDREN.get(product, []):
            for _ in range(int(rng.integers(fewest, most + 1))):
                if made < n_events and depth < max_depth:
                    children.append(node(kind, depth + 1, node_id))
        cumulative = own + sum(Decimal(c["cost"]["cumulative_cost"]) for c in children)
        return {
            "id": node_id,
            "product": product,
            "event_name": event,
            "cost": {"event_cost": f"{own:.6f}", "cumulative_cost": f"{cumulative:.6f}",
                     "currency": currency},
            "links": {"self": f"/v2/session_analysis/{product}/{node_id}",
                      "records": f"/v2/detail_records?record_type={product}&id={node_id}"},
            "record": record,
            "relationship": None if parent_id is None else {
                "type": f"parent_{product}", "parent_id": parent_id,
                "via": {"parent_field": "id", "child_field": "parent_id"}},
            "children": children,
        }

    root = node("callcontrol-cdrs", 0, None)
    kinds = [k for k, _, _ in CHILDREN["callcontrol-cdrs"]]
    while made < n_events:  # a long session: more legs, assistants and messages
        root["children"].append(node(str(rng.choice(kinds)), 1, root["id"]))
    _recompute(root)
    events = list(_all(root))
    return {
        "session_id": root["id"],
        "cost": {"total": root["cost"]["cumulative_cost"], "currency": currency},
        "meta": {"event_count": len(events),
                 "products": sorted({e["product"] for e in events})},
        "root": root,
    }


def exact(value: float) -> Decimal:
    """A float64 amount as the exact decimal it stands for (its shortest repr)."""
    return Decimal(repr(float(value)))


def _recompute(node: dict) -> Decimal:
    total = Decimal(node["cost"]["event_cost"]) + sum(
        (_recompute(c) for c in node["children"]), Decimal(0))
    node["cost"]["cumulative_cost"] = f"{total:.6f}"
    return total


def _all(node: dict):
    yield node
    for child in node["children"]:
        yield from _all(child)


def _truncate(node: dict, depth: int) -> None:
    """What the API returns for a shallower max_depth: children cut, cumulative kept."""
    if depth == 0:
        node["children"] = []
    for child in node["children"]:
        _truncate(child, depth - 1)


@pytest.fixture
def payload() -> dict:
    return make_session()


def test_from_response_builds_the_nodes_frame(payload):
    tree = SessionTree.from_response(payload)
    events = list(_all(payload["root"]))
    assert tree.raw is payload
    assert tree.session_id == payload["session_id"]
    assert tree.total_cost == Decimal(payload["cost"]["total"]) and tree.currency == "USD"
    assert isinstance(tree.total_cost, Decimal)
    assert tree.products == payload["meta"]["products"]
    nodes = tree.nodes
    assert list(nodes.columns[:8]) == ["id", "parent_id", "depth", "product", "event_name",
                                       "event_cost", "cumulative_cost", "currency"]
    assert len(nodes) == len(events) == tree.event_count
    assert sorted(nodes["id"]) == sorted(e["id"] for e in events)
    assert str(nodes["event_cost"].dtype) == "float64"
    by_id = {e["id"]: e for e in events}
    parent_of = {c["id"]: e["id"] for e in events for c in e["children"]}
    for row in nodes.itertuples(index=False):
        event = by_id[row.id]
        assert row.event_cost == float(Decimal(event["cost"]["event_cost"]))
        assert row.cumulative_cost == float(Decimal(event["cost"]["cumulative_cost"]))
        assert (None if pd.isna(row.parent_id) else row.parent_id) == parent_of.get(row.id)
        assert row.n_children == len(event["children"])
    # Depth: the root is 0, a child one more than its parent.
    depth = dict(zip(nodes["id"], nodes["depth"], strict=True))
    assert depth[payload["session_id"]] == 0
    assert all(depth[c] == depth[p] + 1 for c, p in parent_of.items())
    # Record fields are columns; the record's own id clashes and is prefixed.
    assert {"record.id", "cost", "created_at", "direction", "call_duration"} <= set(
        nodes.columns)
    assert nodes["record.id"].tolist() == nodes["id"].tolist()
    root = nodes[nodes["depth"] == 0].iloc[0]
    assert root["call_duration"] == payload["root"]["record"]["call_duration"]
    assert pd.isna(root["relationship"])


def test_consistent_tree_has_no_violations(payload):
    tree = SessionTree.from_response(payload)
    assert tree.check().empty
    assert not tree.truncated


def test_session_costs_roll_up_by_product_and_event(payload):
    tree = SessionTree.from_response(payload)
    out = session_costs(tree)
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for event in _all(payload["root"]):
        key = (event["product"], event["event_name"])
        expected[key] += Decimal(event["cost"]["event_cost"])
        counts[key] += 1
    got = {(p, e): exact(c) for p, e, c in zip(out["product"], out["event_name"], out["cost"],
                                               strict=True)}
    assert got == dict(expected)
    assert dict(zip(zip(out["product"], out["event_name"], strict=True), out["events"],
                    strict=True)) == dict(counts)
    assert sum(map(exact, out["cost"]), Decimal(0)) == Decimal(payload["cost"]["total"])
    assert out["cost"].is_monotonic_decreasing
    assert out["share"].sum() == pytest.approx(1.0)
    assert set(out["currency"].astype(str)) == {"USD"}


def test_a_broken_node_is_reported_by_id(payload):
    broken = copy.deepcopy(payload)
    leaf = next(e for e in _all(broken["root"]) if not e["children"] and e is not broken["root"])
    leaf["cost"]["event_cost"] = f"{Decimal(leaf['cost']['event_cost']) + Decimal('0.000001'):.6f}"
    tree = SessionTree.from_response(broken)
    violations = tree.check()
    assert violations["id"].tolist() == [leaf["id"]]
    assert exact(violations["expected"].item()) == Decimal(leaf["cost"]["event_cost"])
    with pytest.raises(SessionCostError, match=leaf["id"]) as caught:
        session_costs(tree)
    assert caught.value.violations["id"].tolist() == [leaf["id"]]
    with pytest.warns(UserWarning, match=leaf["id"]):
        out = session_costs(tree, strict=False)
    assert len(out)


def test_session_cost_error_is_in_the_error_tree_and_exported(payload):
    broken = copy.deepcopy(payload)
    broken["cost"]["total"] = "9.999999"
    # Caught as the package's base error, and still as a ValueError (older code).
    with pytest.raises(tx.TelnyxAnalyticsError):
        session_costs(SessionTree.from_response(broken))
    with pytest.raises(ValueError):
        session_costs(SessionTree.from_response(broken))
    assert "SessionCostError" in tx.__all__
    assert tx.SessionCostError is SessionCostError is tx.errors.SessionCostError
    assert tx.analysis.SessionCostError is SessionCostError  # the old import path works


def test_a_parent_whose_children_do_not_add_up_is_reported(payload):
    broken = copy.deepcopy(payload)
    parent = next(e for e in broken["root"]["children"] if e["children"])
    child = parent["children"][0]
    child["cost"]["cumulative_cost"] = f"{Decimal(child['cost']['cumulative_cost']) * 2:.6f}"
    violations = SessionTree.from_response(broken).check()
    # The child's own sum is now wrong, and so is the parent's.
    assert set(violations["id"]) == {child["id"], parent["id"]}


def test_session_total_must_match_the_root():
    payload = make_session(n_events=8)
    payload["cost"]["total"] = "9.999999"
    violations = SessionTree.from_response(payload).check()
    assert violations["id"].tolist() == [payload["root"]["id"]]
    assert "session total" in violations["problem"].item()


def test_mixed_currency_node_is_reported():
    payload = make_session(n_events=6)
    child = payload["root"]["children"][0]
    child["cost"]["currency"] = "EUR"
    violations = SessionTree.from_response(payload).check()
    assert child["id"] in violations["id"].tolist()
    assert "EUR" in violations.set_index("id").loc[child["id"], "problem"]


def test_truncated_tree_rolls_up_to_the_total():
    payload = make_session(n_events=60, seed=9)
    full = {e["id"]: e for e in _all(copy.deepcopy(payload)["root"])}
    _truncate(payload["root"], 1)  # as if max_depth=1: root and its children only
    tree = SessionTree.from_response(payload)
    assert tree.truncated and len(tree.nodes) < tree.event_count
    assert tree.check().empty
    out = session_costs(tree)
    hidden = out[out["product"] == "(not expanded)"]
    shown = list(_all(payload["root"]))
    expected_hidden = sum((Decimal(full[e["id"]]["cost"]["cumulative_cost"])
                           - Decimal(e["cost"]["event_cost"]) for e in shown if e["children"] == []
                           ), Decimal(0))
    assert exact(hidden["cost"].item()) == expected_hidden > 0
    assert hidden["events"].item() == tree.event_count - len(shown)
    assert sum(map(exact, out["cost"]), Decimal(0)) == tree.total_cost


def test_truncated_leaf_cannot_cost_less_than_itself():
    payload = make_session(n_events=30, seed=2)
    _truncate(payload["root"], 1)
    leaf = payload["root"]["children"][0]
    leaf["cost"]["cumulative_cost"] = "0.000000"
    _recompute_root_only = Decimal(payload["root"]["cost"]["event_cost"]) + sum(
        Decimal(c["cost"]["cumulative_cost"]) for c in payload["root"]["children"])
    payload["root"]["cost"]["cumulative_cost"] = f"{_recompute_root_only:.6f}"
    payload["cost"]["total"] = payload["root"]["cost"]["cumulative_cost"]
    violations = SessionTree.from_response(payload).check()
    assert violations["id"].tolist() == [leaf["id"]]


def test_two_hundred_events_and_a_deep_chain():
    big = SessionTree.from_response(make_session(n_events=200, seed=1))
    assert len(big.nodes) == 200 and big.check().empty
    # A chain deeper than Python's recursion limit still parses (the walk is iterative).
    leaf: dict = {"id": "n3000", "product": "messaging", "event_name": "message",
                  "cost": {"event_cost": "0.000001", "cumulative_cost": "0.000001",
                           "currency": "USD"}, "children": []}
    for i in range(2999, -1, -1):
        cum = Decimal(leaf["cost"]["cumulative_cost"]) + Decimal("0.000001")
        leaf = {"id": f"n{i}", "product": "messaging", "event_name": "message",
                "cost": {"event_cost": "0.000001", "cumulative_cost": f"{cum:.6f}",
                         "currency": "USD"}, "children": [leaf]}
    chain = SessionTree.from_response({"session_id": "n0", "meta": {"event_count": 3001},
                                       "cost": {"total": "0.003001", "currency": "USD"},
                                       "root": leaf})
    assert chain.nodes["depth"].max() == 3000 and chain.check().empty


@pytest.mark.parametrize("cost, message", [
    ("0.0000001", "never rounded"), ("abc", "not an amount"), (None, "no amount"),
    ("", "not an amount"), (True, "not an amount"), (float("nan"), "(?i)nan"),
    ("1e400", "not an amount"), ("1234567890123", "beyond"), ("12,50", "not an amount"),
])
def test_bad_costs_name_the_node(cost, message):
    payload = make_session(n_events=5)
    child = payload["root"]["children"][0]
    child["cost"]["event_cost"] = cost
    with pytest.raises(tx.UnexpectedResponseError, match=message) as caught:
        SessionTree.from_response(payload)
    assert caught.value.record == child["id"] and caught.value.field == "cost.event_cost"


def test_missing_fields_are_clear_errors():
    with pytest.raises(tx.UnexpectedResponseError, match="root"):
        SessionTree.from_response({"session_id": "x", "cost": {"total": "0", "currency": "USD"}})
    payload = make_session(n_events=3)
    del payload["root"]["children"][0]["product"]
    with pytest.raises(tx.UnexpectedResponseError, match="product"):
        SessionTree.from_response(payload)


def test_the_descriptions_own_example():
    """The example response of GetSessionAnalysis: one node shown of three events."""
    import yaml

    spec = yaml.safe_load(require_spec().read_text())
    example = (spec["paths"]["/session_analysis/{record_type}/{event_id}"]["get"]["responses"]
               ["200"]["content"]["application/json"]["example"])
    tree = SessionTree.from_response(example)
    assert tree.total_cost == Decimal(example["cost"]["total"])
    assert tree.truncated  # meta says 3 events, one is shown
    assert tree.check().empty
    out = session_costs(tree)
    assert sum(map(exact, out["cost"]), Decimal(0)) == tree.total_cost
    root_cost = Decimal(example["root"]["cost"]["event_cost"])
    assert exact(out.set_index("product").loc[example["root"]["product"], "cost"]) == root_cost


def test_large_integers_in_records_keep_every_digit():
    payload = make_session(n_events=6, seed=8)
    payload["root"]["record"]["connection_id"] = 1566848348594701568  # a JSON number
    tree = SessionTree.from_response(payload)
    column = tree.nodes["connection_id"]
    assert str(column.dtype) == "Int64"
    assert column.iloc[0] == 1566848348594701568 and column.iloc[1:].isna().all()


def test_sandbox_sessions_over_http(sandbox, sandbox_key):
    """Real responses of the sandbox: the whole tree holds its invariant, and a shallow view
    of the same session rolls up to the same total."""
    import telnyx_analytics as tx

    client = tx.Client(api_key=sandbox_key, base_url=sandbox.base_url, cache=False,
                       progress=False)
    day = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=5)).strftime("%Y-%m-%d")
    calls = tx.cdrs(day, day, client=client)
    shallow = None
    for leg in calls["call_leg_id"].head(300):
        tree = tx.session_analysis("callcontrol-cdrs", leg, max_depth=1, client=client)
        if tree.event_count >= 6:
            shallow = tree
            break
    assert shallow is not None, "no call with a session of 6 or more events"
    full = tx.session_analysis("callcontrol-cdrs", shallow.session_id, max_depth=5,
                               client=client)
    assert not full.truncated and full.check().empty
    assert shallow.truncated and shallow.check().empty
    whole = session_costs(full)
    assert sum(map(exact, whole["cost"]), Decimal(0)) == full.total_cost == shallow.total_cost
    own = {r["id"]: Decimal(r["cost"]["event_cost"]) for r in _all(full.raw["root"])}
    assert sum(own.values(), Decimal(0)) == full.total_cost
    part = session_costs(shallow)
    hidden = part[part["product"] == "(not expanded)"]
    deeper = [i for i, d in zip(full.nodes["id"], full.nodes["depth"], strict=True) if d > 1]
    assert exact(hidden["cost"].item()) == sum((own[i] for i in deeper), Decimal(0))
    assert hidden["events"].item() == len(deeper)


# -- many sessions at once: session_totals, against the sandbox and a hostile server --------


@pytest.fixture(scope="module")
def small_account(sandbox_factory_module):
    """A small sandbox account's calls (three days), with its ledger for expected totals."""
    sb, key = sandbox_factory_module
    client = tx.Client(key, sb.base_url, cache=False, progress=False)
    calls = tx.cdrs("2000-01-01", "2100-01-01", client=client)
    return sb, key, client, calls


@pytest.fixture(scope="module")
def sandbox_factory_module(sandbox_key):
    from telnyx_analytics.sandbox import serve

    with serve(seed=9, days=3, scale=0.05, report_delay=0.1) as sb:
        yield sb, sandbox_key


def ledger_total(sb, key, event_id):
    """A session's total from the sandbox's ledger: its nodes' own costs, added up."""
    nodes = sb.ledger(key).session(event_id)
    return Decimal(int(nodes["cost_micro"].sum())) / 10**6, len(nodes)


def test_session_totals_cost_every_call_as_the_ledger_does(small_account):
    sb, key, client, calls = small_account
    out = tx.session_totals(calls, client=client)
    assert list(out.columns) == ["event_id", "session_id", "currency", "total_cost",
                                 "root_cost", "events", "products"]
    assert len(out) == calls["call_leg_id"].nunique() > 50
    assert set(out["event_id"]) == set(calls["call_leg_id"])
    for row in out.itertuples():
        total, events = ledger_total(sb, key, row.event_id)
        assert (Decimal(str(row.total_cost)), row.events) == (total, events)
    # The root's own cost is the call's own cost, from the call record.
    own = dict(zip(calls["call_leg_id"], calls["cost"], strict=True))
    assert all(row.root_cost == own[row.event_id] for row in out.itertuples())
    assert (out["total_cost"] > out["root_cost"]).any()  # some calls set more off
    # Costliest first within each currency.
    for _, part in out.groupby("currency", observed=True):
        assert part["total_cost"].is_monotonic_decreasing


def test_the_costliest_sessions_of_a_window_in_one_call(small_account):
    sb, _, client, calls = small_account
    whole = tx.session_totals(calls, client=client)
    sb.clear_log()
    top = tx.session_totals(start="2000-01-01", end="2100-01-01", top=3, client=client)
    expected = whole.groupby("currency", observed=True).head(3).reset_index(drop=True)
    pd.testing.assert_frame_equal(top, expected)
    assert top.groupby("currency", observed=True).size().max() == 3
    paths = [r.path for r in sb.requests]
    assert sum(p.startswith("/v2/legacy/reporting/batch_detail_records/voice") for p in paths)
    assert sum(p.startswith("/v2/session_analysis/") for p in paths) == len(whole)


def test_session_totals_are_cached(small_account, tmp_path):
    sb, key, _, calls = small_account
    client = tx.Client(key, sb.base_url, cache=tmp_path / "cache.sqlite", progress=False)
    legs = calls["call_leg_id"].head(12).tolist()
    first = tx.session_totals(legs + legs[:3], client=client)  # repeated ids asked once
    sb.clear_log()
    again = tx.session_totals(legs, client=client)
    assert sb.requests == []
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 12


def test_session_totals_show_progress(small_account, capsys):
    sb, key, _, calls = small_account
    client = tx.Client(key, sb.base_url, cache=False, progress=True)
    tx.session_totals(calls["call_leg_id"].head(5), client=client)
    err = capsys.readouterr().err
    assert "session totals" in err and "/5 " in err  # a bar over the 5 sessions


def session_body(event_id: str, total: str = "0.010000") -> dict:
    return {"session_id": event_id, "cost": {"total": total, "currency": "USD"},
            "meta": {"event_count": 1, "products": ["callcontrol-cdrs"]},
            "root": {"id": event_id, "product": "callcontrol-cdrs",
                     "event_name": "callcontrol-cdrs", "children": [],
                     "cost": {"event_cost": total, "cumulative_cost": total,
                              "currency": "USD"}}}


def test_session_totals_run_in_parallel_within_the_clients_concurrency(hostile):
    """Three requests must be in flight together for any to be answered (a barrier), and
    never more than three: the client's concurrency bounds them."""
    import threading

    from hostile import Answer

    concurrency = 3
    barrier = threading.Barrier(concurrency, timeout=10)
    lock = threading.Lock()
    flight = {"now": 0, "most": 0}

    def handler(req):
        with lock:
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return Answer.json({"errors": [{"detail": "not parallel"}]}, status=400)
        finally:
            with lock:
                flight["now"] -= 1
        return Answer.json(session_body(req.path.rsplit("/", 1)[-1]))

    server = hostile(handler)
    client = tx.Client("KEY_x", server.base_url, cache=False, progress=False,
                       concurrency=concurrency)
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(9)]
    out = tx.session_totals(ids, client=client)
    assert sorted(out["event_id"]) == ids
    assert flight["most"] == concurrency
    queries = {tuple(sorted(r.query.items())) for r in server.seen}
    assert queries == {(("expand", "none"), ("include_children", "false"))}


def test_session_totals_tell_the_api_when_each_call_started(hostile):
    from hostile import Answer

    server = hostile(lambda req: Answer.json(session_body(req.path.rsplit("/", 1)[-1])))
    client = tx.Client("KEY_x", server.base_url, cache=False, progress=False)
    calls = pd.DataFrame({
        "call_leg_id": ["00000000-0000-4000-8000-000000000001",
                        "00000000-0000-4000-8000-000000000002"],
        "start_timestamp_utc": pd.to_datetime(["2024-05-01 10:00:00", None], utc=True)})
    tx.session_totals(calls, client=client)
    hints = {r.path.rsplit("/", 1)[-1][-1]: r.query.get("date_time") for r in server.seen}
    assert hints == {"1": "2024-05-01T10:00:00Z", "2": None}


def test_session_totals_bad_input_is_refused_before_any_request(hostile):
    from hostile import Answer

    server = hostile(lambda req: Answer.json(session_body("x")))
    client = tx.Client("KEY_x", server.base_url, cache=False, progress=False)
    good = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(ValueError, match="UUID"):
        tx.session_totals([good, "not-a-uuid"], client=client)
    with pytest.raises(ValueError, match="not both"):
        tx.session_totals([good], start="2024-05-01", client=client)
    with pytest.raises(ValueError, match="not both"):
        tx.session_totals(client=client)
    with pytest.raises(ValueError, match="top=0"):
        tx.session_totals([good], top=0, client=client)
    with pytest.raises(ValueError, match="call_leg_id"):
        tx.session_totals(pd.DataFrame({"x": [good]}), client=client)
    with pytest.raises(TypeError, match="calls"):
        tx.session_totals(good, client=client)
    assert server.seen == []


def test_an_answer_that_is_not_a_session_is_an_unexpected_response(hostile):
    from hostile import Answer

    good = "00000000-0000-4000-8000-000000000001"
    odd = "00000000-0000-4000-8000-000000000002"
    server = hostile(lambda req: Answer.json(
        {"data": []} if req.path.endswith(odd) else session_body(req.path.rsplit("/", 1)[-1])))
    client = tx.Client("KEY_x", server.base_url, cache=False, progress=False)
    with pytest.raises(tx.UnexpectedResponseError, match=f"{odd}.*session_id"):
        tx.session_totals([good, odd], client=client)


def test_an_unknown_session_names_its_id(small_account):
    client = small_account[2]
    missing = "00000000-0000-4000-8000-000000000042"
    with pytest.raises(tx.NotFoundError, match=missing):
        tx.session_totals([missing], client=client)
