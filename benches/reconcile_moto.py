"""The reconciler's API calls and duration per run against moto server. Run by
benches/reconcile.sh (which builds the binary and installs moto); not a test.

For each size N in SIZES: a fresh moto server (ECS task transitions made manual, so tasks stay
RUNNING until stopped), a cluster with N tasks started as run-task starts them (startedBy the
digest of a RUNNING execution's ARN, the ecs-migrate:execution tag) and N lock items held by
those executions, plus (FIX=1, the default) one ABORTED execution's task and lock. Then RUNS
runs of `ecs-migrate reconcile --json --grace-seconds 0`; the first fixes the aborted one, the
others find nothing. Prints the median wall time of the process, the calls the report counts
and the requests moto logged.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"
SIZES = [int(s) for s in os.environ.get("SIZES", "0 10 100").split()]
RUNS = int(os.environ.get("RUNS", "3"))
FIX = os.environ.get("FIX", "1") == "1"


def started_by(execution_arn):
    digest = hashlib.sha256(b"started-by\0" + execution_arn.encode() + b"\0").hexdigest()
    return "ecs-migrate/" + digest[:24]


def start_server(python, script, log):
    proc = subprocess.Popen(
        [python, script, "0", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=dict(os.environ, MOTO_REQUEST_LOG=log), text=True,
    )
    line = proc.stdout.readline()
    port = int(line.rsplit(":", 1)[1])
    return proc, f"http://127.0.0.1:{port}"


def post(endpoint, path, body):
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


def client(name, endpoint):
    return boto3.client(name, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def lock_item(scope, holder, task_arn, cluster, taskdef):
    now = int(time.time() * 1000)
    s = lambda v: {"S": v}
    n = lambda v: {"N": str(v)}
    return {"scope": s(scope), "holder": s(holder), "client_token": s("t-" + scope),
            "taskdef_arn": s(taskdef), "family": s("app"), "revision": n(1),
            "cluster": s(cluster), "started_by": s(started_by(holder)), "task_arn": s(task_arn),
            "since": n(now - 60000), "lease_until": n(now + 600000)}


def setup(endpoint, size):
    post(endpoint, "/moto-api/state-manager/set-transition",
         {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}})
    ecs, sfn, ddb, ec2 = (client(n, endpoint) for n in ("ecs", "stepfunctions", "dynamodb", "ec2"))
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    cluster = ecs.create_cluster(clusterName="bench")["cluster"]["clusterArn"]
    taskdef = ecs.register_task_definition(
        family="app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "app", "image": "x", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    machine = sfn.create_state_machine(
        name="bench", roleArn=f"arn:aws:iam::{ACCOUNT}:role/bench",
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}}}),
    )["stateMachineArn"]
    ddb.create_table(TableName="bench-lock", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}])
    names = [f"live-{i}" for i in range(size)] + (["aborted"] if FIX else [])
    for name in names:
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"]
        task = ecs.run_task(
            cluster=cluster, taskDefinition=taskdef, launchType="FARGATE", startedBy=started_by(arn),
            tags=[{"key": "ecs-migrate:execution", "value": name}],
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}},
        )["tasks"][0]["taskArn"]
        ddb.put_item(TableName="bench-lock", Item=lock_item(name, arn, task, cluster, taskdef))
        if name == "aborted":
            sfn.stop_execution(executionArn=arn)
    return cluster, machine


def requests_in(log):
    try:
        with open(log, encoding="utf-8") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def one_run(binary, endpoint, cluster, machine, log):
    before = requests_in(log)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "PATH": os.environ.get("PATH", "")}
    started = time.monotonic()
    out = subprocess.run(
        [binary, "reconcile", "--json", "--grace-seconds", "0", "--endpoint-url", endpoint,
         "--state-machine-arn", machine, "--cluster", cluster, "--table", "bench-lock"],
        capture_output=True, text=True, env=env, check=False,
    )
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"reconcile failed ({out.returncode}): {out.stderr}")
    report = json.loads(out.stdout)
    return elapsed, report, requests_in(log) - before


def main():
    binary, python, script, work = sys.argv[1:5]
    print(f"reconciler per run against moto ({RUNS} runs each; first run fixes {'one aborted execution' if FIX else 'nothing'})")
    print("| tasks in the cluster | fixes (first run) | API calls per run (report) | requests moto logged | duration per run (median) |")
    print("| --- | --- | --- | --- | --- |")
    for size in SIZES:
        log = os.path.join(work, f"moto-{size}.log")
        proc, endpoint = start_server(python, script, log)
        try:
            cluster, machine = setup(endpoint, size)
            runs = [one_run(binary, endpoint, cluster, machine, log) for _ in range(RUNS)]
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
        first_fixes = len(runs[0][1]["fixes"])
        calls = sorted({r[1]["api_calls"] for r in runs})
        logged = sorted({r[2] for r in runs})
        median = statistics.median(r[0] for r in runs)
        print(f"| {size + (1 if FIX else 0)} | {first_fixes} | {', '.join(map(str, calls))} | {', '.join(map(str, logged))} | {median * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
