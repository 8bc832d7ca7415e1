"""Tokens and the current user."""

from __future__ import annotations

from fastapi import Request

from neuropil.api import schemas, serializers
from neuropil.api.caller import CurrentUser
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.request import Ctx
from neuropil.services import auth

router = Router(prefix="/api")


@router.get(
    "/auth/token/", summary="Check a token (answers it back)", responses=schemas.ok("Token")
)
def get_token(request: Request, user: CurrentUser) -> JSON:
    # Tokens are stored hashed, so the token can only be echoed: the official client calls
    # this to validate a key, and any 2xx means "valid".
    auth.require_approved(user)
    return JSON(request.headers["authorization"].partition(" ")[2].strip())


@router.post("/auth/token/", summary="Replace the caller's token", responses=schemas.ok("Token"))
def refresh_token(ctx: Ctx, user: CurrentUser) -> JSON:
    user = auth.require_approved(user)
    return JSON(auth.regenerate_token(ctx, username=user.username))


@router.get("/users/me/", summary="The authenticated user", responses=schemas.ok("User"))
def me(user: CurrentUser) -> JSON:
    return JSON(serializers.user(auth.require_user(user)))
