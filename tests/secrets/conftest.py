"""What the secrets tests share: a project, a workload that is a member of it, and where to read and write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.projects.workloads import Spire, Workload, member_of
from tests.projects.workloads import spire  # noqa: F401  (fixture)


@pytest.fixture
def project(api: Api) -> dict[str, Any]:
    return api.create_project()


@pytest.fixture
def member(api: Api, spire: Spire, project: dict[str, Any]) -> Workload:  # noqa: F811
    return member_of(api, spire, project["id"], "member")


def where(project: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The project's dev environment, plus ``extra``: the query or body of a secrets call."""
    return {"workspaceId": project["id"], "environment": "dev", **extra}
