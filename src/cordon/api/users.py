"""`/api/v1/users`: account administration, for the admin role (`users.manage`). Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from cordon.api.auth import UserOut
from cordon.api.deps import RuntimeDep
from cordon.api.errors import ErrorResponse
from cordon.api.security import require
from cordon.auth.models import Principal
from cordon.auth.roles import Permission, Role
from cordon.errors import unprocessable

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Admin = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]


class UserCreate(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(description="2-64 characters: lower-case letters, digits, `.`, `_`, `-`.")
    role: Role = Field(description="Role (DESIGN.md §1).")
    password: str = Field(max_length=1024, description="Initial password (at least `password_min_length`).")
    display_name: str = Field(default="", max_length=200, description="Full name.")


class UserChange(BaseModel):
    """What to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = Field(default=None, description="New role (ends the user's sessions).")
    disabled: bool | None = Field(default=None, description="Disable (ends every session) or enable.")


class PasswordIn(BaseModel):
    """A new password."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024, description="New password.")


class EnrolmentOut(BaseModel):
    """A second-factor enrolment: give the URI (as a QR code) to the user's authenticator app, once."""

    username: str
    totp_uri: str | None = Field(description="`otpauth://` URI; absent when the role needs no second factor.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        401: "Not signed in.",
        403: "The role may not manage users.",
        404: "No such user.",
        409: "The username is taken.",
        422: "Invalid input (weak password, bad username, a role that needs a second factor).",
    }.items()
}


@router.get("", response_model=list[UserOut], responses=_ERRORS, summary="List accounts")
def list_users(_: Admin, runtime: RuntimeDep) -> list[UserOut]:
    return [UserOut.of(user) for user in runtime.accounts.users.list()]


@router.post("", status_code=201, response_model=EnrolmentOut, responses=_ERRORS, summary="Create an account")
def create_user(body: UserCreate, admin: Admin, runtime: RuntimeDep) -> EnrolmentOut:
    user, uri = runtime.accounts.users.add(body.username, body.role, body.password, admin.actor(), body.display_name)
    return EnrolmentOut(username=user.username, totp_uri=uri)


@router.get("/{username}", response_model=UserOut, responses=_ERRORS, summary="One account")
def get_user(username: str, _: Admin, runtime: RuntimeDep) -> UserOut:
    return UserOut.of(runtime.accounts.users.get(username))


@router.patch("/{username}", response_model=UserOut, responses=_ERRORS, summary="Change role or disable")
def change_user(username: str, body: UserChange, admin: Admin, runtime: RuntimeDep) -> UserOut:
    users = runtime.accounts.users
    if username == admin.username and (body.disabled or (body.role is not None and body.role != admin.role)):
        raise unprocessable("own_account", "an administrator cannot disable or demote their own account")
    user = users.get(username)
    if body.role is not None and body.role != user.role:
        user = users.set_role(username, body.role, admin.actor())
    if body.disabled is not None and body.disabled != user.disabled:
        user = users.set_disabled(username, body.disabled, admin.actor())
    return UserOut.of(user)


@router.post("/{username}/password", response_model=UserOut, responses=_ERRORS, summary="Reset a password")
def reset_password(username: str, body: PasswordIn, admin: Admin, runtime: RuntimeDep) -> UserOut:
    """Set a new password; lifts a lock-out and ends the user's sessions."""
    return UserOut.of(runtime.accounts.users.reset_password(username, body.password, admin.actor()))


@router.post("/{username}/totp", response_model=EnrolmentOut, responses=_ERRORS, summary="Enrol a second factor")
def enrol_totp(username: str, admin: Admin, runtime: RuntimeDep) -> EnrolmentOut:
    """A new TOTP secret (the old one stops working); the URI is shown only in this answer."""
    return EnrolmentOut(username=username, totp_uri=runtime.accounts.users.enrol_totp(username, admin.actor()))
