"""Turning a service's ValidationError into what pages and the API show."""

from django.core.exceptions import ValidationError


def validation_messages(error: ValidationError) -> dict[str, list[str]]:
    """{field: [messages]}; errors not tied to a field come under "__all__"."""
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def form_add_errors(form, error: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Show a service's errors on the page's form: next to the field of the same name (or the
    one `rename` gives for it), else at the top of the form. What was typed stays."""
    for key, messages in validation_messages(error).items():
        name = (rename or {}).get(key, key)
        form.add_error(name if name in form.fields else None, messages)
