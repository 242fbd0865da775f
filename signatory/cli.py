"""Commands under ``flask --app signatory``."""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
