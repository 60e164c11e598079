// The JSONata loop of benches/engine.rs (`--jsonata`) with jsonata-js, the library AWS names
// (2.0.6), evaluating the same two expressions per transition: Increment's Output
// (`$states.input.i + 1`) and Done?'s Condition (`$states.input.i < n`), each compiled once and
// evaluated with `$states` bound, as a state would. No state machine around them: the figure is
// what the expressions alone cost in jsonata-js, a floor for any engine built on it.
// Usage: node engine_jsonata_js.mjs N   (prints one JSON line)
import jsonata from 'jsonata';

const n = Number(process.argv[2] ?? 5000);
const increment = jsonata('$states.input.i + 1');
const more = jsonata(`$states.input.i < ${n}`);

const start = performance.now();
let data = { i: 0 };
let transitions = 0;
for (;;) {
  data = { i: await increment.evaluate({}, { states: { input: data } }) };
  transitions += 1;
  const again = await more.evaluate({}, { states: { input: data } });
  transitions += 1;
  if (!again) break;
}
transitions += 1; // Finish
const seconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({
  engine: 'jsonata-js expressions',
  n,
  status: 'SUCCEEDED',
  output: data,
  transitions,
  seconds,
  transitions_per_second: transitions / seconds,
}));
