"""Turning a service's ValidationError into what pages and the API show."""

from django.core.exceptions import ValidationError


def validation_messages(error: ValidationError) -> dict[str, list[str]]:
    """{field: [messages]}; errors not tied to a field come under "__all__"."""
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
