import { readEnv } from './env.js';
import { run } from './program.js';
import { Runtime } from './runtime.js';

const runtime = new Runtime(readEnv(), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
process.exitCode = await run(process.argv.slice(2), runtime);
