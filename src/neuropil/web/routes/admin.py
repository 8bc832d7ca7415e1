"""``/admin/users``: the approval queue (administrators only)."""

from __future__ import annotations

from starlette.responses import Response

from neuropil.db.models import UserStatus
from neuropil.services import accounts
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.state import FormDep, WebDep

router = page_router()

ACTIONS = {"approve": UserStatus.APPROVED, "reject": UserStatus.REJECTED}


@router.get("/admin/users")
def users_page(web: WebDep) -> Response:
    users = accounts.list_users(web.ctx, user=web.user)
    pending = [u for u in users if u.status == UserStatus.PENDING and not u.is_admin]
    others = [u for u in users if u not in pending]
    return render(web, "admin_users.html", pending=pending, others=others)


@router.post("/admin/users/{username}/{action}")
def set_status(username: str, action: str, web: WebDep, form: FormDep) -> Response:
    status = ACTIONS.get(action)
    if status is None:
        from neuropil.errors import NotFound

        raise NotFound(f"No action {action!r}; use approve or reject.")
    user = accounts.set_status(web.ctx, user=web.user, username=username, status=status)
    verb = "Approved" if status == UserStatus.APPROVED else "Rejected"
    return web.redirect("/admin/users", flash=f"{verb} {user.username}.")
