#!/usr/bin/env python3
"""Consistency of the Terraform module with itself, its README, the settings reference, its
example and the ASL file.

    python3 tests/static/check-consistency.py [--asl FILE] [--write-readme]

`terraform validate` needs the AWS provider, which cannot be downloaded here; these checks catch
the mistakes it would have caught that matter most, plus documentation drift:
  - every var.X used in terraform/*.tf is declared in variables.tf, and every declared variable
    is used;
  - every local.X used is defined in a locals block; every resource / data source referenced is
    declared; every file read through ${path.module}/ exists;
  - terraform/README.md's inputs and outputs tables are exactly what variables.tf and outputs.tf
    say (--write-readme regenerates them between the BEGIN/END markers);
  - docs/reference/settings.md's table has a row for every Settings environment variable the
    module sets (main.tf's local.settings) and every one the code reads (src/**/settings.rs,
    the `*_VARIABLE` constants), naming in its Terraform column each input main.tf builds the
    variable from; every input it names is declared, and a number default of that input is
    the row's default unless the row says the module's default differs;
  - examples/complete passes only declared variables, every required one, and reads only
    declared outputs;
  - the ${...} placeholders of statemachine/migration.asl.json (or --asl FILE) are exactly the
    keys the templatefile() call supplies, the file has no %{ } directives, and once rendered
    it is JSON using each placeholder as a Task Resource. Skipped (and said so) when the file
    does not exist yet;
  - the history budget of main.tf's locals has src/statemachine/budget.rs's constants, and the
    terraform test runs max_duration_longest_tracked_* / max_duration_over_longest_tracked_*
    (terraform/tests/module.tftest.hcl) plan budget.rs's longest_tracked_seconds and refuse one
    second more, for at least two poll_max_wait_seconds values (terraform test then proves
    that the module's precondition draws the line exactly there). A run's lock_wait_seconds,
    when it sets none, is variables.tf's default: the lock wait's rounds count too.
Prints one line per failure and a final "N passed, M failed" line; exit status 1 on any failure,
2 on a usage error. Needs only the Python standard library.
"""

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
README = TF / "README.md"
SETTINGS_DOC = REPO / "docs" / "reference" / "settings.md"
EXAMPLE = TF / "examples" / "complete"
DEFAULT_ASL = REPO / "statemachine" / "migration.asl.json"
BUDGET_RS = REPO / "src" / "statemachine" / "budget.rs"
MODULE_TEST = TF / "tests" / "module.tftest.hcl"

# budget.rs constant -> the main.tf local holding the same figure.
BUDGET_LOCALS = {
    "HISTORY_EVENT_LIMIT": "history_event_limit",
    "HEADROOM": "history_headroom",
    "EVENTS_PER_POLL_ROUND": "history_events_per_poll_round",
    "EVENTS_OUTSIDE_LOOP": "history_events_outside_loop",
}

MODULE_META_ARGS = {"source", "version", "providers", "depends_on", "count", "for_each"}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {message}")
        return ok


################################################################################
# A small HCL reader: enough to find blocks, their bodies and top-level attributes.
################################################################################


def strip_comments(text):
    """Removes # and // comments and /* */ blocks, keeping strings (and line numbers) intact."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        if text.startswith("<<", i):
            # Heredoc: copy through to its terminator untouched.
            m = re.match(r"<<-?([A-Za-z_]+)\n", text[i:])
            if m:
                end = re.compile(r"^\s*" + re.escape(m.group(1)) + r"\s*$", re.M).search(text, i + m.end())
                stop = n if end is None else end.end()
                out.append(text[i:stop])
                i = stop
                continue
        out.append(c)
        i += 1
    return "".join(out)


def matching_brace(text, open_index):
    """Index of the } closing the { at open_index (strings and ${} handled)."""
    depth = 0
    i, n = open_index, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
            elif text.startswith("${", i) or text.startswith("%{", i):
                # Interpolation inside a string: skip to its matching brace.
                i = matching_brace(text, i + 1) + 1
                continue
            i += 1
            continue
        if c == '"':
            in_string = True
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced braces from offset {open_index}")


def blocks(text, kind):
    """(labels, body) of each top-level `kind "a" "b" { ... }` block."""
    out = []
    for m in re.finditer(r'(?m)^' + re.escape(kind) + r'((?:\s+"[^"]*")*)\s*\{', text):
        labels = re.findall(r'"([^"]*)"', m.group(1))
        start = m.end() - 1
        end = matching_brace(text, start)
        out.append((labels, text[start + 1 : end]))
    return out


def top_level_attributes(body):
    """name -> raw expression of each attribute at depth 0 of a block body."""
    attrs = {}
    i, n = 0, len(body)
    while i < n:
        m = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(=|\{)").match(body, i)
        if not m:
            nl = body.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        name, sep = m.group(1), m.group(2)
        if sep == "{":  # nested block
            end = matching_brace(body, m.end() - 1)
            i = end + 1
            continue
        if body.startswith("=", m.end()) or body[m.end() - 2 : m.end()] in ("==", "!="):
            nl = body.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        # Expression: up to the end of line at bracket depth 0.
        j = m.end()
        depth = 0
        in_string = False
        while j < n:
            c = body[j]
            if in_string:
                if c == "\\":
                    j += 2
                    continue
                if c == '"':
                    in_string = False
                elif body.startswith("${", j):
                    j = matching_brace(body, j + 1) + 1
                    continue
            elif c == '"':
                in_string = True
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "\n" and depth <= 0:
                break
            j += 1
        attrs[name] = body[m.end() : j].strip()
        i = j + 1
    return attrs


def hcl_string(expr):
    """The value of a plain quoted string expression (escapes resolved), else None."""
    expr = expr.strip()
    if len(expr) >= 2 and expr[0] == '"' and expr[-1] == '"':
        try:
            return json.loads(expr)
        except json.JSONDecodeError:
            return expr[1:-1]
    return None


def one_line(expr):
    """A multi-line type or default expression on one line, for a table cell."""
    lines = [ln.strip() for ln in expr.strip().splitlines() if ln.strip()]
    out = ""
    for ln in lines:
        if not out:
            out = ln
        elif out.endswith(("{", "[", "(", ",")) or ln.startswith(("}", "]", ")")):
            out += " " + ln
        else:
            out += ", " + ln
    return re.sub(r"\s*=\s*", " = ", out)


def module_files():
    return sorted(TF.glob("*.tf"))


def read_module():
    sources = {p.name: strip_comments(p.read_text(encoding="utf-8")) for p in module_files()}
    return sources, "\n".join(sources.values())


################################################################################
# Checks
################################################################################


def declared_variables(sources):
    out = {}
    for labels, body in blocks(sources.get("variables.tf", ""), "variable"):
        attrs = top_level_attributes(body)
        out[labels[0]] = {
            "description": hcl_string(attrs.get("description", '""')) or "",
            "type": one_line(attrs.get("type", "any")),
            "default": one_line(attrs["default"]) if "default" in attrs else None,
            "required": "default" not in attrs,
        }
    return out


def declared_outputs(sources):
    out = {}
    for labels, body in blocks(sources.get("outputs.tf", ""), "output"):
        attrs = top_level_attributes(body)
        out[labels[0]] = hcl_string(attrs.get("description", '""')) or ""
    return out


def check_variables(checks, sources, code, variables):
    for name, text in sources.items():
        if name != "variables.tf":
            checks.check(not blocks(text, "variable"), f"{name}: variables belong in variables.tf")
        if name != "outputs.tf":
            checks.check(not blocks(text, "output"), f"{name}: outputs belong in outputs.tf")
    used = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", code))
    for name in sorted(used - set(variables)):
        checks.check(False, f"var.{name} is used but not declared in terraform/variables.tf")
    for name in sorted(set(variables) - used):
        checks.check(False, f"variable {name} is declared but never used")
    checks.check(bool(variables), "no variable found in terraform/variables.tf")
    checks.check(used <= set(variables), "every var.X used is declared")
    for name, v in variables.items():
        checks.check(v["description"].strip() != "", f"variable {name} has no description")
        checks.check(v["type"] not in ("any", ""), f"variable {name} has no type (or `any`)")


def check_references(checks, code):
    defined_locals = set()
    for _, body in blocks(code, "locals"):
        defined_locals |= set(top_level_attributes(body))
    used_locals = set(re.findall(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)", code))
    for name in sorted(used_locals - defined_locals):
        checks.check(False, f"local.{name} is used but not defined in a locals block")
    for name in sorted(defined_locals - used_locals):
        checks.check(False, f"local.{name} is defined but never used")
    checks.check(used_locals <= defined_locals, "every local.X used is defined")

    resources = {".".join(labels[:2]) for labels, _ in blocks(code, "resource")}
    datas = {"data." + ".".join(labels[:2]) for labels, _ in blocks(code, "data")}
    refs = set()
    for m in re.finditer(r"(?<![\w.\"-])(data\.)?((?:aws_[a-z0-9_]+)|terraform_data)\.([a-z0-9_]+)\b", code):
        refs.add(f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}")
    missing = sorted(r for r in refs if r not in resources and r not in datas)
    for r in missing:
        checks.check(False, f"{r} is referenced but not declared")
    checks.check(not missing, "every resource and data source referenced is declared")


def check_module_files(checks, code):
    """Files the module reads through ${path.module}/... exist (the ASL file is check_asl's)."""
    for rel in sorted(set(re.findall(r"\$\{path\.module\}/([^\"$}]+)", code))):
        if rel.startswith("../statemachine/"):
            continue
        checks.check((TF / rel).exists(), f"terraform/{rel} is read by the module but does not exist")


def render_inputs(variables):
    rows = ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for name, v in sorted(variables.items()):
        default = "n/a" if v["required"] else f"`{v['default']}`"
        desc = v["description"].replace("|", "\\|").replace("\n", " ")
        rows.append(f"| <a name=\"input_{name}\"></a> [{name}](#input_{name}) | {desc} | `{v['type']}` | {default} | {'yes' if v['required'] else 'no'} |")
    return "\n".join(rows)


def render_outputs(outputs):
    rows = ["| Name | Description |", "|------|-------------|"]
    for name, desc in sorted(outputs.items()):
        desc = desc.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| <a name=\"output_{name}\"></a> [{name}](#output_{name}) | {desc} |")
    return "\n".join(rows)


def replace_between(text, begin, end, content):
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text)


def check_readme(checks, variables, outputs, settings, write):
    if not checks.check(README.exists(), f"{README.relative_to(REPO)} is missing"):
        return
    text = README.read_text(encoding="utf-8")
    tables = [
        ("<!-- BEGIN_INPUTS -->", "<!-- END_INPUTS -->", render_inputs(variables), "inputs"),
        ("<!-- BEGIN_OUTPUTS -->", "<!-- END_OUTPUTS -->", render_outputs(outputs), "outputs"),
    ]
    new = text
    for begin, end, content, what in tables:
        replaced = replace_between(new, begin, end, content)
        if checks.check(replaced is not None, f"terraform/README.md has no {begin} ... {end} section for the {what} table"):
            new = replaced
    if write and new != text:
        README.write_text(new, encoding="utf-8")
        print("terraform/README.md: inputs and outputs tables regenerated")
        text = new
    checks.check(
        new == text,
        "terraform/README.md's inputs/outputs tables differ from variables.tf/outputs.tf: "
        "run python3 tests/static/check-consistency.py --write-readme",
    )
    for name in variables:
        checks.check(f"[{name}](#input_{name})" in text, f"variable {name} is not documented in terraform/README.md")
    for name in outputs:
        checks.check(f"[{name}](#output_{name})" in text, f"output {name} is not documented in terraform/README.md")


def settings_rows():
    """docs/reference/settings.md's table: variable -> (Terraform column, default, meaning)."""
    text = SETTINGS_DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- BEGIN_SETTINGS -->(.*?)<!-- END_SETTINGS -->", text, re.S)
    if not m:
        return None
    rows = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([A-Z_][A-Z0-9_]*)`", cells[0]) if len(cells) == 4 else None
        if name:
            rows[name.group(1)] = cells[1:]
    return rows


def code_settings():
    """The environment variables the code reads as settings: `get("X")` and the like in every
    settings.rs, and the `*_VARIABLE: &str = "X"` constants anywhere under src/."""
    names = set()
    for path in sorted((REPO / "src").rglob("*.rs")):
        code = path.read_text(encoding="utf-8")
        code = code.split("#[cfg(test)]")[0]
        names |= set(re.findall(r'_VARIABLE: &str = "([A-Z_][A-Z0-9_]*)"', code))
        if path.name == "settings.rs":
            names |= set(re.findall(r'\bget\(\s*"([A-Z][A-Z0-9_]+)"', code))
            names |= set(re.findall(r'\(\s*&get,\s*"([A-Z][A-Z0-9_]+)"', code))
    return names


def settings_inputs(sources, key):
    """The variables main.tf builds a Settings variable from (through one level of locals)."""
    main = sources.get("main.tf", "")
    m = re.search(r"\n\s*" + re.escape(key) + r"\s*=\s*(.*)", main)
    if not m:
        return set()
    expr = m.group(1)
    names = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", expr))
    for local in re.findall(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)", expr):
        d = re.search(r"\n\s*" + re.escape(local) + r"\s*=\s*(.*)", main)
        if d:
            names |= set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", d.group(1)))
    return names


def check_settings_doc(checks, sources, variables, settings):
    where = SETTINGS_DOC.relative_to(REPO)
    if not checks.check(SETTINGS_DOC.exists(), f"{where} is missing"):
        return
    rows = settings_rows()
    if not checks.check(rows, f"{where} has no <!-- BEGIN_SETTINGS --> ... <!-- END_SETTINGS --> table"):
        return
    for key in settings:
        checks.check(key in rows, f"Settings variable {key} is not documented in {where}")
    for key in sorted(code_settings()):
        checks.check(key in rows, f"the code reads {key}, which {where} does not document")
    defaults = {name: default_of(sources, name) for name in variables}
    for key, (terraform, default, _meaning) in sorted(rows.items()):
        named = set(re.findall(r"`([a-z][a-z0-9_]*)`", terraform)) - {"true", "false", "null"}
        for name in sorted(named):
            checks.check(name in variables, f"{where}: {key}'s Terraform input {name} is not declared in variables.tf")
        if key in settings:
            for name in sorted(settings_inputs(sources, key)):
                checks.check(name in named, f"{where}: {key} comes from var.{name} (main.tf), which its row does not name")
        for name in sorted(named & set(variables)):
            value = defaults.get(name)
            if value is not None and re.fullmatch(r"\d+", value) and "module default" not in terraform:
                checks.check(
                    re.search(r"\b" + value + r"\b", default.replace(",", "")) is not None,
                    f"{where}: {key}'s default {default!r} is not {name}'s default {value} (variables.tf)",
                )


def default_of(sources, name):
    """The default of variable `name` as written in variables.tf, or None."""
    text = sources.get("variables.tf", "")
    m = re.search(r'variable\s+"' + re.escape(name) + r'"\s*\{', text)
    if not m:
        return None
    body = text[m.end() : matching_brace(text, m.end() - 1)]
    d = re.search(r"\n\s*default\s*=\s*(.*)", body)
    return d.group(1).strip() if d else None


def settings_keys(sources):
    main = sources.get("main.tf", "")
    m = re.search(r"settings\s*=\s*\{\s*for\s+k\s*,\s*v\s+in\s*\{", main)
    if not m:
        return []
    end = matching_brace(main, m.end() - 1)
    return list(top_level_attributes(main[m.end() : end]))


def check_example(checks, variables, outputs):
    files = sorted(EXAMPLE.glob("*.tf"))
    if not checks.check(files, "terraform/examples/complete has no .tf file"):
        return
    code = "\n".join(strip_comments(p.read_text(encoding="utf-8")) for p in files)
    this = []
    for labels, body in blocks(code, "module"):
        attrs = top_level_attributes(body)
        if hcl_string(attrs.get("source", "")) == "../../":
            this.append((labels[0], attrs))
    if not checks.check(this, 'terraform/examples/complete calls no module with source = "../../"'):
        return
    for name, attrs in this:
        args = set(attrs) - MODULE_META_ARGS
        for arg in sorted(args - set(variables)):
            checks.check(False, f"examples/complete module.{name} passes {arg}, which is not a variable")
        for req in sorted(v for v, d in variables.items() if d["required"] and v not in args):
            checks.check(False, f"examples/complete module.{name} does not pass required variable {req}")
        checks.check(args <= set(variables), f"examples/complete module.{name} passes only declared variables")
        for out in sorted(set(re.findall(r"\bmodule\." + re.escape(name) + r"\.([A-Za-z0-9_]+)", code))):
            checks.check(out in outputs, f"examples/complete reads module.{name}.{out}, which is not an output")


def check_asl(checks, sources, asl_path):
    sm = sources.get("statemachine.tf", "")
    calls = list(re.finditer(r"templatefile\(", sm))
    if not checks.check(len(calls) == 1, f"terraform/statemachine.tf should call templatefile() once, found {len(calls)}"):
        return
    open_paren = calls[0].end() - 1
    inner = sm[open_paren + 1 : matching_brace(sm, open_paren)]
    brace = inner.find("{")
    if not checks.check(brace >= 0, "templatefile() is not given a literal map of variables"):
        return
    supplied = set(top_level_attributes(inner[brace + 1 : matching_brace(inner, brace)]))
    checks.check(bool(supplied), "templatefile() supplies no variable")
    if not checks.check(asl_path.exists(), f"{asl_path} does not exist"):
        return
    text = asl_path.read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{([^}]*)\}", text))
    for p in sorted(placeholders - supplied):
        checks.check(False, f"{asl_path.name} uses ${{{p}}}, which templatefile() does not supply")
    for s in sorted(supplied - placeholders):
        checks.check(False, f"templatefile() supplies {s}, which {asl_path.name} never uses")
    checks.check(placeholders == supplied, "the ASL placeholders are exactly the templatefile() variables")
    checks.check("%{" not in text, f"{asl_path.name} contains %{{ , a templatefile() directive")
    fake = {p: f"arn:aws:lambda:eu-west-1:123456789012:function:test-{p}" for p in placeholders}
    rendered = re.sub(r"\$\{([^}]*)\}", lambda m: fake.get(m.group(1), m.group(0)), text)
    try:
        definition = json.loads(rendered)
    except json.JSONDecodeError as err:
        checks.check(False, f"{asl_path.name} rendered with templatefile() is not JSON: {err}")
        return
    checks.check(True, "the rendered definition is JSON")
    resources = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("Type") == "Task" and isinstance(node.get("Resource"), str):
                resources.add(node["Resource"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(definition)
    for p, arn in sorted(fake.items()):
        checks.check(arn in resources, f"${{{p}}} is not used as a Task state's Resource in {asl_path.name}")


def budget_constants(checks):
    """budget.rs's `const NAME: u64 = N;` figures, or None when a BUDGET_LOCALS one is missing."""
    if not checks.check(BUDGET_RS.exists(), f"{BUDGET_RS.relative_to(REPO)} does not exist"):
        return None
    text = BUDGET_RS.read_text(encoding="utf-8")
    found = {m.group(1): int(m.group(2).replace("_", "")) for m in re.finditer(r"const\s+([A-Z_]+)\s*:\s*u64\s*=\s*([0-9_]+)\s*;", text)}
    missing = sorted(set(BUDGET_LOCALS) - set(found))
    checks.check(not missing, f"{BUDGET_RS.name}: constants not found: {missing}")
    return None if missing else found


def lock_wait_rounds(poll_max_wait, lock_wait):
    """budget.rs's lock_wait_rounds: the wait in rounds, plus the one that sees it run out."""
    return -(-lock_wait // max(poll_max_wait, 1)) + 1


def longest_tracked_seconds(budget, poll_max_wait, lock_wait):
    """budget.rs's longest_tracked_seconds, from its constants."""
    round_seconds = max(poll_max_wait, 1)
    limit = budget["HISTORY_EVENT_LIMIT"] - budget["HEADROOM"]
    lock_events = lock_wait_rounds(poll_max_wait, lock_wait) * budget["EVENTS_PER_POLL_ROUND"]
    per_round = max(0, limit - budget["EVENTS_OUTSIDE_LOOP"] - lock_events) // budget["EVENTS_PER_POLL_ROUND"]
    return max(0, per_round - 1) * round_seconds


def events_needed(budget, max_duration, poll_max_wait, lock_wait):
    """budget.rs's events_needed: the lock wait's rounds, the rounds until the deadline, and
    the one that sees it pass."""
    round_seconds = max(poll_max_wait, 1)
    rounds = lock_wait_rounds(poll_max_wait, lock_wait) + -(-max_duration // round_seconds) + 1
    return budget["EVENTS_OUTSIDE_LOOP"] + rounds * budget["EVENTS_PER_POLL_ROUND"]


def check_budget(checks, sources, variables):
    budget = budget_constants(checks)
    if budget is None:
        return
    module_locals = {}
    for _, body in blocks(sources.get("main.tf", ""), "locals"):
        module_locals.update(top_level_attributes(body))
    for const, local in BUDGET_LOCALS.items():
        checks.check(
            module_locals.get(local) == str(budget[const]),
            f"terraform/main.tf local.{local} = {module_locals.get(local)}, but budget.rs's {const} is {budget[const]}",
        )
    if not checks.check(MODULE_TEST.exists(), f"{MODULE_TEST.relative_to(REPO)} does not exist"):
        return
    limit = budget["HISTORY_EVENT_LIMIT"] - budget["HEADROOM"]
    default_lock_wait = (variables.get("lock_wait_seconds") or {}).get("default")
    if not checks.check(default_lock_wait is not None, "variables.tf: lock_wait_seconds has no default"):
        return
    runs = blocks(strip_comments(MODULE_TEST.read_text(encoding="utf-8")), "run")
    accepted, refused = {}, {}
    for labels, body in runs:
        name = labels[0] if labels else ""
        if not name.startswith(("max_duration_longest_tracked_", "max_duration_over_longest_tracked_")):
            continue
        variables = {}
        for vlabels, vbody in blocks(re.sub(r"(?m)^\s+", "", body), "variables"):
            variables.update(top_level_attributes(vbody))
        try:
            wait = int(variables["poll_max_wait_seconds"])
            duration = int(variables["max_duration_seconds"])
            lock_wait = int(variables.get("lock_wait_seconds", default_lock_wait))
        except (KeyError, ValueError, TypeError):
            checks.check(
                False,
                f'run "{name}" must set poll_max_wait_seconds and max_duration_seconds (and lock_wait_seconds, if it sets it) to whole numbers',
            )
            continue
        longest = longest_tracked_seconds(budget, wait, lock_wait)
        # The figure is the boundary of events_needed, which is what check_fits compares.
        checks.check(
            events_needed(budget, longest, wait, lock_wait) <= limit < events_needed(budget, longest + 1, wait, lock_wait),
            f"budget.rs's longest_tracked_seconds({wait}, lock wait {lock_wait}) = {longest} is not the boundary of events_needed",
        )
        what = f"poll_max_wait_seconds = {wait} and lock_wait_seconds = {lock_wait}"
        if name.startswith("max_duration_over_"):
            refused[(wait, lock_wait)] = duration
            checks.check(
                duration == longest + 1,
                f'run "{name}": max_duration_seconds = {duration}, but one second over budget.rs\'s longest_tracked_seconds for {what} is {longest + 1}',
            )
            checks.check("expect_failures" in body, f'run "{name}" must expect the plan to fail')
        else:
            accepted[(wait, lock_wait)] = duration
            checks.check(
                duration == longest,
                f'run "{name}": max_duration_seconds = {duration}, but budget.rs\'s longest_tracked_seconds for {what} is {longest}',
            )
            checks.check("expect_failures" not in body, f'run "{name}" must expect the plan to succeed')
    both = set(accepted) & set(refused)
    checks.check(
        len({wait for wait, _ in both}) >= 2,
        f"{MODULE_TEST.name}: the history budget is tested (largest accepted and one second more refused) for (poll_max_wait_seconds, lock_wait_seconds) {sorted(both)}; at least two poll_max_wait_seconds values are needed",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asl", default=str(DEFAULT_ASL), help="ASL definition to check (default: statemachine/migration.asl.json)")
    parser.add_argument("--write-readme", action="store_true", help="regenerate terraform/README.md's inputs and outputs tables")
    args = parser.parse_args()
    if not TF.is_dir():
        print(f"check-consistency.py: {TF} not found", file=sys.stderr)
        return 2

    checks = Checks()
    sources, code = read_module()
    variables = declared_variables(sources)
    outputs = declared_outputs(sources)
    check_variables(checks, sources, code, variables)
    check_references(checks, code)
    check_module_files(checks, code)
    check_readme(checks, variables, outputs, settings_keys(sources), args.write_readme)
    check_settings_doc(checks, sources, variables, settings_keys(sources))
    checks.check(settings_keys(sources), "terraform/main.tf: local.settings not found")
    check_example(checks, variables, outputs)
    check_asl(checks, sources, Path(args.asl).resolve())
    check_budget(checks, sources, variables)

    print(f"check-consistency.py: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
