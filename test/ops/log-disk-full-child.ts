// Logs through the server's logger with stdout on a full disk (the parent opens it there), frees
// the space (deletes FILLER), logs until the lines land again, then exits as the CLI does.
import fs from 'node:fs';
import { createLogger } from '../../src/http/logging.js';

const logger = createLogger({ format: 'json' });
const written = () => fs.fstatSync(1).size;
const turn = () => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < 200; i++) logger.info({ i, pad: 'x'.repeat(1000) }, 'while full');
for (let i = 0; i < 50; i++) await turn(); // the writes fail on the thread pool meanwhile
fs.rmSync(process.env.FILLER!);
for (let i = 0; i < 10_000 && written() === 0; i++) {
  logger.info('after free');
  await turn();
}
logger.info('at exit');
process.exit(written() > 0 ? 0 : 3);
