// Engine throughput of the npm package aws-local-stepfunctions on the loop of
// benches/engine.rs. Usage: node engine_als.mjs N   (prints one JSON line)
import { StateMachine } from 'aws-local-stepfunctions';

const n = Number(process.argv[2] ?? 5000);
const definition = {
  Comment: 'Benchmark loop: Pass (States.MathAdd) -> Choice, n times',
  StartAt: 'Increment',
  States: {
    Increment: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'Done?' },
    'Done?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.i', NumericLessThan: n, Next: 'Increment' }],
      Default: 'Finish',
    },
    Finish: { Type: 'Succeed' },
  },
};

const machine = new StateMachine(definition);
const start = performance.now();
const execution = machine.run({ i: 0 });
const output = await execution.result;
const seconds = (performance.now() - start) / 1000;
// The package keeps no history; the loop enters Increment and Done? n times, then Finish.
const transitions = 2 * n + 1;
console.log(JSON.stringify({
  engine: 'aws-local-stepfunctions',
  n,
  status: 'SUCCEEDED',
  output,
  transitions,
  seconds,
  transitions_per_second: transitions / seconds,
}));
