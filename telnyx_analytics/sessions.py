"""Session analysis trees: the JSON of ``GET /session_analysis/{record_type}/{event_id}``.

A session is a tree of billable events: a call (``callcontrol-cdrs``) at the root, with
its recordings, transcriptions, AI assistant turns, inference and messages below. Each
node carries its own cost and the cumulative cost of its subtree as 6-decimal strings.
:class:`SessionTree` keeps the JSON as received and offers the events as one typed frame.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from ._money import MONEY

__all__ = ["SessionTree", "summary"]

log = logging.getLogger("telnyx_analytics.sessions")

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


def parse_amount(text: Any, where: str) -> Decimal:
    """A cost string of the API as an exact ``Decimal``; more than 6 decimals raises.

    >>> parse_amount("0.056800", "cost.total")
    Decimal('0.056800')
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float | Decimal):
        raise ValueError(f"{where}: expected a decimal string, got {text!r}")
    try:
        value = Decimal(text) if isinstance(text, str | Decimal) else Decimal(repr(text))
    except InvalidOperation:
        raise ValueError(f"{where}: {text!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError(f"{where}: {text!r} is not a finite amount")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6 and value != value.quantize(Decimal("1e-6")):
        raise ValueError(f"{where}: {text!r} has more than 6 decimals; refusing to round money")
    return value.quantize(Decimal("1e-6"))


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
        ``cumulative_cost`` (``decimal128(18, 6)``), ``currency``, ``n_children``,
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
    def from_response(cls, payload: dict[str, Any]) -> SessionTree:
        """Build a tree from a ``SessionAnalysisResponse`` (the parsed JSON body).

        Parameters
        ----------
        payload : dict
            ``{"session_id", "cost": {"total", "currency"}, "meta": {"event_count",
            "products"}, "root": EventNode}``.

        Returns
        -------
        SessionTree

        Raises
        ------
        ValueError
            When a required field is missing or a cost is not an exact 6-decimal amount;
            the message names the node.

        Examples
        --------
        >>> SessionTree.from_response({"session_id": "s", "meta": {"event_count": 1},
        ...     "cost": {"total": "0", "currency": "USD"},
        ...     "root": {"id": "s", "product": "messaging", "event_name": "message",
        ...              "cost": {"event_cost": "0", "cumulative_cost": "0",
        ...                       "currency": "USD"}}}).session_id
        's'
        """
        head = summary(payload)
        rows = list(_walk(payload["root"]))
        meta = payload.get("meta") or {}
        return cls(
            session_id=head["session_id"],
            total_cost=head["total_cost"],
            currency=head["currency"],
            products=head["products"] if meta.get("products") else list(
                dict.fromkeys(r["product"] for r in rows)),
            event_count=int(meta.get("event_count", len(rows))),
            nodes=_nodes_frame(rows),
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
        own = self.nodes["event_cost"][unexpanded]
        cum = self.nodes["cumulative_cost"][unexpanded]
        return sum((c - o for c, o in zip(cum, own, strict=True)), Decimal("0.000000"))

    def _unexpanded(self) -> np.ndarray:
        """Mask of the leaves whose children the API did not return."""
        nodes = self.nodes
        if not self.truncated or nodes.empty:
            return np.zeros(len(nodes), bool)
        # The API truncates by depth: only leaves on the deepest returned level may hide
        # descendants; a shallower leaf really has none.
        return ((nodes["n_children"] == 0) & (nodes["depth"] == nodes["depth"].max())).to_numpy()

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
        own = nodes["event_cost"].tolist()
        cum = nodes["cumulative_cost"].tolist()
        unexpanded = self._unexpanded()
        found: list[dict[str, Any]] = []

        def report(pos: int, expected: Decimal | None, problem: str) -> None:
            found.append({"id": nodes["id"].iloc[pos], "event_name": nodes["event_name"].iloc[pos],
                          "depth": int(nodes["depth"].iloc[pos]), "cumulative_cost": cum[pos],
                          "expected": expected, "problem": problem})

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
            expected = own[pos] + sum((cum[c] or Decimal(0) for c in children.get(pos, [])),
                                      Decimal(0))
            if unexpanded[pos]:
                if cum[pos] < expected:
                    report(pos, expected, f"cumulative {cum[pos]} is less than its own cost "
                                          f"{own[pos]}")
            elif cum[pos] != expected:
                report(pos, expected, f"cumulative {cum[pos]} != own {own[pos]} + children "
                                      f"{expected - own[pos]} = {expected}")
        if len(nodes) and cum[0] is not None and cum[0] != self.total_cost:
            report(0, self.total_cost, f"root cumulative {cum[0]} != session total "
                                       f"{self.total_cost}")
        columns = ["id", "event_name", "depth", "cumulative_cost", "expected", "problem"]
        out = pd.DataFrame(found, columns=columns)
        for name in ("cumulative_cost", "expected"):
            out[name] = pd.array(out[name].tolist(), dtype=MONEY)
        return out

    def __repr__(self) -> str:
        return (f"SessionTree(session_id={self.session_id!r}, total_cost={self.total_cost} "
                f"{self.currency}, events={len(self.nodes)}/{self.event_count}, "
                f"products={self.products})")


def summary(payload: dict[str, Any]) -> dict[str, Any]:
    """A session's totals from a ``SessionAnalysisResponse``, without walking its tree.

    What many sessions need (``session_totals``), checked as :meth:`SessionTree.from_response`
    checks it: ``session_id``, ``total_cost`` (exact ``Decimal``), ``currency``,
    ``root_cost`` (the root event's own cost), ``events`` (``meta.event_count``; 1 when
    absent) and ``products``.

    >>> summary({"session_id": "s", "cost": {"total": "0.0568", "currency": "USD"},
    ...          "root": {"cost": {"event_cost": "0.0018"}}})["total_cost"]
    Decimal('0.056800')
    """
    if not isinstance(payload, dict):
        raise TypeError(f"payload: expected the decoded JSON object, got {type(payload)}")
    for key in ("session_id", "cost", "root"):
        if key not in payload:
            raise ValueError(f"payload: no {key!r}; not a SessionAnalysisResponse")
    cost = payload["cost"] or {}
    meta = payload.get("meta") or {}
    root = payload["root"] if isinstance(payload["root"], dict) else {}
    root_cost = (root.get("cost") or {}).get("event_cost")
    return {
        "session_id": str(payload["session_id"]),
        "total_cost": parse_amount(cost.get("total"), "cost.total"),
        "currency": str(cost.get("currency") or ""),
        "root_cost": None if root_cost is None else parse_amount(root_cost,
                                                                 "root.cost.event_cost"),
        "events": int(meta.get("event_count", 1)),
        "products": [str(p) for p in meta.get("products") or []],
    }


def _walk(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten the tree depth-first (iteratively: a deep tree must not hit the stack limit)."""
    stack: list[tuple[dict[str, Any], str | None, int]] = [(root, None, 0)]
    while stack:
        node, parent, depth = stack.pop()
        if not isinstance(node, dict):
            raise ValueError(f"event under {parent!r}: expected an object, got {node!r}")
        node_id = node.get("id")
        where = f"event {node_id!r}"
        for key in ("id", "product", "event_name", "cost"):
            if node.get(key) is None:
                raise ValueError(f"{where}: no {key!r}")
        cost = node["cost"]
        children = node.get("children") or []
        relationship = node.get("relationship") or {}
        yield {
            "id": str(node_id),
            "parent_id": parent,
            "depth": depth,
            "product": str(node["product"]),
            "event_name": str(node["event_name"]),
            "event_cost": parse_amount(cost.get("event_cost"), f"{where} cost.event_cost"),
            "cumulative_cost": parse_amount(cost.get("cumulative_cost"),
                                            f"{where} cost.cumulative_cost"),
            "currency": cost.get("currency"),
            "n_children": len(children),
            "relationship": relationship.get("type") if isinstance(relationship, dict) else None,
            "record": node.get("record") or {},
        }
        # Reversed so that the first child is visited first.
        stack.extend((child, str(node_id), depth + 1) for child in reversed(children))


def _nodes_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = pd.DataFrame({name: [r[name] for r in rows] for name in NODE_COLUMNS})
    for name in ("id", "parent_id", "product", "event_name", "relationship"):
        base[name] = base[name].astype("string")
    base["depth"] = base["depth"].astype(np.int64)
    base["n_children"] = base["n_children"].astype(np.int64)
    base["event_cost"] = pd.array(base["event_cost"].tolist(), dtype=MONEY)
    base["cumulative_cost"] = pd.array(base["cumulative_cost"].tolist(), dtype=MONEY)
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
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            dtype = "Int64"
        elif present and all(isinstance(v, int | float) and not isinstance(v, bool)
                             for v in present):
            dtype = "float64"
        elif present and all(isinstance(v, str) for v in present):
            dtype = "string"
        else:
            dtype = object
        columns[name] = pd.array(values, dtype=dtype)
    return pd.DataFrame(columns, index=index)
