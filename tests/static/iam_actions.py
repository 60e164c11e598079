#!/usr/bin/env python3
"""Print the IAM actions each Lambda function's role grants, parsed from terraform/iam.tf,
terraform/lock.tf and terraform/reconcile.tf.

    .tools/checkov/bin/python tests/static/iam_actions.py [--iam-tf FILE ...] [--with-tracing]

stdout: one JSON object, function name -> sorted list of actions, e.g.
    {"validate-event": ["ecs:DescribeTaskDefinition"], "run-task": [...], ...}
The actions come from `data "aws_iam_policy_document" "<function with underscores>"` (its
statements and dynamic statements, Allow only). Left out: the function's writes to its own log
group (logs:CreateLogStream / logs:PutLogEvents on aws_cloudwatch_log_group.lambda["<name>"]),
and, unless --with-tracing, the X-Ray writes every role gets when tracing is enabled (the Lambda
service sends the traces; the code makes no X-Ray call). What is left is what a test can compare
with the API calls the code makes.

Some grants must also carry conditions (REQUIRED_CONDITIONS): stop-task's and acquire-lock's
ecs:StopTask only in the cluster and only on tasks tagged ecs-migrate:started-by =
ecs-migrate/..., the tag run-task puts on every task it starts. A statement granting such an
action without them is a failure. Every dynamodb: action must be granted on the lock table's ARN
(aws_dynamodb_table.lock.arn) and nothing else.
`--self-test` proves that check can fail: it removes each required condition from the parsed
iam.tf in turn and expects a failure each time (and none from the file as it is).

`--grants` prints, instead, what each grant is on: function -> action -> list of statements,
each {"sid", "resources": [resource types], "conditions": [{"test", "variable", "values"}]}.
A resource type is `service:type` as the Service Authorization Reference names it (`ecs:task`,
`dynamodb:table`, `logs:log-stream`, ...) or `*`, derived from the ARN templates the resources
expand to (locals of terraform/*.tf followed; a few module inputs and resources by what they
are, KNOWN_REFS). tests/static/iam.rs compares that with what each call needs.

stderr: the checks made on the way and a final "N passed, M failed" line. Exit status: 0 when
every check passed, 1 when one failed, 2 when the file cannot be read or parsed.

Needs python-hcl2 (the checkov venv has it as bc-python-hcl2); run with another interpreter, it
re-executes itself with .tools/checkov/bin/python when that exists.
"""

import argparse
import copy
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".tools" / "checkov" / "bin" / "python"

FUNCTIONS = [
    "validate-event",
    "acquire-lock",
    "run-task",
    "poll-status",
    "check-exit-code",
    "stop-task",
    "release-lock",
    "report-deployment",
    "deployment-hook",
    "reconcile",
]
# The files holding the functions' policy documents (lock.tf: acquire-lock's and release-lock's;
# reconcile.tf: the reconciler's).
POLICY_FILES = ["iam.tf", "lock.tf", "reconcile.tf"]
LOCK_TABLE_ARN = "${aws_dynamodb_table.lock.arn}"
OWN_LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
TRACING_DOCUMENT = "lambda_tracing"

# The tag run-task puts on every task it starts (src/migration/steps/run_task.rs) and the prefix of its
# value (started_by_for_execution in src/migration/steps/validate_event.rs). Both must still be written
# by src/ (a rename there must be made here too): the key as a string literal, the prefix at the
# start of one.
STARTED_BY_TAG_KEY = "ecs-migrate:started-by"
STARTED_BY_PREFIX = "ecs-migrate/"
SOURCE_LITERALS = [f'"{STARTED_BY_TAG_KEY}"', f'"{STARTED_BY_PREFIX}']


def _cluster_condition(cond):
    return (
        scalar(cond.get("test")) == "ArnEquals"
        and scalar(cond.get("variable")) == "ecs:cluster"
        and flatten(cond.get("values", [])) == ["${var.cluster_arn}"]
    )


def _started_by_tag_condition(cond):
    # ecs:StopTask supports both aws:ResourceTag/${TagKey} and ecs:ResourceTag/${TagKey}
    # (Service Authorization Reference, Amazon Elastic Container Service, StopTask).
    values = [str(v) for v in flatten(cond.get("values", []))]
    return (
        scalar(cond.get("test")) in ("StringLike", "StringEquals")
        and scalar(cond.get("variable"))
        in (f"aws:ResourceTag/{STARTED_BY_TAG_KEY}", f"ecs:ResourceTag/{STARTED_BY_TAG_KEY}")
        and bool(values)
        and all(v.startswith(STARTED_BY_PREFIX) and len(v) > len(STARTED_BY_PREFIX) for v in values)
    )


# function -> action -> [(what the condition is, predicate on one condition block)]: every
# statement granting the action must hold a condition block matching each predicate.
_STOP_OWN_TASKS = {
    "ecs:StopTask": [
        ("ArnEquals ecs:cluster = var.cluster_arn", _cluster_condition),
        (
            f"StringLike aws:ResourceTag/{STARTED_BY_TAG_KEY} = {STARTED_BY_PREFIX}*",
            _started_by_tag_condition,
        ),
    ],
}

REQUIRED_CONDITIONS = {
    "stop-task": _STOP_OWN_TASKS,
    # It stops the task of a holder whose lease ran out: only tasks run-task started.
    "acquire-lock": _STOP_OWN_TASKS,
    # It stops the tasks of ended executions: only tasks run-task started.
    "reconcile": _STOP_OWN_TASKS,
}

try:
    import hcl2  # noqa: E402
except ImportError:  # pragma: no cover - depends on the interpreter
    # The venv's python is a symlink to a system one: compare paths, and re-execute only once.
    if VENV_PYTHON.exists() and not os.environ.get("IAM_ACTIONS_REEXEC"):
        os.environ["IAM_ACTIONS_REEXEC"] = "1"
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.stderr.write(
        "iam_actions.py: python-hcl2 is missing: run tests/static/check-terraform.sh once "
        "(it installs checkov, which brings it, into .tools/checkov) or pip install python-hcl2\n"
    )
    sys.exit(2)


def flatten(value):
    """Attribute values as plain strings, whatever the python-hcl2 version's list wrapping."""
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(flatten(item))
        return out
    return [value]


def scalar(value, default=None):
    items = flatten(value) if value is not None else []
    return items[0] if items else default


def policy_documents(parsed):
    """name -> body of every data "aws_iam_policy_document"."""
    docs = {}
    for block in parsed.get("data", []):
        for kind, named in block.items():
            if kind != "aws_iam_policy_document":
                continue
            for name, body in named.items():
                docs[name] = body
    return docs


def statements(body):
    """The document's statement blocks, including the content of dynamic "statement" blocks."""
    out = list(body.get("statement", []))
    for dyn in body.get("dynamic", []):
        for label, dyn_body in dyn.items():
            if label != "statement":
                continue
            for content in dyn_body.get("content", []):
                out.append(content)
    return out


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            sys.stderr.write(f"FAIL: {message}\n")
        return ok


def check_required_conditions(doc_name, body, function, checks):
    """Every statement granting an action of REQUIRED_CONDITIONS[function] carries its conditions."""
    required = REQUIRED_CONDITIONS.get(function, {})
    for action, conditions in required.items():
        granting = [
            st
            for st in statements(body)
            if scalar(st.get("effect"), "Allow") == "Allow" and action in flatten(st.get("actions", []))
        ]
        checks.check(granting, f"{doc_name}: grants no {action} (REQUIRED_CONDITIONS expects one)")
        for st in granting:
            sid = scalar(st.get("sid"), "(no sid)")
            blocks = st.get("condition", [])
            for what, matches in conditions:
                checks.check(
                    any(matches(cond) for cond in blocks),
                    f"{doc_name}/{sid}: grants {action} without the condition {what}",
                )


def check_lock_table_resources(doc_name, body, checks):
    """Every dynamodb: action is granted on the lock table only."""
    for st in statements(body):
        if scalar(st.get("effect"), "Allow") != "Allow":
            continue
        actions = [str(a) for a in flatten(st.get("actions", []))]
        if not any(a.startswith("dynamodb:") for a in actions):
            continue
        sid = scalar(st.get("sid"), "(no sid)")
        resources = [str(r) for r in flatten(st.get("resources", []))]
        checks.check(
            resources == [LOCK_TABLE_ARN],
            f"{doc_name}/{sid}: grants {actions} on {resources}; DynamoDB actions go on [{LOCK_TABLE_ARN}] only",
        )
        checks.check(
            all(a.startswith("dynamodb:") for a in actions),
            f"{doc_name}/{sid}: mixes DynamoDB actions with others ({actions}); give the lock table its own statement",
        )


def check_source_literals(checks):
    """The tag key and value prefix the conditions name are still what src/ writes."""
    src = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "src").rglob("*.rs")))
    for literal in SOURCE_LITERALS:
        checks.check(literal in src, f"src/ no longer contains {literal}: update STARTED_BY_TAG_KEY / STARTED_BY_PREFIX")


def run_checks(docs, iam_tf, with_tracing):
    """(function -> sorted actions, Checks) for the parsed policy documents."""
    checks = Checks()
    result = {}
    for function in FUNCTIONS:
        doc_name = function.replace("-", "_")
        if not checks.check(
            doc_name in docs,
            f'{iam_tf}: no data "aws_iam_policy_document" "{doc_name}" for {function}',
        ):
            continue
        actions, own_logs = granted_actions(doc_name, docs[doc_name], function, checks)
        checks.check(
            own_logs,
            f"{doc_name}: no statement granting {sorted(OWN_LOG_ACTIONS)} on "
            f'aws_cloudwatch_log_group.lambda["{function}"] (the function could not log)',
        )
        checks.check(actions, f"{doc_name}: grants no action besides its own logs")
        checks.check(
            "*" not in actions and not any(a.endswith(":*") for a in actions),
            f"{doc_name}: grants a wildcard action",
        )
        check_required_conditions(doc_name, docs[doc_name], function, checks)
        check_lock_table_resources(doc_name, docs[doc_name], checks)
        if with_tracing:
            if checks.check(
                TRACING_DOCUMENT in docs, f'no data "aws_iam_policy_document" "{TRACING_DOCUMENT}"'
            ):
                tracing, _ = granted_actions(TRACING_DOCUMENT, docs[TRACING_DOCUMENT], None, checks)
                actions |= tracing
        result[function] = sorted(actions)
    return result, checks


def self_test(docs, iam_tf):
    """The file as it is passes; without any one required condition, it fails."""
    _, baseline = run_checks(docs, iam_tf, False)
    outcome = Checks()
    outcome.check(baseline.failed == 0, f"{iam_tf} as it is fails the checks ({baseline.failed} failed)")
    for function, actions in REQUIRED_CONDITIONS.items():
        doc_name = function.replace("-", "_")
        for action, conditions in actions.items():
            for what, matches in conditions:
                mutated = copy.deepcopy(docs)
                removed = 0
                for st in statements(mutated.get(doc_name, {})):
                    if action in flatten(st.get("actions", [])):
                        kept = [c for c in st.get("condition", []) if not matches(c)]
                        removed += len(st.get("condition", [])) - len(kept)
                        st["condition"] = kept
                outcome.check(removed > 0, f"self-test: {doc_name} has no condition {what} to remove")
                devnull = open(os.devnull, "w", encoding="utf-8")
                saved, sys.stderr = sys.stderr, devnull
                try:
                    _, mutant = run_checks(mutated, iam_tf, False)
                finally:
                    sys.stderr = saved
                    devnull.close()
                outcome.check(
                    mutant.failed > 0,
                    f"self-test: {function} {action} without {what} was not reported",
                )
    # A DynamoDB grant widened beyond the lock table is reported, in each document that has one.
    for function in FUNCTIONS:
        doc_name = function.replace("-", "_")
        for index, st in enumerate(statements(docs.get(doc_name, {}))):
            if not any(str(a).startswith("dynamodb:") for a in flatten(st.get("actions", []))):
                continue
            mutated = copy.deepcopy(docs)
            statements(mutated[doc_name])[index]["resources"] = [LOCK_TABLE_ARN, "*"]
            mutant = quietly(run_checks, mutated, iam_tf, False)
            outcome.check(
                mutant.failed > 0,
                f"self-test: {doc_name}'s DynamoDB grant on more than the lock table was not reported",
            )
    return outcome


def quietly(check, *args):
    """The Checks of `check(*args)`, its failure lines kept off stderr."""
    devnull = open(os.devnull, "w", encoding="utf-8")
    saved, sys.stderr = sys.stderr, devnull
    try:
        _, checks = check(*args)
    finally:
        sys.stderr = saved
        devnull.close()
    return checks


def granted_actions(doc_name, body, function, checks):
    actions = set()
    own_logs = False
    for st in statements(body):
        sid = scalar(st.get("sid"), "(no sid)")
        effect = scalar(st.get("effect"), "Allow")
        if effect != "Allow":
            continue
        checks.check(
            "not_actions" not in st,
            f"{doc_name}/{sid}: not_actions cannot be listed; name the actions",
        )
        st_actions = set(flatten(st.get("actions", [])))
        resources = " ".join(str(r) for r in flatten(st.get("resources", [])))
        own_group = f'aws_cloudwatch_log_group.lambda["{function}"]' if function else None
        if own_group and st_actions <= OWN_LOG_ACTIONS and own_group in resources:
            own_logs = True
            continue
        bad = sorted(a for a in st_actions if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", str(a)))
        checks.check(not bad, f"{doc_name}/{sid}: not a literal service:Action: {bad}")
        actions |= st_actions
    return actions, own_logs


# Module inputs and resources that stand for ARNs, by the ARN shape they hold (P partition,
# R region, A account, N a name). `arn` is the loop variable over var.app_log_group_arns.
KNOWN_REFS = {
    "aws_dynamodb_table.lock.arn": "arn:P:dynamodb:R:A:table/N",
    "var.task_role_arn": "arn:P:iam::A:role/N",
    "var.task_execution_role_arn": "arn:P:iam::A:role/N",
    "var.cluster_arn": "arn:P:ecs:R:A:cluster/N",
    "arn": "arn:P:logs:R:A:log-group:N",
}

# (service, resource part of the ARN, resource type): the ARN formats of the Service
# Authorization Reference's "Resource types" tables for ECS, CloudWatch Logs, DynamoDB, Step
# Functions and IAM.
RESOURCE_TYPES = [
    ("ecs", r"task/[^/]+/.+", "task"),
    ("ecs", r"task-definition/[^:/]+:.+", "task-definition"),
    ("ecs", r"service/[^/]+/[^/]+", "service"),
    ("ecs", r"service-deployment/[^/]+/[^/]+/.+", "service-deployment"),
    ("ecs", r"service-revision/[^/]+/[^/]+/.+", "service-revision"),
    ("ecs", r"cluster/[^/]+", "cluster"),
    ("ecs", r"container-instance/[^/]+/.+", "container-instance"),
    ("logs", r"log-group:[^:]+:log-stream:.*", "log-stream"),
    ("logs", r"log-group:[^:]+(:\*)?", "log-group"),
    ("dynamodb", r"table/[^/]+", "table"),
    ("states", r"stateMachine:[^:]+", "stateMachine"),
    ("states", r"execution:[^:]+:.+", "execution"),
    ("iam", r"role/.+", "role"),
]

QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'')


def local_values(tf_dir):
    """name -> value of every `locals` entry in the module's .tf files."""
    values = {}
    for path in sorted(Path(tf_dir).glob("*.tf")):
        with open(path, encoding="utf-8") as f:
            parsed = hcl2.load(f)
        for block in parsed.get("locals", []):
            for name, value in block.items():
                values[name] = value
    return values


def templates(expr, locals_, depth=0):
    """The ARN templates a resource expression expands to."""
    if depth > 10:
        return [f"unresolved({expr})"]
    out = []
    for item in flatten(expr):
        item = str(item)
        if item == "*" or item.startswith("arn:"):
            out.append(item)
            continue
        rest = QUOTED.sub(" ", item)
        for double, single in QUOTED.findall(item):
            literal = (double or single).replace('\\"', '"')
            if literal.startswith("arn:"):
                out.append(literal)
            elif literal.startswith("${arn}"):
                out.append(KNOWN_REFS["arn"] + literal[len("${arn}"):])
            else:
                rest += " " + literal
        for name in re.findall(r"local\.([a-z0-9_]+)", rest):
            out.extend(templates(locals_.get(name, f"unresolved(local.{name})"), locals_, depth + 1))
        for ref, template in KNOWN_REFS.items():
            if ref != "arn" and re.search(r"(?<![\w.])" + re.escape(ref) + r"(?![\w])", rest):
                out.append(template)
    return out or [f"unresolved({expr})"]


def resource_type(template):
    """`service:type` of an ARN template, `*`, or `unknown(...)`."""
    if template == "*":
        return "*"
    plain = template
    while "${" in plain:
        reduced = re.sub(r"\$\{[^{}]*\}", "X", plain)
        if reduced == plain:
            break
        plain = reduced
    parts = plain.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        for service, pattern, kind in RESOURCE_TYPES:
            if parts[2] == service and re.fullmatch(pattern, parts[5]):
                return f"{service}:{kind}"
    return f"unknown({template})"


def grants(docs, locals_):
    """function -> action -> [{sid, resources, conditions}] (Allow statements, own logs left out)."""
    out = {}
    for function in FUNCTIONS:
        body = docs.get(function.replace("-", "_"), {})
        per_action = {}
        for st in statements(body):
            if scalar(st.get("effect"), "Allow") != "Allow":
                continue
            actions = [str(a) for a in flatten(st.get("actions", []))]
            if set(actions) <= OWN_LOG_ACTIONS:
                continue
            kinds = sorted({resource_type(t) for r in st.get("resources", []) for t in templates(r, locals_)})
            conditions = [
                {
                    "test": scalar(c.get("test")),
                    "variable": scalar(c.get("variable")),
                    "values": [str(v) for v in flatten(c.get("values", []))],
                }
                for c in st.get("condition", [])
            ]
            for action in actions:
                per_action.setdefault(action, []).append(
                    {"sid": scalar(st.get("sid"), "(no sid)"), "resources": kinds, "conditions": conditions}
                )
        out[function] = per_action
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--iam-tf",
        action="append",
        help=f"a file with policy documents (repeatable) [default: terraform/{' and terraform/'.join(POLICY_FILES)}]",
    )
    parser.add_argument(
        "--with-tracing",
        action="store_true",
        help="add the X-Ray actions every role gets when var.tracing_enabled",
    )
    parser.add_argument(
        "--grants",
        action="store_true",
        help="print each grant's resource types and conditions instead of the action lists",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that removing each required condition from the parsed file is reported",
    )
    args = parser.parse_args()

    files = args.iam_tf or [str(REPO / "terraform" / name) for name in POLICY_FILES]
    docs = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                parsed = hcl2.load(f)
        except (OSError, Exception) as err:  # the parser raises its own exception types
            sys.stderr.write(f"iam_actions.py: cannot parse {path}: {err}\n")
            return 2
        for name, body in policy_documents(parsed).items():
            if name in docs:
                sys.stderr.write(f'iam_actions.py: data "aws_iam_policy_document" "{name}" is declared twice ({path})\n')
                return 2
            docs[name] = body
    where = " + ".join(files)
    if args.self_test:
        outcome = self_test(docs, where)
        sys.stderr.write(f"iam_actions.py --self-test: {outcome.passed} passed, {outcome.failed} failed\n")
        return 1 if outcome.failed else 0

    if args.grants:
        print(json.dumps(grants(docs, local_values(REPO / "terraform")), indent=2, sort_keys=True))
        return 0

    result, checks = run_checks(docs, where, args.with_tracing)
    check_source_literals(checks)
    print(json.dumps(result, indent=2))
    sys.stderr.write(f"iam_actions.py: {checks.passed} passed, {checks.failed} failed\n")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
