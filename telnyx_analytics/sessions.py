"""Session analysis trees: the JSON of ``GET /session_analysis/{record_type}/{event_id}``.

A session is a tree of billable events: a call (``callcontrol-cdrs``) at the root, with
its recordings, transcriptions, AI assistant turns, inference and messages below. Each
node carries its own cost and the cumulative cost of its subtree as 6-decimal strings.
:class:`SessionTree` keeps the JSON as received and offers the events as one typed frame.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ._money import MoneyError, money_series, parse, to_decimal, to_micros
from .errors import UnexpectedResponseError

__all__ = ["SessionTree", "summary"]

log = logging.getLogger("telnyx_analytics.sessions")

#: Events shown by a tree's notebook representation; the rest are counted.
HTML_ROWS = 60

#: The columns every ``SessionTree.nodes`` frame starts with; record fields follow.
NODE_COLUMNS = (
    "id",
    "parent_id",
    "depth",
    "product",
    "event_name",
    "event_cost",
    "cumulative_cost",
    "currency",
    "n_children",
    "relationship",
)


#: Where a session tree comes from, for error messages.
ORIGIN = "/session_analysis"


def _bad(reason: str, *, field: str | None = None, record: Any = None,
         origin: str = ORIGIN) -> UnexpectedResponseError:
    return UnexpectedResponseError(origin, reason, field=field, record=record)


@dataclass(frozen=True, eq=False)
class SessionTree:
    """A session analysis: a tree of events with exact costs.

    Attributes
    ----------
    session_id : str
    total_cost : Decimal
        The session total (``cost.total``), exact.
    currency : str
    products : list of str
        Distinct products of the session (``meta.products``).
    event_count : int
        Events in the whole session (``meta.event_count``); more than ``len(nodes)`` when
        the API returned a truncated tree (``max_depth``, ``include_children=false``).
    nodes : DataFrame
        One row per event, parents before children (depth-first): ``id``, ``parent_id``,
        ``depth`` (root 0), ``product``, ``event_name``, ``event_cost`` and
        ``cumulative_cost`` (money, ``float64``), ``currency``, ``n_children``,
        ``relationship`` (its type, NA at the root), then the fields of each event's
        ``record`` (prefixed ``record.`` when a name clashes with the columns above).
    raw : dict
        The JSON as received.

    Examples
    --------
    >>> payload = {"session_id": "call-123", "cost": {"total": "0.001800", "currency": "USD"},
    ...            "meta": {"event_count": 1, "products": ["callcontrol-cdrs"]},
    ...            "root": {"id": "call-123", "product": "callcontrol-cdrs",
    ...                     "event_name": "callcontrol-cdrs", "record": {"duration": 42},
    ...                     "links": {"self": "", "records": ""}, "children": [],
    ...                     "cost": {"event_cost": "0.001800", "cumulative_cost": "0.001800",
    ...                              "currency": "USD"}}}
    >>> tree = SessionTree.from_response(payload)
    >>> tree.total_cost, len(tree.nodes), int(tree.nodes.loc[0, "duration"])
    (Decimal('0.001800'), 1, 42)
    """

    session_id: str
    total_cost: Decimal
    currency: str
    products: list[str]
    event_count: int
    nodes: pd.DataFrame = field(repr=False)
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, payload: dict[str, Any], *, origin: str = ORIGIN) -> SessionTree:
        """Build a tree from a ``SessionAnalysisResponse`` (the parsed JSON body).

        Parameters
        ----------
        payload : dict
            ``{"session_id", "cost": {"total", "currency"}, "meta": {"event_count",
            "products"}, "root": EventNode}``.
        origin : str, optional
            Where the payload came from (the request's path), for error messages.

        Returns
        -------
        SessionTree

        Raises
        ------
        UnexpectedResponseError
            When a required field is missing or of the wrong type, or a cost is not an
            amount with at most six decimals (the money policy: docs/concepts/money-and-time.md);
            the error names the field and the node.

        Examples
        --------
        >>> SessionTree.from_response({"session_id": "s", "meta": {"event_count": 1},
        ...     "cost": {"total": "0", "currency": "USD"},
        ...     "root": {"id": "s", "product": "messaging", "event_name": "message",
        ...              "cost": {"event_cost": "0", "cumulative_cost": "0",
        ...                       "currency": "USD"}}}).session_id
        's'
        """
        head = _head(payload, origin)
        rows = list(_walk(payload["root"], origin))
        event_count = len(rows) if head["events"] is None else head["events"]
        if event_count < len(rows):
            raise _bad(f"{event_count} is not a count of events (the tree holds {len(rows)})",
                       field="meta.event_count", origin=origin)
        return cls(
            session_id=head["session_id"],
            total_cost=head["total_cost"],
            currency=head["currency"],
            products=head["products"] if head["products"] else list(
                dict.fromkeys(r["product"] for r in rows)),
            event_count=event_count,
            nodes=_nodes_frame(rows, origin),
            raw=payload,
        )

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def truncated(self) -> bool:
        """True when the session has more events than the tree holds."""
        return self.event_count > len(self.nodes)

    def children(self, position: int) -> list[int]:
        """Row positions in ``nodes`` of the children of the node at row ``position``."""
        return self._children().get(position, [])

    def _children(self) -> dict[int, list[int]]:
        # Built once per tree: rows are depth-first, so a parent is the nearest earlier
        # row one level up.
        cache = self.__dict__.get("_child_cache")
        if cache is None:
            cache = {}
            stack: list[int] = []
            for pos, depth in enumerate(self.nodes["depth"].to_numpy()):
                del stack[depth:]
                if stack:
                    cache.setdefault(stack[-1], []).append(pos)
                stack.append(pos)
            object.__setattr__(self, "_child_cache", cache)
        return cache

    def iter_nodes(self) -> Iterator[tuple[int, pd.Series]]:
        """``(row position, row)`` for every event, parents before children."""
        for pos in range(len(self.nodes)):
            yield pos, self.nodes.iloc[pos]

    def hidden_cost(self) -> Decimal:
        """Cost below the deepest returned nodes of a truncated tree (0 for a whole tree)."""
        if not self.truncated:
            return Decimal("0.000000")
        unexpanded = self._unexpanded()
        own, _ = to_micros(self.nodes["event_cost"][unexpanded], "event_cost")
        cum, _ = to_micros(self.nodes["cumulative_cost"][unexpanded], "cumulative_cost")
        return to_decimal(sum(int(c) - int(o) for c, o in zip(cum, own, strict=True)))

    def _unexpanded(self) -> np.ndarray:
        """Mask of the leaves whose children the API did not return."""
        nodes = self.nodes
        if not self.truncated or nodes.empty:
            return np.zeros(len(nodes), bool)
        # The API truncates by depth: only leaves on the deepest returned level may hide
        # descendants; a shallower leaf really has none.
        leaves = (nodes["n_children"] == 0) & (nodes["depth"] == nodes["depth"].max())
        return np.asarray(leaves, dtype=bool)

    def check(self) -> pd.DataFrame:
        """The nodes that break the cost invariant (an empty frame when there are none).

        The invariant: a node's cumulative cost is its own cost plus its children's
        cumulative costs; the root's cumulative cost is the session total; every node is
        in the session's currency. In a truncated tree, the deepest leaves may hold
        descendants that were not returned, so for them cumulative >= own is required.

        Returns
        -------
        DataFrame
            ``id``, ``event_name``, ``depth``, ``cumulative_cost``, ``expected`` (own plus
            children) and ``problem`` (a readable sentence), one row per violation.

        Examples
        --------
        >>> def node(i, own, cum, children=()):
        ...     return {"id": i, "product": "p", "event_name": "e", "children": list(children),
        ...             "cost": {"event_cost": own, "cumulative_cost": cum, "currency": "USD"}}
        >>> bad = SessionTree.from_response({"session_id": "s", "meta": {"event_count": 2},
        ...     "cost": {"total": "0.3", "currency": "USD"},
        ...     "root": node("s", "0.1", "0.3", [node("k", "0.1", "0.1")])})
        >>> bad.check()["id"].tolist()
        ['s']
        """
        nodes = self.nodes
        # Exact integer micro-units, None where missing.
        own = _exact(nodes["event_cost"], "event_cost")
        cum = _exact(nodes["cumulative_cost"], "cumulative_cost")
        total = int(self.total_cost.scaleb(6))
        unexpanded = self._unexpanded()
        found: list[dict[str, Any]] = []

        def report(pos: int, expected: int | None, problem: str) -> None:
            found.append({"id": nodes["id"].iloc[pos], "event_name": nodes["event_name"].iloc[pos],
                          "depth": int(nodes["depth"].iloc[pos]), "cumulative_cost": cum[pos],
                          "expected": expected, "problem": problem})

        def text(micros: int | None) -> str:
            return str(to_decimal(micros or 0))

        children = self._children()
        for pos in range(len(nodes)):
            node_currency = nodes["currency"].iloc[pos]
            if str(node_currency) != self.currency:
                report(pos, None, f"currency {node_currency} differs from the session's "
                                  f"{self.currency}")
                continue
            if cum[pos] is None or own[pos] is None:
                report(pos, None, "missing cost")
                continue
            mine, whole = own[pos] or 0, cum[pos] or 0
            expected = mine + sum(cum[c] or 0 for c in children.get(pos, []))
            if unexpanded[pos]:
                if whole < expected:
                    report(pos, expected, f"cumulative {text(whole)} is less than its own cost "
                                          f"{text(mine)}")
            elif whole != expected:
                report(pos, expected, f"cumulative {text(whole)} != own {text(mine)} + "
                                      f"children {text(expected - mine)} = {text(expected)}")
        if len(nodes) and cum[0] is not None and cum[0] != total:
            report(0, total, f"root cumulative {text(cum[0])} != session total "
                             f"{self.total_cost}")
        columns = ["id", "event_name", "depth", "cumulative_cost", "expected", "problem"]
        out = pd.DataFrame(found, columns=columns)
        for name in ("cumulative_cost", "expected"):
            values = out[name].tolist()
            out[name] = money_series(np.array([v or 0 for v in values], np.int64), out.index,
                                     np.array([v is not None for v in values], bool))
        return out

    def _repr_html_(self) -> str:
        """The tree in a notebook: its total and currency, then one indented row per event.

        Costs are shown exactly, to the micro-unit; a long session shows its first
        ``HTML_ROWS`` events (depth-first) and says how many more there are.
        """
        nodes = self.nodes
        head = (f"<p><b>Session {html.escape(self.session_id)}</b>: total "
                f"<b>{self.total_cost:.6f} {html.escape(self.currency)}</b>, "
                f"{self.event_count} events")
        if self.truncated:
            head += f" ({len(nodes)} returned)"
        head += "</p>"
        cell = 'style="text-align:{};padding:1px 8px"'
        rows = [f"<tr><th {cell.format('left')}>event</th><th {cell.format('left')}>product"
                f"</th><th {cell.format('right')}>own cost</th>"
                f"<th {cell.format('right')}>total with events below</th></tr>"]
        shown = nodes.head(HTML_ROWS)
        for depth, name, product, own, cum in zip(
                shown["depth"], shown["event_name"], shown["product"], shown["event_cost"],
                shown["cumulative_cost"], strict=True):
            indent = f'style="text-align:left;padding:1px 8px 1px {0.5 + 1.5 * depth}em"'
            branch = "└ " if depth else ""
            rows.append(f"<tr><td {indent}>{branch}{html.escape(str(name))}</td>"
                        f"<td {cell.format('left')}>{html.escape(str(product))}</td>"
                        f"<td {cell.format('right')}>{own:.6f}</td>"
                        f"<td {cell.format('right')}>{cum:.6f}</td></tr>")
        if len(nodes) > HTML_ROWS:
            rows.append(f'<tr><td colspan="4" {cell.format("left")}><i>... '
                        f"{len(nodes) - HTML_ROWS} more events (see .nodes)</i></td></tr>")
        return f"<div>{head}<table>{''.join(rows)}</table></div>"

    def __repr__(self) -> str:
        return (f"SessionTree(session_id={self.session_id!r}, total_cost={self.total_cost} "
                f"{self.currency}, events={len(self.nodes)}/{self.event_count}, "
                f"products={self.products})")


def summary(payload: dict[str, Any], *, origin: str = ORIGIN) -> dict[str, Any]:
    """A session's totals from a ``SessionAnalysisResponse``, without walking its tree.

    What many sessions need (``session_totals``), checked as :meth:`SessionTree.from_response`
    checks it: ``session_id``, ``total_cost`` (exact ``Decimal``), ``currency``,
    ``root_cost`` (the root event's own cost), ``events`` (``meta.event_count``; 1 when
    absent) and ``products``. A malformed answer raises ``UnexpectedResponseError``
    naming ``origin`` and the field.

    >>> summary({"session_id": "s", "cost": {"total": "0.0568", "currency": "USD"},
    ...          "root": {"cost": {"event_cost": "0.0018"}}})["total_cost"]
    Decimal('0.056800')
    """
    head = _head(payload, origin)
    root = payload["root"]
    if not isinstance(root, dict) or not isinstance(root.get("cost") or {}, dict):
        raise _bad(f"expected an event object with a cost, got {root!r:.80}", field="root",
                   origin=origin)
    root_cost = (root.get("cost") or {}).get("event_cost")
    micros, valid = _amounts([root_cost], "root.cost.event_cost", [root.get("id")], origin)
    return {**head, "root_cost": to_decimal(int(micros[0])) if valid[0] else None,
            "events": 1 if head["events"] is None else head["events"]}


def _head(payload: Any, origin: str) -> dict[str, Any]:
    """The checked top of a ``SessionAnalysisResponse``: id, total, currency, meta."""
    if not isinstance(payload, dict):
        raise _bad(f"expected a SessionAnalysisResponse object, got {type(payload).__name__}",
                   origin=origin)
    for key in ("session_id", "cost", "root"):
        if key not in payload:
            raise _bad(f"no {key!r}; not a SessionAnalysisResponse", field=key, origin=origin)
    session_id = payload["session_id"]
    if not isinstance(session_id, str | int) or isinstance(session_id, bool):
        raise _bad(f"{session_id!r:.80} is not an id", field="session_id", origin=origin)
    cost = payload["cost"]
    if not isinstance(cost, dict):
        raise _bad(f"expected an object, got {cost!r:.80}", field="cost", origin=origin)
    total, _ = _amounts([cost.get("total")], "cost.total", [session_id], origin, required=True)
    currency = cost.get("currency")
    if not isinstance(currency, str | None):
        raise _bad(f"{currency!r:.80} is not a currency", field="cost.currency", origin=origin)
    meta = payload.get("meta") or {}
    if not isinstance(meta, dict):
        raise _bad(f"expected an object, got {meta!r:.80}", field="meta", origin=origin)
    events = meta.get("event_count")
    if events is not None and (not isinstance(events, int) or isinstance(events, bool)
                               or not 0 < events < 2**63):
        raise _bad(f"{events!r:.80} is not a count of events", field="meta.event_count",
                   origin=origin)
    products = meta.get("products") or []
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        raise _bad(f"expected a list of product names, got {products!r:.80}",
                   field="meta.products", origin=origin)
    return {"session_id": str(session_id), "total_cost": to_decimal(int(total[0])),
            "currency": currency or "", "events": events, "products": list(products)}


def _exact(values: pd.Series, name: str) -> list[int | None]:
    micros, valid = to_micros(values, name)
    return [int(m) if ok else None for m, ok in zip(micros, valid, strict=True)]


def _amounts(values: list[Any], field: str, ids: list[Any], origin: str,
             required: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Amounts of one field of every node, by the money policy, or an error naming the node."""
    try:
        micros, valid = parse(values, field)
    except MoneyError as exc:
        record = ids[exc.position] if exc.position is not None else None
        raise _bad(exc.reason, field=field, record=record, origin=origin) from None
    if required and not valid.all():
        pos = int(np.flatnonzero(~valid)[0])
        raise _bad("no amount (null)", field=field, record=ids[pos], origin=origin)
    return micros, valid


def _walk(root: Any, origin: str = ORIGIN) -> Iterator[dict[str, Any]]:
    """Flatten the tree depth-first (iteratively: a deep tree must not hit the stack limit)."""
    stack: list[tuple[Any, str | None, int]] = [(root, None, 0)]
    while stack:
        node, parent, depth = stack.pop()
        if not isinstance(node, dict):
            raise _bad(f"an event is not an object: {node!r:.80}",
                       field="root" if parent is None else "children", record=parent,
                       origin=origin)
        node_id = node.get("id")
        for key in ("id", "product", "event_name", "cost"):
            if node.get(key) is None:
                raise _bad(f"no {key!r}", field=key, record=node_id, origin=origin)
        if not isinstance(node_id, str | int) or isinstance(node_id, bool):
            raise _bad(f"{node_id!r:.80} is not an id", field="id", record=parent, origin=origin)
        for key in ("product", "event_name"):
            if not isinstance(node[key], str):
                raise _bad(f"{node[key]!r:.80} is not a name", field=key, record=node_id,
                           origin=origin)
        cost = node["cost"]
        children = node.get("children") or []
        record = node.get("record") or {}
        for key, value, kind in (("cost", cost, dict), ("children", children, list),
                                 ("record", record, dict)):
            if not isinstance(value, kind):
                raise _bad(f"expected {'an object' if kind is dict else 'a list'}, got "
                           f"{value!r:.80}", field=key, record=node_id, origin=origin)
        currency = cost.get("currency")
        if not isinstance(currency, str | None):
            raise _bad(f"{currency!r:.80} is not a currency", field="cost.currency",
                       record=node_id, origin=origin)
        relationship = node.get("relationship") or {}
        yield {
            "id": str(node_id),
            "parent_id": parent,
            "depth": depth,
            "product": node["product"],
            "event_name": node["event_name"],
            "event_cost": cost.get("event_cost"),
            "cumulative_cost": cost.get("cumulative_cost"),
            "currency": currency,
            "n_children": len(children),
            "relationship": relationship.get("type") if isinstance(relationship, dict) else None,
            "record": record,
        }
        # Reversed so that the first child is visited first.
        stack.extend((child, str(node_id), depth + 1) for child in reversed(children))


def _nodes_frame(rows: list[dict[str, Any]], origin: str = ORIGIN) -> pd.DataFrame:
    base = pd.DataFrame({name: [r[name] for r in rows] for name in NODE_COLUMNS})
    for name in ("id", "parent_id", "product", "event_name", "relationship"):
        base[name] = base[name].astype("string")
    base["depth"] = base["depth"].astype(np.int64)
    base["n_children"] = base["n_children"].astype(np.int64)
    ids = [r["id"] for r in rows]
    for name in ("event_cost", "cumulative_cost"):
        # From the rows as received: a frame column would have made None a NaN already.
        micros, valid = _amounts([r[name] for r in rows], f"cost.{name}", ids, origin,
                                 required=True)
        base[name] = money_series(micros, base.index, valid)
    base["currency"] = base["currency"].astype("category")
    records = _records_frame([r["record"] for r in rows], base.index)
    records = records.rename(columns={c: f"record.{c}" for c in records.columns
                                      if c in NODE_COLUMNS})
    return pd.concat([base, records], axis=1) if len(records.columns) else base


def _records_frame(records: list[dict[str, Any]], index: pd.Index) -> pd.DataFrame:
    """The records' fields as columns, typed without losing anything.

    Records of different products have different fields, so most columns have gaps;
    pandas alone would turn a gappy integer column into float64 and round a 19-digit id.
    Here whole numbers become ``Int64``, other numbers ``float64``, text the string dtype,
    flags ``boolean``; anything else (mixed, nested) stays as given.
    """
    names = list(dict.fromkeys(k for r in records for k in r))
    columns: dict[str, Any] = {}
    for name in names:
        values = [r.get(name) for r in records]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            dtype: Any = "boolean"
        elif present and all(isinstance(v, int) and not isinstance(v, bool)
                             and -(2**63) <= v < 2**63 for v in present):
            dtype = "Int64"
        elif present and all(isinstance(v, int | float) and not isinstance(v, bool)
                             and not (isinstance(v, int) and abs(v) >= 2**53)
                             for v in present):
            dtype = "float64"
        elif present and all(isinstance(v, str) for v in present):
            dtype = "string"
        else:
            dtype = object
        columns[name] = pd.array(values, dtype=dtype)
    return pd.DataFrame(columns, index=index)
