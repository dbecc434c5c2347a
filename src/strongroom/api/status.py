"""Health and instance state: ``GET /api/status``, ``GET /api/v1/admin/config``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from strongroom.api.deps import Db, ServicesDep
from strongroom.api.routing import api_router
from strongroom.clock import iso
from strongroom.identities.bootstrap import is_initialized
from strongroom.web.responses import JsonResponse

router = api_router()


@router.get("/api/status")
async def status(services: ServicesDep) -> Response:
    # Answered without touching the database: load balancers poll it. A Response, not a dict:
    # the route is then called directly (strongroom.web.direct_calls).
    return JsonResponse({
        "date": iso(services.clock.now()),
        "message": "Ok",
        "emailConfigured": False,
        "inviteOnlySignup": False,
        "redisConfigured": services.redis is not None,
        "secretScanningConfigured": False,
        "auditLogStorageDisabled": False,
    })


@router.get("/api/v1/admin/config")
async def admin_config(session: Db) -> dict[str, Any]:
    return {
        "config": {
            "initialized": is_initialized(session),
            "allowSignUp": False,
            "allowedSignUpDomain": None,
            "trustSamlEmails": False,
            "trustLdapEmails": False,
            "trustOidcEmails": False,
            "defaultAuthOrgId": None,
        }
    }
