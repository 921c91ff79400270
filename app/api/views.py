"""API pages for people: personal access tokens in settings, and the browsable API docs."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.api import docs, services
from app.api.core import token_creation_limit
from app.api.forms import NewTokenForm, RevokeTokenForm
from app.errors import ValidationFailed

bp = Blueprint("api", __name__)


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
@token_creation_limit()
def tokens():
    form = NewTokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            token, raw = services.create_token(current_user.id, form.name.data, form.scopes())
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                target = getattr(form, name, None)
                if target is not None:
                    target.errors = list(messages)
            status = 422
        else:
            new_token = {"token": token, "raw": raw}
            form = NewTokenForm(formdata=None)
    elif form.errors:
        status = 422
    return render_template(
        "api/tokens.html",
        form=form,
        revoke_form=RevokeTokenForm(),
        tokens=services.tokens_of(current_user.id),
        new_token=new_token,
    ), status


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    form = RevokeTokenForm()
    if form.validate_on_submit():
        token = services.revoke_token(token_id, current_user.id)
        flash(f"Token “{token.name}” revoked. Programs using it can no longer sign in.", "success")
    return redirect(url_for("api.tokens"), code=303)


@bp.get("/api/v1/docs")
def docs_page():
    api = current_app.extensions["mutual_api"]
    return render_template("api/docs.html", doc=docs.describe(api.spec.to_dict()))
