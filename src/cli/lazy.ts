// A command's action, loaded when the command runs: the module behind `load` (and
// everything it imports: config, compiler, addon) stays unread for --help, for
// `netcg help CMD`, for completion and for every other command.
export function lazy<A extends unknown[]>(
  load: () => Promise<{ action(...args: A): unknown }>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    await (await load()).action(...args);
  };
}
