"""The moto server the project's wire tests run, with the moto bugs they hit worked around.

usage: python moto_server.py PORT [--exit-on-stdin-eof]      (PORT 0: the OS picks one)

Binds 127.0.0.1 only. With --exit-on-stdin-eof the server exits when its stdin closes, so a
test binary that spawned it with a pipe cannot leave it behind, even if it panics or aborts. The first line on stdout is `moto listening on 127.0.0.1:PORT`, printed
once the socket is bound, so a caller that passed 0 learns the port. Werkzeug's request log
goes to stderr.

Pinned moto: tests/support/install-moto.sh (moto[server] 5.2.5). What changed since the 5.2.1
this file was first written for (tried against a plain 5.2.5 server):
  * gone: ECS container `cpu`/`memory` serialised as numbers (the Rust SDK wanted strings);
    5.2.5 sends strings.
  * gone: with execute_state_machine, every StartExecution after the first returned 500
    (deepcopy of a StateMachine holding thread locks); 5.2.5 starts them all.
  * still there: the two RunTask 500s patched below, and no exit codes / stop codes to test
    with (the opt-in test hooks below).

Where moto is kinder than ECS, ECS's rules are patched in (each cites its API reference page;
tests/wire/ecs_contract.rs holds the three ECS stand-ins to the same rules):
  * StopTask on a task the cluster does not have: InvalidParameterException "The referenced task
    was not found." (moto: HTTP 500); a stopped task goes DEACTIVATING -> STOPPING ->
    DEPROVISIONING -> STOPPED, one step per DescribeTasks (moto: STOPPED at once), with
    desiredStatus STOPPED from StopTask on (and from its container's exit).
  * ListTasks without desiredStatus lists only desiredStatus RUNNING (moto: every task).
  * DescribeTasks answers for the cluster asked only, a task elsewhere in `failures[]` with
    reason MISSING (moto: any cluster's task, no failures).
  * RunTask refuses an INACTIVE task definition, an override naming a container the task
    definition lacks, more than 50 tags, an `aws:` tag key and an empty one (moto: accepts).

Test hook: faults on request. POST /_ecs_migrate/faults with {"operation": "StopTask",
"code": "ThrottlingException"} makes the next ECS call of that operation fail with that code
(HTTP 400, or 500 for ServerException), as ECS does under throttling or an outage (API
Reference, Common Errors). Use a server of the test's own: the fault hits whoever calls next.

Test hook: the state an execution is in. POST /_ecs_migrate/state-entered with
{"executionArn": ..., "name": "StopTask"} makes that execution's GetExecutionHistory show the
Task state entered (moto's own history never does; see the patch below).

Environment (test hooks, not AWS behaviour):
  MOTO_REQUEST_LOG=FILE   append one line per request: `<epoch seconds> <service>:<operation>`
                          (from X-Amz-Target or Action=), for counting a client's API calls.
"""

import os
import sys
import time

import moto.ecs.models as ecs_models

# --- Bug 1 (moto 5.2.5): RunTask with awsvpc networkConfiguration but no `securityGroups` ----
# Task.__init__ reads net_conf["securityGroups"] unguarded: KeyError, HTTP 500. AWS makes the
# field optional (the VPC's default security group is used). Give moto an empty list.
_orig_task_init = ecs_models.Task.__init__


def _task_init_with_optional_security_groups(self, *args, **kwargs):
    net = kwargs.get("networking_configuration")
    vpc = (net or {}).get("awsvpcConfiguration")
    if isinstance(vpc, dict) and "securityGroups" not in vpc:
        vpc["securityGroups"] = []
    _orig_task_init(self, *args, **kwargs)


ecs_models.Task.__init__ = _task_init_with_optional_security_groups


# --- Bug 2 (moto 5.2.5): RunTask when a container has no `memory` of its own -----------------
# _calculate_task_resource_requirements adds each container's memory/memoryReservation to an
# int; a Fargate task definition that sets memory only at task level (valid on AWS, and what
# RegisterTaskDefinition accepts) gives None + int: TypeError, HTTP 500. Count such a container
# as 0 MiB (the task-level figure is what Fargate reserves anyway).
class _TaskDefinitionView:
    def __init__(self, task_definition):
        self.container_definitions = [
            c
            if any(c.get(k) is not None for k in ("memory", "memoryReservation", "Memory", "MemoryReservation"))
            else dict(c, memory=0)
            for c in task_definition.container_definitions
        ]


_orig_requirements = ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements


def _requirements_with_task_level_memory(task_definition):
    return _orig_requirements(_TaskDefinitionView(task_definition))


ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(
    _requirements_with_task_level_memory
)


# --- Test hook: exit codes and stop codes --------------------------------------------------
# moto reports every container with exitCode 0 and lastStatus PENDING from RunTask on, and no
# stopCode. For tests of failed migrations:
#  * containers[].exitCode is absent until the task is STOPPED, then 0, or the int given in a
#    container override env var MOTO_EXIT_CODE (RunTask overrides.containerOverrides[].environment);
#  * containers[].lastStatus mirrors the task's lastStatus;
#  * stopCode/stoppedReason are set once STOPPED: "UserInitiated" (and StopTask's reason) after
#    StopTask, otherwise "EssentialContainerExited" / "Essential container in task exited".
_task_init_before_hook = ecs_models.Task.__init__


def _task_init_with_exit_code(self, *args, **kwargs):
    _task_init_before_hook(self, *args, **kwargs)
    exit_code = 0
    for override in (self.overrides or {}).get("containerOverrides", []) or []:
        for env in override.get("environment", []) or []:
            if env.get("name") == "MOTO_EXIT_CODE":
                exit_code = int(env["value"])
    for container in self.containers:
        container._moto_task = self
        container._moto_exit_code = exit_code


ecs_models.Task.__init__ = _task_init_with_exit_code


def _task_stop_code(self):
    if self.last_status != "STOPPED":
        return None
    # StopTask's desiredStatus, not the one a container's exit implies (patched in below).
    user_stopped = self.__dict__.get("_desired_status") == "STOPPED"
    return "UserInitiated" if user_stopped else "EssentialContainerExited"


def _task_get_stopped_reason(self):
    reason = self.__dict__.get("_stopped_reason")
    if self.last_status == "STOPPED" and not reason:
        return "Essential container in task exited"
    return reason or ""


def _task_set_stopped_reason(self, value):
    self.__dict__["_stopped_reason"] = value


ecs_models.Task.stop_code = property(_task_stop_code)
ecs_models.Task.stopped_reason = property(_task_get_stopped_reason, _task_set_stopped_reason)


def _container_get_exit_code(self):
    task = self.__dict__.get("_moto_task")
    if task is None:
        return self.__dict__.get("_exit", 0)
    return self.__dict__.get("_moto_exit_code", 0) if task.last_status == "STOPPED" else None


def _container_set_exit_code(self, value):
    self.__dict__["_exit"] = value


def _container_get_last_status(self):
    task = self.__dict__.get("_moto_task")
    return task.last_status if task is not None else self.__dict__.get("_last_status")


def _container_set_last_status(self, value):
    self.__dict__["_last_status"] = value


ecs_models.Container.exitCode = property(_container_get_exit_code, _container_set_exit_code)
ecs_models.Container.last_status = property(_container_get_last_status, _container_set_last_status)


# --- ECS stricter than moto ------------------------------------------------------------------
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import EcsClientException, InvalidParameterException

# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html (Errors): a task the
# cluster does not have is "not found"; StopTask sets desiredStatus STOPPED and the task drains
# through DEACTIVATING and STOPPING (Developer Guide, "Amazon ECS task lifecycle").
TASK_NOT_FOUND = "The referenced task was not found."
_STOPPING = ("DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED")


def _stop_task(self, cluster_str, task_str, reason):
    cluster = self._get_cluster(cluster_str)
    task_id = task_str.split("/")[-1]
    for arn, task in self.tasks.get(cluster.name, {}).items():
        if arn.endswith("/" + task_id):
            if task.__dict__.get("_desired_status") != "STOPPED":
                task.stopped_reason = reason
            if task.last_status not in _STOPPING:
                task.last_status = "DEACTIVATING"
            task.desired_status = "STOPPED"
            return task
    raise InvalidParameterException(TASK_NOT_FOUND)


ecs_models.EC2ContainerServiceBackend.stop_task = _stop_task


# A task whose container exited has desiredStatus STOPPED too (moto keeps RUNNING).
def _get_desired_status(self):
    if self.last_status in _STOPPING:
        return "STOPPED"
    return self.__dict__.get("_desired_status", "RUNNING")


def _set_desired_status(self, value):
    self.__dict__["_desired_status"] = value


ecs_models.Task.desired_status = property(_get_desired_status, _set_desired_status)

# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html: "The default
# status filter is RUNNING".
_orig_list_tasks = ecs_models.EC2ContainerServiceBackend.list_tasks


def _list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                service_name=None, desiredStatus=None):
    return _orig_list_tasks(self, cluster_str, container_instance, family, started_by,
                            service_name, desiredStatus or "RUNNING")


ecs_models.EC2ContainerServiceBackend.list_tasks = _list_tasks


# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html: the tasks of
# the cluster named; the others are `failures` with reason MISSING.
def _describe_tasks(self, cluster_str, tasks):
    cluster = self._get_cluster(cluster_str)
    if not tasks:
        raise InvalidParameterException("Tasks cannot be empty.")
    found = []
    for arn, task in self.tasks.get(cluster.name, {}).items():
        if arn in tasks or any(arn.endswith("/" + t.split("/")[-1]) for t in tasks):
            user_stopped = task.__dict__.get("_desired_status") == "STOPPED"
            if user_stopped and task.last_status in _STOPPING[:-1]:
                # A stopped task drains one step per look, whatever moto's state manager says.
                task.last_status = _STOPPING[_STOPPING.index(task.last_status) + 1]
            else:
                task.advance()
            found.append(task)
    return found


ecs_models.EC2ContainerServiceBackend.describe_tasks = _describe_tasks
_orig_describe_tasks_response = ecs_responses.EC2ContainerServiceResponse.describe_tasks


def _describe_tasks_response(self):
    result = _orig_describe_tasks_response(self)
    asked = self._get_param("tasks", [])
    found = [t.task_arn for t in result.result["tasks"]]
    result.result["failures"] = [
        {"arn": a, "reason": "MISSING"}
        for a in asked
        if not any(f.endswith("/" + a.split("/")[-1]) for f in found)
    ]
    return result


ecs_responses.EC2ContainerServiceResponse.describe_tasks = _describe_tasks_response

# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html and API_Tag.html.
_orig_run_task = ecs_models.EC2ContainerServiceBackend.run_task


def _run_task(self, cluster_str, task_definition_str, count, overrides, started_by, tags,
              *args, **kwargs):
    task_definition = self.describe_task_definition(task_definition_str)
    if task_definition.status == "INACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
    names = {c.get("name") for c in task_definition.container_definitions}
    for override in (overrides or {}).get("containerOverrides", []) or []:
        if override.get("name") not in names:
            raise InvalidParameterException(
                f"Override for container named {override.get('name')} is not a container in the TaskDefinition."
            )
    tags = tags or []
    if len(tags) > 50:
        raise InvalidParameterException(f"{len(tags)} tags given; a resource takes at most 50")
    for tag in tags:
        key = tag.get("key") or ""
        if not key:
            raise InvalidParameterException("a tag key must not be empty")
        if key[:4].lower() == "aws:":
            raise InvalidParameterException(f"tag key {key!r}: the aws: prefix is reserved for AWS use")
    return _orig_run_task(self, cluster_str, task_definition_str, count, overrides, started_by,
                          tags, *args, **kwargs)


ecs_models.EC2ContainerServiceBackend.run_task = _run_task


# --- Step Functions: GetExecutionHistory of the states a test says an execution entered -----
# moto answers every execution's GetExecutionHistory with one canned history (ExecutionStarted,
# PassStateEntered "A State", ..., ExecutionSucceeded), or, with execute_state_machine, the
# states it ran itself; it never shows the Task state whose function the test invokes, and
# ignores reverseOrder and maxResults. A test that plays a Task state's invocation records the
# state first: POST /_ecs_migrate/state-entered {"executionArn": ..., "name": "StopTask"}. Such
# an execution's history is ExecutionStarted then one TaskStateEntered per recorded state, in
# order, newest first with reverseOrder and at most maxResults events (0: the default 100),
# as GetExecutionHistory pages them (AWS Step Functions API Reference, GetExecutionHistory,
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
# An execution without recorded states keeps moto's own answer.
import moto.stepfunctions.responses as sfn_responses
from moto.core.responses import ActionResult as _ActionResult

_entered_states = {}
_orig_get_execution_history = sfn_responses.StepFunctionResponse.get_execution_history


def _recorded_history(execution_arn):
    from datetime import datetime, timezone

    at = datetime.now(timezone.utc)
    events = [{"timestamp": at, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
               "executionStartedEventDetails": {"input": "{}", "inputDetails": {"truncated": False}}}]
    for name in _entered_states[execution_arn]:
        n = len(events) + 1
        events.append({"timestamp": at, "type": "TaskStateEntered", "id": n, "previousEventId": n - 1,
                       "stateEnteredEventDetails": {"name": name, "input": "{}",
                                                    "inputDetails": {"truncated": False}}})
    return events


def _get_execution_history(self):
    arn = self._get_param("executionArn")
    if arn not in _entered_states:
        return _orig_get_execution_history(self)
    self.stepfunction_backend.describe_execution(arn)  # ExecutionDoesNotExist as moto answers it
    events = _recorded_history(arn)
    if self._get_param("reverseOrder"):
        events.reverse()
    return _ActionResult({"events": events[: int(self._get_param("maxResults") or 100)]})


sfn_responses.StepFunctionResponse.get_execution_history = _get_execution_history


class _StateEntered:
    """Records the states a test says an execution entered (see above)."""

    PATH = "/_ecs_migrate/state-entered"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        import json

        if environ.get("PATH_INFO") != self.PATH:
            return self.app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        entered = json.loads(environ["wsgi.input"].read(size) or b"{}")
        _entered_states.setdefault(entered["executionArn"], []).append(entered["name"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


# --- Test hook: faults on request --------------------------------------------------------------
class _Faults:
    """Answers the next ECS call of an operation with an error the test asked for."""

    PATH = "/_ecs_migrate/faults"

    def __init__(self, app):
        self.app = app
        self.queued = []

    def __call__(self, environ, start_response):
        import json

        if environ.get("PATH_INFO") == self.PATH:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            fault = json.loads(environ["wsgi.input"].read(size) or b"{}")
            self.queued.append((fault["operation"], fault["code"]))
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonEC2ContainerServiceV20141113."):
            operation = target.split(".")[-1]
            for i, (op, code) in enumerate(self.queued):
                if op == operation:
                    del self.queued[i]
                    status = "500 Internal Server Error" if code == "ServerException" else "400 Bad Request"
                    body = json.dumps({"__type": code, "message": f"{code} (injected by the test)"})
                    start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
                    return [body.encode()]
        return self.app(environ, start_response)


# --- Test hook: a request log for counting API calls ----------------------------------------
class _RequestLog:
    def __init__(self, app, path):
        self.app = app
        self.path = path

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target:
            query = environ.get("QUERY_STRING", "")
            action = [p[len("Action="):] for p in query.split("&") if p.startswith("Action=")]
            target = action[0] if action else environ.get("PATH_INFO", "")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service = ""
        if "Credential=" in auth:
            # Credential=KEY/DATE/REGION/SERVICE/aws4_request
            parts = auth.split("Credential=", 1)[1].split("/")
            if len(parts) > 3:
                service = parts[3]
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(f"{time.time():.3f} {service}:{target.split('.')[-1]}\n")
        return self.app(environ, start_response)


def _exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv):
    args = argv[1:]
    watch_stdin = "--exit-on-stdin-eof" in args
    args = [a for a in args if a != "--exit-on-stdin-eof"]
    if len(args) != 1 or not args[0].isdigit():
        sys.stderr.write(
            "usage: moto_server.py PORT [--exit-on-stdin-eof]   (PORT 0: pick a free port and print it)\n"
        )
        return 2
    if watch_stdin:
        import threading

        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    wsgi = _StateEntered(_Faults(app))
    if os.environ.get("MOTO_REQUEST_LOG"):
        wsgi = _RequestLog(wsgi, os.environ["MOTO_REQUEST_LOG"])
    server = make_server(
        "127.0.0.1", int(args[0]), wsgi, threaded=True, request_handler=MotoRequestHandler
    )
    # moto builds some URLs (SQS queue URLs, ...) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.port)
    print(f"moto listening on 127.0.0.1:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
