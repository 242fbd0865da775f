"""Who may enter each route. Every blueprint declares a policy; a test fails on any that doesn't.

Policies: ``public`` (anyone), ``api`` (anyone, JSON answers), and later ``coordinator``
(a member of the letter in the URL, with a sufficient role).
"""

from __future__ import annotations

from flask import Blueprint

POLICIES = frozenset({"public", "api", "coordinator"})


def declare(blueprint: Blueprint, policy: str) -> Blueprint:
    if policy not in POLICIES:
        raise ValueError(f"unknown access policy {policy!r}")
    blueprint.access_policy = policy  # type: ignore[attr-defined]
    return blueprint


def policy_of(blueprint: Blueprint | None) -> str | None:
    return getattr(blueprint, "access_policy", None)
