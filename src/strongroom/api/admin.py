"""``POST /api/v1/admin/bootstrap``: set up a fresh instance."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import Depends

from strongroom.api.deps import ServicesDep
from strongroom.api.routing import api_router
from strongroom.app import Services
from strongroom.identities.bootstrap import BootstrapRequest, BootstrapResult, bootstrap
from strongroom.web.bodies import body

router = api_router("/api/v1/admin")


def _bootstrap_in_unit_of_work(services: Services, request: BootstrapRequest) -> BootstrapResult:
    with services.database.sessions() as session:
        result = bootstrap(session, request, services.tokens)
        session.commit()
        return result


@router.post("/bootstrap")
async def bootstrap_instance(
    request: Annotated[BootstrapRequest, Depends(body(BootstrapRequest))], services: ServicesDep
) -> dict[str, Any]:
    # Password hashing is slow by design (argon2id): it runs in a worker thread, in a unit of work of its own.
    result = await anyio.to_thread.run_sync(_bootstrap_in_unit_of_work, services, request)
    return result.as_response()
