"""`/api/v1/auth`: a person signs in (password and, where required, a TOTP code), sees who they are, signs out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from cordon.api.deps import RuntimeDep
from cordon.api.errors import ErrorResponse
from cordon.api.security import SignedIn, client_address
from cordon.auth.models import User
from cordon.auth.roles import ROLE_PERMISSIONS, Role

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    """Credentials. `totp` is the 6-digit code of the authenticator app (required for some roles)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200, description="Username.")
    password: str = Field(min_length=1, max_length=1024, description="Password.")
    totp: str | None = Field(default=None, max_length=16, description="Current TOTP code, when enrolled.")


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current: str = Field(max_length=1024, description="The current password.")
    new: str = Field(max_length=1024, description="The new password (at least `password_min_length`).")


class UserOut(BaseModel):
    """An account, without its secrets."""

    username: str = Field(description="Username.")
    display_name: str = Field(description="Full name, for people reading the audit trail.")
    role: Role = Field(description="Role (DESIGN.md §1).")
    disabled: bool = Field(description="A disabled account cannot sign in.")
    totp_enrolled: bool = Field(description="Has a second factor.")
    locked_until: datetime | None = Field(description="Locked out after failed logins until then (UTC).")
    created_at: datetime = Field(description="Created (UTC).")
    last_login_at: datetime | None = Field(description="Last successful login (UTC).")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username, display_name=user.display_name, role=user.role, disabled=user.disabled,
            totp_enrolled=user.totp_enrolled, locked_until=user.locked_until, created_at=user.created_at,
            last_login_at=user.last_login_at,
        )  # fmt: skip


class MeOut(UserOut):
    """The signed-in person, with what their role allows."""

    permissions: list[str] = Field(description="Permissions of the role, sorted.")


class TokenOut(BaseModel):
    """A session: send `Authorization: Bearer <token>` with every request. Shown once; only its hash is kept."""

    token: str = Field(description="Opaque bearer token.")
    token_type: str = Field(default="bearer", description="`bearer`.")
    expires_at: datetime = Field(description="The session ends at this instant at the latest (UTC).")
    idle_timeout_s: int = Field(description="The session ends after this many seconds without a request.")
    user: UserOut


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Wrong credentials, locked or disabled account, or no session."},
    422: {"model": ErrorResponse, "description": "Malformed request."},
}


@router.post("/login", response_model=TokenOut, responses=_ERRORS, summary="Sign in")
def login(body: LoginIn, request: Request, runtime: RuntimeDep) -> TokenOut:
    """Exchange username, password and TOTP code for a session token. Failed attempts count against the
    account: after `lockout_threshold` in a row it is locked for `lockout_s` (every attempt is audited)."""
    issued = runtime.accounts.sessions.login(body.username, body.password, body.totp, client_address(request))
    return TokenOut(
        token=issued.token, expires_at=issued.expires_at, idle_timeout_s=issued.idle_timeout_s,
        user=UserOut.of(issued.user),
    )  # fmt: skip


@router.post("/logout", status_code=204, responses=_ERRORS, summary="Sign out")
def logout(principal: SignedIn, runtime: RuntimeDep) -> Response:
    """End this session: its token stops working at once."""
    runtime.accounts.sessions.logout(principal)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, responses=_ERRORS, summary="Who am I")
def me(principal: SignedIn, runtime: RuntimeDep) -> MeOut:
    """The signed-in account and the permissions of its role."""
    user = runtime.accounts.users.get(principal.username)
    permissions = sorted(p.value for p in ROLE_PERMISSIONS[user.role])
    return MeOut(**UserOut.of(user).model_dump(), permissions=permissions)


@router.post("/password", status_code=204, responses=_ERRORS, summary="Change my password")
def change_password(body: PasswordChange, principal: SignedIn, runtime: RuntimeDep) -> Response:
    """Change your own password; your other sessions end, this one stays open."""
    runtime.accounts.users.change_own_password(
        principal.username, body.current, body.new, principal.actor(), principal.session_id
    )
    return Response(status_code=204)
