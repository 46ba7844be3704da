// Colour only where a person reads it: a terminal, unless NO_COLOR is set (or
// FORCE_COLOR asks for it). picocolors alone also colours when CI is set, which
// would put escape codes into pipes and logs that programs parse.
import { createColors } from 'picocolors';

function enabled(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** Colours for what goes to stdout. */
export const out = createColors(enabled(process.stdout));
/** Colours for what goes to stderr (errors, warnings). */
export const err = createColors(enabled(process.stderr));
