"""Zoho's error dialect: every CRM failure is one JSON envelope with four keys."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere inside a handler; the server turns it into Zoho's error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "details": self.details,
            "message": self.message,
            "status": "error",
        }


def required_param(name: str) -> ApiError:
    return ApiError(
        400,
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        {"param_name": name, "param": name},
    )


def invalid_data(message: str, **details: Any) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, details)


def invalid_module(name: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_MODULE",
        "the module name given seems to be invalid",
        {"resource_path_index": 0, "module": name},
    )


def invalid_url() -> ApiError:
    return ApiError(
        404,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        {},
    )
