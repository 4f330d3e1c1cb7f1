"""A browser-less client of the console (requests), and the accounts the tests use."""

from __future__ import annotations

import html
import re
from typing import Any

import requests
from sqlalchemy import Engine

from sync_server.console import accounts

PASSWORD = "mat-khau-trung-tam"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def add_admin(
    engine: Engine, name: str = "root", role: str = accounts.CENTRAL_ADMIN, **kw: Any
) -> str:
    accounts.add_account(engine, name, role, PASSWORD, **kw)
    return name


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with its CSRF token"
    return found.group(1)


def text_of(page: str) -> str:
    """The page's visible words, on one line."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))).strip()


class Console:
    def __init__(self, base: str, lang: str = "en") -> None:
        self.base = base
        self.http = requests.Session()
        self.http.cookies.set("motcua_lang", lang)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, data: Any = None, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, data=data, timeout=30, **kw)

    def login(self, name: str, password: str = PASSWORD) -> requests.Response:
        token = csrf_of(self.get("/console/login").text)
        form = {"csrf": token, "username": name, "password": password, "next": "/console/"}
        return self.post("/console/login", form)

    def csrf(self, path: str = "/console/") -> str:
        return csrf_of(self.get(path).text)
