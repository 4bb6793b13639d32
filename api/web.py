"""Public web pages (server-rendered, Chinese, no JavaScript needed)."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)


@blp.get("/")
def home():
    return render_template("home.html")
