"""The misbehaving test server does what the reliability tests rely on."""

import pytest
import requests
from hostile import Answer, Seen


def _answer(req: Seen) -> Answer:
    if req.path == "/ok":
        return Answer.json({"data": [1]})
    return Answer.raw("abcdef", "text/csv", length=100, reset_after=3)


def test_hostile_server_answers_and_misbehaves(hostile) -> None:
    srv = hostile(_answer)
    assert requests.get(srv.base_url + "/ok", timeout=5).json() == {"data": [1]}
    with pytest.raises(requests.exceptions.RequestException):
        _ = requests.get(srv.base_url + "/bad", timeout=5).content
    assert [s.path for s in srv.seen] == ["/ok", "/bad"]
