"""``POST /api/v1/admin/bootstrap``: set up a fresh instance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from strongroom.api.deps import Db, ServicesDep
from strongroom.identities.bootstrap import BootstrapRequest, bootstrap
from strongroom.web.bodies import body

router = APIRouter(prefix="/api/v1/admin")


@router.post("/bootstrap")
def bootstrap_instance(
    request: Annotated[BootstrapRequest, Depends(body(BootstrapRequest))], session: Db, services: ServicesDep
) -> dict[str, Any]:
    return bootstrap(session, request, services.tokens).as_response()
