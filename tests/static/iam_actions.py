#!/usr/bin/env python3
"""Print the IAM actions each Lambda function's role grants, parsed from terraform/iam.tf.

    .tools/checkov/bin/python tests/static/iam_actions.py [--iam-tf FILE] [--with-tracing]

stdout: one JSON object, function name -> sorted list of actions, e.g.
    {"validate-event": ["ecs:DescribeTaskDefinition"], "run-task": [...], ...}
The actions come from `data "aws_iam_policy_document" "<function with underscores>"` (its
statements and dynamic statements, Allow only). Left out: the function's writes to its own log
group (logs:CreateLogStream / logs:PutLogEvents on aws_cloudwatch_log_group.lambda["<name>"]),
and, unless --with-tracing, the X-Ray writes every role gets when tracing is enabled (the Lambda
service sends the traces; the code makes no X-Ray call). What is left is what a test can compare
with the API calls the code makes.

stderr: the checks made on the way and a final "N passed, M failed" line. Exit status: 0 when
every check passed, 1 when one failed, 2 when the file cannot be read or parsed.

Needs python-hcl2 (the checkov venv has it as bc-python-hcl2); run with another interpreter, it
re-executes itself with .tools/checkov/bin/python when that exists.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".tools" / "checkov" / "bin" / "python"

FUNCTIONS = ["validate-event", "run-task", "poll-status", "check-exit-code", "stop-task"]
OWN_LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
TRACING_DOCUMENT = "lambda_tracing"

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iam-tf", default=str(REPO / "terraform" / "iam.tf"))
    parser.add_argument(
        "--with-tracing",
        action="store_true",
        help="add the X-Ray actions every role gets when var.tracing_enabled",
    )
    args = parser.parse_args()

    try:
        with open(args.iam_tf, encoding="utf-8") as f:
            parsed = hcl2.load(f)
    except (OSError, Exception) as err:  # the parser raises its own exception types
        sys.stderr.write(f"iam_actions.py: cannot parse {args.iam_tf}: {err}\n")
        return 2

    docs = policy_documents(parsed)
    checks = Checks()
    result = {}
    for function in FUNCTIONS:
        doc_name = function.replace("-", "_")
        if not checks.check(
            doc_name in docs,
            f'{args.iam_tf}: no data "aws_iam_policy_document" "{doc_name}" for {function}',
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
        if args.with_tracing:
            if checks.check(
                TRACING_DOCUMENT in docs, f'no data "aws_iam_policy_document" "{TRACING_DOCUMENT}"'
            ):
                tracing, _ = granted_actions(TRACING_DOCUMENT, docs[TRACING_DOCUMENT], None, checks)
                actions |= tracing
        result[function] = sorted(actions)

    print(json.dumps(result, indent=2))
    sys.stderr.write(f"iam_actions.py: {checks.passed} passed, {checks.failed} failed\n")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
