"""Secret references (${KEY}, ${env.path.KEY}) and secret imports, over HTTP."""

from __future__ import annotations

from typing import Any

from tests.projects.workloads import Workload


def _put(member: Workload, project: dict[str, Any], key: str, value: str, environment: str = "dev", path: str = "/",
         **extra: Any) -> None:
    response = member.post(f"/api/v3/secrets/raw/{key}", json={"workspaceId": project["id"], "environment": environment,
                                                               "secretPath": path, "secretValue": value, **extra})
    assert response.status_code == 200, response.text


def _folder(member: Workload, project: dict[str, Any], environment: str, path: str, name: str) -> None:
    response = member.post("/api/v1/folders", json={"workspaceId": project["id"], "environment": environment,
                                                    "path": path, "name": name})
    assert response.status_code == 200, response.text


def _list(member: Workload, project: dict[str, Any], **query: str) -> Any:
    return member.get("/api/v3/secrets/raw", params={"workspaceId": project["id"], "environment": "dev", **query})


def test_local_and_cross_environment_references_expand_recursively(member: Workload, project: dict[str, Any]) -> None:
    _folder(member, project, "prod", "/", "db")
    _put(member, project, "HOST", "db.internal", environment="prod", path="/db")
    _put(member, project, "USER", "app")
    _put(member, project, "AUTH", "${USER}@${prod.db.HOST}")
    _put(member, project, "URL", "postgres://${AUTH}/main?literal=$1&x=\\1")

    expanded = _list(member, project, expandSecretReferences="true")
    assert expanded.status_code == 200, expanded.text
    values = {s["secretKey"]: s["secretValue"] for s in expanded.json()["secrets"]}
    assert values["URL"] == "postgres://app@db.internal/main?literal=$1&x=\\1"
    raw = _list(member, project)
    assert {s["secretKey"]: s["secretValue"] for s in raw.json()["secrets"]}["AUTH"] == "${USER}@${prod.db.HOST}"
    one = member.get("/api/v3/secrets/raw/AUTH", params={"workspaceId": project["id"], "environment": "dev",
                                                          "expandSecretReferences": "true"})
    assert one.json()["secret"]["secretValue"] == "app@db.internal"
    hidden = _list(member, project, expandSecretReferences="true", viewSecretValue="false")
    assert hidden.status_code == 200


def test_missing_reference_is_a_clear_400(member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "BROKEN", "x-${prod.nowhere.KEY}")
    listed = _list(member, project, expandSecretReferences="true")
    assert listed.status_code == 400
    message = listed.json()["message"]
    assert message.startswith("Failed to expand one or more secret references")
    assert "'BROKEN'" in message and "${prod.nowhere.KEY}" in message
    one = member.get("/api/v3/secrets/raw/BROKEN", params={"workspaceId": project["id"], "environment": "dev",
                                                            "expandSecretReferences": "true"})
    assert one.status_code == 400
    assert _list(member, project).status_code == 200  # unexpanded reads still work


def test_reference_cycle_is_a_clear_400(member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "A", "${B}")
    _put(member, project, "B", "${C}")
    _put(member, project, "C", "${A}")
    _put(member, project, "SELF", "${SELF}")
    listed = _list(member, project, expandSecretReferences="true")
    assert listed.status_code == 400
    assert "reference cycle: dev:/:A -> dev:/:B -> dev:/:C -> dev:/:A" in listed.json()["message"]
    assert "dev:/:SELF -> dev:/:SELF" in listed.json()["message"]


def test_references_deeper_than_ten_are_refused(member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "K0", "end")
    for level in range(1, 13):
        _put(member, project, f"K{level}", "${K" + str(level - 1) + "}")
    one = member.get("/api/v3/secrets/raw/K10", params={"workspaceId": project["id"], "environment": "dev",
                                                        "expandSecretReferences": "true"})
    assert one.json()["secret"]["secretValue"] == "end"
    too_deep = member.get("/api/v3/secrets/raw/K12", params={"workspaceId": project["id"], "environment": "dev",
                                                             "expandSecretReferences": "true"})
    assert too_deep.status_code == 400 and "deeper than 10" in too_deep.json()["message"]


def test_skip_multiline_encoding_quirk_after_expansion(member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "PEM", "line1\nline2\n")
    _put(member, project, "WRAPPED", "${PEM}", skipMultilineEncoding=True)
    values = {s["secretKey"]: s["secretValue"] for s in _list(member, project, expandSecretReferences="true").json()["secrets"]}
    assert values["WRAPPED"] == '"line1\\nline2\\n"'
    assert values["PEM"] == "line1\nline2\n"


def test_rename_rewrites_references_to_the_old_name(member: Workload, project: dict[str, Any]) -> None:
    _folder(member, project, "staging", "/", "app")
    _put(member, project, "OLD", "value")
    _put(member, project, "LOCAL", "<${OLD}>")
    _put(member, project, "REMOTE", "[${dev.OLD}]", environment="staging", path="/app")
    renamed = member.patch("/api/v3/secrets/raw/OLD", json={"workspaceId": project["id"], "environment": "dev",
                                                            "newSecretName": "NEW"})
    assert renamed.status_code == 200
    local = member.get("/api/v3/secrets/raw/LOCAL", params={"workspaceId": project["id"], "environment": "dev"})
    assert local.json()["secret"]["secretValue"] == "<${NEW}>"
    remote = member.get("/api/v3/secrets/raw/REMOTE", params={"workspaceId": project["id"], "environment": "staging",
                                                              "secretPath": "/app", "expandSecretReferences": "true"})
    assert remote.json()["secret"]["secretValue"] == "[value]"


def test_imports_are_listed_and_used_by_get_by_name(member: Workload, project: dict[str, Any]) -> None:
    _folder(member, project, "prod", "/", "shared")
    _folder(member, project, "staging", "/", "common")
    _put(member, project, "SHARED_KEY", "from-prod", environment="prod", path="/shared")
    _put(member, project, "OVERRIDDEN", "from-prod", environment="prod", path="/shared")
    _put(member, project, "REF", "${SHARED_KEY}!", environment="prod", path="/shared")
    _put(member, project, "COMMON", "from-staging", environment="staging", path="/common")
    _put(member, project, "OVERRIDDEN", "from-staging", environment="staging", path="/common")
    _put(member, project, "OVERRIDDEN", "local")
    for environment, path in (("prod", "/shared"), ("staging", "/common")):
        created = member.post("/api/v1/secret-imports", json={"workspaceId": project["id"], "environment": "dev",
                                                              "path": "/", "import": {"environment": environment, "path": path}})
        assert created.status_code == 200, created.text
        assert created.json()["secretImport"]["importPath"] == path

    listed = _list(member, project, include_imports="true", expandSecretReferences="true")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [s["secretKey"] for s in body["secrets"]] == ["OVERRIDDEN"]
    assert [(i["environment"], i["secretPath"]) for i in body["imports"]] == [("prod", "/shared"), ("staging", "/common")]
    prod_entry = {s["secretKey"]: s for s in body["imports"][0]["secrets"]}
    assert prod_entry["REF"]["secretValue"] == "from-prod!"  # expanded in its own folder's context
    assert prod_entry["SHARED_KEY"]["workspace"] == "" and prod_entry["SHARED_KEY"]["environment"] == "prod"
    assert _list(member, project).json()["imports"] == []
    camel = _list(member, project, includeImports="true")
    assert len(camel.json()["imports"]) == 2

    def get(name: str, **query: str) -> Any:
        return member.get(f"/api/v3/secrets/raw/{name}", params={"workspaceId": project["id"], "environment": "dev", **query})

    assert get("SHARED_KEY").status_code == 404
    imported = get("SHARED_KEY", include_imports="true").json()["secret"]
    assert (imported["secretValue"], imported["environment"], imported["secretPath"]) == ("from-prod", "prod", "/shared")
    assert get("OVERRIDDEN", include_imports="true").json()["secret"]["secretValue"] == "local"
    assert get("COMMON", includeImports="true").json()["secret"]["secretValue"] == "from-staging"


def test_nested_imports_are_flattened_and_cycles_refused(member: Workload, project: dict[str, Any]) -> None:
    _folder(member, project, "staging", "/", "a")
    _folder(member, project, "prod", "/", "b")
    _put(member, project, "FROM_A", "a", environment="staging", path="/a")
    _put(member, project, "FROM_B", "b", environment="prod", path="/b")

    def link(environment: str, path: str, source_env: str, source_path: str) -> Any:
        return member.post("/api/v1/secret-imports", json={"workspaceId": project["id"], "environment": environment,
                                                           "path": path, "import": {"environment": source_env, "path": source_path}})

    assert link("dev", "/", "staging", "/a").status_code == 200
    assert link("staging", "/a", "prod", "/b").status_code == 200
    cycle = link("prod", "/b", "staging", "/a")
    assert cycle.status_code == 400 and "Cyclic import" in cycle.json()["message"]
    assert link("dev", "/", "dev", "/").status_code == 400
    assert link("dev", "/", "staging", "/a").status_code == 400  # already imported
    assert link("dev", "/", "prod", "/missing").status_code == 404

    entry = _list(member, project, include_imports="true").json()["imports"]
    assert [(i["environment"], i["secretPath"]) for i in entry] == [("staging", "/a")]
    assert [s["secretKey"] for s in entry[0]["secrets"]] == ["FROM_A", "FROM_B"]

    listed = member.get("/api/v1/secret-imports", params={"workspaceId": project["id"], "environment": "dev"})
    import_id = listed.json()["secretImports"][0]["id"]
    removed = member.request("DELETE", f"/api/v1/secret-imports/{import_id}",
                             json={"workspaceId": project["id"], "environment": "dev", "path": "/"})
    assert removed.status_code == 200
    assert _list(member, project, include_imports="true").json()["imports"] == []
