"""Schemathesis against the published OpenAPI: generated requests, signed by an enrolled
device, never get a 5xx, and every answer matches the documented status codes, content
types and schemas."""

from __future__ import annotations

import time
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.services.branch import Branch
from core.sync import auth
from tests.sync.fixtures import Net


class SigningSession(requests.Session):
    """Signs every request as the given desktop, over the exact bytes sent."""

    def __init__(self, desk: Branch) -> None:
        super().__init__()
        self.desk = desk

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        data = body.encode() if isinstance(body, str) else bytes(body)
        headers = auth.sign_request(
            self.desk.key,
            self.desk.device_id,
            request.method or "GET",
            request.path_url,
            data,
            int(time.time() * 1000),
        )
        request.headers.update(headers)
        return super().send(request, **kwargs)


def test_api_conforms(net: Net) -> None:
    """GIVEN the server's published OpenAPI and an enrolled desktop
    WHEN schemathesis sends generated requests (valid and invalid), signed, to every
    operation
    THEN no answer is a 5xx and each conforms to the documented responses."""
    session = SigningSession(net.desktop(net.branch("SCHEMA")))
    api = schemathesis.openapi.from_url(net.server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def exercise(case: Any) -> None:
            if isinstance(case.query, dict) and isinstance(case.query.get("wait"), int | float):
                # A long-poll's wait, cut short: the same code path, without the test
                # sleeping for up to 25 s an example.
                case.query["wait"] = min(case.query["wait"], LONG_POLL_S)
            response = case.call(base_url=net.server.url, session=session, timeout=40)
            case.validate_response(response, checks=CHECKS)

        exercise()


LONG_POLL_S = 0.2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
