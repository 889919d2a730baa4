"""Every `/api` operation declared once: who may call it, what it accepts and what it answers. The
declaration both checks each request and writes the API's OpenAPI 3.1 description, served at
`GET /api/openapi.json` (webhooks/api.py), so the description cannot drift from what is checked.

How to declare an operation (the route decorator first, `@operation` right under it):

    from .answers import AgentAnswer                  # answer bodies: pydantic models (webhooks/answers.py)
    from .openapi import operation
    from .schemas import AgentChange                  # request bodies and queries (webhooks/schemas.py)

    @bp.patch("/agents/<agent_id>")
    @operation(summary="Change an agent", auth="admin", body=AgentChange, answers={200: AgentAnswer},
               errors=(409, 503))
    def patch_agent(agent_id, body: AgentChange):
        return jsonify(agent=services().roster.update(agent_id, body.model_dump(exclude_unset=True)))

What `operation` does on each request, in this order:

1. `auth=` asks who is calling (webhooks/auth.py), before anything else, so a request without
   credentials gets 401 whatever it carries: "anyone" (no check), "signed_in" (`principal()`: any
   valid token or session), "agent_or_admin" (`require_agent_or_admin(<agent_id>)`: the agent
   itself or the admin), "self_or_supervisor" (`require_self_or_supervisor(<agent_id>)`),
   "supervisor" (`require_supervisor()`), "admin" (`require_admin()`); for workspaces, by bearer
   token only, "operator" (`require_operator()`) and "workspace_admin_or_operator"
   (`require_workspace_admin_or_operator(<workspace_id>)`): both 404 when OPERATOR_TOKEN is unset.
2. Path parameters are checked by name against `schemas.PATH_PARAMS` (`agent_id`, `rid`,
   `call_sid`; `path={"name": Type}` adds or overrides), then `query=` (a `schemas.Query` model,
   from the query string) and `body=` (a `schemas.Body` model: the body must be a JSON object,
   `Content-Type: application/json`). A failure answers 400 `{"error": "<field path>: <reason>"}`;
   so does a body that is not JSON, not an object, or nested too deeply (RecursionError).
3. The handler is called with the path parameters, and, if its signature names them, `who` (the
   auth.Principal, None for "anyone"), `query` and `body` (the validated models). Use
   `body.model_dump(exclude_unset=True)` for the fields the client sent (by_alias=True for `from`).

`answers=` maps each success status to a pydantic model (webhooks/answers.py), an `answers.Media`
(text/event-stream, text/csv) or a tuple of both (content negotiation); keep them truthful: the
schemathesis test checks the live service against them. Refusals are added by themselves with
the `{"error": string}` schema: 401 and 403 unless auth is "anyone", 400 when the operation takes
parameters or a body, 404 when its path names something; `errors=` adds others the domain may
answer (404, 409, 502, 503). A `/api` rule without a declaration fails
tests/test_api_answers_as_its_openapi_says.py.
"""
from __future__ import annotations

import functools
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from contactcenter.errors import Invalid

from . import auth
from .answers import Error, Media
from .schemas import PATH_PARAMS

REF = "#/components/schemas/{model}"
OPENAPI_KEY = "callrouter_openapi"
AUTH = ("anyone", "signed_in", "agent_or_admin", "self_or_supervisor", "supervisor", "admin", "operator",
        "workspace_admin_or_operator")
BEARER_ONLY = ("operator", "workspace_admin_or_operator")
ERRORS = {
    400: "the request is malformed: the error names the field and what is wrong with it",
    401: "no credentials, or not valid ones",
    403: "the caller may not do this (or a console session's change lacks its X-CSRF-Token header)",
    404: "what the path names does not exist",
    409: "the state of things does not allow it now",
    429: "too many tries: wait Retry-After seconds",
    502: "a part the request needs (Twilio) did not answer; nothing was done",
    503: "a store the request needs is away; try again after Retry-After seconds",
}
SECURITY = [{"bearer": []}, {"session": []}]
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "ADMIN_TOKEN, or an agent's token (returned when the agent is created); for "
                              "/api/workspaces, OPERATOR_TOKEN or a workspace's admin token"},
    "session": {"type": "apiKey", "in": "cookie", "name": "callrouter_session",
                "description": "the web console's session; a change also needs the X-CSRF-Token header"},
}


@dataclass
class Operation:
    summary: str
    auth: str
    answers: dict[int, Any]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path: dict[str, Any] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    description: str | None = None

    def path_type(self, name: str):
        return self.path.get(name) or PATH_PARAMS.get(name)


def operation(*, summary: str, auth: str, answers: dict[int, Any], body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, path: dict[str, Any] | None = None,
              errors: tuple[int, ...] = (), description: str | None = None):
    """Declare an /api operation (see the module's docstring)."""
    if auth not in AUTH:
        raise ValueError(f"auth must be one of {', '.join(AUTH)}, not {auth!r}")
    op = Operation(summary, auth, answers, body, query, dict(path or {}), tuple(errors), description)

    def decorate(handler):
        wanted = inspect.signature(handler).parameters
        doc = inspect.getdoc(handler)
        if op.description is None and doc:
            op.description = doc

        @functools.wraps(handler)
        def checked(**view_args):
            who = _authorize(op.auth, view_args)
            for name, value in view_args.items():
                kind = op.path_type(name)
                if kind is not None:
                    _validated(TypeAdapter(kind), value, name)
            extra = {}
            if "who" in wanted:
                extra["who"] = who
            if op.query is not None:
                extra["query"] = _validated(op.query, {k: request.args.get(k) for k in request.args})
            if op.body is not None:
                extra["body"] = _validated(op.body, json_object())
            return handler(**view_args, **extra)

        checked.openapi = op
        return checked
    return decorate


def _authorize(kind: str, view_args: dict):
    if kind == "anyone":
        return None
    if kind == "signed_in":
        return auth.principal()
    if kind == "supervisor":
        return auth.require_supervisor()
    if kind == "admin":
        return auth.require_admin()
    if kind == "operator":
        return auth.require_operator()
    if kind == "workspace_admin_or_operator":
        return auth.require_workspace_admin_or_operator(view_args["workspace_id"])
    agent_id = view_args["agent_id"]
    if kind == "self_or_supervisor":
        return auth.require_self_or_supervisor(agent_id)
    return auth.require_agent_or_admin(agent_id)


def json_object() -> dict:
    """The request's body as a JSON object, or Invalid (400) saying what it is instead."""
    if not request.is_json:
        raise Invalid("the body must be a JSON object (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=True))
    except RecursionError:
        raise Invalid("the body must be a JSON object; this one is nested too deeply") from None
    except ValueError:          # JSONDecodeError, UnicodeDecodeError, an integer of more than 4300 digits
        raise Invalid("the body must be a JSON object; this is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def _validated(kind, value, name: str | None = None):
    """`value` validated by a model (or a TypeAdapter for one value called `name`); Invalid (400)
    naming the first problem: `<field path>: <reason>`."""
    try:
        if isinstance(kind, TypeAdapter):
            return kind.validate_python(value)
        return kind.model_validate(value)
    except ValidationError as exc:
        root = name or getattr(kind, "error_root", "")
        raise Invalid("; ".join(_problem(kind, root, e) for e in exc.errors()[:3])) from None
    except RecursionError:
        raise Invalid("the body is nested too deeply") from None


def _problem(kind, root: str, error: dict) -> str:
    where = ".".join(str(part) for part in (root, *error["loc"]) if part != "")
    if error["type"] == "missing":
        reason = "is required"
    elif error["type"] == "extra_forbidden":
        allowed = sorted(f.alias or n for n, f in kind.model_fields.items()) if isinstance(kind, type) else []
        reason = f"unknown setting (allowed: {', '.join(allowed)})"
    else:
        reason = error["msg"]
    return f"{where}: {reason}" if where else reason


# -- the description ---------------------------------------------------------------------------------
def description(app: Flask) -> dict:
    """The OpenAPI 3.1 description of `app`'s /api operations (made once per app)."""
    if OPENAPI_KEY not in app.extensions:
        app.extensions[OPENAPI_KEY] = describe(app)
    return app.extensions[OPENAPI_KEY]


def declared(app: Flask) -> list[tuple[str, str, Operation | None]]:
    """(method, OpenAPI path, its declaration or None) for every /api rule of `app`."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        op = getattr(app.view_functions[rule.endpoint], "openapi", None)
        out += [(method, path, op) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(out, key=lambda row: (row[1], row[0]))


def describe(app: Flask) -> dict:
    rows = [(method, path, op) for method, path, op in declared(app) if op is not None]
    models = {Error}
    for _, _, op in rows:
        if op.body is not None:
            models.add(op.body)
        for answer in op.answers.values():
            models.update(m for m in (answer if isinstance(answer, tuple) else (answer,))
                          if isinstance(m, type) and issubclass(m, BaseModel))
    refs, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=REF)
    schemas = dict(defs.get("$defs", {}))
    ref = {model: refs[(model, "validation")] for model in models}
    paths: dict[str, dict] = {}
    for method, path, op in rows:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op, ref, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "callrouter JSON API", "version": "3",
                 "description": "The contact center's JSON API (CONTRACT.md, \"JSON API\"). Errors are "
                                "`{\"error\": \"<message>\"}`; a 400 names the field."},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(method: str, path: str, op: Operation, ref: dict, schemas: dict) -> dict:
    names = re.findall(r"{([^}]+)}", path)
    out: dict[str, Any] = {"operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}".rstrip("_"),
                           "summary": op.summary}
    if op.description:
        out["description"] = op.description
    out["security"] = [] if op.auth == "anyone" else SECURITY[:1] if op.auth in BEARER_ONLY else SECURITY
    parameters = []
    for name in names:
        kind = op.path_type(name)
        schema = TypeAdapter(kind).json_schema(ref_template=REF) if kind else {"type": "string", "maxLength": 200}
        parameters.append({"name": name, "in": "path", "required": True, "schema": _lifted(schema, schemas)})
    if op.query is not None:
        schema = _lifted(op.query.model_json_schema(ref_template=REF), schemas)
        for name, prop in schema.get("properties", {}).items():
            described = prop.pop("description", None)
            prop.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
            if described:
                parameter["description"] = described
            parameters.append(parameter)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref[op.body]}}}
    responses = {}
    for status, answer in sorted(op.answers.items()):
        responses[str(status)] = _answer(answer, ref)
    errors = set(op.errors)
    if op.auth != "anyone":
        errors |= {401, 403}
    if parameters or op.body is not None:
        errors.add(400)
    if names:
        errors.add(404)
    for status in sorted(errors - set(op.answers)):
        responses[str(status)] = {"description": ERRORS[status],
                                  "content": {"application/json": {"schema": ref[Error]}}}
        if status in (429, 503):
            responses[str(status)]["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                                                 "description": "seconds to wait"}}
    out["responses"] = responses
    return out


def _answer(answer, ref: dict) -> dict:
    content, described = {}, []
    for one in answer if isinstance(answer, tuple) else (answer,):
        if isinstance(one, Media):
            content[one.media_type] = {"schema": one.schema}
            described.append(one.description)
        else:
            content["application/json"] = {"schema": ref[one]}
            described.append(inspect.cleandoc(one.__doc__) if one.__doc__ else f"{one.__name__} (JSON)")
    return {"description": "; or ".join(described), "content": content}


def _lifted(schema: dict, schemas: dict) -> dict:
    """`schema` without its `$defs`, which join the components."""
    schemas.update(schema.pop("$defs", {}))
    return schema
