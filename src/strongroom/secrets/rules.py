"""What a secret's key, value and comment may be, and how they are normalised on write (as Infisical does)."""

from __future__ import annotations

from strongroom.errors import BadRequest, ValidationFailure

MAX_KEY_LENGTH = 255  # the column's width; Infisical sets no explicit limit, but a key is a name, not a payload
KEY_CHARACTERS_RULE = "Secret name cannot contain colon or forward slash."
UPPERCASE_RULE = (
    "Secret name must be in UPPERCASE per project requirements. You can disable this requirement in project settings."
)


def key_problem(text: str) -> str | None:
    if not text:
        return "Secret name is required"
    if ":" in text or "/" in text:
        return KEY_CHARACTERS_RULE
    if len(text) > MAX_KEY_LENGTH:
        return f"Secret name must be at most {MAX_KEY_LENGTH} characters"
    return None


def checked_key(text: str) -> str:
    """For pydantic validators: the trimmed key, or ValueError (a 422)."""
    text = text.strip()
    problem = key_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def key_from_path(text: str, parameter: str = "secretName") -> str:
    """A key taken from the URL: the same rule, reported as a 422 on that path parameter."""
    text = text.strip()
    problem = key_problem(text)
    if problem:
        raise ValidationFailure([{"code": "custom", "path": [parameter], "message": problem}])
    return text


def require_capitalised(key: str, auto_capitalization: bool) -> None:
    if auto_capitalization and key != key.upper():
        raise BadRequest(UPPERCASE_RULE)


def normalise_value(value: str) -> str:
    # Trimmed, but a value that ended with a newline keeps exactly one (PEM files, dotenv blocks).
    return value.strip() + "\n" if value.endswith("\n") else value.strip()


def normalise_comment(comment: str | None) -> str:
    return (comment or "").strip()
