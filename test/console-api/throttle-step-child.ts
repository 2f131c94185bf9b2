// For throttle-step.test.ts: a sign-in throttle with its default clock locks a key out, then
// prints how long it stays locked, at start and after each clock step (SIGUSR2, given to the
// preload test/helpers/clock-step.mjs, which registered its handler first).
import { FailureThrottle } from '../../src/console-auth/throttle.js';

const throttle = new FailureThrottle(3, 60_000);
for (let i = 0; i < 3; i++) throttle.fail('guesser');
const report = () => process.stdout.write(`blocked ${throttle.blockedFor('guesser')}\n`);
process.on('SIGUSR2', report);
report();
setInterval(() => {}, 60_000); // alive until the test kills it
