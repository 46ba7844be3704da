// `cgroup:` paths of profiles that match an existing cgroup (a systemd service or
// scope) in place: absolute below the cgroup2 root, one component per level, `*`
// and `?` as shell-like wildcards inside a component (never across '/'), so every
// cgroup a pattern matches sits at the same depth: the level of its
// `socket cgroupv2 level L` lookup. Pure: the directory walk is in src/cgroups/existing.ts.

/** Why `path` is not a usable `cgroup:` value, or undefined when it is. */
export function cgroupPathProblem(path: string): string | undefined {
  const example = 'e.g. /system.slice/transmission-daemon.service';
  if (!path.startsWith('/'))
    return `cgroup "${path}" is relative; write the path below the cgroup2 root starting with '/', ${example}`;
  if (/[\0\n]/.test(path)) return `cgroup ${JSON.stringify(path)} contains a NUL or newline character`;
  const parts = path.slice(1).split('/');
  if (parts.length === 1 && parts[0] === '')
    return `cgroup "/" is the root cgroup, which holds every process; name a service or scope below it, ${example}`;
  for (const part of parts) {
    if (part === '') return `cgroup "${path}" has an empty component ('//' or a trailing '/'); ${example}`;
    if (part === '.' || part === '..')
      return `cgroup "${path}" contains "${part}"; write the path without . or .. components, ${example}`;
  }
  return undefined;
}

/** The components of a checked `cgroup:` path: "/a.slice/b.service" -> ["a.slice", "b.service"]. */
export function cgroupPathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

/** The `socket cgroupv2 level` of the cgroups a path matches (the root is level 0). */
export function cgroupPathLevel(path: string): number {
  return cgroupPathParts(path).length;
}

export function isGlob(part: string): boolean {
  return /[*?]/.test(part);
}

const globCache = new Map<string, RegExp>();

/** Whether one path component `name` fits the component pattern `glob` (`*`: any run of characters, `?`: one). */
export function globMatch(glob: string, name: string): boolean {
  if (!isGlob(glob)) return glob === name;
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(glob, re);
  }
  return re.test(name);
}

/** Two component patterns can match one name: equal, or one is literal and fits the other (two different globs count as disjoint). */
function partsMeet(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isGlob(a)) return globMatch(b, a);
  if (!isGlob(b)) return globMatch(a, b);
  return false;
}

/**
 * Whether a cgroup matched by `inner` could be (or be inside) one matched by
 * `outer`: `outer` is not deeper and each of its components meets `inner`'s.
 */
export function cgroupPathWithin(outer: readonly string[], inner: readonly string[]): boolean {
  if (outer.length > inner.length) return false;
  return outer.every((part, i) => partsMeet(part, inner[i]!));
}
