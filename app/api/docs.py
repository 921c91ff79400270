"""Turn the OpenAPI document into plain structures for the browsable docs page (no script)."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

METHODS = ("get", "post", "put", "patch", "delete")


def prose(text: str) -> Markup:
    """Escaped text with `code` spans, as the docstrings write them."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short human type: 'integer', 'string (date-time)', 'array of Listing', 'one of a|b'."""
    if not schema:
        return "any"
    if "$ref" in schema:
        text = _ref_name(schema["$ref"])
    elif "allOf" in schema and len(schema["allOf"]) == 1:
        text = type_of(schema["allOf"][0])
    elif "enum" in schema:
        text = " | ".join(str(value) for value in schema["enum"] if value is not None)
    elif schema.get("type") == "array":
        text = f"array of {type_of(schema.get('items', {}))}"
    elif schema.get("type") == "object" and "additionalProperties" in schema:
        text = f"object of {type_of(schema['additionalProperties'] or {})}"
    else:
        text = schema.get("type", "any")
        if schema.get("format"):
            text += f" ({schema['format']})"
    if schema.get("nullable"):
        text += " or null"
    return text


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '…')} to {schema.get('maximum', '…')}")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    return "; ".join(parts)


def fields_of(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The properties of a (referenced) object schema as rows."""
    if "$ref" in schema:
        schema = schemas.get(_ref_name(schema["$ref"]), {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append(
            {
                "name": name,
                "type": type_of(prop),
                "required": name in required,
                "read_only": prop.get("readOnly", False),
                "description": " ".join(
                    part for part in (prop.get("description", ""), _limits(prop)) if part
                ),
            }
        )
    return rows


def _operation(path: str, method: str, item: dict, op: dict, spec: dict) -> dict[str, Any]:
    schemas = spec.get("components", {}).get("schemas", {})
    params = []
    for param in [*item.get("parameters", []), *op.get("parameters", [])]:
        schema = param.get("schema", {})
        params.append(
            {
                "name": param["name"],
                "in": param["in"],
                "type": type_of(schema),
                "required": param.get("required", False),
                "description": " ".join(
                    p for p in (param.get("description", ""), _limits(schema)) if p
                ),
            }
        )
    body = None
    if "requestBody" in op:
        content_type, media = next(iter(op["requestBody"]["content"].items()))
        schema = media.get("schema", {})
        body = {
            "content_type": content_type,
            "name": _ref_name(schema["$ref"]) if "$ref" in schema else "",
            "fields": fields_of(schema, schemas),
            "required": op["requestBody"].get("required", False),
        }
    responses = []
    for code, response in op.get("responses", {}).items():
        if "$ref" in response:
            response = (
                spec.get("components", {}).get("responses", {}).get(_ref_name(response["$ref"]), {})
            )
        schema = next(iter(response.get("content", {}).values()), {}).get("schema", {})
        responses.append(
            {
                "code": code,
                "description": response.get("description", ""),
                "schema": type_of(schema) if schema else "",
            }
        )
    description = op.get("description", "")
    return {
        "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
        "method": method.upper(),
        "path": path,
        "summary": prose(op.get("summary", "")),
        "description": prose(description),
        "scope": op.get("x-token-scope"),
        "public": "x-token-scope" not in op and op.get("security") != [],
        "params": params,
        "body": body,
        "responses": responses,
    }


def describe(spec: dict[str, Any]) -> dict[str, Any]:
    """{"info", "groups": [{"name", "description", "operations": [...]}], "schemas": [...]}."""
    groups: dict[str, dict[str, Any]] = {
        tag["name"]: {
            "name": tag["name"].removeprefix("api_").replace("_", " ").capitalize(),
            "id": tag["name"],
            "description": tag.get("description", ""),
            "operations": [],
        }
        for tag in spec.get("tags", [])
    }
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            tag = (op.get("tags") or ["other"])[0]
            group = groups.setdefault(
                tag, {"name": tag, "id": tag, "description": "", "operations": []}
            )
            group["operations"].append(_operation(path, method, item, op, spec))
    schemas = [
        {"name": name, "fields": fields_of(schema, {})}
        for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items())
    ]
    return {
        "info": spec.get("info", {}),
        "groups": [group for group in groups.values() if group["operations"]],
        "schemas": schemas,
    }
