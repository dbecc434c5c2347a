"""``/api/v1/auth/token``: renew and revoke an access token (the token is in the body; no bearer needed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field

from strongroom.api.deps import Db, ServicesDep
from strongroom.api.routing import api_router
from strongroom.web.bodies import body

router = api_router("/api/v1/auth/token")


class AccessTokenBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    accessToken: str = Field(min_length=1)


@router.post("/renew")
async def renew(
    request: Annotated[AccessTokenBody, Depends(body(AccessTokenBody))], session: Db, services: ServicesDep
) -> dict[str, Any]:
    return services.tokens.renew(session, request.accessToken.strip()).as_response()


@router.post("/revoke")
async def revoke(
    request: Annotated[AccessTokenBody, Depends(body(AccessTokenBody))], session: Db, services: ServicesDep
) -> dict[str, Any]:
    services.tokens.revoke(session, request.accessToken.strip())
    return {"message": "Successfully revoked access token"}
