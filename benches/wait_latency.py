"""How long after an execution ends `ecs-migrate wait` exits, and how many AWS calls it makes
per minute of waiting. Run by benches/wait-latency.sh (which builds the binary and installs
moto); not a test.

Against moto server on 127.0.0.1 (tests/support/moto_server.py, with MOTO_REQUEST_LOG so the
calls are counted on the server side too):
  * latency: RUNS executions of a machine that waits SHORT_WAIT seconds; for each, `wait`
    starts 0 to 2 s after StartExecution (spread evenly, to sample every phase of the poll
    interval) and the time from the execution's stopDate to the process's exit is taken;
  * calls per minute: one execution that waits LONG_WAIT seconds with a known log stream (so
    the log is followed), counted by `wait --verbose` and by moto's request log.
"""

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
RUNS = int(os.environ.get("RUNS", "8"))
SHORT_WAIT = int(os.environ.get("SHORT_WAIT", "3"))
LONG_WAIT = int(os.environ.get("LONG_WAIT", "60"))


def main(binary, moto_python, server_script, work):
    request_log = os.path.join(work, "requests.log")
    open(request_log, "w").close()
    env = dict(os.environ, MOTO_REQUEST_LOG=request_log)
    server = subprocess.Popen(
        [moto_python, server_script, "0", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(work, "moto.log"), "w"),
        env=env,
        text=True,
    )
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        endpoint = f"http://127.0.0.1:{port}"
        run(binary, endpoint, request_log)
    finally:
        server.kill()
        server.wait()


def run(binary, endpoint, request_log):
    kw = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(
                urllib.request.Request(
                    endpoint + "/moto-api/config",
                    data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                    method="POST",
                )
            )
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    sfn = boto3.client("stepfunctions", **kw)
    logs = boto3.client("logs", **kw)
    logs.create_log_group(logGroupName="/ecs/bench")
    logs.create_log_stream(logGroupName="/ecs/bench", logStreamName="ecs/app/bench")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/ecs/bench",
        logStreamName="ecs/app/bench",
        logEvents=[{"timestamp": now + i, "message": f"migration line {i}"} for i in range(20)],
    )

    def machine(name, seconds):
        task = {
            "task_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/c/bench",
            "cluster": "c",
            "run_at": "2026-01-01T00:00:00Z",
            "log_stream": {"group": "/ecs/bench", "stream": "ecs/app/bench", "region": REGION},
        }
        definition = {
            "StartAt": "RunTask",
            "States": {
                "RunTask": {"Type": "Pass", "Result": task, "ResultPath": "$.task", "Next": "PollStatus"},
                "PollStatus": {"Type": "Wait", "Seconds": seconds, "Next": "MigrationSucceeded"},
                "MigrationSucceeded": {"Type": "Succeed"},
            },
        }
        return sfn.create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/bench",
        )["stateMachineArn"]

    cli_env = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    def cli(*args):
        return subprocess.run(
            [binary, *args, "--endpoint-url", endpoint],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=LONG_WAIT + 60,
        )

    short = machine("bench-short", SHORT_WAIT)
    latencies = []
    for i in range(RUNS):
        started = cli("start", "--state-machine-arn", short, "--task-definition", f"app:{i + 1}")
        assert started.returncode == 0, started.stderr
        arn = started.stdout.strip()
        # Polls run from when `wait` starts: a varying head start samples every phase of
        # the poll interval against the execution's end.
        time.sleep(2.0 * i / RUNS)
        waited = cli("wait", arn)
        exited = time.time()
        assert waited.returncode == 0, waited.stdout + waited.stderr
        stop = sfn.describe_execution(executionArn=arn)["stopDate"].timestamp()
        latencies.append(exited - stop)
    latencies.sort()
    print(f"exit latency after the execution ends, {RUNS} runs, default --poll-interval 2:")
    print(
        f"  min {latencies[0]:.2f} s, median {statistics.median(latencies):.2f} s, "
        f"max {latencies[-1]:.2f} s"
    )

    long = machine("bench-long", LONG_WAIT)
    started = cli("start", "--state-machine-arn", long, "--task-definition", "app:99")
    assert started.returncode == 0, started.stderr
    arn = started.stdout.strip()
    before = sum(1 for _ in open(request_log))
    began = time.time()
    waited = cli("wait", arn, "--verbose", "--json")
    seconds = time.time() - began
    assert waited.returncode == 0, waited.stdout + waited.stderr
    report = json.loads(waited.stdout)
    with open(request_log) as f:
        lines = f.readlines()[before:]
    server_states = sum(1 for l in lines if " states:" in l)
    server_logs = sum(1 for l in lines if " logs:" in l)
    calls = report["apiCalls"]
    per_minute = (calls["states"] + calls["logs"]) * 60 / seconds
    print(f"API calls while waiting {seconds:.1f} s on a {LONG_WAIT} s execution (log followed):")
    print(
        f"  client count: states {calls['states']}, logs {calls['logs']}: {per_minute:.1f} a minute"
    )
    print(f"  moto's request log: states {server_states}, logs {server_logs}")
    print(f"  log lines shown: {report['logLines']}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
