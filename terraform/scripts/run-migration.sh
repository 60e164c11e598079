#!/usr/bin/env bash
# Run one migration through the ecs-migrate state machine and wait for its end.
#
#   run-migration.sh [--timeout SECONDS] [--poll-interval SECONDS] [--stop-on-timeout]
#                    STATE_MACHINE_ARN TASK_DEFINITION [NAME]
#
# TASK_DEFINITION: a task definition ARN, `family:revision` or `family`. NAME: the execution's
# name (default: <family>-<revision>-<UTC time>; a name already used with another input fails).
# Starts an execution with input {"taskdef_arn": TASK_DEFINITION}, prints each state as it is
# entered (and Lambda failures the state machine retries), then the final status and, unless it
# succeeded, the Error and Cause (exit code, stop reason, the last log lines).
#
# Exit status: 0 the migration succeeded; 1 it failed, timed out, was aborted, or --timeout
# passed first; 2 usage error, or the execution could not be started (no credentials, no such
# state machine, no permission); 130 interrupted (SIGINT/SIGTERM).
#
# Needs bash and the AWS CLI (v1 or v2) only: JSON is read with --query / --output text.
# Environment: the usual AWS_* variables; AWS_ENDPOINT_URL_SFN or AWS_ENDPOINT_URL (e.g. moto
# server) are passed as --endpoint-url, for CLI versions that do not read them.
# RUN_MIGRATION_TIMEOUT and RUN_MIGRATION_POLL_INTERVAL are the defaults of the flags.
#
# History is read forward, one page (up to 1000 events) at a time, following nextToken: a full
# page is never read twice; only the events of the last, partial page are asked for again and
# skipped by their id.
set -euo pipefail

readonly usage="usage: run-migration.sh [--timeout SECONDS] [--poll-interval SECONDS] [--stop-on-timeout] STATE_MACHINE_ARN TASK_DEFINITION [NAME]"

die_usage() {
  printf 'run-migration.sh: %s\n%s\n' "$1" "$usage" >&2
  exit 2
}

timeout_seconds=${RUN_MIGRATION_TIMEOUT:-0}
poll_interval=${RUN_MIGRATION_POLL_INTERVAL:-5}
stop_on_timeout=false
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --timeout)
      [[ $# -ge 2 ]] || die_usage "--timeout needs a number of seconds"
      timeout_seconds=$2
      shift 2
      ;;
    --timeout=*)
      timeout_seconds=${1#*=}
      shift
      ;;
    --poll-interval)
      [[ $# -ge 2 ]] || die_usage "--poll-interval needs a number of seconds"
      poll_interval=$2
      shift 2
      ;;
    --poll-interval=*)
      poll_interval=${1#*=}
      shift
      ;;
    --stop-on-timeout)
      stop_on_timeout=true
      shift
      ;;
    -h | --help)
      printf '%s\n' "$usage"
      exit 0
      ;;
    --)
      shift
      positional+=("$@")
      break
      ;;
    -*)
      die_usage "unknown option $1"
      ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done

[[ ${#positional[@]} -ge 2 && ${#positional[@]} -le 3 ]] ||
  die_usage "expected STATE_MACHINE_ARN and TASK_DEFINITION (and optionally NAME)"
state_machine_arn=${positional[0]}
task_definition=${positional[1]}
name=${positional[2]:-}

[[ $timeout_seconds =~ ^[0-9]+$ ]] || die_usage "--timeout must be a whole number of seconds (0: none), not '$timeout_seconds'"
[[ $poll_interval =~ ^[0-9]+$ && $poll_interval -ge 1 ]] || die_usage "--poll-interval must be a whole number of seconds >= 1, not '$poll_interval'"
[[ $state_machine_arn =~ ^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+$ ]] ||
  die_usage "STATE_MACHINE_ARN must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), not '$state_machine_arn'"
# The input is built as a string: accept only characters a task definition reference can have.
[[ $task_definition =~ ^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/)?[A-Za-z0-9_-]{1,255}(:[0-9]+)?$ ]] ||
  die_usage "TASK_DEFINITION must be a task definition ARN, family:revision or family, not '$task_definition'"
[[ -z $name || $name =~ ^[A-Za-z0-9_-]{1,80}$ ]] ||
  die_usage "NAME must be 1-80 characters of A-Z, a-z, 0-9, '-' and '_', not '$name'"

command -v aws >/dev/null 2>&1 || {
  echo "run-migration.sh: the AWS CLI (aws) is not installed" >&2
  exit 2
}

# No pager (AWS CLI v2 pipes output through one by default), and the endpoint, if any.
export AWS_PAGER=""
aws_sfn=(aws stepfunctions)
endpoint=${AWS_ENDPOINT_URL_SFN:-${AWS_ENDPOINT_URL:-}}
if [[ -n $endpoint ]]; then
  aws_sfn+=(--endpoint-url "$endpoint")
fi

# Default name: family-revision-time, so the console shows which revision each run migrated to.
if [[ -z $name ]]; then
  reference=${task_definition##*/}
  family=${reference%%:*}
  revision=latest
  [[ $reference == *:* ]] && revision=${reference##*:}
  suffix="-${revision}-$(date -u +%Y%m%dT%H%M%SZ)"
  family=${family:0:$((80 - ${#suffix}))}
  name="${family}${suffix}"
fi

now() { date -u +%H:%M:%S; }

echo "starting $name on ${state_machine_arn##*:} (task definition $task_definition)"
if ! execution_arn=$("${aws_sfn[@]}" start-execution \
  --state-machine-arn "$state_machine_arn" \
  --name "$name" \
  --input "{\"taskdef_arn\": \"$task_definition\"}" \
  --query executionArn --output text); then
  echo "run-migration.sh: could not start an execution of $state_machine_arn (see the error above)" >&2
  exit 2
fi
echo "execution: $execution_arn"

started=$SECONDS
# shellcheck disable=SC2317 # invoked by the trap below
interrupted() {
  printf '\nrun-migration.sh: interrupted; the execution goes on: %s\n' "$execution_arn" >&2
  printf 'stop it with: aws stepfunctions stop-execution --execution-arn %s\n' "$execution_arn" >&2
  exit 130
}
trap interrupted INT TERM

# Paging state: the token of the page being read ("" = the first) and the last event id printed.
page_token=""
last_id=0
readonly history_query='[[[nextToken]], events[].[id, type, stateEnteredEventDetails.name, lambdaFunctionFailedEventDetails.error || lambdaFunctionTimedOutEventDetails.error || taskFailedEventDetails.error || taskTimedOutEventDetails.error]][]'

print_new_events() {
  local out token id type state error
  while :; do
    local args=(get-execution-history --execution-arn "$execution_arn" --max-results 1000
      --no-include-execution-data --query "$history_query" --output text)
    [[ -n $page_token ]] && args+=(--next-token "$page_token")
    if ! out=$("${aws_sfn[@]}" "${args[@]}"); then
      echo "run-migration.sh: could not read the execution history; retrying" >&2
      return 0
    fi
    token=""
    {
      IFS= read -r token || true
      while IFS=$'\t' read -r id type state error; do
        [[ $id =~ ^[0-9]+$ && $id -gt $last_id ]] || continue
        last_id=$id
        case $type in
          *StateEntered) echo "$(now) -> $state" ;;
          LambdaFunctionFailed | LambdaFunctionTimedOut | TaskFailed | TaskTimedOut)
            echo "$(now)    $type: $error" ;;
        esac
      done
    } <<<"$out"
    if [[ -z $token || $token == None ]]; then
      return 0
    fi
    page_token=$token
  done
}

status=RUNNING
while :; do
  status=$("${aws_sfn[@]}" describe-execution --execution-arn "$execution_arn" \
    --query status --output text) || status=UNKNOWN
  print_new_events
  case $status in
    RUNNING | PENDING_REDRIVE | UNKNOWN) ;;
    *) break ;;
  esac
  if [[ $timeout_seconds -gt 0 && $((SECONDS - started)) -ge $timeout_seconds ]]; then
    echo "run-migration.sh: still $status after ${timeout_seconds}s: $execution_arn" >&2
    if $stop_on_timeout; then
      # The abort rule's stop-task stops the migration task when the execution is aborted.
      "${aws_sfn[@]}" stop-execution --execution-arn "$execution_arn" \
        --error Migration.Timeout --cause "run-migration.sh --timeout ${timeout_seconds} passed" >/dev/null &&
        echo "run-migration.sh: execution stopped (its migration task is stopped by the abort rule)" >&2
    else
      echo "it goes on; stop it with: aws stepfunctions stop-execution --execution-arn $execution_arn" >&2
    fi
    exit 1
  fi
  sleep "$poll_interval"
done

echo "status: $status"
if [[ $status == SUCCEEDED ]]; then
  exit 0
fi

error=$("${aws_sfn[@]}" describe-execution --execution-arn "$execution_arn" --query error --output text 2>/dev/null || true)
cause=$("${aws_sfn[@]}" describe-execution --execution-arn "$execution_arn" --query cause --output text 2>/dev/null || true)
if [[ -z $error || $error == None ]]; then
  # Older endpoints leave error/cause out of DescribeExecution: take them from the last events.
  last_events="events[?type=='ExecutionFailed' || type=='ExecutionTimedOut' || type=='ExecutionAborted'] | [0]"
  error=$("${aws_sfn[@]}" get-execution-history --execution-arn "$execution_arn" --reverse-order --max-results 20 \
    --query "$last_events.[executionFailedEventDetails.error || executionTimedOutEventDetails.error || executionAbortedEventDetails.error] | [0]" \
    --output text 2>/dev/null || true)
  cause=$("${aws_sfn[@]}" get-execution-history --execution-arn "$execution_arn" --reverse-order --max-results 20 \
    --query "$last_events.[executionFailedEventDetails.cause || executionTimedOutEventDetails.cause || executionAbortedEventDetails.cause] | [0]" \
    --output text 2>/dev/null || true)
fi
[[ -n $error && $error != None ]] && echo "error: $error"
[[ -n $cause && $cause != None ]] && printf 'cause: %s\n' "$cause"
exit 1
