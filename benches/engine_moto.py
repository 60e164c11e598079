"""Engine throughput of moto's Step Functions interpreter on the loop of benches/engine.rs.

Usage: python engine_moto.py N   (prints one JSON line)
"""
import json
import sys
import time

import boto3
from moto import mock_aws


def loop_definition(n):
    return {
        "Comment": "Benchmark loop: Pass (States.MathAdd) -> Choice, n times",
        "StartAt": "Increment",
        "States": {
            "Increment": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Done?"},
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": n, "Next": "Increment"}],
                "Default": "Finish",
            },
            "Finish": {"Type": "Succeed"},
        },
    }


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def main(n):
    client = boto3.client("stepfunctions", region_name="us-east-1")
    machine = client.create_state_machine(
        name="bench",
        definition=json.dumps(loop_definition(n)),
        roleArn="arn:aws:iam::123456789012:role/bench",
    )
    start = time.perf_counter()
    execution = client.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"i": 0}))
    while True:
        described = client.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            break
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    events = []
    kwargs = {"executionArn": execution["executionArn"], "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    print(json.dumps({
        "engine": "moto",
        "n": n,
        "status": described["status"],
        "output": json.loads(described.get("output", "null")),
        "transitions": transitions,
        "events": len(events),
        "seconds": seconds,
        "transitions_per_second": transitions / seconds,
    }))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
