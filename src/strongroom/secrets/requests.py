"""What clients send to the secrets routes: query strings and bodies, with Infisical's names and defaults."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from strongroom.secrets import paths
from strongroom.secrets.rules import checked_key, normalise_comment, normalise_value
from strongroom.web.queries import Flag


def _path(text: str | None) -> str:
    return paths.normalise(text)


class MetadataEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1)
    value: str = ""
    isEncrypted: bool = False

    @field_validator("isEncrypted")
    @classmethod
    def _plain_only(cls, encrypted: bool) -> bool:
        # Metadata is stored as labels, in the clear; anything sensitive belongs in the value, which is sealed.
        if encrypted:
            raise ValueError("Encrypted secret metadata is not supported; keep sensitive data in the secret value")
        return encrypted


def metadata_list(entries: list[MetadataEntry] | None) -> list[dict[str, Any]] | None:
    if entries is None:
        return None
    return [{"key": entry.key, "value": entry.value, "isEncrypted": False} for entry in entries]


# -- reads ------------------------------------------------------------------------------


class _ReadQuery(BaseModel):
    # Frozen: one parse of a query string is shared by every request that sends it (strongroom.web.queries).
    model_config = ConfigDict(extra="ignore", frozen=True)

    environment: str | None = None
    secretPath: str = "/"
    viewSecretValue: Flag = True
    expandSecretReferences: Flag = False
    recursive: Flag = False
    # The Python SDK and the Infisical API say include_imports; the Node SDK and CLI say includeImports.
    include_imports: Flag | None = None
    includeImports: Flag | None = None
    tagSlugs: str | None = None

    _path = field_validator("secretPath")(_path)

    @property
    def imports_included(self) -> bool:
        return bool(self.include_imports if self.include_imports is not None else self.includeImports)

    @property
    def tag_slugs(self) -> list[str]:
        return [slug.strip() for slug in (self.tagSlugs or "").split(",") if slug.strip()]


class SecretListQuery(_ReadQuery):
    workspaceId: str | None = None
    workspaceSlug: str | None = None


class SecretListQueryV4(_ReadQuery):
    projectId: str | None = None
    includePersonalOverrides: Flag = True  # identities have no personal secrets: nothing to override with


class SecretGetQuery(_ReadQuery):
    workspaceId: str | None = None
    workspaceSlug: str | None = None
    projectId: str | None = None
    version: int | None = Field(default=None, ge=1)
    type: Literal["shared", "personal"] = "shared"


# -- writes -----------------------------------------------------------------------------


class _Target(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workspaceId: str | None = None
    projectSlug: str | None = None
    projectId: str | None = None  # v4's name for workspaceId
    environment: str = Field(min_length=1)
    secretPath: str = "/"

    _path = field_validator("secretPath")(_path)


class SecretCreate(_Target):
    type: Literal["shared", "personal"] = "shared"
    secretValue: str
    secretComment: str | None = ""
    secretMetadata: list[MetadataEntry] | None = None
    tagIds: list[str] | None = None
    skipMultilineEncoding: bool | None = None
    secretReminderRepeatDays: int | None = None
    secretReminderNote: str | None = Field(default=None, max_length=1024)

    _value = field_validator("secretValue")(normalise_value)
    _comment = field_validator("secretComment")(normalise_comment)


class SecretUpdate(_Target):
    type: Literal["shared", "personal"] = "shared"
    secretValue: str | None = None
    secretComment: str | None = None
    newSecretName: str | None = None
    secretMetadata: list[MetadataEntry] | None = None
    tagIds: list[str] | None = None
    skipMultilineEncoding: bool | None = None
    secretReminderRepeatDays: int | None = None
    secretReminderNote: str | None = Field(default=None, max_length=1024)

    @field_validator("secretValue")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        return None if value is None else normalise_value(value)

    @field_validator("secretComment")
    @classmethod
    def _comment(cls, comment: str | None) -> str | None:
        return None if comment is None else normalise_comment(comment)


class SecretDelete(_Target):
    type: Literal["shared", "personal"] = "shared"


class BatchCreateItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secretKey: str
    secretValue: str
    secretComment: str | None = ""
    skipMultilineEncoding: bool | None = None
    secretMetadata: list[MetadataEntry] | None = None
    tagIds: list[str] | None = None

    _key = field_validator("secretKey")(checked_key)
    _value = field_validator("secretValue")(normalise_value)
    _comment = field_validator("secretComment")(normalise_comment)


class BatchCreate(_Target):
    secrets: list[BatchCreateItem] = Field(min_length=1)


class BatchUpdateItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secretKey: str
    secretValue: str | None = None
    secretPath: str | None = None  # overrides the request's secretPath for this item
    secretComment: str | None = None
    skipMultilineEncoding: bool | None = None
    newSecretName: str | None = None
    tagIds: list[str] | None = None
    secretReminderNote: str | None = Field(default=None, max_length=1024)
    secretReminderRepeatDays: int | None = None
    secretMetadata: list[MetadataEntry] | None = None

    _key = field_validator("secretKey")(checked_key)

    @field_validator("secretValue")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        return None if value is None else normalise_value(value)

    @field_validator("secretComment")
    @classmethod
    def _comment(cls, comment: str | None) -> str | None:
        return None if comment is None else normalise_comment(comment)

    @field_validator("secretPath")
    @classmethod
    def _item_path(cls, text: str | None) -> str | None:
        return None if text is None else paths.normalise(text)


class BatchUpdate(_Target):
    mode: Literal["failOnNotFound", "upsert", "ignore"] = "failOnNotFound"
    secrets: list[BatchUpdateItem] = Field(min_length=1)


class BatchDeleteItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secretKey: str
    type: Literal["shared", "personal"] = "shared"

    _key = field_validator("secretKey")(checked_key)


class BatchDelete(_Target):
    secrets: list[BatchDeleteItem] = Field(min_length=1)


# -- folders ----------------------------------------------------------------------------
# v1 names the project workspaceId, v2 projectId; the CLI says directory where others say path.


class FolderTarget(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workspaceId: str | None = None
    projectId: str | None = None
    environment: str = Field(min_length=1)
    path: str | None = None
    directory: str | None = None

    @property
    def project(self) -> str | None:
        return self.projectId or self.workspaceId

    @property
    def folder_path(self) -> str:
        return paths.normalise(self.path if self.path is not None else self.directory)


def _folder_name(text: str) -> str:
    text = text.strip()
    if not paths.FOLDER_NAME.match(text):
        raise ValueError(paths.FOLDER_NAME_RULE)
    return text


class FolderCreate(FolderTarget):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = None

    _name = field_validator("name")(_folder_name)


class FolderUpdate(FolderTarget):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = None

    _name = field_validator("name")(_folder_name)


class FolderDelete(FolderTarget):
    forceDelete: bool = False


class FolderListQuery(FolderTarget):
    # Lenient on purpose: the Python SDK sends recursive=False.
    recursive: Flag = False
    lastSecretModified: str | None = None
