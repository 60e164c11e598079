//! Task bindings: the Step Functions Local mock configuration, the in-process registry and
//! the Lambda Invoke endpoint (against a small HTTP server in the test).

use crate::common;

use std::sync::{Arc, Mutex};

use common::*;
use ecs_migrate::asl::{
    EventType, ExecutionStatus, MockConfigError, MockInvoker, RegistryInvoker, TaskFailure,
};
use ecs_migrate::cli::lambda_endpoint::LambdaEndpointInvoker;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The example of "Configuration file for mocked service integrations" in the developer
/// guide (Step Functions Local), verbatim apart from layout.
fn guide_mock_config() -> Value {
    json!({
      "StateMachines": {
        "LambdaSQSIntegration": {
          "TestCases": {
            "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
            "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
            "HybridPath": {"LambdaState": "MockedLambdaSuccess"}
          }
        }
      },
      "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
        "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
        "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
          "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
        }
      }
    })
}

/// The LambdaSQSIntegration machine of the Step Functions Local example.
fn lambda_sqs_machine() -> Value {
    json!({"StartAt": "LambdaState", "States": {
        "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorldFunction"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
            "Next": "SQSState"},
        "SQSState": {"Type": "Task", "Resource": "arn:aws:sqs:::sendMessage",
            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue", "MessageBody.$": "$"},
            "End": true}}})
}

#[tokio::test]
async fn mock_config_happy_and_retry_paths() {
    let config = guide_mock_config();
    let happy = MockInvoker::from_config(&config, "LambdaSQSIntegration", "HappyPath").unwrap();
    let r = run_with(lambda_sqs_machine(), json!({}), happy).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.unwrap()["MessageId"],
        json!("3bcb6e8e-8b51-4375-b0bc-1a59812c6e51")
    );

    // RetryPath: invocation 0 throws ResourceNotReady, 1-2 throw Timeout, 3 returns; the
    // retrier (2 s, backoff 2, 3 attempts) waits 2, 4 and 8 seconds.
    let retry = MockInvoker::from_config(&config, "LambdaSQSIntegration", "RetryPath").unwrap();
    let r = run_with(lambda_sqs_machine(), json!({}), retry).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    let failures: Vec<String> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::TaskFailed)
        .map(|e| e.details.to_value()["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        failures,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
    let scheduled: Vec<i64> = r
        .history
        .iter()
        .filter(|e| {
            e.event_type == EventType::TaskScheduled
                && e.details.to_value()["resource"] == json!("invoke")
        })
        .map(|e| (e.timestamp - t0()).num_seconds())
        .collect();
    assert_eq!(scheduled, [0, 2, 6, 14]);
}

// HybridPath mocks only LambdaState: without another binding the unmocked SQSState is an
// error that names the state, the test case and the state machine.
#[tokio::test]
async fn unmocked_state_is_named() {
    let hybrid =
        MockInvoker::from_config(&guide_mock_config(), "LambdaSQSIntegration", "HybridPath")
            .unwrap();
    let r = run_with(lambda_sqs_machine(), json!({}), hybrid).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap();
    assert!(cause.contains("'SQSState' has no mocked response in test case 'HybridPath' of state machine 'LambdaSQSIntegration'"), "{cause}");
}

// Responses count invocations of the state: a poll loop coming back to the same state gets
// "0", "1", ... and the last one again once they run out.
#[tokio::test]
async fn mocked_responses_follow_invocations_in_a_loop() {
    let config = json!({
        "StateMachines": {"Poll": {"TestCases": {"Stops": {"PollStatus": "Statuses"}}}},
        "MockedResponses": {"Statuses": {
            "0-1": {"Return": {"status": "RUNNING"}},
            "2": {"Return": {"status": "STOPPED"}}}}
    });
    let def = json!({"StartAt": "PollStatus", "States": {
        "PollStatus": {"Type": "Task", "Resource": "${poll_status_function_arn}", "ResultPath": "$.task", "Next": "Stopped?"},
        "Stopped?": {"Type": "Choice", "Choices": [{"Variable": "$.task.status", "StringEquals": "STOPPED", "Next": "Done"}], "Default": "PollStatus"},
        "Done": {"Type": "Succeed"}}});
    let mock = MockInvoker::from_config(&config, "Poll", "Stops").unwrap();
    let r = run_with(def, json!({}), mock).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.event_counts()[&EventType::TaskStateEntered], 3);
}

#[tokio::test]
async fn mock_config_file_errors() {
    let dir = std::env::temp_dir().join(format!("asl-mock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("MockConfigFile.json");
    std::fs::write(&path, guide_mock_config().to_string()).unwrap();
    assert!(MockInvoker::from_file(&path, "LambdaSQSIntegration", "HappyPath").is_ok());
    assert!(matches!(
        MockInvoker::from_file(&path, "Other", "HappyPath"),
        Err(MockConfigError::NoStateMachine { .. })
    ));
    assert!(matches!(
        MockInvoker::from_file(&dir.join("missing.json"), "A", "B"),
        Err(MockConfigError::Read { .. })
    ));
    std::fs::write(&path, "{not json").unwrap();
    assert!(matches!(
        MockInvoker::from_file(&path, "A", "B"),
        Err(MockConfigError::Json(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

// The registry: `lambda:invoke` finds the handler by FunctionName (name or ARN), hands it
// the Payload, and wraps its result in the Invoke response ({"Payload", "StatusCode": 200}).
#[tokio::test]
async fn registry_lambda_invoke_shape() {
    let registry = RegistryInvoker::new().register("HelloWorldFunction", |call| async move {
        Ok::<_, TaskFailure>(json!({"got": call.input}))
    });
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:HelloWorldFunction:live", "Payload.$": "$"},
        "OutputPath": "$.Payload", "End": true}),
    );
    let r = run_with(def, json!({"x": 1}), registry).await;
    assert_eq!(r.output.unwrap(), json!({"got": {"x": 1}}));
}

/// A one-connection-at-a-time HTTP server answering like `cargo lambda watch`: function
/// "hello" echoes, "boom" fails with X-Amz-Function-Error, anything else is 404.
async fn fake_lambda_endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let request_line = head.lines().next().unwrap_or_default().to_string();
                s.lock().unwrap().push(format!("{request_line} {body}"));
                let (status, extra, reply) = if request_line.contains("/functions/hello/") {
                    ("200 OK", "", format!("{{\"echo\":{body}}}"))
                } else if request_line.contains("/functions/boom/") {
                    (
                        "200 OK",
                        "X-Amz-Function-Error: Unhandled\r\n",
                        r#"{"errorType":"Migration.NonZeroExit","errorMessage":"exit code 1"}"#
                            .to_string(),
                    )
                } else {
                    // As Lambda answers an unknown function (Invoke API reference, Errors:
                    // ResourceNotFoundException, HTTP 404), the code in x-amzn-ErrorType.
                    (
                        "404 Not Found",
                        "X-Amzn-ErrorType: ResourceNotFoundException\r\n",
                        r#"{"Type":"User","message":"Function not found"}"#.to_string(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn lambda_endpoint_invoker() {
    let (url, seen) = fake_lambda_endpoint().await;
    let invoker = LambdaEndpointInvoker::new(&url).unwrap();
    // A function ARN resource: the state input is the event, the body the result.
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "End": true}),
    );
    let r = run_with(def, json!({"a": 1}), invoker.clone()).await;
    assert_eq!(r.output, Some(json!({"echo": {"a": 1}})));
    assert!(seen.lock().unwrap()[0]
        .starts_with("POST /2015-03-31/functions/hello/invocations HTTP/1.1 {\"a\":1}"));

    // lambda:invoke: FunctionName and Payload from the parameters, Invoke response shape.
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "hello:live", "Payload": {"b": 2}}, "End": true}),
    );
    let r = run_with(def, json!({}), invoker.clone()).await;
    let out = r.output.unwrap();
    assert_eq!(out["Payload"], json!({"echo": {"b": 2}}));
    assert_eq!(out["StatusCode"], json!(200));
    assert!(seen.lock().unwrap()[1].contains("/functions/hello/invocations?Qualifier=live"));

    // A function error: errorType is the Task's error, the body its cause; catchable.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom",
              "Catch": [{"ErrorEquals": ["Migration.NonZeroExit"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}});
    let r = run_with(def, json!({}), invoker.clone()).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.clone().unwrap()["Error"],
        json!("Migration.NonZeroExit")
    );
    assert!(r.output.unwrap()["Cause"]
        .as_str()
        .unwrap()
        .contains("exit code 1"));

    // An unknown function: Lambda.ResourceNotFoundException.
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nope", "End": true}),
    );
    let r = run_with(def, json!({}), invoker.clone()).await;
    assert_eq!(r.error.as_deref(), Some("Lambda.ResourceNotFoundException"));

    // An unrendered Terraform placeholder is a clear error, not an HTTP call.
    let def =
        single(json!({"Type": "Task", "Resource": "${validate_event_function_arn}", "End": true}));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("Terraform placeholder"));
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn lambda_endpoint_errors() {
    for (url, reason) in [
        ("not a url", "only http:// URLs are supported"),
        ("https://example.com", "only http:// URLs are supported"),
        ("http://", "the URL has no host"),
    ] {
        let err = LambdaEndpointInvoker::new(url).unwrap_err().to_string();
        assert!(err.contains(reason) && err.contains(url), "{url}: {err}");
    }
    // Nothing listens on the port: Lambda.SdkClientException, retriable like the real one.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let invoker = LambdaEndpointInvoker::new(&url).unwrap();
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "End": true}),
    );
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.error.as_deref(), Some("Lambda.SdkClientException"));
}
