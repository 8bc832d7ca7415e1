"""Owner actions: create a dandiset, edit its metadata, manage owners, publish, delete.

Every action calls a service, which checks the permission (owners and admins) in its own
transaction; the handlers only turn forms into arguments and errors into messages.
"""

from __future__ import annotations

from starlette.responses import Response

from neuropil.core.ids import DRAFT
from neuropil.errors import BadRequest, PermissionDenied, SchemaErrors
from neuropil.services import auth, dandisets, embargo, owners, publish, versions
from neuropil.web.errors import page_router
from neuropil.web.metadata_form import LICENSES, ROLES, FormProblem, MetadataForm, place_errors
from neuropil.web.render import render
from neuropil.web.routes.dandiset import VersionPage, load_version
from neuropil.web.state import FormDep, Web, WebDep, field

router = page_router()


# -- create ----------------------------------------------------------------------------------
@router.get("/dandiset/create")
def create_form(web: WebDep) -> Response:
    auth.require_approved(web.user)
    return render(web, "create.html", error=None, values={}, licenses=LICENSES)


@router.post("/dandiset/create")
def create(web: WebDep, form: FormDep) -> Response:
    names = ("name", "description", "license", "embargo", "embargo_end_date")
    values = {k: field(form, k) for k in (*names, "funding_source", "award_number")}
    metadata: dict[str, object] = {}
    if values["description"].strip():
        metadata["description"] = values["description"].strip()
    if values["license"] in LICENSES:
        metadata["license"] = [values["license"]]
    try:
        terms = None
        if values["embargo"]:
            terms = embargo.parse_terms(
                funding_source=values["funding_source"],
                award_number=values["award_number"],
                end_date=values["embargo_end_date"],
            )
        info = dandisets.create_dandiset(
            web.ctx, user=web.user, name=values["name"], metadata=metadata, embargo=terms
        )
    except BadRequest as exc:
        return render(
            web, "create.html", status=400, error=exc.message, values=values, licenses=LICENSES
        )
    ident = info.dandiset.identifier
    return web.redirect(f"/dandiset/{ident}/draft", flash=f"Created dandiset {ident}.")


# -- metadata --------------------------------------------------------------------------------
def _editable(web: Web, identifier: str) -> VersionPage:
    page = load_version(web, identifier, DRAFT)
    auth.require_approved(web.user)
    if not page.owner:
        raise PermissionDenied(
            f"You do not own dandiset {identifier}; only its owners may edit its metadata."
        )
    return page


def _editor(
    web: Web,
    page: VersionPage,
    form: MetadataForm,
    errors: dict[str, list[str]],
    *,
    status: int = 200,
    message: str | None = None,
) -> Response:
    pending = place_errors(page.view.version.validation_errors or [])
    return render(
        web,
        "edit_metadata.html",
        status=status,
        page=page,
        form=form,
        errors=errors,
        pending=pending,
        message=message,
        licenses=LICENSES,
        roles=ROLES,
    )


@router.get("/dandiset/{identifier}/draft/metadata")
def edit_form(identifier: str, web: WebDep) -> Response:
    page = _editable(web, identifier)
    stored = page.view.version
    return _editor(web, page, MetadataForm.from_metadata(stored.name, stored.metadata_), {})


@router.post("/dandiset/{identifier}/draft/metadata")
def save_metadata(identifier: str, web: WebDep, form: FormDep) -> Response:
    page = _editable(web, identifier)
    edited = MetadataForm.from_form(form)
    rows: list[int] = []
    try:
        name, metadata, rows = edited.to_metadata(page.view.version.metadata_)
        versions.update_draft_metadata(
            web.ctx,
            user=web.user,
            identifier=identifier,
            version=DRAFT,
            name=name,
            metadata=metadata,
            strict=True,
        )
    except FormProblem as exc:
        return _editor(web, page, edited, exc.errors, status=400, message=str(exc))
    except SchemaErrors as exc:
        count = len(exc.errors)
        fields = "fields need" if count != 1 else "field needs"
        message = f"Not saved: {count} {fields} fixing (see below)."
        return _editor(
            web, page, edited, place_errors(exc.errors, rows), status=400, message=message
        )
    except BadRequest as exc:
        key = "name" if "name" in exc.message else ""
        return _editor(web, page, edited, {key: [exc.message]}, status=400, message=exc.message)
    return web.redirect(f"/dandiset/{identifier}/draft", flash="Metadata saved.")


# -- owners ----------------------------------------------------------------------------------
@router.post("/dandiset/{identifier}/owners/add")
def add_owner(identifier: str, web: WebDep, form: FormDep) -> Response:
    username = field(form, "username").strip()
    owners.add_owner(web.ctx, user=web.user, identifier=identifier, username=username)
    return web.redirect(
        f"/dandiset/{identifier}/draft#owners", flash=f"{username} is an owner now."
    )


@router.post("/dandiset/{identifier}/owners/remove")
def remove_owner(identifier: str, web: WebDep, form: FormDep) -> Response:
    username = field(form, "username")
    owners.remove_owner(web.ctx, user=web.user, identifier=identifier, username=username)
    target = f"/dandiset/{identifier}/draft#owners"
    if web.user is not None and username == web.user.username and not web.user.is_admin:
        target = f"/dandiset/{identifier}"
    return web.redirect(target, flash=f"Removed {username} from the owners.")


# -- publish and delete ----------------------------------------------------------------------
@router.post("/dandiset/{identifier}/draft/publish")
def publish_draft(identifier: str, web: WebDep, form: FormDep) -> Response:
    publish.request_publish(
        web.ctx,
        user=web.user,
        identifier=identifier,
        version=DRAFT,
        release_notes=field(form, "release_notes"),
        base_url=web.base,
    )
    return web.redirect(
        f"/dandiset/{identifier}/draft",
        flash="Publishing: the new version appears in the version list in a moment.",
    )


@router.post("/dandiset/{identifier}/delete")
def delete(identifier: str, web: WebDep, form: FormDep) -> Response:
    if field(form, "confirm").strip() != identifier:
        raise BadRequest(f"Type the identifier {identifier} to confirm the deletion.")
    dandisets.delete_dandiset(web.ctx, user=web.user, identifier=identifier)
    return web.redirect("/dandiset/?mine=1", flash=f"Deleted dandiset {identifier}.")
