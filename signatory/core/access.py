"""The sides of the site, who may enter each, and the route tables modules declare for them.

A blueprint here is one *side* of the site, named by its endpoints (``public.letter``,
``signing.confirm_page``, ``manage.edit``): templates link by those names, so a side is
shared by every module with pages on it. Each module keeps its routes in a ``Routes``
table beside its views; ``create_app`` builds the sides afresh for each app and each
module's ``init_app`` adds its tables to them. Importing a module registers nothing.

Every blueprint declares a policy, and a test fails on any route whose blueprint has none:
``public`` (anyone), ``api`` (anyone, JSON answers) and ``coordinator`` (the workspace,
where each view also declares its own rule: see ``team.access``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Flask

POLICIES = frozenset({"public", "api", "coordinator"})

F = TypeVar("F", bound=Callable[..., Any])


def declare(blueprint: Blueprint, policy: str) -> Blueprint:
    if policy not in POLICIES:
        raise ValueError(f"unknown access policy {policy!r}")
    blueprint.access_policy = policy  # type: ignore[attr-defined]
    return blueprint


def policy_of(blueprint: Blueprint | None) -> str | None:
    return getattr(blueprint, "access_policy", None)


class Routes:
    """One module's routes on one side (``blueprint``), added to it by ``register``.

    Used like a blueprint (``@routes.get("/letters/<slug>/stats")``); the endpoint is
    ``<blueprint>.<function name>``, as if the view were declared on the blueprint itself.
    """

    def __init__(self, blueprint: str) -> None:
        self.blueprint = blueprint
        self._rules: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        def add(view: F) -> F:
            self._rules.append((rule, view, options))
            return view

        return add

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["POST"], **options)

    def __iter__(self) -> Iterator[tuple[str, Callable[..., Any], dict[str, Any]]]:
        return iter(self._rules)

    def register(self, blueprint: Blueprint) -> None:
        if blueprint.name != self.blueprint:
            raise ValueError(f"routes for {self.blueprint!r} given to {blueprint.name!r}")
        for rule, view, options in self._rules:
            blueprint.add_url_rule(rule, view_func=view, **options)


@dataclass(frozen=True)
class Sides:
    """The blueprints several modules share, made new for each app."""

    public: Blueprint
    signing: Blueprint
    manage: Blueprint

    @classmethod
    def create(cls) -> Sides:
        return cls(
            # The letters, their lists and downloads: anyone.
            public=declare(Blueprint("public", __name__), "public"),
            # The signer's form and emailed links: anyone holding them.
            signing=declare(Blueprint("signing", __name__), "public"),
            # The coordinators' workspace.
            manage=declare(Blueprint("manage", __name__, url_prefix="/manage"), "coordinator"),
        )

    def add(self, *tables: Routes) -> None:
        """Add each module's route table to the side it names."""
        for table in tables:
            table.register(getattr(self, table.blueprint))

    def register(self, app: Flask) -> None:
        """Register the sides on ``app``, once every module has added its routes."""
        for blueprint in (self.public, self.signing, self.manage):
            app.register_blueprint(blueprint)
