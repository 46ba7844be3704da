// Every command, in the order `netcg --help` lists them. A new command: a file
// src/cli/<name>.ts with a `register` that imports nothing heavy, its work in
// src/cli/actions/<name>.ts behind `lazy`, and a line here.
import type { Command } from 'commander';

import * as apply from './apply.js';
import * as completion from './completion.js';
import * as diff from './diff.js';
import * as doctor from './doctor.js';
import * as down from './down.js';
import * as enroll from './enroll.js';
import * as exportCmd from './export.js';
import * as leave from './leave.js';
import * as ps from './ps.js';
import * as run from './run.js';
import * as status from './status.js';
import * as watch from './watch.js';

const COMMANDS: ReadonlyArray<{ register(program: Command): void }> = [
  apply,
  diff,
  run,
  ps,
  down,
  enroll,
  leave,
  status,
  doctor,
  exportCmd,
  watch,
  completion,
];

export function defineCommands(program: Command): void {
  for (const c of COMMANDS) c.register(program);
}
