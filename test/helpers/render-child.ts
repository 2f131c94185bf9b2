/**
 * A process in the middle of a render, for the orphan test: runs ffmpeg through the media
 * library's atomic write into OUT (a 60 s clip encoded at real time, so it is still running when
 * the test kills this process). Never finishes on its own within a test.
 *
 *   OUT=<path> node --import tsx test/helpers/render-child.ts
 */
import { runFfmpeg } from '../../src/media/binaries.js';
import { writeAtomically } from '../../src/media/files.js';

await writeAtomically(process.env.OUT!, (tmp) => runFfmpeg([
  '-re', '-f', 'lavfi', '-i', 'testsrc=duration=60:size=160x120:rate=10', '-c:v', 'mpeg4', tmp,
]));
