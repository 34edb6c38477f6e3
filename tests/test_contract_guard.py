"""The contract tests skip in a fresh clone without ../shared, but never under .ci/run."""

from pathlib import Path

import contract
import pytest


def test_a_missing_description_skips_in_a_fresh_clone(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(contract, "SPEC_PATH", tmp_path / "absent.yml")
    monkeypatch.delenv(contract.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"absent\.yml"):
        contract.require_spec()


def test_a_missing_description_fails_when_required(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(contract, "SPEC_PATH", tmp_path / "absent.yml")
    monkeypatch.setenv(contract.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=contract.REQUIRE_ENV):
        contract.require_spec()


def test_ci_requires_the_description() -> None:
    run = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert f"export {contract.REQUIRE_ENV}=1" in run
