"""The coordinators' workspace under /manage/: letters, versions, moderation, team, delivery."""

from flask import Blueprint

from signatory.core.access import declare

bp = declare(Blueprint("manage", __name__, url_prefix="/manage"), "coordinator")
